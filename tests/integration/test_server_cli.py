"""`kenning user` and `kenning serve` mistakes get one clear line and a non-zero exit."""

from __future__ import annotations

import socket

import pytest


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


def test_serve_systemd_prints_a_unit_that_starts_this_server(tmp_path):
    """`kenning serve --systemd`: a unit systemd accepts (systemd-analyze verify), whose
    command starts this server on this data dir (a name with a space, % and $ in it),
    and which leaves out settings that may hold secrets (the unit is world-readable)."""
    import shlex
    import shutil
    import subprocess
    import sys
    import time

    import httpx
    from conftest import KenningCli
    from server_support import free_port

    cli = KenningCli(tmp_path / "photos 100% $HOME")
    cli.env["KENNING_DATABASE_URL"] = f"sqlite:///{tmp_path / 'secret.db'}"
    port = free_port()
    run = cli("serve", "--systemd", "--port", str(port), "--no-watch", "--no-process")
    assert "KENNING_DATABASE_URL is set here but not written into the unit" in run.stderr
    assert "secret.db" not in run.stdout and "[Install]" in run.stdout
    unit = tmp_path / "kenning.service"
    unit.write_text(run.stdout)
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing (Debian package systemd)")
    verify = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
    assert verify.returncode == 0 and not verify.stdout + verify.stderr, verify

    lines = dict(line.split("=", 1) for line in run.stdout.splitlines()
                 if line.startswith(("ExecStart=", "Environment=", "User=")))
    command = [word.replace("%%", "%").replace("$$", "$")
               for word in shlex.split(lines["ExecStart"])]
    name, value = shlex.split(lines["Environment"])[0].replace("%%", "%").split("=", 1)
    assert (name, value) == ("KENNING_DATA_DIR", str(cli.data_dir))
    assert command[0] == sys.executable
    assert command[1:] == ["-m", "kenning", "serve", f"--port={port}", "--no-watch",
                           "--no-process"]
    env = {k: v for k, v in cli.env.items() if not k.startswith("KENNING_")} | {name: value}
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        end, health = time.monotonic() + 60, None
        while time.monotonic() < end and health is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None and health.status_code == 200
        assert (cli.data_dir / "kenning.db").exists()  # this data dir, not another
    finally:
        server.terminate()
        server.wait(30)
