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


def test_timeline_first_pages_of_every_size_agree(library):
    """The first page is kept once per user and cut to the size asked for: each size
    gives the first items of the largest page, and its `next` goes on where it ends."""
    whole = catalog.timeline(library, 1, catalog.MAX_PAGE).items
    for limit in (1, 7, 100, 120, 199, 200, 201, 300):
        page = catalog.timeline(library, 1, limit)
        assert [item["id"] for item in page.items] == [item["id"] for item in whole[:limit]]
        following = catalog.timeline(library, 1, 3, page.next).items
        assert [item["id"] for item in following] == [item["id"] for item in
                                                      whole[limit:limit + 3]], limit


def test_the_cache_stays_small_whatever_is_asked(library):
    """A client asking for ever new tag names (each looked up once, then kept) cannot
    grow the server's memory, nor push another user's kept pages out."""
    from kenning.db import User

    with library.session() as session:
        other = User(name="other")
        session.add(other)
        session.flush()
        other_id = other.id
    catalog.list_people(library, other_id)  # the other user's people ranking is kept
    for i in range(catalog.counts.per_user + 300):
        assert catalog.search(library, 1, tags=[f"made-up tag {i}"]).items == []
    mine = sum(1 for key in catalog.counts._entries if key[1] == 1)
    assert mine <= catalog.counts.per_user
    with catalog.cached_only():
        catalog.list_people(library, other_id)  # still kept: no Uncached
    assert not catalog.counts._computing  # no lock left behind per key


def test_kept_first_pages_cut_to_the_size_asked(library):
    """A tag's and a person's first page are kept once (raw JSON or dicts) and cut to
    each size: the same files and `next` as the query run for that size alone."""
    for case in ({"tags": ["Tag 02"]}, {"people": [40]}):
        for raw in (False, True):
            for limit in (1, 100, 200, 201):
                kept = catalog.search(library, 1, limit=limit, raw=raw, **case)
                catalog.counts.changed()  # (the marker is read again, not moved)
                alone = catalog.search(library, 1, kind="image", limit=limit, **case)
                assert kept.as_dict() == alone.as_dict(), (case, raw, limit)
    for limit in (1, 100, 300):
        assert catalog.timeline(library, 1, limit, raw=True).as_dict() == \
            catalog.timeline(library, 1, limit).as_dict()
