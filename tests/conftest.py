"""Shared fixtures: the dev data, a data dir per test, and the real `kenning` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEV = Path(os.environ.get("KENNING_DEV_DATA", REPO.parent / "shared" / "data" / "dev"))
IMAGENET = DEV / "imagenet_100"


def pytest_collection_modifyitems(config, items):
    if not IMAGENET.is_dir():
        raise pytest.UsageError(f"dev data not found at {DEV}; set KENNING_DEV_DATA")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


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
        return subprocess.Popen([sys.executable, "-m", "kenning", *map(os.fspath, args)],
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def kenning(tmp_path) -> KenningCli:
    return KenningCli(tmp_path / "data")


@pytest.fixture(scope="session")
def dev_images() -> list[Path]:
    return sorted(IMAGENET.glob("*.JPEG"))
