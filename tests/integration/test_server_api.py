"""`kenning serve`: the REST API against a real server process, two users, real photos."""

from __future__ import annotations

import os
import re
import shutil
import time

import httpx
import pytest
from conftest import IMAGENET
from server_support import PASSWORDS, sign_in, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("serve"))
    server.wait_idle("alice")
    server.wait_idle("bob")
    yield server
    server.stop()


def _ids(server, user: str, other: str) -> dict:
    """One id of each kind that belongs to `user` (a tag `other` does not have)."""
    with server.client(other) as http:
        theirs = {t["id"] for t in http.get("/api/tags").json()["items"]}
    with server.client(user) as http:
        people = http.get("/api/people").json()["items"]
        files = http.get("/api/files?limit=500").json()["items"]
        faces = http.get(f"/api/people/{people[0]['id']}/faces").json()["items"]
        tags = http.get("/api/tags").json()["items"]
        mounts = http.get("/api/mounts").json()
        token = http.post("/api/tokens", json={"name": "probe"}).json()
    return {"file_id": files[0]["id"], "person_id": people[0]["id"],
            "face_id": faces[0]["face"], "mount_id": mounts[0]["id"], "token_id": token["id"],
            "tag_id": next(t["id"] for t in tags if t["id"] not in theirs)}


def _operations(server) -> list[tuple[str, str]]:
    with server.client("bob") as http:
        schema = http.get("/api/openapi.json").json()
    return [(method.upper(), path) for path, item in schema["paths"].items()
            for method in item if method in ("get", "post", "patch", "delete", "put")]


BODIES = {"/api/files/{file_id}/tags": {"tag": "Probe"}, "/api/people/{person_id}": {"name": "X"},
          "/api/people/{person_id}/merge": {"others": [1]},
          "/api/people/{person_id}/faces": {"faces": [1]}, "/api/tokens": {"name": "t"},
          "/api/people": {"faces": [1]}, "/api/mounts": {"path": "/"},
          "/api/files/{file_id}/faces": {"box": [0.1, 0.1, 0.2, 0.2]},
          "/api/faces/{face_id}/name": {"name": "Someone"}}


def test_the_server_processes_both_users_libraries(server):
    with server.client("alice") as http:
        status = http.get("/api/status").json()
        people = http.get("/api/people").json()["items"]
    assert status["files"] == {"image": 58}
    assert {c["classifier"]: c["done"] for c in status["classifiers"]} == {
        "faces": 58, "objects": 58, "places": 58}
    assert len(people) == 5 and all(p["faces"] == 11 for p in people)  # the five Johns
    with server.client("bob") as http:
        assert http.get("/api/status").json()["files"] == {"image": 3}
        assert http.get("/api/me").json() == {"id": 2, "name": "bob", "admin": False}


def test_every_route_but_health_needs_sign_in(server):
    operations = _operations(server)
    assert len(operations) >= 30
    with httpx.Client(base_url=server.url) as anonymous:
        for method, path in operations:
            url = re.sub(r"\{[a-z_]+\}", "1", path).replace("/api/reset/1", "/api/reset/objects")
            response = anonymous.request(method, url, json=BODIES.get(path))
            expected = 200 if path == "/api/health" else 401
            assert response.status_code == expected, (method, path, response.text)
        assert anonymous.get("/api/me", headers={"Authorization": "Bearer kn_wrong"}
                             ).status_code == 401
        assert anonymous.get("/").status_code == 401
        assert anonymous.get("/", headers={"Accept": "text/html"}).status_code == 303
        assert anonymous.get("/api/openapi.json").status_code == 401
        assert anonymous.get("/api/docs").status_code == 401
        assert anonymous.request("PROPFIND", "/dav/people/").status_code == 401


def test_another_users_ids_are_404_on_every_api_route(server):
    alice = _ids(server, "alice", "bob")
    with server.client("bob") as bob:
        checked = 0
        for method, path in _operations(server):
            names = re.findall(r"\{([a-z_]+)\}", path)
            if not names or path.startswith("/api/reset/"):
                continue
            url = path
            for name in names:
                url = url.replace("{" + name + "}", str(alice[name]))
            body = BODIES.get(path)
            if path == "/api/people/{person_id}/faces":
                body = {"faces": [alice["face_id"]]}
            response = bob.request(method, url, json=body)
            assert response.status_code == 404, (method, url, response.status_code, response.text)
            checked += 1
        assert checked >= 18
        # Ids inside bodies and queries too.
        own = bob.get("/api/people").json()["items"]
        if own:
            assert bob.post(f"/api/people/{own[0]['id']}/faces",
                            json={"faces": [alice["face_id"]]}).status_code == 404
            assert bob.post(f"/api/people/{own[0]['id']}/merge",
                            json={"others": [alice["person_id"]]}).status_code == 404
        assert bob.post("/api/people", json={"faces": [alice["face_id"]]}).status_code == 404
        assert bob.get("/api/search", params={"person": alice["person_id"]}).status_code == 404
        assert bob.get("/api/files", params={"mount": alice["mount_id"]}).json()["items"] == []
    with server.client("alice") as http:  # nothing of alice's changed
        assert http.get(f"/api/people/{alice['person_id']}").json()["faces"] == 11


def test_people_rename_merge_split_remove_hide(server):
    with server.client("alice") as http:
        people = http.get("/api/people").json()["items"]
        a, b, c = (p["id"] for p in people[:3])
        assert http.patch(f"/api/people/{a}", json={"name": "Ann"}).json()["name"] == "Ann"
        clash = http.patch(f"/api/people/{b}", json={"name": "ann"})
        assert clash.status_code == 409 and "already" in clash.json()["detail"]
        faces_b = [f["face"] for f in http.get(f"/api/people/{b}/faces").json()["items"]]
        merged = http.post(f"/api/people/{a}/merge", json={"others": [b]}).json()
        assert merged["faces_moved"] == 11
        assert http.get(f"/api/people/{b}").status_code == 404
        assert http.get(f"/api/people/{a}").json()["faces"] == 22
        # Split two faces off into a new person, then one of them back out of it.
        split = http.post("/api/people", json={"faces": faces_b[:2], "name": "Split"})
        assert split.status_code == 201
        new = split.json()["id"]
        assert http.get(f"/api/people/{new}").json()["faces"] == 2
        removed = http.delete(f"/api/people/{new}/faces/{faces_b[0]}")
        assert removed.json() == {"removed": 1}
        face = http.get(f"/api/faces/{faces_b[0]}").json()
        assert face["person"] is None and new in face["not_person"]
        assert http.delete(f"/api/people/{a}/faces/{faces_b[0]}").status_code == 404
        # "This is X" for the unassigned face, with a suggestion that points at the right one.
        waiting = {f["face"]: f for f in http.get("/api/faces/unassigned").json()}
        assert faces_b[0] in waiting
        assert http.post(f"/api/people/{a}/faces", json={"faces": [faces_b[0]]}).status_code == 200
        # Photos of several people together: none (each John is alone in his photos).
        assert http.get("/api/search", params={"person": [a, c]}).json()["items"] == []
        assert len(http.get(f"/api/people/{c}/files").json()["items"]) == 11
        assert http.patch(f"/api/people/{c}", json={"hidden": True}).json()["hidden"] is True
        assert c not in {p["id"] for p in http.get("/api/people").json()["items"]}
        assert c in {p["id"] for p in http.get("/api/people?hidden=true").json()["items"]}
        dissolved = http.delete(f"/api/people/{new}").json()
        assert dissolved["faces_unassigned"] == 1


def test_tags_search_and_a_removed_tag_stays_removed(server):
    with server.client("alice") as http:
        tags = {t["tag"]: t for t in http.get("/api/tags").json()["items"]}
        assert {"Bird", "Fish"} <= set(tags)
        birds = http.get(f"/api/tags/{tags['Bird']['id']}/files").json()["items"]
        assert [f["name"] for f in birds] == ["n01530575_brambling.jpg"]
        bird_id = birds[0]["id"]
        detail = http.get(f"/api/files/{bird_id}").json()
        assert {"Bird", "Animal"} <= {t["tag"] for t in detail["tags"]}
        # A user's own tag, and a machine tag taken away.
        assert http.post(f"/api/files/{bird_id}/tags", json={"tag": "Whiskers"}).status_code == 201
        assert http.delete(f"/api/files/{bird_id}/tags/{tags['Bird']['id']}").status_code == 200
        # Search: tag AND tag, tag AND person, place, dates.
        found = http.get("/api/search", params={"tag": ["Whiskers", "Animal"]}).json()["items"]
        assert [f["id"] for f in found] == [bird_id]
        assert http.get("/api/search", params={"tag": ["Whiskers", "Fish"]}).json()["items"] == []
        assert http.get("/api/search", params={"tag": "Nosuchtag"}).json()["items"] == []
        assert http.get("/api/search", params={"place": "Paris"}).json()["items"] == []
        later = http.get("/api/search", params={"tag": "Whiskers",
                                                 "from": "2999-01-01T00:00:00Z"}).json()
        assert later["items"] == []
        earlier = http.get("/api/search", params={"tag": "Whiskers",
                                                   "to": "2999-01-01T00:00:00Z"}).json()
        assert len(earlier["items"]) == 1
        # Re-doing the objects classifier does not bring the removed tag back.
        assert http.post("/api/reset/objects").status_code == 200
    server.wait_idle("alice")
    with server.client("alice") as http:
        detail = http.get(f"/api/files/{bird_id}").json()
        names = {t["tag"] for t in detail["tags"]}
        assert "Bird" not in names and {"Animal", "Whiskers"} <= names
        assert detail["removed_tags"] == ["Bird"]
        http.post(f"/api/files/{bird_id}/tags", json={"tag": "bird"})  # adding it back by hand
        assert "Bird" in {t["tag"] for t in http.get(f"/api/files/{bird_id}").json()["tags"]}


def test_search_by_the_date_a_photo_was_taken(server):
    """The EXIF capture time counts, not the file's time (a copy made today)."""
    from PIL import Image

    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2019:07:14 10:30:00"
    exif.get_ifd(0x8769)[0x9011] = "+02:00"
    Image.open(IMAGENET / "n01443537_goldfish.JPEG").save(
        server.libraries["alice"] / "holiday fish.jpg", exif=exif)
    started = time.monotonic()
    with server.client("alice") as http:
        while time.monotonic() - started < 60:
            july = http.get("/api/search", params={"from": "2019-07-14T00:00:00Z",
                                                   "to": "2019-07-15T00:00:00Z"}).json()
            if july["items"]:
                break
            time.sleep(0.3)
        assert [f["name"] for f in july["items"]] == ["holiday fish.jpg"]
        assert july["items"][0]["taken"] == "2019-07-14T08:30:00+00:00"
        fish = http.get("/api/search", params={"tag": "Fish"}).json()["items"]
        assert {f["name"]: f["taken"] for f in fish}["holiday fish.jpg"].startswith("2019")
        later = http.get("/api/search", params={"tag": "Fish", "from": "2020-01-01T00:00:00Z"})
        assert "holiday fish.jpg" not in {f["name"] for f in later.json()["items"]}
    (server.libraries["alice"] / "holiday fish.jpg").unlink()
    with server.client("alice") as http:  # the watcher sees the deletion too
        deadline = time.monotonic() + 60
        while "holiday fish.jpg" in {f["name"] for f in http.get(
                "/api/files?limit=500").json()["items"]}:
            assert time.monotonic() < deadline, "the deleted photo is still listed"
            time.sleep(0.3)


def test_pagination_is_stable_and_complete(server):
    with server.client("alice") as http:
        seen, after = [], 0
        while True:
            page = http.get("/api/files", params={"limit": 7, "after": after}).json()
            seen += [f["id"] for f in page["items"]]
            if page["next"] is None:
                break
            after = page["next"]
        assert len(seen) == 58 and seen == sorted(set(seen))
        people = http.get("/api/people", params={"limit": 2}).json()
        assert len(people["items"]) == 2 and people["next"] == 2


def test_new_files_are_processed_within_seconds(server):
    library = server.libraries["alice"]
    started = time.monotonic()
    shutil.copyfile(IMAGENET / "n01530575_brambling.JPEG", library / "new bird.jpg")
    with server.client("alice") as http:
        while time.monotonic() - started < 60:
            found = http.get("/api/search", params={"tag": "Bird"}).json()["items"]
            if any(f["name"] == "new bird.jpg" for f in found):
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the new photo was not processed within 60 s")
    assert time.monotonic() - started < 30


def test_originals_and_paths_never_leave_the_mount(server, tmp_path):
    library = server.libraries["bob"]
    with server.client("bob") as http:
        files = {f["name"]: f for f in http.get("/api/files").json()["items"]}
        dog = files["n01669191_box_turtle.jpg"]["id"]
        response = http.get(f"/api/files/{dog}/original")
        assert response.content == (library / "n01669191_box_turtle.jpg").read_bytes()
        for evil in ("/api/files/..%2F..%2Fetc%2Fpasswd/original", "/api/files/%2e%2e/original",
                     "/dav/people/..%2F..%2F..%2Fetc%2Fpasswd", "/static/..%2F..%2Fapp.py",
                     "/static/%2e%2e/%2e%2e/app.py"):
            got = http.get(evil, auth=("bob", PASSWORDS["bob"]))
            assert got.status_code in (400, 404, 422), (evil, got.status_code)
            assert b"root:" not in got.content and b"import" not in got.content
        # A file swapped for a link out of the mount after it was indexed.
        secret = tmp_path / "secret.txt"
        secret.write_text("not yours")
        target = library / "n01443537_goldfish.jpg"
        kept = target.read_bytes()
        fish = files["n01443537_goldfish.jpg"]["id"]
        target.unlink()
        os.symlink(secret, target)
        try:
            assert http.get(f"/api/files/{fish}/original").status_code == 404
        finally:
            target.unlink()
            target.write_bytes(kept)


def test_malformed_requests_get_4xx(server):
    with server.client("alice") as http:
        person = http.get("/api/people").json()["items"][0]["id"]
        assert http.patch(f"/api/people/{person}", content=b"{not json",
                          headers={"Content-Type": "applibird_idion/json"}).status_code == 422
        assert http.patch(f"/api/people/{person}", json={"name": 5}).status_code == 422
        assert http.patch(f"/api/people/{person}", json={"nmae": "x"}).status_code == 422
        assert http.post(f"/api/people/{person}/faces", json={"faces": "1"}).status_code == 422
        assert http.post(f"/api/people/{person}/faces",
                         json={"faces": [2**80]}).status_code == 422
        assert http.get("/api/files/99999999999999999999").status_code == 422
        assert http.get("/api/files", params={"limit": -1}).status_code == 422
        huge = http.post("/api/tokens", content=b"x" * (2 << 20),
                         headers={"Content-Type": "applibird_idion/json"})
        assert huge.status_code == 413
        bad_xml = http.request("PROPFIND", "/dav/people/", content=b"<propfind><oops",
                               auth=("alice", PASSWORDS["alice"]), headers={"Depth": "1"})
        assert 400 <= bad_xml.status_code < 500
        assert http.get("/api/search", params={"from": "yesterday"}).status_code == 422


def test_mounts_are_added_by_admins_only(server, tmp_path):
    folder = tmp_path / "more"
    folder.mkdir()
    shutil.copyfile(IMAGENET / "n01443537_goldfish.JPEG", folder / "fish.jpg")
    with server.client("bob") as bob:
        assert bob.post("/api/mounts", json={"path": str(folder)}).status_code == 403
    with server.client("alice") as alice:
        assert alice.post("/api/mounts", json={"path": "relative/x"}).status_code == 422
        assert alice.post("/api/mounts", json={"path": "/no/such/folder"}).status_code == 409
        added = alice.post("/api/mounts", json={"path": str(folder), "user": "bob"})
        assert added.status_code == 201
        mount = added.json()["id"]
        assert alice.delete(f"/api/mounts/{mount}").status_code == 404  # bob's, not hers
    server.wait_idle("bob")
    with server.client("bob") as bob:
        assert any(f["name"] == "fish.jpg" for f in bob.get("/api/files").json()["items"])
        assert bob.post(f"/api/mounts/{mount}/rescan").status_code == 202
        server.wait_idle("bob")
        assert bob.delete(f"/api/mounts/{mount}").json()["removed"] is True
        assert not any(f["name"] == "fish.jpg" for f in bob.get("/api/files").json()["items"])
    assert (folder / "fish.jpg").is_file()  # forgetting a mount never touches its files


def test_a_user_added_on_the_command_line_is_served_at_once(server, tmp_path):
    folder = tmp_path / "dave"
    folder.mkdir()
    shutil.copyfile(IMAGENET / "n01530575_brambling.JPEG", folder / "bird.jpg")
    server.cli("user", "add", "dave", "--mount", folder, "--password-stdin",
               input=b"dave-secret-77\n")
    token = server.cli("user", "token", "dave", "--json").json()["token"]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        def names() -> set[str]:
            return {f["name"] for f in http.get("/api/search", params={"tag": "Bird"}
                                                ).json()["items"]}

        deadline = time.monotonic() + 60
        while "bird.jpg" not in names():
            assert time.monotonic() < deadline, "dave's folder was not processed"
            time.sleep(0.3)
        shutil.copyfile(IMAGENET / "n01530575_brambling.JPEG", folder / "second bird.jpg")
        while "second bird.jpg" not in names():  # and it is watched
            assert time.monotonic() < deadline, "dave's folder is not watched"
            time.sleep(0.3)


def test_tokens_can_be_listed_and_revoked(server):
    with server.client("bob") as http:
        made = http.post("/api/tokens", json={"name": "phone"}).json()
        assert made["token"].startswith("kn_")
        with httpx.Client(base_url=server.url,
                          headers={"Authorization": f"Bearer {made['token']}"}) as phone:
            assert phone.get("/api/me").json()["name"] == "bob"
            assert http.delete(f"/api/tokens/{made['id']}").status_code == 200
            assert phone.get("/api/me").status_code == 401
        assert "token" not in str(http.get("/api/tokens").json()[0].keys())


def test_no_password_or_token_reaches_the_log(server):
    log = server.log()
    for secret in list(PASSWORDS.values()) + list(server.tokens.values()):
        assert secret not in log


def test_log_ins_are_throttled(server):
    server.cli("user", "add", "carol", "--password-stdin", input=b"carol-secret-9\n")
    with httpx.Client(base_url=server.url) as browser:
        for _ in range(5):
            wrong = sign_in(browser, "carol", "guess")
            assert wrong.status_code == 401
        right = sign_in(browser, "carol", "carol-secret-9")
        assert right.status_code == 429 and "try again in" in right.text
        basic = browser.get("/api/me", auth=("carol", "carol-secret-9"))
        assert basic.status_code == 429 and int(basic.headers["Retry-After"]) > 0
