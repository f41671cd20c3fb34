"""Executors run batches. LocalExecutor: a pool of threads in this process (the default).

A batch is classified (`classify_batch`) and its outcome stored (`store_outcome`); a
Celery executor sends the same `Batch` to `kenning worker` processes instead.
Interrupting a run never loses work: each batch's results are stored in one
transaction, and whatever was not stored is still pending in the database for the next
run.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Protocol

from kenning.classifiers.base import BatchOutcome, Classifier
from kenning.config import Settings
from kenning.db import Database
from kenning.pipeline.isolation import IsolatedDecoder
from kenning.pipeline.jobs import (
    Batch,
    classify_files,
    classify_photos,
    load_media_files,
    store_outcome,
)

OnOutcome = Callable[[Batch, BatchOutcome], None]


class Executor(Protocol):
    workers: int  # batches that run at once (the batches are cut so that they end together)
    stopping: threading.Event  # set by `stop`

    def warm(self, names: Sequence[str]) -> None:
        """Have these classifiers' models loaded before the run's clock starts."""

    def run(self, batches: Sequence[Batch], on_outcome: OnOutcome) -> None: ...

    def stop(self) -> None:
        """(From another thread.) Start no more batches: `run` returns soon, what was not
        done stays pending."""

    def close(self) -> None:
        """Let go of what the runs needed (child processes)."""


class LocalExecutor:
    """Runs batches on `workers` threads. Decoding (Pillow) and inference (ONNX Runtime)
    release the GIL, so threads use all cores; each model runs on one thread per batch."""


    def __init__(self, db: Database, classifiers: dict[str, Classifier], workers: int = 2,
                 settings: Settings | None = None):
        """`settings` with `isolate_decoding`: each thread decodes in a child process of
        its own, within `decode_timeout` (pipeline/isolation.py), as workers do."""
        self.db = db
        self.classifiers = classifiers
        self.workers = max(1, workers)
        self._store_lock = threading.Lock()
        self._isolating = settings if settings is not None and settings.isolate_decoding \
            else None
        self._decoders: list[IsolatedDecoder] = []
        self._idle: queue.SimpleQueue[IsolatedDecoder] = queue.SimpleQueue()
        self.stopping = threading.Event()

    def warm(self, names: Sequence[str]) -> None:
        """Models loaded, and (isolating) a decoding child per thread started meanwhile,
        each with these classifiers made."""
        if self._isolating is not None:
            while len(self._decoders) < self.workers:
                decoder = IsolatedDecoder(self._isolating)
                self._decoders.append(decoder)
                self._idle.put(decoder)
            for decoder in self._decoders:
                decoder.begin_warm(names)
        for name in names:
            self.classifiers[name].warm()
        for decoder in self._decoders:
            decoder.end_warm()

    @contextmanager
    def _decoder(self) -> Iterator[IsolatedDecoder | None]:
        """A decoding child for one batch, if decoding is isolated."""
        if self._isolating is None:
            yield None
            return
        try:
            decoder = self._idle.get_nowait()
        except queue.Empty:  # run() without warm()
            decoder = IsolatedDecoder(self._isolating)
            self._decoders.append(decoder)
        try:
            yield decoder
        finally:
            self._idle.put(decoder)

    def _run_one(self, batch: Batch) -> list[BatchOutcome]:
        files = load_media_files(self.db, batch.file_ids)
        with self._decoder() as decoder:
            runner = decoder.classify if decoder else None
            if batch.also:  # photos decoded once for several classifiers
                outcomes = classify_photos(
                    [self.classifiers[n] for n in batch.classifiers], files,
                    decoder.classify_together if decoder else None, runner)
            else:
                outcomes = [classify_files(self.classifiers[batch.classifier], files, runner)]
        with self._store_lock:  # one writer at a time: SQLite would refuse the second
            for outcome in outcomes:
                store_outcome(self.db, outcome)
        return outcomes

    def run(self, batches: Sequence[Batch], on_outcome: OnOutcome) -> None:
        waiting = list(reversed(batches))
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="kenning-worker")
        running: dict[Future, Batch] = {}
        try:
            while (waiting and not self.stopping.is_set()) or running:
                while waiting and len(running) < self.workers * 2 \
                        and not self.stopping.is_set():  # bounded read-ahead
                    batch = waiting.pop()
                    running[pool.submit(self._run_one, batch)] = batch
                finished, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    batch = running.pop(future)
                    for outcome in future.result():
                        on_outcome(batch.only(outcome.classifier), outcome)
                if self.stopping.is_set():  # those not started yet stay pending
                    for future in [f for f in running if f.cancel()]:
                        del running[future]
        finally:
            # On Ctrl-C: batches already running finish and are stored; the rest stay pending.
            pool.shutdown(wait=True, cancel_futures=True)

    def stop(self) -> None:
        """Start no more batches (those running finish and are stored); `run` returns."""
        self.stopping.set()

    def close(self) -> None:
        """Stop the decoding children (a new run starts its own)."""
        decoders, self._decoders = self._decoders, []
        self._idle = queue.SimpleQueue()
        for decoder in decoders:
            decoder.close()
