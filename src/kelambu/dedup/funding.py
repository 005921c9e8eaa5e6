"""Double funding: one person paid for twice in the same months, under different records.

A funding span is a person, a funder and the months paid. Today spans come from lists that
name whom someone pays for (a sponsor's list, a village roster) imported with their months
(`kelambu import --months`); live program memberships add theirs. A person counts as
the survivor of any merge, so two records merged by deduplication are one person; a pair
still waiting in the review queue (at or above the match threshold) makes a suspected case.
"""

from __future__ import annotations

import polars as pl
from django.db import connection

from kelambu.registry.models import prefix_range_sql

from .engine import MatchSettings
from .models import PairKind, PairStatus

SPAN_SCHEMA = {"person_id": pl.Int64, "record_person_id": pl.Int64, "batch_id": pl.Int64, "funder": pl.Utf8,
               "source": pl.Utf8, "start": pl.Date, "end": pl.Date, "list_key": pl.Utf8}


def funding_spans(region: str = "") -> pl.DataFrame:
    """One row per funding: a source record of a funded list, or a live program membership,
    with the surviving person, the person it was filed under, who pays, from when to when,
    and `list_key` (the list or the program it belongs to)."""
    where, params = prefix_range_sql("p.village_id", region)
    with connection.cursor() as c:
        c.execute(
            "SELECT COALESCE(p.merged_into_id, p.id), p.id, b.id, "
            "COALESCE(fs.name, b.source), b.source, "
            "b.funded_from, b.funded_to, 'batch:' || CAST(b.id AS varchar(20)) FROM registry_sourcerecord sr "
            "JOIN registry_importbatch b ON b.id = sr.batch_id "
            "LEFT JOIN programs_sponsor fs ON fs.id = b.sponsor_id "
            "JOIN registry_person p ON p.id = sr.person_id "
            f"WHERE sr.status = 'accepted' AND b.funded_from IS NOT NULL AND b.dry_run = %s{where}",
            [False, *params],
        )
        rows = c.fetchall()
        # Program memberships: the database already refuses one person id twice for a
        # month; what it cannot see is one human under two records.
        c.execute(
            "SELECT COALESCE(p.merged_into_id, p.id), p.id, NULL, s.name, 'program', m.start_month, m.end_month, "
            "'program:' || CAST(m.program_id AS varchar(20)) FROM programs_membership m "
            "JOIN programs_sponsor s ON s.id = m.sponsor_id JOIN registry_person p ON p.id = m.person_id "
            f"WHERE m.status IN ('proposed', 'submitted', 'registered', 'active'){where}",
            params,
        )
        rows += c.fetchall()
    frame = pl.DataFrame([(*r[:5], str(r[5]), str(r[6]), r[7]) for r in rows],
                         schema={**SPAN_SCHEMA, "start": pl.Utf8, "end": pl.Utf8}, orient="row")
    return frame.with_columns(pl.col("start", "end").str.to_date("%Y-%m-%d"))


def _overlaps(spans: pl.DataFrame, key: str) -> pl.DataFrame:
    """Pairs of spans of one `key` whose months overlap (two records of one list count:
    a list that names one person twice pays for them twice)."""
    left = spans.with_row_index("i")
    pairs = left.join(left, on=key, suffix="_b").filter(
        (pl.col("i") < pl.col("i_b")) & (pl.col("start") <= pl.col("end_b")) & (pl.col("start_b") <= pl.col("end"))
    )
    return pairs.with_columns(
        pl.max_horizontal("start", "start_b").alias("overlap_from"),
        pl.min_horizontal("end", "end_b").alias("overlap_to"),
    )


def double_funding(region: str = "", settings: MatchSettings | None = None) -> pl.DataFrame:
    """The cases: `status` 'confirmed' (one person after merges, in two lists for the same
    months under different records) or 'suspected' (two people a pending review pair says
    are probably one), with both funders, the overlapping months and, when suspected, the
    match probability."""
    settings = settings or MatchSettings()
    spans = funding_spans(region)
    columns = {"status": pl.Utf8, "person_id": pl.Int64, "other_person_id": pl.Int64, "funder": pl.Utf8,
               "other_funder": pl.Utf8, "batch_id": pl.Int64, "other_batch_id": pl.Int64,
               "overlap_from": pl.Date, "overlap_to": pl.Date, "match_probability": pl.Float64}
    if spans.is_empty():
        return pl.DataFrame(schema=columns)
    # Confirmed: the same surviving person; "under different records" = two source lists.
    # A sponsor re-sending its list is not double funding: two funders, or one list naming
    # the person twice.
    confirmed = _overlaps(spans, "person_id").filter(
        (pl.col("funder") != pl.col("funder_b")) | (pl.col("list_key") == pl.col("list_key_b"))
    ).select(
        pl.lit("confirmed").alias("status"), "person_id", pl.col("record_person_id_b").alias("other_person_id"),
        "funder", pl.col("funder_b").alias("other_funder"), "batch_id", pl.col("batch_id_b").alias("other_batch_id"),
        "overlap_from", "overlap_to", pl.lit(None, pl.Float64).alias("match_probability"),
    )
    # Suspected: two surviving people joined by an open pair above the match threshold.
    with connection.cursor() as c:
        c.execute("SELECT person_a_id, person_b_id, match_probability FROM dedup_pair "
                  "WHERE status IN (%s, %s) AND kind IN (%s, %s) AND match_probability >= %s",
                  [PairStatus.PENDING, PairStatus.DEFERRED, PairKind.MATCH, PairKind.NIK_TYPO,
                   settings.match_threshold])
        pending = pl.DataFrame(c.fetchall(), schema={"a": pl.Int64, "b": pl.Int64, "match_probability": pl.Float64},
                               orient="row")
    suspected = pl.DataFrame(schema=columns)
    if not pending.is_empty():
        a = spans.join(pending, left_on="person_id", right_on="a")
        b = spans.rename({c: f"{c}_b" for c in spans.columns})
        joined = a.join(b, left_on="b", right_on="person_id_b").filter(
            (pl.col("start") <= pl.col("end_b")) & (pl.col("start_b") <= pl.col("end")))
        suspected = joined.select(
            pl.lit("suspected").alias("status"), "person_id", pl.col("b").alias("other_person_id"),
            "funder", pl.col("funder_b").alias("other_funder"), "batch_id",
            pl.col("batch_id_b").alias("other_batch_id"),
            pl.max_horizontal("start", "start_b").alias("overlap_from"),
            pl.min_horizontal("end", "end_b").alias("overlap_to"), "match_probability",
        )
    out = pl.concat([confirmed.cast(columns), suspected.cast(columns)])
    return out.unique(["status", "person_id", "other_person_id", "batch_id", "other_batch_id"]).sort(
        ["status", "person_id", "batch_id", "other_batch_id"])
