"""Every write of deduplication: runs, merges, splits and review decisions.

A run reads the active people of a region into a frame, scores candidate pairs with the
Splink model (engine.py), finds records under one NIK that look like different people, and
writes the review queue set-based. Merges move source records to the surviving person and
point the absorbed person at it; each is recorded in `Merge` with what is needed to undo it,
and audited.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kelambu.accounts import access
from kelambu.audit.services import record as audit
from kelambu.jobs.runners import runner_id
from kelambu.lib.export import write_csv
from kelambu.lib.matchnames import match_name_expr
from kelambu.registry.bulk import insert_frame, keys_source
from kelambu.registry.models import Person, prefix_range_sql

from . import engine
from .models import OPEN_STATUSES, MatchRun, Merge, MergeKind, Pair, PairKind, PairStatus, RunStatus

Progress = Callable[[str, int, int], None]


# ---------------------------------------------------------------- scope


# ---------------------------------------------------------------- reading people


def _key_as_id() -> str:
    """keys_source yields text: the cast that compares it with an id column."""
    return "CAST(k.value AS bigint)" if connection.vendor == "postgresql" else "CAST(k.value AS integer)"


def _region_sql(region: str, column: str) -> tuple[str, list]:
    return prefix_range_sql(column, region)


def people_frame(region: str = "") -> pl.DataFrame:
    """The active people of a region, as the engine's input frame."""
    where, params = _region_sql(region, "village_id")
    sql = ("SELECT id, nik, kk, name_norm, sex, birth_date, village_id, phone FROM registry_person "
           f"WHERE merged_into_id IS NULL{where}")
    schema = {"id": pl.Int64, "nik": pl.Utf8, "kk": pl.Utf8, "name_norm": pl.Utf8, "sex": pl.Utf8,
              "birth_date": pl.Utf8, "village": pl.Utf8, "phone": pl.Utf8}
    chunks = []
    with connection.cursor() as c:
        c.execute(sql, params)
        while rows := c.fetchmany(200_000):
            rows = [(r[0], r[1], r[2], r[3], r[4], None if r[5] is None else str(r[5]), r[6], r[7]) for r in rows]
            chunks.append(pl.DataFrame(rows, schema=schema, orient="row"))
    frame = pl.concat(chunks) if chunks else pl.DataFrame(schema=schema)
    return frame.with_columns(pl.col("birth_date").str.to_date("%Y-%m-%d", strict=False))


# ---------------------------------------------------------------- runs


@dataclass
class RunResult:
    run: MatchRun
    scored: engine.Scored | None


def run_dedup(actor, region: str | None = None, settings: engine.MatchSettings | None = None,
              progress: Progress | None = None) -> MatchRun:
    """Scores the people of `region`, merges what may merge automatically and queues the
    rest for review. A failure leaves the run marked failed and the registry unchanged."""
    settings = settings or engine.MatchSettings()
    region = access.dedup_run_region(actor, region)
    say = progress or (lambda step, done, total: None)
    run = MatchRun.objects.create(region=region, started_by=actor if getattr(actor, "pk", None) else None,
                                  options=settings.as_dict(), runner=runner_id())
    started = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        say("read", 0, 5)
        t = time.perf_counter()
        people = people_frame(region)
        timings["read"] = time.perf_counter() - t
        say("score", 1, 5)
        scored = engine.score(people, settings)
        timings.update(scored.timings)
        say("write", 3, 5)
        t = time.perf_counter()
        with transaction.atomic():
            counts = _write_run(run, scored, settings, region, actor)
            conflicts = _nik_conflicts(run, region)
        timings["write"] = time.perf_counter() - t
        say("done", 5, 5)
    except Exception as exc:
        run.status = RunStatus.FAILED
        run.error_message = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.save()
        audit(actor, "dedup.failed", run, summary=f"Deduplication run {run.pk} failed: {run.error_message[:200]}")
        raise
    clusters = engine.clusters(people["id"], scored.pairs, settings.match_threshold) if people.height else None
    run.people = people.height
    run.records = _record_count(region)
    run.pairs_scored = scored.candidates
    run.clusters = clusters["cluster"].n_unique() if clusters is not None else 0
    run.auto_merged = counts["auto_merged"]
    run.for_review = counts["for_review"]
    run.nik_conflicts = conflicts
    run.status = RunStatus.DONE
    run.finished_at = timezone.now()
    timings["total"] = time.perf_counter() - started
    run.report = {
        "records": run.records, "people": run.people, "pairs_scored": run.pairs_scored,
        "clusters": run.clusters, "auto_merged": run.auto_merged, "for_review": run.for_review,
        "nik_conflicts": run.nik_conflicts, "nik_typos": counts["nik_typos"], "kept_decisions": counts["kept"],
        "pairs_kept": scored.pairs.height,
        "seconds": {k: round(v, 2) for k, v in timings.items()}, "run": run.pk, "region": region or None,
        "model": {"prior": scored.model.get("probability_two_random_records_match")} if scored.model else {},
    }
    run.save()
    audit(actor, "dedup.run", run, summary=(
        f"Deduplication run {run.pk}: {run.people} people, {run.pairs_scored} pairs, "
        f"{run.auto_merged} merged automatically, {run.for_review} for review"), data=run.report)
    return run


def _record_count(region: str) -> int:
    where, params = _region_sql(region, "p.village_id")
    with connection.cursor() as c:
        c.execute("SELECT COUNT(*) FROM registry_sourcerecord sr JOIN registry_person p ON p.id = sr.person_id "
                  f"WHERE sr.status = 'accepted'{where}", params)
        return c.fetchone()[0]


def _gamma_index(scored: engine.Scored, comparison: str, label: str) -> int | None:
    labels = scored.levels.get(comparison, [])
    return labels.index(label) if label in labels else None


def _write_run(run: MatchRun, scored: engine.Scored, settings: engine.MatchSettings, region: str, actor) -> dict:
    pairs = scored.pairs
    counts = {"auto_merged": 0, "for_review": 0, "nik_typos": 0, "kept": 0}
    if pairs.is_empty():
        return counts
    typo = _gamma_index(scored, "nik", "one digit or a swap apart")
    same_kk = _gamma_index(scored, "household", "same KK")
    pairs = pairs.with_columns(
        pl.when(pl.col("gamma_nik") == typo).then(pl.lit(PairKind.NIK_TYPO)).otherwise(pl.lit(PairKind.MATCH))
        .alias("kind"),
    )
    identifier = pl.lit(False)
    if "nik_typo" in settings.auto_merge_requires:
        identifier = identifier | (pl.col("gamma_nik") == typo)
    if "kk" in settings.auto_merge_requires:
        identifier = identifier | (pl.col("gamma_household") == same_kk)
    auto = (pl.col("match_probability") >= settings.auto_threshold) & identifier if settings.auto_merge else pl.lit(False)
    pairs = pairs.with_columns(auto.fill_null(False).alias("auto"))

    # Decisions already taken stand: a pair a reviewer rejected is not queued again.
    existing = _existing_pairs(pairs)
    pairs = pairs.join(existing, on=["id_l", "id_r"], how="left")
    decided = pairs.filter(pl.col("status").is_not_null() & ~pl.col("status").is_in(list(OPEN_STATUSES)))
    counts["kept"] = decided.height
    open_known = pairs.filter(pl.col("status").is_in(list(OPEN_STATUSES)))
    new = pairs.filter(pl.col("status").is_null())

    evidence = engine.evidence_expr(pairs, scored.levels).alias("evidence")
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    frame = new.select(
        pl.col("kind"),
        pl.when(pl.col("auto")).then(pl.lit(PairStatus.AUTO_MERGED)).otherwise(pl.lit(PairStatus.PENDING)).alias("status"),
        pl.lit(run.pk).alias("run_id"),
        pl.col("id_l").alias("person_a_id"), pl.col("id_r").alias("person_b_id"),
        pl.col("match_probability"), pl.col("match_weight"),
        evidence,
        pl.lit("").alias("note"), pl.lit(now).alias("created_at"), pl.lit(now).alias("updated_at"),
    )
    insert_frame("dedup_pair", frame)
    if not open_known.is_empty():
        _refresh_open(run, open_known.select(pl.col("pair_id").alias("id"), "kind", "match_probability",
                                             "match_weight", evidence), now)
    counts["nik_typos"] = pairs.filter((pl.col("kind") == PairKind.NIK_TYPO) & ~pl.col("auto")).height
    counts["for_review"] = new.filter(~pl.col("auto")).height + open_known.height

    auto_pairs = new.filter(pl.col("auto"))
    if not auto_pairs.is_empty():
        ids = Pair.objects.filter(run=run, status=PairStatus.AUTO_MERGED).values_list("id", "person_a_id", "person_b_id")
        pair_ids = pl.DataFrame(list(ids), schema={"pair_id": pl.Int64, "id_l": pl.Int64, "id_r": pl.Int64},
                                orient="row")
        counts["auto_merged"] = _merge_components(auto_pairs.select("id_l", "id_r").join(pair_ids, on=["id_l", "id_r"]),
                                                  actor, automatic=True)
    return counts


def _refresh_open(run: MatchRun, rows: pl.DataFrame, now) -> None:
    """Pairs still open get this run's score and evidence, set-based through a temp table."""
    jsonb = "CAST(r.evidence AS jsonb)" if connection.vendor == "postgresql" else "r.evidence"
    with connection.cursor() as c:
        c.execute("CREATE TEMP TABLE IF NOT EXISTS dedup_refresh (id bigint PRIMARY KEY, kind varchar(12), "
                  "match_probability double precision, match_weight double precision, evidence text)")
        c.execute("DELETE FROM dedup_refresh")
        insert_frame("dedup_refresh", rows)
        sets = ", ".join(f"{col} = (SELECT {expr} FROM dedup_refresh r WHERE r.id = dedup_pair.id)" for col, expr in (
            ("kind", "r.kind"), ("match_probability", "r.match_probability"),
            ("match_weight", "r.match_weight"), ("evidence", jsonb)))
        c.execute(f"UPDATE dedup_pair SET run_id = %s, updated_at = %s, {sets} "
                  "WHERE id IN (SELECT id FROM dedup_refresh)", [run.pk, now])
        c.execute("DELETE FROM dedup_refresh")


def _existing_pairs(pairs: pl.DataFrame) -> pl.DataFrame:
    schema = {"pair_id": pl.Int64, "id_l": pl.Int64, "id_r": pl.Int64, "status": pl.Utf8}
    ids = pairs["id_l"].unique().to_list()
    if not ids:
        return pl.DataFrame(schema=schema)
    source, params = keys_source([str(i) for i in ids])
    cast = _key_as_id()
    with connection.cursor() as c:
        c.execute(f"SELECT p.id, p.person_a_id, p.person_b_id, p.status FROM {source} "
                  f"JOIN dedup_pair p ON p.person_a_id = {cast} WHERE p.kind IN (%s, %s)",
                  params + [PairKind.MATCH, PairKind.NIK_TYPO])
        rows = c.fetchall()
    return pl.DataFrame(rows, schema=schema, orient="row").unique(["id_l", "id_r"], keep="first")


# ---------------------------------------------------------------- NIK conflicts


def _nik_conflicts(run: MatchRun, region: str) -> int:
    """Records under one NIK that look like different people: probably two people sharing
    a wrong NIK. Queued as pairs of records; never merged or split silently."""
    where, params = _region_sql(region, "p.village_id")
    with connection.cursor() as c:
        c.execute(
            # Records of one person with one NIK (after a merge a person may hold records
            # with two NIKs: those are the typo pair, not a conflict).
            "SELECT sr.id, sr.person_id, sr.name_norm, sr.sex, sr.birth_date, sr.nik FROM registry_sourcerecord sr "
            "JOIN registry_person p ON p.id = sr.person_id "
            "WHERE sr.status = 'accepted' AND sr.nik IS NOT NULL AND p.merged_into_id IS NULL "
            "AND sr.nik IN (SELECT nik FROM registry_sourcerecord WHERE status = 'accepted' "
            f"AND nik IS NOT NULL GROUP BY nik HAVING COUNT(*) > 1){where}",
            params,
        )
        rows = [(r[0], r[1], r[2], r[3], None if r[4] is None else str(r[4]), r[5]) for r in c.fetchall()]
    if not rows:
        return 0
    recs = pl.DataFrame(rows, schema={"rid": pl.Int64, "person": pl.Int64, "name": pl.Utf8, "sex": pl.Utf8,
                                      "dob": pl.Utf8, "nik": pl.Utf8}, orient="row", infer_schema_length=None)
    recs = recs.with_columns(match_name_expr(pl.col("name")).str.split(" ").alias("words"))
    first = recs.sort("rid").group_by("person", "nik").first()
    found = (
        recs.join(first, on=["person", "nik"], suffix="_a")
        .filter(pl.col("rid") != pl.col("rid_a"))
        # Import rejects a row whose sex or birth date contradicts its NIK and fills them
        # from the NIK when the list has none, so under one NIK they always agree: what is
        # left to tell two people apart is a name without a word in common (matching keys,
        # so respellings and titles do not count).
        .filter(pl.col("words").list.set_intersection(pl.col("words_a")).list.len() == 0)
    )
    if found.is_empty():
        return 0
    existing = set(Pair.objects.filter(kind=PairKind.NIK_CONFLICT, person_a__in=found["person"].to_list())
                   .values_list("record_a_id", "record_b_id"))
    new = [Pair(kind=PairKind.NIK_CONFLICT, run=run, person_a_id=r["person"], person_b_id=r["person"],
                record_a_id=r["rid_a"], record_b_id=r["rid"])
           for r in found.iter_rows(named=True) if (r["rid_a"], r["rid"]) not in existing]
    Pair.objects.bulk_create(new, batch_size=2000)
    return found.height


# ---------------------------------------------------------------- merging


def _survivors(edges: pl.DataFrame) -> pl.DataFrame:
    """absorbed -> survivor for the components of `edges` (id_l, id_r): the person with a
    NIK survives, then the lowest id."""
    ids = pl.concat([edges["id_l"], edges["id_r"]]).unique()
    comp = engine.clusters(ids, edges.with_columns(match_probability=pl.lit(1.0)), 0.0)
    source, params = keys_source([str(i) for i in ids.to_list()])
    cast = _key_as_id()
    with connection.cursor() as c:
        c.execute(f"SELECT p.id, p.nik IS NOT NULL FROM {source} JOIN registry_person p ON p.id = {cast}", params)
        has_nik = pl.DataFrame(c.fetchall(), schema={"id": pl.Int64, "has_nik": pl.Boolean}, orient="row")
    comp = comp.join(has_nik, on="id", how="left").with_columns(pl.col("has_nik").fill_null(False))
    best = comp.sort(["cluster", "has_nik", "id"], descending=[False, True, False]).group_by("cluster").first()
    return (comp.join(best.select("cluster", pl.col("id").alias("survivor")), on="cluster")
            .filter(pl.col("id") != pl.col("survivor")).select(pl.col("id").alias("absorbed"), "survivor"))


def _json_ids(ids: pl.Expr) -> pl.Expr:
    """A list column of ids as JSON text ("[3, 5]"; null: "[]"), without a Python call per row."""
    return pl.concat_str([pl.lit("["), ids.list.eval(pl.element().cast(pl.Utf8)).list.join(", "), pl.lit("]")]
                         ).fill_null("[]")


def _merge_components(edges: pl.DataFrame, actor, *, automatic: bool, note: str = "") -> int:
    """Merges the people joined by `edges` (id_l, id_r, pair_id), set-based; returns how
    many people were merged into another."""
    mapping = _survivors(edges)
    if mapping.is_empty():
        return 0
    pair_of = pl.concat([
        edges.select(pl.col("id_l").alias("absorbed"), "pair_id"),
        edges.select(pl.col("id_r").alias("absorbed"), "pair_id"),
    ]).group_by("absorbed").agg(pl.col("pair_id").min())
    mapping = mapping.join(pair_of, on="absorbed", how="left")
    absorbed = [str(i) for i in mapping["absorbed"].to_list()]
    source, params = keys_source(absorbed)
    cast = _key_as_id()
    with connection.cursor() as c:
        c.execute(f"SELECT sr.person_id, sr.id FROM {source} JOIN registry_sourcerecord sr ON sr.person_id = {cast}",
                  params)
        moved = pl.DataFrame(c.fetchall(), schema={"absorbed": pl.Int64, "rid": pl.Int64}, orient="row")
        c.execute(f"SELECT p.merged_into_id, p.id FROM {source} JOIN registry_person p ON p.merged_into_id = {cast}",
                  params)
        redirected = pl.DataFrame(c.fetchall(), schema={"absorbed": pl.Int64, "pid": pl.Int64}, orient="row")
        c.execute("CREATE TEMP TABLE IF NOT EXISTS dedup_map (absorbed bigint PRIMARY KEY, survivor bigint NOT NULL)")
        c.execute("DELETE FROM dedup_map")
        insert_frame("dedup_map", mapping.select("absorbed", "survivor"))
        c.execute("UPDATE registry_sourcerecord SET person_id = (SELECT survivor FROM dedup_map "
                  "WHERE dedup_map.absorbed = registry_sourcerecord.person_id) "
                  "WHERE person_id IN (SELECT absorbed FROM dedup_map)")
        c.execute("UPDATE registry_person SET merged_into_id = (SELECT survivor FROM dedup_map "
                  "WHERE dedup_map.absorbed = registry_person.merged_into_id) "
                  "WHERE merged_into_id IN (SELECT absorbed FROM dedup_map)")
        c.execute("UPDATE registry_person SET merged_into_id = (SELECT survivor FROM dedup_map "
                  "WHERE dedup_map.absorbed = registry_person.id) WHERE id IN (SELECT absorbed FROM dedup_map)")
        # Open pairs that involve an absorbed person are about someone who is now another.
        c.execute("UPDATE dedup_pair SET status = %s WHERE status IN (%s, %s) AND kind <> %s AND "
                  "(person_a_id IN (SELECT absorbed FROM dedup_map) OR person_b_id IN (SELECT absorbed FROM dedup_map))",
                  [PairStatus.SUPERSEDED, *OPEN_STATUSES, PairKind.NIK_CONFLICT])
        c.execute("DELETE FROM dedup_map")
    records = moved.group_by("absorbed").agg(pl.col("rid").sort())
    people = redirected.group_by("absorbed").agg(pl.col("pid").sort())
    rows = mapping.join(records, on="absorbed", how="left").join(people, on="absorbed", how="left")
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    user_id = actor.pk if getattr(actor, "pk", None) else None
    frame = rows.select(
        pl.lit(MergeKind.MERGE).alias("kind"), pl.col("pair_id"),
        pl.col("survivor").alias("survivor_id"), pl.col("absorbed").alias("absorbed_id"),
        _json_ids(pl.col("rid")).alias("records"),
        _json_ids(pl.col("pid")).alias("redirected"),
        pl.lit(automatic).alias("automatic"), pl.lit(user_id, dtype=pl.Int64).alias("by_id"),
        pl.lit(now).alias("at"),
    )
    insert_frame("dedup_merge", frame)
    if not automatic:
        for row in rows.iter_rows(named=True):
            audit(actor, "dedup.merge", object_type="registry.person", object_id=str(row["absorbed"]),
                  summary=f"Person {row['absorbed']} merged into {row['survivor']}" + (f": {note}" if note else ""),
                  data={"survivor": row["survivor"], "absorbed": row["absorbed"], "records": row["rid"] or [],
                        "pair": row["pair_id"], "note": note})
    else:
        audit(actor, "dedup.auto_merge", object_type="dedup.pair", object_id="",
              summary=f"{rows.height} people merged automatically",
              data={"merged": rows.height, "pairs": rows["pair_id"].drop_nulls().to_list()[:1000]})
    return rows.height


def _can_decide(pair: Pair, actor) -> None:
    if not access.can_review(actor) or not access.pairs_visible_to(actor).filter(pk=pair.pk).exists():
        raise PermissionDenied(_("You may not review this pair."))


@transaction.atomic
def decide(pair: Pair, decision: str, actor, note: str = "") -> Pair:
    """accept (merge, or for a NIK conflict: they are one person), reject (different
    people; for a NIK conflict the second record becomes a person of its own), defer, or
    reopen a rejected or deferred pair. Undo an acceptance with `unmerge`."""
    pair = Pair.objects.select_for_update().get(pk=pair.pk)
    _can_decide(pair, actor)
    note = (note or "").strip()[:2000]
    before = pair.status
    if decision == "accept":
        if pair.status not in OPEN_STATUSES:
            raise ValidationError(_("This pair has already been decided."))
        if pair.kind != PairKind.NIK_CONFLICT:
            a, b = Person.objects.filter(pk__in=[pair.person_a_id, pair.person_b_id]).order_by("pk")
            if a.merged_into_id or b.merged_into_id:
                raise ValidationError(_("One of these people has been merged meanwhile; run deduplication again."))
            _merge_components(pl.DataFrame({"id_l": [pair.person_a_id], "id_r": [pair.person_b_id],
                                            "pair_id": [pair.pk]}), actor, automatic=False, note=note)
        pair.status = PairStatus.ACCEPTED
    elif decision == "reject":
        if pair.status not in OPEN_STATUSES:
            raise ValidationError(_("This pair has already been decided."))
        if pair.kind == PairKind.NIK_CONFLICT:
            _split(pair, actor, note)
        pair.status = PairStatus.REJECTED
    elif decision == "defer":
        if pair.status != PairStatus.PENDING:
            raise ValidationError(_("Only a pair waiting for review can be deferred."))
        pair.status = PairStatus.DEFERRED
    elif decision == "reopen":
        if pair.status == PairStatus.REJECTED and pair.kind == PairKind.NIK_CONFLICT:
            split = Merge.objects.filter(pair=pair, kind=MergeKind.SPLIT, undone_at__isnull=True).first()
            if split:
                _undo(split, actor, note)
        elif pair.status not in (PairStatus.REJECTED, PairStatus.DEFERRED):
            raise ValidationError(_("Only a rejected or deferred pair can be reopened; undo a merge instead."))
        pair.status = PairStatus.PENDING
    else:
        raise ValidationError(_("Unknown decision: %(d)s") % {"d": decision})
    pair.decided_by = actor if getattr(actor, "pk", None) else None
    pair.decided_at = timezone.now()
    pair.note = note
    pair.save()
    audit(actor, f"dedup.{decision}", pair, summary=f"Pair {pair.pk} ({pair.kind}): {before} -> {pair.status}",
          data={"before": before, "after": pair.status, "note": note, "person_a": pair.person_a_id,
                "person_b": pair.person_b_id, "record_a": pair.record_a_id, "record_b": pair.record_b_id})
    return pair


def _split(pair: Pair, actor, note: str) -> Merge:
    """The second record of a NIK conflict becomes a person of its own, without a NIK (which
    of the two holds the NIK rightly is for the branch to settle)."""
    rec = pair.record_b
    now = timezone.now()
    new = Person.objects.create(
        nik=None, kk=rec.kk, name=rec.name or "", name_norm=rec.name_norm or "", sex=rec.sex,
        birth_date=rec.birth_date, address=rec.address, village_id=rec.village_id, phone=rec.phone,
        occupation=rec.occupation, category=rec.category, decile=rec.decile,
        decile_scale=rec.batch.decile_scale if rec.decile is not None else None,
        last_batch_id=rec.batch_id, created_at=now, updated_at=now,
    )
    rec.person = new
    rec.save(update_fields=["person"])
    # The newest list wins a person's name at import: if that was the split-off record, the
    # name goes back to the newest record that stays.
    person = Person.objects.get(pk=pair.person_a_id)
    stays = person.records.filter(status="accepted").order_by("-batch_id", "-row").first()
    if stays and stays.name and person.name == rec.name:
        person.name, person.name_norm = stays.name, stays.name_norm or person.name_norm
        person.save(update_fields=["name", "name_norm"])
    return Merge.objects.create(kind=MergeKind.SPLIT, pair=pair, survivor_id=pair.person_a_id, absorbed=new,
                                records=[rec.pk], by=actor if getattr(actor, "pk", None) else None)


def _undo(merge: Merge, actor, note: str) -> None:
    with connection.cursor() as c:
        if merge.kind == MergeKind.SPLIT:
            # The split-off person goes back into the one it came from.
            c.execute("UPDATE registry_sourcerecord SET person_id = %s WHERE person_id = %s",
                      [merge.survivor_id, merge.absorbed_id])
            Person.objects.filter(pk=merge.absorbed_id).update(merged_into=merge.survivor_id)
        else:
            current = Person.objects.filter(pk=merge.survivor_id).values_list("merged_into_id", flat=True).first()
            holder = current or merge.survivor_id
            if merge.records:
                ids = ", ".join(str(int(i)) for i in merge.records)
                c.execute(f"UPDATE registry_sourcerecord SET person_id = %s WHERE id IN ({ids}) AND person_id = %s",
                          [merge.absorbed_id, holder])
            if merge.redirected:
                ids = ", ".join(str(int(i)) for i in merge.redirected)
                c.execute(f"UPDATE registry_person SET merged_into_id = %s WHERE id IN ({ids})", [merge.absorbed_id])
            Person.objects.filter(pk=merge.absorbed_id).update(merged_into=None)
    merge.undone_at = timezone.now()
    merge.undone_by = actor if getattr(actor, "pk", None) else None
    merge.save(update_fields=["undone_at", "undone_by"])


@transaction.atomic
def unmerge(merge: Merge, actor, note: str = "") -> Merge:
    """Undoes a merge: the absorbed person and its records come back as they were, and
    the pair returns to the review queue."""
    merge = Merge.objects.select_for_update().get(pk=merge.pk)
    if not access.can_review(actor) or not access.merges_visible_to(actor).filter(pk=merge.pk).exists():
        raise PermissionDenied(_("You may not undo this merge."))
    if merge.undone_at:
        raise ValidationError(_("This merge has already been undone."))
    if merge.kind == MergeKind.SPLIT:
        raise ValidationError(_("Reopen the pair to undo a split."))
    _undo(merge, actor, note)
    if merge.pair_id:
        Pair.objects.filter(pk=merge.pair_id).update(status=PairStatus.PENDING, decided_at=timezone.now(),
                                                     decided_by=merge.undone_by, note=note)
    audit(actor, "dedup.unmerge", merge, summary=f"Merge {merge.pk} undone: person {merge.absorbed_id} "
          f"separated from {merge.survivor_id}" + (f": {note}" if note else ""),
          data={"survivor": merge.survivor_id, "absorbed": merge.absorbed_id, "records": merge.records,
                "note": note})
    return merge


# ---------------------------------------------------------------- exports


def clusters_frame(region: str = "") -> pl.DataFrame:
    """One row per accepted source record of the region: source_batch, record_id (the list's
    own key, or its row number), person_id (the surviving person) and, for people waiting in
    the review queue, proposed_person_id and match_probability."""
    where, params = _region_sql(region, "p.village_id")
    with connection.cursor() as c:
        c.execute(
            "SELECT sr.batch_id, COALESCE(sr.record_id, CAST(sr.row AS varchar(20))), "
            "COALESCE(p.merged_into_id, p.id) FROM registry_sourcerecord sr "
            "JOIN registry_person p ON p.id = sr.person_id "
            f"WHERE sr.status = 'accepted'{where} ORDER BY sr.batch_id, sr.row", params)
        recs = pl.DataFrame(c.fetchall(), schema={"source_batch": pl.Int64, "record_id": pl.Utf8,
                                                  "person_id": pl.Int64}, orient="row")
        c.execute("SELECT person_a_id, person_b_id, match_probability FROM dedup_pair "
                  "WHERE status = %s AND kind IN (%s, %s)", [PairStatus.PENDING, PairKind.MATCH, PairKind.NIK_TYPO])
        pending = pl.DataFrame(c.fetchall(), schema={"id_l": pl.Int64, "id_r": pl.Int64,
                                                     "match_probability": pl.Float64}, orient="row")
    if pending.is_empty():
        return recs.with_columns(pl.lit(None, pl.Int64).alias("proposed_person_id"),
                                 pl.lit(None, pl.Float64).alias("match_probability"))
    ids = pl.concat([pending["id_l"], pending["id_r"]]).unique()
    comp = engine.clusters(ids, pending, 0.0)
    prob = pl.concat([pending.select(pl.col("id_l").alias("id"), "match_probability"),
                      pending.select(pl.col("id_r").alias("id"), "match_probability")]).group_by("id").max()
    proposed = (comp.join(prob, on="id").filter(pl.col("cluster") != pl.col("id"))
                .select(pl.col("id").alias("person_id"), pl.col("cluster").alias("proposed_person_id"),
                        "match_probability"))
    return recs.join(proposed, on="person_id", how="left", maintain_order="left")


def export_clusters(path: Path, region: str = "") -> int:
    frame = clusters_frame(region)
    write_csv(frame.with_columns(pl.col("match_probability").round(6)), path)
    return frame.height

def fail_interrupted() -> int:
    """Marks failed every run still "running" whose process is gone (killed, or the server
    restarted): its transaction rolled back, so nothing of it is in the registry."""
    from kelambu.jobs.runs import fail_dead_runs

    return fail_dead_runs(MatchRun.objects.all(), running=RunStatus.RUNNING, failed=RunStatus.FAILED,
                          message=INTERRUPTED_MESSAGE, action="dedup.interrupted", label="Deduplication run")


INTERRUPTED_MESSAGE = ("Proses berhenti karena prosesnya berakhir (server dimulai ulang atau dihentikan); tidak ada "
                       "yang berubah, jalankan lagi.\nThe run stopped because its process ended (the server restarted "
                       "or was stopped); nothing changed, run it again.")
