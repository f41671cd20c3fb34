"""Walk a mount safely: marker files, hidden folders, symlink loops, links out of the mount.

Paths are bytes throughout, so a file name in any encoding is walked and stored exactly.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from kenning.media.sniff import MediaKind

SKIP_ALL = b".nomedia"
SKIP_KIND = {b".noimage": MediaKind.IMAGE, b".novideo": MediaKind.VIDEO,
             b".nomusic": MediaKind.AUDIO}


@dataclass(frozen=True)
class WalkEntry:
    rel_path: bytes
    stat: os.stat_result | None  # None: a broken symbolic link
    excluded: frozenset[MediaKind]


@dataclass
class WalkProblems:
    unreadable_dirs: list[bytes] = field(default_factory=list)  # relative; files kept in the db
    links_outside: list[bytes] = field(default_factory=list)
    linked_dirs: int = 0  # not followed: what they point to inside the mount is walked anyway


def walk_mount(root: bytes, problems: WalkProblems) -> Iterator[WalkEntry]:
    """Yield every regular file under `root` (a resolved absolute path) that may be media."""
    root_real = os.path.realpath(root)
    visited: set[tuple[int, int]] = set()
    st = os.stat(root_real)
    visited.add((st.st_dev, st.st_ino))
    stack: list[tuple[bytes, bytes, frozenset[MediaKind]]] = [(root_real, b"", frozenset())]
    while stack:
        directory, rel_dir, excluded = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError:
            problems.unreadable_dirs.append(rel_dir)
            continue
        names = {entry.name for entry in entries}
        if SKIP_ALL in names:
            continue
        excluded = excluded | {kind for marker, kind in SKIP_KIND.items() if marker in names}
        for entry in entries:
            rel = rel_dir + b"/" + entry.name if rel_dir else entry.name
            if entry.name.startswith(b"."):
                continue
            try:
                if entry.is_symlink():
                    yield from _follow_link(entry, rel, root_real, excluded, problems)
                elif entry.is_dir(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    if (info.st_dev, info.st_ino) not in visited:
                        visited.add((info.st_dev, info.st_ino))
                        stack.append((entry.path, rel, excluded))
                elif entry.is_file(follow_symlinks=False):
                    yield WalkEntry(rel, entry.stat(follow_symlinks=False), excluded)
            except FileNotFoundError:  # vanished while walking
                continue


def _follow_link(entry: os.DirEntry, rel: bytes, root_real: bytes,
                 excluded: frozenset[MediaKind], problems: WalkProblems) -> Iterator[WalkEntry]:
    """A link to a file inside the mount is a file; links to folders are never followed
    (so loops cannot happen) and links that leave the mount are refused."""
    target = os.path.realpath(entry.path)
    try:
        info = os.stat(target)
    except OSError:
        yield WalkEntry(rel, None, excluded)
        return
    if os.path.commonpath([target, root_real]) != root_real:
        problems.links_outside.append(rel)
    elif stat.S_ISDIR(info.st_mode):
        problems.linked_dirs += 1
    elif stat.S_ISREG(info.st_mode):
        yield WalkEntry(rel, info, excluded)
