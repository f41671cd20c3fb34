"""Faces that are not people's: an iguana, a dog, a teddy bear or a totem pole that the face
detector took for a face. They are set aside ("not a face", by "auto") before clustering,
so they never start or join a person; the user can say "it is a face" and that is final.

The rule, measured with `tools/measure_nonhuman_faces.py`: a face the detector is less
than SURE_FACE sure of, in a photo the objects classifier sees as an animal or a made
face (`not_human_mass` at least MASS). Of the 6,329 human faces in the dev face photos
(LFW, deepface, dlib, face_recognition), none is set aside: the 13 in photos tagged
Animal all score 0.903 or more. Set aside: the iguana's face in the dev ImageNet photos
(0.80) and a bull mastiff's in foolbox's ImageNet samples (0.85); kept: the man holding
two hammerhead sharks (0.94). SURE_FACE sits between those two sides.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

from sqlalchemy import or_, select, update

from kenning.db import AssignedBy, Face, File, FileLabel, FileTag, Mount, Person, Tag
from kenning.db.schema import SHARED
from kenning.faces.drawn import is_drawn
from kenning.taxonomy import imagenet_taxonomy

SURE_FACE = 0.88  # 8% of LFW's faces score below this: the score alone cannot decide
MASS = 0.5
SET_ASIDE = "auto"  # Face.not_face_by of the faces set aside here
NOT_HUMAN_TAGS = ("Animal", "Teddy bear", "Comic")
NOT_HUMAN_LABELS = ("totem pole", "mask")


@cache
def not_human_classes() -> frozenset[str]:
    """ImageNet ids (wnid) whose photos show faces that are no person's."""
    taxonomy = imagenet_taxonomy()
    rows = {i for tag in NOT_HUMAN_TAGS for i in taxonomy.classes_with_tag(tag)}
    rows |= {i for i, label in enumerate(taxonomy.labels) if label in NOT_HUMAN_LABELS}
    return frozenset(taxonomy.wnids[i] for i in rows)


def not_human_mass(labels: list[tuple[str, float]], tag_scores: list[float] = ()) -> float:
    """How probable the objects classifier finds it that the photo shows an animal or a
    made face: the score of its Animal, Teddy bear or Comic tag (the summed probability of
    all their classes), or of its stored top labels ("n01677366 common iguana", p) of
    those kinds and of masks and totem poles, whichever is more."""
    classes = not_human_classes()
    from_labels = sum(score for label, score in labels if label.split(" ", 1)[0] in classes)
    return max([from_labels, *tag_scores])


def looks_non_human(score: float, labels: list[tuple[str, float]],
                    tag_scores: list[float] = ()) -> bool:
    return score < SURE_FACE and not_human_mass(labels, tag_scores) >= MASS


def set_aside_non_human(session, user_id: int, after: int = 0) -> int:
    """Of the user's faces with ids above `after`, those that look non-human and that the
    user has not decided about are set aside. Returns how many. A face the user has
    decided about is left alone: one they said is or is not a face, one they put in a
    person, one in a person they named (their dog, if they want it as a person)."""
    candidates = session.execute(
        select(Face.id, Face.file_id, Face.score, Face.model_version)
        .join(File, File.id == Face.file_id).join(Mount, Mount.id == File.mount_id)
        .join(Person, Person.id == Face.person_id, isouter=True)
        .where(Mount.user_id == user_id, Face.id > after, Face.not_face_by.is_(None),
               Face.score < SURE_FACE, Person.name.is_(None),
               or_(Face.assigned_by.is_(None), Face.assigned_by != AssignedBy.USER))).all()
    candidates = [c for c in candidates if not is_drawn(c.model_version)]
    labels: dict[int, list[tuple[str, float]]] = defaultdict(list)
    tags: dict[int, list[float]] = defaultdict(list)
    files = sorted({c.file_id for c in candidates})
    for start in range(0, len(files), 500):
        part = files[start:start + 500]
        for file_id, label, score in session.execute(
                select(FileLabel.file_id, FileLabel.label, FileLabel.score)
                .where(FileLabel.classifier == "objects", FileLabel.file_id.in_(part))):
            labels[file_id].append((label, score))
        for file_id, score in session.execute(
                select(FileTag.file_id, FileTag.score).join(Tag, Tag.id == FileTag.tag_id)
                .where(FileTag.source == "objects", FileTag.file_id.in_(part),
                       Tag.owner_id == SHARED, Tag.name.in_(NOT_HUMAN_TAGS))):
            tags[file_id].append(score)
    aside = [c.id for c in candidates
             if looks_non_human(c.score, labels[c.file_id], tags[c.file_id])]
    for start in range(0, len(aside), 500):
        session.execute(update(Face).where(Face.id.in_(aside[start:start + 500])).values(
            not_face=True, not_face_by=SET_ASIDE, person_id=None, assigned_by=None))
    if aside:
        from kenning.faces import people_tags

        people_tags.refresh(session, {c.file_id for c in candidates if c.id in set(aside)})
    return len(aside)
