"""Decoding in a child process, so that a file that crashes a native decoder (a fault in
libav, libheif, libjpeg...) costs that one file, not the batch or the worker.

A worker's classifiers `prepare` (decode) in one long-lived child; a batch goes over in
one call and its decoded inputs come back pickled. If the child dies, it is started
again and the batch is decoded one file at a time, so the file that kills it is found
and recorded as failed; the rest of the batch goes on to the models as usual.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from kenning.classifiers.base import Classifier, MediaFile, Prepared
from kenning.config import Settings

CRASHED = "the decoder crashed on this file (a fault in native decoding code); skipped"
# Test hook: the child kills itself with SIGSEGV while decoding a file whose name contains
# this text, which is how the tests make a real decoder crash happen on demand.
CRASH_HOOK = "KENNING_FAULT_CRASH_DECODING"

_classifiers: dict[str, Classifier] = {}


def _prepare_in_child(settings: Settings, name: str, files: Sequence[MediaFile]) -> Prepared:
    from kenning.classifiers import REGISTRY

    marker = os.environ.get(CRASH_HOOK)
    if marker and any(marker in f.path.name for f in files):
        os.kill(os.getpid(), signal.SIGSEGV)
    if name not in _classifiers:
        _classifiers[name] = REGISTRY[name](settings)
    return _classifiers[name].prepare(files)


class IsolatedDecoder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool: ProcessPoolExecutor | None = None

    def _run(self, name: str, files: Sequence[MediaFile]) -> Prepared:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool.submit(_prepare_in_child, self.settings, name, list(files)).result()

    def _restart(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __call__(self, classifier: Classifier, files: Sequence[MediaFile]) -> Prepared:
        try:
            return self._run(classifier.name, files)
        except BrokenProcessPool:
            self._restart()
        prepared = Prepared()
        for file in files:
            try:
                single = self._run(classifier.name, [file])
            except BrokenProcessPool:
                self._restart()
                prepared.failures[file.id] = CRASHED
                continue
            prepared.file_ids += single.file_ids
            prepared.inputs += single.inputs
            prepared.extras += single.extras
            prepared.failures.update(single.failures)
        return prepared

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
