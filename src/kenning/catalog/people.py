"""People and faces: the user's people ranked by faces (named first), one person, their
faces, one face, a face's thumbnail, the face shown for a person."""

from __future__ import annotations

import json
import os

from sqlalchemy import func, select

from kenning.catalog import people_sql
from kenning.catalog.core import (
    MAX_PAGE,
    NotFound,
    Page,
    Refused,
    as_id,
    changed,
    counts,
    owned_mounts,
    page_limit,
    raw_cursor,
    slice_page,
)
from kenning.db import Database, Face, FaceRejection, File, Person, generation
from kenning.faces.marks import is_drawn
from kenning.names import fold


def _people_rows(db: Database, user_id: int) -> dict[bool, tuple[list, list]]:
    def compute():
        with raw_cursor(db) as (cursor, p):
            rows = people_sql.ranked_people(cursor, user_id, p)
        shown = [person for person in rows if not person["hidden"]]
        return {True: (rows, [json.dumps(person) for person in rows]),
                False: (shown, [json.dumps(person) for person in shown])}

    return counts.get(db, ("people", user_id), compute)


def list_people(db: Database, user_id: int, limit: int = 100, offset: int = 0,
                hidden: bool = False, raw: bool = False) -> Page:
    """People, named first, then by number of faces. `raw`: items as JSON texts."""
    rows, texts = _people_rows(db, user_id)[bool(hidden)]
    page = slice_page(texts if raw else rows, limit, offset)
    return Page(page.items, page.next, raw=raw)


def person_samples(db: Database, user: int | str, person_ids: list[int]) -> dict[int, str]:
    """A file that shows each of these people of the user (by id or name), by its path on
    disk: the one with their best face (people_sql.samples)."""
    with raw_cursor(db) as (cursor, p):
        user_id = user if isinstance(user, int) else people_sql.user_id(cursor, user, p)
        return {} if user_id is None else people_sql.samples(cursor, user_id, person_ids, p)


def get_person(db: Database, user_id: int, person_id: int) -> dict:
    if as_id(person_id) is None:
        raise NotFound(f"no person {person_id}")
    person_id = as_id(person_id)
    with db.session() as session:
        person = session.scalar(select(Person).where(Person.id == person_id,
                                                     Person.user_id == user_id))
        if person is None:
            raise NotFound(f"no person {person_id}")
        faces = session.scalar(select(func.count()).where(Face.person_id == person_id))
        photos = session.scalar(select(func.count(func.distinct(Face.file_id)))
                                .where(Face.person_id == person_id))
    return {"id": person.id, "name": person.name, "hidden": person.hidden, "faces": faces,
            "photos": photos}


def person_by_name(db: Database, user_id: int, name: str) -> dict:
    with db.session() as session:
        person_id = session.scalar(select(Person.id).where(
            Person.user_id == user_id, Person.name_key == fold(name)))
    if person_id is None:
        raise NotFound(f"no person {name!r}")
    return get_person(db, user_id, person_id)


def person_faces(db: Database, user_id: int, person_id: int, limit: int = 100,
                 after: int = 0) -> Page:
    """A person's faces with their files, by face id."""
    get_person(db, user_id, person_id)
    limit = page_limit(limit)
    with db.session() as session:
        rows = session.execute(
            select(Face.id, Face.file_id, Face.quality, File.rel_path)
            .join(File, File.id == Face.file_id)
            .where(Face.person_id == person_id, Face.id > after)
            .order_by(Face.id).limit(limit + 1)).all()
    items = [{"face": f, "file": fid, "quality": round(q, 3), "path": p,
              "name": os.path.basename(p)} for f, fid, q, p in rows[:limit]]
    return Page(items, items[-1]["face"] if len(rows) > limit else None)


def faces_of(db: Database, user_id: int, person_id: int | None, face_id: int | None = None,
             limit: int = MAX_PAGE) -> list[dict]:
    """(For WebDAV's folders.) A person's faces, or with `person_id` None the faces in no
    person (not those marked no face), with their files, by face id; only `face_id` when
    given. At most `limit` (past MAX_PAGE: one folder lists them all at once)."""
    with db.session() as session:
        query = (select(Face.id, File.id, File.rel_path).join(File, File.id == Face.file_id)
                 .where(File.mount_id.in_(owned_mounts(user_id))))
        query = query.where(Face.person_id == person_id if person_id is not None
                            else Face.person_id.is_(None) & Face.not_face.is_(False))
        if face_id is not None:
            query = query.where(Face.id == face_id)
        rows = session.execute(query.order_by(Face.id).limit(max(1, limit))).all()
    return [{"face": f, "file": fid, "path": p, "name": os.path.basename(p)}
            for f, fid, p in rows]


def face_detail(db: Database, user_id: int, face_id: int) -> dict:
    if as_id(face_id) is None:
        raise NotFound(f"no face {face_id}")
    with db.session() as session:
        row = session.execute(
            select(Face, File.rel_path).join(File, File.id == Face.file_id)
            .where(Face.id == face_id, File.mount_id.in_(owned_mounts(user_id)))).first()
        if row is None:
            raise NotFound(f"no face {face_id}")
        face, path = row
        rejected = session.scalars(select(FaceRejection.person_id)
                                   .where(FaceRejection.face_id == face_id)).all()
        name = (session.scalar(select(Person.name).where(Person.id == face.person_id))
                if face.person_id is not None else None)
    return {"id": face.id, "file": face.file_id, "path": path, "person": face.person_id,
            "name": name, "assigned_by": face.assigned_by,
            "drawn": is_drawn(face.model_version), "not_face": face.not_face,
            "not_face_by": face.not_face_by,
            "box": [round(face.x), round(face.y), round(face.width), round(face.height)],
            "quality": round(face.quality, 3), "score": round(face.score, 3),
            "not_person": sorted(rejected), "has_thumbnail": face.thumbnail is not None}


def face_thumbnail(db: Database, user_id: int, face_id: int) -> str:
    """The face's thumbnail, relative to the cache folder (server/files.py opens it)."""
    with db.session() as session:
        thumbnail = session.scalar(
            select(Face.thumbnail).join(File, File.id == Face.file_id)
            .where(Face.id == face_id, File.mount_id.in_(owned_mounts(user_id))))
    if thumbnail is None:
        raise NotFound(f"no thumbnail for face {face_id}")
    return thumbnail


def set_cover(db: Database, user_id: int, person_id: int, face_id: int) -> None:
    """Show this face (one of the person's) for the person."""
    with db.session() as session:
        person = session.scalar(select(Person).where(Person.id == person_id,
                                                     Person.user_id == user_id))
        if person is None:
            raise NotFound(f"no person {person_id}")
        face = session.get(Face, face_id)
        if face is None or face.person_id != person_id:
            raise NotFound(f"face {face_id} is not in person {person_id}")
        if face.thumbnail is None:
            raise Refused("this face has no thumbnail to show")
        generation.bump(session, user_id=user_id)
        person.cover_face_id = face_id
    changed()
