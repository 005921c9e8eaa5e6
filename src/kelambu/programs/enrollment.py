"""Enrollment with the BPJS branch: the file Kelambu sends, the answer it reads back, and
people leaving.

The exchange file has one row per person (REFERENCE 5): our reference (ID Kelambu), NIK,
name, birth date, address, occupation, income basis, programs (JKK+JKM, +JHT) and the first
month. The branch answers per row with a KPJ number or a rejection and its reason. A
rejected person goes back to the pool: the allocation is run again, so the next in priority
is proposed in their place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kelambu.audit.services import record as audit
from kelambu.lib import vocab
from kelambu.registry.bulk import insert_frame

from .models import EndReason, FundedMonth, Membership, MembershipStatus, Program
from .services import allocate_program, check_can_manage

EXPORT_COLUMNS = ("ID Kelambu", "NIK", "Nama", "Tanggal Lahir", "Alamat", "Pekerjaan", "Dasar Penghasilan",
                  "Program", "Bulan Mulai", "Penyandang Dana")
ANSWER_REGISTERED = {"terdaftar", "diterima", "registered", "accepted", "ok"}
ANSWER_REJECTED = {"ditolak", "rejected", "tolak"}
KPJ_PATTERN = re.compile(r"^\d{8,13}$")  # KPJ numbers are digits; lengths seen 8-11, room kept
MAX_ANSWER_BYTES = 50 * 1024 * 1024


def export_frame(program: Program, actor, *, mark_submitted: bool = True, statuses=(MembershipStatus.PROPOSED,)):
    """The rows for the branch, in one query; the memberships sent become 'submitted'."""
    check_can_manage(actor, program)
    with transaction.atomic():
        members = Membership.objects.filter(program=program, status__in=statuses)
        rows = list(members.order_by("pk").values_list(
            "pk", "person__nik", "person__name", "person__birth_date", "person__address", "person__occupation",
            "start_month", "sponsor__name"))
        raw = pl.DataFrame(rows, orient="row", schema={
            "id": pl.Int64, "nik": pl.Utf8, "name": pl.Utf8, "birth": pl.Date, "address": pl.Utf8,
            "occupation": pl.Utf8, "start": pl.Date, "sponsor": pl.Utf8})
        labels = {k: v[0] for k, v in vocab.OCCUPATIONS.items()}
        frame = raw.select(
            pl.col("id").cast(pl.Utf8).alias("ID Kelambu"), pl.col("nik").fill_null("").alias("NIK"),
            pl.col("name").alias("Nama"), pl.col("birth").dt.strftime("%d-%m-%Y").fill_null("").alias("Tanggal Lahir"),
            pl.col("address").fill_null("").alias("Alamat"),
            pl.col("occupation").replace_strict(labels, default="").fill_null("").alias("Pekerjaan"),
            pl.lit(str(program.income_basis)).alias("Dasar Penghasilan"),
            pl.lit("JKK+JKM+JHT" if program.jht else "JKK+JKM").alias("Program"),
            pl.col("start").dt.strftime("%m-%Y").alias("Bulan Mulai"), pl.col("sponsor").alias("Penyandang Dana"),
        )
        if mark_submitted and rows:
            # The same rows, by the same filter up to the last one read (no id list to bind).
            members.filter(pk__lte=raw["id"].max()).update(status=MembershipStatus.SUBMITTED,
                                                            updated_at=timezone.now())
            audit(actor, "enrollment.export", program, summary=f"{len(rows):,} memberships of {program.name} "
                  "sent to the BPJS branch", data={"rows": len(rows)})
    return frame


def _read(path: Path) -> pl.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise ValidationError(_("File not found: %(name)s") % {"name": path.name})
    if path.stat().st_size > MAX_ANSWER_BYTES:
        raise ValidationError(_("The answer file is larger than 50 MB."))
    if path.stat().st_size == 0:
        raise ValidationError(_("The answer file is empty."))
    try:
        if path.suffix.lower() in (".xlsx", ".xls"):
            from python_calamine import CalamineWorkbook

            sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
            if not sheet:
                raise ValidationError(_("The answer file is empty."))
            header = [str(h).strip() for h in sheet[0]]
            body = [[("" if v is None else str(v).strip()) for v in row] for row in sheet[1:]]
            frame = pl.DataFrame(body, schema={h: pl.Utf8 for h in header}, orient="row")
        else:
            frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except ValidationError:
        raise
    except Exception as exc:  # a file that is not a table: say so, keep nothing
        raise ValidationError(_("The answer file cannot be read as CSV or XLSX: %(error)s")
                              % {"error": type(exc).__name__}) from None
    return frame.rename({c: c.strip().lower() for c in frame.columns})


@dataclass
class AnswerResult:
    registered: int
    rejected: int
    replaced: int  # people proposed in place of the rejected
    report: dict


def import_answer(program: Program, path: Path, actor, *, refill: bool = True) -> AnswerResult:
    """Reads the branch's answer: KPJ numbers for the registered, reasons for the rejected.
    Any wrong row refuses the whole file (nothing changes) with the row and the problem."""
    check_can_manage(actor, program)
    frame = _read(path)
    need = {"id kelambu", "status"}
    missing = need - set(frame.columns)
    if missing:
        raise ValidationError(_("The answer file lacks column(s): %(cols)s") % {"cols": ", ".join(sorted(missing))})
    for col in ("kpj", "alasan"):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.Utf8).alias(col))
    ids = set(Membership.objects.filter(program=program).values_list("pk", flat=True))
    problems, updates = [], []
    seen_kpj: set[str] = set()
    for i, row in enumerate(frame.iter_rows(named=True), start=2):
        ref = (row["id kelambu"] or "").strip()
        status = (row["status"] or "").strip().lower()
        kpj = (row["kpj"] or "").strip()
        member = int(ref) if ref.isdigit() and int(ref) in ids else None
        if member is None:
            problems.append(_("row %(row)s: ID Kelambu %(ref)s is not a membership of this program")
                            % {"row": i, "ref": ref or "-"})
            continue
        if status in ANSWER_REGISTERED:
            if not KPJ_PATTERN.match(kpj):
                problems.append(_("row %(row)s: KPJ %(kpj)s is not a KPJ number (digits only)")
                                % {"row": i, "kpj": kpj or "-"})
            elif kpj in seen_kpj:
                problems.append(_("row %(row)s: KPJ %(kpj)s appears twice") % {"row": i, "kpj": kpj})
            seen_kpj.add(kpj)
            updates.append((member, "registered", kpj, ""))
        elif status in ANSWER_REJECTED:
            updates.append((member, "rejected", "", (row["alasan"] or "").strip()[:300]))
        else:
            problems.append(_("row %(row)s: status %(status)s is neither registered nor rejected")
                            % {"row": i, "status": status or "-"})
    # KPJ numbers already held by other memberships (read once, compared in Python).
    answered = {u[0] for u in updates}
    taken = sorted(k for pk, k in Membership.objects.exclude(kpj="").values_list("pk", "kpj")
                   if k in seen_kpj and pk not in answered)
    problems += [_("KPJ %(kpj)s already belongs to another membership") % {"kpj": k} for k in taken]
    if problems:
        raise ValidationError(problems[:50])
    registered_rows = [(u[0], u[2], "") for u in updates if u[1] == "registered"]
    rejected_rows = [(u[0], "", u[3]) for u in updates if u[1] == "rejected"]
    registered, rejected = len(registered_rows), len(rejected_rows)
    with transaction.atomic():
        # Set-based: the answer for a whole program is tens of thousands of rows.
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as c:
            c.execute("CREATE TEMP TABLE IF NOT EXISTS enrollment_answer "
                      "(id bigint PRIMARY KEY, kpj varchar(20) NOT NULL, reason varchar(300) NOT NULL)")
            c.execute("DELETE FROM enrollment_answer")
            insert_frame("enrollment_answer", pl.DataFrame(registered_rows + rejected_rows, orient="row",
                                                           schema={"id": pl.Int64, "kpj": pl.Utf8, "reason": pl.Utf8}))
            c.execute("UPDATE programs_membership SET status = %s, updated_at = %s, kpj = (SELECT a.kpj FROM "
                      "enrollment_answer a WHERE a.id = programs_membership.id) WHERE id IN "
                      "(SELECT id FROM enrollment_answer WHERE kpj <> '')", [MembershipStatus.REGISTERED, now])
            c.execute("UPDATE programs_membership SET status = %s, updated_at = %s, reason = (SELECT a.reason FROM "
                      "enrollment_answer a WHERE a.id = programs_membership.id) WHERE id IN "
                      "(SELECT id FROM enrollment_answer WHERE kpj = '')", [MembershipStatus.REJECTED, now])
            # The rejected people's months are free again.
            c.execute("DELETE FROM programs_fundedmonth WHERE membership_id IN "
                      "(SELECT id FROM enrollment_answer WHERE kpj = '')")
            c.execute("DELETE FROM enrollment_answer")
        audit(actor, "enrollment.answer", program, summary=f"{program.name}: {registered:,} registered with KPJ, "
              f"{rejected:,} rejected", data={"registered": registered, "rejected": rejected, "file": Path(path).name})
    replaced = 0
    if refill and rejected:
        # The rejected go back to the pool (their reason stays on the membership); the next
        # in priority takes the freed places.
        result = allocate_program(program, actor)
        replaced = result.report.get("memberships_new", 0)
    return AnswerResult(registered, rejected, replaced,
                        {"registered": registered, "rejected": rejected, "replaced": replaced})


@transaction.atomic
def end_membership(member: Membership, reason: str, on: date, actor) -> Membership:
    """A person leaves (death, moved, became a wage earner...): the membership ends on
    `on`, and the months after it are free again."""
    check_can_manage(actor, member.program)
    if reason not in EndReason.values:
        raise ValidationError(_("Unknown reason: %(r)s") % {"r": reason})
    if member.status in (MembershipStatus.ENDED, MembershipStatus.REJECTED):
        raise ValidationError(_("This membership has already ended."))
    last_paid = on.replace(day=1)
    FundedMonth.objects.filter(membership=member, month__gt=last_paid).delete()
    member.status = MembershipStatus.ENDED
    member.end_reason = reason
    member.ended_on = on
    member.save(update_fields=["status", "end_reason", "ended_on", "updated_at"])
    audit(actor, "enrollment.end", member, summary=f"Membership {member.pk} ended on {on}: {reason}",
          data={"person": member.person_id, "reason": reason, "on": on.isoformat()})
    return member


PARTICIPATION_KINDS = {"pu": "pu", "penerima upah": "pu", "bpu": "bpu", "bukan penerima upah": "bpu"}


def import_participants(path: Path, as_of: date, actor) -> int:
    """The branch's list of active participants (NIK, Jenis PU/BPU, optional KPJ) replaces
    the previous one: it is a snapshot of who is active as of `as_of`. Any wrong row refuses
    the whole file with row and problem."""
    from .models import ActiveParticipation

    check_can_manage(actor)
    frame = _read(path)
    missing = {"nik", "jenis"} - set(frame.columns)
    if missing:
        raise ValidationError(_("The participant file lacks column(s): %(cols)s") % {"cols": ", ".join(sorted(missing))})
    if "kpj" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.Utf8).alias("kpj"))
    # The whole list is checked as columns: a branch's list runs to hundreds of thousands.
    checked = frame.with_row_index("row", offset=2).select(
        "row", pl.col("nik").alias("given"), pl.col("jenis").alias("kind_given"),
        pl.col("nik").str.replace_all(r"[\s.'`-]", "").alias("nik"),
        pl.col("jenis").str.strip_chars().str.to_lowercase()
        .replace_strict(PARTICIPATION_KINDS, default=None, return_dtype=pl.Utf8).alias("kind"),
        pl.col("kpj").fill_null("").str.strip_chars().str.slice(0, 20).alias("kpj"),
    )
    bad_nik = ~pl.col("nik").str.contains(r"^\d{16}$").fill_null(False)
    problems = [
        _("row %(row)s: NIK %(nik)s is not 16 digits") % {"row": r["row"], "nik": r["given"] or "-"}
        if r["bad_nik"] else
        _("row %(row)s: Jenis %(kind)s is neither PU nor BPU") % {"row": r["row"], "kind": r["kind_given"] or "-"}
        for r in checked.with_columns(bad_nik.alias("bad_nik"))
        .filter(pl.col("bad_nik") | pl.col("kind").is_null()).head(50).iter_rows(named=True)
    ]
    if problems:
        raise ValidationError(problems)
    rows = checked.unique(["nik", "kind"], keep="first", maintain_order=True)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with transaction.atomic():
        ActiveParticipation.objects.all().delete()
        insert_frame("programs_activeparticipation", rows.select(
            "nik", "kind", "kpj", pl.lit(as_of).alias("as_of"), pl.lit(Path(path).name[:255]).alias("source"),
            pl.lit(now).alias("created_at")))
        audit(actor, "enrollment.participants", object_type="programs.activeparticipation", object_id="",
              summary=f"{rows.height:,} active participants as of {as_of} from {Path(path).name}",
              data={"rows": rows.height, "as_of": as_of.isoformat()})
    return rows.height
