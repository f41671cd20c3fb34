"""The fast searches (SQL that builds the JSON itself) give exactly what the general query
gives, on SQLite and on PostgreSQL, on the generated library of bench/server_load.py."""

from __future__ import annotations

import sys

import pytest
from conftest import REPO

from kenning import catalog
from kenning.db import Database

sys.path.insert(0, str(REPO / "bench"))
from server_load import build  # noqa: E402 - the load benchmark's library generator

CASES = [{"tags": ["Tag 01"]}, {"tags": ["tag 03"], "limit": 7, "after": 500},
         {"people": [17]}, {"people": [123], "limit": 1}, {"tags": ["Tag 39"]}]


@pytest.fixture(params=["sqlite", "postgresql"])
def library(request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'k.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    db = Database(url)
    build(db, 3000, 300)
    yield db
    db.dispose()


def test_fast_searches_match_the_general_query(library):
    for case in CASES:
        general = catalog.search(library, 1, kind="image", **case).as_dict()  # general path
        fast = catalog.search(library, 1, **case)
        fast_raw = catalog.search(library, 1, raw=True, **case)
        assert fast.as_dict() == general, case
        assert fast_raw.as_dict() == general, case
        assert catalog.Page(**{**general, "raw": False}).as_json() == fast.as_json()
        if general["items"]:
            item = general["items"][0]
            assert item["name"] == item["path"].rsplit("/", 1)[-1]
            assert item["modified"].endswith("+00:00")
    with pytest.raises(catalog.NotFound):
        catalog.search(library, 2, people=[17])  # another user's person
    assert catalog.search(library, 1, tags=["No such tag"]).items == []
