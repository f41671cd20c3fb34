"""The photo grid's thumbnails: how they are made, named and kept in the cache folder.

The web page asks for a file's thumbnail 240 (or, on a 2x screen, 480) pixels high. The
server renders one when it is first asked (server/previews.py); indexing makes the 240
pixel one already, from the photo it has just decoded for the classifiers (in the
decoding child when decoding is isolated), so a new library's timeline shows every tile
at once. Both write the same file: `thumbnails/<height>/<bucket>/<file id>-<version>.webp`,
the version a digest of the file's identity and modification (`cache_key`)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import threading
from pathlib import Path

from PIL import Image

log = logging.getLogger("kenning.thumbnails")

THUMB_HEIGHTS = (240, 480)  # a row of the photo grid, and the same on a 2x screen
THUMB_MAX_RATIO = 4  # a panorama's thumbnail is at most 4x as wide as high
INDEX_HEIGHT = 240  # made while indexing (480 costs 4x as much; see bench/thumbnail_cost.py)
BUCKETS = 256


def relative_path(kind: str, file_id: int, version: str, suffix: str) -> str:
    """Where a render of a file version lives in the cache folder."""
    return f"{kind}/{file_id % BUCKETS:02x}/{file_id}-{version[:40]}.{suffix}"


def thumbnail_path(height: int, file_id: int, version: str) -> str:
    return relative_path(f"thumbnails/{height}", file_id, version, "webp")


def cache_key(mount_path: str, rel: bytes, info: os.stat_result) -> str:
    """The version of a file's renders: its mount, path there, identity and change."""
    return hashlib.sha256(os.fsencode(mount_path) + b"\0" + rel + b"\0" +
                          f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"
                          .encode()).hexdigest()


def file_id_of(name: str) -> int | None:
    """The file id a cached render's name starts with."""
    head = name.split("-", 1)[0]
    return int(head) if head.isdigit() and "-" in name else None


def drop_older_versions(target: Path) -> int:
    """Remove the renders of the same file and kind other than `target`'s version (and
    why they failed); the bytes freed."""
    file_id = file_id_of(target.name)
    if file_id is None:
        return 0
    freed = 0
    for sibling in target.parent.glob(f"{file_id}-*"):
        if sibling.name.split(".", 1)[0] == target.name.split(".", 1)[0]:
            continue  # the same version (and why it failed, if it did)
        if sibling.name.endswith(".part"):
            continue  # being written
        with contextlib.suppress(OSError):
            freed += sibling.stat().st_size
            sibling.unlink()
    return freed


def write_atomically(target: Path, data: bytes) -> None:
    partial = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    partial.write_bytes(data)
    os.replace(partial, target)


def thumbnail_webp(image: Image.Image, height: int, method: int = 4) -> bytes:
    """A WebP of an upright image `height` pixels high at its own aspect ratio (at most
    THUMB_MAX_RATIO wide: a panorama keeps its middle); never enlarged."""
    if image.width > THUMB_MAX_RATIO * image.height:
        keep = THUMB_MAX_RATIO * image.height
        left = (image.width - keep) // 2
        image = image.crop((left, 0, left + keep, image.height))
    width = min(THUMB_MAX_RATIO * height,
                max(1, round(image.width * height / max(1, image.height))))
    if image.height > height:
        image = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS,
                                            reducing_gap=2.0)
    out = io.BytesIO()
    image.convert("RGB").save(out, "WEBP", quality=78, method=method)
    return out.getvalue()


class ThumbnailWriter:
    """Writes the grid's thumbnail of photos being indexed into the cache folder, unless
    that version of the file has one already. Nothing here can fail a file: a full or
    read-only cache costs the thumbnail only (the server makes it when it is seen)."""

    def __init__(self, cache_dir: Path, height: int = INDEX_HEIGHT) -> None:
        self.cache_dir, self.height = Path(cache_dir), height

    def write(self, file_id: int, mount_path: str, rel: bytes, fd: int, photo) -> bool:
        """`photo`: a classifiers.base.Photo of the file open at `fd` (file `file_id`,
        `rel` in the mount at `mount_path`). True if written."""
        try:
            target = self.cache_dir / thumbnail_path(
                self.height, file_id, cache_key(mount_path, rel, os.fstat(fd)))
            if target.exists():
                return False
            # The smallest halving the thumbnail can be made from (shared with the models).
            data = thumbnail_webp(photo.at_least(min_side=self.height), self.height, method=2)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, data)
            drop_older_versions(target)
            return True
        except (OSError, ValueError) as exc:
            log.debug("no thumbnail written: %s", exc)
            return False
