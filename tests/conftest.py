"""Shared fixtures: the dev data, a data dir per test, and the real `kenning` command."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEV = Path(os.environ.get("KENNING_DEV_DATA", REPO.parent / "shared" / "data" / "dev"))
IMAGENET = DEV / "imagenet_100"


if not IMAGENET.is_dir():
    raise pytest.UsageError(f"dev data not found at {DEV}; set KENNING_DEV_DATA")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def open_library(kenning: KenningCli):
    """The library `kenning` made (its SQLite database) and its owner's id, for reading
    what the CLI does not print."""
    from kenning.db import Database
    from kenning.users import find_user, library_owner

    db = Database(f"sqlite:///{kenning.data_dir / 'kenning.db'}")
    try:
        yield db, find_user(db, library_owner(db)).id
    finally:
        db.engine.dispose()


class KenningCli:
    """Runs the installed `kenning` command in a subprocess, as a user would."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KENNING_")}
        self.env["KENNING_DATA_DIR"] = str(data_dir)

    def __call__(self, *args: str | os.PathLike, check: bool = True, timeout: float = 600,
                 **popen) -> Run:
        proc = subprocess.run([sys.executable, "-m", "kenning", *map(os.fspath, args)],
                              env=self.env, capture_output=True, timeout=timeout, **popen)
        run = Run(proc.returncode, proc.stdout.decode(errors="replace"),
                  proc.stderr.decode(errors="replace"))
        if check and run.code != 0:
            raise AssertionError(f"kenning {args} exited {run.code}:\n{run.stdout}\n{run.stderr}")
        return run

    def popen(self, *args: str | os.PathLike) -> subprocess.Popen:
        # Ctrl-C as at a terminal: a shell that runs the suite in the background (without
        # job control) makes its children ignore SIGINT, and Python keeps it ignored.
        return subprocess.Popen([sys.executable, "-m", "kenning", *map(os.fspath, args)],
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=_default_sigint)


@pytest.fixture
def kenning(tmp_path) -> KenningCli:
    return KenningCli(tmp_path / "data")


@pytest.fixture(scope="session")
def dev_images() -> list[Path]:
    return sorted(IMAGENET.glob("*.JPEG"))


NOBODY = 65534


@pytest.fixture
def unprivileged_dir():
    """A world-writable folder for work done as an unprivileged user (see `run_unprivileged`)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="kenning-test-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def in_unprivileged_child(function, *args, timeout: float = 600):
    """Run `function(*args)` in a forked child as user `nobody` and return its JSON-able result.

    Root (as in CI) reads every file, so unreadable files and folders can only be tested by
    dropping privileges; forking (not exec) keeps the already-imported interpreter usable
    even when the Python installation itself is not readable by `nobody`.
    """
    import signal
    import traceback

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        status = 0
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            payload = {"ok": function(*args)}
        except BaseException:  # noqa: BLE001 - reported to the parent
            payload, status = {"error": traceback.format_exc()}, 1
        with os.fdopen(write_end, "w") as pipe:
            pipe.write(json.dumps(payload, default=str))
        os._exit(status)
    os.close(write_end)
    signal.alarm(int(timeout))
    try:
        with os.fdopen(read_end) as pipe:
            data = pipe.read()
        os.waitpid(pid, 0)
    finally:
        signal.alarm(0)
    payload = json.loads(data or '{"error": "child died"}')
    if "error" in payload:
        raise AssertionError("unprivileged child failed:\n" + payload["error"])
    return payload["ok"]


MUSIC = DEV / "music_gtzan_20"


def espeak(text: str, dest: Path, voice: str = "en") -> Path:
    """Real synthetic speech from espeak-ng (installed by `make test`)."""
    import shutil

    if shutil.which("espeak-ng") is None:
        raise pytest.UsageError("espeak-ng is missing: `make test` installs it (apt-get)")
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(dest), text], check=True)
    return dest


MEMO = ("Hello, this is a short voice memo. Remember to buy milk and bread on the way home, "
        "and call grandmother about the weekend. The meeting moved to Thursday at three.")


POSTGRES_ADMIN = os.environ.get("KENNING_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_database():
    """A new, empty PostgreSQL database on the machine's real server, dropped afterwards."""
    import uuid

    import psycopg

    name = f"kenning_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url():
    yield from _postgres_database()


@pytest.fixture(scope="module")
def postgres_module_url():
    """One PostgreSQL database for a whole test module (a server it keeps running)."""
    yield from _postgres_database()
