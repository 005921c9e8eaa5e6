"""Bulk writes (registry/bulk.py): a frame goes in as the ORM would have stored it, by every
path (COPY on PostgreSQL; rows or a database image on SQLite), and key lookups find what
is there."""

import sqlite3
from datetime import UTC, date, datetime

import polars as pl
import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from kelambu.dedup.models import Merge
from kelambu.registry.bulk import STAGE_SCHEMA, BulkRows, insert_frame, keys_table
from kelambu.registry.models import Household, Person

AT = datetime(2026, 11, 21, 8, 30, 15, 250000, tzinfo=UTC)
# The bulk paths talk to the drivers directly, so the drivers' own errors come through.
DUPLICATE = (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError)


@pytest.fixture(params=["rows", "image"])
def path(request, settings):
    if request.param == "image" and connection.vendor != "sqlite":
        pytest.skip("the database image is SQLite's bulk path")
    settings.KELAMBU_SQLITE_IMAGE_MIN_ROWS = 1 if request.param == "image" else 10**9
    return request.param


def people_frame(n: int) -> pl.DataFrame:
    return pl.DataFrame({
        "id": list(range(1, n + 1)),
        "nik": [f"160601150385{i:04d}" for i in range(n)],
        "name": ["=HYPERLINK(1)", "Ñoño Siti", *[f"Orang {i}" for i in range(2, n)]],
        "name_norm": [f"orang {i}" for i in range(n)],
        "birth_date": [date(1985, 3, 15)] * n,
        "address": [None] * n,
        "decile": pl.Series([1, None, *[3] * (n - 2)], dtype=pl.Int16),
        "created_at": [AT] * n,
        "updated_at": [AT] * n,
    })


def test_frame_round_trips_through_the_orm(db, path):
    assert insert_frame("registry_person", people_frame(5), chunk_rows=2) == 5
    first, second = Person.objects.order_by("id")[:2]
    assert first.name == "=HYPERLINK(1)" and second.name == "Ñoño Siti"  # stored as text, unchanged
    assert first.birth_date == date(1985, 3, 15) and first.address is None
    assert first.decile == 1 and second.decile is None
    assert first.created_at == AT
    assert Person.objects.count() == 5


def test_constants_are_stored_in_every_row(db, path):
    frame = people_frame(5).drop("created_at", "updated_at", "decile")
    stamp = "2026-11-21 08:30:15.250000" if connection.vendor == "sqlite" else "2026-11-21 08:30:15.25+00"
    assert insert_frame("registry_person", frame, chunk_rows=2,
                        constants={"created_at": stamp, "updated_at": stamp, "decile": 4, "phone": None}) == 5
    assert set(Person.objects.values_list("created_at", "updated_at", "decile", "phone")) == {(AT, AT, 4, None)}
    assert list(Person.objects.order_by("id").values_list("nik", flat=True)) == frame["nik"].to_list()


def test_rows_go_in_in_the_order_given(db, path):
    kks = ["1606011201100005", "1606011201100002", "1606011201100004", "1606011201100001", "1606011201100003"]
    frame = pl.DataFrame({"kk": kks})
    stamp = "2026-11-21 08:30:15.250000" if connection.vendor == "sqlite" else "2026-11-21 08:30:15.25+00"
    rows = BulkRows("registry_household", frame, chunk_rows=2, order=frame["kk"].arg_sort(), constants={"created_at": stamp})
    assert rows.write() == 5
    # Ids given by the table in insertion order: the KKs went in sorted, across chunks.
    assert list(Household.objects.order_by("id").values_list("kk", flat=True)) == sorted(kks)
    with pytest.raises(ValueError, match="order has 4 positions for 5 rows"):
        BulkRows("registry_household", frame, order=pl.Series([0, 1, 2, 3]))


def test_each_chunk_can_fill_a_second_table_from_the_image(db, path):
    # The import inserts its new people from each staged chunk this way (services._Promotion).
    frame = pl.DataFrame({"kk": [f"160601120110000{i}" for i in range(5)]})
    stamp = "2026-11-21 08:30:15.250000"

    def add_name(chunk):  # a column the household table does not take
        return chunk.with_columns(name=pl.lit("Kepala ") + pl.col("kk").str.slice(15))

    def copy_people(stage):
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO registry_person (nik, name, name_norm, created_at, updated_at) "
                           f"SELECT kk, name, name, %s, %s FROM {stage}", [stamp, stamp])

    if path == "rows":
        with pytest.raises(ValueError, match="need a database image"):
            BulkRows("registry_household", frame, constants={"created_at": stamp}, after_chunk=copy_people)
        return
    rows = BulkRows("registry_household", frame, chunk_rows=2, constants={"created_at": stamp},
                    extend=add_name, after_chunk=copy_people)
    assert rows.write() == 5
    assert list(Household.objects.order_by("id").values_list("kk", flat=True)) == frame["kk"].to_list()
    # Every chunk's rows, once each, with the added column; the chunks were 1, 2 and 2 rows.
    assert list(Person.objects.order_by("id").values_list("nik", "name")) == [
        (kk, f"Kepala {kk[-1]}") for kk in frame["kk"]]


def test_booleans_nulls_and_a_second_insert_in_one_transaction(db, path):
    insert_frame("registry_person", people_frame(4))
    frame = pl.DataFrame({
        "kind": ["merge", "merge"], "survivor_id": [1, 3], "absorbed_id": [2, 4],
        "records": ["[]", "[]"], "redirected": ["[]", "[]"], "automatic": [True, False],
        "pair_id": [None, None], "by_id": [None, None], "at": [AT, AT],
    })
    with transaction.atomic():
        insert_frame("dedup_merge", frame)
        insert_frame("dedup_merge", frame)  # the stage schema is reused inside one transaction
    automatic = list(Merge.objects.order_by("id").values_list("automatic", "pair_id", "at"))
    assert automatic == [(True, None, AT), (False, None, AT)] * 2


def test_a_failed_insert_leaves_nothing(db, path):
    insert_frame("registry_person", people_frame(3))
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017 - the driver's own error type
        insert_frame("registry_person", people_frame(3))  # the same ids and NIKs again
    assert Person.objects.count() == 3
    if connection.vendor == "sqlite" and path == "image":
        # The stage is emptied even when the copy fails: no image is left holding memory.
        tables = connection.connection.execute(f"SELECT name FROM {STAGE_SCHEMA}.sqlite_master").fetchall()
        assert tables == []


def test_keys_table_finds_the_keys_that_exist(db):
    Household.objects.create(kk="1606011201100003")
    Household.objects.create(kk="1606011201100004")
    keys = pl.Series(["1606011201100003", None, "9999999999999999", "1606011201100004"])
    with transaction.atomic(), connection.cursor() as c, keys_table(keys) as (source, params):
        c.execute(f"SELECT h.kk FROM {source} JOIN registry_household h ON h.kk = k.value ORDER BY h.kk", params)
        assert [r[0] for r in c.fetchall()] == ["1606011201100003", "1606011201100004"]
    with transaction.atomic(), connection.cursor() as c, keys_table(pl.Series([], dtype=pl.Utf8)) as (source, params):
        c.execute(f"SELECT COUNT(*) FROM {source}", params)
        assert c.fetchone()[0] == 0


def test_keys_table_keeps_quotes_backslashes_and_unicode(db):
    awkward = ['a"b', "c\\d", "é\nñ", "'; --", "1606011201100003"]
    for kk in awkward:
        Household.objects.create(kk=kk)
    with transaction.atomic(), connection.cursor() as c, keys_table(pl.Series([*awkward, "other"])) as (source, params):
        c.execute(f"SELECT h.kk FROM {source} JOIN registry_household h ON h.kk = k.value", params)
        assert sorted(r[0] for r in c.fetchall()) == sorted(awkward)


def _index_definitions(table: str) -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname", [table])
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s ORDER BY name", [table])
        return [row[0] for row in cursor.fetchall()]


def test_large_load_rebuilds_the_indexes_it_dropped(db, settings):
    from kelambu.registry.bulk import indexes_rebuilt_after

    settings.KELAMBU_PG_REBUILD_INDEXES_MIN_ROWS = 3
    before = _index_definitions("registry_person")
    with transaction.atomic(), indexes_rebuilt_after("registry_person", 5) as dropped:
        if dropped:
            # Inside: only the primary key is left.
            assert len(_index_definitions("registry_person")) == 1 < len(before)
        insert_frame("registry_person", people_frame(5))
    assert dropped == (connection.vendor == "postgresql")
    assert _index_definitions("registry_person") == before
    assert Person.objects.filter(village_id=None, category=None).count() == 5
    # The unique NIK is checked again when it is built again.
    with pytest.raises(DUPLICATE), transaction.atomic(), indexes_rebuilt_after("registry_person", 5):
        insert_frame("registry_person", people_frame(5).with_columns(pl.col("id") + 10))
    assert Person.objects.count() == 5 and _index_definitions("registry_person") == before
    # Smaller than the table, or than the setting: the indexes stay.
    with indexes_rebuilt_after("registry_person", 4) as dropped:
        assert not dropped
    settings.KELAMBU_PG_REBUILD_INDEXES_MIN_ROWS = 100
    with indexes_rebuilt_after("registry_person", 50) as dropped:
        assert not dropped


def test_failed_load_keeps_the_indexes(db, settings):
    from kelambu.registry.bulk import indexes_rebuilt_after

    settings.KELAMBU_PG_REBUILD_INDEXES_MIN_ROWS = 1
    before = _index_definitions("registry_person")
    with pytest.raises(DUPLICATE), transaction.atomic(), indexes_rebuilt_after("registry_person", 10):
        insert_frame("registry_person", people_frame(3))
        insert_frame("registry_person", people_frame(3))  # the same ids again
    assert _index_definitions("registry_person") == before
    assert Person.objects.count() == 0
