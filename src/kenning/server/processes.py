"""`kenning serve --workers N`: N server processes on one port (SO_REUSEPORT, so the
kernel spreads connections over them), each with its own database connections. Process 0
also runs the background processing; the others pass it requests through the database
(background.ProcessorClient). A process that dies is started again."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

import uvicorn

STOP_SECONDS = 4.0  # a server process still running this long after SIGTERM is killed


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio only turns Nagle off (TCP_NODELAY) on sockets that say
    # they are TCP, and with Nagle on every response waits 40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def check_port(host: str, port: int) -> None:
    """Raise OSError now if another program holds the port (bound, never listening).
    SO_REUSEADDR as the server's own socket: connections of a server that just stopped
    (TIME_WAIT) do not keep a new one from starting at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        probe.bind((host, port))


def run_one(app, options: dict, sockets: list[socket.socket] | None = None) -> None:
    """One uvicorn server: our HTTP protocol (header deadline), logs that cannot be
    flooded, and the access log when asked for."""
    from kenning.server.guards import HeaderDeadline, quiet_logs

    config = uvicorn.Config(app, http=HeaderDeadline, **options)  # configures logging
    if options.get("access_log"):
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    quiet_logs("uvicorn.error", "uvicorn.access", "kenning", "wsgidav")
    uvicorn.Server(config).run(sockets=sockets)


def _child(index: int, make_app: Callable[[int], object], host: str, port: int,
           options: dict) -> None:
    from kenning.orphans import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(signal.SIGTERM)
    sock = _listen(host, port)
    run_one(make_app(index), options, [sock])


def serve(make_app: Callable[[int], object], host: str, port: int, workers: int,
          options: dict) -> None:
    """Run `workers` processes until SIGINT/SIGTERM. `make_app(index)` runs in each child
    after the fork, so nothing (threads, database connections) is shared between them."""
    check_port(host, port)
    children: dict[int, int] = {}
    started: dict[int, float] = {}
    quick_deaths = 0
    stopping = False

    def start(index: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _child(index, make_app, host, port, options)
            except BaseException:  # noqa: BLE001 - reported, then this child ends
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = index
        started[index] = time.monotonic()

    stop_by = 0.0

    def stop(_signum, _frame) -> None:
        nonlocal stopping, stop_by
        stopping, stop_by = True, time.monotonic() + STOP_SECONDS
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for index in range(workers):
        start(index)
    while children:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG if stopping else 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == 0:  # stopping, and some are still at it: at most STOP_SECONDS
            if time.monotonic() > stop_by:
                for late in list(children):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(late, signal.SIGKILL)
            time.sleep(0.05)
            continue
        index = children.pop(pid, None)
        if index is None or stopping:
            continue
        quick_deaths = quick_deaths + 1 if time.monotonic() - started[index] < 10 else 0
        if quick_deaths >= 5:  # it cannot start: do not loop forever
            print("kenning serve: server processes keep failing; stopping",
                  file=sys.stderr, flush=True)
            stop(None, None)
            raise SystemExit(1)
        print(f"kenning serve: process {index} ended; starting it again",
              file=sys.stderr, flush=True)
        time.sleep(1.0)
        start(index)
