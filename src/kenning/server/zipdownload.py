"""The chosen photos as one zip of their originals, streamed as it is made (nothing is
held in memory or written to disk): from the grids' bulk bar (`POST /files/zip`) and the
API (`POST /api/files/zip`). Each file is opened inside its folder as any original is
(server/files.py); one that is gone is left out and named in `MISSING.txt`."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import func, select

from kenning import catalog
from kenning.db import Database, File, Mount
from kenning.server.files import open_original

MOST = 10_000  # files in one zip
CHUNK = 1 << 20


class _Pipe(io.RawIOBase):
    """A write-only stream whose bytes are taken as they come (zipfile writes to it
    without seeking: sizes go in data descriptors)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def owned_names(db: Database, user_id: int, file_ids: list[int]) -> list[tuple[int, str]]:
    """(id, name in the zip) of the user's files among these, in the order given; names
    are the files' paths in their folder (under the folder's name when several)."""
    wanted = list(dict.fromkeys(file_ids))[:MOST]
    found: dict[int, tuple[str, str]] = {}
    with db.session() as session:
        mounts = session.scalar(select(func.count()).select_from(Mount)
                                .where(Mount.user_id == user_id))
        for start in range(0, len(wanted), 900):
            for file_id, rel, mount_path in session.execute(
                    select(File.id, File.rel_path, Mount.path)
                    .join(Mount, Mount.id == File.mount_id)
                    .where(File.id.in_(wanted[start:start + 900]),
                           Mount.user_id == user_id)):
                found[file_id] = (rel, os.path.basename(mount_path.rstrip("/")))
    names = []
    for file_id in wanted:
        if file_id in found:
            rel, folder = found[file_id]
            names.append((file_id, f"{folder}/{rel}" if mounts > 1 else rel))
    return names


def stream_zip(db: Database, user_id: int, files: list[tuple[int, str]], own=()
               ) -> Iterator[bytes]:
    pipe = _Pipe()
    missing = []
    seen: set[str] = set()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for file_id, name in files:
            try:
                fd, _ = open_original(db, user_id, file_id, own)
            except catalog.NotFound:
                missing.append(name)
                continue
            arcname = name
            number = 1
            while arcname in seen:  # (two folders of the same name)
                number += 1
                stem, dot, ext = name.rpartition(".")
                arcname = f"{stem} ({number}).{ext}" if dot else f"{name} ({number})"
            seen.add(arcname)
            with os.fdopen(fd, "rb") as source:
                stat = os.fstat(source.fileno())
                info = zipfile.ZipInfo(arcname, datetime.fromtimestamp(
                    max(stat.st_mtime, 315532800), UTC).timetuple()[:6])
                info.file_size = stat.st_size
                with archive.open(info, "w", force_zip64=True) as target:
                    while chunk := source.read(CHUNK):
                        target.write(chunk)
                        yield pipe.take()
        if missing:
            archive.writestr("MISSING.txt", "These files were no longer in their folders:\n"
                             + "\n".join(missing) + "\n")
    yield pipe.take()


def zip_name() -> str:
    return f"kenning-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.zip"
