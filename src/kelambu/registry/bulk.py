"""Moving a Polars frame into a table fast, on either database.

PostgreSQL gets COPY. SQLite has no COPY, and its Python driver turns every cell into a
Python object and binds it one by one, which made the sqlite3 module, not SQLite, the cost of
a million-row import. So a large frame goes to SQLite as a database image: the ADBC SQLite
driver (Apache Arrow) writes the rows from Arrow memory into a scratch file, the image is
loaded into a schema attached to Django's own connection (`deserialize`, which works inside
the caller's transaction), and one `INSERT ... SELECT` copies it into the table. Small frames
keep `executemany`. Both are set-based: no per-row ORM call (DESIGN: a Python loop calling the
ORM per row is a bug on bulk paths).
"""

import io
import json
import mmap
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import connection

STAGE_SCHEMA = "kelambu_stage"


def _for_db(frame: pl.DataFrame) -> pl.DataFrame:
    # Dates as ISO text: what Django stores on SQLite, what COPY parses.
    frame = frame.with_columns(pl.col(c).dt.strftime("%Y-%m-%d") for c, t in frame.schema.items() if t == pl.Date)
    if connection.vendor == "postgresql":
        return frame
    # Values as Django stores them on SQLite, whichever way the rows go in: datetimes as UTC
    # text, booleans as 0/1; an all-null column typed so Arrow can carry it.
    converted = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            column = pl.col(name).dt.convert_time_zone("UTC").dt.replace_time_zone(None) if dtype.time_zone else pl.col(name)
            converted.append(column.dt.strftime("%Y-%m-%d %H:%M:%S%.6f").alias(name))
        elif dtype == pl.Boolean:
            converted.append(pl.col(name).cast(pl.Int8))
        elif dtype == pl.Null:
            converted.append(pl.col(name).cast(pl.Utf8))
    return frame.with_columns(converted) if converted else frame


@cache
def _empty_image() -> bytes:
    # An image of an empty database, loaded over the stage schema to free its memory.
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE x (a)")
    db.execute("DROP TABLE x")
    image = db.serialize()
    db.close()
    return image


@cache
def _scratch_dir() -> str | None:
    # Memory-backed where the system has it: the image file lives for a moment, and on disk
    # its writes would compete with the database's own.
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


SCRATCH_PREFIX = "kelambu-stage-"


def clean_scratch() -> int:
    """Removes the scratch folders of processes that no longer run (an import killed while
    staging leaves its images behind, in memory-backed /dev/shm). Returns how many."""
    import shutil

    removed = 0
    folder = Path(_scratch_dir() or tempfile.gettempdir())
    for entry in folder.glob(f"{SCRATCH_PREFIX}*"):
        pid = entry.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed


class _Image:
    """A SQLite database file holding one chunk as table `rows`, mapped into memory: handed
    to `deserialize` without first being read into a Python bytes object, one copy of a
    few hundred megabytes fewer per table."""

    def __init__(self, frame: pl.DataFrame):
        import adbc_driver_sqlite.dbapi as adbc

        # The pid in the name lets clean_scratch() find the files of a process that died.
        self._folder = tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=_scratch_dir())
        try:
            path = os.path.join(self._folder.name, "stage.sqlite3")
            with adbc.connect(path, autocommit=True) as db, db.cursor() as cursor:
                # A throwaway file: no journal, no syncing; large pages for a fast sequential fill.
                for pragma in ("page_size = 65536", "journal_mode = OFF", "synchronous = OFF"):
                    cursor.execute(f"PRAGMA {pragma}")
                cursor.adbc_ingest("rows", frame.to_arrow(compat_level=pl.CompatLevel.oldest()), mode="create")
            with open(path, "rb") as f:
                self.data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except BaseException:
            self._folder.cleanup()
            raise

    def release(self) -> None:
        """Unmaps and deletes the file; safe to call more than once."""
        self.data.close()
        self._folder.cleanup()


def warm_up() -> None:
    """Loads the ADBC SQLite driver (and pyarrow) in a background thread: importing them
    takes ~0.4 s, which an import's first write would otherwise wait for."""
    if connection.vendor == "sqlite":
        threading.Thread(target=_load_driver, name="kelambu-bulk-warm-up", daemon=True).start()


def _load_driver() -> None:
    import adbc_driver_sqlite.dbapi  # noqa: F401


def _csv(chunk: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    chunk.write_csv(buffer, include_header=False, null_value="", quote_style="non_numeric")
    return buffer.getvalue()


class BulkRows:
    """The rows of one frame on their way into one table.

    `start()` begins turning the frame into what the database takes in bulk (CSV for COPY,
    SQLite images) in a background thread, a few chunks ahead of the writer; `write()` then
    puts the rows in through Django's connection, in the caller's transaction. Starting early
    lets the conversion of one table's rows run while another table is being written: the
    drivers, SQLite and Polars release the GIL, so the second core does real work."""

    AHEAD = 3  # chunks converted and not yet written, at most: bounds the memory held

    def __init__(self, table: str, frame: pl.DataFrame, *, chunk_rows: int = 200_000, constants: dict | None = None,
                 order: pl.Series | None = None, extend=None, after_chunk=None):
        """`constants`: column -> one value for every row, as the database stores it (a
        number, text, or None). A database image leaves them out and the INSERT supplies
        them, so they cost nothing per row; the other paths add them to each chunk.
        `order`: the row positions of `frame` in the order to insert them (a permutation);
        each chunk is gathered in that order where it is converted, so a caller that needs
        the rows sorted need not copy the whole frame first.
        `extend(chunk) -> chunk` and `after_chunk(stage_table)`, database images only (see
        `uses_image`): `extend` adds columns to each chunk, in the background, that the table
        does not take; `after_chunk` runs on the writer after each chunk is inserted, with the
        name of the table that holds the chunk (its extra columns too) until the next one, so
        a second table can be filled from the same rows without an image of its own."""
        constants = dict(constants or {})
        if order is not None and len(order) != frame.height:
            raise ValueError(f"order has {len(order)} positions for {frame.height} rows")
        if connection.vendor == "postgresql":
            self._convert = _csv
        elif uses_image(frame.height):
            self._convert = _Image
        else:
            self._convert = None  # executemany
        if (extend or after_chunk) and self._convert is not _Image:
            raise ValueError("extend and after_chunk need a database image (bulk.uses_image)")
        self._extend, self._after_chunk = extend, after_chunk
        self._literals = {}
        if self._convert is not _Image:
            self._literals, constants = constants, {}
        qn = connection.ops.quote_name
        self.table = qn(table)
        names = [*frame.columns, *self._literals]
        self.columns = ", ".join(qn(c) for c in [*names, *constants])
        self._select = ", ".join([*(qn(c) for c in names), *["%s"] * len(constants)])
        self._constants = list(constants.values())
        self.height, self._width = frame.height, len(names)
        self._frame, self._order = frame, order
        self._bounds = []
        offset, size = 0, max(chunk_rows // 8, 1)
        while offset < frame.height:
            # Small chunks first, so the first write starts soon after the conversion does.
            self._bounds.append((offset, min(size, frame.height - offset)))
            offset, size = offset + size, min(size * 2, chunk_rows)
        self._room = threading.Semaphore(self.AHEAD)
        self._stop = threading.Event()
        self._pool = None
        self._futures = None

    def _chunk(self, i: int) -> pl.DataFrame:
        """Chunk `i`, in order and as the database takes its values."""
        offset, size = self._bounds[i]
        part = self._frame.slice(offset, size) if self._order is None else self._frame[self._order.slice(offset, size)]
        if self._literals:
            part = part.with_columns(pl.lit(value).alias(name) for name, value in self._literals.items())
        if self._extend:
            part = self._extend(part)
        return _for_db(part)

    def start(self) -> "BulkRows":
        if self._convert and self._futures is None and self._bounds:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kelambu-bulk")
            self._futures = [self._pool.submit(self._prepare, i) for i in range(len(self._bounds))]
        return self

    def _prepare(self, i: int):
        self._room.acquire()
        return None if self._stop.is_set() else self._convert(self._chunk(i))

    def _payloads(self) -> Iterator[tuple[int, "bytes | _Image"]]:
        """(rows, converted chunk) in order."""
        for (_offset, size), future in zip(self._bounds, self._futures, strict=True):
            payload = future.result()
            self._room.release()
            yield size, payload

    def close(self) -> None:
        """Stops the conversion and frees what it holds; safe to call more than once."""
        self._stop.set()
        for _ in self._bounds:
            self._room.release()  # a worker waiting for room wakes up and stops
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            for future in self._futures:
                # Images converted and never written: their files go now, not at GC.
                if not future.cancelled() and future.exception() is None and isinstance(future.result(), _Image):
                    future.result().release()
        self._pool = self._futures = self._frame = self._order = self._extend = self._after_chunk = None
        self._bounds = []

    def write(self, on_chunk=None) -> int:
        """Inserts every row and returns the count; `on_chunk(done, total)` after each chunk."""
        try:
            if not self._bounds:
                return 0
            self.start()
            if self._convert is _csv:
                heights = self._write_copy()
            elif self._convert is _Image:
                heights = self._write_images()
            else:
                heights = self._write_rows()
            done = 0
            for height in heights:
                done += height
                if on_chunk:
                    on_chunk(done, self.height)
            return done
        finally:
            self.close()

    def _write_copy(self) -> Iterator[int]:
        # One COPY for every chunk, so the server never waits between chunks.
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {self.table} ({self.columns}) FROM STDIN WITH (FORMAT csv, NULL '')") as copy:
                for rows, data in self._payloads():
                    copy.write(data)
                    del data
                    yield rows

    def _write_images(self) -> Iterator[int]:
        connection.ensure_connection()
        raw = connection.connection
        attached = {row[1] for row in raw.execute("PRAGMA database_list")}
        with connection.cursor() as cursor:
            if STAGE_SCHEMA not in attached:
                # Attaching is allowed inside a transaction (detaching is not): it stays attached.
                cursor.execute(f"ATTACH DATABASE ':memory:' AS {STAGE_SCHEMA}")
            try:
                for rows, image in self._payloads():
                    try:
                        raw.deserialize(image.data, name=STAGE_SCHEMA)
                    finally:
                        image.release()
                    cursor.execute(f"INSERT INTO {self.table} ({self.columns}) "
                                   f"SELECT {self._select} FROM {STAGE_SCHEMA}.rows", self._constants)
                    if self._after_chunk:
                        self._after_chunk(f"{STAGE_SCHEMA}.rows")
                    yield rows
            finally:
                raw.deserialize(_empty_image(), name=STAGE_SCHEMA)

    def _write_rows(self) -> Iterator[int]:
        connection.ensure_connection()
        placeholders = ", ".join(["?"] * self._width)
        for i in range(len(self._bounds)):
            chunk = self._chunk(i)
            # The raw sqlite3 connection, in the same transaction: Django's executemany peeks
            # at the rows through itertools.tee, which then buffers every row.
            connection.connection.executemany(
                f"INSERT INTO {self.table} ({self.columns}) VALUES ({placeholders})",
                zip(*(s.to_list() for s in chunk.get_columns()), strict=True),
            )
            yield chunk.height


def uses_image(rows: int) -> bool:
    """Whether `rows` rows go into a table as a SQLite database image."""
    return connection.vendor == "sqlite" and rows >= settings.KELAMBU_SQLITE_IMAGE_MIN_ROWS


def insert_frame(table: str, frame: pl.DataFrame, *, chunk_rows: int = 200_000, on_chunk=None,
                 constants: dict | None = None) -> int:
    """Inserts every row of `frame` (columns named as the table's; `constants` as BulkRows
    takes them) and returns the count."""
    if frame.is_empty():
        return 0
    return BulkRows(table, frame, chunk_rows=chunk_rows, constants=constants).write(on_chunk)


def keys_source(keys: list[str] | pl.Series) -> tuple[str, list]:
    """A FROM item yielding the given text keys as `k.value`, sent as one parameter: unnest of
    an array on PostgreSQL, json_each on SQLite. Joins against it look up a million keys in
    one statement."""
    if connection.vendor == "postgresql":
        return "unnest(%s::text[]) AS k(value)", [keys.to_list() if isinstance(keys, pl.Series) else keys]
    return "json_each(%s) AS k", [_json_array(keys) if isinstance(keys, pl.Series) else json.dumps(keys)]


def _json_array(keys: pl.Series) -> str:
    """The keys as one JSON array text, encoded by Polars: a third of the time of json.dumps
    over a million Python strings. Each key is encoded as the value of a one-field JSON object
    (`{"k":...}`), which is cut down to the string literal."""
    literals = keys.to_frame("k").select(pl.struct("k").struct.json_encode().str.slice(5).str.head(-1)).to_series()
    return "[" + (literals.str.join(",").item() if len(literals) else "") + "]"


@contextmanager
def keys_table(keys: pl.Series) -> Iterator[str]:
    """`keys_source` for a large key list (a whole import's NIKs): a FROM item yielding the
    keys as `k.value`. On PostgreSQL the keys are COPYed into a temporary table, twice as fast
    as adapting a million-element array parameter; SQLite reads them from one JSON text."""
    keys = keys.drop_nulls().cast(pl.Utf8)
    if connection.vendor != "postgresql":
        yield keys_source(keys)
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS kelambu_keys")
        cursor.execute("CREATE TEMPORARY TABLE kelambu_keys (value text)")
        if len(keys):
            buffer = io.BytesIO()
            keys.to_frame("value").write_csv(buffer, include_header=False, quote_style="always")
            with cursor.cursor.copy("COPY kelambu_keys (value) FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
            cursor.execute("ANALYZE kelambu_keys")
        try:
            yield "kelambu_keys AS k", []
        finally:
            cursor.execute("DROP TABLE IF EXISTS kelambu_keys")


@contextmanager
def indexes_rebuilt_after(table: str, incoming: int) -> Iterator[bool]:
    """On PostgreSQL, a load of at least `KELAMBU_PG_REBUILD_INDEXES_MIN_ROWS` rows that is at
    least as large as the table already is (its largest id, a cheap stand-in for its size)
    goes in with the table's secondary indexes and unique constraints dropped (the primary key
    stays), and they are built again afterwards, in the caller's transaction: one sorted build
    is two to three times faster than a million index insertions (the household and village
    indexes of people). The drop locks the table until the import commits, so reads of it
    wait: acceptable for the first large list of a registry, which is why smaller loads keep
    their indexes. SQLite gains nothing from it (measured) and keeps them. Yields whether the
    indexes were dropped; a failure rolls the drop back with the rest."""
    if connection.vendor != "postgresql" or incoming < settings.KELAMBU_PG_REBUILD_INDEXES_MIN_ROWS:
        yield False
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
        if incoming < cursor.fetchone()[0]:
            yield False
            return
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary ORDER BY c.relname",
            [table],
        )
        indexes = cursor.fetchall()
        # Unique constraints (a person's NIK) too: built again, they check every row again.
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype = 'u' ORDER BY conname", [table])
        uniques = cursor.fetchall()
        qn = connection.ops.quote_name
        for name, _definition in uniques:
            cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {qn(name)}")
    yield True
    with connection.cursor() as cursor:
        # Room to sort a million keys in memory; parallel workers where the server allows.
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for name, definition in uniques:
            cursor.execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")
        for _name, definition in indexes:
            cursor.execute(definition)
