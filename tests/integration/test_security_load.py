"""One user's edits cannot slow everyone down: Bob loops "add a tag, ask for
suggestions" on a library of 60,000 files while Alice's requests are timed. The tag list
and suggestions are counted per user (his edits do not make the server count Alice's
again) and never on the event loop (his counting does not hold up her requests).
Against a real `kenning serve`."""

from __future__ import annotations

import statistics
import threading
import time

import pytest
from server_support import start_server
from sqlalchemy import insert, select

from kenning.db import Database, File, FileTag, Mount, Tag, User
from kenning.names import fold

FILES = 60_000
TAGS = ("Dog", "Cat", "Beach", "Mountain", "Car", "Food", "Flower", "Bird", "Boat", "Tree")


def big_library(url: str, user: str, files: int = FILES) -> list[int]:
    """`files` photos (rows only) with three tags each in the user's first mount."""
    db = Database(url)
    with db.session() as session:
        mount_id = session.scalar(select(Mount.id).join(User).where(User.name == user))
        session.execute(insert(Tag).prefix_with("OR IGNORE"), [
            {"name": t, "key": fold(t), "owner_id": 0} for t in TAGS])
        tag_ids = dict(session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(TAGS))).all())
        first = (session.scalar(select(File.id).order_by(File.id.desc()).limit(1)) or 0) + 1
        rows = [{"id": first + i, "mount_id": mount_id, "rel_path": f"big/{i:06}.jpg",
                 "rel_path_raw": f"big/{i:06}.jpg".encode(), "kind": "image",
                 "format": "jpeg", "size": 1000, "mtime_ns": i * 10**9} for i in range(files)]
        session.execute(insert(File), rows)
        session.execute(insert(FileTag), [
            {"file_id": first + i, "tag_id": tag_ids[TAGS[(i + k) % len(TAGS)]],
             "source": "objects", "score": 0.9} for i in range(files) for k in range(3)])
    db.dispose()
    return [first + i for i in range(files)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("load"), classifiers="places",
                          serve_args=("--no-process", "--no-watch"))
    server.big_files = big_library(f"sqlite:///{server.root}/data/kenning.db", "bob")
    yield server
    server.stop()


def test_one_users_edits_and_suggestions_do_not_slow_the_others(server):
    with server.client("alice") as alice, server.client("bob") as bob:
        assert alice.get("/api/tags").status_code == 200  # counted once, kept
        stop = threading.Event()
        loops = []

        def edit_and_suggest() -> None:
            n = 0
            while not stop.is_set():
                file_id = server.big_files[n % len(server.big_files)]
                assert bob.post(f"/api/files/{file_id}/tags",
                                json={"tag": f"trip {n}"}).status_code == 201
                assert bob.get("/api/suggest", params={"q": "trip"}).status_code == 200
                n += 1
            loops.append(n)

        editor = threading.Thread(target=edit_and_suggest)
        editor.start()
        time.sleep(1.0)
        health, tags = [], []
        try:
            end = time.monotonic() + 8
            while time.monotonic() < end:
                started = time.monotonic()
                assert alice.get("/api/health").status_code == 200
                health.append(time.monotonic() - started)
                started = time.monotonic()
                assert alice.get("/api/tags").status_code == 200
                tags.append(time.monotonic() - started)
                time.sleep(0.01)
        finally:
            stop.set()
            editor.join(60)
        assert loops and loops[0] >= 5, loops  # Bob's loop did run meanwhile
        print(f"bob's loops: {loops[0]}; alice health median "
              f"{statistics.median(health) * 1000:.1f} ms, max {max(health) * 1000:.0f} ms; "
              f"tags median {statistics.median(tags) * 1000:.1f} ms")
        assert statistics.median(health) < 0.02
        assert statistics.median(tags) < 0.03
        assert sorted(health)[int(0.95 * len(health))] < 0.2
        # Bob sees his own tags at once.
        found = bob.get("/api/suggest", params={"q": "trip"}).json()["tags"]
        assert found and all(t["tag"].startswith("trip") for t in found)
