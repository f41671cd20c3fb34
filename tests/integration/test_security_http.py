"""HTTP as a hostile client would speak it: requests that trickle in or never end, a
flood of garbage, NUL bytes and huge ids on PostgreSQL; and the server's own promises:
it restarts at once, logs requests when asked, and keeps each user's names apart."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import httpx
import pytest
from server_support import Server, sign_in, start_server


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
        for folder in (".", "..", " .. "):  # a person is a WebDAV folder: never these
            answer = http.patch(f"/api/people/{person['id']}", json={"name": folder})
            assert answer.status_code == 409, (folder, answer.status_code)
        file_id = http.get("/api/files").json()["items"][0]["id"]
        assert http.post(f"/api/files/{file_id}/tags", json={"tag": "a\tb"}).status_code == 409
    refused = server.cli("user", "add", "eve\x1b[2J", "--password-stdin",
                         input=b"eve-secret-1\n", check=False)
    assert refused.code != 0 and "not a valid user name" in refused.stderr


def test_sign_in_needs_the_forms_token_and_links_put_no_words_on_pages(server):
    """Another site cannot sign a browser in (as the attacker, say): the form's token
    must come back in the form and in its SameSite cookie. And a link's ?msg= or ?error=
    shows nothing: only messages this server made (signed) are shown."""
    with httpx.Client(base_url=server.url) as browser:
        posted = browser.post("/login", data={"name": "alice", "password": "alice-secret-1"})
        assert posted.status_code == 403 and "kenning_session" not in browser.cookies
        forged = browser.post("/login", data={"name": "alice", "password": "alice-secret-1",
                                              "csrf": "made-up"})
        assert forged.status_code == 403 and "kenning_session" not in browser.cookies
    with httpx.Client(base_url=server.url) as browser:
        assert sign_in(browser, "alice", "alice-secret-1").status_code == 303
        page = browser.get("/", params={"msg": "Your account is locked: call 555-0100",
                                        "error": "Enter your password at evil.example"})
        assert page.status_code == 200
        shown_text = re.sub(r"<[^>]*>", " ", page.text)  # what a person reads
        assert "555-0100" not in shown_text and "evil.example" not in shown_text
        file_id = browser.get("/api/files").json()["items"][0]["id"]
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        added = browser.post(f"/files/{file_id}/tags", data={"tag": "Holiday", "csrf": token})
        assert added.status_code == 303
        shown = browser.get(added.headers["location"])
        assert "tag added" in shown.text  # the server's own message is shown
        tampered = added.headers["location"].replace("tag+added", "call+555-0100")
        assert "555-0100" not in re.sub(r"<[^>]*>", " ", browser.get(tampered).text)


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


HUGE_IDS = [
    ("GET", "/search?person=2147483648"), ("GET", "/search?person=99999999999999999999"),
    ("GET", "/search?person=%D9%A3"), ("GET", "/files/99999999999999999999"),
    ("PROPFIND", "/dav/people/person-2147483648/"),
    ("PROPFIND", "/dav/people/person-99999999999999/"),
    ("PROPFIND", "/dav/tags/Animal/2147483648-x.jpg"),
    ("PROPFIND", "/dav/tags/Animal/99999999999999-x.jpg"),
]
NUL_FORMS = [
    ("POST", "/files/1/tags", None, {"tag": "a\x00b", "csrf": "x"}),
    ("POST", "/people/1/rename", None, {"name": "\x00", "csrf": "x"}),
    ("POST", "/files/1/faces", None, {"x": "1", "y": "1", "width": "5", "height": "5",
                                      "name": "a\x00", "csrf": "x"}),
]


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
    *HUGE_IDS, *NUL_FORMS,
])
def test_nul_bytes_and_huge_ids_are_4xx_on_postgresql(pg_server, request_):
    _assert_4xx(pg_server, request_)
    with httpx.Client(base_url=pg_server.url, auth=("a\x00b", "x")) as dav:
        assert dav.request("PROPFIND", "/dav/", headers={"Depth": "0"}).status_code == 401


@pytest.mark.parametrize("request_", [*HUGE_IDS, *NUL_FORMS])
def test_huge_ids_and_nul_in_forms_are_4xx_on_sqlite(server, request_):
    _assert_4xx(server, request_)


def _assert_4xx(server, request_) -> None:
    method, path, body, form = (*request_, None, None)[:4]
    if path.startswith("/dav/"):
        with httpx.Client(base_url=server.url, auth=("alice", "alice-secret-1")) as dav:
            answer = dav.request(method, path, headers={"Depth": "1"})
        assert 400 <= answer.status_code < 500, (request_, answer.status_code)
        return
    with server.client("alice") as http:
        sign_in(http, "alice", "alice-secret-1")
        answer = http.request(method, path, json=body, data=form)
    assert 400 <= answer.status_code < 500 or answer.status_code in (200, 303), \
        (request_, answer.status_code, answer.text[:300])
    if form and any("\x00" in str(v) for v in form.values()):
        assert answer.status_code == 400, (request_, answer.status_code)


def test_no_traceback_in_the_postgresql_server_log(pg_server):
    assert "Traceback" not in pg_server.log(), pg_server.log()[-3000:]


def test_a_database_gone_is_503_until_it_is_back(pg_server):
    """The database stops taking connections (restarted, shut down for an upgrade): pages,
    the API (the plain-SQL lists too) and WebDAV answer 503 with a moment to wait rather
    than a 500 with a traceback, and everything answers again once it is back.
    (After the traceback check above: the processing may log while it is gone.)"""
    import psycopg
    from conftest import POSTGRES_ADMIN

    name = pg_server.cli.env["KENNING_DATABASE_URL"].rsplit("/", 1)[1]
    asks = [("api", "/api/files"), ("api", "/api/search?tag=Bird"), ("api", "/api/timeline"),
            ("api", "/api/people"), ("page", "/"), ("page", "/people")]
    with pg_server.client("alice") as api, pg_server.client() as page, \
            httpx.Client(base_url=pg_server.url, auth=("alice", "alice-secret-1")) as dav, \
            psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        sign_in(page, "alice", "alice-secret-1")
        clients = {"api": api, "page": page}

        def answers() -> list[int]:
            return [clients[who].get(path).status_code for who, path in asks] + [
                dav.request("PROPFIND", "/dav/", headers={"Depth": "1"}).status_code]

        assert answers() == [200] * len(asks) + [207]
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s", (name,))
            for who, path in asks:
                answer = clients[who].get(path)
                assert answer.status_code == 503, (path, answer.status_code, answer.text)
                assert answer.headers["retry-after"] == "5"
                assert "not answering" in answer.text
            assert dav.request("PROPFIND", "/dav/", headers={"Depth": "1"}).status_code == 503
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert answers() == [200] * len(asks) + [207]
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



def test_head_answers_like_get_and_failed_files_come_in_pages(server):
    bob = server.libraries["bob"]
    broken = [bob / f"broken{n}.jpg" for n in range(5)]
    for n, path in enumerate(broken):
        path.write_bytes(b"not a photo %d" % n)
    try:
        with server.client("bob") as http:
            (mount,) = http.get("/api/mounts").json()
            http.post(f"/api/mounts/{mount['id']}/rescan")
            server.wait_idle("bob")
            pages, offset = [], 0
            while offset is not None:
                page = http.get("/api/status", params={"failed_limit": 2,
                                                       "failed_offset": offset}).json()
                assert len(page["failed_files"]) <= 2
                pages += page["failed_files"]
                offset = page["failed_next"]
            assert len(pages) == page["failed_total"] >= 5
            assert len({(f["path"], f["stage"]) for f in pages}) == len(pages)
            photo = next(f for f in http.get("/api/files").json()["items"]
                         if f["kind"] == "image")
            original = f"/api/files/{photo['id']}/original"
            got, head = http.get(original), http.head(original)
            assert head.status_code == got.status_code == 200
            assert head.headers["content-length"] == got.headers["content-length"]
            assert head.headers["content-type"] == got.headers["content-type"]
            assert head.content == b""
        with httpx.Client(base_url=server.url) as browser:
            sign_in(browser, "bob", "bob-secret-22")
            for path in (f"/files/{photo['id']}/thumbnail", f"/files/{photo['id']}/preview"):
                got, head = browser.get(path), browser.head(path)
                assert head.status_code == got.status_code == 200, (path, head.status_code)
                assert head.headers["content-type"] == got.headers["content-type"], path
                assert head.content == b""
            assert "broken" in browser.get("/status").text
            assert browser.get("/status", params={"failed": 2}).status_code == 200
    finally:
        for path in broken:
            path.unlink()
