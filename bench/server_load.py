"""The server under load: 100,000 photos and 10,000 people in SQLite, 50 clients at once.

    .venv/bin/python bench/server_load.py [--photos 100000] [--people 10000] [--seconds 15]

Builds the library straight into the database (1-3 faces per photo, 4 tags each, 40 tags),
starts `kenning serve --no-process`, and drives it with wrk (Debian's package) at 50
connections on loopback, each request with an app token, for: the person list, a random
person's photos and a random tag search (first pages of 100), the timeline's first page
both as JSON (/api/timeline) and as the web page a browser gets (120 tiles, signed in by a
session cookie), and the lightbox of a random one of the first `--real` photos (real 3 MP
JPEGs on disk): its first image, the tile's own (the 480 px thumbnail a 2x screen's grid
shows; the browser has it already, so this is the cost when it has not), and its sharp
1,600 px preview (each previewed once before, as opening a photo preloads its
neighbours'). The baseline, in the same run, is /api/health
under the same load (no query but one row). Prints `name: value` lines: requests/s, p50,
p99, errors and the p99 ratio to the baseline. Targets: p99 <= 50 ms for the API lists,
<= 100 ms for the timeline page, <= 150 ms for the lightbox's first image, no errors.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import insert

from kenning.config import load_settings
from kenning.db import Database, Face, File, FileTag, Mount, Person, Tag, User
from kenning.users import create_token, start_session

TAGS = 40


def real_photos(folder: Path, count: int) -> None:
    """The files of the first `count` photos, on disk: links to one real 3 MP JPEG (each
    its own path, so each its own cached preview)."""
    from PIL import Image

    source = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev" / "imagenet_100"
    base = folder.parent / "base.jpg"
    Image.open(sorted(source.glob("*.JPEG"))[0]).convert("RGB").resize((2000, 1500)).save(
        base, quality=90)
    for i in range(1, count + 1):
        target = folder / _rel(i)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(base, target)


def _rel(i: int) -> str:
    return f"{2000 + i // 20000}/{(i // 1000) % 20:02d}/IMG_{i:06d}.jpg"


def build(db: Database, photos: int, people: int, folder: str = "/srv/photos") -> str:
    rng = np.random.default_rng(7)
    embedding = np.zeros(128, np.float32).tobytes()
    with db.session() as session:
        user = User(name="bench", is_admin=True)
        session.add(user)
        session.flush()
        mount = Mount(user_id=user.id, path=folder)
        session.add(mount)
        session.flush()
        session.execute(insert(Tag), [{"id": i + 1, "name": f"Tag {i:02d}", "key": f"tag {i:02d}"}
                                      for i in range(TAGS)])
        session.execute(insert(Person), [{"id": i + 1, "user_id": user.id,
                                          "name": f"Person {i}" if i % 3 else None,
                                          "hidden": False} for i in range(people)])
        user_id, mount_id = user.id, mount.id
    for start in range(0, photos, 10_000):
        ids = range(start + 1, min(photos, start + 10_000) + 1)
        files, faces, tags = [], [], []
        for i in ids:
            rel = _rel(i)
            files.append({"id": i, "mount_id": mount_id, "rel_path": rel,
                          "rel_path_raw": rel.encode(), "kind": "image", "format": "JPEG",
                          "size": 2_000_000, "mtime_ns": 1_500_000_000_000_000_000 + i * 10**9,
                          # Most photos have a capture time, in another order than
                          # their files' times.
                          "taken_ns": None if i % 5 == 0 else
                          1_400_000_000_000_000_000 + int(rng.integers(0, 10**17)),
                          "width": 4000 if i % 3 else 3000, "height": 3000 if i % 3 else 4000})
            for f in range(int(rng.integers(1, 4))):
                faces.append({"file_id": i, "person_id": int(rng.integers(1, people + 1)),
                              "assigned_by": "cluster", "x": 100.0 * f, "y": 50.0,
                              "width": 80.0, "height": 80.0, "landmarks": "[]", "score": 0.9,
                              "quality": 0.8, "embedding": embedding,
                              "model_version": "bench", "thumbnail": None})
            # Tag popularity like a real library: a few tags on many photos.
            chosen = set(rng.zipf(1.6, 4) % TAGS)
            tags += [{"file_id": i, "tag_id": int(t) + 1, "source": "objects", "score": 0.7,
                      "model_version": "bench"} for t in chosen]
        with db.session() as session:
            session.execute(insert(File), files)
            session.execute(insert(Face), faces)
            session.execute(insert(FileTag), tags)
    return create_token(db, user_id, "bench")["token"], start_session(db, user_id)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LUA = """
math.randomseed(%(seed)d)
local paths = {%(paths)s}
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""


def load(url: str, header: str, paths: list[str], seconds: int, work: Path) -> dict:
    """wrk's figures for random GETs of `paths`, each with the header `header`."""
    script = work / "paths.lua"
    script.write_text(LUA % {"seed": 11, "paths": ", ".join(f'"{p}"' for p in paths)})
    # One wrk thread drives the 50 connections: it needs far less than a core, which
    # leaves the server the other one on this 2-core machine.
    done = subprocess.run(["wrk", "-t1", "-c50", f"-d{seconds}s", "--latency", "--timeout",
                           "5s", "-H", header, "-s", str(script),
                           url], capture_output=True, text=True, check=True)
    text = done.stdout

    def millis(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", text)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
            "p50": millis("50"), "p99": millis("99"),
            "errors": (int(errors.group(1)) if errors else 0)
            + (sum(map(int, socket_errors.groups())) if socket_errors else 0)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=1, help="kenning serve --workers")
    parser.add_argument("--real", type=int, default=200, help="photos with real files")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="kenning-load-") as tmp:
        work = Path(tmp)
        settings = load_settings(work / "data")
        started = time.perf_counter()
        db = Database(settings.db_url)
        folder = work / "photos"
        real_photos(folder, min(args.real, args.photos))
        token, cookie = build(db, args.photos, args.people, str(folder))
        db.dispose()
        print(f"library_build_seconds: {time.perf_counter() - started:.1f}")
        print(f"library: {args.photos} photos, {args.people} people, {TAGS} tags")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KENNING_")}
        env["KENNING_DATA_DIR"] = str(work / "data")
        command = [sys.executable, "-m", "kenning", "serve", "--port", str(port),
                   "--no-process", "--workers", str(args.workers)]
        server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            rng = np.random.default_rng(3)
            viewed = rng.integers(1, min(args.real, args.photos) + 1, 500)
            people = [f"/api/people/{int(p)}/files?limit=100"
                      for p in rng.integers(1, args.people + 1, 500)]
            tags = [f"/api/search?tag=Tag%20{int(t):02d}&limit=100" for t in range(TAGS)]
            scenarios = {"baseline_health": ["/api/health"],
                         "person_list": ["/api/people?limit=100"],
                         "person_photos": people, "tag_search": tags,
                         "timeline_api": ["/api/timeline?limit=100"],
                         "timeline_page": ["/"],
                         "lightbox_first_image": [f"/files/{int(i)}/thumbnail?h=480"
                                                  for i in viewed],
                         "lightbox_preview": [f"/files/{int(i)}/preview" for i in viewed]}
            # signed in by a cookie
            in_browser = ("timeline_page", "lightbox_first_image", "lightbox_preview")
            by_token = f"Authorization: Bearer {token}"
            by_cookie = f"Cookie: kenning_session={cookie}"
            with httpx.Client(base_url=url, headers={"Cookie": by_cookie[8:]},
                              timeout=60) as c:  # each preview made once, as it is viewed
                for i in range(1, min(args.real, args.photos) + 1):
                    for path in (f"/files/{i}/preview", f"/files/{i}/thumbnail?h=480"):
                        assert c.get(path).status_code == 200, path
                sizes = [len(c.get(f"/files/{i}/preview").content) for i in range(1, 11)]
            print(f"lightbox_preview_kb: {np.mean(sizes) / 1024:.0f}")
            for name, paths in scenarios.items():  # warm: every kind answers, caches fill
                header = by_cookie if name in in_browser else by_token
                key, value = header.split(": ", 1)
                answer = httpx.get(url + paths[0], headers={key: value})
                assert answer.status_code == 200, (paths[0], answer.status_code)
            # One client scrolling deep into the timeline (pages that are not kept):
            # the median time of a page of 120 tiles.
            deep, cursor = [], ""
            with httpx.Client(base_url=url, headers={"Cookie": by_cookie[8:]}) as c:
                for _ in range(40):
                    started = time.perf_counter()
                    answer = c.get("/", params={"before": cursor, "fragment": "true"}
                                   if cursor else None)
                    deep.append((time.perf_counter() - started) * 1000)
                    found = re.search(r'href="/\?before=([0-9.]+)"', answer.text)
                    cursor = found.group(1) if found else ""
            print(f"timeline_scroll_page_median_ms: {float(np.median(deep[1:])):.1f}")
            page_bytes = len(httpx.get(url + "/", headers={"Cookie": by_cookie[8:]}).content)
            results = {}
            for name, paths in scenarios.items():
                header = by_cookie if name in in_browser else by_token
                load(url, header, paths, 2, work)  # warm-up, not counted
                results[name] = load(url, header, paths, args.seconds, work)
                r = results[name]
                print(f"{name}_requests_per_s: {r['rps']:.0f}")
                print(f"{name}_p50_ms: {r['p50']:.1f}")
                print(f"{name}_p99_ms: {r['p99']:.1f}")
                print(f"{name}_errors: {r['errors']}")
            base = results["baseline_health"]["p99"]
            worst = 0.0
            for name in ("person_list", "person_photos", "tag_search", "timeline_api"):
                print(f"{name}_p99_vs_baseline: {results[name]['p99'] / base:.2f}")
                worst = max(worst, results[name]["p99"])
            page = results["timeline_page"]["p99"]
            print(f"timeline_page_p99_vs_baseline: {page / base:.2f}")
            image = results["lightbox_first_image"]["p99"]
            print(f"lightbox_first_image_p99_vs_baseline: {image / base:.2f}")
            sharp = results["lightbox_preview"]
            print(f"lightbox_preview_mb_per_s: {sharp['rps'] * np.mean(sizes) / 2**20:.0f} "
                  "(bytes sent, against the timeline page's "
                  f"{results['timeline_page']['rps'] * page_bytes / 2**20:.0f})")
            errors = any(r["errors"] for r in results.values())
            ok = worst <= 50 and page <= 100 and image <= 150 and not errors
            print(f"target_api_p99_50ms: {'met' if worst <= 50 else 'MISSED'}")
            print(f"target_timeline_page_p99_100ms: {'met' if page <= 100 else 'MISSED'}")
            print(f"target_lightbox_first_image_p99_150ms: {'met' if image <= 150 else 'MISSED'}")
            print(f"target_no_errors: {'met' if not errors else 'MISSED'}")
        finally:
            server.terminate()
            server.wait(30)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
