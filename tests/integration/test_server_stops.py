"""`kenning serve` always stops: 20 times started, browsed (pages, thumbnails and
previews, so that render children run, while 200 photos are being processed) and
stopped with Ctrl-C or SIGTERM in turn (every fifth with two server processes). Each
time it ends within 5 s and leaves no process of its own behind; killed (kill -9), its
children end by themselves within 3 s."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import httpx
from conftest import IMAGENET, KenningCli
from PIL import Image
from server_support import free_port, sign_in

CYCLES = 20


def _descendants(pid: int) -> set[int]:
    """Every living process below `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.add(pid)
        except OSError:
            pass
    return alive


def _own_terminal_group() -> None:
    """(In the server's process.) A process group of its own, as a shell gives a command,
    with Ctrl-C's default handling."""
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_serve_stops_within_5_s_every_time(tmp_path):
    library = tmp_path / "photos"
    library.mkdir()
    for n, source in enumerate(sorted(IMAGENET.glob("*.JPEG")) * 2):
        Image.open(source).resize((1600, 1200)).save(library / f"{n:03}.jpg", quality=88)
    cli = KenningCli(tmp_path / "data")
    cli.env["KENNING_CLASSIFIERS"] = "objects,faces"
    cli("user", "add", "ann", "--mount", library, "--password-stdin",
        input=b"ann-secret-123\n")
    stopped_in = []
    for cycle in range(CYCLES + 1):  # the last one ends abnormally: kill -9
        for made in ("thumbnails", "previews"):  # rendered again: the children run
            shutil.rmtree(cli.data_dir / "cache" / made, ignore_errors=True)
        if cycle:  # and the library has work to do while it is stopped
            cli("reset", "tags")
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "kenning", "serve", "--port", str(port),
             "--workers", "2" if cycle % 5 == 4 else "1"], env=cli.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=_own_terminal_group)
        try:
            url = f"http://127.0.0.1:{port}"
            end = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    assert time.monotonic() < end and server.poll() is None, \
                        server.stderr.read().decode(errors="replace")
                    time.sleep(0.1)
            with httpx.Client(base_url=url, timeout=30) as browser:
                sign_in(browser, "ann", "ann-secret-123")
                assert browser.get("/").status_code == 200
                files = []
                while not files and time.monotonic() < end:  # scanned: there is work
                    files = browser.get("/api/files?limit=10").json()["items"]
                    time.sleep(0.05)
                for item in files[:4]:
                    browser.get(f"/files/{item['id']}/thumbnail",
                                params={"h": 240 if cycle % 2 else 480})
                if files:
                    browser.get(f"/files/{files[cycle % len(files)]['id']}/preview")
            children = _descendants(server.pid)
            assert children, "no render child ran"
            how = (signal.SIGKILL if cycle == CYCLES else
                   signal.SIGINT if cycle % 2 == 0 else signal.SIGTERM)
            started = time.monotonic()
            if how == signal.SIGINT or cycle % 4 == 3:
                # Ctrl-C at a terminal, or systemd stopping a service: every process
                # of the group gets the signal, the server's children too.
                os.killpg(server.pid, how)
            else:
                server.send_signal(how)
            server.wait(10)
            if how != signal.SIGKILL:
                stopped_in.append(time.monotonic() - started)
            deadline = time.monotonic() + 3
            while _alive(children) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not _alive(children), f"cycle {cycle}: processes left behind"
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    print(f"stopped in: median {sorted(stopped_in)[len(stopped_in) // 2]:.2f} s, "
          f"max {max(stopped_in):.2f} s")
    assert max(stopped_in) < 5.0, stopped_in
