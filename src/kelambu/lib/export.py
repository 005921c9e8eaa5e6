"""Safe spreadsheet exports.

A cell that starts with =, +, -, @ (or a tab or carriage return) is a formula to Excel and
LibreOffice: a hostile list could make an operator's spreadsheet run one. A spreadsheet
may also cut one of our cells in two: a `,`-separated file opened where the list separator
is `;` (Indonesian Excel), or the reverse, is split at the other character, and line breaks
and tabs can start a new row or cell. So every piece of a text cell that a spreadsheet could
take for a cell of its own (the start of the cell, and whatever follows a `;`, `,`, line
break or tab, past spaces and double quotes) gets an apostrophe before its first character
when that is a trigger. The apostrophe is the OWASP CSV-injection advice: Excel shows a cell
that starts with one as plain text, without the apostrophe.

Every header is hostile too (it comes from a list, or from a column mapping), and goes
through the same rule. Text that merely looks like a number ("-5", "+62812...") gets the
apostrophe as well: it stays the text it was. Columns that are not text (numbers, dates,
booleans) are written as they are: they cannot hold a formula. CSV files quote every text
field and header, so no separator inside a cell splits it where the file's own separator is
understood; numbers stay bare and an empty (null) cell stays empty, so it reads back as null.

Every spreadsheet of registry data Kelambu gives out goes through `to_csv_bytes`,
`write_csv` or `to_xlsx_bytes`.
"""

import csv
import io
import re
from pathlib import Path

import polars as pl
import xlsxwriter

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Characters after which a spreadsheet may start a new cell (or row) inside ours.
SPLITS = (";", ",", "\n", "\r", "\t")

# The rule, as one Python pattern: a piece starts at the beginning or after a split
# character; spaces and double quotes are skipped; the apostrophe goes before a trigger.
_PIECE = re.compile(r'(?:^|(?<=[;,\n\r\t]))[ "]*(?=[=+\-@\t\r])')
# Polars' regular expressions have no look-around, so the frame version is three passes:
# triggers that cannot also split (= + - @), then tab and CR, twice: a tab or CR is both a
# trigger and a split, and one pass can consume one as a trigger where it also starts the
# next piece ("\t\t"); the second pass reaches those (an apostrophe, once inserted, stops
# any further match, so the passes agree with `_PIECE`: tested).
_PRINTABLE = r'(^|[;,\n\r\t])([ "]*)([=+\-@])'
_CONTROL = r'(^|[;,\n\r\t])([ "]*)([\t\r])'
_ANY = r'(?:^|[;,\n\r\t])[ "]*[=+\-@\t\r]'
_TEXT_TYPES = (pl.String, pl.Categorical, pl.Enum)


def neutralize(value):
    """One cell or header made safe; anything but text is returned as it is."""
    if isinstance(value, str):
        return _PIECE.sub(lambda m: m.group(0) + "'", value)
    return value


def neutralize_expr(expr: pl.Expr) -> pl.Expr:
    """`neutralize` for a text column (null stays null)."""
    fixed = expr
    for pattern in (_PRINTABLE, _CONTROL, _CONTROL):
        fixed = fixed.str.replace_all(pattern, "${1}${2}'${3}")
    # Most cells need nothing: only those that do are rewritten.
    return pl.when(expr.str.contains(_ANY)).then(fixed).otherwise(expr)


def neutralize_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column neutralized (categorical text becomes plain text); other columns
    as they are. Column names are left to the writers: see `to_csv_bytes`."""
    return frame.with_columns(
        neutralize_expr(pl.col(name).cast(pl.String)).alias(name)
        for name, dtype in frame.schema.items() if isinstance(dtype, _TEXT_TYPES)
    )


def _header_line(columns: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow([neutralize(c) for c in columns])
    return out.getvalue().encode()


def to_csv_bytes(frame: pl.DataFrame) -> bytes:
    """UTF-8 with a BOM (so Excel reads Indonesian text right), every text field quoted, every
    cell and header neutralized. The header is written here rather than by renaming the
    columns, so two headers that neutralize alike still make a file."""
    body = neutralize_frame(frame).write_csv(include_header=False, quote_style="non_numeric")
    return b"\xef\xbb\xbf" + _header_line(frame.columns) + body.encode()


def write_csv(frame: pl.DataFrame, path: Path | str) -> None:
    """`to_csv_bytes` to a file (the command-line exports)."""
    Path(path).write_bytes(to_csv_bytes(frame))


def to_xlsx_bytes(frame: pl.DataFrame, sheet: str = "Data") -> bytes:
    """Every cell written as text: a NIK must never become a number cell again. Text is
    neutralized as in a CSV (whoever saves the sheet as CSV gets a safe file, and editing a
    cell does not turn it into a formula); numbers and dates become their text."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF4"})
    text = book.add_format({"num_format": "@"})
    frame = neutralize_frame(frame).with_columns(pl.all().cast(pl.String))
    for col, name in enumerate(frame.columns):
        header = neutralize(name)
        ws.write_string(0, col, header, bold)
        ws.set_column(col, col, min(max(len(header) + 2, 12), 60), text)
    for r, values in enumerate(frame.iter_rows(), start=1):
        for col, value in enumerate(values):
            if value is not None:
                ws.write_string(r, col, value)
    ws.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()
