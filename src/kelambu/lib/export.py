"""Safe spreadsheet exports.

A cell that starts with =, +, -, @ (or a tab or carriage return) is a formula to Excel and
LibreOffice: a hostile list could make an operator's spreadsheet run one. Every export
prefixes such cells with an apostrophe, which spreadsheets show as plain text (OWASP CSV
injection advice).
"""

import io

import polars as pl
import xlsxwriter

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_PATTERN = r"^[=+\-@\t\r]"


def neutralize(value):
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def neutralize_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_TRIGGER_PATTERN)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c, t in frame.schema.items() if t == pl.Utf8
    )


def to_csv_bytes(frame: pl.DataFrame) -> bytes:
    # UTF-8 with BOM so Excel opens Indonesian text correctly.
    return b"\xef\xbb\xbf" + neutralize_frame(frame).write_csv().encode()


def to_xlsx_bytes(frame: pl.DataFrame, sheet: str = "Data") -> bytes:
    """Every cell written as text: a NIK must never become a number cell again."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF4"})
    text = book.add_format({"num_format": "@"})
    frame = neutralize_frame(frame.with_columns(pl.all().cast(pl.Utf8)))
    for col, name in enumerate(frame.columns):
        ws.write_string(0, col, name, bold)
        ws.set_column(col, col, min(max(len(name) + 2, 12), 60), text)
    for r, values in enumerate(frame.iter_rows(), start=1):
        for col, value in enumerate(values):
            if value is not None:
                ws.write_string(r, col, value)
    ws.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()
