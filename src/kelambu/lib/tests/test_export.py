"""Safe spreadsheet exports (lib.export): no cell and no header of a CSV or XLSX we give out
can become a formula, whichever separator the spreadsheet splits it at (`,`, or `;` under
Indonesian settings), and our own importers still read what we wrote."""

import csv
import io
import json
import re
from datetime import date

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kelambu.lib.export import neutralize, neutralize_frame, to_csv_bytes, to_xlsx_bytes

TRIGGERS = "=+-@\t\r"
# Where a spreadsheet may start a new cell inside one of ours: the two list separators, and
# line breaks and tabs (a row split, a tab-separated paste).
SPLITS = ";,\n\r\t"


def unsafe_parts(text: str) -> list[str]:
    """The pieces of `text` a spreadsheet could read as a formula: every piece that starts
    at the beginning or after a split character and, past spaces and quotes, starts with a
    trigger."""
    found = []
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch in SPLITS]
    for start in starts:
        rest = text[start:].lstrip(' "')
        if rest[:1] and rest[0] in TRIGGERS:
            found.append(text[start:])
    return found


def is_number(text: str) -> bool:
    """A plain number ("-5", "-1.5") is a number to every spreadsheet, never a formula: the
    number columns of a frame are written as they are."""
    return re.fullmatch(r"-?[0-9]+(?:\.[0-9]+)?", text.strip(' "')) is not None


def csv_cells(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads the UTF-8 right
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def xlsx_cells(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data)).active
    return [[c.value for c in row] for row in sheet.iter_rows()]


def assert_safe_csv(data: bytes) -> None:
    """Every cell and header, and the raw text split at `;` and at `,` as a spreadsheet
    under the other separator would split it: nothing starts with a trigger."""
    for row in csv_cells(data):
        for cell in row:
            assert is_number(cell) or not unsafe_parts(cell), (cell, row)
    text = data[3:].decode("utf-8")
    for line in re.split(r"[\r\n]", text):
        for sep in ";,":
            for part in line.split(sep):
                rest = part.lstrip(' "')
                assert is_number(part) or not (rest[:1] and rest[0] in TRIGGERS), (part, line)


def assert_safe_xlsx(data: bytes) -> None:
    for row in xlsx_cells(data):
        for cell in row:
            assert cell is None or isinstance(cell, str)
            if cell is not None:
                assert is_number(cell) or not unsafe_parts(cell), (cell, row)


# --- the neutraliser ----------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"),
    ("+6281234567890", "'+6281234567890"),
    ("-5", "'-5"),  # data, but text: the apostrophe keeps it so (Excel shows -5, as text)
    ("-", "'-"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("\t=1+1", "'\t'=1+1"),  # a leading tab, and the formula behind it if the tab is dropped
    ("\r=1+1", "'\r'=1+1"),
    ("Budi;=1+1", "Budi;'=1+1"),  # Indonesian Excel splits at ;
    ("Budi,=1+1", "Budi,'=1+1"),
    ("Budi; =1+1", "Budi; '=1+1"),
    ("Budi,  +1", "Budi,  '+1"),
    ('Budi;"=1+1"', "Budi;\"'=1+1\""),
    ("Budi;@SUM(1)", "Budi;'@SUM(1)"),
    ("Budi;-x;+y", "Budi;'-x;'+y"),
    ("a;\t=1", "a;'\t'=1"),
    ("a\t\t=1", "a\t'\t'=1"),
    ("Dusun II\n=1+1", "Dusun II\n'=1+1"),
    ("Dusun II\r\n-RT 3", "Dusun II\r\n'-RT 3"),
    (" =1+1", " '=1+1"),
    # Left alone: nothing a spreadsheet could start a formula with.
    ("Siti Aminah", "Siti Aminah"),
    ("Jl. Merdeka No. 5, RT 003", "Jl. Merdeka No. 5, RT 003"),
    ("JKK+JKM+JHT", "JKK+JKM+JHT"),
    ("15-03-1985", "15-03-1985"),
    ("'=1+1", "'=1+1"),  # already neutral
    ("Ñurhayati;Ñ=1", "Ñurhayati;Ñ=1"),
    ("＝1+1", "＝1+1"),  # a full-width sign is not a formula
    ("Dewi 😀;-x", "Dewi 😀;'-x"),
    ("", ""),
])
def test_neutralize(value, expected):
    assert neutralize(value) == expected
    frame = pl.DataFrame({"c": [value]})
    assert neutralize_frame(frame)["c"].to_list() == [expected]


def test_neutralize_leaves_none_and_non_text():
    assert neutralize(None) is None
    assert neutralize(-5) == -5


_TEXT = st.text(alphabet=st.sampled_from(list("ab '\"=+-@;,\t\r\n1é")), max_size=12)


@given(_TEXT)
def test_neutralized_text_has_no_formula_anywhere(value):
    out = neutralize(value)
    assert not unsafe_parts(out)
    assert out.replace("'", "") == value.replace("'", "")  # only apostrophes added
    assert neutralize(out) == out  # once is enough
    assert neutralize_frame(pl.DataFrame({"c": [value]}))["c"][0] == out  # Polars agrees


# --- CSV and XLSX ---------------------------------------------------------------------------

HOSTILE = pl.DataFrame({
    '=HYPERLINK("http://x","y")': ["Budi;=1+1", "Budi,=1+1", "Budi; =1+1", None],
    "Nama;=1+1": ["\t=1", "\r=1", "@SUM(A1:A2)", "Siti Ñurhayati"],
    "+Alamat": ["+62812", "-5", "Dusun II, RT 003", "=cmd|' /C calc'!A0"],
    "Jumlah": [-5, 3, None, 0],
    "Peluang": [-1.5, 0.25, None, 1.0],
    "Tanggal": [date(2026, 1, 1), None, date(1985, 3, 15), date(2000, 2, 29)],
    "Aktif": [True, False, None, True],
})


def test_csv_neutralizes_every_cell_and_header():
    data = to_csv_bytes(HOSTILE)
    assert_safe_csv(data)
    rows = csv_cells(data)
    assert rows[0][:3] == ['\'=HYPERLINK("http://x","y")', "Nama;'=1+1", "'+Alamat"]
    assert rows[1][:3] == ["Budi;'=1+1", "'\t'=1", "'+62812"]
    assert rows[4][:3] == ["", "Siti Ñurhayati", "'=cmd|' /C calc'!A0"]
    # Every text field is quoted, so no separator inside a cell splits it where the separator
    # is ","; numbers are numbers: -5 in a number column cannot be a formula, it is left bare.
    assert data[3:].decode().splitlines()[1].startswith('"Budi;\'=1+1","\'\t\'=1","\'+62812",-5,-1.5,"2026-01-01"')


def test_csv_of_non_text_columns_is_plain():
    data = to_csv_bytes(pl.DataFrame({"n": [-5, None], "x": [-0.5, None], "d": [date(2026, 3, 1), None]}))
    assert csv_cells(data) == [["n", "x", "d"], ["-5", "-0.5", "2026-03-01"], ["", "", ""]]


def test_csv_empty_cells_read_back_as_null():
    # Quoting an empty cell would make it an empty text on reading: a missing proposal in a
    # clusters export must stay missing.
    frame = pl.DataFrame({"id": ["a", "b"], "proposed": [None, 7], "note": [None, "x"]})
    back = pl.read_csv(io.BytesIO(to_csv_bytes(frame)))
    assert back["proposed"].to_list() == [None, 7] and back["note"].to_list() == [None, "x"]


def test_csv_of_an_empty_frame_keeps_the_header():
    data = to_csv_bytes(pl.DataFrame(schema={"=a": pl.Utf8, "b": pl.Int64}))
    assert csv_cells(data) == [["'=a", "b"]]


def test_csv_headers_that_neutralize_alike_stay_apart():
    data = to_csv_bytes(pl.DataFrame({"=a": ["x"], "'=a": ["y"]}))
    assert csv_cells(data) == [["'=a", "'=a"], ["x", "y"]]


def test_xlsx_neutralizes_every_cell_and_header():
    data = to_xlsx_bytes(HOSTILE, "Ditolak")
    assert_safe_xlsx(data)
    rows = xlsx_cells(data)
    assert rows[0][:3] == ['\'=HYPERLINK("http://x","y")', "Nama;'=1+1", "'+Alamat"]
    assert rows[1] == ["Budi;'=1+1", "'\t'=1", "'+62812", "-5", "-1.5", "2026-01-01", "true"]
    assert rows[4][0] is None  # null stays an empty cell


def test_write_csv_is_the_same_bytes(tmp_path):
    from kelambu.lib.export import write_csv

    path = tmp_path / "out.csv"
    write_csv(HOSTILE, path)
    assert path.read_bytes() == to_csv_bytes(HOSTILE)


def test_categorical_text_is_neutralized():
    frame = pl.DataFrame({"c": ["=1", "a"]}, schema={"c": pl.Categorical})
    assert csv_cells(to_csv_bytes(frame))[1:] == [["'=1"], ["a"]]


# --- end to end: a hostile list, its rejected rows, read back ------------------------------

HEADER_FORMULA = '=HYPERLINK("http://x","y")'
HOSTILE_LIST = (
    'NIK;"=HYPERLINK(""http://x"",""y"")";Jenis Kelamin;Tanggal Lahir;Alamat;Kode Desa;No HP\n'
    "1606011503850001;Muhammad Sholeh;L;15-03-1985;Dusun II;16.06.01.2001;081234567890\n"
    '123;"Budi;=1+1";L;01-01-1980;"Dusun I, =1+1";16.06.01.2001;+6281234567890\n'
    "456;@SUM(A1:A2);L;01-01-1980;-Dusun I;16.06.01.2001;\n"
)


@pytest.fixture
def hostile_batch(personas, client):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from kelambu.registry.models import ImportBatch

    client.force_login(personas["muba"])
    response = client.post(reverse("import_new"), {
        "file": SimpleUploadedFile("hostile.csv", HOSTILE_LIST.encode(), content_type="text/csv"),
        "mapping": SimpleUploadedFile("mapping.json", json.dumps({"name": HEADER_FORMULA}).encode(),
                                      content_type="application/json"),
        "source": "p3ke",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.accepted, batch.rejected) == ("done", 1, 2)
    return batch


def test_rejected_rows_of_a_hostile_list_are_safe(hostile_batch, client):
    from django.urls import reverse

    response = client.get(reverse("batch_rejected", args=[hostile_batch.pk, "csv"]))
    assert response.status_code == 200
    data = response.content
    assert_safe_csv(data)
    rows = csv_cells(data)
    assert rows[0][:3] == ["Baris / Row", "NIK", "'" + HEADER_FORMULA]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert (first["'" + HEADER_FORMULA], first["Alamat"], first["No HP"]) == (
        "Budi;'=1+1", "Dusun I, '=1+1", "'+6281234567890")
    assert "'@SUM(A1:A2)" in rows[2] and "'-Dusun I" in rows[2]
    xlsx = client.get(reverse("batch_rejected", args=[hostile_batch.pk, "xlsx"]))
    assert_safe_xlsx(xlsx.content)
    assert xlsx_cells(xlsx.content)[0][2] == "'" + HEADER_FORMULA


def test_rejected_rows_can_be_corrected_and_imported_again(db, tmp_path):
    """The operator's round trip: download the rejected rows, fix the NIK, upload the file as
    it is. Our reader takes our quoted, BOM-prefixed CSV; the phone keeps its digits."""
    from kelambu.registry.exports import rejected_rows
    from kelambu.registry.models import Person
    from kelambu.registry.services import ImportOptions, import_list

    listed = tmp_path / "list.csv"
    listed.write_text("NIK;Nama;Jenis Kelamin;Tanggal Lahir;Kode Desa;No HP\n"
                      "123;Budi Santoso;L;01-01-1980;16.06.01.2001;+6281234567890\n", encoding="utf-8")
    batch, _ = import_list(listed, ImportOptions(source="p3ke"), "test")
    assert batch.rejected == 1
    data = to_csv_bytes(rejected_rows(batch))
    header, row = csv_cells(data)
    cells = dict(zip(header, row, strict=True))
    assert (cells["NIK"], cells["Nama"], cells["No HP"]) == ("123", "Budi Santoso", "'+6281234567890")
    fixed = tmp_path / "fixed.csv"
    fixed.write_bytes(data.replace(b'"123"', b'"1606010101800001"'))
    again, _ = import_list(fixed, ImportOptions(source="p3ke"), "test")
    assert (again.accepted, again.rejected) == (1, 0)
    person = Person.objects.get()
    assert (person.nik, person.name, person.phone) == ("1606010101800001", "Budi Santoso", "081234567890")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_branch_answer_reader_reads_our_exchange_file(tmp_path, fmt):
    """The BPJS branch may answer in the file we sent it, with Status and KPJ filled in:
    `enrollment._read` takes our quoted, BOM-prefixed CSV and our XLSX alike."""
    from kelambu.programs.enrollment import EXPORT_COLUMNS, _read

    frame = pl.DataFrame([["12", "1606011503850001", "=1+1;@x", "01-01-1980", "Dusun I, -RT 3", "Petani", "1000000",
                           "JKK+JKM", "10-2026", "+PT Alpha"]], schema=list(EXPORT_COLUMNS), orient="row")
    frame = frame.with_columns(Status=pl.lit("Terdaftar"), KPJ=pl.lit("22345678901"))
    path = tmp_path / f"jawaban.{fmt}"
    path.write_bytes(to_csv_bytes(frame) if fmt == "csv" else to_xlsx_bytes(frame, "Pendaftaran"))
    back = _read(path)
    assert back.columns == [c.lower() for c in frame.columns]
    row = back.row(0, named=True)
    assert (row["id kelambu"], row["status"], row["kpj"], row["nik"]) == ("12", "Terdaftar", "22345678901",
                                                                        "1606011503850001")
    assert (row["nama"], row["alamat"], row["penyandang dana"]) == ("'=1+1;'@x", "Dusun I, '-RT 3", "'+PT Alpha")
