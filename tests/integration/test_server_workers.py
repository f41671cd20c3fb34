"""`kenning serve --workers 2`: two server processes share the port; the one that does
not process passes re-scan requests on and shows the other's progress."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import httpx
import pytest
from conftest import IMAGENET
from server_support import start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("workers"),
                          serve_args=("--workers", "2", "--no-watch"))
    server.wait_idle("alice")
    yield server
    server.stop()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_both_processes_answer_and_rescans_reach_the_processor(server):
    assert len(_children(server.process.pid)) == 2
    library = server.libraries["alice"]
    shutil.copyfile(IMAGENET / "n01443537_goldfish.JPEG", library / "late fish.jpg")
    token = server.tokens["alice"]
    mount = None
    for _ in range(8):  # new connections: the kernel spreads them over both processes
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}
                          ) as http:
            mount = mount or http.get("/api/mounts").json()[0]["id"]
            assert http.post(f"/api/mounts/{mount}/rescan").status_code == 202
            assert http.get("/api/status").json()["processing"]["last_runs"]
    end = time.monotonic() + 60
    with server.client("alice") as http:
        while time.monotonic() < end:
            names = {f["name"] for f in http.get("/api/files?limit=500").json()["items"]}
            if "late fish.jpg" in names:
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the re-scan asked for was not done")


def test_a_process_that_dies_is_started_again(server):
    before = _children(server.process.pid)
    os.kill(before[-1], signal.SIGKILL)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        now = _children(server.process.pid)
        if len(now) == 2 and before[-1] not in now:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"no new process: {before} -> {_children(server.process.pid)}")
    for _ in range(6):
        with server.client("alice") as http:
            assert http.get("/api/me").status_code == 200
