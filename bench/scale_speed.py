"""Scale-out throughput: `kenning worker` processes vs each other and vs the embedded default.

    .venv/bin/python bench/scale_speed.py [--repeats 5] [--photos 300]

Runs the real CLI on the 100 dev ImageNet photos, mirrored and shrunk copies up to
`--photos` (objects + faces), and times the model
part only: each run scans first (`classifiers = []`), then `kenning index` classifies
and reports `processing_seconds` (first batch sent to last batch stored, per classifier;
no process start-up, scan or clustering). Workers are started and warmed (models loaded)
before the clock.

- embedded: SQLite + LocalExecutor with 1 and 2 threads
- distributed: PostgreSQL (the machine's server, a new database per run) + Redis (db 9)
  + `kenning worker --concurrency 1` and `--concurrency 2`; and 2 with
  `isolate_decoding = false` (decoding in the worker process itself)

Prints `name: value` lines with medians; targets: 2 vs 1 worker >= 1.8x on the
model-bound part, distributed (2 workers) within 10% of embedded (2 threads). What this
machine can give 2 processes vs 1 is measured in the same run, without Kenning between:
classifying the same photos (decode + models), and the models alone on decoded inputs.
Then the per-file costs of the shared parts (a database store, a broker message, reading
the file) that bound how far more workers help.

On one 2-core machine the database and broker servers, the coordinator and the workers
share the cores, and two processes' speed moves by about 10% from run to run, so the
time ratio is also printed per repeat, and the CPU each run cost is counted from /proc:
the index process beyond a scan-only run's start-up (it includes clustering people, and
for embedded runs loading the models), the workers with their decoding children, and the
PostgreSQL and Redis servers. The CPU ratio is what the queue and the database cost in
work, whether or not they share the workers' cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
IMAGENET = REPO.parent / "shared" / "data" / "dev" / "imagenet_100"
ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
BROKER = "redis://127.0.0.1:6379/9"
CLASSIFIERS = "objects,faces"


def kenning(env: dict, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "kenning", *args, "--json"], env=env,
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"kenning {args} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def new_database() -> str:
    import psycopg

    name = f"kenning_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def purge_broker() -> None:
    import redis

    redis.Redis.from_url(BROKER).flushdb()


TICK = os.sysconf("SC_CLK_TCK")
CPU: dict[str, list[float]] = {}  # "embedded" / "distributed": CPU seconds of each run


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(match) -> float:
    """CPU seconds of the live processes `match(pid, comm, session)` accepts, with their
    reaped children (a database server's finished backends are in the postmaster's)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        if match(int(entry), comm, int(fields[3])):
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / TICK


def shared_services_cpu() -> dict[str, float]:
    return {"database": process_cpu(lambda pid, comm, sid: comm.startswith("postgres")),
            "broker": process_cpu(lambda pid, comm, sid: comm.startswith("redis-server"))}


def timed_index(env: dict, library: Path, label: str,
                workers_session: int | None = None) -> float:
    """Seconds of model work; also records the CPU that work cost (of the index process
    beyond a scan-only run's, the workers with their decoders, and the servers)."""
    before = children_cpu()
    kenning({**env, "KENNING_CLASSIFIERS": ""}, "index", str(library))  # scan only
    startup = children_cpu() - before
    services = shared_services_cpu()
    workers = process_cpu(lambda pid, comm, sid: sid == workers_session)
    before = children_cpu()
    summary = kenning(env, "index", str(library))
    spent = {"index": children_cpu() - before - startup}
    if workers_session is not None:
        spent["workers"] = process_cpu(lambda pid, comm, sid: sid == workers_session) - workers
        spent.update({k: v - services[k] for k, v in shared_services_cpu().items()})
    CPU.setdefault(label, []).append(spent)
    done = summary["processed"].get("objects", 0) + summary["copied"].get("objects", 0)
    assert done == len(list(library.iterdir())), summary  # copies take their twin's results
    return summary["processing_seconds"]  # from the first batch sent to the last stored


def embedded(tmp: Path, library: Path, threads: int) -> float:
    data = tmp / f"embedded-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "KENNING_DATA_DIR": str(data), "KENNING_CLASSIFIERS": CLASSIFIERS,
           "KENNING_WORKERS": str(threads)}
    return timed_index(env, library, f"embedded_{threads}")


def wait_until_ready(workers: subprocess.Popen, processes: int) -> None:
    ready = 0
    while ready < processes:
        line = workers.stderr.readline()
        if not line:
            raise SystemExit("kenning worker exited before it was ready")
        ready += ": ready (" in line
    threading.Thread(target=workers.stderr.read, daemon=True).start()  # keep draining


def distributed(tmp: Path, library: Path, warmup: Path, processes: int,
                isolate: bool = True) -> float:
    name = new_database()
    purge_broker()
    env = {**os.environ, "KENNING_DATA_DIR": str(tmp / name), "KENNING_CLASSIFIERS": CLASSIFIERS,
           "KENNING_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
           "KENNING_BROKER_URL": BROKER, "KENNING_ISOLATE_DECODING": str(isolate)}
    kenning(env, "db", "upgrade")
    workers = subprocess.Popen([sys.executable, "-m", "kenning", "worker", "--concurrency",
                                str(processes)], env=env, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        wait_until_ready(workers, processes)  # every process loads its models before the clock
        kenning(env, "index", str(warmup))
        label = f"distributed_{processes}" + ("" if isolate else "_decoding_in_worker")
        return timed_index(env, library, label, workers.pid)
    finally:
        os.killpg(workers.pid, signal.SIGTERM)
        workers.wait(60)
        drop_database(name)


def _bare_process(paths: list[str], inference_only: bool) -> float:
    """One process classifying the photos with no Kenning plumbing (no database, queue or
    decoder child); inference_only: on inputs decoded before the clock."""
    from kenning.classifiers.base import MediaFile
    from kenning.classifiers.faces import FacesClassifier
    from kenning.classifiers.objects import ObjectsClassifier
    from kenning.media.sniff import MediaKind

    models = [ObjectsClassifier(), FacesClassifier()]
    for model in models:
        model.warm()
    batches = [[MediaFile(i, Path(p), MediaKind.IMAGE, "jpeg") for i, p in
                enumerate(paths[k:k + 8])] for k in range(0, len(paths), 8)]
    prepared = ({(m.name, k): m.prepare(b) for m in models for k, b in enumerate(batches)}
                if inference_only else {})
    started = time.perf_counter()
    for k, batch in enumerate(batches):
        for model in models:
            if inference_only:
                model.infer(prepared[(model.name, k)])
            else:
                model.classify(batch)
    return time.perf_counter() - started


def ceiling(library: Path, inference_only: bool) -> float:
    """What this machine gives 2 processes vs 1 on the same work, without Kenning between."""
    import multiprocessing

    paths = sorted(str(p) for p in library.iterdir())
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        one = pool.starmap(_bare_process, [(paths, inference_only)])[0]
    with context.Pool(2) as pool:
        two = max(pool.starmap(_bare_process, [(paths, inference_only)] * 2))
    return 2 * one / two


def per_file_costs(tmp: Path, library: Path) -> dict[str, float]:
    """Milliseconds per file of each shared resource, measured here."""
    from kombu import Connection

    from kenning.classifiers.base import BatchOutcome, FileResult
    from kenning.db import Database
    from kenning.pipeline.jobs import store_outcome

    name = new_database()
    try:
        env = {**os.environ, "KENNING_DATA_DIR": str(tmp / name), "KENNING_CLASSIFIERS": "",
               "KENNING_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"}
        kenning(env, "index", str(library))  # files rows
        db = Database(env["KENNING_DATABASE_URL"])
        from sqlalchemy import insert, select

        from kenning.db import File, WorkItem
        with db.session() as session:
            ids = list(session.scalars(select(File.id)))
            session.execute(insert(WorkItem), [{"file_id": i, "classifier": "objects",
                                                "model_version": "v", "state": "pending",
                                                "attempts": 0} for i in ids])
        tags = [("Animal", 0.9), ("Bird", 0.8), ("Songbird", 0.7)]
        labels = [(f"n0000000{k} label", 0.1) for k in range(5)]
        started = time.perf_counter()
        for start in range(0, len(ids), 8):
            store_outcome(db, BatchOutcome("objects", "v", [
                FileResult(i, list(tags), list(labels), 500, 375) for i in ids[start:start + 8]]))
        store_ms = (time.perf_counter() - started) * 1000 / len(ids)
        db.dispose()
    finally:
        drop_database(name)
    purge_broker()
    with Connection(BROKER) as connection:
        queue = connection.SimpleQueue("kenning-bench")
        started = time.perf_counter()
        for k in range(500):
            queue.put({"classifier": "objects", "file_ids": list(range(k, k + 8)), "v": "x"})
        for _ in range(500):
            queue.get(timeout=5).ack()
        message_ms = (time.perf_counter() - started) * 1000 / 500 / 8
        queue.close()
    sizes = [p.stat().st_size for p in library.iterdir()]
    return {"db_store_ms_per_file": store_ms, "broker_ms_per_file": message_ms,
            "mean_file_kb": statistics.mean(sizes) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--photos", type=int, default=300)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kenning-scale-"))
    library, warmup = tmp / "library", tmp / "warmup"
    library.mkdir()
    warmup.mkdir()
    photos = sorted(IMAGENET.glob("*.JPEG"))
    for k in range(args.photos):  # beyond 100: mirrored, then smaller copies (new content)
        source = photos[k % len(photos)]
        variant = k // len(photos)
        if variant == 0:
            shutil.copyfile(source, library / source.name)
            continue
        image = Image.open(source)
        image = (image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if variant % 2 else
                 image.resize((image.width * 9 // 10, image.height * 9 // 10)))
        image.save(library / f"v{variant}-{source.name}", quality=90)
    for source in photos[-4:]:
        shutil.copyfile(source, warmup / f"warm-{source.name}")
    runs: dict[str, list[float]] = {k: [] for k in (
        "embedded_1", "embedded_2", "distributed_1", "distributed_2",
        "distributed_2_decoding_in_worker")}
    try:
        for _ in range(args.repeats):  # interleaved, so drift hits every variant alike
            runs["embedded_1"].append(embedded(tmp, library, 1))
            runs["embedded_2"].append(embedded(tmp, library, 2))
            runs["distributed_1"].append(distributed(tmp, library, warmup, 1))
            runs["distributed_2"].append(distributed(tmp, library, warmup, 2))
            runs["distributed_2_decoding_in_worker"].append(
                distributed(tmp, library, warmup, 2, isolate=False))
        medians = {k: statistics.median(v) for k, v in runs.items()}
        files = args.photos
        print(f"photos: {files} ({CLASSIFIERS}); cores: {os.cpu_count()}; repeats: {args.repeats}")
        for key, seconds in medians.items():
            print(f"{key}_files_per_s: {files / seconds:.1f}")
        speedup = medians["distributed_1"] / medians["distributed_2"]
        print(f"distributed_2_vs_1_speedup: {speedup:.2f} (target >= 1.8)")
        for n in (1, 2):  # a worker's decoding child works ahead on another core
            busy = statistics.median(c["workers"] / t for c, t in zip(
                CPU[f"distributed_{n}"], runs[f"distributed_{n}"], strict=True))
            cost = statistics.median(c["workers"] for c in CPU[f"distributed_{n}"])
            print(f"distributed_{n}_cores_busy_in_workers: {busy:.2f}")
            print(f"distributed_{n}_worker_cpu_ms_per_file: {cost * 1000 / files:.1f}")
        print(f"embedded_2_vs_1_speedup: {medians['embedded_1'] / medians['embedded_2']:.2f}")
        print(f"machine_ceiling_2_vs_1_classify: {ceiling(library, False):.2f} (same work, 2 "
              "bare processes vs 1)")
        print(f"machine_ceiling_2_vs_1_inference_only: {ceiling(library, True):.2f} (the "
              "model-bound part; target >= 1.8)")
        overhead = medians["distributed_2"] / medians["embedded_2"]
        print(f"distributed_vs_embedded_time_ratio: {overhead:.3f} (target <= 1.10)")
        paired = sorted(d / e for d, e in zip(runs["distributed_2"], runs["embedded_2"],
                                              strict=True))
        print(f"distributed_vs_embedded_time_ratio_each_repeat: "
              f"{' '.join(f'{r:.3f}' for r in paired)}")
        embedded_cpu = statistics.median(sum(c.values()) for c in CPU["embedded_2"])
        print(f"embedded_cpu_ms_per_file: {embedded_cpu * 1000 / files:.1f}")
        for part in ("workers", "database", "broker", "index"):
            value = statistics.median(c[part] for c in CPU["distributed_2"])
            print(f"distributed_cpu_ms_per_file_{part}: {value * 1000 / files:.1f}")
        distributed_cpu = statistics.median(sum(c.values()) for c in CPU["distributed_2"])
        print(f"distributed_vs_embedded_cpu_ratio: {distributed_cpu / embedded_cpu:.3f} (all "
              "parts; what the queue and the database cost in work, whatever shares the cores)")
        unisolated = medians["distributed_2_decoding_in_worker"] / medians["embedded_2"]
        print(f"distributed_decoding_in_worker_vs_embedded_time_ratio: {unisolated:.3f} "
              "(isolate_decoding = false)")
        model_ms = medians["distributed_1"] * 1000 / files
        print(f"model_ms_per_file_one_worker: {model_ms:.1f}")
        costs = per_file_costs(tmp, library)
        for key, value in costs.items():
            print(f"{key}: {value:.2f}")
        print(f"workers_until_db_bound: {model_ms / costs['db_store_ms_per_file']:.0f}")
        print(f"workers_until_broker_bound: {model_ms / costs['broker_ms_per_file']:.0f}")
        gigabit_ms = costs["mean_file_kb"] * 1024 / 117e6 * 1000  # ~940 Mbit/s of payload
        print(f"workers_until_gigabit_storage_bound: {model_ms / gigabit_ms:.0f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
