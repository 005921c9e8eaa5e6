"""reader.py without a database: every format, encoding and delimiter a list arrives in,
header matching and mappings, values kept as text, and every refusal with a real hostile file."""

import datetime
import json
import pickle
import random
import time
import zipfile

import openpyxl
import polars as pl
import pytest
import python_calamine
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kelambu.lib.issues import FILE, ISSUES
from kelambu.registry import reader
from kelambu.registry.reader import ImportRefused, ReaderLimits, ReadResult, load_mapping, read_list

NIK = "1606011503850001"


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def refused(path, **kwargs) -> ImportRefused:
    with pytest.raises(ImportRefused) as caught:
        read_list(path, **kwargs)
    refusal = caught.value
    assert ISSUES[refusal.code].severity == FILE
    assert refusal.message_id and refusal.message_en and str(refusal) == refusal.message_en
    return refusal


def xlsx(tmp_path, name, sheets, formats=None):
    """sheets: {sheet name: [[cell, ...], ...]}; a cell is a value or ("num"|"str"|"date", value)."""
    path = tmp_path / name
    book = xlsxwriter.Workbook(str(path))
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    for sheet_name, rows in sheets.items():
        sheet = book.add_worksheet(sheet_name)
        for i, row in enumerate(rows):
            for j, cell in enumerate(row):
                kind, value = cell if isinstance(cell, tuple) else ("auto", cell)
                if value is None:
                    continue
                if kind == "num":
                    sheet.write_number(i, j, value)
                elif kind == "date":
                    sheet.write_datetime(i, j, value, date_format)
                elif kind == "bool":
                    sheet.write_boolean(i, j, value)
                else:
                    sheet.write_string(i, j, str(value))
    book.close()
    return path


# --- CSV: delimiters, encodings, quoting ---------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_delimiters_are_sniffed_from_the_header(tmp_path, delimiter):
    rows = [["NIK", "Nama", "Alamat"], [NIK, "Siti Aminah", "Dusun II, RT 003; Sekayu"]]
    text = "\n".join(delimiter.join(f'"{c}"' if delimiter in c or "," in c or ";" in c else c for c in r)
                     for r in rows) + "\n"
    result = read_list(write(tmp_path, "list.csv", text))
    assert isinstance(result, ReadResult)
    assert (result.format, result.delimiter, result.encoding, result.sheet) == ("csv", delimiter, "utf-8", None)
    assert result.frame.columns == ["nik", "name", "address", "_row", "_nik_numeric"]
    assert result.frame.rows() == [(NIK, "Siti Aminah", "Dusun II, RT 003; Sekayu", 2, False)]
    assert result.headers == {"nik": "NIK", "name": "Nama", "address": "Alamat"}


def test_csv_utf8_with_and_without_bom(tmp_path):
    text = "NIK;Nama\n1606011503850001;Siti Nur’aini\n"
    plain = read_list(write(tmp_path, "a.csv", text.encode("utf-8")))
    bom = read_list(write(tmp_path, "b.csv", b"\xef\xbb\xbf" + text.encode("utf-8")))
    assert plain.encoding == "utf-8" and bom.encoding == "utf-8-sig"
    assert plain.frame.rows() == bom.frame.rows() == [(NIK, "Siti Nur’aini", 2, False)]
    assert bom.headers["nik"] == "NIK"  # no BOM left in the header


def test_csv_windows_1252(tmp_path):
    content = "NIK,Nama,Pekerjaan\n1606011503850001,José,Petani café\n".encode("cp1252")
    assert b"caf\xe9" in content
    result = read_list(write(tmp_path, "excel.csv", content))
    assert result.encoding == "cp1252"
    assert result.frame.rows() == [(NIK, "José", "Petani café", 2, False)]


def test_csv_utf16_tab_separated(tmp_path):
    # Excel's "Unicode Text": UTF-16 LE with a BOM, tab-separated.
    content = "NIK\tNama\tAlamat\r\n1606011503850001\tÄni\tJl. Merdeka\r\n".encode("utf-16")
    result = read_list(write(tmp_path, "unicode.txt", content))
    assert (result.encoding, result.delimiter) == ("utf-16", "\t")
    assert result.frame.rows() == [(NIK, "Äni", "Jl. Merdeka", 2, False)]


def test_csv_quoted_fields_with_newlines_and_delimiters_keep_row_numbers(tmp_path):
    text = ('NIK,Nama,Alamat\n'
            '1606011503850001,"Sholeh, Muhammad","Dusun II\nRT 003, ""Blok A"""\n'
            '1606015708900002,Siti,Dusun I\n')
    result = read_list(write(tmp_path, "quoted.csv", text))
    assert result.frame.select("nik", "name", "address", "_row").rows() == [
        (NIK, "Sholeh, Muhammad", 'Dusun II\nRT 003, "Blok A"', 2),
        ("1606015708900002", "Siti", "Dusun I", 3),  # a record number, not a line number
    ]


def test_values_are_text_exactly(tmp_path):
    text = ('NIK,Nama,No HP,Desil\n'
            '0012345678901234,=HYPERLINK("http://x";"klik"),081234567890,01\n'
            '1606011503850001,=cmd()|/C calc,+6281234,1.50\n')
    frame = read_list(write(tmp_path, "values.csv", text)).frame
    assert frame.rows() == [
        ("0012345678901234", '=HYPERLINK("http://x";"klik")', "01", "081234567890", 2, False),
        (NIK, "=cmd()|/C calc", "1.50", "+6281234", 3, False),
    ]
    assert frame.schema == pl.Schema({"nik": pl.String, "name": pl.String, "decile": pl.String,
                                      "phone": pl.String, "_row": pl.Int64, "_nik_numeric": pl.Boolean})


def test_blank_rows_are_dropped_and_row_numbers_kept(tmp_path):
    text = ("NIK;Nama;Catatan\n"
            " 1606011503850001 ;  Siti  ;x\n"
            "\n"
            ";  ;\n"  # every kept cell empty: dropped
            ";;only an ignored column\n"  # kept cells empty: dropped too
            "1606015708900002;Ani\n"  # fewer cells than headers is fine
            ";Paijo;\n"
            "\n\n")
    result = read_list(write(tmp_path, "blank.csv", text))
    assert result.frame.rows() == [(NIK, "Siti", 2, False), ("1606015708900002", "Ani", 6, False), (None, "Paijo", 7, False)]
    assert result.ignored == ["Catatan"]


def test_excel_sep_line_sets_the_delimiter(tmp_path):
    result = read_list(write(tmp_path, "sep.csv", "sep=;\nNIK;Nama\n1606011503850001;Siti, Aminah\n"))
    assert result.delimiter == ";"
    assert result.frame.select("nik", "name", "_row").rows() == [(NIK, "Siti, Aminah", 2)]


def test_stray_quote_inside_a_field_is_read_as_text(tmp_path):
    # Polars refuses this; the Python fallback reads it as any spreadsheet would.
    result = read_list(write(tmp_path, "stray.csv", 'NIK,Nama,Alamat\n1606011503850001,Siti,Jl. Mawar 5"A"\n'))
    assert result.frame.select("address").item() == 'Jl. Mawar 5"A"'


# --- headers and mappings ------------------------------------------------------------------


def test_header_aliases_case_and_spacing(tmp_path):
    header = "ID,Nomor Induk Kependudukan,NO. KK,nama lengkap, Tgl Lahir ,JK,Kode Desa,DESIL,Warna Favorit,\n"
    row = "A1,1606011503850001,1606011201100003,Siti,15-03-1985,P,16.06.01.2001,1,biru,\n"
    result = read_list(write(tmp_path, "aliases.csv", header + row))
    assert result.headers == {
        "record_id": "ID", "nik": "Nomor Induk Kependudukan", "kk": "NO. KK", "name": "nama lengkap",
        "sex": "JK", "birth_date": "Tgl Lahir", "village_code": "Kode Desa", "decile": "DESIL",
    }
    assert result.ignored == ["Warna Favorit"]  # the trailing empty header is neither kept nor listed
    assert result.frame.columns == ["record_id", "nik", "kk", "name", "sex", "birth_date", "village_code",
                                    "decile", "_row", "_nik_numeric", "_kk_numeric"]
    assert result.frame.row(0) == ("A1", NIK, "1606011201100003", "Siti", "P", "15-03-1985", "16.06.01.2001",
                                   "1", 2, False, False)


def test_mapping_from_json_and_csv(tmp_path):
    source = write(tmp_path, "list.csv", "Nomor Induk,Nama,Nama Panggilan,Tempat Tinggal\n1606011503850001,Siti Aminah,Siti,Dusun II\n")
    as_json = write(tmp_path, "map.json", json.dumps({"nik": "nomor induk", "name": "Nama Panggilan", "address": "Tempat Tinggal"}))
    as_csv = write(tmp_path, "map.csv", "field,header\nnik,Nomor Induk\nname,Nama Panggilan\naddress,Tempat Tinggal\n")
    as_csv_plain = write(tmp_path, "map2.csv", "nik;Nomor Induk\r\nname;Nama Panggilan\r\naddress;Tempat Tinggal\r\n")
    assert load_mapping(as_csv) == load_mapping(as_csv_plain) == {
        "nik": "Nomor Induk", "name": "Nama Panggilan", "address": "Tempat Tinggal"}
    for mapping_file in (as_json, as_csv):
        result = read_list(source, mapping=load_mapping(mapping_file))
        # The mapping chooses "Nama Panggilan" for name; "Nama" (an alias) is then left alone.
        assert result.frame.select("nik", "name", "address").rows() == [(NIK, "Siti", "Dusun II")]
        assert result.headers["name"] == "Nama Panggilan" and result.ignored == ["Nama"]


@pytest.mark.parametrize("name,content,expected", [
    ("bad.json", '{"nik": "NIK",, }', "line 1"),
    ("unknown.json", '{"nomor": "NIK"}', '"nomor" is not a Kelambu field'),
    ("list.json", '["nik", "NIK"]', "must be an object"),
    ("dupe.json", '{"nik": "A", "nik": "B"}', "given twice"),
    ("empty.json", "{}", "names no field"),
    ("three.csv", "nik,NIK,extra\n", "line 1 must have two cells"),
    ("unknown.csv", "nik,NIK\nnama_ibu,Nama Ibu\n", '"nama_ibu" is not a Kelambu field'),
    ("twice.csv", "nik,NIK\nkk,nik\n", "mapped to two fields"),
])
def test_bad_mapping_files_are_refused(tmp_path, name, content, expected):
    with pytest.raises(ImportRefused) as caught:
        load_mapping(write(tmp_path, name, content))
    assert caught.value.code == "MAPPING_INVALID"
    assert expected in caught.value.message_en and caught.value.message_id


def test_mapping_dict_with_unknown_field_is_refused(tmp_path):
    path = write(tmp_path, "a.csv", f"NIK,Nama\n{NIK},Siti\n")
    assert refused(path, mapping={"ktp": "NIK"}).code == "MAPPING_INVALID"


def test_mapped_header_absent_from_the_file(tmp_path):
    path = write(tmp_path, "a.csv", f"NIK,Nama\n{NIK},Siti\n")
    refusal = refused(path, mapping={"name": "Nama Ibu Kandung"})
    assert refusal.code == "MISSING_COLUMN"
    assert '"Nama Ibu Kandung"' in refusal.message_en and '"Nama Ibu Kandung"' in refusal.message_id
    assert '"NIK", "Nama"' in refusal.message_en


# --- XLSX / XLS ----------------------------------------------------------------------------


def test_xlsx_cells_as_text_and_numeric_nik_flagged(tmp_path):
    path = xlsx(tmp_path, "list.xlsx", {"Data": [
        ["NIK", "Nama", " Tgl Lahir ", "NO. KK", "Desil", "Aktif"],
        ["0012345678901234", " Siti ", ("date", datetime.datetime(1990, 1, 2)), ("num", 1606011201100003), ("num", 3), ("bool", True)],
        [],
        [("num", 1606011503850001), "=HYPERLINK(\"x\")", None, None, ("num", 3.5), ("bool", False)],
        ["1.60601E+15", "Ani", "15-03-1985", "1606011201100003", ("num", 0.00001)],
    ]})
    result = read_list(path)
    assert (result.format, result.sheet, result.encoding, result.delimiter) == ("xlsx", "Data", None, None)
    assert result.headers == {"nik": "NIK", "kk": "NO. KK", "name": "Nama", "birth_date": "Tgl Lahir", "decile": "Desil"}
    assert result.ignored == ["Aktif"]
    assert result.frame.columns == ["nik", "kk", "name", "birth_date", "decile", "_row", "_nik_numeric", "_kk_numeric"]
    assert result.frame.rows() == [
        ("0012345678901234", "1606011201100003", "Siti", "1990-01-02", "3", 2, False, True),
        # A NIK in a number cell: its text is the number's exact digits, and the flag tells
        # validation that Excel may already have cut its 16th digit.
        (NIK, None, '=HYPERLINK("x")', None, "3.5", 4, True, False),
        # Scientific-looking text stays text (and is not a number cell).
        ("1.60601E+15", "1606011201100003", "Ani", "15-03-1985", "0.00001", 5, False, False),
    ]


def test_xlsx_arrow_grid_reads_every_cell_as_calamine_cells_do(tmp_path):
    # XLSX goes through fastexcel (Arrow), XLS through python-calamine's Python cells; both
    # must give the same text and the same "was a number" flag for every kind of cell.
    path = tmp_path / "kinds.xlsx"
    book = xlsxwriter.Workbook(str(path))
    date, time_of_day = book.add_format({"num_format": "dd/mm/yyyy"}), book.add_format({"num_format": "hh:mm"})
    sheet = book.add_worksheet("Data")
    sheet.write_row(2, 1, ["NIK", "Nama", "Tgl Lahir", "Desil"])  # starts at B3: empty rows and column before
    sheet.write_number(3, 1, 1606011503850001)
    sheet.write_string(3, 2, "TRUE")
    sheet.write_datetime(3, 3, datetime.datetime(1990, 1, 2), date)
    sheet.write_number(3, 4, 0.1 + 0.2)
    sheet.write_boolean(4, 1, True)
    sheet.write_number(4, 2, 1e20)
    sheet.write_datetime(4, 3, datetime.datetime(1990, 1, 2, 13, 30), date)
    sheet.write_number(4, 4, -5)
    sheet.write_string(5, 1, "true")
    sheet.write_formula(5, 2, "=1/0", None, "#DIV/0!")
    sheet.write_datetime(5, 3, datetime.datetime(1899, 12, 31, 13, 30), time_of_day)
    sheet.write_number(5, 4, 1e-7)
    sheet.write_string(6, 1, "1990-01-02 13:30:00")
    sheet.write_string(6, 2, "  Ani  ")
    sheet.write_number(6, 4, 0)
    book.close()
    cells = reader._CellGrid(python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Data")
                             .to_python(skip_empty_area=False))
    arrow = reader._ArrowGrid.read(path, "Data")
    assert (arrow.height, arrow.first_filled_row()) == (cells.height, cells.first_filled_row()) == (7, 2)
    assert arrow.row_text(2) == cells.row_text(2) == ["", "NIK", "Nama", "Tgl Lahir", "Desil"]
    for j in range(1, 5):  # the columns with a header, B to E
        assert arrow.column_text(j, 3).to_list()[:3] == cells.column_text(j, 3).to_list()[:3], j
        assert arrow.column_numeric(j, 3).to_list() == cells.column_numeric(j, 3).to_list(), j
    # The one difference: text written exactly as Excel shows a date and time is read as that
    # date, since a date cell's text arrives in that form.
    assert cells.column_text(1, 6).to_list() == ["1990-01-02 13:30:00"]
    assert [arrow.column_text(j, 6).to_list() for j in (2, 4)] == [["  Ani  "], ["0"]]
    assert arrow.column_text(1, 3).to_list() == ["1606011503850001", "TRUE", "true", "1990-01-02"]
    assert arrow.column_numeric(1, 3).to_list() == [True, False, False, False]
    assert arrow.column_text(3, 3).to_list() == ["1990-01-02", "1990-01-02", "13:30:00", ""]
    # Through read_list: spreadsheet row numbers and column letters count the empty ones.
    result = read_list(path)
    assert result.frame.select("nik", "_row", "_nik_numeric").rows() == [
        ("1606011503850001", 4, True), ("TRUE", 5, False), ("true", 6, False), ("1990-01-02", 7, False)]


def test_xlsx_offset_sheet_names_the_real_columns(tmp_path):
    book = xlsx(tmp_path, "offset.xlsx", {"Data": [[], [None, None, "NIK", "Nama", "Nama"], [None, None, NIK, "Ani", "Ani"]]})
    refusal = refused(book)
    assert refusal.code == "DUPLICATE_HEADER" and "(column D)" in refusal.message_en and "(column E)" in refusal.message_en


def test_xlsx_numbers_written_by_openpyxl(tmp_path):
    path = tmp_path / "openpyxl.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    sheet.append(["nik", "nama", "desil", "tanggal lahir"])
    sheet.append([1606010101900000.0, "Budi", 12.0, datetime.date(1985, 3, 15)])
    sheet.append([NIK, "Siti", 2.5, "1985-03-15"])
    book.save(path)
    result = read_list(path)
    assert result.frame.rows() == [
        ("1606010101900000", "Budi", "1985-03-15", "12", 2, True),
        (NIK, "Siti", "1985-03-15", "2.5", 3, False),
    ]


def test_xlsx_sheet_by_name_and_title_rows(tmp_path):
    path = xlsx(tmp_path, "two.xlsx", {
        "Ringkasan": [["Total", "2"]],
        "Penerima": [["DATA P3KE DESA SUKAMAJU"], [], ["Nama Lengkap", "NIK KTP"], ["Ani", NIK], [], ["Budi", "1606015708900002"]],
    })
    result = read_list(path, sheet="Penerima")
    assert result.sheet == "Penerima"
    # The header is on spreadsheet row 3 under a title; rows keep their spreadsheet numbers.
    assert result.frame.select("nik", "name", "_row").rows() == [(NIK, "Ani", 4), ("1606015708900002", "Budi", 6)]
    assert read_list(path, sheet=" penerima").sheet == "Penerima"  # case and spaces forgiven if unambiguous


def test_xlsx_wrong_sheet_lists_the_sheets(tmp_path):
    path = xlsx(tmp_path, "two.xlsx", {"Ringkasan": [["x"]], "Penerima": [["NIK", "Nama"], [NIK, "Ani"]]})
    refusal = refused(path, sheet="Data")
    assert refusal.code == "SHEET_NOT_FOUND"
    for text in (refusal.message_en, refusal.message_id):
        assert '"Data"' in text and '"Ringkasan", "Penerima"' in text


def test_xlsx_first_visible_sheet_is_the_default(tmp_path):
    path = tmp_path / "hidden.xlsx"
    book = xlsxwriter.Workbook(str(path))
    lookup = book.add_worksheet("Kode")
    lookup.write_row(0, 0, ["kode", "nama"])
    lookup.hide()
    data = book.add_worksheet("Data")
    data.activate()
    data.write_row(0, 0, ["NIK", "Nama"])
    data.write_row(1, 0, [NIK, "Ani"])
    book.close()
    assert read_list(path).sheet == "Data"


def test_xls_is_read_through_calamine(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("Penerima")
    for j, header in enumerate(["NIK", "Nama", "Tgl Lahir"]):
        sheet.write(0, j, header)
    sheet.write(1, 0, "0012345678901234")
    sheet.write(1, 1, "Budi")
    sheet.write(1, 2, datetime.date(1990, 1, 2), xlwt.easyxf(num_format_str="DD-MM-YYYY"))
    sheet.write(2, 0, 1606010101900000.0)
    sheet.write(2, 1, "Siti")
    path = tmp_path / "upload-7f3a"  # web uploads are stored under temp names
    book.save(str(path))
    result = read_list(path, claimed_name="penerima.xls")
    assert (result.format, result.sheet) == ("xls", "Penerima")
    assert result.frame.rows() == [("0012345678901234", "Budi", "1990-01-02", 2, False),
                                   ("1606010101900000", "Siti", None, 3, True)]
    assert read_list(path).format == "xls"  # no extension: detected from content
    refusal = refused(path, claimed_name="penerima.xlsx")
    assert refusal.code == "FILE_TYPE_MISMATCH" and "XLS" in refusal.message_en


def test_claimed_name_gives_the_extension(tmp_path):
    path = write(tmp_path, "upload-123.tmp", f"NIK,Nama\n{NIK},Ani\n")
    assert read_list(path, claimed_name="daftar.csv").format == "csv"
    assert refused(path, claimed_name="daftar.xlsx").code == "FILE_TYPE_MISMATCH"


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"  \r\n\t\n", b"\xef\xbb\xbf\n\n", b"\xff\xfe \x00\n\x00"])
def test_empty_file(tmp_path, content):
    assert refused(write(tmp_path, "empty.csv", content)).code == "FILE_EMPTY"


def test_empty_workbook(tmp_path):
    refusal = refused(xlsx(tmp_path, "empty.xlsx", {"Lembar1": []}))
    assert refusal.code == "FILE_EMPTY" and '"Lembar1"' in refusal.message_en


def test_header_only(tmp_path):
    refusal = refused(write(tmp_path, "header.csv", "NIK;Nama;Alamat\n\n;;\n"))
    assert refusal.code == "FILE_NO_ROWS" and "row 1" in refusal.message_en and "baris 1" in refusal.message_id
    refusal = refused(xlsx(tmp_path, "header.xlsx", {"Data": [["NIK", "Nama"]]}))
    assert refusal.code == "FILE_NO_ROWS" and '"Data"' in refusal.message_en


def test_too_large_is_refused_before_reading(tmp_path, monkeypatch):
    path = write(tmp_path, "big.csv", f"NIK,Nama\n{NIK},Ani\n" * 100)
    monkeypatch.setattr(reader.Path, "read_bytes", lambda self: pytest.fail("read the file"))
    refusal = refused(path, limits=ReaderLimits(max_bytes=1000))
    assert refusal.code == "FILE_TOO_LARGE" and "the limit is 1000 bytes" in refusal.message_en


def test_binary_garbage(tmp_path):
    garbage = random.Random(7).randbytes(20_000)
    refusal = refused(write(tmp_path, "garbage.csv", garbage))
    assert refusal.code == "FILE_NOT_TEXT" and "NUL" in refusal.message_en
    controls = bytes(random.Random(8).choice(range(1, 9)) for _ in range(5000))
    assert refused(write(tmp_path, "controls.csv", b"NIK,Nama\n" + controls)).code == "FILE_NOT_TEXT"


def test_utf16_without_bom_is_named(tmp_path):
    refusal = refused(write(tmp_path, "nobom.csv", f"NIK,Nama\n{NIK},Ani\n".encode("utf-16-le")))
    assert refusal.code == "FILE_NOT_TEXT" and "UTF-16" in refusal.message_en


@pytest.mark.parametrize("name,content,detected", [
    ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100), "a PNG image"),
    ("list.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(100), "a PDF document"),
    ("list.txt", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "an old-format Microsoft Office file"),
    ("list.xlsx", f"NIK,Nama\n{NIK},Ani\n".encode(), "plain text (like a CSV)"),
    ("list.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(100), "a PNG image"),
    ("list.xls", b"<html><body><table><tr><td>NIK</td></tr></table></body></html>", "a web page (HTML)"),
    ("list.docx", b"%PDF-1.7\n" + bytes(100), "a PDF document"),
    ("list", b"GIF89a" + bytes(100), "a GIF image"),
])
def test_content_that_does_not_match_the_name(tmp_path, name, content, detected):
    refusal = refused(write(tmp_path, name, content))
    assert refusal.code == "FILE_TYPE_MISMATCH"
    assert detected in refusal.message_en, refusal.message_en
    assert "isi berkas adalah" in refusal.message_id


def test_xlsx_renamed_csv(tmp_path):
    path = xlsx(tmp_path, "real.xlsx", {"Data": [["NIK", "Nama"], [NIK, "Ani"]]})
    refusal = refused(path, claimed_name="daftar.csv")
    assert refusal.code == "FILE_TYPE_MISMATCH" and "an Excel workbook (XLSX)" in refusal.message_en
    assert "rename it to .xlsx" in refusal.message_en
    # Named .xls (an old habit): the content decides.
    assert read_list(path, claimed_name="daftar.xls").format == "xlsx"


def test_zip_that_is_not_a_workbook_and_truncated_xlsx(tmp_path):
    archive = tmp_path / "docs.xlsx"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("daftar.csv", f"NIK,Nama\n{NIK},Ani\n")
    refusal = refused(archive)
    assert refusal.code == "XLSX_INVALID" and "a ZIP archive" in refusal.message_en
    good = xlsx(tmp_path, "good.xlsx", {"Data": [["NIK", "Nama"], [NIK, "Ani"]]})
    truncated = write(tmp_path, "cut.xlsx", good.read_bytes()[: good.stat().st_size // 2])
    assert refused(truncated).code == "XLSX_INVALID"
    # A damaged sheet inside a sound zip: calamine's error becomes XLSX_INVALID too.
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/workbook.xml":
                data = data[: len(data) // 2]
            dst.writestr(info.filename, data)
    assert refused(broken).code == "XLSX_INVALID"


def test_password_protected_workbook(tmp_path):
    # An encrypted XLSX is an OLE2 container with an EncryptedPackage stream.
    content = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000) + "EncryptedPackage".encode("utf-16-le") + bytes(100)
    refusal = refused(write(tmp_path, "secret.xlsx", content))
    assert refusal.code == "XLSX_INVALID" and "password" in refusal.message_en and "kata sandi" in refusal.message_id


def _bomb(tmp_path, padding: int):
    """A valid workbook whose sheet XML is padded with whitespace: tiny zipped, huge unzipped."""
    good = xlsx(tmp_path, "good.xlsx", {"Data": [["NIK", "Nama"], [NIK, "Ani"]]})
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * padding)
            dst.writestr(info.filename, data)
    return bomb


def test_zip_bomb_is_refused_without_expanding_it(tmp_path, monkeypatch):
    bomb = _bomb(tmp_path, 30 << 20)
    assert bomb.stat().st_size < 100_000
    # The bomb is a real workbook: with loose limits it reads.
    loose = ReaderLimits(xlsx_max_ratio=10**6)
    assert read_list(bomb, limits=loose).frame.height == 1

    def expand(*args, **kwargs):
        raise AssertionError("the archive was expanded")

    monkeypatch.setattr(zipfile.ZipFile, "open", expand)
    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", expand)
    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", expand)
    refusal = refused(bomb)  # default limits: the ratio
    assert refusal.code == "XLSX_BOMB"
    assert '"xl/worksheets/sheet1.xml"' in refusal.message_en and "limit is 200 times" in refusal.message_en
    refusal = refused(bomb, limits=ReaderLimits(xlsx_max_unpacked=10 << 20, xlsx_max_ratio=10**6))
    assert refusal.code == "XLSX_BOMB" and "10 MB" in refusal.message_en


def test_field_too_large(tmp_path):
    path = write(tmp_path, "long.csv", f"NIK;Nama;Alamat\n{NIK};Ani;Dusun I\n1606015708900002;Budi;{'x' * 100_000}\n")
    refusal = refused(path)
    assert refusal.code == "FIELD_TOO_LARGE"
    assert 'row 3, column "Alamat": 100,000 characters' in refusal.message_en
    assert 'baris 3, kolom "Alamat": 100.000 karakter' in refusal.message_id
    book = xlsx(tmp_path, "long.xlsx", {"Data": [["NIK", "Nama"], [NIK, "y" * 5000]]})
    assert 'row 2, column "Nama"' in refused(book).message_en
    # A long cell in a column that is not used does not matter.
    fine = write(tmp_path, "ignored.csv", f"NIK;Nama;Catatan\n{NIK};Ani;{'x' * 100_000}\n")
    assert read_list(fine).frame.height == 1


def test_huge_single_line_is_refused_quickly(tmp_path):
    started = time.perf_counter()
    line = write(tmp_path, "line.csv", b"NIK,Nama," + b"x" * (50 << 20))
    assert refused(line).code == "FIELD_TOO_LARGE"
    cells = write(tmp_path, "cells.csv", b"NIK,Nama\n" + b"1," * (25 << 20))
    refusal = refused(cells)
    assert refusal.code == "CSV_MALFORMED" and "line 2" in refusal.message_en
    assert time.perf_counter() - started < 8


def test_duplicate_headers(tmp_path):
    refusal = refused(write(tmp_path, "same.csv", f"NIK,Nama,nik \n{NIK},Ani,{NIK}\n"))
    assert refusal.code == "DUPLICATE_HEADER"
    assert '"NIK" (column 1)' in refusal.message_en and '"nik" (column 3)' in refusal.message_en
    refusal = refused(write(tmp_path, "alias.csv", f"NIK;Nama;Nama Lengkap\n{NIK};Ani;Ani Lestari\n"))
    assert refusal.code == "DUPLICATE_HEADER"
    assert '"Nama"' in refusal.message_en and '"Nama Lengkap"' in refusal.message_en and "name" in refusal.message_en
    book = xlsx(tmp_path, "dupe.xlsx", {"Data": [["NIK", "Nama", None, "Nama"], [NIK, "Ani", None, "Ani"]]})
    assert "(column B)" in refused(book).message_en and "(kolom D)" in refused(book).message_id
    # Empty headers (Excel's trailing columns) are not duplicates.
    assert read_list(write(tmp_path, "empty-headers.csv", f"NIK,Nama,,,\n{NIK},Ani,,,\n")).frame.height == 1


def test_ragged_and_unclosed_rows(tmp_path):
    refusal = refused(write(tmp_path, "ragged.csv", f"NIK,Nama\n{NIK},Ani\n1606015708900002,Budi,Jl. Mawar,5\n"))
    assert refusal.code == "CSV_MALFORMED" and "row 3" in refusal.message_en and "baris 3" in refusal.message_id
    refusal = refused(write(tmp_path, "ragged2.csv", f"NIK;Nama\n{NIK};Ani;;x\n"))
    assert refusal.code == "CSV_MALFORMED" and "row 2" in refusal.message_en
    refusal = refused(write(tmp_path, "quote.csv", f'NIK,Nama\n{NIK},Ani\n1606015708900002,"Budi\n'))
    assert refusal.code == "CSV_MALFORMED" and "line 3" in refusal.message_en and "never closed" in refusal.message_en
    # A trailing empty cell is not a ragged row.
    assert read_list(write(tmp_path, "trailing.csv", f"NIK,Nama\n{NIK},Ani,\n")).frame.height == 1


def test_missing_nik_column(tmp_path):
    refusal = refused(write(tmp_path, "nonik.csv", "No KK;Nama Lengkap;Alamat\n1606011201100003;Ani;Dusun I\n"))
    assert refusal.code == "MISSING_COLUMN"
    assert "no column for nik (accepted headers: nik, no nik" in refusal.message_en
    assert "tidak ada kolom untuk nik" in refusal.message_id
    assert '"No KK", "Nama Lengkap", "Alamat"' in refusal.message_en
    both = refused(write(tmp_path, "none.csv", "A;B\n1;2\n"))
    assert "nik (" in both.message_en and "name (" in both.message_en


def test_encodings_that_cannot_be_trusted(tmp_path):
    mixed = "NIK,Nama\n1606011503850001,José\n".encode() + "1606015708900002,André\n".encode("cp1252")
    refusal = refused(write(tmp_path, "mixed.csv", mixed))
    assert refusal.code == "ENCODING_UNKNOWN" and "line 3" in refusal.message_en
    bom = b"\xef\xbb\xbf" + "NIK,Nama\n1606011503850001,André\n".encode("cp1252")
    assert refused(write(tmp_path, "bom.csv", bom)).code == "ENCODING_UNKNOWN"


def test_import_refused_api():
    refusal = ImportRefused("FILE_EMPTY", "ukuran berkas 0 bita", "the file is 0 bytes long")
    assert refusal.code == "FILE_EMPTY"
    assert refusal.message_id == "Berkas kosong: ukuran berkas 0 bita"
    assert refusal.message_en == str(refusal) == "The file is empty: the file is 0 bytes long"
    assert ImportRefused("FILE_EMPTY").message_en == "The file is empty"
    copy = pickle.loads(pickle.dumps(refusal))
    assert (copy.code, copy.message_id, copy.message_en) == (refusal.code, refusal.message_id, refusal.message_en)
    with pytest.raises(ValueError):
        ImportRefused("NIK_FORMAT")  # a row issue is not a refusal


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    prefix=st.sampled_from([b"", b"NIK,Nama\n", b"NIK;Nama;X\r\n", b'"NIK"\t"Nama"\n', b"\xef\xbb\xbf", b"\xff\xfe"]),
    parts=st.lists(st.sampled_from([b",", b";", b"\t", b'"', b"\n", b"\r", b" ", b"a", b"0", b"\xc3\xa9", b"\xe9",
                                    b"\x00", b"\x81", b"NIK", b"Nama", b"=", b"sep=;"]), max_size=40),
    name=st.sampled_from(["a.csv", "a", "a.xlsx"]),
)
def test_any_bytes_give_a_result_or_a_refusal(tmp_path_factory, prefix, parts, name):
    path = tmp_path_factory.mktemp("fuzz") / "upload"
    path.write_bytes(prefix + b"".join(parts))
    try:
        result = read_list(path, claimed_name=name)
    except ImportRefused as refusal:
        assert ISSUES[refusal.code].severity == FILE and refusal.message_id and refusal.message_en
        return
    frame = result.frame
    assert frame.height > 0 and {"nik", "name", "_row"} <= set(frame.columns)
    for column in frame.columns:
        if not column.startswith("_"):
            assert frame[column].dtype == pl.String
            assert not (frame[column] == "").any()
