"""The previews and thumbnails cache stays bounded: a photo rewritten again and again
keeps one render, renders of photos gone from the library go, and the cache stays under
its budget (`preview_cache_mb`). Against a real `kenning serve`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from conftest import IMAGENET
from PIL import Image
from server_support import PASSWORDS, free_port, sign_in, start_server


def _cache_files(root: Path, kind: str = "") -> list[Path]:
    base = root / "data" / "cache"
    return [p for p in (base / kind if kind else base).rglob("*")
            if p.is_file() and "faces" not in p.parts]


def _cache_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in _cache_files(root) if p.exists())


def _wait(condition, seconds: float = 20.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_the_preview_cache_stays_bounded(tmp_path):
    server = start_server(tmp_path, classifiers="places", serve_args=("--no-watch",),
                          extra_env={"KENNING_PREVIEW_CACHE_MB": "1"})
    try:
        server.wait_idle("alice")
        browser = httpx.Client(base_url=server.url, timeout=60)
        assert sign_in(browser, "alice", PASSWORDS["alice"]).status_code == 303
        with server.client("alice") as http:
            (mount,) = http.get("/api/mounts").json()
            files = http.get("/api/files", params={"limit": 500}).json()["items"]
        photo = next(f for f in files if f["name"].startswith("n01530575"))
        path = server.libraries["alice"] / photo["path"]
        # One photo rewritten ten times, its thumbnail looked at after each: one render.
        for n in range(10):
            Image.open(IMAGENET / "n01530575_brambling.JPEG").rotate(n * 3).save(
                path, quality=80 + n)
            with server.client("alice") as http:
                http.post(f"/api/mounts/{mount['id']}/rescan")
            server.wait_idle("alice")
            got = browser.get(f"/files/{photo['id']}/thumbnail", params={"h": 480})
            assert got.status_code == 200
        for height in (240, 480):  # (240: made when the file was indexed)
            mine = [p for p in _cache_files(server.root, f"thumbnails/{height}")
                    if p.name.startswith(f"{photo['id']}-")]
            assert len(mine) == 1, mine
        # Served from the cache, a render is marked looked at (its access time; what it
        # was written at, its ETag, stays): pruning drops what was looked at longest ago.
        (render,) = [p for p in _cache_files(server.root, "thumbnails/480")
                     if p.name.startswith(f"{photo['id']}-")]
        written = render.stat().st_mtime_ns
        os.utime(render, ns=(written - 2 * 86400 * 10**9, written))
        etag = browser.get(f"/files/{photo['id']}/thumbnail", params={"h": 480}).headers["etag"]
        assert time.time() - render.stat().st_atime < 60
        assert render.stat().st_mtime_ns == written
        assert browser.get(f"/files/{photo['id']}/thumbnail",
                           params={"h": 480}).headers["etag"] == etag
        # Many previews: past the 1 MB budget, the oldest go.
        for item in files:
            browser.get(f"/files/{item['id']}/preview")
        assert _wait(lambda: _cache_bytes(server.root) <= 1 << 20), _cache_bytes(server.root)
        assert _cache_files(server.root, "previews")  # the newest are kept
        # A photo deleted from the library: its renders go (at the next start).
        gone = next(f for f in files if f["name"].startswith("n01440764"))
        browser.get(f"/files/{gone['id']}/thumbnail")
        assert any(p.name.startswith(f"{gone['id']}-") for p in _cache_files(server.root))
        (server.libraries["alice"] / gone["path"]).unlink()
        with server.client("alice") as http:
            http.post(f"/api/mounts/{mount['id']}/rescan")
        server.wait_idle("alice")
        browser.close()
    finally:
        server.stop()
    port = free_port()
    again = subprocess.Popen([sys.executable, "-m", "kenning", "serve", "--port", str(port),
                              "--no-watch", "--no-process"], env=server.cli.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait(lambda: not any(p.name.startswith(f"{gone['id']}-")
                                     for p in _cache_files(server.root)), 30)
    finally:
        again.terminate()
        again.wait(10)


def test_a_file_that_changes_while_it_is_sent_ends_cleanly(tmp_path):
    """An original cut short, or grown, while a client downloads it: the answer is never
    longer than its Content-Length, a short one ends the connection, and the server logs
    no traceback."""
    import numpy as np

    def big_photo(path: Path) -> None:
        noise = np.random.default_rng(1).integers(0, 255, (3000, 3000, 3), dtype=np.uint8)
        Image.fromarray(noise).save(path, quality=95)

    def more_files(libraries):
        big_photo(libraries["bob"] / "shrinks.jpg")
        big_photo(libraries["bob"] / "grows.jpg")

    server = start_server(tmp_path, classifiers="places", serve_args=("--no-watch",),
                          more_files=more_files)
    try:
        server.wait_idle("bob")
        with server.client("bob") as http:
            ids = {f["name"]: f["id"] for f in http.get("/api/files").json()["items"]}
            for name, change in (("shrinks.jpg", "cut"), ("grows.jpg", "grow")):
                path = server.libraries["bob"] / name
                size = path.stat().st_size
                got = b""
                try:
                    with http.stream("GET", f"/api/files/{ids[name]}/original") as answer:
                        assert int(answer.headers["content-length"]) == size
                        for chunk in answer.iter_bytes(65536):
                            if not got:
                                if change == "cut":
                                    os.truncate(path, 100_000)
                                else:
                                    with open(path, "ab") as grown:
                                        grown.write(b"\0" * 1_000_000)
                            got += chunk
                except httpx.HTTPError:
                    assert change == "cut"  # ended: the client knows it is short
                assert len(got) <= size
                if change == "grow":
                    assert len(got) == size
            assert http.get("/api/health").status_code == 200
        assert "Traceback" not in server.log(), server.log()[-3000:]
    finally:
        server.stop()
