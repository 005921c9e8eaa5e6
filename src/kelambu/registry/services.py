"""Importing a beneficiary list: every write to the registry goes through here.

read (reader.py) -> validate (validate.py, Polars) -> stage (SourceRecord, bulk) ->
promote (set-based SQL into Person and Household), stage and promote in one transaction,
so a failure anywhere leaves no partial batch, only the batch's error report.
"""

import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from kelambu.accounts import access
from kelambu.audit.services import record as audit
from kelambu.jobs.runners import runner_alive, runner_id
from kelambu.jobs.services import Cancelled, cancel_queued, check_cancel, request_cancel
from kelambu.lib import issues as catalogue
from kelambu.lib.columns import FIELDS
from kelambu.regions.services import region_index

from . import bulk
from .bulk import BulkRows, indexes_rebuilt_after, insert_frame, keys_source, keys_table
from .models import DEFAULT_SCALE, BatchStatus, DecileScale, HoldReason, ImportBatch, Source
from .reader import ImportRefused, ReaderLimits, read_list
from .validate import ValidationContext, validate

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

# Informal-worker lists name no category; village rosters and other lists must say.
DEFAULT_CATEGORY = {Source.P3KE: "informal", Source.DTSEN: "informal", Source.SPONSOR: "informal"}
EXAMPLES_IN_REPORT = 200

STAGED_COLUMNS = [
    "batch_id", "row", "record_id", "status", "issues", "raw", "person_id", "nik", "kk", "name", "name_norm", "sex",
    "birth_date", "address", "village_id", "decile", "occupation", "category", "phone",
]
PERSON_VALUES = ["kk", "name", "name_norm", "sex", "birth_date", "address", "village_id", "phone", "occupation", "category"]


@dataclass
class ImportOptions:
    source: str
    sheet: str | None = None
    mapping: dict[str, str] | None = None
    dry_run: bool = False
    # The sponsor whose own list this is (a programs.Sponsor, or its exact name from the CLI).
    sponsor: object = None
    decile_scale: str | None = None
    file_name: str | None = None  # the name the user gave the file (uploads live under temp names)
    funded_months: tuple[date, date] | None = None  # (first, last) month the list's people are paid for

    def scale(self) -> str:
        return self.decile_scale or DEFAULT_SCALE.get(self.source, DecileScale.DTSEN)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_can_import(actor, options: ImportOptions) -> None:
    """`actor` is a user, or a string naming a system job (the CLI run by a server admin).
    A sponsor's list is filed only by its officers or an administrator; `options.sponsor`
    becomes the sponsor entity (a name is looked up exactly, never created)."""
    from kelambu.programs.models import Sponsor

    if options.source not in Source.values:
        raise ValueError(f"unknown source {options.source!r}; use one of {', '.join(Source.values)}")
    if not access.can_import(actor):
        raise PermissionDenied("This account may not import lists.")
    if options.source not in access.import_sources(actor):
        if options.source == Source.SPONSOR:
            raise PermissionDenied("Only a sponsor's own officers or an administrator file a sponsor's list.")
        raise PermissionDenied("A CSR officer files only its company's own lists (source: sponsor).")
    if options.source != Source.SPONSOR:
        options.sponsor = None
    else:
        own = access.sponsor_id_of(actor)
        if own:
            options.sponsor = Sponsor.objects.get(pk=own)
        elif isinstance(options.sponsor, str) and options.sponsor.strip():
            found = Sponsor.objects.filter(name=options.sponsor.strip()).first()
            if found is None:
                raise ValueError(f"no sponsor is named {options.sponsor.strip()!r}; an administrator adds sponsors "
                                 "(Administration > Sponsors)")
            options.sponsor = found
        if not isinstance(options.sponsor, Sponsor):
            raise ValueError("a sponsor list needs its sponsor (--sponsor NAME)")
        if not access.sponsors_for_lists(actor).filter(pk=options.sponsor.pk).exists():
            raise PermissionDenied("Only a sponsor's own officers or an administrator file a sponsor's list.")
    _check_months(options)


def _check_months(options: ImportOptions) -> None:
    if options.funded_months is None:
        return
    first, last = options.funded_months
    if first.day != 1 or last.day != 1:
        raise ValueError("funded months are given by their first day")
    if last < first:
        raise ValueError(f"the funded months end ({last:%Y-%m}) before they start ({first:%Y-%m})")
    if (last.year - first.year) * 12 + last.month - first.month >= 120:
        raise ValueError("funded months span ten years or more: check the dates")


def parse_months(text: str) -> tuple[date, date]:
    """'2026-01:2026-12' (or one month '2026-10') -> first days of the first and last month."""
    parts = [p.strip() for p in (text or "").split(":")]
    if len(parts) not in (1, 2) or not all(parts):
        raise ValueError(f"months must read YYYY-MM or YYYY-MM:YYYY-MM, not {text!r}")
    try:
        months = [datetime.strptime(p, "%Y-%m").date() for p in parts]
    except ValueError:
        raise ValueError(f"months must read YYYY-MM or YYYY-MM:YYYY-MM, not {text!r}") from None
    return months[0], months[-1]


def start_import(path: Path, options: ImportOptions, actor) -> tuple[ImportBatch, bool]:
    """Creates the batch for `path`, or returns the completed batch of the same file
    (created=False): importing the same file again changes nothing."""
    check_can_import(actor, options)
    path = Path(path)
    sha = file_sha256(path)
    if not options.dry_run:
        previous = ImportBatch.objects.filter(file_sha256=sha, status=BatchStatus.DONE, dry_run=False).first()
        if previous:
            return previous, False
    batch = ImportBatch.objects.create(
        source=options.source, sponsor=options.sponsor, runner=runner_id(),
        funded_from=options.funded_months[0] if options.funded_months else None,
        funded_to=options.funded_months[1] if options.funded_months else None,
        file_name=(options.file_name or path.name)[:255],
        file_sha256=sha, file_size=path.stat().st_size, sheet=options.sheet or "", decile_scale=options.scale(),
        dry_run=options.dry_run, status=BatchStatus.PENDING, created_by=actor if getattr(actor, "pk", None) else None,
    )
    return batch, True


def run_import(batch: ImportBatch, path: Path, options: ImportOptions, actor, progress: Progress | None = None) -> ImportBatch:
    """Reads, validates, stages and (unless a dry run) promotes one list. Stops at the next
    step when its cancellation is asked (cancel_import): nothing of it is kept."""
    report = progress or (lambda stage, done, total: None)

    def progress(stage, done, total):
        check_cancel(f"import:{batch.pk}")
        report(stage, done, total)

    try:
        return _run_import(batch, path, options, actor, progress)
    except Cancelled:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.FAILED, error_code="CANCELLED", finished_at=timezone.now(),
            error_message=CANCELLED_MESSAGE)
        audit(actor, "import.cancelled", batch, summary=f"{batch.file_name}: cancelled while it ran")
        batch.refresh_from_db()
        return batch


CANCELLED_MESSAGE = ("Impor dibatalkan; tidak ada yang berubah.\nThe import was cancelled; nothing changed.")


def cancel_import(batch: ImportBatch, actor) -> str:
    """Cancels an import not yet done: off the queue if no worker took it ("cancelled"),
    else asked to stop at its next step ("asked"); "done" if it had already ended."""
    from kelambu.jobs.runners import QUEUED

    if batch.status not in (BatchStatus.PENDING, BatchStatus.RUNNING):
        return "done"
    runner = batch.runner or ""
    if batch.status == BatchStatus.PENDING and runner.startswith(QUEUED) and cancel_queued(runner[len(QUEUED):]):
        marked = ImportBatch.objects.filter(pk=batch.pk, status=BatchStatus.PENDING).update(
            status=BatchStatus.FAILED, error_code="CANCELLED", finished_at=timezone.now(),
            error_message=CANCELLED_MESSAGE)
        if marked:
            audit(actor, "import.cancelled", batch, summary=f"{batch.file_name}: cancelled before it ran")
            return "cancelled"
    request_cancel(f"import:{batch.pk}")
    audit(actor, "import.cancel_asked", batch, summary=f"{batch.file_name}: cancellation asked")
    return "asked"


def _run_import(batch: ImportBatch, path: Path, options: ImportOptions, actor, progress: Progress) -> ImportBatch:
    started = time.monotonic()
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, runner=runner_id())
    bulk.warm_up()
    try:
        progress("reading", 0, 1)
        limits = ReaderLimits(
            max_bytes=settings.KELAMBU_IMPORT_MAX_BYTES, max_field=settings.KELAMBU_IMPORT_MAX_FIELD,
            xlsx_max_unpacked=settings.KELAMBU_XLSX_MAX_UNPACKED, xlsx_max_ratio=settings.KELAMBU_XLSX_MAX_RATIO,
            max_rows=settings.KELAMBU_IMPORT_MAX_ROWS, max_columns=settings.KELAMBU_IMPORT_MAX_COLUMNS,
            max_cells=settings.KELAMBU_IMPORT_MAX_CELLS, max_memory=settings.KELAMBU_IMPORT_MAX_MEMORY,
        )
        read = read_list(Path(path), sheet=options.sheet, mapping=options.mapping, limits=limits,
                         claimed_name=options.file_name or batch.file_name)
    except ImportRefused as refusal:
        return _refuse(batch, refusal, actor)
    rows_read = read.frame.height
    # Refused early when it is already clear (before validating a big list); checked again
    # under the import lock, where parallel uploads cannot share one allowance.
    refusal = None if batch.dry_run else _sponsor_rows_refusal(actor, rows_read)
    if refusal is not None:
        return _refuse(batch, refusal, actor)

    progress("validating", 0, read.frame.height)
    checked = validate(read.frame, _context(options))
    checked = _restrict_to_scope(checked, actor)
    counts = _count(checked)
    examples = _examples(checked, read.headers, counts)
    staged = _staging_frame(batch, read.frame, checked)
    # Only the staged frame goes on: a million-row import must not hold three copies.
    del checked
    read.frame = None

    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # One promotion at a time: the upserts are safe together, the linking steps
                # are simpler to reason about serialized.
                with connection.cursor() as c:
                    c.execute("SELECT pg_advisory_xact_lock(7406201)")
                    # Room for the million-row GROUP BY and hash joins of promotion in memory.
                    c.execute("SET LOCAL work_mem = '256MB'")
            # Under the lock (SQLite: the IMMEDIATE transaction's write lock): the limits
            # count every import that finished before this one.
            refusal = None if batch.dry_run else _sponsor_rows_refusal(actor, rows_read)
            if refusal is not None:
                raise _LimitReached(refusal)
            policy = access.import_policy(actor, batch.source)
            new = updated = linked = 0
            holds = None
            if batch.dry_run:
                staged = staged.with_columns(person_id=pl.lit(None, dtype=pl.Int64))
                insert_frame("registry_sourcerecord", staged, on_chunk=lambda d, t: progress("staging", d, t))
            else:
                staged, order, max_before, holds, known_rows = _assign_people(staged, batch, policy)
                _count_holds(counts, examples, holds, read.headers)
                # The staged rows and the new households and people are converted for the
                # database in background threads while the previous table is written. Where
                # the staged rows go to SQLite as images, the new people are inserted from
                # each staged chunk: the same rows, so no image of their own.
                with_staging = bulk.uses_image(staged.height)
                promotion = staging = None
                try:
                    promotion = _Promotion(batch, staged, max_before, people_with_staging=with_staging,
                                           update_known=not policy.link_only)
                    staging = BulkRows(
                        "registry_sourcerecord", staged.drop("batch_id"), order=order, constants={"batch_id": batch.pk},
                        extend=promotion.with_household if with_staging else None,
                        after_chunk=promotion.insert_people if with_staging else None,
                    ).start()
                    del staged, order
                    with indexes_rebuilt_after("registry_sourcerecord", staging.height):
                        staging.write(on_chunk=lambda d, t: progress("staging", d, t))
                    progress("promoting", 0, counts["accepted"])
                    new = promotion.write()
                finally:
                    if staging is not None:
                        staging.close()
                    if promotion is not None:
                        promotion.close()
                _write_holds(batch, holds)
                if policy.link_only:
                    linked = known_rows
                else:
                    updated = known_rows
            elapsed = time.monotonic() - started
            batch.status = BatchStatus.DONE
            batch.rows, batch.accepted, batch.rejected, batch.warnings = (
                counts["rows"], counts["accepted"], counts["rejected"], counts["warnings"])
            batch.people_new, batch.people_updated, batch.held = new, updated, counts["held"]
            batch.finished_at = timezone.now()
            batch.report = _report(batch, read, examples, counts, elapsed)
            batch.report["people_linked"] = linked
            batch.save()
            audit(actor, "import.dry_run" if batch.dry_run else "import.done", batch,
                  summary=f"{batch.file_name}: {counts['accepted']} accepted, {counts['rejected']} rejected"
                          + ("" if batch.dry_run else f", {new} new people, {updated} updated, {linked} linked, "
                                                      f"{counts['held']} held"),
                  data={k: batch.report[k] for k in ("rows", "accepted", "rejected", "held", "warnings", "issues")})
    except _LimitReached as stop:
        return _refuse(batch, stop.refusal, actor)
    except Cancelled:  # rolled back; run_import records it
        raise
    except Exception as exc:  # the transaction rolled back: record why, then let it surface
        log.exception("import of batch %s failed", batch.pk)
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.FAILED, error_code="INTERNAL", finished_at=timezone.now(),
            error_message=f"{type(exc).__name__}: {exc}"[:2000],
        )
        audit(actor, "import.failed", batch, summary=f"{batch.file_name}: {type(exc).__name__}")
        raise
    progress("done", 1, 1)
    return batch


def import_list(path: Path, options: ImportOptions, actor, progress: Progress | None = None) -> tuple[ImportBatch, bool]:
    """The whole import, for the CLI and tests: (batch, ran); ran is False when the same
    file had already been imported."""
    batch, created = start_import(path, options, actor)
    if not created:
        return batch, False
    return run_import(batch, path, options, actor, progress), True


# --- steps -------------------------------------------------------------------------------

class _LimitReached(Exception):
    def __init__(self, refusal: ImportRefused):
        super().__init__(refusal.code)
        self.refusal = refusal


def _sponsor_rows_refusal(actor, rows: int) -> ImportRefused | None:
    """Filing lists must not become a way to try NIKs by the thousand: a company's officers
    file at most KELAMBU_SPONSOR_ROWS_LIMIT rows in 30 days."""
    sponsor = access.sponsor_id_of(actor)
    if not sponsor:
        return None
    filed = access.sponsor_rows_recently(sponsor)
    limit = settings.KELAMBU_SPONSOR_ROWS_LIMIT
    if filed + rows <= limit:
        return None
    return ImportRefused(
        "SPONSOR_ROWS_LIMIT",
        f"daftar ini {rows:,} baris, dan perusahaan sudah mengirim {filed:,} baris dalam 30 hari "
        f"(paling banyak {limit:,}); hubungi operator kabupaten".replace(",", "."),
        f"this list has {rows:,} rows and the company has filed {filed:,} in 30 days "
        f"(at most {limit:,}); contact the regency's operator")


def _refuse(batch: ImportBatch, refusal: ImportRefused, actor) -> ImportBatch:
    batch.status = BatchStatus.REFUSED
    batch.error_code = refusal.code
    batch.error_message = f"{refusal.message_id}\n{refusal.message_en}"
    batch.finished_at = timezone.now()
    batch.report = {
        "batch": batch.pk, "file": batch.file_name, "source": batch.source, "status": "refused",
        "rows": 0, "accepted": 0, "rejected": 0, "warnings": 0, "issues": {refusal.code: 1},
        "refusal": {"code": refusal.code, "message_id": refusal.message_id, "message_en": refusal.message_en},
    }
    batch.save()
    audit(actor, "import.refused", batch, summary=f"{batch.file_name}: {refusal.code}")
    return batch


def _context(options: ImportOptions) -> ValidationContext:
    index = region_index()
    return ValidationContext(
        today=timezone.localdate(), decile_scale=options.scale(), region_codes=index.region_codes,
        village_codes=index.village_codes, regency_parents=index.regency_parents,
        age_min=settings.KELAMBU_AGE_MIN, age_max=settings.KELAMBU_AGE_MAX,
        default_category=DEFAULT_CATEGORY.get(options.source),
    )


def _restrict_to_scope(checked: pl.DataFrame, actor) -> pl.DataFrame:
    """A region-scoped operator may only add people living in their region."""
    prefix = access.region_prefix(actor)
    if not prefix:
        return checked
    outside = pl.col("village_code").is_null() | ~(
        (pl.col("village_code") == prefix) | pl.col("village_code").str.starts_with(prefix + ".")
    )
    return checked.with_columns(
        issues=pl.when(outside).then(pl.concat_str(pl.col("issues"), pl.lit("OUT_OF_SCOPE"), separator=" ", ignore_nulls=True))
        .otherwise(pl.col("issues")),
        status=pl.when(outside).then(pl.lit("rejected")).otherwise(pl.col("status")),
    )


def _count(checked: pl.DataFrame) -> dict:
    codes = checked.select(pl.col("issues").str.split(" ")).explode("issues").drop_nulls()
    per_code = dict(codes.group_by("issues").len().sort("issues").iter_rows())
    has_warning = pl.col("issues").fill_null("").str.contains(
        r"\b(" + "|".join(sorted(catalogue.WARNING_CODES)) + r")\b"
    )
    stats = checked.select(
        rows=pl.len(),
        accepted=(pl.col("status") == "accepted").sum(),
        rejected=(pl.col("status") == "rejected").sum(),
        warnings=has_warning.sum(),
    ).row(0, named=True)
    return {**{k: int(v) for k, v in stats.items()}, "held": 0, "issues": {k: int(v) for k, v in per_code.items()}}


def _staging_frame(batch: ImportBatch, original: pl.DataFrame, checked: pl.DataFrame) -> pl.DataFrame:
    cells = [c for c in FIELDS if c in original.columns]
    # The original cells are kept for rows with an issue: they are what the rejected-rows
    # file gives back to the operator to correct. Encoded for those rows only (a few percent).
    flagged = checked["issues"].is_not_null().arg_true()
    raw = pl.repeat(None, checked.height, dtype=pl.Utf8, eager=True).alias("raw")
    if len(flagged):
        raw = raw.scatter(flagged, original[flagged].select(pl.struct(cells).struct.json_encode()).to_series())
    return checked.with_columns(raw).select(
        pl.lit(batch.pk, dtype=pl.Int64).alias("batch_id"),
        pl.col("_row").alias("row"),
        "record_id", "status", "issues", "raw",
        pl.lit(None, dtype=pl.Int64).alias("person_id"),
        "nik", "kk", "name", "name_norm", "sex", "birth_date", "address",
        pl.col("village_code").alias("village_id"),
        "decile", "occupation", "category", "phone",
    ).select(STAGED_COLUMNS)


def _assign_people(staged: pl.DataFrame, batch: ImportBatch, policy: access.ImportPolicy):
    """Gives every accepted row its person id before staging, so staging carries the link
    and promotion needs no pass to find it: the existing person with the row's NIK, or for a
    row without a NIK the person of the same source's latest record with the same record id;
    otherwise a new id above the current maximum (imports are serialized, see run_import).
    New ids follow NIK order, so both the primary key and the NIK index grow in order.

    The importer's policy (accounts.access.import_policy) decides what a row may do: a row
    matching a person the importer may not change, or adding a person the importer may not
    add, is `held` (no person id, nothing changed; `holds` says why and who decides).
    Returns the frame, the order to stage its rows in (row positions), the maximum person id
    before this batch, the holds (row, reason, person_id, owner_region) and how many rows
    matched a person they may update or link to."""
    accepted = pl.col("status") == "accepted"
    rows = staged.filter(accepted)
    record_ids = rows.filter(pl.col("nik").is_null())["record_id"].drop_nulls().unique().to_list()
    # Where the importer may change only some people, each match comes with where its
    # person lives (the survivor's village, for a merged person).
    scoped = not policy.link_only and policy.change_prefix != ""
    village = "s.village_id" if scoped else "NULL"
    known, previous = [], []
    with connection.cursor() as c:
        c.execute("SELECT COALESCE(MAX(id), 0) FROM registry_person")
        max_before = c.fetchone()[0]
        if max_before:  # an empty registry has no one to look up (a first list: 0.1-0.2 s)
            with keys_table(rows["nik"]) as (source, params):
                # A person merged into another (dedup) sends new rows to the survivor.
                if scoped:
                    c.execute(f"SELECT p.nik, s.id, s.village_id FROM {source} "
                              "JOIN registry_person p ON p.nik = k.value "
                              "JOIN registry_person s ON s.id = COALESCE(p.merged_into_id, p.id)", params)
                else:
                    c.execute(f"SELECT p.nik, COALESCE(p.merged_into_id, p.id), NULL FROM {source} "
                              "JOIN registry_person p ON p.nik = k.value", params)
                known = c.fetchall()
            if record_ids:
                source, params = keys_source(record_ids)
                c.execute(
                    f"SELECT prev.record_id, prev.batch_id, s.id, {village} FROM {source} "
                    "JOIN registry_sourcerecord prev ON prev.record_id = k.value "
                    "JOIN registry_person pp ON pp.id = prev.person_id "
                    "JOIN registry_person s ON s.id = COALESCE(pp.merged_into_id, pp.id) "
                    "JOIN registry_importbatch pb ON pb.id = prev.batch_id "
                    "WHERE prev.nik IS NULL AND prev.person_id IS NOT NULL AND pb.source = %s AND pb.dry_run = %s",
                    params + [batch.source, False],
                )
                previous = c.fetchall()
    by_nik = pl.DataFrame(known, schema={"nik": pl.Utf8, "_by_nik": pl.Int64, "_v_nik": pl.Utf8}, orient="row")
    by_record = (
        pl.DataFrame(previous, schema={"_rid": pl.Utf8, "_b": pl.Int64, "_by_record": pl.Int64, "_v_rec": pl.Utf8},
                     orient="row")
        .sort("_b", descending=True).unique("_rid", keep="first").drop("_b")
    )
    staged = (
        staged.with_columns(_rid=pl.when(accepted & pl.col("nik").is_null()).then(pl.col("record_id")))
        .join(by_nik, on="nik", how="left", maintain_order="left")
        .join(by_record, on="_rid", how="left", maintain_order="left")
        .with_columns(
            _known=pl.when(accepted).then(pl.coalesce("_by_nik", "_by_record")),
            _known_village=pl.when(pl.col("_by_nik").is_not_null()).then(pl.col("_v_nik")).otherwise(pl.col("_v_rec")),
        )
    )
    staged, holds = _hold_rows(staged, batch, policy)
    known_rows = staged.select(pl.col("_known").is_not_null().sum()).item()
    accepted = pl.col("status") == "accepted"
    # One order puts the rows in person order: known people by id, then new people in NIK
    # order (numbered from there), then the rows that promote no one. Staged in that order,
    # every index on the staged rows (id, person, batch) only appends, which on a million rows
    # is several seconds less than inserting at random. Only the order is computed here; the
    # rows are gathered in it chunk by chunk, in the background, as they are staged (copying
    # the whole sorted frame first held up the import by ~0.3 s).
    known = pl.col("_known").is_not_null()
    # The three groups as ranges of one integer key, ties broken by row: two integer keys
    # sort five times faster than (group, key, row) with nulls. Known people by id (below
    # 2^54), then new people by NIK (an accepted NIK is 16 digits, below 2^54, and its number
    # sorts as its text does; without one, after those), then the rest.
    span = 1 << 54
    key = (
        pl.when(known).then(pl.col("_known"))
        .when(accepted).then(span + pl.col("nik").cast(pl.Int64, strict=False).fill_null(span - 1))
        .otherwise(2 * span)
    )
    order = staged.select(pl.arg_sort_by(key, "row")).to_series()
    # A new person's id: max_before + its place among the new people in that order.
    place = pl.zeros(staged.height, pl.Int64, eager=True).scatter(order, pl.int_range(staged.height, eager=True))
    staged = staged.with_columns(
        person_id=pl.when(known).then(pl.col("_known"))
        .when(accepted).then(place - known.sum() + 1 + max_before))
    return staged.select(STAGED_COLUMNS), order, max_before, holds, known_rows


HOLD_CODES = {HoldReason.OTHER_REGION: "HELD_OTHER_REGION", HoldReason.UNVERIFIED: "HELD_UNVERIFIED",
              HoldReason.NEW_LIMIT: "HELD_NEW_LIMIT"}
HOLDS_SCHEMA = {"row": pl.Int64, "reason": pl.Utf8, "person_id": pl.Int64, "owner_region": pl.Utf8}


def _hold_rows(staged: pl.DataFrame, batch: ImportBatch, policy: access.ImportPolicy):
    """Applies the importer's policy to matched and new rows (see _assign_people): rows it
    may not write become `held`, with their code, and lose their match."""
    accepted = pl.col("status") == "accepted"
    matched = pl.col("_known").is_not_null()

    def under(column: str, prefix: str) -> pl.Expr:
        return (pl.col(column) == prefix) | pl.col(column).str.starts_with(prefix + ".")

    if policy.link_only or policy.change_prefix == "":
        foreign = pl.lit(False)
    elif policy.change_prefix is None:
        foreign = matched
    else:
        foreign = matched & ~under("_known_village", policy.change_prefix).fill_null(False)
    new = accepted & ~matched
    if policy.add_prefix is None:
        unverified, over_limit = new, pl.lit(False)
    elif policy.new_people_left is not None:
        unverified = pl.lit(False)
        over_limit = new & (new.cast(pl.Int64).cum_sum() > policy.new_people_left)
    else:
        unverified = over_limit = pl.lit(False)
    sponsor_region = batch.sponsor.region_id if batch.sponsor_id and batch.sponsor else None
    reason = (pl.when(foreign).then(pl.lit(HoldReason.OTHER_REGION.value))
              .when(unverified).then(pl.lit(HoldReason.UNVERIFIED.value))
              .when(over_limit).then(pl.lit(HoldReason.NEW_LIMIT.value)))
    staged = staged.with_columns(_hold=reason)
    held = pl.col("_hold").is_not_null()
    holds = staged.filter(held).select(
        pl.col("row").cast(pl.Int64), pl.col("_hold").alias("reason"),
        pl.when(pl.col("_hold") == HoldReason.OTHER_REGION.value).then(pl.col("_known")).alias("person_id"),
        pl.when(pl.col("_hold") == HoldReason.OTHER_REGION.value).then(pl.col("_known_village"))
        .otherwise(pl.coalesce(pl.col("village_id"), pl.lit(sponsor_region, dtype=pl.Utf8)))
        .fill_null("").alias("owner_region"),
    ).cast(HOLDS_SCHEMA)
    code = pl.col("_hold").replace_strict({k.value: v for k, v in HOLD_CODES.items()}, default=None)
    staged = staged.with_columns(
        status=pl.when(held).then(pl.lit("held")).otherwise(pl.col("status")),
        issues=pl.when(held).then(pl.concat_str(pl.col("issues"), code, separator=" ", ignore_nulls=True))
        .otherwise(pl.col("issues")),
        _known=pl.when(held).then(None).otherwise(pl.col("_known")),
    )
    return staged, holds


def _count_holds(counts: dict, examples: list[dict], holds: pl.DataFrame, headers: dict) -> None:
    """Held rows were counted as accepted by validation: counted as held, with their codes and
    a few examples in the report."""
    counts["held"] = holds.height
    counts["accepted"] -= holds.height
    if holds.is_empty():
        return
    per_reason = dict(holds.group_by("reason").len().iter_rows())
    for reason, n in per_reason.items():
        code = HOLD_CODES[HoldReason(reason)]
        counts["issues"][code] = counts["issues"].get(code, 0) + int(n)
        header = headers.get("nik")
        for row in holds.filter(pl.col("reason") == reason).sort("row")["row"].head(20).to_list():
            examples.append({
                "row": row, "code": code, "severity": catalogue.HELD, "column": header or "nik",
                "message_id": catalogue.row_message(code, row, header, "id"),
                "message_en": catalogue.row_message(code, row, header, "en"),
            })
    examples.sort(key=lambda e: (e["row"], e["code"]))


def _write_holds(batch: ImportBatch, holds: pl.DataFrame) -> None:
    """One Hold per held row, for the region that decides it."""
    if holds.is_empty():
        return
    with connection.cursor() as c:
        c.execute("SELECT id, row FROM registry_sourcerecord WHERE batch_id = %s AND status = 'held'", [batch.pk])
        ids = pl.DataFrame(c.fetchall(), schema={"record_id": pl.Int64, "row": pl.Int64}, orient="row")
    stamp = str(connection.ops.adapt_datetimefield_value(timezone.now()))
    insert_frame("registry_hold", holds.join(ids, on="row").select("record_id", "reason", "person_id", "owner_region"),
                 constants={"batch_id": batch.pk, "status": "pending", "note": "", "created_at": stamp})


# --- runs whose process died ---------------------------------------------------------------

def fail_interrupted() -> int:
    """Marks failed (INTERRUPTED) every import still pending or running whose process is
    gone (killed, or the server restarted): its transaction rolled back, so nothing of it is
    in the registry; the list can be imported again. Also removes the staging scratch files
    such a process left. Returns how many were marked."""
    bulk.clean_scratch()
    stale = []
    for batch in ImportBatch.objects.filter(status__in=[BatchStatus.PENDING, BatchStatus.RUNNING]).only(
            "id", "runner", "created_at", "file_name"):
        if batch.runner:
            alive = runner_alive(batch.runner)
        else:  # made before runners were recorded
            alive = batch.created_at > timezone.now() - timedelta(hours=1)
        if not alive:
            stale.append(batch)
    for batch in stale:
        with transaction.atomic():
            marked = ImportBatch.objects.filter(pk=batch.pk, status__in=[BatchStatus.PENDING, BatchStatus.RUNNING]).update(
                status=BatchStatus.FAILED, error_code="INTERRUPTED", finished_at=timezone.now(),
                error_message="Impor terhenti karena prosesnya berhenti (server dimulai ulang atau dihentikan); tidak "
                              "ada yang berubah, impor ulang berkasnya.\nThe import stopped because its process "
                              "ended (the server restarted or was stopped); nothing changed, import the file again.")
            if marked:
                audit("system", "import.interrupted", batch, summary=f"{batch.file_name}: its process ended")
    return len(stale)


class _Promotion:
    """Accepted rows of a batch into Household and Person, set-based. Built before the
    staged rows are written: it looks up the batch's known households, then builds the new
    households and people in a background thread (Polars) and starts converting them for the
    database, all while the staged rows are written; `write()` then inserts them and updates
    the known people. New people have ids above `max_before` (given by _assign_people).

    With `people_with_staging` (the staged rows go to SQLite as images), the new people are
    not converted separately: `with_household` gives each staged chunk its household id and
    `insert_people` inserts the chunk's new people from it, as each chunk is staged. An image
    of the people was two seconds of the second core for a million rows, and ~200 MB."""

    def __init__(self, batch: ImportBatch, staged: pl.DataFrame, max_before: int, *, people_with_staging: bool = False,
                 update_known: bool = True):
        self.batch, self.max_before, self.update_known = batch, max_before, update_known
        self.now = timezone.now()
        stamp = str(connection.ops.adapt_datetimefield_value(self.now))
        self.stamp, self.with_staging, self.inserted = stamp, people_with_staging, 0
        accepted = staged.filter(pl.col("status") == "accepted")
        self.known = accepted.filter(pl.col("person_id") <= max_before).height
        if not update_known:
            # A list that only links (a sponsor's) gives its known people no household either.
            accepted = accepted.filter(pl.col("person_id") > max_before)
        # The KK's number sorts as its text (validation leaves only 16-digit KKs, the rest
        # null): sorted on it, with the village, the first row of each KK is the household's,
        # three times faster than grouping on the text and sorting the groups.
        kks = (
            accepted.filter(pl.col("kk").is_not_null())
            .select(pl.col("kk").cast(pl.Int64).alias("_kk"), "kk", "village_id")
            .sort("_kk", "village_id").unique("_kk", keep="first", maintain_order=True).drop("_kk")
        )
        existing = pl.DataFrame(schema={"kk": pl.Utf8, "household_id": pl.Int64})
        with connection.cursor() as c:
            # Ids are given above the current maximum: imports are serialized (see run_import).
            c.execute("SELECT COALESCE(MAX(id), 0) FROM registry_household")
            top = c.fetchone()[0]
            if top:  # no household yet, none to look up
                with keys_table(kks["kk"]) as (source, params):
                    c.execute(f"SELECT h.kk, h.id FROM {source} JOIN registry_household h ON h.kk = k.value", params)
                    existing = pl.DataFrame(c.fetchall(), schema={"kk": pl.Utf8, "household_id": pl.Int64}, orient="row")
        self.households = self.people = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kelambu-promotion")
        self._prepared = self._pool.submit(self._prepare, accepted, kks, existing, top, stamp)

    def _prepare(self, accepted: pl.DataFrame, kks: pl.DataFrame, existing: pl.DataFrame, top: int,
                 stamp: str) -> None:
        # The households of KKs not seen before; a new household's village is the lowest
        # code among its rows.
        new = kks.join(existing, on="kk", how="anti").with_columns(
            household_id=(pl.int_range(1, pl.len() + 1) + top).cast(pl.Int64))
        self.households = BulkRows("registry_household", new.select(pl.col("household_id").alias("id"), "kk", "village_id"),
                                   constants={"created_at": stamp}).start()
        households = pl.concat([existing, new.select("kk", "household_id")])
        if self.with_staging:
            self.kk_households = households
            return
        people = (
            accepted.filter(pl.col("person_id") > self.max_before)
            .join(households, on="kk", how="left")
            .sort("person_id")
            .select(
                pl.col("person_id").alias("id"), "nik", *PERSON_VALUES, "household_id", "decile",
                pl.when(pl.col("decile").is_not_null()).then(pl.lit(self.batch.decile_scale)).alias("decile_scale"),
            )
        )
        self.people = BulkRows("registry_person", people, constants={
            "last_batch_id": self.batch.pk, "created_at": stamp, "updated_at": stamp}).start()

    def with_household(self, chunk: pl.DataFrame) -> pl.DataFrame:
        """The staged chunk with its rows' household ids (`household_id`); runs on the
        staging's background thread."""
        self._prepared.result()
        return chunk.join(self.kk_households, on="kk", how="left", maintain_order="left")

    def insert_people(self, stage: str) -> None:
        """Inserts the new people among the staged rows in `stage` (those with ids above
        max_before; rejected rows have none), in their order, which is id order."""
        columns = ["id", "nik", *PERSON_VALUES, "household_id", "decile", "decile_scale",
                   "last_batch_id", "created_at", "updated_at"]
        values = ["person_id", "nik", *PERSON_VALUES, "household_id", "decile",
                  "CASE WHEN decile IS NULL THEN NULL ELSE %s END", "%s", "%s", "%s"]
        with connection.cursor() as c:
            c.execute(f"INSERT INTO registry_person ({', '.join(columns)}) SELECT {', '.join(values)} FROM {stage} "
                      "WHERE person_id > %s",
                      [self.batch.decile_scale, self.batch.pk, self.stamp, self.stamp, self.max_before])
            self.inserted += c.rowcount

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for rows in (self.households, self.people):
            if rows is not None:
                rows.close()

    def write(self) -> int:
        """Returns the number of new people."""
        self._prepared.result()
        with indexes_rebuilt_after("registry_household", self.households.height):
            self.households.write()
        if self.people is None:  # inserted with the staged rows
            new = self.inserted
        else:
            with indexes_rebuilt_after("registry_person", self.people.height):
                new = self.people.write()
        b, scale = self.batch, self.batch.decile_scale
        with connection.cursor() as c:
            if self.known and self.update_known:
                if connection.vendor == "postgresql":
                    # Fresh statistics, so the join below is planned for a million rows, not for none.
                    c.execute("ANALYZE registry_sourcerecord")
                # Known people: the newest list's values win where it has them; the rest stay.
                keep = ", ".join(f"{col} = COALESCE(sr.{col}, registry_person.{col})"
                                 for col in PERSON_VALUES if col != "name")
                c.execute(
                    f"UPDATE registry_person SET name = sr.name, {keep}, "
                    "household_id = COALESCE(h.id, registry_person.household_id), "
                    "decile = COALESCE(sr.decile, registry_person.decile), "
                    "decile_scale = CASE WHEN sr.decile IS NULL THEN registry_person.decile_scale ELSE %s END, "
                    "last_batch_id = sr.batch_id, updated_at = %s "
                    "FROM registry_sourcerecord sr LEFT JOIN registry_household h ON h.kk = sr.kk "
                    "WHERE sr.batch_id = %s AND sr.status = 'accepted' "
                    "AND sr.person_id <= %s AND sr.person_id = registry_person.id",
                    [scale, connection.ops.adapt_datetimefield_value(self.now), b.pk, self.max_before],
                )
            if connection.vendor == "postgresql":
                # Ids were given explicitly: move the identity sequences past them.
                for table in ("registry_person", "registry_household"):
                    c.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"GREATEST((SELECT MAX(id) FROM {table}), 1))")
        return new


def _examples(checked: pl.DataFrame, headers: dict, counts: dict) -> list[dict]:
    # A few rows per code, so one frequent problem does not hide the others.
    per_code = max(5, EXAMPLES_IN_REPORT // max(1, len(counts["issues"])))
    flagged = (
        checked.filter(pl.col("issues").is_not_null()).select("_row", pl.col("issues").str.split(" ").alias("code"))
        .explode("code").group_by("code", maintain_order=True).head(per_code).sort("_row", "code")
        .select("_row", "code")
    )
    examples = []
    for row, code in flagged.iter_rows():
        issue = catalogue.ISSUES[code]
        header = headers.get(issue.field) if issue.field else None
        examples.append({
            "row": row, "code": code, "severity": issue.severity, "column": header or issue.field,
            "message_id": catalogue.row_message(code, row, header, "id"),
            "message_en": catalogue.row_message(code, row, header, "en"),
        })
    return examples


def _report(batch: ImportBatch, read, examples: list[dict], counts: dict, elapsed: float) -> dict:
    headers = read.headers
    return {
        "batch": batch.pk, "file": batch.file_name, "source": batch.source, "sha256": batch.file_sha256,
        "format": read.format, "sheet": read.sheet, "encoding": read.encoding, "delimiter": read.delimiter,
        "dry_run": batch.dry_run, "status": "done",
        "rows": counts["rows"], "accepted": counts["accepted"], "rejected": counts["rejected"],
        "held": counts.get("held", 0), "warnings": counts["warnings"], "issues": counts["issues"],
        "people_new": batch.people_new, "people_updated": batch.people_updated,
        "columns": headers, "ignored_columns": read.ignored, "decile_scale": batch.decile_scale,
        "seconds": round(elapsed, 3), "rows_per_second": int(counts["rows"] / elapsed) if elapsed > 0 else None,
        "examples": examples,
    }


# --- corrections -------------------------------------------------------------------------

@dataclass
class PersonCorrection:
    name: str
    address: str = ""
    village: str = ""
    phone: str = ""
    category: str = ""
    occupation: str = ""


@dataclass
class CorrectionResult:
    changed: dict = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


def correct_person(person, correction: PersonCorrection, reason: str, actor) -> CorrectionResult:
    """An operator's correction of one person, checked by the same rules as an import row
    and confined to the operator's scope; audited with the values before and after."""
    from .models import Person
    from .validate import validate_record

    scope = access.change_scope(actor)
    if scope is None or not Person.objects.filter(scope, pk=person.pk).exists():
        raise PermissionDenied("This account may not correct this person.")
    cells = {
        "nik": person.nik, "name": correction.name, "address": correction.address or None,
        "village_code": correction.village or None, "phone": correction.phone or None,
        "category": correction.category or None, "occupation": correction.occupation or None,
        "sex": person.sex, "birth_date": person.birth_date.isoformat() if person.birth_date else None,
    }
    values, codes = validate_record(cells, _context(ImportOptions(source=Source.OTHER)))
    field_of = {"village_code": "village"}
    result = CorrectionResult()
    # Only problems with what the operator typed block the correction.
    editable = {"name", "address", "village_code", "phone", "category", "occupation"}
    for code in codes:
        issue = catalogue.ISSUES[code]
        if issue.severity == catalogue.ERROR and issue.field in editable or code == "PHONE_INVALID":
            result.errors.setdefault(field_of.get(issue.field, issue.field), []).append(code)
    prefix = access.region_prefix(actor)
    village = values["village_code"]
    if prefix and not (village and (village == prefix or village.startswith(prefix + "."))):
        result.errors.setdefault("village", []).append("OUT_OF_SCOPE")
    if result.errors:
        return result
    new = {
        "name": values["name"], "name_norm": values["name_norm"], "address": values["address"],
        "village_id": village, "phone": values["phone"], "category": values["category"],
        "occupation": values["occupation"],
    }
    result.changed = {k: [getattr(person, k), v] for k, v in new.items() if getattr(person, k) != v}
    if not result.changed:
        return result
    with transaction.atomic():
        for key, (_old, value) in result.changed.items():
            setattr(person, key, value)
        person.updated_at = timezone.now()
        person.save(update_fields=[*result.changed, "updated_at"])
        audit(actor, "person.correct", person, summary=f"{person.name}: {', '.join(result.changed)} ({reason})"[:500],
              data={"reason": reason, "changes": {k: [str(a) if a is not None else None, str(b) if b is not None else None]
                                                  for k, (a, b) in result.changed.items()}})
    return result
