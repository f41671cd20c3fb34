"""Live processing for `kenning serve`: mounts are watched (inotify, through watchfiles),
re-scanned now and then as a safety net, and what is new is processed at once.

One thread processes one mount at a time, with the models loaded once for the whole
server. With a broker configured, its batches go to `kenning worker`s instead. People
are re-clustered after every run that found faces (only new faces are compared).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid

from sqlalchemy import delete, select

from kenning import catalog
from kenning.classifiers import enabled_classifiers
from kenning.config import Settings
from kenning.db import Database, Mount
from kenning.db.schema import Meta
from kenning.db.session import database_trouble
from kenning.pipeline.isolation import DecodingStopped
from kenning.pipeline.runlock import MountBusy

# With several server processes (`kenning serve --workers N`) one of them processes; the
# others pass requests and read its progress through these rows of kenning_meta.
WANTED = "processor_wanted:"  # + mount id: a re-scan asked for
REWATCH = "processor_rewatch"  # changes when the set of mounts changed
STATE = "processor_state"  # JSON: what the processing process is doing


def _put(db: Database, key: str, value: str) -> None:
    with db.session() as session:
        row = session.get(Meta, key)
        if row is None:
            session.add(Meta(key=key, value=value))
        else:
            row.value = value


def _user_mounts(db: Database, user_id: int | None) -> list[int]:
    with db.session() as session:
        query = select(Mount.id).order_by(Mount.id)
        if user_id is not None:
            query = query.where(Mount.user_id == user_id)
        return list(session.scalars(query))


def progress_for(snapshot: dict, mine: set[int]) -> dict:
    """What one user may see of the processing: only their own mounts."""
    running = snapshot.get("running")
    return {"running": running if running and running["mount"] in mine else None,
            "queued_mounts": [m for m in snapshot.get("queued", []) if m in mine],
            "last_runs": [run for m, run in sorted(snapshot.get("last", {}).items(),
                                                    key=lambda item: int(item[0]))
                          if int(m) in mine]}


class ProcessorClient:
    """The processor as seen from a server process that does not run it."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self) -> None:  # the processing process runs the threads
        pass

    def stop(self) -> None:
        pass

    def request(self, mount_id: int) -> None:
        with self.db.session() as session:
            if session.get(Meta, WANTED + str(mount_id)) is None:
                session.add(Meta(key=WANTED + str(mount_id), value="1"))

    def request_user(self, user_id: int) -> None:
        for mount_id in _user_mounts(self.db, user_id):
            self.request(mount_id)

    def watch_mounts(self) -> None:
        _put(self.db, REWATCH, uuid.uuid4().hex)

    def progress(self, user_id: int) -> dict:
        with self.db.session() as session:
            raw = session.scalar(select(Meta.value).where(Meta.key == STATE))
        return progress_for(json.loads(raw) if raw else {},
                            set(_user_mounts(self.db, user_id)))

log = logging.getLogger("kenning.server")


class RunProgress:
    """What the processing thread is doing now, for the status page."""

    def __init__(self, on_advance=None) -> None:
        self.step, self.total, self.done = None, 0, 0
        self.on_advance = on_advance

    def start(self, description: str, total: int) -> None:
        self.step, self.total, self.done = description, total, 0

    def advance(self, files: int) -> None:
        self.done += files
        if self.on_advance is not None:
            self.on_advance()

    def stop(self) -> None:
        self.step = None


BUSY_RETRY_SECONDS = 15.0  # a mount another process is indexing: asked for again
DATABASE_RETRY_SECONDS = 60  # a run the database stopped (or its disk filled) in: asked again


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
        self._executor = None  # kept from run to run (its decoding children too)
        self.current: dict | None = None
        self.run_progress = RunProgress(self._publish)
        self.last: dict[int, dict] = {}  # mount id -> what its last run did
        self.runs = 0
        self._published = 0.0
        self._rewatch_seen: str | None = None
        self._rescan_missed = False  # the database was away at the last periodic re-scan

    # Requests ---------------------------------------------------------------------------

    def request(self, mount_id: int) -> None:
        with self._changed:
            if mount_id not in self._wanted:
                self._wanted.append(mount_id)
            self._changed.notify_all()

    def _later(self, mount_id: int, seconds: float = BUSY_RETRY_SECONDS) -> None:
        """Request this mount again in a while (another process is indexing it, or the
        database stopped answering)."""
        if self._stop.is_set():
            return
        timer = threading.Timer(seconds, self.request, [mount_id])
        timer.daemon = True
        timer.start()

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

    def snapshot(self) -> dict:
        with self._changed:
            queued = list(self._wanted)
            current = self.current
        return {"running": None if current is None else {
                    "mount": current["mount"], "step": self.run_progress.step,
                    "done": self.run_progress.done, "total": self.run_progress.total},
                "queued": queued, "last": {str(m): run for m, run in self.last.items()}}

    def progress(self, user_id: int) -> dict:
        return progress_for(self.snapshot(), set(_user_mounts(self.db, user_id)))

    def _publish(self, force: bool = False) -> None:
        """Tell the other server processes what is going on (at most once a second)."""
        now = time.monotonic()
        if not force and now < self._published + 1.0:
            return
        self._published = now
        try:
            _put(self.db, STATE, json.dumps(self.snapshot()))
        except Exception:  # noqa: BLE001 - progress is a nicety; a busy database is not
            log.debug("could not publish progress", exc_info=True)

    def _take_requests(self) -> None:
        """Re-scans asked for through the database (by the other server processes)."""
        try:
            with self.db.session() as session:
                keys = list(session.scalars(select(Meta.key).where(
                    Meta.key.like(WANTED + "%"))))
                if keys:
                    session.execute(delete(Meta).where(Meta.key.in_(keys)))
                rewatch = session.scalar(select(Meta.value).where(Meta.key == REWATCH))
        except Exception:  # noqa: BLE001 - asked again next second
            log.debug("could not read requests", exc_info=True)
            return
        for key in keys:
            self.request(int(key.removeprefix(WANTED)))
        if rewatch != self._rewatch_seen:
            self._rewatch.set()
            self._rewatch_seen = rewatch

    # Threads ----------------------------------------------------------------------------

    def start(self) -> None:
        with self.db.session() as session:  # the mounts are watched as they are now
            self._rewatch_seen = session.scalar(select(Meta.value).where(Meta.key == REWATCH))
        self.request_all()
        self._threads = [threading.Thread(target=self._work, name="kenning-processor",
                                          daemon=True)]
        if self.watch:
            self._threads.append(threading.Thread(target=self._watch, name="kenning-watcher",
                                                  daemon=True))
        from kenning.xmp.keeper import SidecarKeeper

        keeper = SidecarKeeper(self.settings, self.db)
        self._threads.append(threading.Thread(target=keeper.run, args=(self._stop,),
                                              name="kenning-sidecars", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self, seconds: float = 2.0) -> None:
        """Stop processing: no new batch starts, the running ones get `seconds` to be
        stored; then the decoding children are stopped, and a batch still decoding ends
        without results. What was not done is still pending for the next start."""
        self._stop.set()
        self._rewatch.set()
        if self._executor is not None:
            self._executor.stop()
        with self._changed:
            self._changed.notify_all()
        end = time.monotonic() + seconds
        for thread in self._threads:
            thread.join(timeout=max(0.0, end - time.monotonic()))
        if self._executor is not None:  # a batch still decoding ends now, unstored
            self._executor.close()
        for thread in self._threads:
            thread.join(timeout=1.0)

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
        deadline = time.monotonic() + (DATABASE_RETRY_SECONDS if self._rescan_missed
                                       else self.rescan_seconds)
        with self._changed:
            while not self._wanted and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, 1.0))
                self._changed.release()
                try:
                    self._take_requests()
                finally:
                    self._changed.acquire()
            if self._stop.is_set():
                return None
            if not self._wanted:  # the periodic re-scan: everything, one after another
                try:
                    with self.db.session() as session:
                        self._wanted.extend(session.scalars(select(Mount.id)
                                                            .order_by(Mount.id)))
                except Exception as exc:  # noqa: BLE001 - the thread must outlive it
                    trouble = database_trouble(exc)
                    if trouble is None:
                        raise
                    log.warning("the periodic re-scan waits, %s: tried again in %d s",
                                trouble, DATABASE_RETRY_SECONDS)
                    self._rescan_missed = True
                    return -1
                self._rescan_missed = False
            if not self._wanted:
                return -1
            mount_id = self._wanted.pop(0)
            self.current = {"mount": mount_id, "user": None}
        self._publish(force=True)
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
            except DecodingStopped:  # the server is stopping: the rest stays pending
                return
            except Exception as exc:  # noqa: BLE001 - one bad run must not stop the work
                trouble = database_trouble(exc)
                if trouble is None:
                    log.exception("processing mount %s failed; it is tried again at the next "
                                  "change or rescan", mount_id)
                else:  # what was done is saved; the rest once the database is mended
                    log.warning("processing mount %s stopped, %s: tried again in %d s",
                                mount_id, trouble, DATABASE_RETRY_SECONDS)
                    self._later(mount_id, DATABASE_RETRY_SECONDS)
            finally:
                with self._changed:
                    self.current = None
                self._publish(force=True)

    def _process(self, mount_id: int) -> None:
        from kenning.pipeline.indexer import FolderError, index_mount, make_executor

        with self.db.session() as session:
            row = session.execute(select(Mount.path, Mount.user_id)
                                  .where(Mount.id == mount_id)).first()
        if row is None:  # removed meanwhile
            return
        path, user_id = row
        self.current = {"mount": mount_id, "user": user_id}
        if self._classifiers is None:
            self._classifiers = enabled_classifiers(self.settings)
            self._executor = make_executor(self.db, {c.name: c for c in self._classifiers},
                                           self.settings)
            if self._stop.is_set():
                self._executor.stop()
        started = time.time()
        try:
            report = index_mount(self.settings, self.db, mount_id, self.run_progress,
                                 self._executor, loaded=self._classifiers, wait=False)
        except MountBusy:  # a `kenning index` of it is running: done when it ends
            log.info("mount %s is being indexed by another process; tried again later",
                     mount_id)
            self._later(mount_id)
            return
        except FolderError as exc:
            log.warning("mount %s not processed: %s", mount_id, exc)
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

        missed = False  # changes may have gone unseen: scan once watching again
        while not self._stop.is_set():
            self._rewatch.clear()
            try:
                roots = self._mount_paths()
            except Exception as exc:  # noqa: BLE001 - the watcher must outlive it
                trouble = database_trouble(exc)
                if trouble is None:
                    raise
                log.warning("watching mounts: %s; trying again in 5 s", trouble)
                missed = True  # (changes meanwhile are found by a scan once watching)
                self._stop.wait(5.0)
                continue
            if not roots:
                self._rewatch.wait(5.0)
                continue
            try:
                for changes in watchfiles.watch(*roots, stop_event=self._rewatch,
                                                debounce=800, rust_timeout=1000,
                                                yield_on_timeout=True, raise_interrupt=False):
                    if missed:  # watching again: what changed meanwhile is found now
                        missed = False
                        for mount_id in roots.values():
                            self.request(mount_id)
                    touched = {path for _change, path in changes}
                    for root, mount_id in roots.items():
                        if any(p == root or p.startswith(root.rstrip("/") + "/")
                               for p in touched):
                            self.request(mount_id)
            except (OSError, RuntimeError, ValueError) as exc:
                # A mount vanished, or a change the watcher cannot name (a file name
                # that is not UTF-8): what changed is unknown, so every mount is scanned
                # (a scan finds any change), and watching goes on.
                log.warning("watching mounts: %s; scanning them and watching again", exc)
                missed = True
                self._stop.wait(1.0)
