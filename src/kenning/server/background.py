"""Live processing for `kenning serve`: mounts are watched (inotify, through watchfiles),
re-scanned now and then as a safety net, and what is new is processed at once.

One thread processes one mount at a time, with the models loaded once for the whole
server. With a broker configured, its batches go to `kenning worker`s instead. People
are re-clustered after every run that found faces (only new faces are compared).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from kenning import catalog
from kenning.classifiers import enabled_classifiers
from kenning.config import Settings
from kenning.db import Database, Mount, User

log = logging.getLogger("kenning.server")


class RunProgress:
    """What the processing thread is doing now, for the status page."""

    def __init__(self) -> None:
        self.step, self.total, self.done = None, 0, 0

    def start(self, description: str, total: int) -> None:
        self.step, self.total, self.done = description, total, 0

    def advance(self, files: int) -> None:
        self.done += files

    def stop(self) -> None:
        self.step = None


class Processor:
    def __init__(self, settings: Settings, db: Database, rescan_seconds: float = 3600.0,
                 watch: bool = True) -> None:
        self.settings, self.db = settings, db
        self.rescan_seconds, self.watch = rescan_seconds, watch
        self._wanted: list[int] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._rewatch = threading.Event()
        self._threads: list[threading.Thread] = []
        self._classifiers = None
        self.current: dict | None = None
        self.run_progress = RunProgress()
        self.last: dict[int, dict] = {}  # mount id -> what its last run did
        self.runs = 0

    # Requests ---------------------------------------------------------------------------

    def request(self, mount_id: int) -> None:
        with self._changed:
            if mount_id not in self._wanted:
                self._wanted.append(mount_id)
            self._changed.notify_all()

    def request_user(self, user_id: int) -> None:
        with self.db.session() as session:
            for mount_id in session.scalars(select(Mount.id).where(Mount.user_id == user_id)):
                self.request(mount_id)

    def request_all(self) -> None:
        with self.db.session() as session:
            for mount_id in session.scalars(select(Mount.id).order_by(Mount.id)):
                self.request(mount_id)

    def watch_mounts(self) -> None:
        """The set of mounts changed: watch the new set."""
        self._rewatch.set()

    def progress(self, user_id: int) -> dict:
        with self._changed:
            queued = list(self._wanted)
        current = self.current if self.current and self.current["user"] == user_id else None
        with self.db.session() as session:
            mine = set(session.scalars(select(Mount.id).where(Mount.user_id == user_id)))
        return {
            "running": None if current is None else {
                "mount": current["mount"], "step": self.run_progress.step,
                "done": self.run_progress.done, "total": self.run_progress.total},
            "queued_mounts": [m for m in queued if m in mine],
            "last_runs": [self.last[m] for m in sorted(mine) if m in self.last],
        }

    # Threads ----------------------------------------------------------------------------

    def start(self) -> None:
        self.request_all()
        self._threads = [threading.Thread(target=self._work, name="kenning-processor",
                                          daemon=True)]
        if self.watch:
            self._threads.append(threading.Thread(target=self._watch, name="kenning-watcher",
                                                  daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._rewatch.set()
        with self._changed:
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=60)

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """True once nothing is queued or running (tests and `kenning serve --once`)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._changed:
                idle = not self._wanted and self.current is None
            if idle:
                return True
            time.sleep(0.05)
        return False

    def _next(self) -> int | None:
        deadline = time.monotonic() + self.rescan_seconds
        with self._changed:
            while not self._wanted and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, 1.0))
            if self._stop.is_set():
                return None
            if not self._wanted:  # the periodic re-scan: everything, one after another
                with self.db.session() as session:
                    self._wanted.extend(session.scalars(select(Mount.id).order_by(Mount.id)))
            if not self._wanted:
                return -1
            mount_id = self._wanted.pop(0)
            self.current = {"mount": mount_id, "user": None}
            return mount_id

    def _work(self) -> None:
        while not self._stop.is_set():
            mount_id = self._next()
            if mount_id is None:
                return
            if mount_id == -1:
                continue
            try:
                self._process(mount_id)
            except Exception:  # noqa: BLE001 - one bad run must not stop the server's work
                log.exception("processing mount %s failed; it is tried again later", mount_id)
            finally:
                with self._changed:
                    self.current = None

    def _process(self, mount_id: int) -> None:
        from kenning.pipeline.indexer import FolderError, index_folder

        with self.db.session() as session:
            row = session.execute(select(Mount.path, Mount.user_id, User.name)
                                  .join(User, User.id == Mount.user_id)
                                  .where(Mount.id == mount_id)).first()
        if row is None:  # removed meanwhile
            return
        path, user_id, user_name = row
        self.current = {"mount": mount_id, "user": user_id}
        if self._classifiers is None:
            self._classifiers = enabled_classifiers(self.settings)
        started = time.time()
        try:
            report = index_folder(replace(self.settings, user=user_name), self.db, Path(path),
                                  self.run_progress, loaded=self._classifiers)
        except FolderError as exc:
            self.last[mount_id] = {"mount": mount_id, "path": path, "error": str(exc),
                                   "finished": started}
            return
        finally:
            catalog.changed()
        self.runs += 1
        scan = report.scan
        self.last[mount_id] = {
            "mount": mount_id, "path": path, "finished": time.time(),
            "seconds": round(report.seconds, 2),
            "changes": {"new": scan.new, "changed": scan.changed, "moved": scan.moved,
                        "deleted": scan.deleted},
            "processed": dict(report.processed), "failed": len(report.failures)}

    def _mount_paths(self) -> dict[str, int]:
        with self.db.session() as session:
            rows = session.execute(select(Mount.path, Mount.id)).all()
        return {path: mount_id for path, mount_id in rows if os.path.isdir(path)}

    def _watch(self) -> None:
        import watchfiles

        while not self._stop.is_set():
            self._rewatch.clear()
            roots = self._mount_paths()
            if not roots:
                self._rewatch.wait(5.0)
                continue
            try:
                for changes in watchfiles.watch(*roots, stop_event=self._rewatch,
                                                debounce=800, rust_timeout=1000,
                                                yield_on_timeout=False, raise_interrupt=False):
                    touched = {path for _change, path in changes}
                    for root, mount_id in roots.items():
                        if any(p == root or p.startswith(root.rstrip("/") + "/")
                               for p in touched):
                            self.request(mount_id)
            except (OSError, RuntimeError) as exc:  # a mount vanished: watch the rest
                log.warning("watching mounts: %s; watching again in 5 s", exc)
                self._stop.wait(5.0)
