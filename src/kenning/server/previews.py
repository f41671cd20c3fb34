"""Previews and thumbnails for the web page, decoded in child processes that cannot take
the server down, nor hold up other users.

A photo is decoded where a hostile file can do no harm: in child processes, each with a
memory limit (RLIMIT_AS), shared fairly between users, each render with a time limit of
its own (server/renderpool.py). The decoders' own budget (media/images.py) refuses
decompression bombs and endless progressive scans from their headers before a pixel is
decoded; the limits here are for what no header check can foresee (a decoder bug, a
hang). A child that dies or hangs is replaced, that photo simply has no preview, and
why is kept beside where the preview would be, so it is not tried again until the file
changes (or, after a timeout or a crash, for an hour)."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

from kenning import catalog
from kenning.media import thumbnails
from kenning.media.confined import MountRoot
from kenning.media.thumbnails import (  # noqa: F401 - the pages' sizes
    THUMB_HEIGHTS,
    THUMB_MAX_RATIO,
    thumbnail_webp,
    write_atomically,
)
from kenning.server.previewcache import PreviewCache
from kenning.server.renderpool import RenderFailed, RenderPool  # noqa: F401 - RenderFailed is ours too

PREVIEW_SIZE = 1600
CHILDREN = 2
CHILD_MEMORY = 1536 << 20  # address space of a preview child
SECONDS = 30  # of decoding and rendering, not of waiting for a child
log = logging.getLogger("kenning.server")


@contextmanager
def _opened(path: str, pin: tuple[int, int] | None, rel: bytes):
    """(In a child.) A path to read the file by (through a descriptor opened inside its
    mount); MediaError when it is gone, or too large to decode."""
    from kenning.media.confined import fd_path, open_in_mount
    from kenning.media.images import MediaError

    try:
        fd = open_in_mount(MountRoot(path, pin), rel)
    except OSError as exc:
        raise MediaError("the file is no longer in its folder") from exc
    try:
        yield fd_path(fd)
    except MemoryError as exc:
        raise MediaError("image too large to decode (out of memory)") from exc
    finally:
        os.close(fd)


def render(path: str, pin: tuple[int, int] | None, rel: bytes, size: int) -> bytes:
    """(In a child.) A JPEG of the photo, its long side at most `size`, upright."""
    from kenning.media.images import open_image

    with _opened(path, pin, rel) as readable:
        image, _shown = open_image(readable, min_long_side=size)
        image.thumbnail((size, size))
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=85)
        return out.getvalue()


def render_thumbnail(path: str, pin: tuple[int, int] | None, rel: bytes, height: int,
                     kind: str) -> bytes:
    """(In a child.) A WebP of the photo (or the video's poster frame) `height` pixels
    high, at its own aspect ratio (at most THUMB_MAX_RATIO wide), upright."""
    from kenning.media.images import open_image
    from kenning.media.video import poster_frame

    with _opened(path, pin, rel) as readable:
        if kind == "video":
            image = poster_frame(readable)
        else:
            image, _shown = open_image(readable, min_side=height)
        return thumbnail_webp(image, height)


DRAW_LONGEST = 2048  # a drawn face is looked for in the photo at this size, at least
_faces = None  # (in a child) the faces classifier, loaded at the first drawn face


def find_drawn_face(path: str, pin: tuple[int, int] | None, rel: bytes,
                    fractions: tuple[float, float, float, float], embedder: str,
                    cache_dir: str, file_id: int) -> dict:
    """(In a child.) The face in a box a person drew on the photo (faces/drawn.py), as
    the fields of a Face row."""
    global _faces  # noqa: PLW0603 - one model per child, loaded once
    from dataclasses import asdict
    from pathlib import Path

    from kenning.classifiers.faces import FacesClassifier
    from kenning.faces.drawn import drawn_face
    from kenning.faces.marks import DRAWN
    from kenning.media.images import open_image

    if _faces is None or _faces.embedder_spec.name != embedder:
        _faces = FacesClassifier(embedder=embedder, thumbnails=Path(cache_dir))
    with _opened(path, pin, rel) as readable:
        image, shown = open_image(readable, min_long_side=DRAW_LONGEST)
        found = drawn_face(_faces, image, shown, fractions, file_id)
        return asdict(found) | {"model_version": DRAWN + _faces.model_version}


class PreviewMaker:
    """Renders in child processes, fairly between users (server/renderpool.py); what a
    render makes, or why it failed, is kept in the cache folder for that version of the
    file, so a file that failed is not decoded again until it changes."""

    def __init__(self, children: int = CHILDREN, memory: int = CHILD_MEMORY,
                 seconds: float = SECONDS, most: int = CHILDREN + 2,
                 cache: PreviewCache | None = None) -> None:
        self.pool = RenderPool(children, most, seconds, memory)
        self.cache = cache

    def render_to(self, user: int, target: Path, function, args: tuple) -> Future:
        """A future that is done once `function(*args)` (a render: image bytes) was
        made in a child and written to `target`; RenderFailed (also written beside the
        target: `failure_of`) if it could not be made. The same target asked for again
        meanwhile shares the render."""
        return self.pool.submit(user, str(target), function, args,
                                on_done=lambda done: _keep(done, target, self.cache))

    def thumbnail_job(self, root: MountRoot, rel: bytes, height: int, kind: str):
        return render_thumbnail, (root.path, root.pin, rel, height, kind)

    def preview_job(self, root: MountRoot, rel: bytes, size: int = PREVIEW_SIZE):
        return render, (root.path, root.pin, rel, size)

    def drawn_face(self, user: int, root: MountRoot, rel: bytes, fractions, embedder: str,
                   cache_dir, file_id: int) -> dict:
        """The face in a box drawn on the photo (find_drawn_face), waited for here;
        catalog.NotFound with the reason when it cannot be found."""
        try:
            return self.pool.run(user, None, find_drawn_face, (
                root.path, root.pin, rel, tuple(fractions), embedder, str(cache_dir),
                file_id))
        except RenderFailed as exc:
            raise catalog.NotFound(f"no face: {exc}") from exc

    def close(self) -> None:
        self.pool.close()


FAILED_SUFFIX = ".failed"
RETRY_AFTER = 3600.0  # a render that timed out or crashed is tried again after this


def failure_of(target: Path) -> Path:
    return target.with_name(target.name + FAILED_SUFFIX)


def remembered_failure(target: Path) -> str | None:
    """Why the render of this file version failed, if it did (and is still believed)."""
    marker = failure_of(target)
    try:
        info = marker.stat()
        text = marker.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    lasting, _, reason = text.partition("\n")
    if lasting != "lasting" and time.time() - info.st_mtime > RETRY_AFTER:
        return None
    return reason or "it could not be decoded"


def _keep(done: Future, target: Path, cache: PreviewCache | None = None) -> None:
    """(In the render pool's thread.) Write what a render made, or why it failed (and
    tell the cache, which drops the file's older versions)."""
    if done.cancelled():
        return
    error = done.exception()
    if isinstance(error, RenderFailed) and "stopping" in str(error):
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if error is None:
            write_atomically(target, done.result())
            with contextlib.suppress(FileNotFoundError):
                failure_of(target).unlink()
        else:
            lasting = getattr(error, "lasting", True)
            write_atomically(failure_of(target), (
                f"{'lasting' if lasting else 'passing'}\n{error}").encode())
    except OSError as exc:
        log.warning("cannot write to the cache: %s", exc)
        return
    if cache is not None:
        cache.written(target if error is None else failure_of(target))


def cache_key(root: MountRoot, rel: bytes, fd: int) -> str:
    return thumbnails.cache_key(root.path, rel, os.fstat(fd))
