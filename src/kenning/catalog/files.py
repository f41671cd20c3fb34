"""Files: one by id, a page of them, what the classifiers found in one, and a file named by
its path on disk (the CLI's way of naming one)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from kenning.catalog import files_sql
from kenning.catalog.core import (
    FILE_COLUMNS,
    NotFound,
    Page,
    file_page,
    file_row,
    owned_file,
    owned_mounts,
    raw_cursor,
)
from kenning.db import (
    Database,
    File,
    Tag,
    TagRejection,
)


def list_files(db: Database, user_id: int, limit: int = 100, after: int = 0,
               kind: str | None = None, mount_id: int | None = None) -> Page:
    query = select(*FILE_COLUMNS).where(File.mount_id.in_(owned_mounts(user_id)), File.id > after)
    if kind:
        query = query.where(File.kind == kind)
    if mount_id is not None:
        query = query.where(File.mount_id == mount_id)
    with db.session() as session:
        return file_page(session, query, limit)


def existing_files(db: Database, file_ids) -> set[int]:
    """Those of these file ids still in the library (any user's)."""
    ids, found = sorted(set(file_ids)), set()
    with db.session() as session:
        for start in range(0, len(ids), 1000):
            found.update(session.scalars(select(File.id).where(
                File.id.in_(ids[start:start + 1000]))))
    return found


def file_kind(db: Database, user_id: int, file_id: int) -> str | None:
    """image, video, audio, or None for a file Kenning cannot use."""
    with db.session() as session:
        return owned_file(session, user_id, file_id).kind


def findings(db: Database, file_id: int) -> dict:
    """What the classifiers found in a file (for the API here and `kenning tags`):
    tag rows (tag id, name, score, source), raw labels, each classifier's state, the place
    and the faces (with `id`), best first (files_sql.py: the same SQL the CLI runs)."""
    with raw_cursor(db) as (cursor, p):
        return files_sql.findings(cursor, file_id, p)


def file_detail(db: Database, user_id: int, file_id: int) -> dict:
    with db.session() as session:
        file = owned_file(session, user_id, file_id)
        found = findings(db, file.id)
        removed = session.scalars(select(Tag.name).join(TagRejection, TagRejection.tag_id == Tag.id)
                                  .where(TagRejection.file_id == file.id)).all()
    merged: dict[int, dict] = {}
    for tag_id, name, score, source in found.pop("tag_rows"):  # one entry per tag
        entry = merged.setdefault(tag_id, {"id": tag_id, "tag": name, "score": round(score, 4),
                                           "sources": []})
        entry["sources"].append(source)
    return file_row(file) | {"scan_error": file.scan_error, "taken_from": file.taken_from,
                              "camera": file.camera, "lens": file.lens,
                              "tags": list(merged.values()),
                              "removed_tags": sorted(removed)} | found


def file_tags(db: Database, user: str, path: Path) -> dict:
    """What `kenning tags` shows of a file given by its path (files_sql.py)."""
    with raw_cursor(db) as (cursor, p):
        found = files_sql.file_tags(cursor, user, path, p)
    if found is None:
        raise NotFound(files_sql.not_found(path))
    return found
