"""The read side used by the CLI (and later the API): status, tags, search, resets."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import delete, func, literal, select, union_all, update

from kenning.catalog import findings
from kenning.db import (
    Database,
    File,
    FileLabel,
    FileTag,
    Mount,
    Tag,
    User,
    WorkItem,
    WorkState,
)
from kenning.db.generation import bump


class NotFound(LookupError):
    """A file, tag or classifier the user named is not in the library."""


def _user_mounts(user: str):
    return select(Mount.id).join(User, User.id == Mount.user_id).where(User.name == user)


def absolute_path(root: str, rel_raw: bytes) -> str:
    return os.fsdecode(os.path.join(os.fsencode(root), rel_raw))


def display_path(root: str, rel_path: str) -> str:
    return os.path.join(root, rel_path)


@dataclass
class ClassifierStatus:
    classifier: str
    pending: int = 0
    done: int = 0
    failed: int = 0


def status(db: Database, user: str) -> dict:
    mounts = _user_mounts(user)
    with db.session() as session:
        counts = session.execute(
            select(WorkItem.classifier, WorkItem.state, func.count())
            .join(File, File.id == WorkItem.file_id).where(File.mount_id.in_(mounts))
            .group_by(WorkItem.classifier, WorkItem.state)).all()
        kinds = dict(session.execute(
            select(func.coalesce(File.kind, "unusable"), func.count())
            .where(File.mount_id.in_(mounts)).group_by(File.kind)).all())
        mount_rows = session.execute(select(Mount.path, Mount.scanned_at)
                                     .where(Mount.id.in_(mounts)).order_by(Mount.path)).all()
    by_classifier: dict[str, ClassifierStatus] = {}
    for classifier, state, count in counts:
        entry = by_classifier.setdefault(classifier, ClassifierStatus(classifier))
        setattr(entry, state, count)
    return {
        "mounts": [{"path": p, "scanned_at": t.isoformat() if t else None}
                   for p, t in mount_rows],
        "files": kinds,
        "classifiers": [asdict(s) for s in sorted(by_classifier.values(),
                                                  key=lambda s: s.classifier)],
    }


def failed_files(db: Database, user: str, mount_path: str | None = None,
                 limit: int | None = None, offset: int = 0) -> list[dict]:
    """Files the scan could not use and files a classifier failed on, with the reasons,
    by path; `limit` and `offset`: one page of them (the database pages them)."""
    mounts = _user_mounts(user)
    if mount_path is not None:
        mounts = mounts.where(Mount.path == mount_path)
    unusable = (select(Mount.path.label("root"), File.rel_path.label("rel"),
                       literal("scan").label("stage"), File.scan_error.label("reason"),
                       File.id.label("file_id"))
                .join(Mount, Mount.id == File.mount_id)
                .where(File.mount_id.in_(mounts), File.scan_error.is_not(None)))
    failed = (select(Mount.path, File.rel_path, WorkItem.classifier, WorkItem.error, File.id)
              .join(File, File.id == WorkItem.file_id).join(Mount, Mount.id == File.mount_id)
              .where(File.mount_id.in_(mounts), WorkItem.state == WorkState.FAILED))
    both = union_all(unusable, failed).subquery()
    query = select(both).order_by(both.c.root, both.c.rel, both.c.stage).offset(max(0, offset))
    if limit is not None:
        query = query.limit(limit)
    with db.session() as session:
        rows = session.execute(query).all()
    return [{"path": display_path(r.root, r.rel), "stage": r.stage, "reason": r.reason,
             "file": r.file_id} for r in rows]


def count_failed(db: Database, user: str) -> int:
    """How many (file, stage) failures `failed_files` would list."""
    mounts = _user_mounts(user)
    with db.session() as session:
        unusable = session.scalar(select(func.count()).select_from(File).where(
            File.mount_id.in_(mounts), File.scan_error.is_not(None)))
        failed = session.scalar(select(func.count()).select_from(WorkItem).join(
            File, File.id == WorkItem.file_id).where(File.mount_id.in_(mounts),
                                                     WorkItem.state == WorkState.FAILED))
    return int(unusable or 0) + int(failed or 0)


def find_file(db: Database, user: str, path: Path) -> File:
    """The library's record of a file given by its path on disk."""
    raw = os.fsencode(os.path.realpath(os.path.abspath(path)))
    with db.session() as session:
        for mount in session.scalars(select(Mount).where(Mount.id.in_(_user_mounts(user)))):
            root = os.fsencode(mount.path)
            if raw.startswith(root + b"/"):
                found = session.scalar(select(File).where(
                    File.mount_id == mount.id, File.rel_path_raw == raw[len(root) + 1:]))
                if found is not None:
                    return found
    raise NotFound(f"not in the library: {path} (run `kenning index` on its folder first)")


def file_tags(db: Database, user: str, path: Path) -> dict:
    file = find_file(db, user, path)
    with db.session() as session:
        found = findings(session, file.id)
    return {
        "path": str(path), "kind": file.kind, "format": file.format,
        "width": file.width, "height": file.height, "scan_error": file.scan_error,
        "camera": file.camera, "lens": file.lens,
        "tags": [{"tag": n, "score": round(s, 4), "source": src}
                 for _, n, s, src in found["tag_rows"]],
        "labels": found["labels"], "classifiers": found["classifiers"],
        "place": found["place"],
        "faces": [{"face": f.pop("id")} | f for f in found["faces"]],
    }


def top_tags(db: Database, user: str, limit: int = 10, mount_path: str | None = None
             ) -> list[tuple[str, int]]:
    mounts = _user_mounts(user)
    if mount_path is not None:
        mounts = mounts.where(Mount.path == mount_path)
    with db.session() as session:
        return [tuple(row) for row in session.execute(
            select(Tag.name, func.count(func.distinct(FileTag.file_id)).label("n"))
            .join(FileTag).join(File, File.id == FileTag.file_id)
            .where(File.mount_id.in_(mounts))
            .group_by(Tag.name).order_by(func.count(func.distinct(FileTag.file_id)).desc(),
                                         Tag.name)
            .limit(limit)).all()]


def reset_tags(db: Database, user: str, classifier: str) -> int:
    """Remove what `classifier` wrote for this user's files; the next index redoes it."""
    files = select(File.id).where(File.mount_id.in_(_user_mounts(user)))
    with db.session() as session:
        bump(session)
        has_work = session.scalar(select(func.count()).where(WorkItem.classifier == classifier))
        if not has_work:
            raise NotFound(f"no results from a classifier named {classifier!r}")
        removed = session.execute(delete(FileTag).where(
            FileTag.source == classifier, FileTag.file_id.in_(files))).rowcount
        session.execute(delete(FileLabel).where(FileLabel.classifier == classifier,
                                                FileLabel.file_id.in_(files)))
        session.execute(update(WorkItem).where(WorkItem.classifier == classifier,
                                               WorkItem.file_id.in_(files))
                        .values(state=WorkState.PENDING, error=None, attempts=0))
    return removed


def retry_failed(db: Database, user: str) -> int:
    files = select(File.id).where(File.mount_id.in_(_user_mounts(user)))
    with db.session() as session:
        bump(session)
        return session.execute(update(WorkItem).where(WorkItem.state == WorkState.FAILED,
                                                      WorkItem.file_id.in_(files))
                               .values(state=WorkState.PENDING, error=None)).rowcount
