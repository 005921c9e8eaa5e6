"""The import from file to registry: staging, promotion, idempotence, history, dry runs,
refusals that store nothing, atomic failure, scope and the report."""

import json

import pytest
from django.core.management import CommandError, call_command

from kelambu.audit.models import Event
from kelambu.registry import services
from kelambu.registry.exports import rejected_rows
from kelambu.registry.models import BatchStatus, Household, ImportBatch, Person, SourceRecord
from kelambu.registry.services import ImportOptions, import_list

HEADER = "ID;NIK;No KK;Nama Lengkap;Jenis Kelamin;Tanggal Lahir;Alamat;Kode Desa;Desil;Pekerjaan;No HP\n"
# Real South Sumatra codes: 16.06.01 Sekayu (Musi Banyuasin). Women have day + 40 in the NIK.
ROWS = [
    "A1;1606011503850001;1606011201100003;Muhammad Sholeh;L;15-03-1985;Dusun II RT 003;16.06.01.2001;1;Petani Karet;081234567890",
    "A2;1606015708900002;1606011201100003;Siti Aminah;P;17-08-1990;Dusun II RT 003;16.06.01.2001;2;Pedagang;",
    "A3;1606011503850001;;Moh Soleh;L;15-03-1985;Dusun I;16.06.01.2001;1;Petani;",  # same NIK again
    "A4;16060115038500;;Rahmat Hidayat;L;01-01-1980;Dusun I;16.06.01.2001;1;Petani;",  # 14 digits
    "A5;;;Paijo;L;1979-12-01;Dusun III;16.06.01.2001;3;Buruh harian;",  # no NIK: warning
    "A6;1606012001750003;;=HYPERLINK(1);L;20-01-1975;Dusun I;16.06.01.2001;9;Nelayan;",  # decile 9 in P3KE
]


def write(tmp_path, name, rows, header=HEADER):
    path = tmp_path / name
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def p3ke(tmp_path):
    return write(tmp_path, "p3ke.csv", ROWS)


def test_import_stages_validates_and_promotes(db, p3ke, bulk_path):
    batch, ran = import_list(p3ke, ImportOptions(source="p3ke"), "test")
    assert ran and batch.status == BatchStatus.DONE
    assert (batch.rows, batch.accepted, batch.rejected) == (6, 3, 3)
    report = batch.report
    for key in ("rows", "accepted", "rejected", "warnings", "issues", "batch"):
        assert key in report
    assert report["issues"]["DUPLICATE_IN_FILE"] == 1
    assert report["issues"]["NIK_FORMAT"] == 1
    assert report["issues"]["DECILE_INVALID"] == 1
    assert report["issues"]["NIK_MISSING"] == 1
    assert report["warnings"] >= 1
    assert Person.objects.count() == 3
    sholeh = Person.objects.get(nik="1606011503850001")
    assert sholeh.name == "Muhammad Sholeh" and sholeh.decile == 1 and sholeh.decile_scale == "p3ke"
    assert sholeh.category == "informal" and sholeh.occupation == "petani_karet"
    assert sholeh.village_id == "16.06.01.2001"
    # Provenance: the person's row in the file.
    record = SourceRecord.objects.get(person=sholeh)
    assert (record.batch_id, record.row, record.record_id) == (batch.pk, 2, "A1")
    # Household by KK, shared by the first two rows.
    household = Household.objects.get(kk="1606011201100003")
    assert set(household.members.values_list("name", flat=True)) == {"Muhammad Sholeh", "Siti Aminah"}
    paijo = Person.objects.get(name="Paijo")
    assert paijo.nik is None
    assert Event.objects.filter(action="import.done", object_id=str(batch.pk)).exists()


def test_same_file_again_changes_nothing(db, p3ke):
    first, _ = import_list(p3ke, ImportOptions(source="p3ke"), "test")
    before = (Person.objects.count(), SourceRecord.objects.count())
    again, ran = import_list(p3ke, ImportOptions(source="p3ke"), "test")
    assert not ran and again.pk == first.pk
    assert (Person.objects.count(), SourceRecord.objects.count()) == before
    assert ImportBatch.objects.count() == 1


def test_newer_list_updates_people_and_keeps_history(db, tmp_path, p3ke, bulk_path):
    import_list(p3ke, ImportOptions(source="p3ke"), "test")
    newer = write(tmp_path, "p3ke-2.csv", [
        "A1;1606011503850001;;Muhammad Sholeh;L;15-03-1985;Dusun IV RT 001;16.06.01.2001;2;Petani Sawit;",
        "A5;;;Paijo Wiryo;L;1979-12-01;Dusun III;16.06.01.2001;3;Buruh harian;",
    ])
    batch, _ = import_list(newer, ImportOptions(source="p3ke"), "test")
    assert (batch.people_new, batch.people_updated) == (0, 2)
    sholeh = Person.objects.get(nik="1606011503850001")
    assert sholeh.address == "Dusun IV RT 001" and sholeh.decile == 2 and sholeh.occupation == "petani_sawit"
    assert sholeh.kk == "1606011201100003"  # the newer list had no KK: the known one stays
    assert sholeh.records.count() == 2  # both lists' rows kept
    # Without a NIK, the same source's record id finds the same person.
    assert Person.objects.filter(nik=None).count() == 1
    assert Person.objects.get(nik=None).name == "Paijo Wiryo"


def test_rows_are_staged_in_person_order_and_new_ids_follow_nik_order(db, tmp_path, bulk_path):
    # Staged in that order, every index on the staged rows only appends (services._assign_people).
    import_list(write(tmp_path, "first.csv", ROWS[:1]), ImportOptions(source="p3ke"), "test")
    sholeh = Person.objects.get()
    rows = [
        "B1;1606011503850004;;Budi Santoso;L;15-03-1985;Dusun I;16.06.01.2001;1;Petani;",
        "B2;1606011503850002;;Agus Salim;L;15-03-1985;Dusun I;16.06.01.2001;1;Petani;",
        "B3;1606011503850001;;Muhammad Sholeh;L;15-03-1985;Dusun I;16.06.01.2001;1;Petani;",  # known
        "B4;;;Paijo;L;1979-12-01;Dusun III;16.06.01.2001;3;Buruh harian;",  # new, no NIK
        "B5;16060115038500;;Rahmat Hidayat;L;01-01-1980;Dusun I;16.06.01.2001;1;Petani;",  # rejected
        "B6;1606011503850003;;Cahyo Nugroho;L;15-03-1985;Dusun I;16.06.01.2001;1;Petani;",
    ]
    batch, _ = import_list(write(tmp_path, "second.csv", rows), ImportOptions(source="p3ke"), "test")
    staged = list(SourceRecord.objects.filter(batch=batch).order_by("id").values_list("record_id", "person_id"))
    ids = {nik: pk for nik, pk in Person.objects.values_list("nik", "id")}
    top = sholeh.pk
    assert staged == [
        ("B3", sholeh.pk), ("B2", top + 1), ("B6", top + 2), ("B1", top + 3), ("B4", top + 4), ("B5", None),
    ]
    assert [ids[f"160601150385000{i}"] for i in (2, 3, 4)] == [top + 1, top + 2, top + 3]
    assert ids[None] == top + 4


def test_people_go_in_with_each_staged_chunk(db, tmp_path, settings, monkeypatch):
    # SQLite's image path inserts the new people from each staged chunk (services._Promotion):
    # with chunks of one and two rows, ids, households and values come out as in one piece.
    from django.db import connection

    from kelambu.registry import bulk

    if connection.vendor != "sqlite":
        pytest.skip("the database image is SQLite's bulk path")
    settings.KELAMBU_SQLITE_IMAGE_MIN_ROWS = 1
    monkeypatch.setitem(bulk.BulkRows.__init__.__kwdefaults__, "chunk_rows", 2)
    import_list(write(tmp_path, "first.csv", ROWS[:1]), ImportOptions(source="p3ke"), "test")
    sholeh = Person.objects.get()
    rows = [
        "B1;1606011503850004;1606011201100007;Budi Santoso;L;15-03-1985;Dusun I;16.06.01.2001;1;Petani;",
        "B2;1606011503850002;1606011201100003;Agus Salim;L;15-03-1985;Dusun I;16.06.01.2001;;Petani;",
        "B3;1606011503850001;1606011201100003;Muhammad Sholeh;L;15-03-1985;Dusun I;16.06.01.2001;1;Petani;",
        "B4;;1606011201100007;Paijo;L;1979-12-01;Dusun III;16.06.01.2001;3;Buruh harian;",
        "B5;16060115038500;;Rahmat Hidayat;L;01-01-1980;Dusun I;16.06.01.2001;1;Petani;",  # rejected
        "B6;1606011503850003;;Cahyo Nugroho;L;15-03-1985;Dusun I;16.06.01.2001;2;Petani;",
    ]
    batch, _ = import_list(write(tmp_path, "second.csv", rows), ImportOptions(source="p3ke"), "test")
    assert (batch.people_new, batch.people_updated) == (4, 1)
    top = sholeh.pk
    people = {p.name: p for p in Person.objects.all()}
    assert [people[n].pk for n in ("Agus Salim", "Cahyo Nugroho", "Budi Santoso", "Paijo")] == [
        top + 1, top + 2, top + 3, top + 4]
    # The known KK's household, and one new household for the new KK.
    assert people["Agus Salim"].household_id == sholeh.household_id
    assert people["Budi Santoso"].household_id == people["Paijo"].household_id != sholeh.household_id
    assert people["Cahyo Nugroho"].household_id is None
    assert (people["Agus Salim"].decile, people["Agus Salim"].decile_scale) == (None, None)
    assert (people["Paijo"].decile, people["Paijo"].decile_scale, people["Paijo"].last_batch_id) == (3, "p3ke", batch.pk)
    assert people["Paijo"].created_at == people["Budi Santoso"].updated_at
    assert Person.objects.count() == 5 and Household.objects.count() == 2


def test_dry_run_writes_no_people(db, p3ke, bulk_path):
    batch, ran = import_list(p3ke, ImportOptions(source="p3ke", dry_run=True), "test")
    assert ran and batch.dry_run and batch.status == BatchStatus.DONE
    assert batch.rejected == 3 and Person.objects.count() == 0
    assert rejected_rows(batch).height == 3  # the operator can still fix the rows first
    real, ran = import_list(p3ke, ImportOptions(source="p3ke"), "test")
    assert ran and Person.objects.count() == 3  # a dry run does not count as the import


@pytest.mark.parametrize("content,code", [
    (b"", "FILE_EMPTY"),
    (HEADER.encode(), "FILE_NO_ROWS"),
    (b"\x00\x01\x02\xff\xfe" * 200, "FILE_NOT_TEXT"),
    (b"Nama;Alamat\nSiti;Dusun I\n", "MISSING_COLUMN"),
    (b"NIK;Nama;Nama\n1606011503850001;A;B\n", "DUPLICATE_HEADER"),
])
def test_hostile_files_are_refused_and_store_nothing(db, tmp_path, content, code):
    path = tmp_path / "list.csv"
    path.write_bytes(content)
    batch, _ = import_list(path, ImportOptions(source="village"), "test")
    assert batch.status == BatchStatus.REFUSED and batch.error_code == code
    assert batch.report["refusal"]["message_id"] and batch.report["refusal"]["message_en"]
    assert SourceRecord.objects.count() == 0 and Person.objects.count() == 0
    assert Event.objects.filter(action="import.refused").count() == 1


def test_failure_during_promotion_leaves_no_partial_batch(db, p3ke, monkeypatch, bulk_path):
    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services._Promotion, "write", broken)
    with pytest.raises(RuntimeError):
        import_list(p3ke, ImportOptions(source="p3ke"), "test")
    batch = ImportBatch.objects.get()
    assert batch.status == BatchStatus.FAILED and "disk full" in batch.error_message
    assert SourceRecord.objects.count() == 0 and Person.objects.count() == 0
    monkeypatch.undo()
    # A failed batch does not block importing the same file again.
    again, ran = import_list(p3ke, ImportOptions(source="p3ke"), "test")
    assert ran and again.status == BatchStatus.DONE and Person.objects.count() == 3


def test_village_operator_adds_only_people_of_their_village(personas, tmp_path):
    path = write(tmp_path, "desa.csv", [
        "V1;1606011503850001;;Muhammad Sholeh;L;15-03-1985;Dusun II;16.06.01.2001;;;",
        "V2;1606015708900002;;Siti Aminah;P;17-08-1990;Dusun II;16.06.01.2002;;;",  # another village
        "V3;1606012001750003;;Ahmad Fauzi;L;20-01-1975;Dusun II;;;;",  # no village at all
    ])
    batch, _ = import_list(path, ImportOptions(source="village"), personas["village"])
    assert (batch.accepted, batch.rejected) == (1, 2)
    assert batch.report["issues"]["OUT_OF_SCOPE"] == 2
    assert batch.created_by == personas["village"]


def test_public_viewer_cannot_import(personas, p3ke):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        import_list(p3ke, ImportOptions(source="p3ke"), personas["public"])
    assert ImportBatch.objects.count() == 0


def test_rejected_rows_export_neutralizes_formulas(db, p3ke):
    from kelambu.lib.export import to_csv_bytes

    batch, _ = import_list(p3ke, ImportOptions(source="p3ke"), "test")
    frame = rejected_rows(batch)
    assert frame.height == 3
    assert {"Baris / Row", "NIK", "Nama Lengkap", "Alasan", "Reason"} <= set(frame.columns)
    text = to_csv_bytes(frame).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ";=HYPERLINK" not in text
    row7 = frame.filter(frame["Baris / Row"] == "7").row(0, named=True)
    assert 'Baris 7, kolom "Desil"' in row7["Alasan"] and 'Row 7, column "Desil"' in row7["Reason"]


def test_cli_import_writes_report_and_rejected_rows(db, p3ke, tmp_path):
    report = tmp_path / "report.json"
    rejected = tmp_path / "rejected.xlsx"
    call_command("import", str(p3ke), source="p3ke", report=report, rejected=rejected)
    data = json.loads(report.read_text())
    assert (data["rows"], data["accepted"], data["rejected"]) == (6, 3, 3)
    assert data["issues"]["DUPLICATE_IN_FILE"] == 1 and isinstance(data["batch"], int)

    from openpyxl import load_workbook

    sheet = load_workbook(rejected).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Baris / Row" and len(values) == 4
    assert all(isinstance(v, str) for row in values[1:] for v in row if v is not None)  # text cells only


def test_cli_refusal_is_an_error_with_the_reason(db, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError, match="FILE_EMPTY"):
        call_command("import", str(path), source="p3ke")


def test_cli_dry_run(db, p3ke, tmp_path):
    report = tmp_path / "r.json"
    call_command("import", str(p3ke), source="p3ke", dry_run=True, report=report)
    assert json.loads(report.read_text())["dry_run"] is True
    assert Person.objects.count() == 0


def test_search_by_nik_prefix_and_kk(db, p3ke):
    from kelambu.registry.queries import digit_prefix, search_people

    import_list(p3ke, ImportOptions(source="p3ke"), "test")

    def names(q):
        return sorted(search_people(Person.objects.all(), q=q).values_list("name", flat=True))

    assert names("160601150") == ["Muhammad Sholeh"]  # a NIK prefix
    assert names("16060") == ["Muhammad Sholeh", "Siti Aminah"]
    assert names("1606019") == []  # the range's upper end carries past the 9: ['1606019', '160602')
    assert names("1606015708900002") == ["Siti Aminah"]  # a whole NIK
    assert names("1606011201100003") == ["Muhammad Sholeh", "Siti Aminah"]  # a KK: the household
    assert dict(digit_prefix("nik", "1699").children) == {"nik__gte": "1699", "nik__lt": "17"}
    assert dict(digit_prefix("nik", "99").children) == {"nik__gte": "99"}  # all nines: no upper end
