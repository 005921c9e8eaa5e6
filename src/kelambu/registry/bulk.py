"""Moving a Polars frame into a table fast, on either database.

PostgreSQL gets COPY; SQLite gets one executemany inside the caller's transaction.
Both are set-based: no per-row ORM call (DESIGN: a Python loop calling the ORM per row
is a bug on bulk paths).
"""

import io
import json

import polars as pl
from django.db import connection


def _for_db(frame: pl.DataFrame) -> pl.DataFrame:
    # Dates as ISO text: what Django stores on SQLite, what COPY parses.
    return frame.with_columns(pl.col(c).dt.strftime("%Y-%m-%d") for c, t in frame.schema.items() if t == pl.Date)


def insert_frame(table: str, frame: pl.DataFrame, *, chunk_rows: int = 200_000, on_chunk=None) -> int:
    """Inserts every row of `frame` (columns named as the table's) and returns the count."""
    if frame.is_empty():
        return 0
    frame = _for_db(frame)
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in frame.columns)
    done = 0
    with connection.cursor() as cursor:
        for offset in range(0, frame.height, chunk_rows):
            chunk = frame.slice(offset, chunk_rows)
            if connection.vendor == "postgresql":
                buffer = io.BytesIO()
                chunk.write_csv(buffer, include_header=False, null_value="", quote_style="non_numeric")
                with cursor.cursor.copy(
                    f"COPY {qn(table)} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '')"
                ) as copy:
                    copy.write(buffer.getvalue())
            else:
                # The raw sqlite3 connection, in the same transaction: Django's executemany
                # peeks at the rows through itertools.tee, which then buffers every row.
                placeholders = ", ".join(["?"] * len(frame.columns))
                connection.connection.executemany(
                    f"INSERT INTO {qn(table)} ({columns}) VALUES ({placeholders})",
                    zip(*(s.to_list() for s in chunk.get_columns()), strict=True),
                )
            done += chunk.height
            if on_chunk:
                on_chunk(done, frame.height)
    return done


def keys_source(keys: list[str]) -> tuple[str, list]:
    """A FROM item yielding the given text keys as `k.value`, sent as one parameter: unnest of
    an array on PostgreSQL, json_each on SQLite. Joins against it look up a million keys in
    one statement."""
    if connection.vendor == "postgresql":
        return "unnest(%s::text[]) AS k(value)", [keys]
    return "json_each(%s) AS k", [json.dumps(keys)]
