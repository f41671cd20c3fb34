"""`kenning user` and `kenning serve` mistakes get one clear line and a non-zero exit."""

from __future__ import annotations

import socket


def test_user_commands_explain_mistakes(kenning):
    short = kenning("user", "add", "zed", "--password-stdin", input=b"short\n", check=False)
    assert short.code == 1 and "at least 8 characters" in short.stderr
    assert "Traceback" not in short.stderr
    kenning("user", "add", "zed", "--password-stdin", input=b"long-enough-pw\n")
    again = kenning("user", "add", "zed", "--password-stdin", input=b"long-enough-pw\n",
                    check=False)
    assert again.code == 1 and "already exists" in again.stderr
    bad = kenning("user", "add", "bad/name", "--password-stdin", input=b"long-enough-pw\n",
                  check=False)
    assert bad.code == 1 and "not a valid user name" in bad.stderr
    assert "no user 'nobody'" in kenning("user", "remove", "nobody", "--yes",
                                         check=False).stderr
    no_tty = kenning("user", "passwd", "zed", check=False, input=b"")
    assert no_tty.code == 2 and "--password-stdin" in no_tty.stderr
    listed = kenning("user", "--json").json()
    assert [u["name"] for u in listed] == ["zed"] and listed[0]["can_log_in"]
    kenning("user", "remove", "zed", "--yes")
    assert kenning("user", "--json").json() == []


def test_serve_on_a_port_in_use_is_a_clear_error(kenning):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = kenning("serve", "--port", str(port), "--no-process", check=False, timeout=60)
    assert run.code == 1 and "cannot listen on 127.0.0.1" in run.stderr
    assert "Traceback" not in run.stderr
