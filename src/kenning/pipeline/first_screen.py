"""The timeline ready to show when indexing ends.

Every photo's 240 pixel thumbnail is made while it is decoded for the classifiers
(media/thumbnails.py). What that leaves is made here, after a run that found something
new, in the same memory- and time-limited children as the server's renders
(server/previews.py): the 480 pixel thumbnails of the timeline's first screen (a 2x
screen asks for those) and the 240 pixel one of each video (its poster frame), so that a
new library's first timeline shows every tile at once. A file that cannot be rendered
is remembered as such, as a render on the page would be."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import select

from kenning.classifiers.base import MediaFile
from kenning.db import Database, File
from kenning.media.confined import open_in_mount
from kenning.media.thumbnails import (
    THUMB_HEIGHTS,
    cache_key,
    drop_older_versions,
    thumbnail_path,
)

log = logging.getLogger("kenning.index")

FIRST_SCREEN = 40  # tiles: a laptop's screen and a phone's, with some scrolling
WAIT = 300.0  # seconds for all of them, at most (each render has its own 30 s limit)


def _target(cache_dir: Path, file: MediaFile, height: int) -> Path | None:
    """Where that thumbnail of the file's present version goes; None if it cannot be
    opened."""
    try:
        fd = open_in_mount(file.root, file.rel)
    except OSError:
        return None
    try:
        version = cache_key(file.root.path, file.rel, os.fstat(fd))
    finally:
        os.close(fd)
    return cache_dir / thumbnail_path(height, file.id, version)


def missing(cache_dir: Path, wanted: list[tuple[MediaFile, int]]
            ) -> list[tuple[MediaFile, int, Path]]:
    """Of (file, height), those with neither a thumbnail nor a failure remembered."""
    from kenning.server.previews import failure_of

    found = []
    for file, height in wanted:
        target = _target(cache_dir, file, height)
        if target is not None and not target.exists() and not failure_of(target).exists():
            found.append((file, height, target))
    return found


def wanted_thumbnails(db: Database, user_id: int, mount_id: int) -> list[tuple[MediaFile, int]]:
    """The first screen's files at 480 (and 240: a video's is not made while indexing),
    and each video of the mount at 240."""
    from kenning import catalog
    from kenning.pipeline.jobs import load_media_files

    first = [item["id"] for item in catalog.timeline(db, user_id, FIRST_SCREEN).items]
    with db.session() as session:
        videos = list(session.scalars(select(File.id).where(
            File.mount_id == mount_id, File.kind == "video")))
    files = {f.id: f for f in load_media_files(db, set(first) | set(videos))}
    wanted = [(files[i], height) for i in first if i in files for height in THUMB_HEIGHTS]
    wanted += [(files[i], THUMB_HEIGHTS[0]) for i in videos
               if i in files and i not in set(first)]
    return wanted


def make_first_screen(cache_dir: Path, db: Database, user_id: int, mount_id: int) -> int:
    """Render the thumbnails `wanted_thumbnails` names that are not made yet; how many
    were made."""
    from concurrent.futures import wait

    todo = missing(cache_dir, db.retrying(wanted_thumbnails, db, user_id, mount_id))
    if not todo:
        return 0
    from kenning.server.previews import PreviewMaker

    maker = PreviewMaker(children=min(2, os.cpu_count() or 1))
    try:
        futures = [maker.render_to(0, target, *maker.thumbnail_job(file.root, file.rel, height,
                                                                   file.kind.value))
                   for file, height, target in todo]
        wait(futures, timeout=WAIT)
    finally:
        maker.close()  # after the pool's thread has written what was rendered
    made = 0
    for _file, _height, target in todo:
        if target.exists():
            made += 1
            drop_older_versions(target)  # the file changed: its older renders go
    log.info("first screen: %d of %d thumbnails made", made, len(todo))
    return made
