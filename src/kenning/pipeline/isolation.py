"""Decoding in a child process, so that a file that crashes a native decoder (a fault in
libav, libheif, libjpeg...) or makes it take too long costs that one file, not the batch,
the run or the worker: `kenning index`, `serve`'s processing and `kenning worker` all
decode so (unless `isolate_decoding = false`).

A worker's classifiers `prepare` (decode) in one long-lived child, a part of a batch at a
time, and the decoded inputs come back pickled; while the worker's models run on one
part, the child decodes the next. A batch for several photo classifiers is decoded once
for all of them (classifiers.base.prepare_together). If the child dies, it is started
again and that part is decoded one file at a time, so the file that kills it is found
and recorded as failed; the rest of the batch goes on to the models as usual. A part not
decoded within its time limit (`decode_timeout` seconds a photo, counted from when the
child is ready for it, so that a child's start on a busy machine costs no file its time)
is handled the same way: the child is stopped, and the file that
takes too long fails alone.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Sequence

from kenning.classifiers.base import (
    BatchOutcome,
    Classifier,
    MediaFile,
    Prepared,
    prepare_together,
)
from kenning.config import Settings

PART = 4  # files decoded ahead while the models work
CRASHED = "the decoder crashed on this file (a fault in native decoding code); skipped"
# Test hook: the child kills itself with SIGSEGV while decoding a file whose name contains
# this text, which is how the tests make a real decoder crash happen on demand.
CRASH_HOOK = "KENNING_FAULT_CRASH_DECODING"

_classifiers: dict[str, Classifier] = {}


def _prepare(settings: Settings, names: Sequence[str], files: Sequence[MediaFile]
             ) -> list[Prepared]:
    """Each classifier's prepared input: one decode per photo for several of them."""

    marker = os.environ.get(CRASH_HOOK)
    if marker and any(marker in f.path.name for f in files):
        os.kill(os.getpid(), signal.SIGSEGV)
    _make(settings, names)
    if len(names) > 1 and files:  # photo classifiers sharing a batch
        return prepare_together([_classifiers[name] for name in names], files)
    return [_classifiers[name].prepare_confined(files) for name in names]


def _make(settings: Settings, names: Sequence[str]) -> None:
    """The classifiers these names need, made once in this child."""
    from kenning.classifiers import REGISTRY

    for name in names:
        if name not in _classifiers:
            _classifiers[name] = REGISTRY[name](settings)


def _serve(connection, settings: Settings) -> None:
    """The child: decode what it is sent until the pipe closes."""
    from kenning.orphans import die_with_parent

    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when to stop
    while True:
        try:
            names, files = connection.recv()
        except (EOFError, OSError):
            return
        try:
            _make(settings, names)  # (a new child's imports and set-up: not a file's time)
            connection.send(READY)
            prepared = _prepare(settings, names, []) if not files else None
            for file in files:  # one at a time, each reported: its time limit is its own
                prepared = _merged(prepared, _prepare(settings, names, [file]))
                connection.send(STEP)
        except Exception as exc:  # noqa: BLE001 - a bug, reported to the worker, not a crash
            connection.send(RuntimeError(f"decoding failed: {type(exc).__name__}: {exc}"))
            continue
        connection.send(prepared)


STEP = "step"  # (child to parent) one more file decoded
READY = "ready"  # (child to parent) set up for what was sent: its first file starts now
# How long a child may take to be ready (Python, the decoders and the classifiers loaded:
# seconds, more on a small or busy machine); past it the child is stopped.
READY_SECONDS = 300.0


def _merged(into: list[Prepared] | None, more: list[Prepared]) -> list[Prepared]:
    """Each classifier's prepared inputs of several files, in order."""
    if into is None:
        return more
    for mine, single in zip(into, more, strict=True):
        mine.file_ids += single.file_ids
        mine.inputs += single.inputs
        mine.extras += single.extras
        mine.failures.update(single.failures)
    return into


class DecoderCrashed(Exception):
    pass


class DecodeTimeout(DecoderCrashed):
    """The child took longer than the files' time limit (it was stopped)."""


class DecodingStopped(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """The decoder was closed while a batch used it (the server is stopping): the batch
    ends without results, its files stay pending. A BaseException, so that no handler
    of errors takes it for the files' fault."""


# A child gets this long per file to decode (`decode_timeout` seconds for a photo; a song
# or a video, read in full for its sound or keyframes, ten times that).
LONGER_KINDS = {"audio": 10, "video": 10}


def time_limit(files: Sequence[MediaFile], photo_seconds: float) -> float:
    return sum(photo_seconds * LONGER_KINDS.get(str(f.kind), 1) for f in files) or photo_seconds


def timed_out(file: MediaFile, photo_seconds: float) -> str:
    return (f"decoding took more than {time_limit([file], photo_seconds):g} s "
            "(decode_timeout): skipped")


class IsolatedDecoder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._child = None
        self._connection = None
        self._deadline = 0.0
        self._sent: list[MediaFile] = []  # what the child has still to decode
        self._closed = False

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, theirs = context.Pipe()
        self._child = context.Process(target=_serve, args=(theirs, self.settings),
                                      name="kenning-decoder", daemon=True)
        self._child.start()
        theirs.close()

    def _send(self, names: Sequence[str], files: Sequence[MediaFile]) -> None:
        if self._closed:
            raise DecodingStopped
        if self._child is None or not self._child.is_alive():
            self._start()
        try:
            self._connection.send((tuple(names), list(files)))
        except OSError as exc:
            self._stop()
            if self._closed:
                raise DecodingStopped from exc
            raise DecoderCrashed from exc
        self._sent = list(files)
        self._deadline = time.monotonic() + READY_SECONDS  # (until the child is ready)

    def _receive(self) -> list[Prepared]:
        """The child's answer to what was sent last; DecodeTimeout (the child stopped)
        when a file is not decoded within its time limit, counted from when the child
        could start on it (ready for what was sent, or the file before it done): a child
        that starts slowly (a busy machine) costs no file its time."""
        try:
            while True:
                if not self._connection.poll(max(0.0, self._deadline - time.monotonic())):
                    self._stop(kill=True)
                    raise DecodeTimeout
                answer = self._connection.recv()
                if not (isinstance(answer, str) and answer in (STEP, READY)):
                    break
                if answer == STEP:
                    self._sent = self._sent[1:]
                self._deadline = time.monotonic() + time_limit(self._sent[:1],
                                                               self.settings.decode_timeout)
        except (EOFError, OSError) as exc:
            self._stop()
            if self._closed:
                raise DecodingStopped from exc
            raise DecoderCrashed from exc
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _run(self, names: Sequence[str], files: Sequence[MediaFile]) -> list[Prepared]:
        self._send(names, files)
        return self._receive()

    def _stop(self, kill: bool = False) -> None:
        """End the child: at once (`kill`), else once it has read that its pipe closed."""
        child, connection = self._child, self._connection
        self._child = self._connection = None
        if child is not None and kill:
            child.kill()
        if connection is not None:
            connection.close()
        if child is not None:
            child.join(0 if kill else 5)
            if child.is_alive():
                child.kill()
                child.join(1)

    def warm(self, names: Sequence[str]) -> None:
        """Start the child and make its classifiers before the first batch."""
        self._run(names, [])

    def begin_warm(self, names: Sequence[str]) -> None:
        """`warm`, in two halves: several children start at once, while the caller loads
        its models."""
        self._send(names, [])

    def end_warm(self) -> None:
        with contextlib.suppress(DecoderCrashed):  # started again by the first batch
            self._receive()

    def _one_by_one(self, names: Sequence[str], files: Sequence[MediaFile]) -> list[Prepared]:
        """After a crash: decode alone each file, to find the one that crashes."""
        prepared = [Prepared() for _ in names]
        for file in files:
            try:
                singles = self._run(names, [file])
            except DecoderCrashed as exc:
                reason = (timed_out(file, self.settings.decode_timeout)
                          if isinstance(exc, DecodeTimeout) else CRASHED)
                for mine in prepared:
                    mine.failures[file.id] = reason
                continue
            prepared = _merged(prepared, singles)
        return prepared

    def classify(self, classifier: Classifier, files: Sequence[MediaFile]) -> BatchOutcome:
        return self.classify_together([classifier], files)[0]

    def classify_together(self, classifiers: Sequence[Classifier], files: Sequence[MediaFile]
                          ) -> list[BatchOutcome]:
        """Decode in the child (once for all these classifiers) and run the models here,
        overlapped: while the models work on one part of the batch, the child decodes the
        next. One outcome per classifier."""
        names = [c.name for c in classifiers]
        parts = [files[i:i + PART] for i in range(0, len(files), PART)]
        outcomes = [BatchOutcome(c.name, c.model_version) for c in classifiers]
        if not parts:
            return outcomes
        self._send(names, parts[0])
        for k, part in enumerate(parts):
            try:
                prepared = self._receive()
            except DecoderCrashed:
                prepared = self._one_by_one(names, part)
            in_flight = k + 1 < len(parts)
            if in_flight:
                self._send(names, parts[k + 1])
            try:
                done = [c.classify_prepared(p)
                        for c, p in zip(classifiers, prepared, strict=True)]
            except Exception:
                if in_flight:  # a model bug: drop the part being decoded, keep in step
                    self._stop()
                raise
            for outcome, mine in zip(outcomes, done, strict=True):
                outcome.results += mine.results
                outcome.failures.update(mine.failures)
        return outcomes

    def close(self) -> None:
        """Stop the child now, even from another thread while a batch uses it (which then
        ends with DecodingStopped); this decoder decodes no more."""
        self._closed = True
        child = self._child
        if child is not None and child.is_alive():
            child.kill()  # a thread waiting on it reads the end of its pipe at once
            child.join(1)
