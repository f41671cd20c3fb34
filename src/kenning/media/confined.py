"""Opening a file inside a mount, and nowhere else, without a race.

A path that was checked and then opened by name can be swapped in between (a folder
replaced by a link to someone else's photos). Here nothing is ever opened by its whole
path: the mount's folder is opened once and checked against the device and inode it was
pinned to when it was added, and every name below it is opened relative to the folder
above it (openat) with O_NOFOLLOW. A symbolic link met on the way is read and resolved
by the same rule, so it can lead anywhere inside the mount and nowhere outside it. What
the caller gets is an open file descriptor: whatever happens to the names afterwards,
it reads the file that was checked.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

MAX_LINKS = 16
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY


class Outside(OSError):
    """The path leads out of the mount (by `..` or a symbolic link)."""

    def __init__(self, what: str = "the path leads out of its folder") -> None:
        super().__init__(errno.EXDEV, what)


class MountReplaced(OSError):
    """The mount's folder is no longer the folder that was added."""

    def __init__(self, path: str) -> None:
        super().__init__(errno.ESTALE, f"{path} is no longer the folder that was added (it "
                                       "was replaced, moved or is now a link): nothing is "
                                       "read from it. If you moved or restored it yourself, "
                                       f"run `kenning index '{path}' --repin` (as its user: "
                                       "KENNING_USER)")


@dataclass(frozen=True)
class MountRoot:
    """A mount's folder and what pins it: (device, inode) when it was added; None for a
    mount that was never pinned (made by an older Kenning: pinned at its next scan)."""

    path: str
    pin: tuple[int, int] | None = None

    @property
    def raw(self) -> bytes:
        return os.fsencode(self.path)


def _signed(value: int) -> int:
    """A 64-bit unsigned number as the signed one a database column holds."""
    return value - (1 << 64) if value >= 1 << 63 else value


def pin_of_stat(info: os.stat_result) -> tuple[int, int]:
    return _signed(info.st_dev), _signed(info.st_ino)


def pin_of(path: str | bytes) -> tuple[int, int]:
    return pin_of_stat(os.stat(path))


def open_root(root: MountRoot) -> int:
    """An open descriptor of the mount's folder, after checking it is the pinned one."""
    fd = os.open(root.raw, _DIR_FLAGS & ~os.O_NOFOLLOW)
    if root.pin is not None and pin_of_stat(os.fstat(fd)) != tuple(root.pin):
        os.close(fd)
        raise MountReplaced(root.path)
    return fd


def _split(path: bytes) -> list[bytes]:
    return [part for part in path.split(b"/") if part not in (b"", b".")]


def open_beneath(root_fd: int, rel: bytes, root_path: bytes | None = None,
                 directory: bool = False) -> int:
    """Open `rel` below the folder `root_fd` without ever leaving it: a regular file (or,
    with `directory`, a folder) as an O_RDONLY descriptor. Symbolic links are followed
    only while they stay inside; an absolute link target counts as inside when it starts
    with `root_path`. Raises Outside, FileNotFoundError, IsADirectoryError or OSError."""
    stack = [os.dup(root_fd)]
    parts = deque(_split(rel))
    links = 0
    try:
        while parts:
            name = parts.popleft()
            if name == b"..":
                if len(stack) == 1:
                    raise Outside()
                os.close(stack.pop())
                continue
            last = not parts
            flags = _DIR_FLAGS if (not last or directory) else _FILE_FLAGS
            try:
                fd = os.open(name, flags, dir_fd=stack[-1])
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    raise
                target = _link_target(stack[-1], name)
                if target is None:
                    if exc.errno == errno.ENOTDIR:
                        raise NotADirectoryError(errno.ENOTDIR, "not a folder") from exc
                    raise
                links += 1
                if links > MAX_LINKS:
                    raise OSError(errno.ELOOP, "too many symbolic links") from exc
                if target.startswith(b"/"):
                    if root_path is None or not (target + b"/").startswith(
                            root_path.rstrip(b"/") + b"/"):
                        raise Outside("a symbolic link leads out of its folder") from exc
                    target = target[len(root_path.rstrip(b"/")):]
                    while len(stack) > 1:
                        os.close(stack.pop())
                parts.extendleft(reversed(_split(target)))
                continue
            stack.append(fd)
        fd = stack.pop()
        info = os.fstat(fd)
        wanted = stat.S_ISDIR if directory else stat.S_ISREG
        if not wanted(info.st_mode):
            os.close(fd)
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError(errno.EISDIR, "a folder, not a file")
            raise OSError(errno.EINVAL, "not a regular file")
        return fd
    finally:
        for fd in stack:
            os.close(fd)


def _link_target(dir_fd: int, name: bytes) -> bytes | None:
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.EINVAL:  # not a link
            return None
        raise


def open_in_mount(root: MountRoot, rel: bytes) -> int:
    """The regular file `rel` of a mount, opened (see open_beneath)."""
    root_fd = open_root(root)
    try:
        return open_beneath(root_fd, rel, root.raw)
    finally:
        os.close(root_fd)


@contextmanager
def opened(root: MountRoot, rel: bytes) -> Iterator[int]:
    fd = open_in_mount(root, rel)
    try:
        yield fd
    finally:
        os.close(fd)


def fd_path(fd: int) -> str:
    """A name that opens exactly this open file again (Linux's /proc magic link), for
    decoders that want a path: it cannot be swapped for another file."""
    return f"/proc/self/fd/{fd}"


def inside(path: str | bytes, folder: str | bytes) -> bool:
    """Whether `path` is `folder` or below it (both resolved first)."""
    real, base = os.path.realpath(os.fsencode(path)), os.path.realpath(os.fsencode(folder))
    return real == base or real.startswith(base.rstrip(b"/") + b"/")


def overlapping(path: str | bytes, own) -> str | None:
    """The first of Kenning's own paths (`Settings.own_paths`) that `path` holds or lies
    in, resolved; None when they are apart."""
    for mine in own or ():
        if inside(mine, path) or inside(path, mine):
            return os.path.realpath(os.fsdecode(mine))
    return None
