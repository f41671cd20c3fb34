"""Storing results never stops a run: a photo taken where a city and its region share a
name (Rio de Janeiro, São Paulo, Hamburg...) is stored like any other, in `index`,
`serve`'s background processing and workers, and a result the database cannot hold
fails that file alone, with its reason, never the run and never marked done."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import IMAGENET
from media_factory import geotagged
from sqlalchemy import select

from kenning.classifiers.base import BatchOutcome, FileResult
from kenning.db import Database, FileTag, Tag, WorkItem
from kenning.pipeline.jobs import store_outcome

PHOTO = IMAGENET / "n01530575_brambling.JPEG"
# Where the region and the city (or the country) have one name.
SAME_NAMES = {
    "christ the redeemer.jpg": (-22.9519, -43.2105, "Rio de Janeiro"),
    "paulista.jpg": (-23.5614, -46.6559, "São Paulo"),
    "harbour.jpg": (53.5413, 9.9841, "Hamburg"),
    "stephansdom.jpg": (48.2085, 16.3731, "Vienna"),
    "india gate.jpg": (28.6129, 77.2295, "Delhi"),
    "zocalo.jpg": (19.4326, -99.1332, "Mexico City"),
    "singapore.jpg": (1.2868, 103.8545, "Singapore"),
}


def same_name_photos(folder: Path) -> Path:
    for name, (latitude, longitude, _) in SAME_NAMES.items():
        geotagged(PHOTO, folder / name, latitude, longitude)
    geotagged(PHOTO, folder / "eiffel.jpg", 48.8584, 2.2945)
    return folder


def assert_places(tags_of) -> None:
    """`tags_of(name)`: the tag names a file has, in the order they are listed."""
    for name, (*_, place) in SAME_NAMES.items():
        tags = tags_of(name)
        assert place in tags, (name, tags)
        assert len(tags) == len(set(tags)), (name, tags)
    assert set(tags_of("eiffel.jpg")) == {"France", "Île-de-France", "Paris"}


def test_index_stores_places_whose_region_and_city_share_a_name(kenning, tmp_path):
    kenning.env["KENNING_CLASSIFIERS"] = "places"
    library = same_name_photos(tmp_path / "Wonders")
    first = kenning("index", library, "--json").json()
    assert kenning("index", library).code == 0  # and every later run
    status = kenning("status", "--json").json()
    places = next(c for c in status["classifiers"] if c["classifier"] == "places")
    assert (places["pending"], places["failed"], places["done"]) == (0, 0, len(SAME_NAMES) + 1)
    assert first["failed"] == []
    assert_places(lambda name: [t["tag"] for t in
                                kenning("tags", library / name, "--json").json()["tags"]])
    found = kenning("search", "rio de janeiro", "--json").json()["files"]
    assert [Path(f).name for f in found] == ["christ the redeemer.jpg"]


def _result(file_id: int, *tags: str) -> FileResult:
    return FileResult(file_id, tags=[(tag, 0.9) for tag in tags])


@pytest.fixture(params=["sqlite", "postgresql"])
def library_db(request, kenning, tmp_path):
    """A library of three photos, indexed by nothing yet, on SQLite or PostgreSQL."""
    if request.param == "postgresql":
        kenning.env["KENNING_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    kenning.env["KENNING_CLASSIFIERS"] = "places"
    library = tmp_path / "lib"
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        geotagged(PHOTO, library / name, 48.8584, 2.2945)
    kenning("index", library)
    url = kenning.env.get("KENNING_DATABASE_URL") or f"sqlite:///{kenning.data_dir}/kenning.db"
    db = Database(url)
    with db.session() as session:
        session.execute(WorkItem.__table__.update().values(state="pending"))
        ids = sorted(session.scalars(select(WorkItem.file_id)))
    yield db, ids
    db.dispose()


def _stored(db: Database) -> tuple[dict, dict]:
    with db.session() as session:
        work = {f: (s, e) for f, s, e in session.execute(
            select(WorkItem.file_id, WorkItem.state, WorkItem.error))}
        tags: dict[int, list[str]] = {}
        for file_id, name in session.execute(select(FileTag.file_id, Tag.name).join(Tag)
                                             .where(FileTag.source == "places")):
            tags.setdefault(file_id, []).append(name)
    return work, tags


def test_one_file_whose_results_cannot_be_stored_fails_alone(library_db):
    db, (a, b, c) = library_db
    # A result no database can hold: a place whose latitude is missing (SQLite and
    # PostgreSQL refuse NULL there).
    broken = _result(b, "Nowhere")
    broken.place = {"latitude": None, "longitude": None}
    outcome = BatchOutcome("places", "v-test", [
        _result(a, "Brazil", "Rio de Janeiro", "Rio de Janeiro"), broken,
        _result(c, "Austria", "Vienna", "vienna")])  # two names, one tag
    store_outcome(db, outcome)
    work, tags = _stored(db)
    assert work[a] == ("done", None) and work[c] == ("done", None)
    assert sorted(tags[a]) == ["Brazil", "Rio de Janeiro"]
    assert sorted(tags[c]) == ["Austria", "Vienna"]
    state, reason = work[b]
    assert state == "failed" and reason.startswith("could not store the results: ")
    # Not marked done without its results, nor given half of them: what it had is kept.
    assert sorted(tags[b]) == ["France", "Paris", "Île-de-France"]
    assert [r.file_id for r in outcome.results] == [a, c] and list(outcome.failures) == [b]
    store_outcome(db, BatchOutcome("places", "v-test", [_result(a, "Brazil", "Brazil")]))
    assert sorted(_stored(db)[1][a]) == ["Brazil"]  # stored again: replaced, not doubled


def test_serve_processes_photos_whose_region_and_city_share_a_name(tmp_path):
    from server_support import start_server

    def more_files(libraries):
        same_name_photos(libraries["bob"] / "trip")

    server = start_server(tmp_path, classifiers="places", more_files=more_files)
    try:
        status = server.wait_idle("bob")
        places = next(c for c in status["classifiers"] if c["classifier"] == "places")
        assert places["failed"] == 0 and places["pending"] == 0, status
        with server.client("bob") as http:
            files = http.get("/api/files", params={"limit": 100}).json()["items"]
            by_name = {Path(f["path"]).name: f["id"] for f in files}
            assert_places(lambda name: [t["tag"] for t in http.get(
                f"/api/files/{by_name[name]}").json()["tags"]])
        assert "IntegrityError" not in server.log()
    finally:
        server.stop()


