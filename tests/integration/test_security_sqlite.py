"""SQLite under several processes: a running server, command-line commands in between,
and a server killed mid-flight. Every write the server acknowledged must survive."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
from server_support import Server, free_port, start_server


def _restart(server: Server) -> Server:
    """Kill the server without warning (SIGKILL) and start it again on the same data."""
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(30)
    port = free_port()
    log = open(server.root / "serve2.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen([sys.executable, "-m", "kenning", "serve", "--port", str(port),
                                "--no-watch", "--no-process"], env=server.cli.env,
                               stdout=log, stderr=subprocess.STDOUT)
    again = Server(f"http://127.0.0.1:{port}", server.root, server.cli, process,
                   server.libraries, server.tokens, server.root / "serve2.log")
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            if httpx.get(again.url + "/api/health", timeout=2).status_code == 200:
                return again
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(again.log())


def test_acknowledged_writes_survive_cli_commands_and_a_crash(tmp_path):
    server = start_server(tmp_path / "serve", classifiers="objects",
                          serve_args=("--no-watch",))
    written: list[tuple[int, str]] = []
    try:
        server.wait_idle("bob")
        with server.client("bob") as http:
            files = [f["id"] for f in http.get("/api/files").json()["items"]]
            for n in range(24):
                tag = f"kept {n}"
                answer = http.post(f"/api/files/{files[n % len(files)]}/tags",
                                   json={"tag": tag})
                assert answer.status_code == 201
                written.append((files[n % len(files)], tag))
                # another process opens and closes the database in between
                command = [("status",), ("user",), ("status", "--failed"), ("people",)][n % 4]
                server.cli(*command)
        server = _restart(server)
        with server.client("bob") as http:
            for file_id, tag in written:
                tags = {t["tag"] for t in http.get(f"/api/files/{file_id}").json()["tags"]}
                assert tag in tags, (file_id, tag)
    finally:
        server.stop()
