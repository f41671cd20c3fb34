"""WebDAV people and tags, driven by a real client (rclone, from Debian) and raw HTTP."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from server_support import PASSWORDS, start_server


def _media(server) -> dict:
    return {path: hashlib.sha256(path.read_bytes()).hexdigest()
            for folder in server.libraries.values() for path in sorted(folder.rglob("*"))
            if path.is_file()}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if shutil.which("rclone") is None:
        pytest.fail("rclone is missing: `make test` installs it (apt-get install rclone)")
    server = start_server(tmp_path_factory.mktemp("dav"))
    server.wait_idle("alice")
    server.wait_idle("bob")
    before = _media(server)
    yield server
    server.stop()
    assert _media(server) == before  # every move, delete and refused PUT left media alone


class Rclone:
    def __init__(self, server, user: str, tmp_path) -> None:
        obscured = subprocess.run(["rclone", "obscure", PASSWORDS[user]], check=True,
                                  capture_output=True, text=True).stdout.strip()
        self.config = tmp_path / f"rclone-{user}.conf"
        self.config.write_text(f"[k]\ntype = webdav\nurl = {server.url}/dav\nvendor = other\n"
                               f"user = {user}\npass = {obscured}\n")

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(["rclone", "--config", str(self.config), "--low-level-retries",
                               "1", "--retries", "1", *args], capture_output=True, text=True,
                              timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(f"rclone {args} failed:\n{done.stderr}")
        return done

    def names(self, remote: str) -> list[str]:
        return [line.rstrip("/") for line in self(("lsf"), f"k:{remote}").stdout.splitlines()]


def _people(server, user="alice") -> dict[int, dict]:
    with server.client(user) as http:
        return {p["id"]: p for p in http.get("/api/people?hidden=true").json()["items"]}


def test_the_documented_rclone_line_works_as_written(server, tmp_path):
    """docs/server.md's one-line rclone example, with this server's address, alice and her
    password in place of the example's."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "server.md").read_text()
    line = re.search(r'`(rclone lsf ":webdav,[^`]+)`', docs).group(1)
    line = (line.replace("http://127.0.0.1:8080", server.url).replace("user=ann", "user=alice")
            .replace("rclone obscure PW", f"rclone obscure {shlex.quote(PASSWORDS['alice'])}"))
    done = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "RCLONE_CONFIG": str(tmp_path / "none.conf")})
    assert done.returncode == 0, done.stderr
    listed = sorted(name.rstrip("/") for name in done.stdout.split())
    assert listed == sorted(f"person-{i}" for i in _people(server)) and listed


def test_people_as_folders_with_rclone(server, tmp_path):
    rclone = Rclone(server, "alice", tmp_path)
    assert rclone.names("") == ["people", "tags", "unassigned"]
    people = _people(server)
    folders = rclone.names("people")
    assert sorted(folders) == sorted(f"person-{i}" for i in people)
    first = folders[0]
    photos = rclone.names(f"people/{first}")
    assert len(photos) == 11 and all(p.split("-", 1)[0].isdigit() for p in photos)

    # GET returns the original file, byte for byte.
    rclone("copy", f"k:people/{first}", str(tmp_path / "copy"))
    with server.client("alice") as http:
        face = http.get(f"/api/faces/{photos[0].split('-')[0]}").json()
        original = http.get(f"/api/files/{face['file']}/original").content
    assert (tmp_path / "copy" / photos[0]).read_bytes() == original

    # Rename a person by moving the folder; make a named person with mkdir.
    rclone("moveto", f"k:people/{first}", "k:people/John Salley")
    person_id = int(first.removeprefix("person-"))
    assert _people(server)[person_id]["name"] == "John Salley"
    assert "John Salley" in rclone.names("people")
    rclone("mkdir", "k:people/Grandma")
    assert "Grandma" in {p["name"] for p in _people(server).values()}

    # Move one photo into another person: that face is reassigned.
    moved = photos[0]
    rclone("moveto", f"k:people/John Salley/{moved}", f"k:people/Grandma/{moved}")
    assert rclone.names("people/Grandma") == [moved]
    assert len(rclone.names("people/John Salley")) == 10

    # Delete a photo from a person: the face leaves it, for good.
    gone = rclone.names("people/John Salley")[0]
    rclone("deletefile", f"k:people/John Salley/{gone}")
    assert gone not in rclone.names("people/John Salley")
    assert gone in rclone.names("unassigned")
    with server.client("alice") as http:
        face = http.get(f"/api/faces/{gone.split('-')[0]}").json()
    assert face["person"] is None and person_id in face["not_person"]

    # Delete a person: it is dissolved and its faces become unassigned.
    other = next(f for f in rclone.names("people") if f.startswith("person-"))
    rclone("purge", f"k:people/{other}")
    assert other not in rclone.names("people")
    assert len(rclone.names("unassigned")) >= 12
    for path in server.libraries["alice"].rglob("*.jpg"):  # no media file was touched
        assert path.stat().st_size > 0


def test_tags_as_folders_with_rclone(server, tmp_path):
    rclone = Rclone(server, "alice", tmp_path)
    tags = rclone.names("tags")
    assert "Fish" in tags and "Bird" in tags
    fish = rclone.names("tags/Fish")
    assert [name.split("-", 1)[1] for name in fish] == ["n01440764_tench.jpg"]
    rclone("deletefile", f"k:tags/Fish/{fish[0]}")
    assert "Fish" not in rclone.names("tags")
    with server.client("alice") as http:
        detail = http.get(f"/api/files/{fish[0].split('-')[0]}").json()
    assert "Fish" in detail["removed_tags"]
    assert (server.libraries["alice"] / "n01440764_tench.jpg").is_file()


def test_raw_webdav_methods_and_refusals(server):
    auth = ("alice", PASSWORDS["alice"])
    with server.client(auth=auth) as http:
        listing = http.request("PROPFIND", "/dav/people/", headers={"Depth": "1"})
        assert listing.status_code == 207 and b"/dav/people/" in listing.content
        assert http.request("MKCOL", "/dav/people/Uncle%20Joe/").status_code == 201
        assert http.request("MKCOL", "/dav/people/Uncle%20Joe/").status_code == 405
        assert http.request("MKCOL", "/dav/tags/New/").status_code in (403, 405, 409)
        names = [p["name"] for p in _people(server).values() if p["name"]]
        taken = next(n for n in names if n != "Uncle Joe")
        onto = http.request("MOVE", "/dav/people/Uncle%20Joe/",
                            headers={"Destination": f"{server.url}/dav/people/{quote(taken)}/",
                                     "Overwrite": "T"})
        assert onto.status_code == 412  # never overwrites (dissolves) another person
        renamed = http.request("MOVE", "/dav/people/Uncle%20Joe/",
                               headers={"Destination": f"{server.url}/dav/people/Joe/"})
        assert renamed.status_code in (201, 204)
        put = http.put("/dav/people/Joe/new.jpg", content=b"\xff\xd8 not allowed")
        assert put.status_code in (403, 405, 409)
        bad = http.request("PROPFIND", "/dav/people/", content=b"<?xml version='1.0'?><oops",
                           headers={"Depth": "1"})
        assert bad.status_code == 400
        assert http.request("PROPFIND", "/dav/people/Nobody/").status_code == 404


def test_another_users_people_and_tags_are_not_found_over_webdav(server, tmp_path):
    alice_people = [p for p in _people(server).values()]
    bob = Rclone(server, "bob", tmp_path)
    bob_folders = bob.names("people")
    for person in alice_people:
        folder = person["name"] or f"person-{person['id']}"
        assert folder not in bob_folders
        listed = bob("lsf", f"k:people/{folder}", check=False)
        assert listed.returncode != 0
    with server.client(auth=("bob", PASSWORDS["bob"])) as http:
        for person in alice_people:
            folder = quote(person["name"] or f"person-{person['id']}")
            assert http.request("PROPFIND", f"/dav/people/{folder}/").status_code == 404
            assert http.request("DELETE", f"/dav/people/{folder}/").status_code == 404
        assert http.request("PROPFIND", "/dav/tags/Bird/").status_code == 404
    with server.client(auth=("bob", "wrong password")) as http:
        assert http.request("PROPFIND", "/dav/people/").status_code == 401
    assert len(_people(server)) == len(alice_people)  # nothing of alice's changed
