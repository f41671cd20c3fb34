"""Previews for the web page, decoded in child processes that cannot take the server down.

A photo is decoded where a hostile file can do no harm: in a small pool of child
processes, each with a memory limit (RLIMIT_AS), at most a few at a time, each preview
with a time limit. The decoders' own budget (media/images.py) refuses decompression
bombs from their headers before a pixel is decoded; the limits here are for what no
header check can foresee (a decoder bug, a hang). A child that dies or hangs is
replaced, and that photo simply has no preview.
"""

from __future__ import annotations

import hashlib
import io
import logging
import multiprocessing
import os
import resource
import threading
from contextlib import contextmanager

from PIL import Image

from kenning import catalog
from kenning.media.confined import MountRoot

PREVIEW_SIZE = 1600
CHILDREN = 2
CHILD_MEMORY = 1536 << 20  # address space of a preview child
SECONDS = 60
log = logging.getLogger("kenning.server")


def _limit_memory(limit: int) -> None:
    os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


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


THUMB_HEIGHTS = (240, 480)  # a row of the photo grid, and the same on a 2x screen
THUMB_MAX_RATIO = 4  # a panorama's thumbnail is at most 4x as wide as high


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
        if image.width > THUMB_MAX_RATIO * image.height:  # a panorama: its middle
            keep = THUMB_MAX_RATIO * image.height
            left = (image.width - keep) // 2
            image = image.crop((left, 0, left + keep, image.height))
        width = min(THUMB_MAX_RATIO * height,
                    max(1, round(image.width * height / max(1, image.height))))
        if image.height > height:
            image = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS,
                                                reducing_gap=2.0)
        out = io.BytesIO()
        image.convert("RGB").save(out, "WEBP", quality=78, method=4)
        return out.getvalue()


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
    from kenning.faces.drawn import DRAWN, drawn_face
    from kenning.media.images import open_image

    if _faces is None or _faces.embedder_spec.name != embedder:
        _faces = FacesClassifier(embedder=embedder, thumbnails=Path(cache_dir))
    with _opened(path, pin, rel) as readable:
        image, shown = open_image(readable, min_long_side=DRAW_LONGEST)
        found = drawn_face(_faces, image, shown, fractions, file_id)
        return asdict(found) | {"model_version": DRAWN + _faces.model_version}


class PreviewMaker:
    def __init__(self, children: int = CHILDREN, memory: int = CHILD_MEMORY,
                 seconds: float = SECONDS) -> None:
        self.children, self.memory, self.seconds = children, memory, seconds
        self._pool = None
        self._lock = threading.Lock()

    def _get_pool(self):
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                self._pool = context.Pool(self.children, initializer=_limit_memory,
                                          initargs=(self.memory,))
            return self._pool

    def _replace_pool(self, broken) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.terminate()

    def make(self, root: MountRoot, rel: bytes, size: int = PREVIEW_SIZE) -> bytes:
        """The preview's JPEG bytes. Raises catalog.NotFound with the reason when there
        is none (not decodable, too large, the child died or took too long)."""
        return self._run(render, (root.path, root.pin, rel, size))

    def thumbnail(self, root: MountRoot, rel: bytes, height: int, kind: str) -> bytes:
        """A WebP thumbnail's bytes (render_thumbnail); catalog.NotFound as make()."""
        return self._run(render_thumbnail, (root.path, root.pin, rel, height, kind))

    def drawn_face(self, root: MountRoot, rel: bytes, fractions, embedder: str,
                   cache_dir, file_id: int) -> dict:
        """The face in a box drawn on the photo (find_drawn_face); catalog.NotFound as
        make()."""
        return self._run(find_drawn_face, (root.path, root.pin, rel, tuple(fractions),
                                           embedder, str(cache_dir), file_id))

    def _run(self, function, args: tuple):
        from kenning.media.images import MediaError

        pool = self._get_pool()
        pending = pool.apply_async(function, args)
        try:
            return pending.get(self.seconds)
        except multiprocessing.TimeoutError as exc:
            log.warning("a preview took more than %s s (or its decoder died): skipped",
                        self.seconds)
            self._replace_pool(pool)
            raise catalog.NotFound("no preview: the photo could not be decoded in time"
                                   ) from exc
        except MediaError as exc:
            raise catalog.NotFound(f"no preview: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - a decoder's error is the photo's problem
            raise catalog.NotFound(f"no preview: {type(exc).__name__}") from exc

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()


def cache_key(root: MountRoot, rel: bytes, fd: int) -> str:
    info = os.fstat(fd)
    return hashlib.sha256(os.fsencode(root.path) + b"\0" + rel + b"\0" +
                          f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"
                          .encode()).hexdigest()
