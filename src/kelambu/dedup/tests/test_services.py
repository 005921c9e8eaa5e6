"""Deduplication services against the database: runs, merges, undo, NIK conflicts, scope."""

import csv
from pathlib import Path

import polars as pl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kelambu.accounts import access
from kelambu.audit.models import Event
from kelambu.dedup import services
from kelambu.dedup.engine import MatchSettings
from kelambu.dedup.models import MatchRun, Merge, Pair, PairKind, PairStatus, RunStatus
from kelambu.registry.models import Person, SourceRecord
from kelambu.registry.services import ImportOptions, import_list
from kelambu.synth.generate import generate, write

pytestmark = pytest.mark.django_db(transaction=False)

# Small data: u is estimated from fewer pairs, and review keeps everything above 0.3.
FAST = MatchSettings(u_max_pairs=2e5, review_threshold=0.3)


def _import(tmp_path: Path, name: str, rows: list[dict], source="village") -> None:
    path = tmp_path / name
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    batch, _ = import_list(path, ImportOptions(source=source), "test")
    assert batch.status == "done", batch.report


@pytest.fixture
def synthetic(tmp_path):
    """A Muba list of 300 people with 20% corrupted duplicates, imported."""
    result = generate(300, seed=5, regencies=("16.06",), duplicates=0.2)
    path = tmp_path / "p3ke.csv"
    write(result, path, truth=tmp_path / "truth.csv")
    batch, _ = import_list(path, ImportOptions(source="p3ke"), "test")
    assert batch.status == "done"
    return result


def _person(nik, name, sex, dob, village="16.06.01.2001", kk=None, phone=None, row=None):
    return {"ID": row or nik or name, "NIK": nik or "", "No KK": kk or "", "Nama": name, "JK": sex,
            "Tanggal Lahir": dob, "Kode Desa": village, "No HP": phone or ""}


def test_run_merges_the_certain_and_queues_the_rest(synthetic, tmp_path):
    run = services.run_dedup("test", "", FAST)
    assert run.status == RunStatus.DONE
    assert run.records == 360 and run.people == 360
    assert run.auto_merged > 0 and run.for_review > 0
    assert set(run.report) >= {"records", "pairs_scored", "clusters", "auto_merged", "for_review"}
    merged = Person.objects.filter(merged_into__isnull=False)
    assert merged.count() == run.auto_merged
    # A merged person's records now belong to the survivor.
    assert not SourceRecord.objects.filter(person__in=merged).exists()
    assert Merge.objects.filter(automatic=True).count() == run.auto_merged
    assert Event.objects.filter(action="dedup.run", object_id=str(run.pk)).exists()

    # Scored against the truth, automatic merges are (almost) never wrong.
    out = tmp_path / "clusters.csv"
    services.export_clusters(out)
    clusters = pl.read_csv(out, schema_overrides={"record_id": pl.Utf8})
    assert clusters.columns == ["source_batch", "record_id", "person_id", "proposed_person_id", "match_probability"]
    truth = pl.read_csv(tmp_path / "truth.csv")
    from kelambu.lib.linkage_metrics import pairwise_scores

    merged_only = pairwise_scores(clusters.select("record_id", pl.col("person_id").alias("cluster")), truth)
    proposed = pairwise_scores(clusters.select(
        "record_id", pl.coalesce("proposed_person_id", "person_id").alias("cluster")), truth)
    assert merged_only["precision"] >= 0.99
    assert proposed["recall"] >= 0.95 and proposed["precision"] >= 0.9


def test_a_second_run_keeps_decisions(synthetic, personas):
    services.run_dedup("test", "", FAST)
    pair = Pair.objects.filter(status=PairStatus.PENDING, kind=PairKind.MATCH).first()
    services.decide(pair, "reject", personas["muba"], "two different people")
    second = services.run_dedup("test", "", FAST)
    pair.refresh_from_db()
    assert pair.status == PairStatus.REJECTED
    assert second.report["kept_decisions"] >= 1
    assert Pair.objects.filter(person_a=pair.person_a, person_b=pair.person_b).count() == 1
    # Pairs still open carry the newer run's score and evidence.
    still_open = Pair.objects.filter(status=PairStatus.PENDING, kind=PairKind.MATCH).first()
    assert still_open.run_id == second.pk
    assert [e["comparison"] for e in still_open.evidence] == ["nik", "name", "birth_date", "sex", "household", "phone"]
    assert all(isinstance(e["weight"], float) and e["level"] for e in still_open.evidence)


def test_accept_merges_and_unmerge_restores(tmp_path, personas):
    _import(tmp_path, "a.csv", [
        _person("1606014501900001", "Siti Aminah", "P", "05/01/1990", kk="1606011203150001"),
        _person("1606015506850002", "Rina Wati", "P", "15/06/1985"),
    ])
    _import(tmp_path, "b.csv", [
        # The same Siti, without a NIK, in another village's roster.
        _person(None, "Sity Aminah", "P", "05/01/1990", village="16.06.01.2002", row="B-1"),
    ])
    a = Person.objects.get(nik="1606014501900001")
    b = Person.objects.get(name="Sity Aminah")
    pair = Pair.objects.create(kind=PairKind.MATCH, person_a=a, person_b=b, match_probability=0.93)
    b_records = list(b.records.values_list("pk", flat=True))

    with pytest.raises(PermissionDenied):
        services.decide(pair, "accept", personas["muaraenim"])  # another regency's people
    services.decide(pair, "accept", personas["muba"], "same birth date and name")
    b.refresh_from_db()
    assert b.merged_into_id == a.pk
    assert set(a.records.values_list("pk", flat=True)) >= set(b_records)
    merge = Merge.objects.get(pair=pair)
    assert merge.records == b_records
    with pytest.raises(ValidationError):
        services.decide(pair, "accept", personas["muba"])

    # A new list naming the absorbed person's record id goes to the survivor.
    services.unmerge(merge, personas["muba"], "wrong")
    b.refresh_from_db()
    pair.refresh_from_db()
    assert b.merged_into_id is None
    assert list(b.records.values_list("pk", flat=True)) == b_records
    assert pair.status == PairStatus.PENDING
    assert Event.objects.filter(action="dedup.unmerge").exists()
    with pytest.raises(ValidationError):
        services.unmerge(merge, personas["muba"])


def test_import_after_merge_goes_to_the_survivor(tmp_path, personas):
    _import(tmp_path, "a.csv", [
        _person("1606014501900001", "Siti Aminah", "P", "05/01/1990"),
        _person("1606014501900011", "Siti Aminah", "P", "05/01/1990", row="typo"),
    ])
    a = Person.objects.get(nik="1606014501900001")
    b = Person.objects.get(nik="1606014501900011")
    pair = Pair.objects.create(kind=PairKind.NIK_TYPO, person_a=a, person_b=b, match_probability=0.99)
    services.decide(pair, "accept", personas["admin"])
    _import(tmp_path, "c.csv", [_person("1606014501900011", "Siti Aminah", "P", "05/01/1990", phone="081234567890")])
    latest = SourceRecord.objects.filter(nik="1606014501900011").order_by("-pk").first()
    assert latest.person_id == a.pk
    assert Person.objects.active().filter(name="Siti Aminah").count() == 1


def test_one_nik_for_two_people_is_flagged_and_can_be_split(tmp_path, personas):
    _import(tmp_path, "a.csv", [_person("1606011203800001", "Ahmad Fauzi", "L", "12/03/1980")])
    # The same NIK for a woman, in a list without birth dates and sexes (a row that gave a
    # birth date or sex contradicting the NIK would have been rejected at import).
    _import(tmp_path, "b.csv", [_person("1606011203800001", "Rohani", "", "")], source="p3ke")
    person = Person.objects.get(nik="1606011203800001")
    assert person.records.count() == 2
    run = services.run_dedup("test", "16.06", FAST)
    assert run.nik_conflicts == 1
    pair = Pair.objects.get(kind=PairKind.NIK_CONFLICT)
    assert pair.person_a_id == pair.person_b_id == person.pk
    services.decide(pair, "reject", personas["muba"], "two people share this NIK")
    new = Person.objects.exclude(pk=person.pk).get(name="Rohani")
    assert new.nik is None
    assert person.records.count() == 1
    person.refresh_from_db()
    assert person.name == "Ahmad Fauzi"
    services.decide(pair, "reopen", personas["muba"])
    assert person.records.count() == 2
    assert not Person.objects.active().exclude(pk=person.pk).exists()
    # Found again, not duplicated.
    services.run_dedup("test", "16.06", FAST)
    assert Pair.objects.filter(kind=PairKind.NIK_CONFLICT).count() == 1


def test_scope(personas):
    assert access.dedup_run_region(personas["muba"], None) == "16.06"
    assert access.dedup_run_region(personas["muba"], "16.06.01") == "16.06.01"
    with pytest.raises(PermissionDenied):
        access.dedup_run_region(personas["muba"], "16.03")
    for who in (personas["csr"], personas["public"], personas["village"], personas["bpjs"]):
        with pytest.raises(PermissionDenied):
            access.dedup_run_region(who, None)
    assert access.dedup_run_region(personas["admin"], "") == ""


def test_decisions_are_validated(tmp_path, personas):
    _import(tmp_path, "a.csv", [_person("1606014501900001", "Siti Aminah", "P", "05/01/1990"),
                                _person("1606014501900011", "Siti Aminah", "P", "05/01/1990", row="x")])
    a, b = Person.objects.order_by("pk")
    pair = Pair.objects.create(kind=PairKind.MATCH, person_a=a, person_b=b, match_probability=0.8)
    with pytest.raises(ValidationError):
        services.decide(pair, "maybe", personas["muba"])
    with pytest.raises(PermissionDenied):
        services.decide(pair, "accept", personas["csr"])
    services.decide(pair, "defer", personas["village"])
    pair.refresh_from_db()
    assert pair.status == PairStatus.DEFERRED
    with pytest.raises(ValidationError):
        services.decide(pair, "defer", personas["muba"])
    services.decide(pair, "reopen", personas["muba"])
    pair.refresh_from_db()
    assert pair.status == PairStatus.PENDING


def test_a_failed_run_is_recorded_and_changes_nothing(synthetic, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_nik_conflicts", boom)
    with pytest.raises(RuntimeError):
        services.run_dedup("test", "", FAST)
    run = MatchRun.objects.get()
    assert run.status == RunStatus.FAILED and "disk full" in run.error_message
    assert not Pair.objects.exists() and not Merge.objects.exists()
    assert not Person.objects.filter(merged_into__isnull=False).exists()


def test_a_merged_nik_typo_is_not_a_nik_conflict(tmp_path, personas):
    _import(tmp_path, "a.csv", [_person("1606011203800001", "Herman", "L", "12/03/1980"),
                                _person("1606011203800002", "Harman", "L", "12/03/1980", row="b")])
    a, b = Person.objects.order_by("pk")
    pair = Pair.objects.create(kind=PairKind.NIK_TYPO, person_a=a, person_b=b, match_probability=0.99)
    services.decide(pair, "accept", personas["admin"])
    run = services.run_dedup("test", "16.06", FAST)
    assert run.nik_conflicts == 0
