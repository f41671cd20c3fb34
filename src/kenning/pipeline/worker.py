"""The worker side of scale-out (`kenning worker`; distributed.py has the coordinator).

One Celery worker with the solo pool per process, prefetching one message and
acknowledging it only after the results are stored. It claims the batch's pending files
(skipping any already done: a batch delivered twice costs nothing), keeps a heartbeat on
them while it works, decodes in a child process (pipeline/isolation.py) and stores results
exactly as the in-process executor does. Its models load once and stay. A batch of photos
can be for several classifiers (objects and faces): each photo is then decoded once for
all of them, as in process.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from kenning.classifiers.base import BatchOutcome, Classifier, MediaFile
from kenning.config import Settings
from kenning.db import Database, WorkItem, WorkState
from kenning.db.schema import utcnow
from kenning.pipeline.broker import celery_app
from kenning.pipeline.isolation import IsolatedDecoder
from kenning.pipeline.jobs import (
    classify_files,
    classify_photos,
    load_media_files,
    store_outcome,
)

HEARTBEAT = 2.0  # seconds between a worker's claim refreshes

log = logging.getLogger("kenning.distributed")


class NoModel(RuntimeError):
    """A plug-in classifier whose model is not installed on this worker."""


@dataclass
class WorkerState:
    settings: Settings
    db: Database
    path_map: tuple[tuple[str, str], ...]
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    classifiers: dict[str, Classifier] = field(default_factory=dict)
    decoder: IsolatedDecoder | None = None

    def classifier(self, name: str) -> Classifier:
        if name not in self.classifiers:  # built once per process; models load on first use
            from kenning.classifiers import REGISTRY

            made = REGISTRY[name](self.settings)
            if made is None:
                raise NoModel(f"classifier {name} has no model on this worker")
            self.classifiers[name] = made
        return self.classifiers[name]


_worker: WorkerState | None = None


def start_worker_state(settings: Settings, path_map: Sequence[tuple[str, str]]) -> WorkerState:
    global _worker
    if path_map:  # another machine: its cache folder is not the server's, nor its paths
        settings = replace(settings, index_thumbnails=False)
    _worker = WorkerState(settings, Database(settings.db_url, wait_for_flush=False),
                          tuple(path_map))
    if settings.isolate_decoding:
        _worker.decoder = IsolatedDecoder(settings)
    return _worker


def claim(db: Database, classifier: str, file_ids: Sequence[int], worker: str,
          path_map: Sequence[tuple[str, str]] = ()) -> list[MediaFile]:
    """Mark the batch's still-pending files as this worker's; returns them, ready to read
    (one transaction: a round trip less per batch than claiming, then looking up)."""
    with db.session() as session:
        mine = list(session.scalars(update(WorkItem).where(
            WorkItem.classifier == classifier, WorkItem.file_id.in_(list(file_ids)),
            WorkItem.state == WorkState.PENDING).values(claimed_by=worker, claimed_at=utcnow())
            .returning(WorkItem.file_id)))
        files = load_media_files(db, mine, path_map, session) if mine else []
    return sorted(files, key=lambda f: f.id)


class Heartbeat:
    """Refreshes a worker's claims while it works on a batch (of one or more classifiers)."""

    def __init__(self, db: Database, classifiers: Sequence[str], file_ids: Sequence[int],
                 worker: str) -> None:
        self.db, self.classifiers, self.file_ids, self.worker = (db, list(classifiers),
                                                                 file_ids, worker)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="kenning-heartbeat")

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            try:
                with self.db.session() as session:
                    session.execute(update(WorkItem).where(
                        WorkItem.classifier.in_(self.classifiers),
                        WorkItem.file_id.in_(list(self.file_ids)),
                        WorkItem.claimed_by == self.worker).values(claimed_at=utcnow()))
            except DBAPIError as exc:  # the coordinator resends if this lasts
                log.warning("heartbeat failed: %s", str(exc).splitlines()[0])

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def process_batch(state: WorkerState, versions: Sequence[tuple[str, str]],
                  file_ids: Sequence[int]) -> int:
    """What a worker does with one message: the batch's files for each (classifier, model
    version); returns the number of (file, classifier) results stored. The files all the
    classifiers still owe are decoded once for all of them."""
    classifiers = []
    for name, version in versions:
        classifier = state.classifier(name)
        if classifier.model_version != version:
            raise RuntimeError(f"this worker has {name} {classifier.model_version}, the run "
                               f"wants {version}: install the same models everywhere")
        classifiers.append(classifier)
    claimed = {c.name: claim(state.db, c.name, file_ids, state.name, state.path_map)
               for c in classifiers}
    ids = sorted({f.id for files in claimed.values() for f in files})
    if not ids:
        return 0  # done by someone else already (a message delivered twice)
    with Heartbeat(state.db, list(claimed), ids, state.name):
        for outcome in _classify_claimed(state, classifiers, claimed):
            store_outcome(state.db, outcome)
    return sum(len(files) for files in claimed.values())


def _classify_claimed(state: WorkerState, classifiers: list[Classifier],
                      claimed: dict[str, list[MediaFile]]) -> list[BatchOutcome]:
    """Each classifier's outcome on the files it claimed; those every classifier claimed
    are decoded once for all (a crash or bug there: each classifier on its own, which
    finds the file that caused it)."""
    decoder = state.decoder
    runner = decoder.classify if decoder else None
    common = set.intersection(*({f.id for f in files} for files in claimed.values()))
    shared = [f for f in claimed[classifiers[0].name] if f.id in common]
    outcomes = {c.name: BatchOutcome(c.name, c.model_version) for c in classifiers}
    if len(classifiers) > 1 and shared:
        for outcome in classify_photos(classifiers, shared,
                                       decoder.classify_together if decoder else None, runner):
            outcomes[outcome.classifier] = outcome
    else:
        common = set()
    for classifier in classifiers:
        rest = [f for f in claimed[classifier.name] if f.id not in common]
        if rest:
            alone = classify_files(classifier, rest, runner)
            outcomes[classifier.name].results += alone.results
            outcomes[classifier.name].failures.update(alone.failures)
    return list(outcomes.values())


def run_batch_task(task, classifier: str, file_ids: list[int], model_version: str,
                    also: Sequence[Sequence[str]] = ()) -> int:
    """The message: the batch's first classifier and its model version, its files, and
    `also`: [classifier, model version] of more photo classifiers for the same files."""
    if _worker is None:
        raise RuntimeError("not a kenning worker process")
    versions = [(classifier, model_version), *((name, version) for name, version in also)]
    # A dropped connection: the pool reconnects on retry (claims skip what was stored).
    return _worker.db.retrying(process_batch, _worker, versions, file_ids, pause=1.0)


def warm_up(state: WorkerState) -> list[str]:
    """Load every enabled classifier's models and start the decoder: once per process."""
    from kenning.classifiers import REGISTRY

    ready: list[str] = []
    for name in state.settings.classifiers:
        if name not in REGISTRY:
            continue
        try:
            classifier = state.classifier(name)
        except NoModel:
            continue  # a plug-in without its model: batches for it are refused
        classifier.warm()
        ready.append(name)
    if state.decoder is not None:
        state.decoder.warm(ready)
    return ready


def run_worker(settings: Settings, path_map: Sequence[tuple[str, str]], on_ready=None) -> None:
    """One worker process: a solo-pool Celery worker (the caller runs one per core)."""
    state = start_worker_state(settings, path_map)
    ready = warm_up(state)
    if on_ready is not None:
        on_ready(ready)
    app = celery_app(settings.broker_url, settings.broker_queue)
    try:
        app.Worker(pool="solo", concurrency=1, queues=[settings.broker_queue], loglevel="WARNING",
                   hostname=f"kenning@{state.name}", without_gossip=True,
                   without_mingle=True, without_heartbeat=True, optimization="fair",
                   quiet=True).start()
    finally:
        if state.decoder is not None:
            state.decoder.close()
