"""People: clustering a user's faces into people, and the corrections a user makes.

Everything a user does is kept: names survive re-clustering and model changes, faces
the user put somewhere stay there, a face taken out of a person never goes back in.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, select, update

from kenning.db import AssignedBy, Database, Face, FaceRejection, File, Mount, Person, User
from kenning.db.generation import bump
from kenning.db.schema import Meta
from kenning.faces import people_tags
from kenning.faces.clustering import Faces, centres, cluster
from kenning.faces.nonhuman import SET_ASIDE, set_aside_non_human
from kenning.faces.quality import SEED_QUALITY
from kenning.names import BadName, clean, fold

# A suggestion for an unassigned face needs this cosine to the person's centre: SFace's
# verification threshold on LFW lands near 0.33 (different people: 75th percentile 0.29).
SUGGEST = 0.35
# "All of these are this person" is offered only when every face is this close: the 5th
# percentile of same-person pairs in LFW's devtest (0.427), far above the 99.9th of
# different people's (0.353), measured face to face (a person's centre is closer still).
CLOSE = 0.42


class PeopleError(ValueError):
    """A person or face the user named does not exist, or the change is not allowed."""


class NoSuchPerson(PeopleError, LookupError):
    """A person, face or user that does not exist (or is not this user's)."""


@dataclass
class ClusterReport:
    joined: int
    new_people: int
    faces_in_new_people: int
    unassigned: int
    set_aside: int = 0  # faces that look like no person's (kenning.faces.nonhuman)


def _user(session, name: str) -> int:
    user_id = session.scalar(select(User.id).where(User.name == name))
    if user_id is None:
        raise NoSuchPerson(f"no user {name!r}")
    return user_id


def _user_faces(user_id: int):
    return (select(Face).join(File, File.id == Face.file_id)
            .join(Mount, Mount.id == File.mount_id).where(Mount.user_id == user_id))


def load_faces(session, user_id: int) -> Faces:
    rows = session.execute(
        select(Face.id, Face.file_id, Face.embedding, Face.quality, Face.person_id)
        .join(File, File.id == Face.file_id).join(Mount, Mount.id == File.mount_id)
        .where(Mount.user_id == user_id, Face.not_face.is_(False)).order_by(Face.id)).all()
    n = len(rows)
    ids = np.array([r.id for r in rows], np.int64)
    embeddings = (np.frombuffer(b"".join(r.embedding for r in rows), np.float32).reshape(n, -1)
                  if n else np.zeros((0, 128), np.float32))
    quality = np.array([r.quality for r in rows], np.float32)
    position = {int(face_id): i for i, face_id in enumerate(ids)}
    rejected = {(position[f], p) for f, p in session.execute(
        select(FaceRejection.face_id, FaceRejection.person_id)
        .where(FaceRejection.face_id.in_(ids.tolist()))) if f in position}
    return Faces(ids, np.array([r.file_id for r in rows], np.int64), embeddings, quality,
                 np.array([r.person_id if r.person_id is not None else -1 for r in rows],
                          np.int64), quality >= SEED_QUALITY, rejected)


def cluster_people(db: Database, user: str) -> ClusterReport:
    """Give unassigned faces a person: an existing one, or a new one if enough are alike."""
    with db.session() as session:
        bump(session, user_id=_user(session, user))
        user_id = _user(session, user)
        mark = session.get(Meta, f"clustered_up_to_face:{user_id}")
        # The first time (a library from before the rule too): all the user's faces.
        checked = session.get(Meta, f"nonhuman_checked:{user_id}")
        set_aside = set_aside_non_human(session, user_id,
                                        int(mark.value) if mark and checked else 0)
        if checked is None:
            session.add(Meta(key=f"nonhuman_checked:{user_id}", value="1"))
        faces = load_faces(session, user_id)
        result = cluster(faces, new=faces.ids > int(mark.value) if mark else None)
        if faces.ids.size:
            if mark is None:
                mark = Meta(key=f"clustered_up_to_face:{user_id}", value="0")
                session.add(mark)
            mark.value = str(int(faces.ids.max()))
        by_person: dict[int, list[int]] = {}
        for index, person in result.joined.items():
            by_person.setdefault(person, []).append(int(faces.ids[index]))
        for person, face_ids in by_person.items():
            session.execute(update(Face).where(Face.id.in_(face_ids))
                            .values(person_id=person, assigned_by=AssignedBy.CLUSTER))
        for members in result.new_people:
            person = Person(user_id=user_id)
            session.add(person)
            session.flush()
            session.execute(update(Face).where(Face.id.in_([int(faces.ids[m]) for m in members]))
                            .values(person_id=person.id, assigned_by=AssignedBy.CLUSTER))
        in_new = sum(len(m) for m in result.new_people)
        return ClusterReport(len(result.joined), len(result.new_people), in_new,
                             int((faces.person < 0).sum()) - len(result.joined) - in_new,
                             set_aside)


def non_human_checked(db: Database, user: str) -> bool:
    """Whether `cluster_people` has looked at all of the user's faces for ones that look
    non-human (a library indexed before that rule had not)."""
    with db.session() as session:
        user_id = session.scalar(select(User.id).where(User.name == user))
        return user_id is None or session.get(Meta, f"nonhuman_checked:{user_id}") is not None


def _is_id(key: str) -> bool:
    return key.isascii() and key.isdigit() and 0 < int(key) < 2**31


def find_person(session, user_id: int, key: str) -> Person:
    """A person by id or by name (names are matched by their fold: kenning.names)."""
    query = select(Person).where(Person.user_id == user_id)
    person = (session.scalar(query.where(Person.id == int(key))) if _is_id(key) else
              session.scalar(query.where(Person.name_key == fold(key))))
    if person is None:
        raise NoSuchPerson(f"no person {key!r} (see `kenning people`)")
    return person


def _find_faces(session, user_id: int, face_ids: list[int]) -> list[Face]:
    faces = session.scalars(_user_faces(user_id).where(Face.id.in_(face_ids))).all()
    missing = set(face_ids) - {f.id for f in faces}
    if missing:
        raise NoSuchPerson(f"no face {', '.join(map(str, sorted(missing)))}")
    return list(faces)


def _name(name: str) -> str:
    try:
        name = clean(name, "a name", 200)
    except BadName as exc:
        raise PeopleError(str(exc)) from exc
    if _is_id(name):
        raise PeopleError("a name cannot be only a number (it would be taken for an id)")
    if name in (".", ".."):  # a person is a folder in WebDAV: these name no folder
        raise PeopleError(f"{name!r} cannot be a name")
    return name


def _named(person: Person, name: str | None) -> None:
    person.name, person.name_key = name, fold(name) if name else None


def name_person(db: Database, user: str, key: str, name: str) -> dict:
    name = _name(name)
    with db.session() as session:
        bump(session, user_id=_user(session, user))
        user_id = _user(session, user)
        person = find_person(session, user_id, key)
        clash = session.scalar(select(Person).where(
            Person.user_id == user_id, Person.name_key == fold(name),
            Person.id != person.id))
        if clash is not None:
            raise PeopleError(f"{clash.name!r} is already person {clash.id}: "
                              f"merge them with `kenning people merge {clash.id} {person.id}`")
        _named(person, name)
        return {"id": person.id, "name": name}


def merge_people(db: Database, user: str, into: str, others: list[str]) -> dict:
    """Move every face of `others` into `into`; the others are deleted. Corrections move too."""
    with db.session() as session:
        bump(session, user_id=_user(session, user))
        user_id = _user(session, user)
        target = find_person(session, user_id, into)
        moved = 0
        for key in others:
            source = find_person(session, user_id, key)
            if source.id == target.id:
                raise PeopleError("cannot merge a person into themselves")
            moved += session.execute(update(Face).where(Face.person_id == source.id)
                                     .values(person_id=target.id)).rowcount
            for face_id in session.scalars(select(FaceRejection.face_id)
                                           .where(FaceRejection.person_id == source.id)).all():
                if session.get(FaceRejection, (face_id, target.id)) is None:
                    session.add(FaceRejection(face_id=face_id, person_id=target.id))
            if target.name is None and source.name:
                name = source.name
                _named(source, None)
                session.flush()
                _named(target, name)
                session.flush()
            session.delete(source)
        return {"id": target.id, "name": target.name, "faces_moved": moved}


@contextmanager
def _session(db: Database, session=None) -> Iterator:
    """`session` when given (the caller's transaction), else a transaction of our own."""
    if session is not None:
        yield session
        return
    with db.session() as own:
        yield own


def move_faces(db: Database, user: str, face_ids: list[int], to: str | None,
               new_name: str | None = None, session=None) -> dict:
    """Put faces into a person (or a new one): the user's choice, which clustering keeps.
    `session`: part of the caller's transaction (nothing is kept if either fails)."""
    with _session(db, session) as session:
        bump(session, user_id=_user(session, user))
        user_id = _user(session, user)
        faces = _find_faces(session, user_id, face_ids)
        if to is None:
            name = _name(new_name) if new_name and new_name.strip() else None
            if name and session.scalar(select(Person.id).where(
                    Person.user_id == user_id, Person.name_key == fold(name))):
                raise PeopleError(f"there is already a person named {name!r}: use --to")
            target = Person(user_id=user_id)
            _named(target, name)
            session.add(target)
            session.flush()
        else:
            target = find_person(session, user_id, to)
        files = [f.file_id for f in faces]
        if len(set(files)) < len(files):
            raise PeopleError("two faces in one photo cannot be the same person")
        clash = session.scalar(select(Face.id).where(
            Face.person_id == target.id, Face.file_id.in_(files), Face.id.notin_(face_ids)))
        if clash is not None:
            raise PeopleError(f"person {target.id} is already in that photo (face {clash}); "
                              "remove that face first")
        for face in faces:
            face.person_id, face.assigned_by = target.id, AssignedBy.USER
            face.not_face, face.not_face_by = False, AssignedBy.USER  # a person after all
            session.execute(delete(FaceRejection).where(FaceRejection.face_id == face.id,
                                                        FaceRejection.person_id == target.id))
        session.flush()
        people_tags.refresh(session, files)
        return {"id": target.id, "name": target.name, "faces": sorted(face_ids)}


def name_faces(db: Database, user: str, face_ids: list[int], name: str,
               session=None) -> dict:
    """These faces are the person called `name`: the user's person of that name (names
    match without case), or a new one. `session`: as in move_faces."""
    with _session(db, session) as session:
        user_id = _user(session, user)
        existing = session.scalar(select(Person.id).where(Person.user_id == user_id,
                                                          Person.name_key == fold(name)))
        if existing is not None:
            return move_faces(db, user, face_ids, str(existing), session=session)
        return move_faces(db, user, face_ids, None, name, session=session)


def mark_not_faces(db: Database, user: str, face_ids: list[int], undo: bool = False) -> dict:
    """These are not faces (a dog, a statue, a pattern on a shirt): out of their person,
    never clustered nor suggested again, and still so after the photo is processed again
    (pipeline.jobs.store_faces). `undo`: they are faces after all (unassigned)."""
    with db.session() as session:
        bump(session, user_id=_user(session, user))
        user_id = _user(session, user)
        changed = 0
        faces = _find_faces(session, user_id, face_ids)
        for face in faces:
            changed += face.not_face == undo
            face.not_face, face.not_face_by = not undo, AssignedBy.USER
            if not undo:
                face.person_id, face.assigned_by = None, None
        session.flush()
        people_tags.refresh(session, [f.file_id for f in faces])
    return {"faces": sorted(face_ids), "not_face": not undo, "changed": changed}


def not_faces(db: Database, user: str, limit: int = 500) -> list[dict]:
    """What the user said are not faces and what was set aside as looking like no
    person's (`automatic`), the latest first."""
    with db.session() as session:
        user_id = _user(session, user)
        rows = session.execute(
            select(Face.id, Face.file_id, File.rel_path, Face.not_face_by)
            .join(File, File.id == Face.file_id).join(Mount, Mount.id == File.mount_id)
            .where(Mount.user_id == user_id, Face.not_face.is_(True))
            .order_by(Face.id.desc()).limit(limit)).all()
    return [{"face": f, "file": file_id, "name": os.path.basename(path),
             "automatic": by == SET_ASIDE} for f, file_id, path, by in rows]


def remove_faces(db: Database, user: str, face_ids: list[int]) -> dict:
    """Take faces out of their person; clustering never puts them back into that person."""
    with db.session() as session:
        bump(session, user_id=_user(session, user))
        user_id = _user(session, user)
        removed = 0
        for face in _find_faces(session, user_id, face_ids):
            if face.person_id is None:
                continue
            if session.get(FaceRejection, (face.id, face.person_id)) is None:
                session.add(FaceRejection(face_id=face.id, person_id=face.person_id))
            face.person_id, face.assigned_by = None, None
            removed += 1
        return {"removed": removed}


def create_person(db: Database, user: str, name: str) -> dict:
    """A named person with no faces yet (faces are then moved into them)."""
    name = _name(name)
    with db.session() as session:
        bump(session, user_id=_user(session, user))
        user_id = _user(session, user)
        if session.scalar(select(Person.id).where(Person.user_id == user_id,
                                                  Person.name_key == fold(name))):
            raise PeopleError(f"there is already a person named {name!r}")
        person = Person(user_id=user_id)
        _named(person, name)
        session.add(person)
        session.flush()
        return {"id": person.id, "name": name}


def dissolve_person(db: Database, user: str, key: str) -> dict:
    """Delete a person; their faces become unassigned (and are not put back into a new
    person unless new faces join them)."""
    with db.session() as session:
        bump(session, user_id=_user(session, user))
        person = find_person(session, _user(session, user), key)
        freed = session.execute(update(Face).where(Face.person_id == person.id)
                                .values(person_id=None, assigned_by=None)).rowcount
        session.delete(person)
        return {"id": person.id, "name": person.name, "faces_unassigned": freed}


def hide_person(db: Database, user: str, key: str, hidden: bool = True) -> dict:
    with db.session() as session:
        bump(session, user_id=_user(session, user))
        person = find_person(session, _user(session, user), key)
        person.hidden = hidden
        return {"id": person.id, "name": person.name, "hidden": hidden}


def unassigned_faces(db: Database, user: str, suggestions: int = 3,
                     limit: int = 200) -> list[dict]:
    """Faces in no person, best first, each with the nearest people as suggestions: those
    at least SUGGEST alike (a face's cosine to the person's centre), the likeliest first."""
    with db.session() as session:
        user_id = _user(session, user)
        faces = load_faces(session, user_id)
        people, centre = centres(faces)
        names = dict(session.execute(select(Person.id, Person.name)
                                     .where(Person.user_id == user_id)).all())
        waiting_ids = faces.ids[faces.person < 0].tolist()
        places = {face_id: (os.path.join(root, rel), file_id)
                  for face_id, root, rel, file_id in session.execute(
                      select(Face.id, Mount.path, File.rel_path, File.id)
                      .join(File, File.id == Face.file_id)
                      .join(Mount, Mount.id == File.mount_id)
                      .where(Face.id.in_(waiting_ids)))}
    waiting = np.flatnonzero(faces.person < 0)
    waiting = waiting[np.argsort(-faces.quality[waiting])][:limit]
    similarity = faces.embeddings[waiting] @ centre.T if people.size else None
    result = []
    for row, index in enumerate(waiting):
        near = []
        if similarity is not None:
            for column in np.argsort(-similarity[row])[:suggestions]:
                person = int(people[column])
                if similarity[row, column] < SUGGEST:
                    break
                if (int(index), person) not in faces.rejected:
                    near.append({"id": person, "name": names.get(person),
                                 "similarity": round(float(similarity[row, column]), 3)})
        face_id = int(faces.ids[index])
        path, file_id = places.get(face_id, (None, None))
        result.append({"face": face_id, "path": path, "file": file_id,
                       "quality": round(float(faces.quality[index]), 3), "suggestions": near})
    return result


def photos_of(db: Database, user: str, keys: list[str]) -> list[str]:
    """Photos in which all of these people appear."""
    with db.session() as session:
        user_id = _user(session, user)
        people = [find_person(session, user_id, key).id for key in keys]
        query = (select(Mount.path, File.rel_path_raw).join(Mount, Mount.id == File.mount_id)
                 .where(Mount.user_id == user_id))
        for person in people:
            query = query.where(File.id.in_(select(Face.file_id).where(Face.person_id == person)))
        rows = session.execute(query.order_by(Mount.path, File.rel_path)).all()
    return [os.fsdecode(os.path.join(os.fsencode(root), raw)) for root, raw in rows]
