"""The cache of previews and thumbnails the web page shows, bounded.

A render is kept at `<kind>/<bucket>/<file id>-<version>.<suffix>`: the version is a
digest of the file's identity and modification (previews.cache_key), so a changed file is
rendered again, and when it is, the versions before it go at once (rewriting one photo
over and over used to grow the cache by gigabytes an hour). Renders of files that are no
longer in the library go at the server's start and every hour, and when the cache grows
past its budget (`preview_cache_mb`) the renders looked at longest ago go until it is
back under 90% of it (a render's access time is set when it is served, at most once a
day; its modification time, the ETag browsers hold, never changes).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from kenning.media.thumbnails import (  # noqa: F401 - relative_path is the cache's too
    drop_older_versions,
    file_id_of,
    relative_path,
)

log = logging.getLogger("kenning.server")

KINDS = ("previews", "thumbnails")
HOURLY = 3600.0
SEEN_EVERY_NS = 86400 * 10**9  # a render's last look is written at most once a day


def seen(fd: int) -> None:
    """A cached render (open at `fd`) is being served: its access time says so, for
    pruning to keep what people look at (the first screen, rendered first, is looked at
    most). Set by hand, as no mount option (noatime) stops that; at most once a day."""
    with contextlib.suppress(OSError):
        info = os.fstat(fd)
        now = time.time_ns()
        if now - info.st_atime_ns > SEEN_EVERY_NS:
            os.utime(fd, ns=(now, info.st_mtime_ns))


class PreviewCache:
    def __init__(self, cache_dir: Path, budget_bytes: int,
                 known_files: Callable[[Iterable[int]], set[int]]) -> None:
        """`known_files(ids)`: those of the ids still in the library."""
        self.cache_dir, self.budget = Path(cache_dir), max(1, budget_bytes)
        self.known_files = known_files
        self._lock = threading.Lock()
        self._total: int | None = None  # bytes, once counted
        self._pruning = False
        self._next_sweep = 0.0

    def written(self, target: Path) -> None:
        """A render was just written at `target`: earlier versions of that file's render
        go, and the cache is pruned when past its budget (in a thread of its own)."""
        try:
            size = target.stat().st_size
        except OSError:
            return
        freed = drop_older_versions(target)
        with self._lock:
            if self._total is not None:
                self._total += size - freed
            due = (self._total is None or self._total > self.budget
                   or time.monotonic() >= self._next_sweep)
        if due:
            self.prune_soon()

    def prune_soon(self) -> None:
        with self._lock:
            if self._pruning:
                return
            self._pruning = True
        threading.Thread(target=self._prune_quietly, name="kenning-cache-prune",
                         daemon=True).start()

    def _prune_quietly(self) -> None:
        try:
            self.prune()
        except Exception:  # noqa: BLE001 - a cache that cannot be pruned is not fatal
            log.exception("pruning the preview cache failed")
        finally:
            with self._lock:
                self._pruning = False

    def prune(self) -> dict:
        """Drop renders of files gone from the library and of versions older than
        another of the same file; then, past the budget, the oldest. Returns counts."""
        entries = []  # (mtime, size, path, file id, last looked at or written)
        for kind in KINDS:
            base = self.cache_dir / kind
            for path in base.rglob("*") if base.is_dir() else ():
                if not path.is_file() or path.name.endswith(".part"):
                    continue
                try:
                    info = path.stat()
                except OSError:
                    continue
                entries.append((info.st_mtime, info.st_size, path, file_id_of(path.name),
                                max(info.st_atime, info.st_mtime)))
        ids = {e[3] for e in entries if e[3] is not None}
        known = self.known_files(ids) if ids else set()
        gone = [e for e in entries if e[3] is None or e[3] not in known]
        kept = [e for e in entries if e[3] is not None and e[3] in known]
        newest: dict[tuple[Path, int], float] = {}
        for mtime, _size, path, file_id, _seen in kept:
            key = (path.parent, file_id)
            newest[key] = max(newest.get(key, 0.0), mtime)
        stale = [e for e in kept if e[0] < newest[(e[2].parent, e[3])]]
        for entry in gone + stale:
            with contextlib.suppress(OSError):
                entry[2].unlink()
        kept = [e for e in kept if e not in stale]
        total = sum(e[1] for e in kept)
        evicted = 0
        if total > self.budget:
            for _mtime, size, path, _file, _seen in sorted(kept, key=lambda e: e[4]):
                if total <= 0.9 * self.budget:
                    break
                with contextlib.suppress(OSError):
                    path.unlink()
                    total -= size
                    evicted += 1
        with self._lock:
            self._total = total
            self._next_sweep = time.monotonic() + HOURLY
        return {"gone": len(gone), "older_versions": len(stale), "evicted": evicted,
                "bytes": total}
