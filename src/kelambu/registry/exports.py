"""The rejected rows of a batch, given back to the operator to correct: the file's own
columns as they were, with the reason for each row in Bahasa Indonesia and English."""

import json

import polars as pl

from kelambu.lib import issues as catalogue
from kelambu.lib.columns import FIELDS

from .models import ImportBatch, SourceRecord

ROW = "Baris / Row"
CODES = "Kode masalah / Issue codes"
REASON_ID = "Alasan"
REASON_EN = "Reason"


def rejected_rows(batch: ImportBatch) -> pl.DataFrame:
    headers: dict = batch.report.get("columns", {})
    fields = [f for f in FIELDS if f in headers]
    records = (
        SourceRecord.objects.filter(batch=batch, status="rejected").order_by("row").values_list("row", "raw", "issues")
    )
    rows = []
    for row, raw, codes in records.iterator(chunk_size=5000):
        cells = json.loads(raw) if raw else {}
        code_list = catalogue.split_codes(codes)
        rows.append(
            [str(row)] + [cells.get(f) for f in fields] + [
                " ".join(code_list),
                "; ".join(catalogue.row_message(c, row, headers.get(catalogue.ISSUES[c].field), "id") for c in code_list),
                "; ".join(catalogue.row_message(c, row, headers.get(catalogue.ISSUES[c].field), "en") for c in code_list),
            ]
        )
    columns = [ROW] + [headers[f] for f in fields] + [CODES, REASON_ID, REASON_EN]
    return pl.DataFrame(rows, schema={c: pl.Utf8 for c in columns}, orient="row")
