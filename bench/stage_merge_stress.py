"""Hunts the hang once seen with music and video batches in flight at once: embedded
`kenning index` runs of all classifiers as one stage over photos, songs and videos, under
CPU contention, each watched by a deadline; a run past it has its native stacks dumped
(py-spy, when installed) and is counted as a hang.

    .venv/bin/python bench/stage_merge_stress.py [--runs 20] [--hogs 2] [--deadline 180]

Prints `name: value` lines; exits 1 when any run hangs or fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "data" / "dev"


def make_library(folder: Path, copies: int) -> dict[str, int]:
    """Photos, songs and videos; copies made distinct by trailing bytes, some truncated."""
    counts = {"photo": 0, "music": 0, "video": 0}
    for photo in sorted((DEV / "imagenet_100").glob("*.JPEG"))[:40]:
        shutil.copy(photo, folder / photo.name)
        counts["photo"] += 1
    sources = [("music", p) for p in sorted((DEV / "music_gtzan_20").glob("*.wav"))]
    sources += [("video", p) for p in sorted((DEV / "video").rglob("*"))
                if p.suffix in {".mp4", ".avi", ".gif"}]
    for copy in range(copies):
        for kind, source in sources:
            data = source.read_bytes()
            if copy % 3 == 2:  # a truncated one: decoding stops early
                data = data[: len(data) * 2 // 3]
            target = folder / f"{source.stem}-{copy}{source.suffix}"
            target.write_bytes(data + copy.to_bytes(4, "big") * (copy % 3 != 2))
            counts[kind] += 1
    return counts


def hog(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(i * i for i in range(10_000))


def run_once(folder: Path, data_dir: Path, deadline: float) -> tuple[str, float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KENNING_")}
    env.update(KENNING_DATA_DIR=str(data_dir), KENNING_WORKERS="2",
               KENNING_CLASSIFIERS="objects,faces,music,video,places")
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "kenning", "index", str(folder), "--json"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = child.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        stacks = dump_stacks(child.pid)
        child.kill()
        child.communicate()
        return "hang", time.perf_counter() - started, stacks
    state = "ok" if child.returncode == 0 else "failed"
    return state, time.perf_counter() - started, err[-2000:] if state != "ok" else ""


def dump_stacks(pid: int) -> str:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return "(py-spy not installed: no stacks)"
    done = subprocess.run([spy, "dump", "--native", "--pid", str(pid)],
                          capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--hogs", type=int, default=2, help="busy processes beside each run")
    parser.add_argument("--deadline", type=float, default=180.0)
    args = parser.parse_args()
    from multiprocessing import Process

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "library"
        folder.mkdir()
        counts = make_library(folder, args.copies)
        for kind, count in counts.items():
            print(f"{kind}_files: {count}")
        seconds, states = [], []
        for attempt in range(args.runs):
            hogs = [Process(target=hog, args=(args.deadline,), daemon=True)
                    for _ in range(args.hogs)]
            for process in hogs:
                process.start()
            try:
                state, took, detail = run_once(folder, Path(tmp) / f"data-{attempt}",
                                               args.deadline)
            finally:
                for process in hogs:
                    process.kill()
            states.append(state)
            seconds.append(took)
            if detail:
                print(f"# run {attempt}: {state} after {took:.0f} s\n{detail}", flush=True)
        print(f"runs: {len(states)}")
        print(f"hangs: {states.count('hang')}")
        print(f"failed: {states.count('failed')}")
        print(f"median_run_seconds: {statistics.median(seconds):.1f}")
    sys.exit(0 if states.count("ok") == len(states) else 1)


if __name__ == "__main__":
    main()
