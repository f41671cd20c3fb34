"""Scale-out on the real services: PostgreSQL, Redis (a server each test starts and may
kill), Celery and `kenning worker` processes. Same results as the embedded default, and
nothing lost when workers die, the broker restarts, database connections drop or a
decoder crashes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from conftest import DEV, IMAGENET, KenningCli
from PIL import Image

FACES = DEV / "faces"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A real redis-server of this test's own (no persistence, like the machine's)."""

    def __init__(self, tmp: Path) -> None:
        self.port, self.tmp, self.proc = free_port(), tmp, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.tmp)], stdout=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing (Debian package redis-server)")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


def plain_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


class Workers:
    def __init__(self, kenning: KenningCli, *args: str) -> None:
        self.proc = kenning.popen("worker", *args)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def distributed(kenning, tmp_path, postgres_url, redis):
    """`kenning` set up for PostgreSQL + Redis; `start_workers(n)` starts n processes."""
    kenning.env.update(KENNING_DATABASE_URL=postgres_url, KENNING_BROKER_URL=redis.url,
                       KENNING_CLAIM_TIMEOUT="6")
    started: list[Workers] = []

    def start_workers(count: int, *args: str, **env: str) -> Workers:
        saved = dict(kenning.env)
        kenning.env.update(env)
        workers = Workers(kenning, "--concurrency", str(count), *args)
        kenning.env = saved
        started.append(workers)
        return workers

    kenning("db", "upgrade")
    yield start_workers
    for workers in started:
        workers.stop()
    pids = subprocess.run(["pgrep", "-f", "kenning worker"], capture_output=True, text=True)
    for pid in pids.stdout.split():
        env_file = Path(f"/proc/{pid}/environ")
        try:
            if redis.url.encode() in env_file.read_bytes():
                os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass


def copy_photos(dest: Path, count: int, big: bool = False) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    made = []
    for source in sorted(IMAGENET.glob("*.JPEG"))[:count]:
        target = dest / source.name
        if big:  # slower batches, so a test can act while one is in progress
            Image.open(source).resize((1600, 1200)).save(target, quality=90)
        else:
            shutil.copyfile(source, target)
        made.append(target)
    return made


def work_rows(url: str) -> list[tuple]:
    with psycopg.connect(plain_url(url)) as conn:
        return conn.execute("SELECT file_id, classifier, state, error, claimed_by "
                            "FROM work_items").fetchall()


def assert_all_done_once(url: str, classifiers: set[str]) -> None:
    rows = work_rows(url)
    assert rows and {r[1] for r in rows} == classifiers
    assert [r for r in rows if r[2] != "done"] == []
    assert all(r[4] is None for r in rows)  # no claim left behind
    with psycopg.connect(plain_url(url)) as conn:
        doubles = conn.execute("SELECT file_id, tag_id, source, count(*) FROM file_tags "
                               "GROUP BY file_id, tag_id, source HAVING count(*) > 1").fetchall()
        double_faces = conn.execute(
            "SELECT file_id, round(x), round(y), count(*) FROM faces "
            "GROUP BY file_id, round(x), round(y) HAVING count(*) > 1").fetchall()
    assert doubles == [] and double_faces == []


def results(kenning: KenningCli, folder: Path) -> dict:
    found = {}
    for path in sorted(folder.iterdir()):
        data = kenning("tags", path, "--json").json()
        found[path.name] = (sorted((t["tag"], round(t["score"], 3)) for t in data["tags"]),
                            sorted(tuple(f["box"]) for f in data["faces"]))
    return found


def test_distributed_gives_the_same_tags_and_people(kenning, tmp_path, distributed):
    library = tmp_path / "library"
    copy_photos(library, 16)
    for source in sorted((FACES / "dlib_johns" / "examples" / "johns").rglob("*.jpg"))[::3]:
        shutil.copyfile(source, library / f"{source.parent.name}-{source.name}")
    embedded = KenningCli(tmp_path / "embedded")
    embedded.env["KENNING_CLASSIFIERS"] = kenning.env["KENNING_CLASSIFIERS"] = "objects,faces"
    embedded("index", library)

    distributed(2)
    run = kenning("index", library, "--json").json()
    assert run["processed"] == {"objects": len(list(library.iterdir())),
                                "faces": len(list(library.iterdir()))}
    assert results(kenning, library) == results(embedded, library)

    def people(cli):
        return sorted(p["faces"] for p in cli("people", "--json").json())

    assert people(kenning) == people(embedded) and people(kenning)
    assert_all_done_once(kenning.env["KENNING_DATABASE_URL"], {"objects", "faces"})


def wait_for_claim(url: str, deadline: float = 120) -> tuple[str, list[int]]:
    """A worker's name and the files it holds, while it is still working on them."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        claimed = [r for r in work_rows(url) if r[4] is not None and r[2] == "pending"]
        if claimed:
            worker = claimed[0][4]
            return worker, [r[0] for r in claimed if r[4] == worker]
        time.sleep(0.02)
    raise AssertionError("no worker claimed any work")


def faces_run_in_progress(kenning, tmp_path, distributed, batch_size: int):
    """40 big photos through faces on 2 worker processes: (database URL, the running
    `kenning index`, the worker holding a batch now, the files it holds)."""
    library = tmp_path / "library"
    copy_photos(library, 40, big=True)
    kenning.env["KENNING_CLASSIFIERS"] = "faces"
    url = kenning.env["KENNING_DATABASE_URL"]
    distributed(2)
    index = kenning.popen("index", library, "--batch-size", str(batch_size))
    return url, index, *wait_for_claim(url)


def finished_well(index, url: str, classifiers=frozenset({"faces"})) -> str:
    """The run's stderr, once it ended well with every file done once."""
    out, errors = index.communicate(timeout=300)
    assert index.returncode == 0, errors
    assert_all_done_once(url, set(classifiers))
    return errors.decode()


def test_workers_decode_each_photo_once_for_objects_and_faces(kenning, tmp_path, distributed):
    """A batch of photos goes to a worker for objects and faces at once (each photo decoded
    once for both, as in process): while it works, it holds both claims on the same files."""
    library = tmp_path / "library"
    copy_photos(library, 24, big=True)
    kenning.env["KENNING_CLASSIFIERS"] = "objects,faces"
    url = kenning.env["KENNING_DATABASE_URL"]
    distributed(2)
    index = kenning.popen("index", library, "--batch-size", "4")
    both = None
    end = time.monotonic() + 120
    while both is None and time.monotonic() < end and index.poll() is None:
        held: dict[tuple[str, str], set[int]] = {}
        for file_id, classifier, state, _error, worker in work_rows(url):
            if worker is not None and state == "pending":
                held.setdefault((worker, classifier), set()).add(file_id)
        both = next((files for (worker, classifier), files in held.items()
                     if classifier == "objects" and held.get((worker, "faces")) == files),
                    None)
        time.sleep(0.02)
    finished_well(index, url, {"objects", "faces"})
    assert both, "no worker held objects and faces claims on the same photos"


def test_a_killed_worker_loses_nothing(kenning, tmp_path, distributed):
    url, index, worker, held = faces_run_in_progress(kenning, tmp_path, distributed, 4)
    os.kill(int(worker.rsplit(":", 1)[1]), signal.SIGKILL)
    still_pending = {r[0] for r in work_rows(url) if r[2] == "pending"}
    assert set(held) & still_pending, "the batch finished before the kill"
    assert "sending" in finished_well(index, url)  # the coordinator noticed, sent it again


def test_redis_restart_mid_run(kenning, tmp_path, distributed, redis):
    url, index, _, _ = faces_run_in_progress(kenning, tmp_path, distributed, 2)
    redis.kill()  # everything queued in it is gone
    time.sleep(3)
    redis.start()
    assert "sending" in finished_well(index, url)  # what the broker lost was sent again


def test_dropped_database_connections_are_retried(kenning, tmp_path, distributed):
    """Every connection of the run is killed again and again until the run ends: the
    coordinator's steps (planning, progress, people at the end) and the workers' all
    go on with new ones."""
    url, index, _, _ = faces_run_in_progress(kenning, tmp_path, distributed, 2)
    database = url.rsplit("/", 1)[1]
    kills = 0
    with psycopg.connect(plain_url(url), autocommit=True) as admin:
        while index.poll() is None and kills < 400:
            kills += admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (database,)).fetchone()[0]
            time.sleep(0.7)
    assert kills >= 3
    finished_well(index, url)


def test_a_file_that_crashes_the_decoder_costs_only_that_file(kenning, tmp_path, distributed):
    library = tmp_path / "library"
    photos = copy_photos(library, 12)
    photos[5].rename(library / "crash-me.jpg")
    kenning.env["KENNING_CLASSIFIERS"] = "objects,faces"  # one decode for both
    workers = distributed(1, KENNING_FAULT_CRASH_DECODING="crash-me")
    summary = kenning("index", library, "--json").json()
    assert summary["processed"] == {"objects": 11, "faces": 11}
    crashed = ("the decoder crashed on this file (a fault in native decoding code); "
               "skipped")
    assert sorted((f["path"], f["stage"], f["reason"]) for f in summary["failed"]) == [
        ("crash-me.jpg", "faces", crashed), ("crash-me.jpg", "objects", crashed)]
    assert workers.proc.poll() is None  # the worker itself lived on


def test_worker_path_map(kenning, tmp_path, distributed):
    here = tmp_path / "seen by the indexer"
    there = tmp_path / "seen by the worker"
    here.mkdir()
    there.mkdir()
    shutil.copyfile(IMAGENET / "n01530575_brambling.JPEG", here / "photo.jpg")
    shutil.copyfile(IMAGENET / "n01491361_tiger_shark.JPEG", there / "photo.jpg")
    kenning.env["KENNING_CLASSIFIERS"] = "objects"
    distributed(1, "--path-map", f"{here.resolve()}={there.resolve()}")
    kenning("index", here)
    tags = {t["tag"] for t in kenning("tags", here / "photo.jpg", "--json").json()["tags"]}
    assert "Shark" in tags and "Bird" not in tags  # the worker read its own copy
    bad = kenning("worker", "--path-map", "photos", check=False)
    assert bad.code == 2 and "FROM=TO" in bad.stderr


RABBITMQ = os.environ.get("KENNING_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672//")


def test_rabbitmq_as_the_broker(kenning, tmp_path, postgres_url):
    from kombu import Connection

    try:
        with Connection(RABBITMQ, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
            channel = connection.channel()  # nothing left from another run:
            channel.queue_declare("kenning", durable=True, auto_delete=False)  # as Celery does
            channel.queue_purge("kenning")
    except OSError as exc:
        pytest.fail(f"RabbitMQ is not reachable at {RABBITMQ}: {exc}")
    library = tmp_path / "library"
    copy_photos(library, 12)
    kenning.env.update(KENNING_DATABASE_URL=postgres_url, KENNING_BROKER_URL=RABBITMQ,
                       KENNING_CLASSIFIERS="objects")
    kenning("db", "upgrade")
    workers = Workers(kenning, "--concurrency", "2")
    try:
        summary = kenning("index", library, "--batch-size", "2", "--json", timeout=180).json()
    finally:
        workers.stop()
    assert summary["processed"] == {"objects": 12} and summary["failed"] == []
    assert_all_done_once(postgres_url, {"objects"})


def test_kenning_serve_sends_new_files_to_the_workers(kenning, tmp_path, distributed):
    """The server's live processing enqueues batches too: with a broker, the photos a
    running `kenning serve` finds are processed by `kenning worker`s."""
    import httpx

    library = tmp_path / "library"
    copy_photos(library, 3)
    kenning.env["KENNING_CLASSIFIERS"] = "objects"
    kenning.env["KENNING_BROKER_QUEUE"] = "library-two"  # a queue of its own on the broker
    kenning("user", "add", "ann", "--admin", "--mount", library, "--password-stdin",
            input=b"ann-secret-12\n")
    token = kenning("user", "token", "ann", "--json").json()["token"]
    distributed(1)
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "kenning", "serve", "--port", str(port)], env=kenning.env,
        stdout=log, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}",
                          headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            def done() -> int:
                try:
                    status = http.get("/api/status").json()
                except httpx.TransportError:
                    return -1
                return sum(c["done"] for c in status["classifiers"])

            deadline = time.monotonic() + 180
            while done() < 3 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert done() == 3, (tmp_path / "serve.log").read_text()
            shutil.copyfile(IMAGENET / "n01530575_brambling.JPEG", library / "new.jpg")
            while done() < 4 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert done() == 4
            birds = http.get("/api/search", params={"tag": "Bird"}).json()["items"]
            assert "new.jpg" in {f["name"] for f in birds}
        with psycopg.connect(plain_url(kenning.env["KENNING_DATABASE_URL"])) as conn:
            assert conn.execute("SELECT count(*) FROM work_items WHERE state = 'done'"
                                ).fetchone()[0] == 4
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def test_workers_store_places_whose_region_and_city_share_a_name(kenning, tmp_path,
                                                                  distributed):
    from test_storing_results import SAME_NAMES, assert_places, same_name_photos

    library = same_name_photos(tmp_path / "wonders")
    kenning.env["KENNING_CLASSIFIERS"] = "places"
    distributed(1)
    run = kenning("index", library, "--json").json()
    assert run["processed"] == {"places": len(SAME_NAMES) + 1} and run["failed"] == []
    assert_all_done_once(kenning.env["KENNING_DATABASE_URL"], {"places"})
    assert_places(lambda name: [t["tag"] for t in
                                kenning("tags", library / name, "--json").json()["tags"]])
