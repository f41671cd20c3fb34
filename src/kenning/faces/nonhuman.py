"""Faces that are not people's: an iguana, a dog, a teddy bear or a totem pole that the face
detector took for a face. They are set aside ("not a face", by "auto") before clustering,
so they never start or join a person; the user can say "it is a face" and that is final.

The rule, measured with `tools/measure_nonhuman_faces.py` on the dev data: a face the
detector is less than SURE_FACE sure of, in a photo the objects classifier sees as an
animal or a made face (its top-5 ImageNet classes of those kinds at least MASS probable).
Of 6,329 human faces in the dev face photos (LFW, deepface, dlib, face_recognition), none
is set aside (the human faces in animal-looking photos, a man holding fish, all score
0.92 or more); of the 2 faces found in the 100 dev ImageNet photos, the iguana's is set
aside and the man's holding two hammerhead sharks is kept.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

from sqlalchemy import or_, select, update

from kenning.db import AssignedBy, Face, File, FileLabel, Mount, Person
from kenning.faces.drawn import is_drawn
from kenning.taxonomy import imagenet_taxonomy

SURE_FACE = 0.9  # 11.6% of LFW's faces score below this: the score alone cannot decide
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


def not_human_mass(labels: list[tuple[str, float]]) -> float:
    """How probable the objects classifier finds it that the photo shows an animal or a
    made face, from its stored labels ("n01677366 common iguana", probability)."""
    classes = not_human_classes()
    return sum(score for label, score in labels if label.split(" ", 1)[0] in classes)


def looks_non_human(score: float, labels: list[tuple[str, float]]) -> bool:
    return score < SURE_FACE and not_human_mass(labels) >= MASS


def set_aside_non_human(session, user_id: int, after: int = 0) -> int:
    """Of the user's faces with ids above `after`, those that look non-human and that the
    user has not decided about are set aside. Returns how many. A face the user has
    decided about is left alone: one they said is or is not a face, one they put in a
    person, one in a person they named (their dog, if they want it as a person)."""
    labels: dict[int, list[tuple[str, float]]] = defaultdict(list)
    scores: dict[int, float] = {}
    for face_id, face_score, version, label, score in session.execute(
            select(Face.id, Face.score, Face.model_version, FileLabel.label, FileLabel.score)
            .join(File, File.id == Face.file_id).join(Mount, Mount.id == File.mount_id)
            .join(FileLabel, (FileLabel.file_id == Face.file_id)
                  & (FileLabel.classifier == "objects"))
            .join(Person, Person.id == Face.person_id, isouter=True)
            .where(Mount.user_id == user_id, Face.id > after, Face.not_face_by.is_(None),
                   Face.score < SURE_FACE, Person.name.is_(None),
                   or_(Face.assigned_by.is_(None), Face.assigned_by != AssignedBy.USER))):
        if not is_drawn(version):
            scores[face_id] = face_score
            labels[face_id].append((label, score))
    aside = [f for f, score in scores.items() if looks_non_human(score, labels[f])]
    for start in range(0, len(aside), 500):
        session.execute(update(Face).where(Face.id.in_(aside[start:start + 500])).values(
            not_face=True, not_face_by=SET_ASIDE, person_id=None, assigned_by=None))
    return len(aside)
