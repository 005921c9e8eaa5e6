"""Who a program may fund: the people of its regions, each eligible or not with a reason.

Reasons are stable codes with their parameters (the web and the CLI word them):
no_nik, decile_scale, no_decile, decile_out_of_range {decile, min, max}, no_birth_date,
age_below {age, min}, age_above {age, max}, category {category}, occupation {occupation},
already_funded {program, months}, rejected_by_bpjs {reason}, left_program {reason}.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from django.db import connection

from kelambu.registry.models import prefix_range_sql

from .models import LIVE_STATUSES, Program

PEOPLE_SCHEMA = {"person_id": pl.Int64, "nik": pl.Utf8, "village": pl.Utf8, "category": pl.Utf8,
                 "occupation": pl.Utf8, "decile": pl.Int64, "decile_scale": pl.Utf8, "birth_date": pl.Utf8}


def program_regions(program: Program) -> list[str]:
    if program.regions:
        return list(program.regions)
    return [program.region_id] if program.region_id else []


def candidates(program: Program) -> pl.DataFrame:
    """The active people living in the program's regions."""
    where, params = prefix_range_sql("village_id", program_regions(program))
    with connection.cursor() as c:
        c.execute("SELECT id, nik, village_id, category, occupation, decile, decile_scale, birth_date "
                  f"FROM registry_person WHERE merged_into_id IS NULL{where}", params)
        rows = [(*r[:7], None if r[7] is None else str(r[7])) for r in c.fetchall()]
    frame = pl.DataFrame(rows, schema=PEOPLE_SCHEMA, orient="row")
    return frame.with_columns(pl.col("birth_date").str.to_date("%Y-%m-%d", strict=False))


def _age_at(birth: pl.Expr, on: date) -> pl.Expr:
    before_birthday = (birth.dt.month() > on.month) | ((birth.dt.month() == on.month) & (birth.dt.day() > on.day))
    return (pl.lit(on.year) - birth.dt.year() - before_birthday.cast(pl.Int32)).cast(pl.Int32)


def funded_elsewhere(program: Program, person_ids: list[int]) -> pl.DataFrame:
    """person_id -> the other program funding them for some of this program's months."""
    schema = {"person_id": pl.Int64, "other_program": pl.Utf8, "months": pl.Int64}
    if not person_ids:
        return pl.DataFrame(schema=schema)
    with connection.cursor() as c:
        c.execute(
            "SELECT fm.person_id, p.name, COUNT(*) FROM programs_fundedmonth fm "
            "JOIN programs_membership m ON m.id = fm.membership_id JOIN programs_program p ON p.id = m.program_id "
            "WHERE fm.month >= %s AND fm.month <= %s AND m.program_id <> %s GROUP BY fm.person_id, p.name",
            [program.start_month, program.end_month, program.pk],
        )
        rows = c.fetchall()
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.filter(pl.col("person_id").is_in(person_ids)).unique("person_id", keep="first")


def eligibility(program: Program, people: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every candidate with `reason` (null when eligible), `params` (JSON text) and `age`."""
    people = candidates(program) if people is None else people
    age = _age_at(pl.col("birth_date"), program.start_month)
    checks: list[tuple[pl.Expr, str, pl.Expr]] = [
        (pl.col("nik").is_null(), "no_nik", pl.lit("{}")),
    ]
    if program.decile_scale:
        checks.append((pl.col("decile_scale").is_not_null() & (pl.col("decile_scale") != program.decile_scale),
                       "decile_scale", pl.format('{{"scale": "{}"}}', pl.col("decile_scale"))))
    if program.decile_min is not None or program.decile_max is not None:
        lo, hi = program.decile_min or 1, program.decile_max or 10
        checks += [
            (pl.col("decile").is_null(), "no_decile", pl.lit("{}")),
            ((pl.col("decile") < lo) | (pl.col("decile") > hi), "decile_out_of_range",
             pl.format('{{"decile": {}, "min": {}, "max": {}}}', pl.col("decile"), pl.lit(lo), pl.lit(hi))),
        ]
    if program.age_min is not None or program.age_max is not None:
        checks.append((pl.col("birth_date").is_null(), "no_birth_date", pl.lit("{}")))
        if program.age_min is not None:
            checks.append((age < program.age_min, "age_below",
                           pl.format('{{"age": {}, "min": {}}}', age, pl.lit(program.age_min))))
        if program.age_max is not None:
            checks.append((age > program.age_max, "age_above",
                           pl.format('{{"age": {}, "max": {}}}', age, pl.lit(program.age_max))))
    # Categories and occupations: a person qualifies by either when both are given (Muara
    # Enim funds village workers, and oil-palm farmers whatever their category).
    in_category = pl.col("category").is_in(program.categories or []).fill_null(False)
    in_occupation = pl.col("occupation").is_in(program.occupations or []).fill_null(False)
    if program.categories and program.occupations:
        checks.append((~(in_category | in_occupation), "category",
                       pl.format('{{"category": "{}", "occupation": "{}"}}', pl.col("category").fill_null(""),
                                 pl.col("occupation").fill_null(""))))
    elif program.categories:
        checks.append((~in_category, "category", pl.format('{{"category": "{}"}}', pl.col("category").fill_null(""))))
    elif program.occupations:
        checks.append((~in_occupation, "occupation",
                       pl.format('{{"occupation": "{}"}}', pl.col("occupation").fill_null(""))))
    reason = pl.lit(None, pl.Utf8)
    params = pl.lit(None, pl.Utf8)
    # The first failed check, in the order above, is the reason given.
    for failed, code, detail in reversed(checks):
        reason = pl.when(failed.fill_null(False)).then(pl.lit(code)).otherwise(reason)
        params = pl.when(failed.fill_null(False)).then(detail).otherwise(params)
    out = people.with_columns(age.alias("age"), reason.alias("reason"), params.alias("params"))
    if program.exclude_funded:
        elsewhere = funded_elsewhere(program, out.filter(pl.col("reason").is_null())["person_id"].to_list())
        out = out.join(elsewhere, on="person_id", how="left").with_columns(
            pl.when(pl.col("reason").is_null() & pl.col("other_program").is_not_null())
            .then(pl.lit("already_funded")).otherwise(pl.col("reason")).alias("reason"),
            pl.when(pl.col("reason").is_null() & pl.col("other_program").is_not_null())
            .then(pl.format('{{"program": "{}", "months": {}}}', pl.col("other_program").str.replace_all('"', "'"),
                            pl.col("months")))
            .otherwise(pl.col("params")).alias("params"),
        ).drop("other_program", "months")
    # Someone the branch rejected, or who left the program, is not proposed again by it.
    gone = _gone(program)
    if not gone.is_empty():
        out = out.join(gone, on="person_id", how="left").with_columns(
            pl.when(pl.col("reason").is_null() & pl.col("gone").is_not_null()).then(pl.col("gone"))
            .otherwise(pl.col("reason")).alias("reason"),
            pl.when(pl.col("reason").is_null() & pl.col("gone").is_not_null()).then(pl.col("gone_params"))
            .otherwise(pl.col("params")).alias("params"),
        ).drop("gone", "gone_params")
    return out


def _gone(program: Program) -> pl.DataFrame:
    with connection.cursor() as c:
        c.execute("SELECT person_id, status, reason, end_reason FROM programs_membership WHERE program_id = %s "
                  "AND status IN ('rejected', 'ended') AND person_id NOT IN (SELECT person_id FROM "
                  "programs_membership WHERE program_id = %s AND status NOT IN ('rejected', 'ended'))",
                  [program.pk, program.pk])
        rows = c.fetchall()
    frame = pl.DataFrame(rows, schema={"person_id": pl.Int64, "status": pl.Utf8, "why": pl.Utf8, "end": pl.Utf8},
                         orient="row")
    return frame.unique("person_id", keep="last").select(
        "person_id",
        pl.when(pl.col("status") == "rejected").then(pl.lit("rejected_by_bpjs")).otherwise(pl.lit("left_program"))
        .alias("gone"),
        pl.when(pl.col("status") == "rejected")
        .then(pl.format('{{"reason": "{}"}}', pl.col("why").fill_null("").str.replace_all('"', "'")))
        .otherwise(pl.format('{{"reason": "{}"}}', pl.col("end").fill_null(""))).alias("gone_params"),
    )


def live_memberships(program: Program) -> pl.DataFrame:
    """person_id -> sponsor key (its id as text) of the program's live memberships."""
    with connection.cursor() as c:
        c.execute("SELECT person_id, sponsor_id, id FROM programs_membership WHERE program_id = %s AND status IN "
                  f"({', '.join(['%s'] * len(LIVE_STATUSES))})", [program.pk, *LIVE_STATUSES])
        rows = c.fetchall()
    return pl.DataFrame(rows, schema={"person_id": pl.Int64, "sponsor_id": pl.Int64, "membership_id": pl.Int64},
                        orient="row")


def active_elsewhere(program: Program, eligible: pl.DataFrame, live: pl.DataFrame) -> pl.DataFrame:
    """person_id -> "pu", "bpu" or "pu+bpu": eligible people the branch lists as active
    participants elsewhere. A BPU participation of someone this program already enrolled is
    its own, not elsewhere."""
    with connection.cursor() as c:
        c.execute("SELECT nik, kind FROM programs_activeparticipation")
        rows = c.fetchall()
    active = pl.DataFrame(rows, schema={"nik": pl.Utf8, "kind": pl.Utf8}, orient="row")
    if active.is_empty():
        return pl.DataFrame(schema={"person_id": pl.Int64, "flags": pl.Utf8})
    own = set(live["person_id"].to_list())
    return (
        eligible.select("person_id", "nik").join(active, on="nik")
        .filter(~((pl.col("kind") == "bpu") & pl.col("person_id").is_in(list(own))))
        .group_by("person_id").agg(pl.col("kind").sort().str.join("+").alias("flags"))
    )
