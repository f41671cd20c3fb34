"""Changes to many chosen photos at once (the grids' bulk bar, `POST /api/files/bulk`):
a tag added or taken off, a person said to be in them or not, their faces said to be no
faces. Up to MAX_BULK files; each change is one transaction, whatever the number.

Saying a person is in a photo picks one of its faces: the only face a photo has, or, in a
photo with several, the one most like that person (their faces' mean embedding, which
the photos with one face give a new person first). A face the user already gave to
someone else is never taken; a photo with no face left to give, or where the person is
already, is counted and left alone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import numpy as np
from sqlalchemy import delete, select

from kenning import catalog
from kenning.catalog import NotFound, Refused
from kenning.db import AssignedBy, Database, Face, FileTag, Person, Tag, TagRejection, generation
from kenning.db.schema import File
from kenning.names import BadName, clean, fold

MAX_BULK = 10_000
CHUNK = 2_000  # ids per IN (...): well under any database's limit on parameters


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def owned_ids(session, user_id: int, file_ids: list[int]) -> list[int]:
    """The chosen files, each once; Refused for none or too many, NotFound for a file
    that is not the user's."""
    wanted = sorted(set(file_ids))
    if not wanted:
        raise Refused("choose at least one file")
    if len(wanted) > MAX_BULK:
        raise Refused(f"at most {MAX_BULK} files at once")
    owned: set[int] = set()
    for part in _chunks(wanted):
        owned.update(session.scalars(select(File.id).where(
            File.id.in_(part), File.mount_id.in_(catalog.owned_mounts(user_id)))))
    missing = [i for i in wanted if i not in owned]
    if missing:
        raise NotFound(f"no file {missing[0]}")
    return wanted


def tag_many(db: Database, user_id: int, file_ids: list[int], name: str) -> int:
    """Add a tag (the user's, as typed; see tagnames) to several files; how many."""
    try:
        name = clean(name, "a tag", 100)
    except BadName as exc:
        raise Refused(str(exc)) from exc
    with db.session() as session:
        wanted = owned_ids(session, user_id, file_ids)
        catalog.put_tag(db, session, user_id, wanted, name)
    catalog.changed()
    return len(wanted)


def untag_many(db: Database, user_id: int, file_ids: list[int], name: str) -> int:
    """Take a tag (by name) off several files; how many had it. A classifier's tag is
    remembered as removed (catalog.remove_tag)."""
    key = fold(name)
    with db.session() as session:
        wanted = owned_ids(session, user_id, file_ids)
        rows = []
        for part in _chunks(wanted):
            rows += session.execute(select(FileTag.file_id, FileTag.tag_id, FileTag.source)
                                    .join(Tag).where(FileTag.file_id.in_(part), Tag.key == key,
                                                     Tag.owner_id.in_((0, user_id)))).all()
        if not rows:
            return 0
        generation.bump(session, user_id=user_id)
        pairs = {(f, t) for f, t, _source in rows}
        by_classifier = {(f, t) for f, t, source in rows if source != catalog.USER_TAG}
        rejected = set()
        for tag_id in {t for _f, t in by_classifier}:
            ids = sorted(f for f, t in by_classifier if t == tag_id)
            for part in _chunks(ids):
                rejected.update((f, tag_id) for f in session.scalars(
                    select(TagRejection.file_id).where(TagRejection.file_id.in_(part),
                                                       TagRejection.tag_id == tag_id)))
        session.add_all(TagRejection(file_id=f, tag_id=t) for f, t in by_classifier - rejected)
        for tag_id in {t for _f, t in pairs}:
            ids = sorted(f for f, t in pairs if t == tag_id)
            for part in _chunks(ids):
                session.execute(delete(FileTag).where(FileTag.file_id.in_(part),
                                                      FileTag.tag_id == tag_id))
    catalog.changed()
    return len({f for f, _t in pairs})


# People ---------------------------------------------------------------------------------


def _faces_of(session, file_ids: list[int]) -> dict[int, list]:
    """The faces of these files (not the ones said to be no face), by file."""
    found = defaultdict(list)
    for part in _chunks(file_ids):
        for row in session.execute(select(
                Face.id, Face.file_id, Face.person_id, Face.assigned_by, Face.embedding,
                Face.width, Face.height).where(Face.file_id.in_(part),
                                               Face.not_face.is_(False))):
            found[row.file_id].append(row)
    return found


def _centre(session, person_id: int | None) -> np.ndarray | None:
    if person_id is None:
        return None
    vectors = [np.frombuffer(e, dtype=np.float32) for e in session.scalars(
        select(Face.embedding).where(Face.person_id == person_id))]
    return _mean(vectors)


def _mean(vectors: list[np.ndarray]) -> np.ndarray | None:
    sizes = {len(v) for v in vectors}
    if not vectors or len(sizes) != 1:
        return None
    mean = np.mean(vectors, axis=0)
    return mean / (np.linalg.norm(mean) or 1.0)


def choose_faces(faces_by_file: dict[int, list], file_ids: list[int], person_id: int | None,
                 centre: np.ndarray | None) -> tuple[list[int], dict[str, int]]:
    """One face per photo for the person (see the module's doc): the faces, and how many
    photos were left alone and why."""
    chosen: dict[int, int] = {}
    left = defaultdict(int)
    several = []
    for file_id in file_ids:
        faces = faces_by_file.get(file_id, [])
        if person_id is not None and any(f.person_id == person_id for f in faces):
            left["already there"] += 1
            continue
        free = [f for f in faces if not (f.assigned_by == AssignedBy.USER and f.person_id)]
        if not free:
            left["no face" if not faces else "every face is someone else's"] += 1
        elif len(free) == 1:
            chosen[file_id] = free[0].id
        else:
            several.append(free)
    if several and centre is None:  # a new person: their faces in the photos with one
        ones = [f for faces in faces_by_file.values() for f in faces if f.id in
                set(chosen.values())]
        centre = _mean([np.frombuffer(f.embedding, dtype=np.float32) for f in ones])
    for free in several:
        if centre is None:
            left["several faces: choose the face on the photo"] += 1
            continue
        fitting = [f for f in free if len(f.embedding) == 4 * len(centre)]
        if not fitting:
            left["several faces: choose the face on the photo"] += 1
            continue
        best = max(fitting, key=lambda f: float(np.frombuffer(f.embedding, np.float32) @ centre))
        chosen[best.file_id] = best.id
    return sorted(chosen.values()), dict(left)


def add_person(db: Database, user: str, user_id: int, file_ids: list[int], name: str) -> dict:
    """`name` (a person of the user's, by name, or a new one) is in these photos."""
    from kenning.faces import people

    name = name.strip()
    if not name:
        raise Refused("type a name")
    with db.session() as session:
        wanted = owned_ids(session, user_id, file_ids)
        person_id = session.scalar(select(Person.id).where(Person.user_id == user_id,
                                                           Person.name_key == fold(name)))
        centre = _centre(session, person_id)
        faces, left = choose_faces(_faces_of(session, wanted), wanted, person_id, centre)
        if not faces:
            return {"person": person_id, "name": name, "faces": [], "left": left}
        try:
            result = people.name_faces(db, user, faces, name, session=session)
        except people.PeopleError as exc:
            raise Refused(str(exc)) from exc
    catalog.changed()
    return {"person": result["id"], "name": result["name"], "faces": faces, "left": left}


def remove_person(db: Database, user: str, user_id: int, file_ids: list[int],
                  name: str) -> dict:
    """`name` is not in these photos: their faces in that person come out of it."""
    from kenning.faces import people

    with db.session() as session:
        wanted = owned_ids(session, user_id, file_ids)
        person_id = session.scalar(select(Person.id).where(Person.user_id == user_id,
                                                           Person.name_key == fold(name)))
        if person_id is None:
            raise NotFound(f"no person named {name.strip()!r}")
        faces = [f.id for rows in _faces_of(session, wanted).values() for f in rows
                 if f.person_id == person_id]
    if faces:
        people.remove_faces(db, user, faces)
    catalog.changed()
    return {"person": person_id, "faces": sorted(faces)}


def no_faces(db: Database, user: str, user_id: int, file_ids: list[int]) -> dict:
    """The faces found in these photos are no faces (statues, paintings, a pet)."""
    from kenning.faces import people

    with db.session() as session:
        wanted = owned_ids(session, user_id, file_ids)
        faces = sorted(f.id for rows in _faces_of(session, wanted).values() for f in rows)
    if faces:
        people.mark_not_faces(db, user, faces)
    catalog.changed()
    return {"faces": faces}
