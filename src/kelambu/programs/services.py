"""Every write of programs: sponsors, programs and their envelopes, allocation runs.

An allocation reads the program's candidates (eligibility.py), turns each sponsor's budget
into a head count with the contribution in force for every covered month
(lib/contributions.py), lets lib/allocation.py decide who, and, unless it is a what-if,
writes the new memberships with one FundedMonth row per person and month, whose unique
constraint is what makes double funding impossible, even for two allocations at once.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date

import polars as pl
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kelambu.accounts import access
from kelambu.audit.services import record as audit
from kelambu.jobs.runners import runner_id
from kelambu.lib import allocation as engine
from kelambu.lib.contributions import monthly_contribution
from kelambu.registry.bulk import insert_frame
from kelambu.rules.services import rulebook

from . import eligibility as elig
from .models import (
    AllocationRun,
    EnvelopeStatus,
    FundedMonth,
    Membership,
    MembershipStatus,
    Program,
    ProgramSponsor,
    Sponsor,
)

MEMBERSHIP_LOCK = 160_604  # advisory lock key for membership writes (PostgreSQL)


def months_of(program: Program) -> list[date]:
    out, m = [], program.start_month
    while m <= program.end_month:
        out.append(m)
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return out


def check_can_manage(actor, program: Program | None = None) -> None:
    """Admins, and regency operators for programs of their regency (a string actor is a
    system job run on the server): accounts.access.can_manage_program."""
    if not access.can_manage_program(actor, program):
        raise PermissionDenied(_("You may not manage this program."))


@dataclass
class Envelope:
    funder: ProgramSponsor
    per_person: int  # rupiah for all covered months, at the non-transport (higher) rate
    capacity: int
    cost_per_month: dict[date, int]


def envelopes(program: Program) -> list[Envelope]:
    """Each sponsor's head count: its budget over one person's contributions for every
    covered month. The budget check uses the rate of non-transport workers, which is never
    lower than a transport worker's, so a budget is never overspent."""
    book = rulebook()
    months = months_of(program)
    years = {m.year for m in months}
    out = []
    # Only money its sponsor has accepted to put in (EnvelopeStatus.ACCEPTED) is allocated.
    for funder in program.funders.filter(status=EnvelopeStatus.ACCEPTED).select_related("sponsor").order_by(
            "priority", "sponsor__name"):
        if funder.year not in years:
            continue
        costs = {m: monthly_contribution(book, m, funder.sponsor.kind, jht=program.jht,
                                         basis=program.income_basis).total for m in months}
        per_person = sum(costs.values())
        out.append(Envelope(funder, per_person, funder.budget // per_person if per_person else 0, costs))
    return out


def _quota_exclusions(program: Program, ranked: pl.DataFrame, assigned: pl.DataFrame) -> pl.DataFrame:
    """Program-wide quotas: a bucket closes once its limit is funded; everyone of the bucket
    ranked after its last funded place is out (quota_full)."""
    out = []
    funded = ranked.join(assigned.select("person_id"), on="person_id", how="semi")
    for q in program.quotas or []:
        field, value, limit = q["field"], str(q["value"]), int(q["limit"])
        if field == "decile":
            member = pl.col("decile").cast(pl.Utf8) == value
        elif field == "category":
            member = pl.col("category") == value
        elif field == "occupation":
            member = pl.col("occupation") == value
        else:
            member = (pl.col("village") == value) | pl.col("village").str.starts_with(value + ".")
        in_bucket = funded.filter(member.fill_null(False)).sort("rank")
        if in_bucket.height <= limit:
            continue
        last = in_bucket["rank"][limit - 1] if limit > 0 else -1
        out.append(ranked.filter(member.fill_null(False) & (pl.col("rank") > last)).select(
            "person_id", pl.lit(json.dumps({"field": field, "value": value, "limit": limit})).alias("params")))
    if not out:
        return pl.DataFrame(schema={"person_id": pl.Int64, "params": pl.Utf8})
    return pl.concat(out).unique("person_id", keep="first")


@dataclass
class Result:
    run: AllocationRun
    report: dict
    outcomes: pl.DataFrame  # person_id, result, sponsor_id, reason, params


def allocate_program(program: Program, actor, *, what_if: bool = False, keep_existing: bool = True) -> Result:
    """Runs the allocation; writes memberships unless `what_if`. Re-running keeps those
    already enrolled (unless keep_existing=False) and adds the next in priority."""
    check_can_manage(actor, program)
    run = AllocationRun.objects.create(program=program, what_if=what_if, runner=runner_id(),
                                       created_by=actor if getattr(actor, "pk", None) else None)
    try:
        result = _allocate(program, run, actor, what_if, keep_existing)
    except Exception as exc:
        run.status = "failed"
        run.error_message = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.save()
        raise
    return result


def _allocate(program, run, actor, what_if, keep_existing) -> Result:
    funders = envelopes(program)
    if not funders:
        raise ValidationError(_("The program has no sponsor with an accepted budget for its years."))
    people = elig.eligibility(program)
    eligible = people.filter(pl.col("reason").is_null())
    live = elig.live_memberships(program)
    candidates = eligible.join(live.select("person_id", pl.col("sponsor_id").cast(pl.Utf8).alias("kept_sponsor")),
                               on="person_id", how="left").select(
        "person_id", "village", "category", "occupation", "decile", "age", "kept_sponsor")
    sponsors = [
        engine.Sponsor(key=str(e.funder.sponsor_id), capacity=e.capacity,
                       regions=tuple(e.funder.regions or elig.program_regions(program)),
                       # The program's own category rule is applied by eligibility (with
                       # occupations); a sponsor may narrow it.
                       categories=tuple(e.funder.categories or ()),
                       priority=e.funder.priority)
        for e in funders
    ]
    priority = [(k, d != "desc") for k, d in (program.priority or [])]
    excluded = pl.DataFrame(schema={"person_id": pl.Int64, "params": pl.Utf8})
    for _round in range(len(program.quotas or []) + 1):
        alloc = engine.allocate(candidates.join(excluded, on="person_id", how="anti"), sponsors, priority,
                                keep_existing=keep_existing)
        ranked = pl.concat([alloc.assigned.select("person_id", "rank"), alloc.unassigned.select("person_id", "rank")])
        ranked = ranked.join(candidates, on="person_id")
        more = _quota_exclusions(program, ranked, alloc.assigned).join(excluded, on="person_id", how="anti")
        if more.is_empty():
            break
        excluded = pl.concat([excluded, more])
    outcomes = pl.concat([
        alloc.assigned.select("person_id", pl.lit("funded").alias("result"),
                              pl.col("sponsor").cast(pl.Int64).alias("sponsor_id"),
                              pl.lit("").alias("reason"), pl.lit("{}").alias("params")),
        alloc.unassigned.select("person_id", pl.lit("unfunded").alias("result"), pl.lit(None, pl.Int64).alias("sponsor_id"),
                                "reason", "params"),
        excluded.select("person_id", pl.lit("unfunded").alias("result"), pl.lit(None, pl.Int64).alias("sponsor_id"),
                        pl.lit("quota_full").alias("reason"), "params"),
        people.filter(pl.col("reason").is_not_null()).select(
            "person_id", pl.lit("ineligible").alias("result"), pl.lit(None, pl.Int64).alias("sponsor_id"),
            "reason", "params"),
    ])
    flags = elig.active_elsewhere(program, eligible, live) if program.flag_active_elsewhere else None
    if flags is not None and not flags.is_empty():
        # Flagged, never excluded (REFERENCE 5): the flag travels with the outcome.
        outcomes = outcomes.join(flags, on="person_id", how="left").with_columns(
            pl.when(pl.col("flags").is_not_null() & (pl.col("params") == "{}"))
            .then(pl.format('{{"flags": "{}"}}', pl.col("flags")))
            .when(pl.col("flags").is_not_null())
            .then(pl.concat_str([pl.col("params").str.strip_suffix("}"), pl.lit(', "flags": "'), pl.col("flags"),
                                 pl.lit('"}')]))
            .otherwise(pl.col("params")).alias("params")).drop("flags")
    funded = outcomes.filter(pl.col("result") == "funded").join(people.select("person_id", "decile"), on="person_id")
    months = months_of(program)
    by_sponsor = Counter(funded["sponsor_id"].to_list())
    cost_per_month = {m.strftime("%Y-%m"): sum(e.cost_per_month[m] * by_sponsor.get(e.funder.sponsor_id, 0)
                                               for e in funders) for m in months}
    report = {
        "program": program.name, "run": run.pk, "what_if": what_if,
        "months": [months[0].strftime("%Y-%m"), months[-1].strftime("%Y-%m")],
        "candidates": people.height, "eligible": eligible.height, "funded": funded.height,
        "kept": int(alloc.assigned["kept"].sum()) if "kept" in alloc.assigned.columns else 0,
        "funded_by_decile": {str(k): v for k, v in sorted(
            Counter(funded["decile"].to_list()).items(), key=lambda kv: (kv[0] is None, kv[0] or 0))},
        "unfunded_by_reason": dict(Counter(outcomes.filter(pl.col("result") == "unfunded")["reason"].to_list())),
        "ineligible_by_reason": dict(Counter(outcomes.filter(pl.col("result") == "ineligible")["reason"].to_list())),
        "cost_per_month": cost_per_month,
        "funded_active_elsewhere": {} if flags is None else dict(Counter(
            flags.join(funded.select("person_id"), on="person_id", how="semi")["flags"].to_list())),
        "budget_left": {e.funder.sponsor.name: e.funder.budget - e.per_person * by_sponsor.get(e.funder.sponsor_id, 0)
                        for e in funders},
        "sponsors": [{"sponsor": e.funder.sponsor.name, "kind": e.funder.sponsor.kind, "budget": e.funder.budget,
                      "per_person": e.per_person, "capacity": e.capacity,
                      "funded": by_sponsor.get(e.funder.sponsor_id, 0)} for e in funders],
    }
    with transaction.atomic():
        new = 0
        if not what_if:
            new = _write_memberships(program, run, funded, live, keep_existing)
        report["memberships_new"] = new
        insert_frame("programs_outcome", outcomes.select(
            pl.lit(run.pk).alias("run_id"), "person_id", "result", "sponsor_id", "reason", "params"))
        run.status = "done"
        run.report = report
        run.finished_at = timezone.now()
        run.save()
        audit(actor, "programs.allocate" + (".what_if" if what_if else ""), run,
              summary=f"{program.name}: {report['funded']:,} funded of {report['eligible']:,} eligible"
              + (" (what-if)" if what_if else ""), data={k: report[k] for k in (
                  "eligible", "funded", "funded_by_decile", "unfunded_by_reason", "budget_left", "memberships_new")})
    return Result(run, report, outcomes)


def _write_memberships(program, run, funded: pl.DataFrame, live: pl.DataFrame, keep_existing: bool) -> int:
    """New memberships for the newly funded, with their months. With keep_existing=False,
    live memberships the run did not fund again end first."""
    months = months_of(program)
    if connection.vendor == "postgresql":
        # Membership ids are given in bulk from the current maximum: one writer at a time
        # (until commit). Double funding is still refused by the FundedMonth index below.
        with connection.cursor() as c:
            c.execute("SELECT pg_advisory_xact_lock(%s)", [MEMBERSHIP_LOCK])
    if not keep_existing:
        dropped = live.join(funded, on="person_id", how="anti")["membership_id"].to_list()
        if dropped:
            FundedMonth.objects.filter(membership_id__in=dropped).delete()
            Membership.objects.filter(pk__in=dropped).update(
                status=MembershipStatus.ENDED, end_reason="other", ended_on=timezone.now().date(),
                reason="not funded by a new allocation")
    new = funded.join(live, on="person_id", how="anti")
    if new.is_empty():
        return 0
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as c:
        c.execute("SELECT COALESCE(MAX(id), 0) FROM programs_membership")
        base = c.fetchone()[0]
    rows = new.sort("person_id").with_columns((pl.int_range(1, pl.len() + 1) + base).cast(pl.Int64).alias("id"))
    insert_frame("programs_membership", rows.select(
        "id", "person_id", pl.lit(program.pk).alias("program_id"), "sponsor_id", pl.lit(run.pk).alias("allocation_id"),
        pl.lit(months[0]).alias("start_month"), pl.lit(months[-1]).alias("end_month"),
        pl.lit(MembershipStatus.PROPOSED).alias("status"), pl.lit("").alias("kpj"), pl.lit("").alias("reason"),
        pl.lit("").alias("end_reason"), pl.lit(now).alias("created_at"), pl.lit(now).alias("updated_at")))
    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            c.execute("SELECT setval(pg_get_serial_sequence('programs_membership', 'id'), "
                      "GREATEST((SELECT MAX(id) FROM programs_membership), 1))")
    month_rows = rows.select(pl.col("id").alias("membership_id"), "person_id").join(
        pl.DataFrame({"month": months}), how="cross")
    try:
        # The unique (person, month) index refuses a second funding, whoever tries it.
        insert_frame("programs_fundedmonth", month_rows)
    except Exception as exc:
        if not _unique_violation(exc):
            raise
        raise ValidationError(_("Someone in this allocation is already funded for one of its months by another "
                                "allocation that finished meanwhile; run it again.")) from exc
    return new.height


def _unique_violation(exc: Exception) -> bool:
    """insert_frame talks to the driver directly (COPY, executemany), so its errors are the
    driver's, not Django's."""
    import sqlite3

    if isinstance(exc, (IntegrityError, sqlite3.IntegrityError)):
        return True
    try:
        from psycopg import errors
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, errors.UniqueViolation)


@transaction.atomic
def create_program(actor, fields: dict, *, sponsor: Sponsor | None = None, new_sponsor: dict | None = None,
                   year: int, budget: int) -> Program:
    """A program with its first sponsor envelope (an existing sponsor or a new one), audited.
    `fields` are Program's own (name, region_id, months, eligibility, quotas...)."""
    check_can_manage(actor, Program(region_id=fields.get("region_id")))
    if budget < 0:
        raise ValidationError(_("A budget cannot be negative."))
    if sponsor is None:
        if not new_sponsor:
            raise ValidationError(_("A program needs a sponsor."))
        sponsor = _create_sponsor(actor, **new_sponsor)
    program = Program.objects.create(created_by=actor if getattr(actor, "pk", None) else None, **fields)
    envelope = _envelope(program, sponsor, actor, year=year, budget=budget)
    audit(actor, "programs.create", program, summary=f"Program {program.name} created",
          data={"region": program.region_id, "sponsor": sponsor.name, "budget": budget, "year": year,
                "envelope": envelope.status})
    return program


def _create_sponsor(actor, **fields) -> Sponsor:
    """A new sponsor entity: administrators create any (and give it its officers); a regency
    operator only a government sponsor of its region. A company is never made from a name
    typed into a program form by someone who is not its officer."""
    if not access.can_create_sponsor(actor, fields.get("kind", ""), fields.get("region_id")):
        raise PermissionDenied(_("Only an administrator adds a company or donor as a sponsor (with its officers); "
                                 "choose an existing sponsor."))
    sponsor = Sponsor.objects.create(**fields)
    audit(actor, "programs.sponsor", sponsor, summary=f"Sponsor {sponsor.name} ({sponsor.kind}) created",
          data={"kind": sponsor.kind, "region": sponsor.region_id})
    return sponsor


def _envelope(program: Program, sponsor: Sponsor, actor, **fields) -> ProgramSponsor:
    """An envelope, accepted at once when the actor commits this sponsor's money
    (access.can_commit_sponsor), otherwise proposed: the sponsor's officers accept or
    decline it (decide_envelope) before any of it is allocated."""
    commits = access.can_commit_sponsor(actor, sponsor)
    user = actor if getattr(actor, "pk", None) else None
    return ProgramSponsor.objects.create(
        program=program, sponsor=sponsor, requested_by=user, **fields,
        status=EnvelopeStatus.ACCEPTED if commits else EnvelopeStatus.PROPOSED,
        decided_by=user if commits else None, decided_at=timezone.now() if commits else None,
        decision_note="" if commits else "")


@transaction.atomic
def decide_envelope(envelope: ProgramSponsor, actor, *, accept: bool, note: str = "") -> ProgramSponsor:
    """The sponsor's answer to a funding request: only its officers (or an administrator, or
    for a government sponsor a regency operator of its region) decide; recorded with who,
    when and the note, and audited."""
    envelope = ProgramSponsor.objects.select_for_update().select_related("sponsor", "program").get(pk=envelope.pk)
    if not access.can_commit_sponsor(actor, envelope.sponsor):
        raise PermissionDenied(_("Only the sponsor's own officers accept or decline its funding."))
    if envelope.status != EnvelopeStatus.PROPOSED:
        raise ValidationError(_("This funding request was already answered."))
    envelope.status = EnvelopeStatus.ACCEPTED if accept else EnvelopeStatus.DECLINED
    envelope.decided_by = actor if getattr(actor, "pk", None) else None
    envelope.decided_at = timezone.now()
    envelope.decision_note = (note or "")[:300]
    envelope.save()
    audit(actor, "programs.envelope." + ("accept" if accept else "decline"), envelope.program,
          summary=f"{envelope.sponsor.name} {'accepted' if accept else 'declined'} Rp{envelope.budget:,} for "
                  f"{envelope.program.name} in {envelope.year}",
          data={"sponsor": envelope.sponsor.name, "year": envelope.year, "budget": envelope.budget, "note": note})
    return envelope


@transaction.atomic
def add_envelope(program: Program, sponsor: Sponsor, actor, *, year: int, budget: int,
                 regions: list | None = None, categories: list | None = None) -> ProgramSponsor:
    """Another sponsor's budget envelope for a program (optionally for part of its scope)."""
    check_can_manage(actor, program)
    if budget < 0:
        raise ValidationError(_("A budget cannot be negative."))
    envelope = _envelope(program, sponsor, actor, year=year, budget=budget, regions=regions or [],
                         categories=categories or [])
    audit(actor, "programs.envelope", program, summary=f"{sponsor.name}: Rp{budget:,} for {program.name} in {year}"
          + ("" if envelope.status == EnvelopeStatus.ACCEPTED else " (asked; waits for the sponsor)"),
          data={"sponsor": sponsor.name, "year": year, "budget": budget, "regions": regions or [],
                "status": envelope.status})
    return envelope


def ensure_sponsor(name: str, actor, **fields) -> Sponsor:
    """The sponsor of that name, created (and audited) if it is new."""
    check_can_manage(actor)
    with transaction.atomic():
        sponsor = Sponsor.objects.filter(name=name).first()
        if sponsor is None:
            sponsor = _create_sponsor(actor, name=name, **fields)
    return sponsor

def fail_interrupted() -> int:
    """Marks failed every allocation still "running" whose process is gone (killed, or the
    server restarted): its transaction rolled back, so nothing of it was kept."""
    from kelambu.jobs.runs import fail_dead_runs

    return fail_dead_runs(AllocationRun.objects.all(), running="running", failed="failed",
                          message=INTERRUPTED_MESSAGE, action="allocation.interrupted", label="Allocation run")


INTERRUPTED_MESSAGE = ("Alokasi berhenti karena prosesnya berakhir (server dimulai ulang atau dihentikan); tidak ada "
                       "yang berubah, jalankan lagi.\nThe allocation stopped because its process ended (the server "
                       "restarted or was stopped); nothing changed, run it again.")
