"""Mounts: the user's library folders, whether each can be used now, and forgetting one."""

from __future__ import annotations

import os

from sqlalchemy import func, select

from kenning.catalog.core import NotFound, changed
from kenning.db import Database, File, Mount, generation
from kenning.media.confined import MountReplaced, MountRoot, open_root


def list_mounts(db: Database, user_id: int | None) -> list[dict]:
    """This user's mounts (all users' for `None`: an admin's view), each with its
    `problem` when its folder cannot be used now (None when it can)."""
    query = select(Mount.id, Mount.user_id, Mount.path, Mount.device, Mount.inode,
                   Mount.scanned_at, func.count(File.id)
                   ).join(File, File.mount_id == Mount.id, isouter=True)
    if user_id is not None:
        query = query.where(Mount.user_id == user_id)
    with db.session() as session:
        rows = session.execute(query.group_by(Mount.id).order_by(Mount.path)).all()
    return [{"id": i, "user": u, "path": p, "scanned_at": t, "files": n,
             "problem": mount_problem(MountRoot(p, (d, ino) if d is not None else None))}
            for i, u, p, d, ino, t, n in rows]


def mount_problem(root: MountRoot) -> str | None:
    """Why a mount's folder cannot be used now, or None."""
    try:
        os.close(open_root(root))
    except MountReplaced as exc:
        return exc.strerror
    except FileNotFoundError:
        return "folder not found"
    except NotADirectoryError:
        return "not a folder"
    except PermissionError:
        return "folder not readable"
    except OSError as exc:
        return f"cannot open the folder: {exc.strerror or exc}"
    return None


def get_mount(db: Database, user_id: int, mount_id: int) -> dict:
    for mount in list_mounts(db, user_id):
        if mount["id"] == mount_id:
            return mount
    raise NotFound(f"no mount {mount_id}")


def remove_mount(db: Database, user_id: int, mount_id: int) -> dict:
    """Forget a mount and all results for its files (the files themselves are untouched)."""
    with db.session() as session:
        mount = session.scalar(select(Mount).where(Mount.id == mount_id,
                                                   Mount.user_id == user_id))
        if mount is None:
            raise NotFound(f"no mount {mount_id}")
        path = mount.path
        generation.bump(session)
        session.delete(mount)
    changed()
    return {"id": mount_id, "path": path, "removed": True}
