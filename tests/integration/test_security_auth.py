"""Signing in as a hostile stranger would try it: guessing from one address and from
many, faking X-Forwarded-For, guessing all at once; and changes to users that must
count at once in a running server, wherever they are made."""

from __future__ import annotations

import threading

import httpx
import pytest
from server_support import PASSWORDS, peak_rss_mb, sign_in, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("auth"), classifiers="objects",
                          serve_args=("--no-watch",))
    server.wait_idle("alice")
    yield server
    server.stop()


def from_address(server, address: str, **kwargs) -> httpx.Client:
    """A client whose connections come from another loopback address (127.0.0.0/8)."""
    return httpx.Client(base_url=server.url, timeout=60, follow_redirects=False,
                        transport=httpx.HTTPTransport(local_address=address), **kwargs)


def log_in(client: httpx.Client, name: str, password: str) -> int:
    return sign_in(client, name, password).status_code


def test_a_stranger_cannot_lock_a_user_out(server):
    with from_address(server, "127.0.0.3") as home:  # Alice signs in at home first
        assert log_in(home, "alice", PASSWORDS["alice"]) == 303
        device = {"kenning_device": home.cookies["kenning_device"]}
    # One stranger: stopped by name and address long before the name is at risk.
    with from_address(server, "127.0.0.2") as stranger:
        answers = [log_in(stranger, "alice", f"guess {n}") for n in range(12)]
    assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}
    with from_address(server, "127.0.0.4") as new_place:
        assert log_in(new_place, "alice", PASSWORDS["alice"]) == 303
    # Many strangers (12 addresses, 5 guesses each): new browsers are refused for
    # "alice" now, but not hers, not her home address, and never her app token.
    for n in range(12):
        with from_address(server, f"127.0.1.{n + 10}") as stranger:
            for guess in range(5):
                log_in(stranger, "alice", f"guess {n}-{guess}")
    with from_address(server, "127.0.0.5") as unknown:
        assert log_in(unknown, "alice", PASSWORDS["alice"]) == 429
    with from_address(server, "127.0.0.6", cookies=device) as her_browser:
        assert log_in(her_browser, "alice", PASSWORDS["alice"]) == 303
    with from_address(server, "127.0.0.3") as home:
        assert log_in(home, "alice", PASSWORDS["alice"]) == 303
    with from_address(server, "127.0.0.7",
                      headers={"Authorization": f"Bearer {server.tokens['alice']}"}) as app:
        assert app.get("/api/me").status_code == 200


def test_guessing_from_a_shared_address_does_not_lock_out_a_known_browser(server):
    """Someone at Bob's address (the same house, or a proxy) guesses passwords for Bob
    and others until the address is refused: Bob's own browser, which signed in before,
    still signs in from there; a browser there without his device cookie does not."""
    with from_address(server, "127.0.3.1") as home:
        assert log_in(home, "bob", PASSWORDS["bob"]) == 303
        device = {"kenning_device": home.cookies["kenning_device"]}
    with from_address(server, "127.0.3.2") as shared:
        answers = [log_in(shared, name, f"guess {n}") for n in range(12)
                   for name in ("bob", "carl", "dora")]
        assert 429 in answers
        assert log_in(shared, "bob", PASSWORDS["bob"]) == 429  # a browser he never used
    with from_address(server, "127.0.3.2", cookies=device) as his_browser:
        assert log_in(his_browser, "bob", PASSWORDS["bob"]) == 303
        # ... which has failures of its own to count: a stolen cookie is no free pass.
        tries = [log_in(his_browser, "bob", f"wrong {n}") for n in range(8)]
        assert tries[:5] == [401] * 5 and set(tries[5:]) == {429}, tries


def test_simultaneous_guesses_get_no_more_tries_and_bounded_memory(server):
    before = peak_rss_mb(server.process.pid)
    answers: list[int] = []

    def guess(n: int) -> None:
        with from_address(server, "127.0.0.9") as stranger:
            answers.append(log_in(stranger, "bob", f"simultaneous {n}"))

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers.count(401) == 5 and answers.count(429) == 35, answers
    # Forty argon2 hashes at once would take 40 x 64 MiB; two at a time take 128.
    many: list[int] = []

    def unknown(n: int) -> None:
        with from_address(server, f"127.0.2.{n + 1}") as stranger:
            many.append(log_in(stranger, f"someone{n}", "not a password"))

    threads = [threading.Thread(target=unknown, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(many) <= {401, 429}
    assert peak_rss_mb(server.process.pid) - before < 400


def test_user_changes_count_at_once_in_a_running_server(server):
    cli = server.cli
    cli("user", "add", "carol", "--password-stdin", input=b"carol-secret-1\n")
    carol_token = cli("user", "token", "carol", "--json").json()["token"]
    with httpx.Client(base_url=server.url + "/dav", auth=("carol", "carol-secret-1")) as dav, \
            httpx.Client(base_url=server.url, auth=("carol", "carol-secret-1")) as api, \
            httpx.Client(base_url=server.url) as browser:
        assert dav.request("PROPFIND", "/", headers={"Depth": "0"}).status_code == 207
        assert api.get("/api/me").json()["admin"] is False
        assert log_in(browser, "carol", "carol-secret-1") == 303
        assert browser.get("/api/me").status_code == 200
        cli("user", "admin", "carol")
        assert api.get("/api/me").json()["admin"] is True  # remembered, and yet at once
        cli("user", "admin", "carol", "--undo")
        assert api.get("/api/me").json()["admin"] is False
        cli("user", "passwd", "carol", "--password-stdin", input=b"carol-secret-2\n")
        assert dav.request("PROPFIND", "/", headers={"Depth": "0"}).status_code == 401
        assert api.get("/api/me").status_code == 401
        assert browser.get("/api/me").status_code == 401  # signed out everywhere
        assert httpx.get(server.url + "/api/me", headers={
            "Authorization": f"Bearer {carol_token}"}).status_code == 200
        cli("user", "passwd", "carol", "--revoke-tokens", "--password-stdin",
            input=b"carol-secret-3\n")
        assert httpx.get(server.url + "/api/me", headers={
            "Authorization": f"Bearer {carol_token}"}).status_code == 401
    old_id = httpx.get(server.url + "/api/me", auth=("carol", "carol-secret-3")).json()["id"]
    cli("user", "remove", "carol", "--yes")
    assert httpx.get(server.url + "/api/me", auth=("carol", "carol-secret-3")
                     ).status_code == 401
    cli("user", "add", "dave", "--password-stdin", input=b"dave-secret-11\n")
    assert httpx.get(server.url + "/api/me", auth=("dave", "dave-secret-11")
                     ).json()["id"] > old_id  # a removed user's id is never given again


def test_changing_your_password_through_the_api(server):
    cli = server.cli
    cli("user", "add", "erin", "--password-stdin", input=b"erin-secret-1\n")
    token = cli("user", "token", "erin", "--json").json()["token"]
    with httpx.Client(base_url=server.url) as browser:
        assert log_in(browser, "erin", "erin-secret-1") == 303
        with httpx.Client(base_url=server.url,
                          headers={"Authorization": f"Bearer {token}"}) as app:
            wrong = app.post("/api/me/password", json={"current": "nope nope",
                                                       "new": "erin-secret-2"})
            assert wrong.status_code == 403
            changed = app.post("/api/me/password", json={
                "current": "erin-secret-1", "new": "erin-secret-2", "revoke_tokens": True})
            assert changed.json() == {"changed": True, "tokens_revoked": 1}
            assert app.get("/api/me").status_code == 401
        assert browser.get("/api/me").status_code == 401
    assert httpx.get(server.url + "/api/me", auth=("erin", "erin-secret-2")).status_code == 200


def test_users_made_by_the_command_line_are_not_admins(kenning, tmp_path):
    library = tmp_path / "photos"
    library.mkdir()
    kenning.env["KENNING_CLASSIFIERS"] = ""
    kenning("index", library)
    (local,) = kenning("user", "--json").json()
    assert local["name"] == "local" and local["admin"] is False


def test_x_forwarded_for_is_not_believed(server):
    """Faking a new address on every guess gets no more guesses than one address, even
    from 127.0.0.1 (which uvicorn would believe by default). (Last: it uses up the
    guesses of 127.0.0.1, the other tests' address.)"""
    with from_address(server, "127.0.0.1") as stranger:
        stranger.get("/login")  # (the form's token, kept in a cookie)
        token = stranger.cookies["kenning_login"]
        answers = [stranger.post("/login", data={"name": f"nobody{n}", "password": "x" * 8,
                                                 "csrf": token},
                                 headers={"X-Forwarded-For": f"10.0.{n}.1"}).status_code
                   for n in range(40)]
    # (127.0.0.1 has a few failures of the tests above: at most 30 in all are verified)
    assert set(answers) == {401, 429} and answers.count(401) <= 30
    assert answers[-10:] == [429] * 10
