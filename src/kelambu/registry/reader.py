"""Reading an uploaded beneficiary list (CSV, XLSX or XLS) into a frame of text.

`read_list` turns a file into a Polars DataFrame with one text column per canonical field
(lib/columns.py) plus `_row`, the row number a person sees in a spreadsheet, or refuses the
whole file with an `ImportRefused` carrying a FILE code from lib/issues.py and a detail, in
Bahasa Indonesia and English, that says what to fix. Values are never interpreted here:
"0012..." keeps its zeros and "=cmd()" stays text; validation is validate.py's job.

No Django: this module is used and tested without a database.

Speed: CSV is validated/transcoded in bulk and parsed by Polars, only the kept columns are
materialised, and stripping/null-ing are Polars expressions. XLSX sheets are read by fastexcel
into Arrow (see _ArrowGrid), XLS through python-calamine's `to_python`; both say which cells
were numbers (a 16-digit NIK typed into a number cell has already lost its last digit).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import queue
import re
import struct
import threading
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from pathlib import Path

import fastexcel
import numpy as np
import polars as pl
import python_calamine

from kelambu.lib.columns import ALIASES, FIELDS, REQUIRED, field_for_header, header_key
from kelambu.lib.issues import FILE, ISSUES

# --- refusals ------------------------------------------------------------------------------


class ImportRefused(Exception):
    """The whole file is refused. `code` is a FILE code of lib/issues.py."""

    def __init__(self, code: str, detail_id: str = "", detail_en: str = ""):
        issue = ISSUES[code]
        if issue.severity != FILE:
            raise ValueError(f"{code} is not a file-level issue code")
        super().__init__(code, detail_id, detail_en)
        self.code = code
        self.detail_id = detail_id
        self.detail_en = detail_en
        self.message_id = f"{issue.message_id}: {detail_id}" if detail_id else issue.message_id
        self.message_en = f"{issue.message_en}: {detail_en}" if detail_en else issue.message_en

    def __str__(self) -> str:
        return self.message_en


@dataclass(frozen=True)
class ReaderLimits:
    """What one upload may cost. Every limit is checked before the list is read (a sheet's
    shape by streaming its XML or walking its records; a CSV's by counting), so a file
    above one is refused whole, with the limit in the message, without being read."""

    max_bytes: int = 512 * 1024**2
    max_field: int = 4096  # characters in one cell
    xlsx_max_unpacked: int = 1024**3  # bytes of XML, measured while inflating
    xlsx_max_ratio: int = 200  # uncompressed/compressed of any zip entry above ~1 MB
    max_rows: int = 2_000_000  # a sheet's last used row; a CSV's records
    max_columns: int = 1024  # a sheet's last used column; a CSV's header cells
    max_cells: int = 10_000_000  # a sheet's used area (rows x columns)
    max_memory: int = 2560 * 1024**2  # what reading the file is estimated to need


@dataclass
class ReadResult:
    frame: pl.DataFrame  # canonical text columns in FIELDS order, `_row`, `_nik_numeric`, `_kk_numeric`
    headers: dict[str, str]  # canonical field -> the file's own header text
    ignored: list[str]  # headers of columns not used
    format: str  # "csv" | "xlsx" | "xls"
    encoding: str | None = None  # csv only
    delimiter: str | None = None  # csv only
    sheet: str | None = None  # xlsx/xls only: the sheet read


# --- constants -----------------------------------------------------------------------------

_UTF8_BOM = b"\xef\xbb\xbf"
_ZIP_ENTRY_RATIO_FLOOR = 1 << 20  # the ratio check applies to zip entries bigger than this
_MAX_ZIP_ENTRIES = 10_000
# Memory model of a CSV read, in bytes (measured, docs/PERFORMANCE.md): the file and its
# transcoded copy, then a string view per kept cell and its copies on the way (strip, blank
# rows). The csv-module fallback holds a Python string per kept cell and the file as text.
_CSV_PER_BYTE = 3
_CSV_PER_CELL = 40
_CSV_FALLBACK_PER_BYTE = 2
_CSV_FALLBACK_PER_CELL = 96
_HEADER_MAX_BYTES = 1 << 20  # the header record of a CSV must end within this
_TITLE_ROWS = 10  # XLSX: rows above the header (a title, a blank line) looked through
_SNIFF_BYTES = 1 << 16
_MAPPING_MAX_BYTES = 1 << 20
_SHOWN_HEADERS = 40
_MAX_EXTRA_CELLS = 10_000  # a line with more cells than headers + this is refused before parsing

# Control bytes that never appear in a text list (tab, LF, CR and form feed do).
_CONTROL = bytes([*range(0, 9), 0x0B, *range(0x0E, 0x20), 0x7F])
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
# Candidates offered to charset-normalizer when a file is neither UTF-8 nor cp1252.
_FALLBACK_ENCODINGS = ("cp1250", "cp1254", "cp1257", "cp850", "cp437", "mac_roman")
_SEP_LINE = re.compile(r'"?sep=(.)"?')

_MAGIC = (
    (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (b"PK\x07\x08", "zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole2"),
    (b"%PDF", "pdf"), (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"), (b"GIF89a", "gif"), (b"\x1f\x8b", "gzip"), (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"), (b"{\\rtf", "rtf"), (b"BM", None),  # BM: too short to trust
)

# What the content was found to be, for messages: (Indonesian, English).
_KIND_LABEL = {
    "xlsx": ("buku kerja Excel (XLSX)", "an Excel workbook (XLSX)"),
    "xls": ("buku kerja Excel 97-2003 (XLS)", "an Excel 97-2003 workbook (XLS)"),
    "ole2": ("berkas Microsoft Office format lama (misalnya XLS atau DOC)",
             "an old-format Microsoft Office file (e.g. XLS or DOC)"),
    "docx": ("dokumen Word (DOCX)", "a Word document (DOCX)"),
    "pptx": ("presentasi PowerPoint (PPTX)", "a PowerPoint presentation (PPTX)"),
    "ods": ("lembar kerja OpenDocument (ODS)", "an OpenDocument spreadsheet (ODS)"),
    "zip": ("arsip ZIP", "a ZIP archive"),
    "pdf": ("dokumen PDF", "a PDF document"),
    "png": ("gambar PNG", "a PNG image"),
    "jpeg": ("gambar JPEG", "a JPEG image"),
    "gif": ("gambar GIF", "a GIF image"),
    "gzip": ("arsip GZIP", "a GZIP archive"),
    "rar": ("arsip RAR", "a RAR archive"),
    "7z": ("arsip 7-Zip", "a 7-Zip archive"),
    "rtf": ("dokumen RTF", "an RTF document"),
    "html": ("halaman web (HTML)", "a web page (HTML)"),
    "xml_spreadsheet": ("lembar kerja XML Excel 2003", "an Excel 2003 XML spreadsheet"),
    "xml": ("dokumen XML", "an XML document"),
    "binary": ("data biner yang tidak dikenali", "unrecognised binary data"),
    "text": ("teks biasa (seperti CSV)", "plain text (like a CSV)"),
}
_BINARY_KINDS = frozenset(_KIND_LABEL) - {"text"}

_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls"}


# --- public API ----------------------------------------------------------------------------


def read_list(path: Path, *, sheet: str | None = None, mapping: dict[str, str] | None = None,
              limits: ReaderLimits = ReaderLimits(), claimed_name: str | None = None) -> ReadResult:
    """Reads a beneficiary list, or raises ImportRefused; never returns a partial result."""
    path = Path(path)
    if mapping is not None:
        mapping = _check_mapping(mapping)
    size = path.stat().st_size
    if size == 0:
        raise ImportRefused("FILE_EMPTY", "ukuran berkas 0 bita", "the file is 0 bytes long")
    if size > limits.max_bytes:
        raise ImportRefused(
            "FILE_TOO_LARGE",
            f"{_size_id(size)}, batasnya {_size_id(limits.max_bytes)}; bagi daftar menjadi beberapa berkas",
            f"{_size_en(size)}, the limit is {_size_en(limits.max_bytes)}; split the list into several files")

    name = claimed_name or path.name
    extension = Path(name).suffix.lower()
    claimed = _EXTENSIONS.get(extension, "none" if not extension else "other")
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    kind = _sniff(head, path)

    if kind in ("xlsx", "docx", "pptx", "ods", "zip"):
        if claimed == "csv":
            _mismatch(extension, kind)
        if kind != "xlsx":
            if claimed in ("xlsx", "xls"):
                label_id, label_en = _KIND_LABEL[kind]
                raise ImportRefused(
                    "XLSX_INVALID",
                    f"arsip ini tidak berisi buku kerja Excel, melainkan {label_id}; simpan daftar sebagai .xlsx dari Excel",
                    f"the archive holds no Excel workbook, it is {label_en}; save the list as .xlsx from Excel")
            _mismatch(extension, kind)
        return _read_workbook(path, "xlsx", sheet, mapping, limits)
    if kind == "ole2":
        if claimed == "csv":
            _mismatch(extension, kind)
        if _is_encrypted_ole2(path):
            raise ImportRefused(
                "XLSX_INVALID",
                "buku kerja dilindungi kata sandi; buka di Excel, hapus kata sandinya, lalu simpan ulang",
                "the workbook is password-protected; open it in Excel, remove the password and save it again")
        if claimed == "xlsx":
            raise ImportRefused(
                "FILE_TYPE_MISMATCH",
                f"nama berkas berakhiran {extension}, tetapi isinya buku kerja Excel 97-2003 (XLS); "
                "ganti akhiran nama menjadi .xls, atau buka di Excel dan simpan sebagai .xlsx",
                f"the name ends in {extension} but the content is an Excel 97-2003 (XLS) workbook; "
                "rename it to .xls, or open it in Excel and save it as .xlsx")
        return _read_workbook(path, "xls", sheet, mapping, limits)
    if kind in _BINARY_KINDS and (kind != "binary" or claimed == "other"):
        _mismatch(extension, kind)
    if claimed in ("xlsx", "xls"):
        _mismatch(extension, kind)
    return _read_csv(path.read_bytes(), mapping, limits)  # _read_csv drops the only reference


def load_mapping(path: Path) -> dict[str, str]:
    """A column mapping, canonical field -> this file's header: a JSON object
    {"nik": "Nomor Induk", ...} or a two-column CSV "field,header" (a header row is optional)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportRefused("MAPPING_INVALID", f"berkas pemetaan tidak dapat dibuka ({exc.strerror})",
                            f"the mapping file cannot be opened ({exc.strerror})") from None
    if len(data) > _MAPPING_MAX_BYTES:
        raise ImportRefused("MAPPING_INVALID", "berkas pemetaan lebih dari 1 MB", "the mapping file is larger than 1 MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    if not text.strip():
        raise ImportRefused("MAPPING_INVALID", "berkas pemetaan kosong", "the mapping file is empty")
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        return _check_mapping(_mapping_from_json(text))
    return _check_mapping(_mapping_from_csv(text))


# --- mapping -------------------------------------------------------------------------------


def _mapping_from_json(text: str) -> dict[str, str]:
    def pairs(items):
        seen = {}
        for key, value in items:
            if key in seen:
                raise ImportRefused("MAPPING_INVALID", f'kolom "{key}" disebut dua kali',
                                    f'the field "{key}" is given twice')
            seen[key] = value
        return seen

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise ImportRefused(
            "MAPPING_INVALID",
            f"JSON tidak valid di baris {exc.lineno}, kolom {exc.colno} ({exc.msg})",
            f"invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ImportRefused("MAPPING_INVALID", 'JSON harus berupa objek {"nik": "Judul kolom", ...}',
                            'the JSON must be an object {"nik": "Column header", ...}')
    for key, value in data.items():
        if not isinstance(value, str):
            raise ImportRefused("MAPPING_INVALID", f'judul kolom untuk "{key}" harus berupa teks',
                                f'the header for "{key}" must be a string')
    return data


def _mapping_from_csv(text: str) -> dict[str, str]:
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = _sniff_delimiter(first)
    mapping: dict[str, str] = {}
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            cells = [c.strip() for c in record]
            while cells and not cells[-1]:
                cells.pop()
            if not cells:
                continue
            line = reader.line_num
            if len(cells) != 2 or not cells[0] or not cells[1]:
                raise ImportRefused(
                    "MAPPING_INVALID",
                    f"baris {line} harus berisi dua sel: nama kolom Kelambu dan judul kolom di berkas",
                    f"line {line} must have two cells: the Kelambu field and the header in the file")
            field_name = cells[0].lower()
            if not mapping and field_name not in FIELDS and field_name in ("field", "kolom", "canonical", "nama kolom"):
                continue  # a header row
            if cells[0] in mapping or field_name in mapping:
                raise ImportRefused("MAPPING_INVALID", f'kolom "{cells[0]}" disebut dua kali (baris {line})',
                                    f'the field "{cells[0]}" is given twice (line {line})')
            mapping[cells[0]] = cells[1]
    except csv.Error as exc:
        raise ImportRefused("MAPPING_INVALID", f"CSV tidak valid di baris {reader.line_num} ({exc})",
                            f"invalid CSV at line {reader.line_num} ({exc})") from None
    return mapping


def _check_mapping(mapping: dict[str, str]) -> dict[str, str]:
    if not isinstance(mapping, dict) or not mapping:
        raise ImportRefused("MAPPING_INVALID", "pemetaan tidak berisi satu pun kolom", "the mapping names no field")
    checked: dict[str, str] = {}
    used: dict[str, str] = {}
    fields = ", ".join(FIELDS)
    for raw_field, header in mapping.items():
        field_name = str(raw_field).strip().lower()
        if field_name not in FIELDS:
            raise ImportRefused(
                "MAPPING_INVALID",
                f'"{raw_field}" bukan nama kolom Kelambu; yang dikenal: {fields}',
                f'"{raw_field}" is not a Kelambu field; the fields are: {fields}')
        if field_name in checked:
            raise ImportRefused("MAPPING_INVALID", f'kolom "{field_name}" disebut dua kali',
                                f'the field "{field_name}" is given twice')
        if not isinstance(header, str) or not header_key(header):
            raise ImportRefused("MAPPING_INVALID", f'judul kolom untuk "{field_name}" kosong',
                                f'the header for "{field_name}" is empty')
        key = header_key(header)
        if key in used:
            raise ImportRefused(
                "MAPPING_INVALID",
                f'judul "{header}" dipetakan ke dua kolom ({used[key]} dan {field_name})',
                f'the header "{header}" is mapped to two fields ({used[key]} and {field_name})')
        used[key] = field_name
        checked[field_name] = header.strip()
    return checked


# --- content sniffing ----------------------------------------------------------------------


def _sniff(head: bytes, path: Path) -> str:
    for magic, kind in _MAGIC:
        if kind and head.startswith(magic):
            return _zip_kind(path) if kind == "zip" else kind
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text"  # UTF-16 with a byte-order mark
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    if start.startswith((b"<!doctype html", b"<html", b"<table", b"<meta")):
        return "html"
    if start.startswith(b"<?xml"):
        return "xml_spreadsheet" if b"urn:schemas-microsoft-com:office:spreadsheet" in head else "xml"
    if b"\x00" in head or _control_ratio(head) > 0.1:
        return "binary"
    return "text"


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = {n.lower() for n in zf.namelist()[:_MAX_ZIP_ENTRIES]}
            mimetype = zf.read("mimetype")[:100] if "mimetype" in names else b""
    except Exception:  # a damaged zip: let the workbook check say so
        return "xlsx"
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx"
    if "word/document.xml" in names:
        return "docx"
    if any(n.startswith("ppt/") for n in names):
        return "pptx"
    if b"opendocument.spreadsheet" in mimetype:
        return "ods"
    return "zip"


def _is_encrypted_ole2(path: Path) -> bool:
    """An encrypted XLSX is an OLE2 container holding an "EncryptedPackage" stream."""
    marker = "EncryptedPackage".encode("utf-16-le")
    with open(path, "rb") as fh:
        tail = b""
        while block := fh.read(1 << 22):
            if marker in tail + block:
                return True
            tail = block[-len(marker):]
    return False


def _control_ratio(sample: bytes) -> float:
    if not sample:
        return 0.0
    return (len(sample) - len(sample.translate(None, _CONTROL))) / len(sample)


def _mismatch(extension: str, kind: str):
    label_id, label_en = _KIND_LABEL[kind]
    if kind in ("xlsx", "xls"):
        fix_id, fix_en = f"ganti akhiran nama menjadi .{kind}", f"rename it to .{kind}"
    elif kind == "text":
        fix_id, fix_en = "ganti akhiran nama menjadi .csv", "rename it to .csv"
    elif kind in ("html", "xml_spreadsheet"):
        fix_id = "buka di Excel lalu simpan sebagai Buku Kerja Excel (.xlsx)"
        fix_en = "open it in Excel and save it as an Excel Workbook (.xlsx)"
    else:
        fix_id, fix_en = "unggah daftarnya sebagai CSV atau XLSX", "upload the list as CSV or XLSX"
    if extension:
        raise ImportRefused(
            "FILE_TYPE_MISMATCH",
            f"nama berkas berakhiran {extension}, tetapi isi berkas adalah {label_id}; {fix_id}",
            f"the name ends in {extension} but the content is {label_en}; {fix_en}")
    raise ImportRefused("FILE_TYPE_MISMATCH", f"isi berkas adalah {label_id}; {fix_id}",
                        f"the content is {label_en}; {fix_en}")


# --- CSV -----------------------------------------------------------------------------------


def _read_csv(data: bytes, mapping: dict[str, str] | None, limits: ReaderLimits) -> ReadResult:
    buf, encoding = _to_utf8(data)
    del data
    start = 3 if buf.startswith(_UTF8_BOM) else 0
    if b"\n" not in buf and b"\r" in buf:
        buf = buf.replace(b"\r", b"\n")  # old Mac line ends

    header_text, skipped, sep_lines, delimiter, header_end = _csv_header(buf, start)
    try:
        headers = next(csv.reader(io.StringIO(header_text, newline=""), delimiter=delimiter))
    except (csv.Error, StopIteration):
        headers = []
    headers = [h.strip().lstrip("\ufeff").strip() for h in headers]
    header_row = skipped + 1 - sep_lines
    if len(headers) > limits.max_columns:
        raise ImportRefused(
            "FILE_TOO_MANY_COLUMNS",
            f"baris judul (baris {header_row}) berisi {_count_id(len(headers))} kolom, batasnya "
            f"{_count_id(limits.max_columns)} kolom; hapus kolom yang tidak dipakai",
            f"the header row (row {header_row}) has {len(headers):,} columns, the limit is "
            f"{limits.max_columns:,} columns; delete the columns that are not used")
    label = _csv_column_label
    _check_header_cells(headers, header_row, label, limits)
    assigned, ignored = _assign(headers, mapping, label)
    n = len(headers)
    kept = sorted(assigned.values())
    first_row = header_row + 1  # the row number of the record after the header

    # Polars sizes the table from the first line after the header: a line of millions of
    # cells there would take it minutes, so such a line is refused first.
    line_end = buf.find(b"\n", header_end)
    line_end = len(buf) if line_end < 0 else line_end
    if line_end - header_end > n + _MAX_EXTRA_CELLS:
        cells = buf.count(delimiter.encode(), header_end, line_end) + 1
        if cells > n + _MAX_EXTRA_CELLS:
            _too_many_cells(buf.count(b"\n", 0, header_end) + 1, cells, n)
    # Only the kept columns are materialised and at most max_rows + 1 records are read, so the
    # memory is bounded by the file's bytes and rows x kept columns; estimated first.
    lines = buf.count(b"\n") + 1
    _check_csv_memory(len(buf), min(lines, limits.max_rows + 1), len(kept), limits, _CSV_PER_BYTE, _CSV_PER_CELL)
    try:
        raw = pl.read_csv(
            buf, has_header=False, infer_schema=False, separator=delimiter, quote_char='"',
            schema={f"c{i}": pl.String for i in range(n + 1)}, missing_columns="insert",
            columns=[*kept, n], skip_rows=skipped + 1, raise_if_empty=False, encoding="utf8",
            n_rows=limits.max_rows + 1,
        )
        raw = raw.with_row_index("_row", offset=first_row).with_columns(pl.col("_row").cast(pl.Int64))
    except Exception:  # noqa: BLE001 - polars refused the file: find out where, in Python
        _check_csv_memory(len(buf), min(lines, limits.max_rows + 1), len(kept), limits,
                          _CSV_FALLBACK_PER_BYTE, _CSV_FALLBACK_PER_CELL)
        raw = _csv_fallback(buf, start, delimiter, skipped + 1, n, kept, first_row, limits)
    del buf
    if raw.height > limits.max_rows:
        raise ImportRefused(
            "FILE_TOO_MANY_ROWS",
            f"lebih dari {_count_id(limits.max_rows)} baris data, batasnya {_count_id(limits.max_rows)} baris; "
            "bagi daftar menjadi beberapa berkas",
            f"more than {limits.max_rows:,} data rows, the limit is {limits.max_rows:,} rows; "
            "split the list into several files")

    ragged = raw.filter(pl.col(f"c{n}").str.strip_chars().str.len_bytes() > 0)
    if ragged.height:
        _ragged(ragged["_row"][0], n, delimiter)
    flags = [f"_{f}_numeric" for f in ("nik", "kk") if f in assigned]
    frame = raw.select([pl.col(f"c{j}") for j in kept] + [pl.col("_row")] + [pl.lit(False).alias(f) for f in flags])
    result = _finish(frame, assigned, headers, flags, limits,
                     empty_detail=(f"tidak ada baris data di bawah judul kolom (baris {header_row})",
                                   f"there are no data rows below the header (row {header_row})"))
    return ReadResult(frame=result, headers={f: headers[j] for f, j in _ordered(assigned)}, ignored=ignored,
                      format="csv", encoding=encoding, delimiter=delimiter, sheet=None)


def _to_utf8(data: bytes) -> tuple[bytes, str]:
    """The file as UTF-8 bytes, transcoded in bulk, and the encoding it was in."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ImportRefused(
                "ENCODING_UNKNOWN",
                f"berkas ditandai UTF-16, tetapi rusak di bita ke-{_count_id(exc.start)}; simpan ulang sebagai CSV UTF-8",
                f"the file is marked UTF-16 but is damaged at byte {exc.start:,}; save it again as CSV UTF-8") from None
        if not re.search(r"\S", text.lstrip("\ufeff")):
            raise ImportRefused("FILE_EMPTY", "berkas hanya berisi spasi atau baris kosong",
                                "the file holds only spaces or blank lines")
        nul = text.find("\x00")
        if nul >= 0:
            line = text.count("\n", 0, nul) + 1
            raise ImportRefused("FILE_NOT_TEXT", f"ada karakter NUL di baris {line}",
                                f"there is a NUL character on line {line}")
        return text.lstrip("\ufeff").encode("utf-8"), "utf-16"

    bom = data.startswith(_UTF8_BOM)
    body = 3 if bom else 0
    if not re.search(rb"\S", data[body:body + _SNIFF_BYTES]) and not re.search(rb"\S", data[body:]):
        raise ImportRefused("FILE_EMPTY", "berkas hanya berisi spasi atau baris kosong",
                            "the file holds only spaces or blank lines")
    nul = data.find(b"\x00")
    if nul >= 0:
        sample = data[:4096]
        if sample.count(0) > len(sample) // 4 and (sample[1::2].count(0) > len(sample) // 3
                                                    or sample[0::2].count(0) > len(sample) // 3):
            raise ImportRefused(
                "FILE_NOT_TEXT",
                "isinya tampak seperti teks UTF-16 tanpa penanda BOM; simpan ulang sebagai CSV UTF-8",
                "it looks like UTF-16 text without a byte-order mark; save it again as CSV UTF-8")
        line = data.count(b"\n", 0, nul) + 1
        raise ImportRefused(
            "FILE_NOT_TEXT",
            f"ada bita NUL di baris {line}; ini bukan berkas teks CSV. Ekspor daftar sebagai CSV atau XLSX",
            f"there is a NUL byte on line {line}; this is not a CSV text file. Export the list as CSV or XLSX")
    sample = data[:_SNIFF_BYTES]
    if _control_ratio(sample) > 0.1:
        raise ImportRefused(
            "FILE_NOT_TEXT",
            "sebagian besar isinya karakter kendali, bukan teks; ekspor daftar sebagai CSV atau XLSX",
            "most of its content is control characters, not text; export the list as CSV or XLSX")

    bad = _utf8_error(data, body)
    if bad is None:
        return data, ("utf-8-sig" if bom else "utf-8")
    line = data.count(b"\n", 0, bad) + 1
    if bom:
        raise ImportRefused(
            "ENCODING_UNKNOWN",
            f"berkas ditandai UTF-8, tetapi baris {line} berisi bita yang bukan UTF-8; simpan ulang sebagai CSV UTF-8",
            f"the file is marked UTF-8 but line {line} holds bytes that are not UTF-8; save it again as CSV UTF-8")
    if _has_utf8_sequences(data):
        raise ImportRefused(
            "ENCODING_UNKNOWN",
            f"berkas mencampur UTF-8 dengan pengodean lain (bita bukan UTF-8 pertama di baris {line}); "
            "simpan ulang seluruh daftar sebagai CSV UTF-8",
            f"the file mixes UTF-8 with another encoding (first non-UTF-8 byte on line {line}); "
            "save the whole list again as CSV UTF-8")
    if not any(byte in data for byte in _CP1252_UNDEFINED):
        return data.decode("cp1252").encode("utf-8"), "cp1252"
    return _guess_encoding(data, line)


def _utf8_error(data: bytes, start: int) -> int | None:
    """Byte offset of the first invalid UTF-8 sequence, or None; validated in 16 MB blocks."""
    if data.isascii():
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    block = 1 << 24
    for offset in range(start, len(data), block):
        try:
            decoder.decode(view[offset:offset + block], final=offset + block >= len(data))
        except UnicodeDecodeError as exc:
            return max(offset + exc.start - len(decoder.getstate()[0]), 0)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return len(data) - 1
    return None


def _has_utf8_sequences(data: bytes) -> bool:
    """Whether a file that is not valid UTF-8 still holds well-formed UTF-8 multi-byte
    characters (a list saved partly as UTF-8, partly as something else). Each such character
    decodes to one character from two to four bytes, each invalid byte to one (an escape)."""
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    block = 1 << 24
    characters = 0
    for offset in range(0, len(data), block):
        characters += len(decoder.decode(data[offset:offset + block], final=offset + block >= len(data)))
    return characters < len(data)


def _guess_encoding(data: bytes, line: int) -> tuple[bytes, str]:
    from charset_normalizer import from_bytes

    # Only Latin-script code pages: on a short sample charset-normalizer will otherwise
    # happily call a damaged cp1252 file Japanese.
    best = from_bytes(data[: 4 << 20], cp_isolation=list(_FALLBACK_ENCODINGS)).best()
    encoding = best.encoding if best is not None else None
    if encoding and encoding.replace("-", "_").lower() not in ("utf_8", "ascii", "utf_8_sig"):
        try:
            return data.decode(encoding).encode("utf-8"), encoding
        except (UnicodeDecodeError, LookupError):
            pass
    raise ImportRefused(
        "ENCODING_UNKNOWN",
        f"bukan UTF-8, UTF-16 atau Windows-1252 (bita tak dikenal pertama di baris {line}); simpan ulang sebagai CSV UTF-8",
        f"not UTF-8, UTF-16 or Windows-1252 (first unrecognised byte on line {line}); save it again as CSV UTF-8")


def _csv_header(buf: bytes, start: int) -> tuple[str, int, int, str, int]:
    """(header record text, records before it, 1 if one of those is Excel's "sep=" line,
    delimiter, byte offset just past the header record)."""
    head = buf[start:start + _HEADER_MAX_BYTES + 1].decode("utf-8", errors="ignore")
    complete = len(buf) - start <= _HEADER_MAX_BYTES
    pos = skipped = sep_lines = 0
    delimiter = None
    while True:
        end = _record_end(head, pos)
        if end < 0:
            if not complete:
                raise ImportRefused(
                    "FIELD_TOO_LARGE",
                    f"baris judul kolom tidak berakhir dalam {_count_id(_HEADER_MAX_BYTES // 1024)} KB pertama; "
                    "berkas ini bukan daftar CSV yang wajar",
                    f"the header row does not end within the first {_HEADER_MAX_BYTES // 1024:,} KB; "
                    "this is not a plausible CSV list")
            if head.count('"', pos) % 2:
                raise ImportRefused(
                    "CSV_MALFORMED",
                    "tanda kutip (\") di baris judul kolom tidak pernah ditutup",
                    "a quote (\") in the header row is never closed")
            end = len(head)
        record = head[pos:end]
        stripped = record.strip()
        if not stripped and end < len(head):
            skipped += 1
            pos = end
            continue
        sep = _SEP_LINE.fullmatch(stripped) if not sep_lines and delimiter is None else None
        if sep and end < len(head):
            delimiter = sep.group(1)
            skipped += 1
            sep_lines = 1
            pos = end
            continue
        break
    if delimiter not in (",", ";", "\t", "|"):
        delimiter = _sniff_delimiter(record)
    return record, skipped, sep_lines, delimiter, start + len(head[:end].encode("utf-8"))


def _record_end(text: str, pos: int) -> int:
    """Index just past the line end closing the CSV record that starts at `pos`, or -1.
    A record goes on over line ends while an odd number of quotes is open ("" counts two)."""
    quoted = False
    while True:
        newline = text.find("\n", pos)
        if newline < 0:
            return -1
        quoted ^= text.count('"', pos, newline) % 2 == 1
        if not quoted:
            return newline + 1
        pos = newline + 1


def _sniff_delimiter(line: str) -> str:
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_column_label(j: int) -> tuple[str, str]:
    return f"kolom ke-{j + 1}", f"column {j + 1}"


def _ragged(row: int, n: int, delimiter: str):
    name = {",": "koma", ";": "titik koma", "\t": "tab"}.get(delimiter, delimiter)
    name_en = {",": "comma", ";": "semicolon", "\t": "tab"}.get(delimiter, delimiter)
    raise ImportRefused(
        "CSV_MALFORMED",
        f"baris {row} berisi lebih banyak sel daripada {n} judul kolom; periksa pemisah ({name}) "
        "atau tanda kutip yang tidak berpasangan di baris itu",
        f"row {row} has more cells than the {n} column headers; check the separators ({name_en}) "
        "or unbalanced quotes on that row")


def _csv_fallback(buf: bytes, start: int, delimiter: str, skip: int, n: int, kept: list[int],
                  first_row: int, limits: ReaderLimits) -> pl.DataFrame:
    """Polars refused the CSV: find the row at fault with Python's csv module and refuse it,
    or, when Python reads it fine (e.g. a stray quote inside a field), read it that way."""
    _check_wide_lines(buf, n, delimiter)
    if csv.field_size_limit() <= limits.max_field:
        csv.field_size_limit(limits.max_field + 1)
    # Decoded as it is read: a StringIO of the whole file would hold four bytes a character.
    text = io.TextIOWrapper(io.BytesIO(buf), encoding="utf-8-sig" if start else "utf-8", newline="")
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    columns: list[list[str | None]] = [[] for _ in kept]
    extra: list[str | None] = []
    rows: list[int] = []
    index = 0
    line_before = 0
    while len(rows) <= limits.max_rows:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            _csv_error(exc, line_before + 1, reader.line_num)
        line_before = reader.line_num
        index += 1
        if index <= skip:
            continue
        row = first_row + index - skip - 1
        if len(record) > n and any(c.strip() for c in record[n:]):
            _ragged(row, n, delimiter)
        width = len(record)
        for column, j in zip(columns, kept, strict=True):
            column.append(record[j] if j < width else None)
        extra.append(None)
        rows.append(row)
    data = {f"c{j}": pl.Series(column, dtype=pl.String) for j, column in zip(kept, columns, strict=True)}
    data[f"c{n}"] = pl.Series(extra, dtype=pl.String)
    data["_row"] = pl.Series(rows, dtype=pl.Int64)
    return pl.DataFrame(data)


def _check_csv_memory(size: int, rows: int, kept: int, limits: ReaderLimits, per_byte: int, per_cell: int):
    """Refuses a CSV whose reading would take more than the memory budget."""
    memory = size * per_byte + rows * (kept + 2) * per_cell
    if memory > limits.max_memory:
        raise ImportRefused(
            "FILE_TOO_MANY_CELLS",
            f"{_count_id(rows)} baris berkas x {kept} kolom yang dipakai: membacanya perlu sekitar {_size_id(memory)} "
            f"memori, batasnya {_size_id(limits.max_memory)}; bagi daftar menjadi beberapa berkas",
            f"{rows:,} lines x {kept} columns used: reading it would take about {_size_en(memory)} of memory, "
            f"the limit is {_size_en(limits.max_memory)}; split the list into several files")


def _csv_error(exc: csv.Error, start_line: int, line: int):
    message = str(exc)
    if "field larger than field limit" in message:
        size = csv.field_size_limit()
        raise ImportRefused(
            "FIELD_TOO_LARGE",
            f"sebuah sel yang dimulai di baris berkas ke-{start_line} lebih dari {_count_id(size)} karakter",
            f"a cell starting on line {start_line} of the file is longer than {size:,} characters")
    if "unexpected end of data" in message:
        raise ImportRefused(
            "CSV_MALFORMED",
            f"tanda kutip (\") yang dibuka di baris berkas ke-{start_line} tidak pernah ditutup",
            f"a quote (\") opened on line {start_line} of the file is never closed")
    raise ImportRefused(
        "CSV_MALFORMED",
        f"tanda kutip (\") salah tempat di baris berkas ke-{line} ({message})",
        f"a misplaced quote (\") on line {line} of the file ({message})")


def _check_wide_lines(buf: bytes, n: int, delimiter: str):
    """Refuses a line with far more cells than headers before Python splits it into cells."""
    import numpy as np

    limit = n + _MAX_EXTRA_CELLS
    ends = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)
    starts = np.concatenate(([0], ends + 1))
    ends = np.concatenate((ends, [len(buf)]))
    separator = delimiter.encode()
    for i in np.flatnonzero(ends - starts > limit):
        cells = buf.count(separator, int(starts[i]), int(ends[i])) + 1
        if cells > limit:
            _too_many_cells(int(i) + 1, cells, n)


def _too_many_cells(line: int, cells: int, n: int):
    raise ImportRefused(
        "CSV_MALFORMED",
        f"baris berkas ke-{line} berisi {_count_id(cells)} sel, jauh lebih banyak daripada {n} judul kolom",
        f"line {line} of the file has {cells:,} cells, far more than the {n} column headers")


# --- XLSX / XLS ----------------------------------------------------------------------------


def _read_workbook(path: Path, fmt: str, sheet: str | None, mapping: dict[str, str] | None,
                   limits: ReaderLimits) -> ReadResult:
    if fmt == "xlsx":
        shape = _xlsx_shape(path, _check_zip(path, limits), limits)
    else:
        shape = _xls_shape(path, limits)
    if shape is not None:
        _check_shape(shape, limits)
    try:
        with open(path, "rb") as fh:
            workbook = python_calamine.CalamineWorkbook.from_filelike(fh)
    except python_calamine.PasswordError:
        raise ImportRefused(
            "XLSX_INVALID",
            "buku kerja dilindungi kata sandi; buka di Excel, hapus kata sandinya, lalu simpan ulang",
            "the workbook is password-protected; open it in Excel, remove the password and save it again") from None
    except Exception as exc:  # noqa: BLE001 - anything calamine cannot open is a damaged workbook
        _invalid(exc)
    with workbook:
        names = list(workbook.sheet_names)
        if not names:
            raise ImportRefused("XLSX_INVALID", "buku kerja tidak memiliki sheet", "the workbook has no sheet")
        chosen = _choose_sheet(workbook, names, sheet)
        try:
            grid = _ArrowGrid.read(path, chosen) if fmt == "xlsx" else _CellGrid(
                workbook.get_sheet_by_name(chosen).to_python(skip_empty_area=False))
        except Exception as exc:  # noqa: BLE001
            _invalid(exc, chosen)

    label = _xlsx_column_label
    top = grid.first_filled_row()
    if top is None:
        raise ImportRefused("FILE_EMPTY", f'sheet "{chosen}" tidak berisi data', f'the sheet "{chosen}" holds no data')

    # The header is the first non-empty row; if that row lacks a required column (a title
    # such as "DATA P3KE DESA ..." above the real header), the next few rows are tried.
    first_error = None
    for h in range(top, min(top + _TITLE_ROWS + 1, grid.height)):
        headers = [cell.strip() for cell in grid.row_text(h)]
        if h > top and not any(headers):
            continue
        try:
            _check_header_cells(headers, h + 1, label, limits)
            assigned, ignored = _assign(headers, mapping, label)
            break
        except ImportRefused as refusal:
            if h == top:
                if refusal.code != "MISSING_COLUMN":
                    raise
                first_error = refusal
    else:
        raise first_error

    columns: dict[str, pl.Series] = {}
    flags = []
    for field_name, j in assigned.items():
        columns[f"c{j}"] = grid.column_text(j, h + 1)
        if field_name in ("nik", "kk"):
            flags.append(f"_{field_name}_numeric")
            columns[flags[-1]] = grid.column_numeric(j, h + 1)
    rows = grid.height - h - 1
    columns["_row"] = pl.Series(range(h + 2, h + 2 + rows), dtype=pl.Int64)
    del grid
    frame = pl.DataFrame(columns)
    result = _finish(frame, assigned, headers, flags, limits,
                     empty_detail=(f'sheet "{chosen}": tidak ada baris data di bawah judul kolom (baris {h + 1})',
                                   f'sheet "{chosen}": there are no data rows below the header (row {h + 1})'))
    return ReadResult(frame=result, headers={f: headers[j] for f, j in _ordered(assigned)}, ignored=ignored,
                      format=fmt, encoding=None, delimiter=None, sheet=chosen)


class _CellGrid:
    """A sheet as python-calamine's cells (lists of Python values), for XLS: every cell's
    own type is at hand."""

    def __init__(self, rows: list[list]):
        self.rows = rows
        self.height = len(rows)

    def first_filled_row(self) -> int | None:
        return next((i for i, r in enumerate(self.rows) if any(v != "" for v in r)), None)

    def row_text(self, i: int) -> list[str]:
        return [_cell_text(v) for v in self.rows[i]]

    def _values(self, j: int, start: int) -> list:
        # calamine's ranges are rectangular: every row has every column.
        return list(map(itemgetter(j), self.rows[start:]))

    def column_text(self, j: int, start: int) -> pl.Series:
        values = self._values(j, start)
        return _text_series(values, set(map(type, values)))

    def column_numeric(self, j: int, start: int) -> pl.Series:
        return pl.Series([t is float or t is int for t in map(type, self._values(j, start))], dtype=pl.Boolean)


class _ArrowGrid:
    """A sheet read by fastexcel straight into Arrow, for XLSX: about twice as fast as Python
    cells (python-calamine's `to_python` makes an object of every cell), which is what a
    200,000-row workbook spends most of its time on.

    fastexcel gives one type per column, so the sheet is read twice, in parallel (the parser
    releases the GIL): as text, and as booleans, where only number and TRUE/FALSE cells give a
    value (text and date cells give none). That second read is the per-cell "was a number"
    fact NIK_EXCEL_MANGLED needs. The text of a date cell comes as "YYYY-MM-DD HH:MM:SS" and
    is cut to what _cell_text gives (the date; the time of a time-only cell); text typed in
    exactly that form is read the same way, the one difference from the XLS path."""

    _DATETIME = r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?$"
    _BOOLEAN_TEXT = ["true", "false"]  # how the text read gives a TRUE/FALSE cell

    def __init__(self, text: pl.DataFrame, kinds: pl.DataFrame, offset: int):
        self.names, self.offset, self.height = text.columns, offset, text.height
        self.cells = pl.concat([text, kinds.rename(lambda name: f"{name}_kind")], how="horizontal")

    @classmethod
    def read(cls, path: Path, sheet: str) -> _ArrowGrid:
        def load(dtype: str):
            # header_row=None and skip_rows=0: every row from the sheet's first, so row i is
            # spreadsheet row i + 1; leading empty columns are left out (`absolute_index`).
            loaded = fastexcel.read_excel(path).load_sheet(sheet, header_row=None, skip_rows=0, dtypes=dtype)
            columns = loaded.available_columns()
            return pl.DataFrame(loaded), (columns[0].absolute_index if columns else 0)

        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="kelambu-xlsx") as pool:
            as_text, as_bool = pool.submit(load, "string"), pool.submit(load, "boolean")
            (text, offset), (kinds, _) = as_text.result(), as_bool.result()
        return cls(text, kinds, offset)

    def first_filled_row(self) -> int | None:
        if not self.names or self.height == 0:
            return None
        filled = self.cells.select(pl.any_horizontal(pl.col(self.names).is_not_null()).arg_true().first()).item()
        return None if filled is None else int(filled)

    def _text(self, name: str, kind: str | None = None) -> pl.Expr:
        text, kind = pl.col(name), pl.col(kind or f"{name}_kind")
        stamp = text.str.extract_groups(self._DATETIME)
        date_part, time_part = stamp.struct.field("1"), stamp.struct.field("2")
        return (
            pl.when(kind.is_not_null() & text.is_in(self._BOOLEAN_TEXT)).then(text.str.to_uppercase())
            .when(kind.is_null() & date_part.is_not_null())
            .then(pl.when(date_part.is_in(["1899-12-30", "1899-12-31"])).then(time_part).otherwise(date_part))
            .otherwise(text).fill_null("").alias(name)
        )

    def _name(self, j: int) -> str:
        # j is a column with a header, so inside the cells read (row_text pads the left only).
        return self.names[j - self.offset]

    def row_text(self, i: int) -> list[str]:
        # One row turned into a column, so a sheet 16,000 columns wide is one expression, not
        # 16,000.
        cells = self.cells.row(i)
        width = len(self.names)
        row = pl.DataFrame({"text": cells[:width], "kind": cells[width:]}, schema={"text": pl.String, "kind": pl.Boolean})
        return [""] * self.offset + row.select(self._text("text", "kind")).to_series().to_list()

    def column_text(self, j: int, start: int) -> pl.Series:
        name = self._name(j)
        return self.cells.slice(start).select(self._text(name)).to_series()

    def column_numeric(self, j: int, start: int) -> pl.Series:
        name = self._name(j)
        numeric = pl.col(f"{name}_kind").is_not_null() & ~pl.col(name).is_in(self._BOOLEAN_TEXT)
        return self.cells.slice(start).select(numeric.alias(name)).to_series()


# --- the shape of a workbook, before it is read ----------------------------------------------
#
# calamine (under fastexcel and python-calamine) turns a sheet into a dense rectangle: every
# cell from the first used row to the last and from the first used column to the last takes
# ~32 bytes, each read, whatever the file's size; a shared string is copied into every cell
# that refers to it, and a number cell's text can be 300 characters. So the size of a file says
# little about the memory its reading takes (a 1.6 KB workbook with cells at A1 and XFD1048576
# asks for 550 GB). Before anything is handed to a parser, the XLSX is inflated here in bounded
# chunks (the sizes the zip declares are not trusted) and every cell reference counted with
# numpy; an XLS's records are walked (_xls_shape). The numbers are checked against the limits
# and the memory the read will need is estimated against the budget (_check_shape).


@dataclass
class SheetShape:
    """What a sheet (or the largest of a workbook's sheets) will cost to read."""

    rows: int  # rows of the used area, from the sheet's first row
    columns: int  # columns of the used area, from column A
    cells: int  # cells written in the file
    memory: int  # estimated bytes the read needs
    part: str = ""  # the zip part or XLS sheet it was measured on
    partial: bool = False  # counted on part of the sheet: "at least"

    @property
    def area(self) -> int:
        return self.rows * self.columns


# Memory model of one read, in bytes (measured, docs/PERFORMANCE.md "Reading is bounded in
# memory"). XLSX: two fastexcel reads run at once (text and the number flags), each holding
# calamine's cells (sparse list, then the dense range) and the Arrow columns made from them;
# the text is copied about three times on its way to a Polars frame.
_XLSX_PER_AREA_CELL = 2 * 32 + 48
_XLSX_PER_CELL = 2 * 40
_XLSX_PER_TEXT_BYTE = 3
_XLSX_PER_SHARED_BYTE = 3  # python-calamine and both fastexcel readers load the shared strings
_NUMBER_TEXT = 330  # the longest text a number cell can give ("1e308" is written out in full)
_XLS_PER_AREA_CELL = 32 + 8 + 16  # calamine's range, to_python's lists, a Polars column
_XLS_PER_CELL = 40 + 48
_XLS_PER_TEXT_BYTE = 4

_INFLATE_CHUNK = 4 << 20
_CARRY_MAX = 1 << 20
_TAG_WINDOW = 17
_PAD = bytes(64)
_CELL_END = np.zeros(256, dtype=bool)  # bytes that end an element name: whitespace, "/", ">"
_CELL_END[[9, 10, 13, 32, 47, 62]] = True
_NAME_BYTE = np.zeros(256, dtype=bool)
_NAME_BYTE[[*range(48, 58), *range(65, 91), *range(97, 123), 45, 46, 95]] = True
_SPACE = np.zeros(256, dtype=bool)
_SPACE[[9, 10, 13, 32]] = True
_POW10 = 10 ** np.arange(9, dtype=np.int64)


class _PartScan:
    """One zip part, fed in chunks: every `<c r="A1"` cell reference (positions, order), the
    shared-string index of each `t="s"` cell, number exponents, and `<si>` extents.

    calamine takes a cell's place from its own r attribute, so when every cell element starts
    `<c r="REF"` the places found here are a superset of calamine's: a tag inside an attribute
    or a comment only adds one. Cells written another way (no r, a prefix, r not first: no
    spreadsheet program does that) would need calamine's row and column counters: such a sheet
    is refused rather than guessed at."""

    def __init__(self, name: str):
        self.name = name
        self.size = 0
        self.cells = 0
        self.max_row = -1
        self.max_col = -1
        self.first_key = -1
        self.last_key = -1
        self.ordered = True
        self.unusual = ""
        self.has_sheet = False
        self.shared: list[np.ndarray] = []  # t="s" cells' indexes into the shared strings
        self.shared_exact = True
        self.exponents = 0
        self.si_starts: list[np.ndarray] = []
        self.si_ends: list[np.ndarray] = []
        self.si_prefixed = False
        self._carry = b""
        self._offset = 0  # position in the part of self._carry's first byte
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list = []

    def feed(self, chunk: bytes, final: bool = False, pool: ThreadPoolExecutor | None = None):
        """Scans the chunk's complete tags, in `pool` when given (numpy releases the GIL, so
        two chunks are scanned at once while the next is inflated), in order of the part."""
        buf = self._carry + chunk if self._carry else chunk
        if final:
            cut = len(buf)
        else:
            cut = buf.rfind(b"<")
            if cut >= 0 and buf.startswith(b"<v>", cut):
                cut = buf.rfind(b"<", 0, cut)  # keep a cell's tag with its value
            if cut < 0 or len(buf) - cut > _CARRY_MAX:
                cut = max(len(buf) - 64, 0) if cut < 0 else len(buf)
        if not self.has_sheet and b"sheetData" in buf:
            self.has_sheet = True
        if cut:
            # Look-ahead past `cut` reads the carried bytes, or padding at the end.
            a = np.frombuffer(buf if len(buf) - cut >= len(_PAD) else buf + _PAD, dtype=np.uint8)
            piece = _PartScan(self.name)
            piece._offset = self._offset
            if pool is None:
                piece._scan(buf, a, cut)
                self._merge(piece)
            else:
                self._pending.append((pool.submit(piece._scan, buf, a, cut), piece))
        self._offset += cut
        self._carry = buf[cut:]
        while self._pending and (final or len(self._pending) > 2 or self._pending[0][0].done()):
            future, piece = self._pending.pop(0)
            future.result()
            self._merge(piece)

    def _merge(self, piece: _PartScan):
        self.size += piece.size
        if piece.cells:
            if piece.first_key < self.last_key or not piece.ordered:
                self.ordered = False
            self.last_key = piece.last_key
            self.max_row = max(self.max_row, piece.max_row)
            self.max_col = max(self.max_col, piece.max_col)
        self.cells += piece.cells
        self.unusual = self.unusual or piece.unusual
        self.shared += piece.shared
        self.shared_exact = self.shared_exact and piece.shared_exact
        self.exponents += piece.exponents
        self.si_starts += piece.si_starts
        self.si_ends += piece.si_ends
        self.si_prefixed = self.si_prefixed or piece.si_prefixed

    def _scan(self, buf: bytes, a: np.ndarray, n: int):
        self.size += n
        body = a[:n]
        lt = np.flatnonzero(body == 60)
        nb1 = a[lt + 1]

        colons = np.flatnonzero(body == 58)
        if len(colons):
            self._prefixed(a, lt, colons)

        # <si> extents, for the shared-strings part (lengths bound each string's text)
        # (a chunk holding only the end of a string longer than the chunk loses that end:
        # the lengths then cannot be paired, and the estimate takes the part's whole size)
        s_tags = lt[nb1 == 115]
        if len(s_tags):
            si = s_tags[(a[s_tags + 2] == 105) & _CELL_END[a[s_tags + 3]]]
            if len(si):
                self.si_starts.append(si + self._offset)
                ends = lt[nb1 == 47]
                si_end = ends[(a[ends + 2] == 115) & (a[ends + 3] == 105) & (a[ends + 4] == 62)]
                self.si_ends.append(si_end + self._offset)

        c_tags = lt[nb1 == 99]
        if len(c_tags):
            cell = c_tags[_CELL_END[a[c_tags + 2]]]
            if len(cell):
                self._cells(buf, a, n, cell)

        # Exponents: an E or e after a digit or point, before a digit or sign (1E+308, 5e-324).
        e = np.flatnonzero((body | 32) == 101)
        if len(e):
            e = e[e > 0]
            before, after = a[e - 1], a[e + 1]
            self.exponents += int(np.count_nonzero((((before - 48) < 10) | (before == 46))
                                                   & (((after - 48) < 10) | (after == 43) | (after == 45))))

    def _prefixed(self, a: np.ndarray, lt: np.ndarray, colons: np.ndarray):
        """Elements written with a namespace prefix (<x:c>): calamine ignores prefixes."""
        after_c = (a[colons + 1] == 99) & _CELL_END[a[colons + 2]]
        after_si = (a[colons + 1] == 115) & (a[colons + 2] == 105) & _CELL_END[a[colons + 3]]
        for q in colons[after_c | after_si]:
            k = int(np.searchsorted(lt, q)) - 1
            if k < 0:
                continue
            start = int(lt[k]) + 1 + (a[lt[k] + 1] == 47)
            if start < q and bool(_NAME_BYTE[a[start:q]].all()):
                if a[q + 1] == 99:
                    self.unusual = self.unusual or "prefixed"
                else:
                    self.si_prefixed = True

    def _cells(self, buf: bytes, a: np.ndarray, n: int, cell: np.ndarray):
        count = len(cell)
        self.cells += count
        windows = np.lib.stride_tricks.sliding_window_view(a, _TAG_WINDOW)
        tag = windows[cell]  # '<c r="A1" s="2" t="s">': the first bytes of each cell's tag
        if not ((tag[:, 2] == 32) & (tag[:, 3] == 114) & (tag[:, 4] == 61) & (tag[:, 5] == 34)).all():
            self.unusual = self.unusual or "no-reference"
            return
        upper = tag[:, 6:10] & 0xDF
        letter = (upper - 65) < 26
        letters = np.argmin(letter, axis=1)  # four letters give 0: refused below
        # The row's digits, as a key that orders like the number (no leading zeros): how
        # many digits, then the digits themselves, big-endian.
        row_bytes = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(a, 8)[cell + 6 + letters])
        is_digit = (row_bytes - 48) < 10
        digits = np.argmin(is_digit, axis=1)
        row_bytes[~(np.arange(8) < digits[:, None])] = 0
        closing = tag[np.arange(count), np.minimum(6 + letters + digits, 16)]
        good = ((letters >= 1) & (letters <= 3) & (digits >= 1) & (digits <= 7) & (closing == 34)
                & (row_bytes[:, 0] != 48))
        if not good.all():
            self.unusual = self.unusual or "reference"
            return
        key = (row_bytes.view(">u8")[:, 0] >> np.uint64(8)) | (digits.astype(np.uint64) << np.uint64(56))
        col = upper[:, 0].astype(np.int64) - 64
        col = np.where(letters >= 2, col * 26 + upper[:, 1] - 64, col)
        col = np.where(letters == 3, col * 26 + upper[:, 2] - 64, col)
        if self.first_key < 0:
            self.first_key = int(key[0])
        if self.ordered and (int(key[0]) < self.last_key or (count > 1 and bool((key[1:] < key[:-1]).any()))):
            self.ordered = False
        self.last_key = int(key[-1])
        self.max_row = max(self.max_row, _key_row(int(key.max())))
        self.max_col = max(self.max_col, int(col.max()) - 1)

        if self.shared_exact:
            self._shared(a, n, cell)

    def _shared(self, a: np.ndarray, n: int, cell: np.ndarray):
        """Indexes of t="s" cells. calamine compares the raw value with s, so every such cell
        holds the bytes "s" or 's'; each "s" found after ` t=` is taken as its cell's type
        and the index read from the <v>index</v> that ends the tag. A t written another way
        (t = "s", t='s') makes the estimate take every cell as the longest shared string:
        never fewer bytes than calamine will copy."""
        body = a[:n]
        apostrophe = np.flatnonzero(body == 39)
        if len(apostrophe) and bool(((a[apostrophe + 1] == 115) & (a[apostrophe + 2] == 39)).any()):
            self.shared_exact = False
            return
        quote = np.flatnonzero(body == 34)
        quote = quote[(a[quote + 1] == 115) & (a[quote + 2] == 34)]
        quote = quote[quote >= 3]
        if not len(quote):
            return
        before = a[quote - 1]
        if bool((_SPACE[before] | ((before == 61) & _SPACE[a[quote - 2]])).any()):
            self.shared_exact = False  # t = "s"
            return
        quote = quote[(before == 61) & (a[quote - 2] == 116) & _SPACE[a[quote - 3]]]
        if not len(quote):
            return
        gt = np.flatnonzero(body == 62)
        at = np.searchsorted(gt, quote)
        if int(at.max()) >= len(gt):
            self.shared_exact = False
            return
        end = gt[at]
        end = end[a[end - 1] != 47]  # <c r="A1" t="s"/>: empty
        if not len(end):
            return
        window = np.lib.stride_tricks.sliding_window_view(a, 15)[end + 1]  # "<v>123</v>"
        if not ((window[:, 0] == 60) & (window[:, 1] == 118) & (window[:, 2] == 62)).all():
            self.shared_exact = False
            return
        number = window[:, 3:15]
        is_digit = (number - 48) < 10
        digits = np.argmin(is_digit, axis=1)
        if not ((digits >= 1) & (digits <= 10) & (number[np.arange(len(number)), digits] == 60)).all():
            self.shared_exact = False
            return
        value = np.where(is_digit & (np.arange(12) < digits[:, None]), number - 48, 0).astype(np.int64)
        pow10 = 10 ** np.arange(12, dtype=np.int64)
        self.shared.append((value @ pow10[::-1]) // pow10[12 - digits])

    def string_lengths(self) -> np.ndarray | None:
        """Bytes of each <si> of this part (an upper bound of its text), or None when they
        cannot be paired."""
        if self.si_prefixed:
            return None
        starts = np.concatenate(self.si_starts) if self.si_starts else np.zeros(0, dtype=np.int64)
        ends = np.concatenate(self.si_ends) if self.si_ends else np.zeros(0, dtype=np.int64)
        if len(starts) != len(ends):
            return None
        if len(starts) and (bool((ends <= starts).any()) or bool((starts[1:] <= ends[:-1]).any())):
            return None
        return ends - starts


def _key_row(key: int) -> int:
    """The 0-based row of a _PartScan._cells row key."""
    digits = key >> 56
    return int(((key & ((1 << 56) - 1)) << 8).to_bytes(8, "big")[:digits]) - 1


def _zip_parts(path: Path, infos: list[zipfile.ZipInfo], limits: ReaderLimits):
    """(info, chunk) for every part, inflated from the raw bytes in a background thread
    (zlib releases the GIL), then (info, None) at each part's end. The sizes the zip
    declares are not trusted: what comes out is measured against the limits as it comes."""
    out: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()

    def put(item):
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            total = 0
            with open(path, "rb") as fh:
                for info in infos:
                    for chunk in _inflate(fh, info, limits):
                        total += len(chunk)
                        if total > limits.xlsx_max_unpacked:
                            raise ImportRefused(
                                "XLSX_BOMB",
                                f"isinya lebih dari {_size_id(limits.xlsx_max_unpacked)} setelah dibuka, "
                                f"batasnya {_size_id(limits.xlsx_max_unpacked)}",
                                f"it unpacks to more than {_size_en(limits.xlsx_max_unpacked)}, the limit is "
                                f"{_size_en(limits.xlsx_max_unpacked)}")
                        if not put((info, chunk)):
                            return
                    if not put((info, None)):
                        return
            put(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            put(exc)

    worker = threading.Thread(target=produce, name="kelambu-xlsx-inflate", daemon=True)
    worker.start()
    try:
        while (item := out.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _inflate(fh, info: zipfile.ZipInfo, limits: ReaderLimits):
    """One zip part's bytes as they really inflate, in chunks of at most _INFLATE_CHUNK; a
    part that expands past the ratio limit is refused as soon as it does."""
    damaged = ImportRefused(
        "XLSX_INVALID",
        f'bagian "{info.filename}" di dalam arsip rusak; simpan ulang dari Excel',
        f'the part "{info.filename}" of the archive is damaged; save it again from Excel')
    if info.flag_bits & 0x1:
        raise ImportRefused(
            "XLSX_INVALID",
            "buku kerja dilindungi kata sandi; buka di Excel, hapus kata sandinya, lalu simpan ulang",
            "the workbook is password-protected; open it in Excel, remove the password and save it again")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ImportRefused(
            "XLSX_INVALID",
            f'bagian "{info.filename}" dimampatkan dengan cara yang tidak dipakai Excel; simpan ulang dari Excel',
            f'the part "{info.filename}" is compressed in a way Excel does not use; save it again from Excel')
    fh.seek(info.header_offset)
    header = fh.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise damaged
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    left = info.compress_size
    produced = 0
    if info.compress_type == zipfile.ZIP_STORED:
        while left > 0:
            data = fh.read(min(left, _INFLATE_CHUNK))
            if not data:
                raise damaged
            left -= len(data)
            produced += len(data)
            yield data
    else:
        inflater = zlib.decompressobj(-15)
        try:
            while left > 0 and not inflater.eof:
                data = fh.read(min(left, 1 << 20))
                if not data:
                    raise damaged
                left -= len(data)
                while data:
                    out = inflater.decompress(data, _INFLATE_CHUNK)
                    data = inflater.unconsumed_tail
                    if out:
                        produced += len(out)
                        _check_ratio(info, produced, limits)
                        yield out
                    if inflater.eof:
                        break
        except zlib.error:
            raise damaged from None
        if not inflater.eof:
            raise damaged
    if produced != info.file_size:
        raise ImportRefused(
            "XLSX_INVALID",
            f'ukuran bagian "{info.filename}" yang tercatat di arsip ({_size_id(info.file_size)}) tidak sama dengan '
            f"isinya ({_size_id(produced)}); simpan ulang dari Excel",
            f'the archive records the part "{info.filename}" as {_size_en(info.file_size)} but it holds '
            f"{_size_en(produced)}; save it again from Excel")


def _xlsx_shape(path: Path, infos: list[zipfile.ZipInfo], limits: ReaderLimits) -> SheetShape | None:
    """The largest sheet of an XLSX, from every part inflated and scanned (any part can be a
    sheet: the workbook's relationships, not its name, say which). None: no sheet data."""
    scans: dict[str, _PartScan] = {}
    parts = _zip_parts(path, infos, limits)
    with closing(parts), ThreadPoolExecutor(max_workers=2, thread_name_prefix="kelambu-xlsx-scan") as pool:
        for info, chunk in parts:
            scan = scans.get(info.filename)
            if scan is None:
                scan = scans[info.filename] = _PartScan(info.filename)
            if chunk is None:
                scan.feed(b"", final=True, pool=pool)
                _check_ratio(info, scan.size, limits)
            else:
                scan.feed(chunk, pool=pool)
                if scan.has_sheet and scan.cells:
                    _check_partial(scan, limits)

    lengths = [scan.string_lengths() for scan in scans.values() if scan.si_starts or scan.si_ends]
    shared_bytes = sum(scan.size for scan in scans.values() if scan.si_starts or scan.si_ends)
    if any(length is None for length in lengths):
        longest_shared, table = max(shared_bytes, 1), None
    else:
        size = max((len(length) for length in lengths), default=0)
        table = np.zeros(size + 1, dtype=np.int64)  # the last slot: an index out of range
        for length in lengths:
            np.maximum(table[: len(length)], length, out=table[: len(length)])
        longest_shared = int(table.max(initial=0))

    worst: SheetShape | None = None
    for scan in scans.values():
        if not scan.has_sheet or not scan.cells:
            continue
        _check_cells_written(scan)
        if not scan.ordered:
            raise ImportRefused(
                "XLSX_INVALID",
                f'baris-baris di "{scan.name}" tidak berurutan; buka di Excel lalu simpan ulang sebagai .xlsx',
                f'the rows of "{scan.name}" are out of order; open it in Excel and save it again as .xlsx')
        _check_partial(scan, limits)
        if scan.shared_exact and table is not None:
            indexes = np.concatenate(scan.shared) if scan.shared else np.zeros(0, dtype=np.int64)
            shared_text = int(table[np.minimum(indexes, len(table) - 1)].sum())
        else:
            shared_text = scan.cells * longest_shared
        text = scan.size + scan.exponents * _NUMBER_TEXT + shared_text
        shape = SheetShape(rows=scan.max_row + 1, columns=scan.max_col + 1, cells=scan.cells, memory=0,
                           part=scan.name)
        shape.memory = (shape.area * _XLSX_PER_AREA_CELL + shape.cells * _XLSX_PER_CELL
                        + text * _XLSX_PER_TEXT_BYTE + shared_bytes * _XLSX_PER_SHARED_BYTE)
        if worst is None or shape.memory > worst.memory:
            worst = shape
    return worst


def _check_ratio(info: zipfile.ZipInfo, size: int, limits: ReaderLimits):
    if size > _ZIP_ENTRY_RATIO_FLOOR and size > limits.xlsx_max_ratio * max(info.compress_size, 1):
        ratio = size // max(info.compress_size, 1)
        raise ImportRefused(
            "XLSX_BOMB",
            f'bagian "{info.filename}" membengkak {_count_id(ratio)} kali ({_size_id(info.compress_size)} menjadi '
            f"{_size_id(size)}; batasnya {limits.xlsx_max_ratio} kali)",
            f'the part "{info.filename}" expands {ratio:,} times ({_size_en(info.compress_size)} to '
            f"{_size_en(size)}; the limit is {limits.xlsx_max_ratio} times)")


def _check_cells_written(scan: _PartScan):
    if scan.unusual:
        raise ImportRefused(
            "XLSX_INVALID",
            f'sel di "{scan.name}" tidak ditulis seperti yang dilakukan Excel (setiap sel harus menyebut '
            "alamatnya, misalnya r=\"A1\"); buka di Excel lalu simpan ulang sebagai .xlsx",
            f'the cells of "{scan.name}" are not written the way Excel writes them (every cell must give its '
            'address, e.g. r="A1"); open it in Excel and save it again as .xlsx')


def _check_partial(scan: _PartScan, limits: ReaderLimits):
    """The limits a sheet's cells already break, while it is still being scanned."""
    _check_cells_written(scan)
    _check_shape(SheetShape(rows=scan.max_row + 1, columns=scan.max_col + 1, cells=scan.cells, memory=0,
                            part=scan.name, partial=True), limits)


def _check_shape(shape: SheetShape, limits: ReaderLimits, label=None):
    """Refuses a sheet above a limit; the message says which, what it is and what to do."""
    label = label or _xlsx_column_label
    least_id, least_en = ("paling sedikit ", "at least ") if shape.partial else ("", "")
    if shape.rows > limits.max_rows:
        raise ImportRefused(
            "FILE_TOO_MANY_ROWS",
            f"sel yang terisi sampai {least_id}baris {_count_id(shape.rows)}, batasnya {_count_id(limits.max_rows)} baris; "
            "bagi daftar menjadi beberapa berkas (atau hapus isi di bawah daftar)",
            f"the sheet's cells reach {least_en}row {shape.rows:,}, the limit is {limits.max_rows:,} rows; "
            "split the list into several files (or delete what is below the list)")
    if shape.columns > limits.max_columns:
        col_id, col_en = label(shape.columns - 1)
        raise ImportRefused(
            "FILE_TOO_MANY_COLUMNS",
            f"sel yang terisi sampai {col_id} ({_count_id(shape.columns)} kolom), batasnya "
            f"{_count_id(limits.max_columns)} kolom; hapus kolom di sebelah kanan daftar",
            f"the sheet's cells reach {col_en} ({shape.columns:,} columns), the limit is "
            f"{limits.max_columns:,} columns; delete the columns to the right of the list")
    if shape.area > limits.max_cells:
        raise ImportRefused(
            "FILE_TOO_MANY_CELLS",
            f"bagian yang terisi {least_id}{_count_id(shape.rows)} baris x {_count_id(shape.columns)} kolom = "
            f"{_count_id(shape.area)} sel, batasnya {_count_id(limits.max_cells)} sel; bagi daftar menjadi beberapa "
            "berkas atau hapus kolom yang tidak dipakai",
            f"the sheet's used area is {least_en}{shape.rows:,} rows x {shape.columns:,} columns = {shape.area:,} cells, "
            f"the limit is {limits.max_cells:,} cells; split the list into several files or delete unused columns")
    if shape.memory > limits.max_memory:
        raise ImportRefused(
            "FILE_TOO_MANY_CELLS",
            f"membacanya perlu sekitar {_size_id(shape.memory)} memori, batasnya {_size_id(limits.max_memory)}; "
            "bagi daftar menjadi beberapa berkas",
            f"reading it would take about {_size_en(shape.memory)} of memory, the limit is "
            f"{_size_en(limits.max_memory)}; split the list into several files")


def _check_zip(path: Path, limits: ReaderLimits) -> list[zipfile.ZipInfo]:
    """Refuses a zip bomb from the central directory alone, before anything is inflated
    (what the parts really inflate to is measured afterwards, by _xlsx_shape)."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except Exception as exc:  # noqa: BLE001 - BadZipFile, truncated archive, bad zip64 records...
        raise ImportRefused(
            "XLSX_INVALID",
            f"arsip ZIP di dalam berkas rusak atau terpotong ({exc}); simpan ulang dari Excel",
            f"the file's ZIP structure is damaged or truncated ({exc}); save it again from Excel") from None
    if len(infos) > _MAX_ZIP_ENTRIES:
        raise ImportRefused("XLSX_BOMB", f"arsip berisi {_count_id(len(infos))} bagian",
                            f"the archive has {len(infos):,} parts")
    seen: set[str] = set()
    for info in infos:  # calamine finds parts by name, ignoring case: two would be ambiguous
        key = info.filename.lower()
        if key in seen:
            raise ImportRefused(
                "XLSX_INVALID",
                f'arsip berisi dua bagian bernama "{info.filename}"; simpan ulang dari Excel',
                f'the archive holds two parts named "{info.filename}"; save it again from Excel')
        seen.add(key)
    total = sum(i.file_size for i in infos)
    if total > limits.xlsx_max_unpacked:
        raise ImportRefused(
            "XLSX_BOMB",
            f"isinya akan menjadi {_size_id(total)} setelah dibuka, batasnya {_size_id(limits.xlsx_max_unpacked)}",
            f"it would unpack to {_size_en(total)}, the limit is {_size_en(limits.xlsx_max_unpacked)}")
    for info in infos:
        if info.file_size > _ZIP_ENTRY_RATIO_FLOOR and info.file_size > limits.xlsx_max_ratio * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise ImportRefused(
                "XLSX_BOMB",
                f'bagian "{info.filename}" membengkak {_count_id(ratio)} kali ({_size_id(info.compress_size)} menjadi '
                f"{_size_id(info.file_size)}; batasnya {limits.xlsx_max_ratio} kali)",
                f'the part "{info.filename}" expands {ratio:,} times ({_size_en(info.compress_size)} to '
                f"{_size_en(info.file_size)}; the limit is {limits.xlsx_max_ratio} times)")
    return infos


def _invalid(exc: Exception, sheet: str | None = None):
    where_id = f'sheet "{sheet}" ' if sheet else "buku kerja "
    where_en = f'the sheet "{sheet}" ' if sheet else "the workbook "
    technical = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    raise ImportRefused(
        "XLSX_INVALID",
        f"{where_id}tidak dapat dibaca ({technical}); buka di Excel lalu simpan ulang sebagai .xlsx",
        f"{where_en}cannot be read ({technical}); open it in Excel and save it again as .xlsx") from None


def _choose_sheet(workbook, names: list[str], sheet: str | None) -> str:
    if sheet is not None:
        if sheet in names:
            return sheet
        folded = [n for n in names if n.strip().casefold() == sheet.strip().casefold()]
        if len(folded) == 1:
            return folded[0]
        listed = ", ".join(f'"{n}"' for n in names)
        raise ImportRefused("SHEET_NOT_FOUND", f'tidak ada sheet "{sheet}"; sheet yang ada: {listed}',
                            f'there is no sheet "{sheet}"; the workbook has: {listed}')
    try:  # the first visible worksheet: templates often hide a lookup sheet in front
        for meta in workbook.sheets_metadata:
            if (meta.visible == python_calamine.SheetVisibleEnum.Visible
                    and meta.typ == python_calamine.SheetTypeEnum.WorkSheet):
                return meta.name
    except Exception:  # noqa: BLE001 - metadata is a convenience only
        pass
    return names[0]


def _xlsx_column_label(j: int) -> tuple[str, str]:
    letters = ""
    j += 1
    while j:
        j, rest = divmod(j - 1, 26)
        letters = chr(65 + rest) + letters
    return f"kolom {letters}", f"column {letters}"


def _cell_text(value) -> str:
    """One spreadsheet cell as text: numbers in their shortest exact form, dates as YYYY-MM-DD."""
    kind = type(value)
    if kind is str:
        return value
    if kind is float:
        if value.is_integer():
            return str(int(value))
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        return format(Decimal(repr(value)), "f")
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is int:
        return str(value)
    if kind is dt.datetime:
        return value.date().isoformat()
    if kind is dt.date:
        return value.isoformat()
    if kind is dt.time:
        return value.isoformat()
    if value is None:
        return ""
    return str(value)


def _text_series(values: list, types: set[type]) -> pl.Series:
    """A column of cells as text; `types` are the cells' Python types."""
    if types <= {str}:
        return pl.Series(values, dtype=pl.String)
    if types <= {str, float}:  # the common mixed case, without a call per cell
        return pl.Series([v if type(v) is str else str(int(v)) if v.is_integer() else _cell_text(v)
                          for v in values], dtype=pl.String)
    return pl.Series([v if type(v) is str else _cell_text(v) for v in values], dtype=pl.String)


# --- shared --------------------------------------------------------------------------------


def _check_header_cells(headers: list[str], row: int, label, limits: ReaderLimits):
    for j, header in enumerate(headers):
        if len(header) > limits.max_field:
            col_id, col_en = label(j)
            raise ImportRefused(
                "FIELD_TOO_LARGE",
                f"judul {col_id} di baris {row} panjangnya {_count_id(len(header))} karakter "
                f"(paling banyak {_count_id(limits.max_field)})",
                f"the header of {col_en} in row {row} is {len(header):,} characters long "
                f"(at most {limits.max_field:,})")


def _assign(headers: list[str], mapping: dict[str, str] | None, label) -> tuple[dict[str, int], list[str]]:
    """Canonical field -> column index, and the headers of the columns not used."""
    keys = [header_key(h) for h in headers]
    position: dict[str, int] = {}
    for j, key in enumerate(keys):
        if not key:
            continue
        if key in position:
            first = position[key]
            a_id, a_en = label(first)
            b_id, b_en = label(j)
            raise ImportRefused(
                "DUPLICATE_HEADER",
                f'judul "{headers[first]}" ({a_id}) dan "{headers[j]}" ({b_id}) sama; hapus atau ganti nama salah satunya',
                f'the headers "{headers[first]}" ({a_en}) and "{headers[j]}" ({b_en}) are the same; '
                "delete or rename one of them")
        position[key] = j

    assigned: dict[str, int] = {}
    for field_name, header in (mapping or {}).items():
        j = position.get(header_key(header))
        if j is None:
            raise ImportRefused(
                "MISSING_COLUMN",
                f'pemetaan kolom menyebut judul "{header}" untuk {field_name}, tetapi berkas tidak memiliki kolom itu; '
                f"judul kolom di berkas ini: {_list_headers(headers)}",
                f'the column mapping names the header "{header}" for {field_name}, but the file has no such column; '
                f"the file's headers are: {_list_headers(headers)}")
        assigned[field_name] = j
    claimed = set(assigned.values())

    found: dict[str, list[int]] = {}
    for j, header in enumerate(headers):
        if j in claimed or not keys[j]:
            continue
        field_name = field_for_header(header)
        if field_name is not None and field_name not in assigned:
            found.setdefault(field_name, []).append(j)
    for field_name, columns in found.items():
        if len(columns) > 1:
            named_id = " dan ".join(f'"{headers[j]}" ({label(j)[0]})' for j in columns)
            named_en = " and ".join(f'"{headers[j]}" ({label(j)[1]})' for j in columns)
            raise ImportRefused(
                "DUPLICATE_HEADER",
                f"kolom {named_id} sama-sama berarti {field_name}; hapus salah satunya, "
                "atau pilih satu dengan berkas pemetaan kolom",
                f"the columns {named_en} both mean {field_name}; delete one of them, "
                "or choose one with a column-mapping file")
        assigned[field_name] = columns[0]

    missing = [f for f in REQUIRED if f not in assigned]
    if missing:
        wanted_id = "; ".join(f"{f} (judul yang diterima: {', '.join(ALIASES[f])})" for f in missing)
        wanted_en = "; ".join(f"{f} (accepted headers: {', '.join(ALIASES[f])})" for f in missing)
        raise ImportRefused(
            "MISSING_COLUMN",
            f"tidak ada kolom untuk {wanted_id}. Judul kolom di berkas ini: {_list_headers(headers)}. "
            "Ganti judul kolomnya atau gunakan berkas pemetaan kolom",
            f"no column for {wanted_en}. The file's headers are: {_list_headers(headers)}. "
            "Rename the column or use a column-mapping file")
    used = set(assigned.values())
    ignored = [h for j, h in enumerate(headers) if j not in used and h]
    return assigned, ignored


def _list_headers(headers: list[str]) -> str:
    shown = [f'"{h}"' for h in headers if h]
    if not shown:
        return "(tidak ada / none)"
    more = len(shown) - _SHOWN_HEADERS
    return ", ".join(shown[:_SHOWN_HEADERS]) + (f", ... (+{more})" if more > 0 else "")


def _ordered(assigned: dict[str, int]) -> list[tuple[str, int]]:
    return [(f, assigned[f]) for f in FIELDS if f in assigned]


def _finish(frame: pl.DataFrame, assigned: dict[str, int], headers: list[str], flags: list[str],
            limits: ReaderLimits, empty_detail: tuple[str, str]) -> pl.DataFrame:
    """Canonical names, stripped text with empty as null, blank rows dropped, cells checked.
    `frame` holds the kept columns as c<index>, `_row` and the numeric-cell flags."""
    order = _ordered(assigned)
    columns = []
    for field_name, j in order:
        text = pl.col(f"c{j}").str.strip_chars()
        columns.append(text.replace("", None).alias(field_name))
    flags = sorted(flags, key=lambda f: f != "_nik_numeric")  # _nik_numeric, then _kk_numeric
    frame = frame.select(columns + [pl.col("_row")] + [pl.col(f).cast(pl.Boolean) for f in flags])

    fields = [f for f, _ in order]
    longest = frame.select([pl.col(f).str.len_chars().max() for f in fields]).row(0)
    over = [f for f, size in zip(fields, longest, strict=True) if size is not None and size > limits.max_field]
    if over:
        hits = frame.filter(pl.any_horizontal([pl.col(f).str.len_chars() > limits.max_field for f in over])).head(1)
        row = hits["_row"][0]
        field_name = next(f for f in over if (hits[f][0] or "") and len(hits[f][0]) > limits.max_field)
        header = headers[assigned[field_name]]
        size = len(hits[field_name][0])
        raise ImportRefused(
            "FIELD_TOO_LARGE",
            f'baris {row}, kolom "{header}": {_count_id(size)} karakter (paling banyak {_count_id(limits.max_field)})',
            f'row {row}, column "{header}": {size:,} characters (at most {limits.max_field:,})')

    frame = frame.filter(pl.any_horizontal([pl.col(f).is_not_null() for f in fields]))
    if frame.height == 0:
        raise ImportRefused("FILE_NO_ROWS", *empty_detail)
    return frame


def _count_id(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _size_en(n: int) -> str:
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


def _size_id(n: int) -> str:
    return _size_en(n).replace(".", ",").replace("bytes", "bita")



# --- the shape of an XLS ---------------------------------------------------------------------

_CFB_FREE = {0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFC}
_XLS_CELLS = {0x0203: "number", 0x0204: "label", 0x0205: "boolerr", 0x027E: "rk", 0x00FD: "labelsst",
              0x00BD: "mulrk", 0x0006: "formula"}


def _xls_shape(path: Path, limits: ReaderLimits) -> SheetShape | None:
    """An XLS's largest sheet, from its Workbook stream's records. calamine parses every sheet
    when the file is opened, reserving what the DIMENSIONS and SST records claim and reading
    the compound file's chains as they say, so all of that is checked here first."""
    stream = _cfb_stream(path)
    damaged = ImportRefused("XLSX_INVALID", "buku kerja XLS rusak; buka di Excel lalu simpan ulang sebagai .xlsx",
                            "the XLS workbook is damaged; open it in Excel and save it again as .xlsx")
    sst_lengths: list[int] = []
    sheets: list[dict] = []
    sheet: dict | None = None
    pos, end = 0, len(stream)
    records = []  # (type, data) of the SST and the CONTINUE records after it
    in_sst = False
    while pos + 4 <= end:
        typ, size = struct.unpack_from("<HH", stream, pos)
        data = stream[pos + 4: pos + 4 + size]
        pos += 4 + size
        if in_sst:
            if typ == 0x003C:
                records.append(data)
                continue
            sst_lengths = _sst_lengths(records, damaged)
            in_sst = False
        if typ == 0x002F and sheet is not None and len(sheets) == 1:
            return None  # FilePass: encrypted; calamine says so before it reads any sheet
        if typ == 0x0809:  # BOF: a new substream (the globals, then each sheet)
            sheet = {"rows": 0, "cols": 0, "cells": 0, "text": 0, "numbers": 0, "declared": 0}
            sheets.append(sheet)
        elif typ == 0x00FC:
            if len(data) < 8:
                raise damaged
            records, in_sst = [data], True
        elif sheet is None:
            continue
        elif typ == 0x0200:
            if len(data) == 10:
                rf, rl, cf, cl = struct.unpack_from("<HHHH", data)
            elif len(data) == 14:
                rf, rl, cf, cl = struct.unpack_from("<IIHH", data)
            else:
                raise damaged
            if rl < rf or cl < cf:
                raise damaged
            sheet["declared"] = max(sheet["declared"], (rl - rf) * (cl - cf))
        elif typ in _XLS_CELLS:
            if len(data) < 6:
                raise damaged
            row, col = struct.unpack_from("<HH", data)
            last = col
            kind = _XLS_CELLS[typ]
            if kind == "mulrk":
                (last,) = struct.unpack_from("<H", data, len(data) - 2)
                if last < col:
                    raise damaged
                sheet["cells"] += last - col + 1
                sheet["numbers"] += last - col + 1
            else:
                sheet["cells"] += 1
            if kind == "labelsst" and len(data) >= 10:
                (index,) = struct.unpack_from("<I", data, 6)
                sheet["text"] += 3 * (sst_lengths[index] if index < len(sst_lengths) else 0)
            elif kind == "label" and len(data) >= 8:
                sheet["text"] += 3 * struct.unpack_from("<H", data, 6)[0]
            elif kind in ("number", "rk", "formula"):
                sheet["numbers"] += 1
            sheet["rows"] = max(sheet["rows"], row + 1)
            sheet["cols"] = max(sheet["cols"], last + 1)
        elif typ == 0x0207 and len(data) >= 2:  # a formula's string value
            sheet["text"] += 3 * struct.unpack_from("<H", data)[0]
    if in_sst:
        sst_lengths = _sst_lengths(records, damaged)
    worst = None
    for found in sheets:
        if found["declared"] > limits.max_cells:
            raise ImportRefused(
                "FILE_TOO_MANY_CELLS",
                f"sheet menyatakan {_count_id(found['declared'])} sel, batasnya {_count_id(limits.max_cells)} sel; "
                "bagi daftar menjadi beberapa berkas",
                f"a sheet declares {found['declared']:,} cells, the limit is {limits.max_cells:,} cells; "
                "split the list into several files")
        if not found["cells"]:
            continue
        shape = SheetShape(rows=found["rows"], columns=found["cols"], cells=found["cells"], memory=0)
        numbers = min(found["numbers"], found["rows"] * len(FIELDS))
        shape.memory = (shape.area * _XLS_PER_AREA_CELL + shape.cells * _XLS_PER_CELL
                        + found["text"] * _XLS_PER_TEXT_BYTE + numbers * _NUMBER_TEXT
                        + found["declared"] * 40)
        if worst is None or shape.memory > worst.memory:
            worst = shape
    return worst


def _sst_lengths(records: list[bytes], damaged: ImportRefused) -> list[int]:
    """Characters of each shared string of an XLS (its SST record and CONTINUE records); the
    count the record claims is what calamine reserves, so it must be plausible."""
    (unique,) = struct.unpack_from("<i", records[0], 4)
    total = sum(len(r) for r in records)
    if unique < 0 or unique * 3 > total:
        raise damaged
    lengths = []
    part, pos = 0, 8
    data = records[0]

    def take(n: int) -> bytes:
        nonlocal part, pos, data
        out = b""
        while n > 0:
            if pos >= len(data):
                part += 1
                if part >= len(records):
                    raise damaged
                data, pos = records[part], 0
            chunk = data[pos: pos + n]
            pos += len(chunk)
            n -= len(chunk)
            out += chunk
        return out

    for _ in range(unique):
        cch, flags = struct.unpack("<HB", take(3))
        runs = struct.unpack("<H", take(2))[0] if flags & 0x8 else 0
        ext = struct.unpack("<i", take(4))[0] if flags & 0x4 else 0
        wide = flags & 0x1
        left = cch
        while left:  # the characters; a CONTINUE in the middle restarts with a flags byte
            if pos >= len(data):
                part += 1
                if part >= len(records):
                    raise damaged
                data, pos = records[part], 0
                wide = data[0] & 0x1
                pos = 1
            width = 2 if wide else 1
            n = min(left, (len(data) - pos) // width) or 1
            pos += n * width
            left -= n
        take(runs * 4 + max(ext, 0))
        lengths.append(cch)
    return lengths


def _cfb_stream(path: Path) -> bytes:
    """The Workbook (or Book) stream of an OLE2 compound file, read through chains checked
    for loops and bounds: the sizes and chains calamine follows as they are written."""
    damaged = ImportRefused(
        "XLSX_INVALID", "berkas XLS rusak (struktur OLE2 tidak valid); buka di Excel lalu simpan ulang sebagai .xlsx",
        "the XLS file is damaged (invalid OLE2 structure); open it in Excel and save it again as .xlsx")
    data = path.read_bytes()
    if len(data) < 512 or data[:8] != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise damaged
    shift, mini_shift = struct.unpack_from("<HH", data, 30)
    if shift not in (9, 12) or mini_shift != 6:
        raise damaged
    sector = 1 << shift
    (dir_sectors, fat_sectors, dir_start) = struct.unpack_from("<III", data, 40)
    (minifat_start, minifat_sectors, difat_start, difat_sectors) = struct.unpack_from("<IIII", data, 60)
    count = max((len(data) - sector) // sector, 0)
    if max(dir_sectors, fat_sectors, minifat_sectors, difat_sectors) > count:
        raise damaged

    def at(sid: int) -> bytes:
        if sid >= count:
            raise damaged
        return data[sector * (sid + 1): sector * (sid + 2)]

    difat = list(struct.unpack_from("<109I", data, 76))
    sid, seen = difat_start, set()
    while sid not in _CFB_FREE:
        if sid in seen or len(seen) > difat_sectors:
            raise damaged
        seen.add(sid)
        entries = struct.unpack(f"<{sector // 4}I", at(sid))
        difat.extend(entries[:-1])
        sid = entries[-1]
    fat = b"".join(at(s) for s in difat[:fat_sectors] if s not in _CFB_FREE)
    fat_entries = np.frombuffer(fat, dtype="<u4")

    def chain(start: int, table: np.ndarray, limit: int) -> list[int]:
        out, sid = [], start
        while sid not in _CFB_FREE:
            if sid >= len(table) or len(out) > limit:
                raise damaged  # out of the table, or a loop
            out.append(sid)
            sid = int(table[sid])
        return out

    directory = b"".join(at(s) for s in chain(dir_start, fat_entries, count))
    entries = [directory[i: i + 128] for i in range(0, len(directory) - 127, 128)]
    if not entries:
        raise damaged

    def entry(raw: bytes):
        name_len = struct.unpack_from("<H", raw, 64)[0]
        name = raw[: max(min(name_len, 64) - 2, 0)].decode("utf-16-le", errors="ignore")
        start, = struct.unpack_from("<I", raw, 116)
        size, = struct.unpack_from("<Q", raw, 120)
        if sector == 512:
            size &= 0xFFFFFFFF
        return name, start, size

    root_name, root_start, root_size = entry(entries[0])
    if root_size > len(data):
        raise damaged
    ministream = b"".join(at(s) for s in chain(root_start, fat_entries, count)) if root_size else b""
    minifat = b"".join(at(s) for s in chain(minifat_start, fat_entries, count)) if minifat_sectors else b""
    minifat_entries = np.frombuffer(minifat, dtype="<u4")
    for wanted in ("Workbook", "Book"):
        for raw in entries:
            name, start, size = entry(raw)
            if name != wanted:
                continue
            if size > len(data):
                raise damaged
            if size < 4096:
                sids = chain(start, minifat_entries, len(ministream) // 64)
                stream = b"".join(ministream[64 * s: 64 * (s + 1)] for s in sids)
            else:
                stream = b"".join(at(s) for s in chain(start, fat_entries, count))
            if size > len(stream):
                raise damaged
            return stream[:size]
    raise damaged
