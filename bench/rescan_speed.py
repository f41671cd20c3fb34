"""Re-scan of an unchanged 10,000-file folder, against a naive re-scan that re-hashes everything.

    .venv/bin/python bench/rescan_speed.py [--files 10000]

Measures, on the same folder in one run: Kenning's re-scan in process (`scan_mount`), the
whole `kenning index` command on the unchanged, fully tagged folder (process start and the
work-table check included; the first run tags all files, about a minute here; `--no-model`
disables classifiers instead), and a baseline that walks the tree and re-hashes every file.
Prints `name: value` lines (medians of 3).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image


def make_library(root: Path, count: int) -> None:
    """`count` small distinct JPEGs in nested folders, like years/months of a photo library."""
    for i in range(count):
        folder = root / f"{2000 + i // 1000}" / f"{(i // 100) % 10:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        Image.new("RGB", (32, 24), (i % 251, (i // 251) % 251, 90)).save(buffer, "JPEG")
        (folder / f"IMG_{i:05d}.jpg").write_bytes(buffer.getvalue())


def naive_rescan(root: Path) -> int:
    count = 0
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            os.stat(path)
            with open(path, "rb") as f:
                hashlib.sha256(f.read()).hexdigest()
            count += 1
    return count


def median_seconds(function, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--no-model", action="store_true", help="index without classifiers")
    args = parser.parse_args()
    from kenning.db import Database
    from kenning.pipeline.indexer import ensure_mount
    from kenning.pipeline.scanner import scan_mount

    with tempfile.TemporaryDirectory() as tmp:
        root, data = Path(tmp) / "library", Path(tmp) / "data"
        make_library(root, args.files)
        env = {**os.environ, "KENNING_DATA_DIR": str(data)}
        if args.no_model:
            env["KENNING_CLASSIFIERS"] = ""
        command = [sys.executable, "-m", "kenning", "index", str(root), "--json"]
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        first = time.perf_counter() - started

        db = Database(f"sqlite:///{data / 'kenning.db'}")
        mount = ensure_mount(db, "local", root)
        reports = []
        in_process = median_seconds(lambda: reports.append(scan_mount(db, mount.id, mount.path)))
        assert all(r.new == r.changed == r.deleted == 0 for r in reports)
        assert reports[0].by_kind["image"] == args.files
        cli = median_seconds(lambda: subprocess.run(command, env=env, check=True,
                                                    capture_output=True))
        naive = median_seconds(lambda: naive_rescan(root))
    print(f"files: {args.files}")
    print(f"first_index_s: {first:.2f}  ({'scan only' if args.no_model else 'scan + objects'})")
    print(f"rescan_s: {in_process:.3f}")
    print(f"rescan_cli_s: {cli:.3f}")
    print(f"naive_rescan_s: {naive:.3f}")
    print(f"speedup_vs_naive: {naive / in_process:.1f}")
    ok = cli <= 2.0
    print(f"targets_met: {ok}  (whole `kenning index` on the unchanged folder <= 2 s)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
