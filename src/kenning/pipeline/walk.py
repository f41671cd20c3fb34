"""Walk a mount safely: marker files, hidden folders, symlink loops, links out of the mount.

Paths are bytes throughout, so a file name in any encoding is walked and stored exactly.
Every folder is opened relative to the folder above it (never by its whole path) and
without following links, so a folder swapped for a link while the walk runs cannot take
it anywhere else (see media/confined.py), and no path is ever too long to open.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from kenning.media.confined import MountRoot, Outside, open_beneath, open_root
from kenning.media.sniff import MediaKind

SKIP_ALL = b".nomedia"
SKIP_KIND = {b".noimage": MediaKind.IMAGE, b".novideo": MediaKind.VIDEO,
             b".nomusic": MediaKind.AUDIO}
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


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


class _Open:
    """An open folder that stays open until its listing and every subfolder waiting on
    the walk's stack have been opened (so at most one folder per level is open)."""

    __slots__ = ("fd", "users")

    def __init__(self, fd: int) -> None:
        self.fd, self.users = fd, 1

    def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            os.close(self.fd)


def walk_mount(root: MountRoot, problems: WalkProblems) -> Iterator[WalkEntry]:
    """Yield every regular file under the mount that may be media. Raises MountReplaced
    when the mount's folder is not the one that was pinned."""
    root_fd = open_root(root)
    info = os.fstat(root_fd)
    visited: set[tuple[int, int]] = {(info.st_dev, info.st_ino)}
    # (the open parent folder, the name in it, the relative path, kinds excluded there)
    stack: list[tuple[_Open | None, bytes, bytes, frozenset[MediaKind]]] = [
        (None, b"", b"", frozenset())]
    try:
        while stack:
            parent, name, rel_dir, excluded = stack.pop()
            if parent is None:
                fd = os.dup(root_fd)
            else:
                try:
                    fd = os.open(name, _DIR_FLAGS, dir_fd=parent.fd)
                except OSError:
                    problems.unreadable_dirs.append(rel_dir)
                    continue
                finally:
                    parent.release()
            folder = _Open(fd)
            try:
                yield from _list(folder, rel_dir, excluded, root, root_fd, visited, stack,
                                 problems)
            finally:
                folder.release()
    finally:
        for parent, *_ in stack:
            if parent is not None:
                parent.release()
        os.close(root_fd)


def _list(folder: _Open, rel_dir: bytes, excluded: frozenset[MediaKind], root: MountRoot,
          root_fd: int, visited: set, stack: list, problems: WalkProblems
          ) -> Iterator[WalkEntry]:
    try:
        with os.scandir(folder.fd) as it:
            entries = list(it)
    except OSError:
        problems.unreadable_dirs.append(rel_dir)
        return
    names = {os.fsencode(entry.name) for entry in entries}
    if SKIP_ALL in names:
        return
    excluded = excluded | {kind for marker, kind in SKIP_KIND.items() if marker in names}
    for entry in entries:
        name = os.fsencode(entry.name)
        if name.startswith(b"."):
            continue
        rel = rel_dir + b"/" + name if rel_dir else name
        try:
            if entry.is_symlink():
                yield from _follow_link(rel, root, root_fd, excluded, problems)
            elif entry.is_dir(follow_symlinks=False):
                info = entry.stat(follow_symlinks=False)
                if (info.st_dev, info.st_ino) not in visited:
                    visited.add((info.st_dev, info.st_ino))
                    folder.users += 1
                    stack.append((folder, name, rel, excluded))
            elif entry.is_file(follow_symlinks=False):
                yield WalkEntry(rel, entry.stat(follow_symlinks=False), excluded)
        except FileNotFoundError:  # vanished while walking
            continue


def _follow_link(rel: bytes, root: MountRoot, root_fd: int, excluded: frozenset[MediaKind],
                 problems: WalkProblems) -> Iterator[WalkEntry]:
    """A link to a file inside the mount is a file; links to folders are never followed
    (so loops cannot happen) and links that leave the mount are refused."""
    try:
        fd = open_beneath(root_fd, rel, root.raw)
    except Outside:
        problems.links_outside.append(rel)
        return
    except IsADirectoryError:
        problems.linked_dirs += 1
        return
    except FileNotFoundError:
        yield WalkEntry(rel, None, excluded)
        return
    except OSError:  # a loop of links, a device, a socket...
        return
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    yield WalkEntry(rel, info, excluded)
