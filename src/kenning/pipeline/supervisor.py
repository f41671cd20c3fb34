"""`kenning worker --concurrency N`: N single worker processes, each started again if it
dies (a killed process's batch is sent again by the coordinator; see distributed.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

RESTART_DELAY = 1.0


def supervise(count: int, args: list[str], env: dict[str, str]) -> int:
    command = [sys.executable, "-m", "kenning", *args]
    children: list[subprocess.Popen] = [subprocess.Popen(command, env=env) for _ in range(count)]
    stopping = False

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        for slot, child in enumerate(children):
            code = child.poll()
            if code is not None and not stopping:
                print(f"kenning worker: process {child.pid} exited ({code}); starting another",
                      file=sys.stderr)
                time.sleep(RESTART_DELAY)
                children[slot] = subprocess.Popen(command, env=env)
        time.sleep(0.5)
    for child in children:
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0
