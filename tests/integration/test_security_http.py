"""HTTP as a hostile client would speak it: requests that trickle in or never end, a
flood of garbage, NUL bytes and huge ids on PostgreSQL; and the server's own promises:
it restarts at once, logs requests when asked, and keeps each user's names apart."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from server_support import Server, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("http"), classifiers="objects,faces",
                          serve_args=("--access-log",))
    server.wait_idle("alice")
    server.wait_idle("bob")
    yield server
    server.stop()


def _connect(server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=60)


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closes the connection within `seconds` (and what it sent)."""
    sock.settimeout(seconds)
    got = b""
    try:
        while chunk := sock.recv(4096):
            got += chunk
        return True, got
    except TimeoutError:
        return False, got
    except ConnectionResetError:
        return True, got


def test_a_request_that_trickles_in_is_dropped(server):
    """Slowloris: headers a line every 2 s, never finished. uvicorn alone waits forever."""
    sock = _connect(server)
    sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    closed = False
    while time.monotonic() - started < 30:
        try:
            sock.sendall(b"X-Padding: slow\r\n")
        except OSError:
            closed = True
            break
        closed, _ = _closed_within(sock, 2.0)
        if closed:
            break
    sock.close()
    assert closed and time.monotonic() - started < 20


def test_a_body_that_stops_arriving_gets_408(server):
    sock = _connect(server)
    sock.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-"
                 b"urlencoded\r\nContent-Length: 100\r\n\r\nname=alice")
    started = time.monotonic()
    closed, answer = _closed_within(sock, 40)
    sock.close()
    assert closed and time.monotonic() - started < 30
    assert answer.startswith(b"HTTP/1.1 408")


def test_a_flood_of_garbage_does_not_flood_the_log(server):
    before = server.log_path.stat().st_size
    for n in range(300):
        sock = _connect(server)
        sock.sendall(b"\x16\x03\x01 not http at all %d\r\n\r\n" % n)
        _closed_within(sock, 5)
        sock.close()
    for n in range(300):
        httpx.get(server.url + "/dav/" + "x" * 4000 + str(n), auth=("nobody", "nothing1"))
    grown = server.log_path.stat().st_size - before
    # 600 requests: the access log has a line for each (asked for, and cut short), and
    # "Invalid HTTP request" is written a few times, then counted, not written.
    assert grown < 600 * 2100 + 10_000, grown
    log = server.log()[-grown:]
    assert log.count("Invalid HTTP request") <= 6
    assert max(len(line) for line in log.splitlines()) <= 2100


def test_the_access_log_is_written_when_asked(server):
    httpx.get(server.url + "/api/health?probe=access-log")
    time.sleep(0.5)
    assert "/api/health?probe=access-log" in server.log()


def test_serve_starts_again_at_once_on_the_same_port(tmp_path):
    """With connections just closed by the server (TIME_WAIT), a new `kenning serve` on
    the same port starts at once instead of 'address in use'."""
    server = start_server(tmp_path / "restart", classifiers="", serve_args=("--no-process",))
    port = int(server.url.rsplit(":", 1)[1])
    for _ in range(20):  # the server closes these (Connection: close)
        httpx.get(server.url + "/api/health", headers={"Connection": "close"})
    server.stop()
    process = subprocess.Popen([sys.executable, "-m", "kenning", "serve", "--port", str(port),
                                "--no-process"], env=server.cli.env, stderr=subprocess.PIPE)
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            assert process.poll() is None, process.stderr.read().decode()
            try:
                if httpx.get(server.url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("the new server did not answer")
    finally:
        process.terminate()
        process.wait(30)


def test_names_with_control_characters_are_refused(server):
    with server.client("alice") as http:
        person = http.get("/api/people").json()["items"][0]
        for bad in ("Ann\x1b[31m", "Ann\nBob", "Ann\x00", "\u202e\x07"):
            answer = http.patch(f"/api/people/{person['id']}", json={"name": bad})
            assert answer.status_code in (409, 422), (bad, answer.status_code)
            assert http.post("/api/tokens", json={"name": bad}).status_code == 422
        file_id = http.get("/api/files").json()["items"][0]["id"]
        assert http.post(f"/api/files/{file_id}/tags", json={"tag": "a\tb"}).status_code == 409
    refused = server.cli("user", "add", "eve\x1b[2J", "--password-stdin",
                         input=b"eve-secret-1\n", check=False)
    assert refused.code != 0 and "not a valid user name" in refused.stderr


def test_tags_are_per_user_and_matched_by_unicode_case(server):
    with server.client("alice") as alice, server.client("bob") as bob:
        a_file = alice.get("/api/files").json()["items"][0]["id"]
        b_file = bob.get("/api/files").json()["items"][0]["id"]
        mine = alice.post(f"/api/files/{a_file}/tags", json={"tag": "Île-de-France"}).json()
        alice.post(f"/api/files/{a_file}/tags", json={"tag": "Łódź"})
        assert [f["id"] for f in alice.get("/api/search?tag=ÎLE-DE-FRANCE").json()["items"]] \
            == [a_file]
        assert [f["id"] for f in alice.get("/api/search?tag=łÓdŹ").json()["items"]] == [a_file]
        # Bob types the same name: his own tag, spelled his way; Alice's is invisible.
        theirs = bob.post(f"/api/files/{b_file}/tags", json={"tag": "île-de-france"}).json()
        assert theirs["tag"] == "île-de-france" and theirs["id"] != mine["id"]
        assert bob.get(f"/api/tags/{mine['id']}").status_code == 404
        assert bob.get("/api/search?tag=Île-de-France").json()["items"] == [
            *bob.get(f"/api/tags/{theirs['id']}/files").json()["items"]]
        assert all(t["tag"] != "Łódź" for t in bob.get("/api/tags").json()["items"])
        assert bob.get("/api/search?tag=Łódź").json()["items"] == []


def test_people_names_match_by_unicode_case(server):
    with server.client("alice") as http:
        person = http.get("/api/people").json()["items"][0]
        http.patch(f"/api/people/{person['id']}", json={"name": "Zoë Straße"})
        cli = server.cli
        cli.env["KENNING_USER"] = "alice"
        try:
            photos = cli("people", "photos", "ZOË STRASSE", "--json").json()
        finally:
            cli.env.pop("KENNING_USER")
        assert len(photos["files"]) == person["faces"]


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory, postgres_module_url):
    server = start_server(tmp_path_factory.mktemp("pg"), classifiers="objects",
                          extra_env={"KENNING_DATABASE_URL": postgres_module_url})
    server.wait_idle("alice")
    yield server
    server.stop()


@pytest.mark.parametrize("request_", [
    ("GET", "/api/files/2147483648"), ("GET", "/api/files/9007199254740993"),
    ("GET", "/api/people/2147483648/files"), ("GET", "/api/files?after=2147483648"),
    ("GET", "/api/search?tag=a%00b"), ("GET", "/api/search?place=a%00b"),
    ("GET", "/api/tags?prefix=%00"), ("POST", "/api/files/1/tags", {"tag": "a\u0000b"}),
    ("POST", "/api/tokens", {"name": "x\u0000"}), ("PATCH", "/api/people/1", {"name": "\u0000"}),
    ("POST", "/api/mounts", {"path": "/tmp/\u0000"}),
    ("POST", "/api/mounts", {"path": "/tmp", "user": "a\u0000"}),
    ("GET", "/search?tag=a%00b&person=a%00&place=%00"), ("GET", "/search?person=99999999999"),
    ("GET", "/files/2147483648"), ("GET", "/people/99999999999"),
    ("POST", "/login", None, {"name": "a\x00b", "password": "x\x00"}),
])
def test_nul_bytes_and_huge_ids_are_4xx_on_postgresql(pg_server, request_):
    method, path, body, form = (*request_, None, None)[:4]
    with pg_server.client("alice") as http:
        http.post("/login", data={"name": "alice", "password": "alice-secret-1"})
        answer = http.request(method, path, json=body, data=form)
    assert answer.status_code < 500, (request_, answer.status_code, answer.text[:300])
    with httpx.Client(base_url=pg_server.url, auth=("a\x00b", "x")) as dav:
        assert dav.request("PROPFIND", "/dav/", headers={"Depth": "0"}).status_code == 401


def test_no_traceback_in_the_postgresql_server_log(pg_server):
    assert "Traceback" not in pg_server.log(), pg_server.log()[-3000:]


def test_the_watcher_survives_names_that_are_not_utf8(tmp_path):
    server = start_server(tmp_path / "watch", classifiers="objects")
    try:
        server.wait_idle("bob")
        bob = os.fsencode(server.libraries["bob"])
        photo = (server.libraries["bob"] / "n01443537_goldfish.jpg").read_bytes()
        with open(bob + b"/caf\xe9 \xff.jpg", "wb") as out:
            out.write(photo)
        _wait_files(server, "bob", 4)
        (server.libraries["bob"] / "after.jpg").write_bytes(photo)
        _wait_files(server, "bob", 5)
        assert "Traceback" not in server.log()
    finally:
        server.stop()


def _wait_files(server: Server, user: str, count: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    with server.client(user) as http:
        while time.monotonic() < end:
            if len(http.get("/api/files").json()["items"]) == count:
                return
            time.sleep(0.5)
    raise AssertionError(f"{user} does not have {count} files: {server.log()[-2000:]}")

