"""A value longer than its database column is a row error, not a failed import: SQLite
stores any length, PostgreSQL refuses the whole transaction (varchar(n)). The rest of the
list imports, on both databases."""

import json

from kelambu.registry.exports import rejected_rows
from kelambu.registry.models import BatchStatus, Person, SourceRecord
from kelambu.registry.services import ImportOptions, import_list

HEADER = "ID;NIK;Nama Lengkap;Jenis Kelamin;Tanggal Lahir;Alamat;Kode Desa\n"
LONG_NAME = "Budi " + "Santoso" * 42 + "x"  # 300 characters
LONG_ID = "P3KE-" + "9" * 145  # 150 characters
FULL_NAME = "Siti " + "Aminah" * 41 + "abcd"  # 255 characters: the column's length, accepted
WIDE_NAME = "Dewi " + "é" * 250  # 255 characters, 505 bytes: lengths are characters


def test_too_long_values_are_row_errors_and_the_rest_imports(tmp_path, personas):
    assert (len(LONG_NAME), len(LONG_ID), len(FULL_NAME), len(WIDE_NAME)) == (300, 150, 255, 255)
    path = tmp_path / "p3ke.csv"
    path.write_text(HEADER + "\n".join([
        "A1;1606011503850001;Muhammad Sholeh;L;15-03-1985;Dusun II;16.06.01.2001",
        f"A2;1606015708900002;{LONG_NAME};P;17-08-1990;Dusun II;16.06.01.2001",
        f"{LONG_ID};1606012001750003;Ahmad Fauzi;L;20-01-1975;Dusun I;16.06.01.2001",
        f"A4;1606014501900004;{FULL_NAME};P;05-01-1990;Dusun I;16.06.01.2001",
        f"A5;1606014601900005;{WIDE_NAME};P;06-01-1990;Dusun I;16.06.01.2001",
    ]) + "\n", encoding="utf-8")
    batch, ran = import_list(path, ImportOptions(source="p3ke"), personas["admin"])
    assert ran and batch.status == BatchStatus.DONE, batch.error_message
    assert (batch.rows, batch.accepted, batch.rejected) == (5, 3, 2)
    assert batch.report["issues"]["NAME_TOO_LONG"] == 1 and batch.report["issues"]["RECORD_ID_TOO_LONG"] == 1
    assert sorted(Person.objects.values_list("name", flat=True)) == sorted(
        ["Muhammad Sholeh", FULL_NAME, WIDE_NAME])

    # The rejected rows keep their other values; the value too long is not stored, but the
    # file's own cells are, and the operator gets them back to correct.
    staged = {r.row: r for r in SourceRecord.objects.filter(batch=batch)}
    assert staged[3].status == "rejected" and staged[3].issues == "NAME_TOO_LONG"
    assert (staged[3].name, staged[3].name_norm, staged[3].nik, staged[3].record_id) == (
        None, None, "1606015708900002", "A2")
    assert json.loads(staged[3].raw)["name"] == LONG_NAME
    assert staged[4].status == "rejected" and staged[4].issues == "RECORD_ID_TOO_LONG"
    assert (staged[4].record_id, staged[4].name, staged[4].address) == (None, "Ahmad Fauzi", "Dusun I")
    assert json.loads(staged[4].raw)["record_id"] == LONG_ID
    back = rejected_rows(batch)
    assert back["Nama Lengkap"].to_list() == [LONG_NAME, "Ahmad Fauzi"]
    assert back["ID"].to_list() == ["A2", LONG_ID]
    assert 'kolom "Nama Lengkap"' in back["Alasan"][0] and 'column "ID"' in back["Reason"][1]
