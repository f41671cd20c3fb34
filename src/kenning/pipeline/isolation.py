"""Decoding in a child process, so that a file that crashes a native decoder (a fault in
libav, libheif, libjpeg...) costs that one file, not the batch or the worker.

A worker's classifiers `prepare` (decode) in one long-lived child, a part of a batch at a
time, and the decoded inputs come back pickled; while the worker's models run on one
part, the child decodes the next. If the child dies, it is started again and that part
is decoded one file at a time, so the file that kills it is found and recorded as
failed; the rest of the batch goes on to the models as usual.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Sequence

from kenning.classifiers.base import BatchOutcome, Classifier, MediaFile, Prepared
from kenning.config import Settings

PART = 4  # files decoded ahead while the models work
CRASHED = "the decoder crashed on this file (a fault in native decoding code); skipped"
# Test hook: the child kills itself with SIGSEGV while decoding a file whose name contains
# this text, which is how the tests make a real decoder crash happen on demand.
CRASH_HOOK = "KENNING_FAULT_CRASH_DECODING"

_classifiers: dict[str, Classifier] = {}


def _prepare(settings: Settings, name: str, files: Sequence[MediaFile]) -> Prepared:
    from kenning.classifiers import REGISTRY

    marker = os.environ.get(CRASH_HOOK)
    if marker and any(marker in f.path.name for f in files):
        os.kill(os.getpid(), signal.SIGSEGV)
    if name not in _classifiers:
        _classifiers[name] = REGISTRY[name](settings)
    return _classifiers[name].prepare_confined(files)


def _serve(connection, settings: Settings) -> None:
    """The child: decode what it is sent until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when to stop
    while True:
        try:
            name, files = connection.recv()
        except (EOFError, OSError):
            return
        try:
            prepared = _prepare(settings, name, files)
        except Exception as exc:  # noqa: BLE001 - a bug, reported to the worker, not a crash
            connection.send(RuntimeError(f"decoding failed: {type(exc).__name__}: {exc}"))
            continue
        connection.send(prepared)


class DecoderCrashed(Exception):
    pass


class IsolatedDecoder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._child = None
        self._connection = None

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, theirs = context.Pipe()
        self._child = context.Process(target=_serve, args=(theirs, self.settings),
                                      name="kenning-decoder", daemon=True)
        self._child.start()
        theirs.close()

    def _send(self, name: str, files: Sequence[MediaFile]) -> None:
        if self._child is None or not self._child.is_alive():
            self._start()
        try:
            self._connection.send((name, list(files)))
        except OSError as exc:
            self._stop()
            raise DecoderCrashed from exc

    def _receive(self) -> Prepared:
        try:
            answer = self._connection.recv()
        except (EOFError, OSError) as exc:
            self._stop()
            raise DecoderCrashed from exc
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _run(self, name: str, files: Sequence[MediaFile]) -> Prepared:
        self._send(name, files)
        return self._receive()

    def _stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._child is not None:
            self._child.join(5)
            if self._child.is_alive():
                self._child.kill()
        self._child = self._connection = None

    def warm(self, names: Sequence[str]) -> None:
        """Start the child and make its classifiers before the first batch."""
        for name in names:
            self._run(name, [])

    def _one_by_one(self, name: str, files: Sequence[MediaFile]) -> Prepared:
        """After a crash: decode alone each file, to find the one that crashes."""
        prepared = Prepared()
        for file in files:
            try:
                single = self._run(name, [file])
            except DecoderCrashed:
                prepared.failures[file.id] = CRASHED
                continue
            prepared.file_ids += single.file_ids
            prepared.inputs += single.inputs
            prepared.extras += single.extras
            prepared.failures.update(single.failures)
        return prepared

    def classify(self, classifier: Classifier, files: Sequence[MediaFile]) -> BatchOutcome:
        """Decode in the child and run the models here, overlapped: while the models work
        on one part of the batch, the child decodes the next."""
        parts = [files[i:i + PART] for i in range(0, len(files), PART)]
        outcome = BatchOutcome(classifier.name, classifier.model_version)
        if not parts:
            return outcome
        self._send(classifier.name, parts[0])
        for k, part in enumerate(parts):
            try:
                prepared = self._receive()
            except DecoderCrashed:
                prepared = self._one_by_one(classifier.name, part)
            in_flight = k + 1 < len(parts)
            if in_flight:
                self._send(classifier.name, parts[k + 1])
            try:
                done = classifier.classify_prepared(prepared)
            except Exception:
                if in_flight:  # a model bug: drop the part being decoded, keep in step
                    self._stop()
                raise
            outcome.results += done.results
            outcome.failures.update(done.failures)
        return outcome

    def close(self) -> None:
        self._stop()
