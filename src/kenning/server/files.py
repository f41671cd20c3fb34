"""Serving a user's files: originals, previews and face thumbnails, each from a
descriptor opened once inside its folder (media/confined.py), never by a path checked
earlier and opened later.

An original is sent with the media type its own bytes show, only from an allow-list of
photo, video and audio types; anything else is a download. Every file response says
`nosniff` and carries a CSP sandbox, so a file can never run as a page of this site.
"""

from __future__ import annotations

import contextlib
import os
from contextlib import asynccontextmanager
from urllib.parse import quote

import anyio
from fastapi.responses import FileResponse
from sqlalchemy import select

from kenning import catalog
from kenning.db import Database, File, Mount
from kenning.media.confined import (
    MountRoot,
    open_beneath,
    open_in_mount,
    open_root,
    overlapping,
)
from kenning.media.sniff import HEAD_BYTES, sniff_bytes
from kenning.server.guards import ResponseCut

MEDIA_TYPES = {
    "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
    "bmp": "image/bmp", "tiff": "image/tiff", "heif": "image/heif", "avif": "image/avif",
    "mp4": "video/mp4", "mov": "video/quicktime", "3gp": "video/3gpp", "mkv":
    "video/x-matroska", "webm": "video/webm", "avi": "video/x-msvideo", "ogv": "video/ogg",
    "mpegts": "video/mp2t", "mpeg": "video/mpeg", "flv": "video/x-flv", "asf":
    "video/x-ms-asf", "mp3": "audio/mpeg", "m4a": "audio/mp4", "aac": "audio/aac",
    "ogg": "audio/ogg", "flac": "audio/flac", "wav": "audio/wav", "aiff": "audio/aiff",
}
DOWNLOAD = "application/octet-stream"
FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; " \
           "sandbox"


def sniffed_type(fd: int) -> str:
    """The media type of an open file by its content, from the allow-list, else a
    download."""
    sniffed = sniff_bytes(os.pread(fd, HEAD_BYTES, 0))
    return MEDIA_TYPES.get(sniffed.format, DOWNLOAD) if sniffed else DOWNLOAD


def disposition(kind: str, name: str) -> str:
    safe = "".join(c for c in name if c.isprintable() and c not in '"\\') or "file"
    ascii_name = safe.encode("ascii", "replace").decode().replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=utf-8''{quote(safe, safe='')}"


class OpenedFileResponse(FileResponse):
    """Starlette's file response (ranges, HEAD, conditional headers), reading a file this
    process already opened. The descriptor is closed when the response is done."""

    def __init__(self, fd: int, media_type: str, name: str | None = None,
                 inline: bool = True, headers: dict | None = None) -> None:
        self.fd = fd
        info = os.fstat(fd)
        extra = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": FILE_CSP,
                 **(headers or {})}
        if name is not None:
            extra["Content-Disposition"] = disposition(
                "inline" if inline and media_type != DOWNLOAD else "attachment", name)
        super().__init__(f"/proc/self/fd/{fd}", media_type=media_type, headers=extra,
                         stat_result=info)
        self.size = info.st_size  # what the headers promise, whatever happens to the file

    @asynccontextmanager
    async def _open_file(self):
        file = await anyio.to_thread.run_sync(lambda: os.fdopen(os.dup(self.fd), "rb"))
        wrapped = anyio.wrap_file(file)
        try:
            yield _AsOpened(wrapped, self.size)
        finally:
            with anyio.CancelScope(shield=True):
                await wrapped.aclose()

    async def __call__(self, scope, receive, send) -> None:
        try:
            scope = {**scope, "extensions": {k: v for k, v in scope.get("extensions", {})
                                             .items() if k != "http.response.pathsend"}}
            await super().__call__(scope, receive, send)
        finally:
            self.close()

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    def __del__(self) -> None:  # a response made but never sent
        self.close()


class _AsOpened:
    """A file read as it was when its response began: never past the size the headers
    gave (a file that grew), and ResponseCut when it ends before it (a file cut short
    while being sent), so that no response sends more or less than it said."""

    def __init__(self, file, size: int) -> None:
        self.file, self.size, self.position = file, size, 0

    async def seek(self, offset: int, whence: int = 0) -> int:
        self.position = await self.file.seek(offset, whence)
        return self.position

    async def read(self, size: int = -1) -> bytes:
        wanted = self.size - self.position if size < 0 else min(size,
                                                                 self.size - self.position)
        if wanted <= 0:
            return b""
        chunk = await self.file.read(wanted)
        if len(chunk) < wanted:
            raise ResponseCut(f"the file changed while it was sent ({self.position} of "
                              f"{self.size} bytes)")
        self.position += len(chunk)
        return chunk


def mount_root(db: Database, user_id: int, file_id: int, own=()
               ) -> tuple[MountRoot, bytes, str]:
    """(the file's mount, its path there, its name) for a file of this user. A mount that
    overlaps Kenning's own files (`Settings.own_paths`: made by an older Kenning, or the
    database moved since) serves nothing."""
    with db.session() as session:
        row = session.execute(
            select(Mount.path, Mount.device, Mount.inode, File.rel_path_raw, File.rel_path)
            .join(Mount, Mount.id == File.mount_id)
            .where(File.id == file_id, Mount.user_id == user_id)).first()
    if row is None:
        raise catalog.NotFound(f"no file {file_id}")
    path, device, inode, raw, readable = row
    if overlapping(path, own) is not None:
        raise catalog.NotFound(f"file {file_id} is in a folder that holds Kenning's data")
    pin = (device, inode) if device is not None else None
    return MountRoot(path, pin), raw, os.path.basename(readable)


def open_original(db: Database, user_id: int, file_id: int, own=()
                  ) -> tuple[int, str]:
    """(an open descriptor, the file's name); NotFound when it is gone or would lead
    out of its folder."""
    root, raw, name = mount_root(db, user_id, file_id, own)
    try:
        return open_in_mount(root, raw), name
    except OSError as exc:
        raise catalog.NotFound(f"file {file_id} is no longer in its folder") from exc


def original_response(db: Database, user_id: int, file_id: int, download: bool = False,
                      own=()) -> OpenedFileResponse:
    fd, name = open_original(db, user_id, file_id, own)
    try:
        media_type = sniffed_type(fd)
    except OSError:
        os.close(fd)
        raise
    return OpenedFileResponse(fd, media_type, name, inline=not download,
                              headers={"Cache-Control": "private, max-age=3600"})


def open_cached(cache_dir, relative: str) -> int:
    """A file of Kenning's own cache folder (face thumbnails, previews), opened inside it."""
    try:
        root_fd = open_root(MountRoot(str(cache_dir)))
    except OSError as exc:
        raise catalog.NotFound("no such file in the cache") from exc
    try:
        return open_beneath(root_fd, os.fsencode(relative))
    except OSError as exc:
        raise catalog.NotFound("no such file in the cache") from exc
    finally:
        os.close(root_fd)


def thumbnail_response(db: Database, user_id: int, face_id: int, cache_dir
                       ) -> OpenedFileResponse:
    relative = catalog.face_thumbnail(db, user_id, face_id)
    fd = open_cached(cache_dir, relative)
    return OpenedFileResponse(fd, "image/jpeg",
                              headers={"Cache-Control": "private, max-age=86400"})
