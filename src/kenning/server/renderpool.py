"""Child processes that render for the server (previews, thumbnails, drawn faces), shared
fairly between users, each render with a time limit of its own.

One hostile file must not stall anyone else, so:
- Each user has a queue of their own, and the next render goes to the user with the
  fewest renders running, then to the one served longest ago. While several users wait,
  each runs at most one render at a time; a user alone runs as many as the pool's
  `children`.
- A user with nothing running whose render finds every child busy gets a child of their
  own, up to `most` children (not counting renders others run beyond their share):
  a newcomer never waits behind others' backlogs.
- The time limit counts only the render itself (from when a child takes it, not while
  it waits its turn). A render over it has its own child killed and replaced; the other
  children, and so other users' renders, go on.
- Waiting for a render holds no thread of the server's: `submit` returns a future that
  an async route awaits (`asyncio.wrap_future`).
- The same work asked for again while it runs (45 requests for one thumbnail) is done
  once: submitting it under the same key returns the same future.

Children run below the server's priority (nice), within a memory limit (RLIMIT_AS), with
one thread for the decoders' maths.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import wait

log = logging.getLogger("kenning.server")

IDLE_EXTRA_SECONDS = 30.0  # an extra child with nothing to do ends after this
CHILD_NICE = 5


class RenderFailed(Exception):
    """The render could not be made: the reason, for a person."""

    def __init__(self, reason: str, lasting: bool = True) -> None:
        super().__init__(reason)
        # False when trying again later might work (it took too long, or its child died
        # while the machine was busy); True when the file itself is the problem.
        self.lasting = lasting


def _child_main(connection, memory: int) -> None:
    """(A child.) Render what it is sent until its pipe closes."""
    from kenning.orphans import die_with_parent

    die_with_parent()  # (its parent is the fork server, which ends with the server)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"
    with contextlib.suppress(OSError):
        os.nice(CHILD_NICE)
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    from kenning.media.images import MediaError

    while True:
        try:
            function, args = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer = ("ok", function(*args))
        except MediaError as exc:
            answer = ("refused", str(exc))
        except MemoryError:
            answer = ("refused", "too large to decode (out of memory)")
        except Exception as exc:  # noqa: BLE001 - a decoder's error is the file's problem
            answer = ("refused", f"{type(exc).__name__}: {exc}"[:300])
        try:
            connection.send(answer)
        except (OSError, ValueError):
            return


@dataclass(eq=False)
class _Job:
    user: int
    key: object
    function: Callable
    args: tuple
    future: Future = field(default_factory=Future)


@dataclass(eq=False)
class _Child:
    process: multiprocessing.Process
    connection: object
    job: _Job | None = None
    deadline: float = 0.0
    idle_since: float = field(default_factory=time.monotonic)


class RenderPool:
    def __init__(self, children: int = 2, most: int = 4, seconds: float = 30.0,
                 memory: int = 1536 << 20) -> None:
        self.base, self.most = max(1, children), max(children, most)
        self.seconds, self.memory = seconds, memory
        self._context = multiprocessing.get_context("forkserver")
        # A new child is forked from a server that has imported the renderers already:
        # it can take its first render at once (a newcomer's child must not take seconds).
        self._context.set_forkserver_preload(["kenning.server.previews"])
        self._lock = threading.Lock()
        self._queues: dict[int, deque[_Job]] = {}
        self._running: dict[int, int] = {}
        self._served: dict[int, int] = {}  # user -> when last served (a counter)
        self._turn = itertools.count()
        self._inflight: dict[object, _Job] = {}
        self._children: list[_Child] = []
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        self._closed = False
        self._thread: threading.Thread | None = None

    # The server's side -----------------------------------------------------------------

    def submit(self, user: int, key: object, function: Callable, args: tuple,
               on_done: Callable[[Future], None] | None = None) -> Future:
        """A future of `function(*args)` run in a child: its result, or RenderFailed.
        `on_done(future)` is called once when it ends (in the pool's thread); work under
        a key already in progress is not submitted again, and its future is returned."""
        with self._lock:
            if self._closed:
                raise RenderFailed("the server is stopping", lasting=False)
            if key is not None and key in self._inflight:
                return self._inflight[key].future
            job = _Job(user, key, function, args)
            if on_done is not None:
                job.future.add_done_callback(on_done)
            if key is not None:
                self._inflight[key] = job
            self._queues.setdefault(user, deque()).append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._dispatch, daemon=True,
                                                name="kenning-renders")
                self._thread.start()
        self._wake()
        return job.future

    def run(self, user: int, key: object, function: Callable, args: tuple):
        """`submit`, waited for here (for code that runs in a thread of its own)."""
        return self.submit(user, key, function, args).result()

    def queued(self, user: int) -> int:
        with self._lock:
            return len(self._queues.get(user, ()))

    def close(self) -> None:
        """Stop every child now (renders in progress are abandoned)."""
        with self._lock:
            self._closed = True
            children, self._children = self._children, []
            jobs = [job for queue in self._queues.values() for job in queue]
            self._queues.clear()
        self._wake()
        for child in children:
            _kill(child)
            if child.job is not None:
                jobs.append(child.job)
        for job in jobs:
            _fail(job.future, RenderFailed("the server is stopping", lasting=False))
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def pids(self) -> list[int]:
        with self._lock:
            return [c.process.pid for c in self._children if c.process.pid]

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"x")

    # The dispatcher thread -------------------------------------------------------------

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                self._start_jobs()
                busy = [c for c in self._children if c.job is not None]
                deadline = min((c.deadline for c in busy), default=None)
                waiting_on = [c.connection for c in busy]
                extra = len(self._children) > self.base
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            if extra:
                timeout = min(timeout if timeout is not None else IDLE_EXTRA_SECONDS,
                              IDLE_EXTRA_SECONDS)
            try:
                ready = wait([self._wake_read, *waiting_on], timeout)
            except OSError:
                return
            if self._wake_read in ready:
                with contextlib.suppress(OSError):
                    os.read(self._wake_read, 4096)
            with self._lock:
                if self._closed:
                    return
                for child in [c for c in self._children if c.connection in ready]:
                    self._finish(child)
                now = time.monotonic()
                for child in [c for c in self._children
                              if c.job is not None and c.deadline <= now]:
                    self._time_out(child)
                self._retire_idle(now)

    def _start_jobs(self) -> None:
        """(Holding the lock.) Give waiting renders to children, fairly."""
        while True:
            waiting = [u for u, q in self._queues.items() if q]
            if not waiting:
                return
            contended = len(waiting) + sum(1 for u, n in self._running.items()
                                           if n and u not in waiting) > 1
            cap = 1 if contended else self.base
            ready = [u for u in waiting if self._running.get(u, 0) < cap]
            if not ready:
                return
            user = min(ready, key=lambda u: (self._running.get(u, 0), self._served.get(u, -1)))
            child = next((c for c in self._children if c.job is None), None)
            if child is None:
                # Renders a user runs beyond today's share (started while alone) do not
                # count against `most`: they must not keep a newcomer waiting.
                over = sum(max(0, n - cap) for n in self._running.values())
                newcomer = not self._running.get(user, 0) and \
                    len(self._children) - over < self.most
                if len(self._children) >= self.base and not newcomer:
                    return
                child = self._start_child()
                if child is None:
                    return
            job = self._queues[user].popleft()
            if not job.future.set_running_or_notify_cancel():  # its request went away
                self._forget(job)
                continue
            try:
                child.connection.send((job.function, job.args))
            except (OSError, ValueError) as exc:
                self._remove(child)
                self._settle(job, RenderFailed(f"the renderer could not start ({exc})",
                                               lasting=False))
                continue
            child.job, child.deadline = job, time.monotonic() + self.seconds
            self._running[user] = self._running.get(user, 0) + 1
            self._served[user] = next(self._turn)

    def _start_child(self) -> _Child | None:
        try:
            mine, theirs = self._context.Pipe()
            process = self._context.Process(target=_child_main, args=(theirs, self.memory),
                                            name="kenning-render", daemon=True)
            process.start()
            theirs.close()
        except OSError as exc:
            log.warning("cannot start a render child: %s", exc)
            return None
        child = _Child(process, mine)
        self._children.append(child)
        return child

    def _finish(self, child: _Child) -> None:
        job = child.job
        try:
            status, value = child.connection.recv()
        except (EOFError, OSError):
            self._remove(child)
            if job is not None:
                self._settle(job, RenderFailed("the decoder crashed on this file",
                                               lasting=False))
            return
        child.job, child.idle_since = None, time.monotonic()
        if job is None:
            return
        self._settle(job, value if status == "ok" else RenderFailed(value))

    def _time_out(self, child: _Child) -> None:
        job = child.job
        log.warning("a render took more than %.0f s: its child is replaced", self.seconds)
        self._remove(child)
        if job is not None:
            self._settle(job, RenderFailed(
                f"it took more than {self.seconds:.0f} s to decode", lasting=False))

    def _retire_idle(self, now: float) -> None:
        for child in list(self._children):
            if len(self._children) <= self.base:
                return
            if child.job is None and now - child.idle_since >= IDLE_EXTRA_SECONDS:
                self._remove(child)

    def _remove(self, child: _Child) -> None:
        if child in self._children:
            self._children.remove(child)
        _kill(child)

    def _settle(self, job: _Job, value) -> None:
        self._running[job.user] = max(0, self._running.get(job.user, 0) - 1)
        if not self._running[job.user]:
            del self._running[job.user]
        self._forget(job)
        if isinstance(value, BaseException):
            _fail(job.future, value)
        elif not job.future.done():
            job.future.set_result(value)

    def _forget(self, job: _Job) -> None:
        if job.key is not None and self._inflight.get(job.key) is job:
            del self._inflight[job.key]
        queue = self._queues.get(job.user)
        if queue is not None and not queue and not self._running.get(job.user):
            del self._queues[job.user]


def _fail(future: Future, exc: BaseException) -> None:
    if not future.done():
        with contextlib.suppress(Exception):
            future.set_exception(exc)


def _kill(child: _Child) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        child.connection.close()
    process = child.process
    with contextlib.suppress(OSError, ValueError, AttributeError):
        if process.is_alive():
            process.kill()
        process.join(2)
