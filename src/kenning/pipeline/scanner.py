"""Scan a mount into the files table: new, changed, moved (same content) and deleted files.

An unchanged file (same size and modification time) is never opened, so re-scanning a
large library costs one directory walk and one query.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update

from kenning.db import Database, File, FileLabel, FileTag, WorkItem
from kenning.db.generation import bump
from kenning.media.confined import MountRoot, Outside, fd_path, open_beneath, open_root
from kenning.media.sniff import (
    MediaKind,
    Sniffed,
    claimed_kind,
    is_animated_gif,
    read_head,
    sniff_bytes,
)
from kenning.pipeline.progress import NoProgress, Progress
from kenning.pipeline.walk import WalkEntry, WalkProblems, walk_mount

FULL_HASH_LIMIT = 32 << 20
SAMPLE = 4 << 20
STORE_EVERY = 500  # files sniffed and hashed per stored chunk
INSPECT_THREADS = 4  # reading is I/O-bound; hashlib releases the GIL


@dataclass
class ScanReport:
    by_kind: Counter = field(default_factory=Counter)
    new: int = 0
    changed: int = 0
    moved: int = 0
    deleted: int = 0
    unusable: int = 0
    problems: WalkProblems = field(default_factory=WalkProblems)
    seconds: float = 0.0


def content_hash(path: bytes | str, size: int) -> str:
    """sha256 of the content; files over 32 MiB hash their size and three 4 MiB samples."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        if size <= FULL_HASH_LIMIT:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        else:
            digest.update(size.to_bytes(8, "big"))
            for offset in (0, size // 2, size - SAMPLE):
                f.seek(offset)
                digest.update(f.read(SAMPLE))
    return digest.hexdigest()


def readable_path(raw: bytes) -> str:
    """A display form of a path in any encoding (undecodable bytes shown as \\xNN)."""
    return raw.decode("utf-8", errors="backslashreplace")


@dataclass
class _Seen:
    entry: WalkEntry
    sniffed: Sniffed | None = None
    error: str | None = None
    hash: str | None = None


def _inspect(root: MountRoot, root_fd: int, entry: WalkEntry) -> _Seen | None:
    """Sniff a new or changed file. None: not media and not claiming to be. The file is
    opened inside the mount only (a name swapped for a link out of it is not read)."""
    claimed = claimed_kind(entry.rel_path)
    if entry.stat is None:
        return _Seen(entry, error="broken symbolic link: its target does not exist")
    try:
        fd = open_beneath(root_fd, entry.rel_path, root.raw)
    except FileNotFoundError:
        return None
    except Outside:
        return None  # swapped for a link out of the mount since the walk: not ours
    except OSError as exc:
        if claimed is None:
            return None
        return _Seen(entry, error=f"cannot read the file: {exc.strerror or exc}")
    path = fd_path(fd)
    try:
        head = read_head(path)
        sniffed = sniff_bytes(head)
        if sniffed is not None and sniffed.format == "gif" and is_animated_gif(path):
            sniffed = Sniffed(MediaKind.VIDEO, "gif")
        if sniffed is None:
            if claimed is None:
                return None
            what = "empty file (0 bytes)" if not head else _describe(head)
            article = "an" if claimed.value[0] in "aeiou" else "a"
            return _Seen(entry, error=f"not {article} {claimed.value} file: {what}")
        if sniffed.kind in entry.excluded:
            return None
        return _Seen(entry, sniffed, hash=content_hash(path, os.fstat(fd).st_size))
    except OSError as exc:
        if claimed is None:
            return None
        return _Seen(entry, error=f"cannot read the file: {exc.strerror or exc}")
    finally:
        os.close(fd)


def _describe(head: bytes) -> str:
    sample = head[:256]
    try:
        sample.decode("utf-8")
        return "the content is text"
    except UnicodeDecodeError:
        return "the content is not a known media format"


def scan_mount(db: Database, mount_id: int, root: MountRoot | str,
               progress: Progress | None = None) -> ScanReport:
    """Walk the mount (stat only), then sniff and hash what is new or changed, storing it in
    chunks as it goes so that an interrupted first scan of a big library keeps its work.
    Raises MountReplaced when the mount's folder is not the pinned one."""
    started = time.perf_counter()
    progress = progress or NoProgress()
    report = ScanReport()
    root = root if isinstance(root, MountRoot) else MountRoot(root)
    with db.session() as session:
        known = {row.rel_path_raw: row for row in session.execute(
            select(File.id, File.rel_path_raw, File.size, File.mtime_ns, File.content_hash,
                   File.kind, File.scan_error).where(File.mount_id == mount_id))}
    seen: set[bytes] = set()
    candidates: list[WalkEntry] = []
    for entry in walk_mount(root, report.problems):
        seen.add(entry.rel_path)
        row = known.get(entry.rel_path)
        if row is not None and _unchanged(row, entry):
            report.by_kind[row.kind or "unusable"] += 1
        else:
            candidates.append(entry)
    gone = {raw: row for raw, row in known.items()
            if raw not in seen and not _under_any(raw, report.problems.unreadable_dirs)}
    if candidates:
        progress.start("scan", len(candidates))
        root_fd = open_root(root)
        try:
            with ThreadPoolExecutor(INSPECT_THREADS) as pool:
                for chunk in _chunks(candidates, STORE_EVERY):
                    inspected = list(pool.map(lambda e: _inspect(root, root_fd, e), chunk))
                    _store_chunk(db, mount_id, known, chunk, inspected, gone, report)
                    progress.advance(len(chunk))
        finally:
            os.close(root_fd)
            progress.stop()
    if gone:
        with db.session() as session:
            bump(session)
            ids = [row.id for row in gone.values()]
            for chunk in _chunks(ids):
                session.execute(delete(File).where(File.id.in_(chunk)))
            report.deleted = len(ids)
    report.unusable = report.by_kind.pop("unusable", 0)
    report.seconds = time.perf_counter() - started
    return report


def _store_chunk(db: Database, mount_id: int, known: dict, entries: list[WalkEntry],
                 inspected: list[_Seen | None], gone: dict, report: ScanReport) -> None:
    fresh, changed = [], []
    for entry, seen in zip(entries, inspected, strict=True):
        row = known.get(entry.rel_path)
        if seen is None:  # not media after all, or vanished: a known row is now gone
            if row is not None:
                gone[entry.rel_path] = row
            continue
        report.by_kind[seen.sniffed.kind if seen.sniffed else "unusable"] += 1
        if row is None:
            fresh.append(seen)
        else:
            changed.append((row.id, seen))
    with db.session() as session:
        bump(session)  # new, moved or changed files change what users see
        _store_moves_and_new(session, mount_id, fresh, gone, report)
        _store_changes(session, changed, report)


def _unchanged(row, entry: WalkEntry) -> bool:
    if entry.stat is None:  # still a broken link
        return row.scan_error is not None and row.size == 0
    return (row.size == entry.stat.st_size and row.mtime_ns == entry.stat.st_mtime_ns
            and row.kind not in entry.excluded)


def _under_any(raw: bytes, folders: list[bytes]) -> bool:
    return any(folder == b"" or raw.startswith(folder + b"/") for folder in folders)


def _chunks(items: list, size: int = 500):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _file_values(seen: _Seen) -> dict:
    info = seen.entry.stat
    return {
        "rel_path": readable_path(seen.entry.rel_path),
        "rel_path_raw": seen.entry.rel_path,
        "kind": seen.sniffed.kind.value if seen.sniffed else None,
        "format": seen.sniffed.format if seen.sniffed else None,
        "size": info.st_size if info else 0,
        "mtime_ns": info.st_mtime_ns if info else 0,
        "content_hash": seen.hash,
        "scan_error": seen.error,
    }


def _store_moves_and_new(session, mount_id: int, fresh: list[_Seen], gone: dict,
                         report: ScanReport) -> None:
    by_hash: dict[str, list[bytes]] = {}
    for raw, row in gone.items():
        if row.content_hash:
            by_hash.setdefault(row.content_hash, []).append(raw)
    new_rows = []
    for seen in fresh:
        candidates = by_hash.get(seen.hash or "")
        if candidates:  # moved or renamed: keep the row, its id and its results
            row = gone.pop(candidates.pop())
            session.execute(update(File).where(File.id == row.id).values(**_file_values(seen)))
            report.moved += 1
        else:
            new_rows.append(File(mount_id=mount_id, **_file_values(seen)))
    session.add_all(new_rows)
    report.new += len(new_rows)


def _store_changes(session, changed: list[tuple[int, _Seen]], report: ScanReport) -> None:
    for file_id, seen in changed:
        values = _file_values(seen)
        old_hash = session.scalar(select(File.content_hash).where(File.id == file_id))
        session.execute(update(File).where(File.id == file_id).values(**values))
        if old_hash == seen.hash and seen.hash is not None:
            continue  # touched, same content
        report.changed += 1
        session.execute(delete(WorkItem).where(WorkItem.file_id == file_id))
        session.execute(delete(FileTag).where(FileTag.file_id == file_id,
                                              FileTag.source != "user"))
        session.execute(delete(FileLabel).where(FileLabel.file_id == file_id))
