"""An upload's memory is bounded: hostile shapes are refused before any parser sees them.

Every file here is small; the limits are lowered (ReaderLimits) so the shapes that would take
gigabytes at full size are refused at a few kilobytes. "Before reading" is asserted by making
the parsers (fastexcel, python-calamine, Polars) fail if they are called.
"""

import io
import json
import struct
import subprocess
import sys
import zipfile

import fastexcel
import polars as pl
import pytest
import python_calamine

from kelambu.lib.issues import FILE, ISSUES
from kelambu.registry import reader
from kelambu.registry.reader import ImportRefused, ReaderLimits, read_list

NIK = "1606010310760001"
SMALL = ReaderLimits(max_rows=1000, max_columns=50, max_cells=5000, max_memory=50 << 20)


def refused(path, **kwargs) -> ImportRefused:
    with pytest.raises(ImportRefused) as info:
        read_list(path, **kwargs)
    return info.value


@pytest.fixture
def no_read(monkeypatch):
    """Fails the test if a spreadsheet or CSV parser is asked to read anything."""
    def fail(*args, **kwargs):
        raise AssertionError("the file was handed to a parser")

    monkeypatch.setattr(fastexcel, "read_excel", fail)
    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", fail)
    monkeypatch.setattr(pl, "read_csv", fail)


def col(j: int) -> str:
    letters = ""
    j += 1
    while j:
        j, rest = divmod(j - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell(j: int, i: int, value, shared: bool = False) -> str:
    if shared:
        return f'<c r="{col(j)}{i + 1}" t="s"><v>{value}</v></c>'
    if isinstance(value, str):
        return f'<c r="{col(j)}{i + 1}" t="inlineStr"><is><t>{value}</t></is></c>'
    return f'<c r="{col(j)}{i + 1}"><v>{value}</v></c>'


def row(i: int, cells) -> str:
    return f'<row r="{i + 1}">{"".join(cells)}</row>'


def workbook(path, rows, dimension: str | None = None, shared: list[str] | None = None):
    """An XLSX written part by part, so a test controls every byte of the sheet."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}">'
             + (f'<dimension ref="{dimension}"/>' if dimension else "")
             + "<sheetData>" + "".join(rows) + "</sheetData></worksheet>")
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
            'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            + (f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>' if shared else "")
            + "</Relationships>"),
        "xl/worksheets/sheet1.xml": sheet,
    }
    if shared:
        parts["xl/sharedStrings.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}" count="{len(shared)}" '
            f'uniqueCount="{len(shared)}">' + "".join(f"<si><t>{s}</t></si>" for s in shared) + "</sst>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return path


def header(*names):
    return row(0, [cell(j, 0, name) for j, name in enumerate(names)])


def people(n: int, start: int = 1, extra=()):
    return [row(i, [cell(0, i, NIK), cell(1, i, f"ORANG {i}"), *(cell(j, i, v) for j, v in extra)])
            for i in range(start, start + n)]


def test_every_refusal_code_is_a_file_refusal():
    for code in ("FILE_TOO_MANY_ROWS", "FILE_TOO_MANY_COLUMNS", "FILE_TOO_MANY_CELLS"):
        assert ISSUES[code].severity == FILE


def test_a_sheet_within_the_limits_reads(tmp_path):
    path = workbook(tmp_path / "ok.xlsx", [header("NIK", "Nama"), *people(300)])
    assert read_list(path, limits=SMALL).frame.height == 300


def test_many_cells_in_few_columns_are_refused_before_reading(tmp_path, no_read):
    extra = [(j, 7) for j in range(2, 6)]  # 901 rows x 6 columns
    path = workbook(tmp_path / "cells.xlsx", [header("NIK", "Nama"), *people(900, extra=extra)])
    refusal = refused(path, limits=SMALL)
    assert refusal.code == "FILE_TOO_MANY_CELLS"
    assert "the limit is 5,000 cells" in refusal.message_en and "batasnya 5.000 sel" in refusal.message_id
    assert "split the list" in refusal.message_en and "bagi daftar" in refusal.message_id


def test_very_many_columns_from_one_far_cell(tmp_path, no_read):
    # 1.6 KB: one value typed in column XFD makes a 16,384-column sheet.
    path = workbook(tmp_path / "wide.xlsx", [header("NIK", "Nama"), row(1, [cell(0, 1, NIK), cell(16383, 1, 1)])])
    refusal = refused(path)  # the default limits
    assert refusal.code == "FILE_TOO_MANY_COLUMNS"
    assert "column XFD (16,384 columns)" in refusal.message_en and "kolom XFD" in refusal.message_id
    assert "the limit is 1,024 columns" in refusal.message_en


def test_very_many_rows_from_one_far_cell(tmp_path, no_read):
    path = workbook(tmp_path / "tall.xlsx", [header("NIK", "Nama"), *people(5), row(1_999_999, [cell(1, 1_999_999, 1)])])
    refusal = refused(path, limits=ReaderLimits(max_rows=1_000_000))
    assert refusal.code == "FILE_TOO_MANY_ROWS"
    assert "row 2,000,000" in refusal.message_en and "the limit is 1,000,000 rows" in refusal.message_en


def test_corner_cells_do_not_take_the_process_down(tmp_path):
    """A1 and XFD1048576 make calamine ask for 550 GB, which aborts the process (the original
    reader died here). Run in a child so a regression fails the test, not the test run."""
    path = workbook(tmp_path / "corner.xlsx", [header("NIK", "Nama"), row(1, [cell(0, 1, NIK), cell(1, 1, "ANI")]),
                                               row(1048575, [cell(16383, 1048575, 1)])])
    assert path.stat().st_size < 4000
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, from the forking test process.
    code = ("import json, re, sys\n"
            "from kelambu.registry.reader import ImportRefused, read_list\n"
            "try:\n    read_list(sys.argv[1]); code = None\n"
            "except ImportRefused as e:\n    code = e.code\n"
            "hwm = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
            "print(json.dumps([code, hwm // 1024]))\n")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    refusal, peak_mb = json.loads(out.stdout.strip().splitlines()[-1])
    assert refusal == "FILE_TOO_MANY_COLUMNS"
    assert peak_mb < 500


def test_cells_in_unmapped_columns_count_in_a_sheet(tmp_path, no_read):
    # calamine loads every column, so a sheet's area counts the columns Kelambu ignores.
    filler = [(j, 1) for j in range(2, 40)]
    path = workbook(tmp_path / "filler.xlsx", [header("NIK", "Nama"), *people(200, extra=filler)])
    assert refused(path, limits=SMALL).code == "FILE_TOO_MANY_CELLS"


def test_a_lying_dimension_is_not_trusted(tmp_path):
    # <dimension> claims the whole grid; the cells decide (and nothing is reserved for it).
    path = workbook(tmp_path / "dim.xlsx", [header("NIK", "Nama"), *people(3)], dimension="A1:XFD1048576")
    assert read_list(path, limits=SMALL).frame.height == 3
    # ...and claims nothing while the cells reach column XFD.
    path = workbook(tmp_path / "dim2.xlsx", [header("NIK", "Nama"), row(1, [cell(0, 1, NIK), cell(16383, 1, 1)])],
                    dimension="A1:B2")
    assert refused(path).code == "FILE_TOO_MANY_COLUMNS"


def _set_declared_size(path, part: str, size: int):
    """Rewrites the uncompressed size the zip's headers give `part` (both headers)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(part)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    name = part.encode()
    central = data.find(b"PK\x01\x02" + bytes(0), 0)
    while central >= 0:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46: central + 46 + name_len] == name:
            struct.pack_into("<I", data, central + 24, size)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def test_zip_sizes_that_lie_are_measured(tmp_path, no_read):
    # The headers say 2 KB; the sheet inflates to 30 MB of padding (a bomb the header check
    # alone let through): the real size is what counts.
    path = workbook(tmp_path / "lie.xlsx", [header("NIK", "Nama"), " " * (30 << 20), *people(2)])
    _set_declared_size(path, "xl/worksheets/sheet1.xml", 2000)
    refusal = refused(path)
    assert refusal.code == "XLSX_BOMB" and "xl/worksheets/sheet1.xml" in refusal.message_en
    # Within the ratio, a size that does not match the content is refused as damaged.
    path = workbook(tmp_path / "lie2.xlsx", [header("NIK", "Nama"), *people(50)])
    _set_declared_size(path, "xl/worksheets/sheet1.xml", 100)
    refusal = refused(path)
    assert refusal.code == "XLSX_INVALID" and "records the part" in refusal.message_en


def test_cells_without_an_address_are_refused(tmp_path, no_read):
    # Places from calamine's own counters could not be bounded by counting references.
    rows = [header("NIK", "Nama"), "<row>" + "<c><v>1</v></c>" * 3 + "</row>"]
    refusal = refused(workbook(tmp_path / "noref.xlsx", rows))
    assert refusal.code == "XLSX_INVALID" and 'r="A1"' in refusal.message_en
    prefixed = [header("NIK", "Nama"), '<row r="2"><x:c r="XFD2"><x:v>1</x:v></x:c></row>']
    assert 'r="A1"' in refused(workbook(tmp_path / "prefix.xlsx", prefixed)).message_en


def test_rows_out_of_order_are_refused(tmp_path, no_read):
    # calamine sizes the sheet from the first and the last cell: a last row above the first
    # wraps around to four billion rows.
    rows = [header("NIK", "Nama"), *people(3, start=5), row(1, [cell(0, 1, NIK)])]
    refusal = refused(workbook(tmp_path / "order.xlsx", rows))
    assert refusal.code == "XLSX_INVALID" and "out of order" in refusal.message_en


def test_one_long_shared_string_in_many_cells(tmp_path, no_read):
    # Every cell referring to a shared string gets its own copy of the text.
    long_text = "x" * 4000
    rows = [header("NIK", "Nama")] + [row(i, [cell(0, i, 0, shared=True), cell(1, i, 0, shared=True)])
                                      for i in range(1, 2000)]
    limits = ReaderLimits(max_memory=20 << 20)
    refusal = refused(workbook(tmp_path / "amplified.xlsx", rows, shared=[long_text]), limits=limits)
    assert refusal.code == "FILE_TOO_MANY_CELLS" and "of memory, the limit is 20 MB" in refusal.message_en
    assert "memori, batasnya 20 MB" in refusal.message_id


def test_short_shared_strings_read(tmp_path):
    rows = [header("NIK", "Nama")] + [row(i, [cell(0, i, 0, shared=True), cell(1, i, 1, shared=True)])
                                      for i in range(1, 2000)]
    path = workbook(tmp_path / "shared.xlsx", rows, shared=[NIK, "ANI"])
    assert read_list(path, limits=ReaderLimits(max_memory=20 << 20)).frame.height == 1999


def test_huge_number_text_counts(tmp_path, no_read):
    # "1e308" is five characters in the file and 309 in the text read.
    rows = [header("NIK", "Nama")] + [row(i, [cell(0, i, NIK), f'<c r="B{i + 1}"><v>1e308</v></c>'])
                                      for i in range(1, 3000)]
    limits = ReaderLimits(max_memory=3 << 20)
    assert refused(workbook(tmp_path / "numbers.xlsx", rows), limits=limits).code == "FILE_TOO_MANY_CELLS"


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_too_many_rows(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("NIK,Nama\n" + f"{NIK},Ani\n" * 1500)
    refusal = refused(path, limits=SMALL)
    assert refusal.code == "FILE_TOO_MANY_ROWS" and "more than 1,000 data rows" in refusal.message_en
    assert read_list(path, limits=ReaderLimits(max_rows=1500)).frame.height == 1500
    # The csv-module path (a stray quote Polars refuses) stops at the limit too.
    path.write_text("NIK,Nama\n" + f'{NIK},An"i\n' * 1500)
    assert refused(path, limits=SMALL).code == "FILE_TOO_MANY_ROWS"


def test_csv_of_tiny_cells_is_refused_before_reading(tmp_path, no_read):
    # Four bytes a row: 200,000 rows of two cells in 800 KB.
    path = tmp_path / "tiny.csv"
    path.write_bytes(b"NIK,Nama\n" + b"1,1\n" * 200_000)
    refusal = refused(path, limits=ReaderLimits(max_memory=8 << 20))
    assert refusal.code == "FILE_TOO_MANY_CELLS" and "200,002 lines x 2 columns used" in refusal.message_en


def test_csv_cells_in_unmapped_columns_cost_nothing(tmp_path):
    # 300 columns, two of them used: the estimate (and Polars) counts the two.
    path = tmp_path / "wide.csv"
    others = ",".join(f"X{i}" for i in range(298))
    path.write_text(f"NIK,Nama,{others}\n" + (f"{NIK},Ani," + ",".join("1" * 298) + "\n") * 3000)
    limits = ReaderLimits(max_columns=400, max_memory=8 << 20)  # 300 columns would need 43 MB
    assert read_list(path, limits=limits).frame.height == 3000


def test_csv_too_many_columns(tmp_path, no_read):
    path = tmp_path / "columns.csv"
    path.write_text("NIK,Nama," + ",".join(f"X{i}" for i in range(60)) + f"\n{NIK},Ani\n")
    refusal = refused(path, limits=SMALL)
    assert refusal.code == "FILE_TOO_MANY_COLUMNS" and "the limit is 50 columns" in refusal.message_en


# --- XLS ---------------------------------------------------------------------------------------


def test_xls_far_cell_is_refused_before_opening(tmp_path, monkeypatch):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("Data")
    sheet.write(0, 0, "NIK")
    sheet.write(0, 1, "Nama")
    sheet.write(1, 0, NIK)
    sheet.write(1, 1, "Ani")
    path = tmp_path / "list.xls"
    book.save(str(path))
    assert read_list(path, limits=SMALL).frame.height == 1
    sheet.write(999, 200, 1)
    book.save(str(path))

    def fail(*args, **kwargs):
        raise AssertionError("the file was handed to calamine")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", fail)
    refusal = refused(path, limits=SMALL)
    assert refusal.code == "FILE_TOO_MANY_CELLS"  # the sheet's DIMENSIONS: 1,000 x 201


def test_xls_damaged_container_is_refused(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    book.add_sheet("Data").write(0, 0, "NIK")
    buf = io.BytesIO()
    book.save(buf)
    data = bytearray(buf.getvalue())
    struct.pack_into("<I", data, 44, 10**6)  # a FAT a million sectors long
    path = tmp_path / "bad.xls"
    path.write_bytes(bytes(data))
    assert refused(path).code == "XLSX_INVALID"


def test_limits_defaults_match_settings():
    from django.conf import settings

    defaults = ReaderLimits()
    assert defaults.max_bytes == settings.KELAMBU_IMPORT_MAX_BYTES
    assert defaults.xlsx_max_unpacked == settings.KELAMBU_XLSX_MAX_UNPACKED
    assert defaults.max_rows == settings.KELAMBU_IMPORT_MAX_ROWS
    assert defaults.max_columns == settings.KELAMBU_IMPORT_MAX_COLUMNS
    assert defaults.max_cells == settings.KELAMBU_IMPORT_MAX_CELLS
    assert defaults.max_memory == settings.KELAMBU_IMPORT_MAX_MEMORY
    assert reader._check_shape  # the one place limits are enforced for sheets
