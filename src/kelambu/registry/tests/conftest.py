"""Fixtures shared by the registry's tests."""

import pytest


@pytest.fixture(params=["rows", "image", "rebuild"])
def bulk_path(request, settings):
    """On SQLite, large frames go in as a database image, small ones row by row; on
    PostgreSQL, large loads rebuild the indexes after them (registry/bulk.py): the import must
    give the same registry either way."""
    from django.db import connection

    if request.param == "image":
        if connection.vendor != "sqlite":
            pytest.skip("the database image is SQLite's bulk path")
        settings.KELAMBU_SQLITE_IMAGE_MIN_ROWS = 1
    if request.param == "rebuild":
        if connection.vendor != "postgresql":
            pytest.skip("rebuilding indexes after a load is PostgreSQL's")
        settings.KELAMBU_PG_REBUILD_INDEXES_MIN_ROWS = 1
    return request.param
