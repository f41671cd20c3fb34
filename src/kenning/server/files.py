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
import threading
import time
from collections import OrderedDict
from contextlib import asynccontextmanager
from urllib.parse import quote

import anyio
from fastapi.responses import FileResponse, Response
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
    _check_apart(path, own, file_id)
    pin = (device, inode) if device is not None else None
    return MountRoot(path, pin), raw, os.path.basename(readable)


APART_SECONDS = 10.0  # how long a mount found apart from Kenning's own files is believed
_apart: dict[tuple, float] = {}


def _check_apart(path: str, own, file_id: int) -> None:
    """NotFound when the mount's folder overlaps Kenning's own files. Resolving every
    path takes about a hundred lstat calls, so a mount found apart is believed so for a
    few seconds (a folder replaced meanwhile is refused by its pin when it is opened)."""
    key = (path, tuple(map(str, own)))
    now = time.monotonic()
    if _apart.get(key, 0.0) > now:
        return
    if overlapping(path, own) is not None:
        raise catalog.NotFound(f"file {file_id} is in a folder that holds Kenning's data")
    if len(_apart) > 10_000:
        _apart.clear()
    _apart[key] = now + APART_SECONDS


RENDER_ROWS = 20_000  # files whose mount and path are remembered for their renders
_render_rows: OrderedDict[tuple[int, int], tuple[str, tuple]] = OrderedDict()
_render_rows_lock = threading.Lock()


def _render_row(db: Database, user_id: int, file_id: int) -> tuple | None:
    """The file's mount (path, device, inode), path there and kind; remembered until
    the user's library changes (the grid asks for a tile, then its preview, again and
    again)."""
    marker = catalog.counts.marker(db, user_id)
    key = (user_id, file_id)
    with _render_rows_lock:
        known = _render_rows.get(key)
        if known is not None and known[0] == marker:
            _render_rows.move_to_end(key)
            return known[1]
    with db.session() as session:
        row = session.execute(
            select(Mount.path, Mount.device, Mount.inode, File.rel_path_raw, File.kind)
            .join(Mount, Mount.id == File.mount_id)
            .where(File.id == file_id, Mount.user_id == user_id)).first()
    if row is not None:
        with _render_rows_lock:
            _render_rows[key] = (marker, tuple(row))
            if len(_render_rows) > RENDER_ROWS:
                _render_rows.popitem(last=False)
    return row


def open_for_render(db: Database, user_id: int, file_id: int, own=()
                    ) -> tuple[MountRoot, bytes, str | None, int]:
    """(the file's mount, its path there, its kind, an open descriptor): what a preview
    or thumbnail is looked up by. NotFound as `open_original`."""
    row = _render_row(db, user_id, file_id)
    if row is None:
        raise catalog.NotFound(f"no file {file_id}")
    path, device, inode, raw, kind = row
    _check_apart(path, own, file_id)
    root = MountRoot(path, (device, inode) if device is not None else None)
    try:
        return root, raw, kind, open_in_mount(root, raw)
    except OSError as exc:
        raise catalog.NotFound(f"file {file_id} is no longer in its folder") from exc


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


SMALL_RENDER = 4 << 20  # a cached render this small is read at once, not streamed


def read_render(fd: int) -> tuple[bytes, os.stat_result] | None:
    """(In a thread.) A cached render's bytes and identity, read in one go and the
    descriptor closed; None (the descriptor left open) if it is too large for that."""
    info = os.fstat(fd)
    if info.st_size > SMALL_RENDER:
        return None
    try:
        return os.pread(fd, info.st_size, 0), info
    finally:
        os.close(fd)


def render_response(data: bytes, info: os.stat_result, media_type: str, if_none_match: str,
                    cache_control: str) -> Response:
    """A cached render sent from memory (one read, no thread per chunk), with the
    headers of every file response; 304 when the client has this version."""
    tag = f'"{info.st_mtime_ns:x}-{info.st_size:x}"'
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": FILE_CSP,
               "Cache-Control": cache_control, "ETag": tag}
    if tag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


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
