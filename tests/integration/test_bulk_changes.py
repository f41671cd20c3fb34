"""Changes to many chosen photos at once (the grids' bulk bar and `POST /api/files/bulk`):
a person said to be in them takes one face per photo (the one most like them), taken out
again, faces said to be no faces, tags on 10,000 files; another user's file changes
nothing. Against a real `kenning serve` with the real face models."""

from __future__ import annotations

import re
import time

import httpx
from PIL import Image
from server_support import JOHNS, PASSWORDS, sign_in, start_server
from sqlalchemy import insert

SIMM, SALLEY = JOHNS / "John_Simm", JOHNS / "John_Salley"


def _two_johns(libraries) -> None:
    """A photo of two Johns side by side: Simm on the left, Salley on the right."""
    left = Image.open(sorted(SIMM.glob("*.jpg"))[0]).convert("RGB").resize((400, 400))
    right = Image.open(sorted(SALLEY.glob("*.jpg"))[0]).convert("RGB").resize((400, 400))
    both = Image.new("RGB", (800, 400))
    both.paste(left, (0, 0))
    both.paste(right, (400, 0))
    both.save(libraries["alice"] / "two johns.jpg", quality=92)


def _faces_of(http: httpx.Client, file_id: int) -> list[dict]:
    return http.get(f"/api/files/{file_id}").json()["faces"]


def test_people_and_faces_on_chosen_photos(tmp_path):
    server = start_server(tmp_path, more_files=_two_johns, serve_args=("--no-watch",))
    try:
        server.wait_idle("alice")
        with server.client("alice") as http:
            files = http.get("/api/files", params={"limit": 500}).json()["items"]
            simm = [f["id"] for f in files if "John_Simm" in f["path"]]
            others = [f["id"] for f in files if f["path"].startswith("n01")]
            both = next(f["id"] for f in files if f["name"] == "two johns.jpg")
            # A new person, in 11 photos of one face each and 3 with none.
            done = http.post("/api/files/bulk", json={
                "files": simm + others, "action": "person", "person": "Grandpa"}).json()
            assert done["done"] == "Grandpa added to 11 files; 3 left alone: no face", done
            (grandpa,) = [p for p in http.get("/api/people").json()["items"]
                          if p["name"] == "Grandpa"]
            assert grandpa["faces"] == 11 and grandpa["photos"] == 11
            # In a photo of two faces, the one most like him: Simm is on the left.
            done = http.post("/api/files/bulk", json={
                "files": [both], "action": "person", "person": "grandpa"}).json()
            assert done["done"] == "Grandpa added to 1 file", done
            chosen = [f for f in _faces_of(http, both) if f.get("person") == grandpa["id"]]
            assert len(chosen) == 1 and chosen[0]["box"][0] + chosen[0]["box"][2] / 2 < 400, chosen
            # Again: he is there already.
            again = http.post("/api/files/bulk", json={
                "files": [both], "action": "person", "person": "Grandpa"}).json()
            assert again["done"].endswith("1 left alone: already there"), again
            # Taken out of two photos: they never come back by clustering.
            http.post("/api/files/bulk", json={"files": simm[:2], "action": "unperson",
                                               "person": "Grandpa"})
            person = http.get(f"/api/people/{grandpa['id']}").json()
            assert person["faces"] == 10, person
            # Faces said to be no faces (a photo of a statue, say).
            done = http.post("/api/files/bulk", json={"files": [simm[5]],
                                                      "action": "notface"}).json()
            assert done["done"] == "1 face marked as no face"
            assert all(f["not_face"] for f in _faces_of(http, simm[5]))
            # Bad requests: refused with a reason, nothing changed.
            assert http.post("/api/files/bulk", json={
                "files": simm, "action": "person", "person": " "}).status_code == 409
            assert http.post("/api/files/bulk", json={
                "files": list(range(1, 10_002)), "action": "notface"}).status_code == 422
            assert http.post("/api/files/bulk", json={
                "files": simm, "action": "unperson", "person": "Nobody"}).status_code == 404
        with server.client("bob") as http:
            bobs = http.get("/api/files").json()["items"][0]["id"]
            assert http.post("/api/files/bulk", json={  # alice's photo
                "files": [bobs, simm[0]], "action": "notface"}).status_code == 404
        # The web page's bulk bar: a form of 10,000 chosen files is read (one of them
        # bob's: refused, nothing changed), and a person added from it.
        browser = httpx.Client(base_url=server.url, timeout=120)
        assert sign_in(browser, "alice", PASSWORDS["alice"]).status_code == 303
        token = re.search(r'name="csrf" value="([^"]+)"', browser.get("/").text).group(1)
        many = [str(i) for i in range(1, 10_000)] + [str(bobs)]
        forged = browser.post("/files/bulk", data={"csrf": token, "action": "notface",
                                                   "file": many})
        assert forged.status_code == 404, forged.text[:300]
        salley = [f["id"] for f in files if "John_Salley" in f["path"]]
        added = browser.post("/files/bulk", data={
            "csrf": token, "action": "person", "person": "Uncle", "next": "/",
            "file": [str(i) for i in salley]}, follow_redirects=False)
        assert added.status_code == 303
        assert "Uncle+added+to+11+files" in added.headers["location"]
        browser.close()
        with server.client("alice") as http:
            assert all(not f["not_face"] for f in _faces_of(http, simm[0]))
            uncle = [p for p in http.get("/api/people").json()["items"] if p["name"] == "Uncle"]
            assert uncle[0]["faces"] == 11
    finally:
        server.stop()


def test_a_tag_on_ten_thousand_files_at_once(tmp_path):
    from kenning import bulk, catalog
    from kenning.db import Database, File, FileTag, Mount, Tag, User

    db = Database(f"sqlite:///{tmp_path / 'kenning.db'}")
    with db.session() as session:
        user = User(name="alice", is_admin=True)
        session.add(user)
        session.flush()
        mount = Mount(user_id=user.id, path=str(tmp_path))
        session.add(mount)
        session.flush()
        user_id, mount_id = user.id, mount.id
        session.execute(insert(File), [
            {"mount_id": mount_id, "rel_path": f"p{i}.jpg", "rel_path_raw": f"p{i}.jpg".encode(),
             "kind": "image", "format": "JPEG", "size": 1, "mtime_ns": i}
            for i in range(bulk.MAX_BULK)])
        ids = list(session.scalars(File.__table__.select().with_only_columns(File.id)))
        beach = Tag(name="Beach", key="beach", owner_id=0)
        session.add(beach)
        session.flush()
        session.add_all(FileTag(file_id=i, tag_id=beach.id, source="objects", score=0.9)
                        for i in ids[:100])
    started = time.perf_counter()
    assert bulk.tag_many(db, user_id, ids, "Holiday 2019") == bulk.MAX_BULK
    assert bulk.tag_many(db, user_id, ids, "holiday 2019") == bulk.MAX_BULK  # no twice
    assert bulk.untag_many(db, user_id, ids, "beach") == 100
    seconds = time.perf_counter() - started
    holiday = next(t for t in catalog.list_tags(db, user_id, 100, 0).items
                   if t["tag"] == "Holiday 2019")
    assert holiday["files"] == bulk.MAX_BULK
    with db.session() as session:
        assert session.query(FileTag).filter(FileTag.tag_id == beach.id).count() == 0
    try:
        bulk.tag_many(db, user_id, [*ids, 10**6], "x")
    except catalog.Refused as exc:
        assert "at most 10000" in str(exc)
    else:
        raise AssertionError("10,001 files taken")
    assert seconds < 60, seconds  # not one transaction per file
