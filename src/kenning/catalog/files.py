"""Files: one by id, a page of them, what the classifiers found in one, and a file named by
its path on disk (the CLI's way of naming one)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from kenning.catalog.core import (
    FILE_COLUMNS,
    NotFound,
    Page,
    file_page,
    file_row,
    owned_file,
    owned_mounts,
)
from kenning.db import (
    Database,
    Face,
    File,
    FileLabel,
    FilePlace,
    FileTag,
    Mount,
    Person,
    Tag,
    TagRejection,
    WorkItem,
)
from kenning.faces.marks import is_drawn


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


def findings(session, file_id: int) -> dict:
    """What the classifiers found in a file (for the API here and `kenning tags`):
    tag rows (tag id, name, score, source), raw labels, each classifier's state, the place
    and the faces (with `id`), best first."""
    tags = session.execute(
        select(Tag.id, Tag.name, FileTag.score, FileTag.source).join(Tag)
        .where(FileTag.file_id == file_id).order_by(FileTag.score.desc())).all()
    labels = session.execute(
        select(FileLabel.classifier, FileLabel.label, FileLabel.score)
        .where(FileLabel.file_id == file_id).order_by(FileLabel.score.desc())).all()
    work = session.execute(select(WorkItem.classifier, WorkItem.state, WorkItem.error)
                           .where(WorkItem.file_id == file_id)
                           .order_by(WorkItem.classifier)).all()
    faces = session.execute(
        select(Face.id, Face.x, Face.y, Face.width, Face.height, Face.score, Face.quality,
               Face.person_id, Person.name, Face.assigned_by, Face.not_face,
               Face.not_face_by, Face.model_version)
        .join(Person, Person.id == Face.person_id, isouter=True)
        .where(Face.file_id == file_id).order_by(Face.x)).all()
    place = session.get(FilePlace, file_id)
    return {
        "tag_rows": tags,
        "labels": [{"classifier": c, "label": label, "score": round(s, 4)}
                   for c, label, s in labels],
        "classifiers": [{"classifier": c, "state": st, "error": e} for c, st, e in work],
        "place": None if place is None else {
            k: getattr(place, k) for k in ("latitude", "longitude", "city", "region", "country",
                                           "country_code", "distance_km")},
        "faces": [{"id": f.id, "box": [round(f.x), round(f.y), round(f.width), round(f.height)],
                   "score": round(f.score, 3), "quality": round(f.quality, 3),
                   "person": f.person_id, "name": f.name, "assigned_by": f.assigned_by,
                   "not_face": f.not_face, "not_face_by": f.not_face_by,
                   "drawn": is_drawn(f.model_version)}
                  for f in faces],
    }


def file_detail(db: Database, user_id: int, file_id: int) -> dict:
    with db.session() as session:
        file = owned_file(session, user_id, file_id)
        found = findings(session, file.id)
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


def find_file(db: Database, user: str, path: Path) -> File:
    """The library's record of a file given by its path on disk."""
    raw = os.fsencode(os.path.realpath(os.path.abspath(path)))
    with db.session() as session:
        for mount in session.scalars(select(Mount).where(Mount.id.in_(owned_mounts(user)))):
            root = os.fsencode(mount.path)
            if raw.startswith(root + b"/"):
                found = session.scalar(select(File).where(
                    File.mount_id == mount.id, File.rel_path_raw == raw[len(root) + 1:]))
                if found is not None:
                    return found
    raise NotFound(f"not in the library: {path} (run `kenning index` on its folder first)")


def file_tags(db: Database, user: str, path: Path) -> dict:
    """What `kenning tags` shows of a file given by its path."""
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
