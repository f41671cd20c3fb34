"""WebDAV as a hostile client would use it: deleting the collections themselves, probes
that file managers send, locks and properties across users, slow readers."""

from __future__ import annotations

import re
import socket
import threading
import time

import httpx
import pytest
from server_support import PASSWORDS, start_server

LOCK_BODY = ('<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope>'
             '<D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>x'
             '</D:owner></D:lockinfo>')


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("dav-attacks"), classifiers="objects,faces")
    server.wait_idle("alice")
    server.wait_idle("bob")
    yield server
    server.stop()


def dav(server, user: str) -> httpx.Client:
    return httpx.Client(base_url=server.url + "/dav", auth=(user, PASSWORDS[user]), timeout=60)


def library(server, user: str) -> dict:
    """Everything a user could lose: people with their faces, tags with their files."""
    with server.client(user) as http:
        people = http.get("/api/people?hidden=true&limit=500").json()["items"]
        tags = http.get("/api/tags?limit=500").json()["items"]
        unassigned = http.get("/api/faces/unassigned?limit=500").json()
    return {"people": sorted((p["id"], p["name"], p["faces"]) for p in people),
            "tags": sorted((t["tag"], t["files"]) for t in tags),
            "unassigned": sorted(f["face"] for f in unassigned)}


def test_deleting_the_collections_themselves_changes_nothing(server):
    before = library(server, "alice")
    assert before["people"] and before["tags"]
    with dav(server, "alice") as client:
        tag = client.request("PROPFIND", "/tags/", headers={"Depth": "1"})
        assert tag.status_code == 207
        for path in ("/people/", "/tags/", "/unassigned/", "/", "/tags/Animal/"):
            for depth in ("infinity", None):
                headers = {"Depth": depth} if depth else {}
                answer = client.request("DELETE", path, headers=headers)
                assert answer.status_code in (403, 404, 405), (path, answer.status_code)
                assert library(server, "alice") == before, path
            moved = client.request("MOVE", path, headers={
                "Destination": server.url + "/dav/people/Elsewhere"})
            assert 400 <= moved.status_code < 500, (path, moved.status_code)
            assert library(server, "alice") == before, path


def test_deleting_a_person_folder_says_what_it_did(server):
    with server.client("bob") as http:
        person = http.post("/api/people", json={"faces": [_a_face(server, "bob")],
                                                "name": "Temporary"}).json()
    with dav(server, "bob") as client:
        answer = client.request("DELETE", "/people/Temporary/")
    assert answer.status_code == 204
    with server.client("bob") as http:
        assert http.get(f"/api/people/{person['id']}").status_code == 404


def _a_face(server, user: str) -> int:
    with server.client(user) as http:
        faces = http.get("/api/faces/unassigned?limit=5").json()
        if faces:
            return faces[0]["face"]
        person = http.get("/api/people").json()["items"][0]
        return http.get(f"/api/people/{person['id']}/faces").json()["items"][0]["face"]


@pytest.mark.parametrize(("method", "path", "headers"), [
    ("GET", "/desktop.ini", {}), ("GET", "/.DS_Store", {}), ("PROPFIND", "/.DS_Store", {}),
    ("PROPFIND", "/desktop.ini", {"Depth": "0"}), ("GET", "/people/desktop.ini", {}),
    ("PROPFIND", "/people/.DS_Store", {"Depth": "0"}), ("GET", "/tags/._Animal", {}),
    ("PUT", "/desktop.ini", {}), ("PUT", "/people/desktop.ini", {}),
    ("PUT", "/tags/Thumbs.db", {}), ("MKCOL", "/foo", {}), ("MKCOL", "/tags/New", {}),
    ("MKCOL", "/unassigned/x", {}), ("DELETE", "/", {}), ("DELETE", "/nothing", {}),
    ("COPY", "/people/", {"Destination": "/dav/people/Copy"}),
    ("COPY", "/tags/", {"Destination": "/dav/tags/Copy"}),
    ("MOVE", "/", {"Destination": "/dav/x"}), ("PROPPATCH", "/people/", {}),
    ("UNLOCK", "/people/", {"Lock-Token": "<opaquelocktoken:nope>"}),
    ("LOCK", "/nothing/here", {}), ("POST", "/people/", {}), ("PATCH", "/", {}),
])
def test_probes_from_file_managers_get_4xx(server, method, path, headers):
    with dav(server, "alice") as client:
        answer = client.request(method, path, headers=headers, content=b"x" if method in (
            "PUT", "POST", "PATCH") else None)
    assert 400 <= answer.status_code < 500, (method, path, answer.status_code,
                                             answer.text[:200])


def a_photo(client: httpx.Client, folder: str = "/tags/Animal/") -> str:
    """The path (below /dav) of the first photo WebDAV lists in `folder`."""
    listing = client.request("PROPFIND", folder, headers={"Depth": "1"}).text
    return next(part.split("<")[0].removeprefix("/dav")
                for part in listing.split("<ns0:href>")
                if part.startswith("/dav" + folder) and not part.startswith(
                    "/dav" + folder + "<"))


def test_copying_a_photo_is_refused_and_nothing_is_written(server):
    with dav(server, "alice") as client:
        answer = client.request("COPY", a_photo(client), headers={
            "Destination": server.url + "/dav/people/Copy.jpg"})
    assert answer.status_code == 403


def test_locks_are_per_user(server):
    with dav(server, "alice") as alice, dav(server, "bob") as bob:
        lock = alice.request("LOCK", "/people/", content=LOCK_BODY,
                             headers={"Depth": "infinity", "Timeout": "Second-600"})
        assert lock.status_code == 200, lock.text
        try:
            # Alice's own folder is locked for her without the token...
            assert alice.request("MKCOL", "/people/Locked Out").status_code == 423
            # ...but Bob's /people/ is another folder: his lock-free changes go through.
            assert bob.request("MKCOL", "/people/Bob Friend").status_code == 201
            found = bob.request("PROPFIND", "/people/", headers={"Depth": "0"},
                                content='<?xml version="1.0"?><D:propfind xmlns:D="DAV:">'
                                        '<D:prop><D:lockdiscovery/></D:prop></D:propfind>')
            assert "opaquelocktoken" not in found.text
        finally:
            alice.request("UNLOCK", "/people/", headers={"Lock-Token": lock.headers["Lock-Token"]})
    with server.client("bob") as http:
        person = next(p for p in http.get("/api/people?hidden=true").json()["items"]
                      if p["name"] == "Bob Friend")
        http.delete(f"/api/people/{person['id']}")


def _shared_lock(owner: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope>'
            '<D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>'
            f'{owner}</D:owner></D:lockinfo>')


def test_locks_are_bounded_per_user(server):
    """Many locks, huge owners and endless timeouts: each user has at most 100 locks,
    owners of at most 4 KB and locks of at most an hour, so neither the server's memory
    nor a lockdiscovery answer can be blown up."""
    tokens = []
    with dav(server, "bob") as bob:
        huge = bob.request("LOCK", "/tags/", content=_shared_lock("o" * 900_000),
                           headers={"Depth": "0", "Timeout": "Second-600"})
        assert huge.status_code == 400, huge.status_code
        answers = []
        try:
            for n in range(110):
                lock = bob.request("LOCK", "/tags/", content=_shared_lock("o" * 4000),
                                   headers={"Depth": "0", "Timeout": "Infinite, Second-99999999"})
                answers.append(lock.status_code)
                if lock.status_code == 200:
                    tokens.append(lock.headers["Lock-Token"])
                    seconds = [int(t) for t in re.findall(r"Second-(\d+)", lock.text)]
                    assert seconds and max(seconds) <= 3600, (n, seconds)
            assert answers[:100] == [200] * 100 and set(answers[100:]) == {507}, answers
            found = bob.request("PROPFIND", "/tags/", headers={"Depth": "0"},
                                content='<?xml version="1.0"?><D:propfind xmlns:D="DAV:">'
                                        '<D:prop><D:lockdiscovery/></D:prop></D:propfind>')
            assert found.status_code == 207 and len(found.content) < 1_000_000
            with dav(server, "alice") as alice:  # another user's locks are their own
                mine = alice.request("LOCK", "/tags/", content=_shared_lock("alice"),
                                     headers={"Depth": "0"})
                assert mine.status_code == 200
                alice.request("UNLOCK", "/tags/", headers={"Lock-Token":
                                                          mine.headers["Lock-Token"]})
        finally:
            for token in tokens:
                bob.request("UNLOCK", "/tags/", headers={"Lock-Token": token})


def test_dead_properties_are_not_stored(server):
    patch = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x"><D:set>'
             '<D:prop><Z:note>alice was here</Z:note></D:prop></D:set></D:propertyupdate>')
    with dav(server, "alice") as alice, dav(server, "bob") as bob:
        answer = alice.request("PROPPATCH", "/tags/", content=patch)
        assert answer.status_code in (207, 403, 409)
        assert "200 OK" not in answer.text
        for client in (alice, bob):
            found = client.request("PROPFIND", "/tags/", headers={"Depth": "0"},
                                   content='<?xml version="1.0"?><D:propfind xmlns:D="DAV:">'
                                           '<D:allprop/></D:propfind>')
            assert "alice was here" not in found.text


def test_a_photo_over_webdav_is_never_a_page(server):
    with dav(server, "alice") as client:
        photo = client.get(a_photo(client))
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg"
    assert photo.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in photo.headers["content-security-policy"]


def test_slow_clients_cannot_starve_the_others(server):
    """Sixteen clients that ask for photos and never read them (and eight that send half
    a request) must not stop another client's WebDAV requests."""
    with dav(server, "alice") as client:
        href = "/dav" + a_photo(client)
    host, port = server.url.removeprefix("http://").split(":")
    sockets = []
    auth = httpx.BasicAuth("alice", PASSWORDS["alice"])._auth_header
    for _ in range(16):
        s = socket.create_connection((host, int(port)))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.sendall(f"GET {href} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n"
                  .encode() * 20)  # pipelined: far more than a socket buffer holds
        sockets.append(s)
    for _ in range(8):
        s = socket.create_connection((host, int(port)))
        s.sendall(f"PROPFIND /dav/people/ HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
                  "Content-Length: 100\r\n\r\n<?xml".encode())
        sockets.append(s)
    time.sleep(1.0)
    try:
        timings = []
        for _ in range(5):
            started = time.monotonic()
            with dav(server, "bob") as other:
                assert other.request("PROPFIND", "/people/",
                                     headers={"Depth": "1"}).status_code == 207
            timings.append(time.monotonic() - started)
        assert max(timings) < 5.0, timings
    finally:
        for s in sockets:
            s.close()


def test_webdav_log_ins_are_not_a_lockout_for_app_tokens(server):
    """A stranger guessing Bob's password over WebDAV cannot stop Bob's app token."""
    stop = threading.Event()

    def guess():
        with httpx.Client(base_url=server.url + "/dav", auth=("bob", "wrong password"),
                          timeout=30) as client:
            while not stop.is_set():
                client.request("PROPFIND", "/", headers={"Depth": "0"})

    guesser = threading.Thread(target=guess)
    guesser.start()
    try:
        time.sleep(2.0)
        with httpx.Client(base_url=server.url + "/dav", auth=("bob", server.tokens["bob"]),
                          timeout=30) as client:
            assert client.request("PROPFIND", "/", headers={"Depth": "0"}).status_code == 207
    finally:
        stop.set()
        guesser.join()
