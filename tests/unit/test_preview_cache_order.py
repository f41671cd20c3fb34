"""Past its budget the preview cache drops the renders looked at longest ago, not those
written first: the first screen's thumbnails, made first while indexing and looked at on
every visit, stay. Real files in a real cache folder."""

from __future__ import annotations

import os
import time

from kenning.server.previewcache import PreviewCache, relative_path, seen

DAY = 86400


def _render(cache_dir, file_id: int, written_days_ago: float):
    path = cache_dir / relative_path("thumbnails/240", file_id, "v1", "webp")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(10_000))
    when = time.time() - written_days_ago * DAY
    os.utime(path, (when, when))
    return path


def test_the_renders_looked_at_last_are_kept(tmp_path):
    renders = {file_id: _render(tmp_path, file_id, 30 - file_id) for file_id in range(1, 11)}
    etag_times = {i: p.stat().st_mtime_ns for i, p in renders.items()}
    for file_id in (1, 2, 3):  # the oldest renders, looked at now
        fd = os.open(renders[file_id], os.O_RDONLY)
        try:
            seen(fd)
        finally:
            os.close(fd)
    cache = PreviewCache(tmp_path, 60_000, lambda ids: set(ids))
    report = cache.prune()
    kept = {i for i, p in renders.items() if p.exists()}
    assert report["evicted"] == 5 and report["bytes"] <= 0.9 * 60_000
    assert kept == {1, 2, 3, 9, 10}  # looked at now, and the two written last
    assert all(renders[i].stat().st_mtime_ns == etag_times[i] for i in kept)  # same ETag


def test_a_look_is_written_at_most_once_a_day(tmp_path):
    path = _render(tmp_path, 1, 5)
    fd = os.open(path, os.O_RDONLY)
    try:
        seen(fd)
        first = os.stat(path).st_atime_ns
        assert time.time_ns() - first < 60 * 10**9
        os.utime(path, ns=(first - 10**9, os.stat(path).st_mtime_ns))  # a second earlier
        seen(fd)  # (within the day: not written again)
        assert os.stat(path).st_atime_ns == first - 10**9
    finally:
        os.close(fd)
