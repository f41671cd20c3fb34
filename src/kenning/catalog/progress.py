"""Progress and failures: per classifier how many files are pending, done and failed, the
files that failed with their reasons, a retry of them, and the failures among a page of
files (the tiles' badges)."""

from __future__ import annotations

from sqlalchemy import func, literal, select, union_all, update

from kenning.catalog import status_sql
from kenning.catalog.core import owned_mounts, raw_cursor
from kenning.catalog.paths import display_path
from kenning.db import Database, File, Mount, WorkItem, WorkState, generation


def status(db: Database, user: str) -> dict:
    """Per classifier the user's files pending, done and failed, their files by kind and
    their folders (status_sql.py: the same SQL `kenning status` runs on SQLite directly)."""
    with raw_cursor(db) as (cursor, p):
        return status_sql.status(cursor, user, p)


def failed_files(db: Database, user: str, mount_path: str | None = None,
                 limit: int | None = None, offset: int = 0) -> list[dict]:
    """Files the scan could not use and files a classifier failed on, with the reasons,
    by path; `limit` and `offset`: one page of them (the database pages them)."""
    mounts = owned_mounts(user)
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
    mounts = owned_mounts(user)
    with db.session() as session:
        unusable = session.scalar(select(func.count()).select_from(File).where(
            File.mount_id.in_(mounts), File.scan_error.is_not(None)))
        failed = session.scalar(select(func.count()).select_from(WorkItem).join(
            File, File.id == WorkItem.file_id).where(File.mount_id.in_(mounts),
                                                     WorkItem.state == WorkState.FAILED))
    return int(unusable or 0) + int(failed or 0)


def retry_failed(db: Database, user: str) -> int:
    files = select(File.id).where(File.mount_id.in_(owned_mounts(user)))
    with db.session() as session:
        generation.bump(session)
        return session.execute(update(WorkItem).where(WorkItem.state == WorkState.FAILED,
                                                      WorkItem.file_id.in_(files))
                               .values(state=WorkState.PENDING, error=None)).rowcount


PIXEL_CLASSIFIERS = frozenset({"objects", "faces", "video", "landmarks"})


def failures(db: Database, file_ids: list[int]) -> dict[int, dict]:
    """Of these files, those a classifier could not process: {id: {"reason": why (the
    first failure), "unreadable": no classifier could decode its pictures}}, for the
    tiles' badges."""
    found: dict[int, dict] = {}
    seen: set[int] = set()  # files whose pictures a classifier decoded
    blind: set[int] = set()  # files whose pictures a classifier failed on
    with db.session() as session:
        for start in range(0, len(file_ids), 500):
            part = file_ids[start:start + 500]
            for file_id, state, error, classifier in session.execute(
                    select(WorkItem.file_id, WorkItem.state, WorkItem.error,
                           WorkItem.classifier)
                    .where(WorkItem.file_id.in_(part),
                           WorkItem.state.in_([WorkState.FAILED, WorkState.DONE]))
                    .order_by(WorkItem.file_id, WorkItem.classifier)):
                if state == WorkState.DONE:
                    if classifier in PIXEL_CLASSIFIERS:
                        seen.add(file_id)
                    continue
                if classifier in PIXEL_CLASSIFIERS:
                    blind.add(file_id)
                found.setdefault(file_id, {"reason": f"{classifier}: {error or 'failed'}"})
    for file_id, failure in found.items():
        failure["unreadable"] = file_id in blind and file_id not in seen
    return found
