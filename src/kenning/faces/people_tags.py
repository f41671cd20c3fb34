"""Tags from a photo's human faces, so that searching "people", "portrait" or "group"
finds them: People whenever a human face is in it, Portrait for one large face, Group
for three faces or more of comparable size. They are the faces classifier's tags
(source "faces") and follow the faces: redone whenever a file's faces change (found
again, set aside as not a face or put back, drawn), never given where the user removed
them.

A photo whose subject is a person (a face at least PORTRAIT_SHARE of its height) does not
get the objects model's clothing tags either: a suit or a lab coat is what the model sees
of a person, not what the photo is of.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select

from kenning.db import Face, File, FileTag, Tag, TagRejection
from kenning.db.schema import SHARED
from kenning.names import fold

PEOPLE, PORTRAIT, GROUP = "People", "Portrait", "Group"
NAMES = (PEOPLE, PORTRAIT, GROUP)
SOURCE = "faces"
PORTRAIT_SHARE = 0.2  # of the photo's height (about a head-and-shoulders photo)
GROUP_FACES = 3
COMPARABLE = 0.4  # a face this share of the largest one's height is one of the group
# The objects model's tags for what people wear (their classes are all clothing).
WORN = ("Clothing", "Suit", "Tie", "Coat", "Sweater", "Dress", "Jeans", "Skirt", "Kimono",
        "Pyjamas", "Bra", "Apron", "Swimwear", "Diaper")


def tags_for(faces: list[tuple[float, float]], height: int | None) -> list[tuple[str, float]]:
    """The tags of a photo with these human faces ((box height, score) each) and this
    height as shown. Faces much smaller than the largest (people in the background)
    count for People only: Portrait is one face of at least PORTRAIT_SHARE of the photo
    with no other of even half its size, Group three faces or more of comparable size."""
    if not faces:
        return []
    best = max(score for _, score in faces)
    largest = max(faces)
    tags = [(PEOPLE, best)]
    if height and largest[0] >= PORTRAIT_SHARE * height and \
            sum(h >= 0.5 * largest[0] for h, _ in faces) == 1:
        tags.append((PORTRAIT, largest[1]))
    if sum(h >= COMPARABLE * largest[0] for h, _ in faces) >= GROUP_FACES:
        tags.append((GROUP, best))
    return tags


def _tag_ids(session, names: Iterable[str]) -> dict[str, int]:
    """Ids of these shared tags, made where new."""
    from sqlalchemy.dialects import postgresql, sqlite

    names = sorted(set(names))
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(Tag).on_conflict_do_nothing(), [
        {"name": n, "key": fold(n), "owner_id": SHARED} for n in names])
    by_key = dict(session.execute(select(Tag.key, Tag.id).where(
        Tag.owner_id == SHARED, Tag.key.in_([fold(n) for n in names]))).all())
    return {n: by_key[fold(n)] for n in names}


def refresh(session, file_ids: Iterable[int]) -> None:
    """Give these files the People tags their human faces call for now, and take the
    objects' clothing tags from those whose subject is a person."""
    ids = sorted(set(file_ids))
    if not ids:
        return
    tag_ids = _tag_ids(session, NAMES)
    worn = [i for i, in session.execute(select(Tag.id).where(
        Tag.owner_id == SHARED, Tag.key.in_([fold(n) for n in WORN])))]
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        heights = dict(session.execute(select(File.id, File.height)
                                      .where(File.id.in_(part))).all())
        faces: dict[int, list[tuple[float, float]]] = {i: [] for i in part}
        for file_id, height, score in session.execute(
                select(Face.file_id, Face.height, Face.score)
                .where(Face.file_id.in_(part), Face.not_face.is_(False))):
            faces[file_id].append((height, score))
        refused = set(session.execute(select(TagRejection.file_id, TagRejection.tag_id).where(
            TagRejection.file_id.in_(part), TagRejection.tag_id.in_(tag_ids.values()))))
        session.execute(delete(FileTag).where(FileTag.file_id.in_(part),
                                              FileTag.source == SOURCE,
                                              FileTag.tag_id.in_(tag_ids.values())))
        rows = [{"file_id": f, "tag_id": tag_ids[name], "source": SOURCE, "score": score,
                 "model_version": "people-tags-1"}
                for f in part for name, score in tags_for(faces[f], heights.get(f))
                if (f, tag_ids[name]) not in refused]
        if rows:
            session.execute(insert(FileTag), rows)
        subjects = [f for f in part if heights.get(f) and any(
            h >= PORTRAIT_SHARE * heights[f] for h, _ in faces[f])]
        if subjects and worn:
            session.execute(delete(FileTag).where(FileTag.file_id.in_(subjects),
                                                  FileTag.source == "objects",
                                                  FileTag.tag_id.in_(worn)))


BACKFILLED = "people_tags_revision"
REVISION = "1"


def backfill(db) -> int:
    """Once per library: People tags for the files whose faces were found before there
    were such tags. Returns how many files were looked at."""
    from kenning.db.schema import Meta

    with db.session() as session:
        if session.get(Meta, BACKFILLED) is not None and \
                session.get(Meta, BACKFILLED).value == REVISION:
            return 0
        ids = list(session.scalars(select(Face.file_id).distinct()))
        refresh(session, ids)
        row = session.get(Meta, BACKFILLED)
        if row is None:
            session.add(Meta(key=BACKFILLED, value=REVISION))
        else:
            row.value = REVISION
    return len(ids)
