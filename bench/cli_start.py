"""CPU time a `kenning` command spends before doing anything (issue 24: at most 0.3 s).

    .venv/bin/python bench/cli_start.py [--runs 7]

Runs each command in a fresh process, several times, and prints the median CPU time
(user + system) of each as `name: value` lines, beside the baseline measured in the same
run: the same command with every module the CLI loaded at start before it loaded them
lazily (SQLAlchemy, the people, indexing, model and user modules) imported first.
`kenning people` and `kenning status` read the database, so they load SQLAlchemy anyway.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile

EAGER = ("kenning.catalog", "kenning.faces.people", "kenning.models.optional",
         "kenning.pipeline.indexer", "kenning.pipeline.distributed", "kenning.users")
COMMANDS = {"help": ["--help"], "version": ["version"], "people": ["people"],
            "status": ["status"]}


def cpu_seconds(argv: list[str], env: dict) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        env = dict(os.environ, KENNING_DATA_DIR=data)
        eager = "; ".join(f"import {m}" for m in EAGER)
        for name, words in COMMANDS.items():
            lazy_times, eager_times = [], []
            for _ in range(args.runs):
                lazy_times.append(cpu_seconds([sys.executable, "-m", "kenning", *words], env))
                eager_times.append(cpu_seconds([sys.executable, "-c",
                                                f"{eager}; from kenning.cli import main; "
                                                f"raise SystemExit(main({words!r}))"], env))
            lazy, before = statistics.median(lazy_times), statistics.median(eager_times)
            print(f"{name}_cpu_s: {lazy:.3f}")
            print(f"{name}_cpu_s_all_modules_first: {before:.3f}")
            print(f"{name}_ratio: {lazy / before:.2f}")


if __name__ == "__main__":
    main()
