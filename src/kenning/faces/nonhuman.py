"""Faces that are not people's: an iguana, a dog, a teddy bear or a totem pole that the face
detector took for a face. They are set aside ("not a face", by "auto") before clustering,
so they never start or join a person; the user can say "it is a face" and that is final.

Decided per face, in photos the objects classifier sees as an animal or a made face
(`not_human_mass` at least MASS): the face's own crop (1.6 times the face, the face
thumbnail's framing) goes through the objects model too (`judge_crops`, at indexing, for
faces the detector is less than CERTAIN of and at least JUDGED_SIDE pixels), and the face
is set aside when the crop looks non-human (CROP_MASS) and the detector was unsure
(SURE_FACE), or when the crop is clearly an animal's (CROP_SURE). So the owner hugging her
terrier keeps her face (her crop is a person's) while the terrier's face is set aside, even
when the detector is sure of it. A face whose crop was not judged (found before this rule,
too small, or the objects model off) falls back to the photo: set aside when unsure.
In any photo, a doubtful face whose crop is a made face (a comic, a mask, a totem pole, a
carved pumpkin: MADE_MASS) is set aside too: none of the dev data's 1,131 people's faces
is, about two in three cartoon faces are.

Measured with `tools/measure_nonhuman_faces.py` on the dev data: see docs/known-gaps.md.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

import numpy as np
from sqlalchemy import or_, select, update

from kenning.db import AssignedBy, Face, File, FileLabel, FileTag, Mount, Person, Tag
from kenning.db.schema import SHARED
from kenning.faces.marks import is_drawn
from kenning.taxonomy import imagenet_taxonomy

SURE_FACE = 0.88  # 8% of LFW's faces score below this: the score alone cannot decide
CERTAIN = 0.92  # faces scored this or more are people's, whatever their crop looks like
MASS = 0.5  # the photo's
CROP_MASS = 0.4  # the face crop's, for a face below SURE_FACE
CROP_SURE = 0.7  # the face crop's, for a face from SURE_FACE to CERTAIN
MADE_MASS = 0.4  # the face crop's made-face classes, for a face below CERTAIN
JUDGED_SIDE = 32  # pixels (as decoded): a smaller face's crop is too blurred to judge
CROP_SCALE = 1.6
SET_ASIDE = "auto"  # Face.not_face_by of the faces set aside here
NOT_HUMAN_TAGS = ("Animal", "Teddy bear", "Comic")
NOT_HUMAN_LABELS = ("totem pole", "mask", "jack-o'-lantern")


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


@cache
def _not_human_rows() -> tuple[np.ndarray, np.ndarray]:
    """The objects model's classes of non-human faces, and of made ones alone."""
    taxonomy = imagenet_taxonomy()
    classes = not_human_classes()
    made = {*taxonomy.classes_with_tag("Comic"),
            *(i for i, label in enumerate(taxonomy.labels) if label in NOT_HUMAN_LABELS)}
    return (np.array([i for i, wnid in enumerate(taxonomy.wnids) if wnid in classes]),
            np.array(sorted(made)))


def judged(score: float, box: tuple[float, float, float, float]) -> bool:
    """Whether a face's crop is worth judging: the detector unsure, the face large enough."""
    return score < CERTAIN and min(box[2], box[3]) >= JUDGED_SIDE


def judge_crops(objects, image, faces) -> list[tuple[float, float] | None]:
    """For each detection (box and score, in `image`'s pixels), how much its crop looks
    like an animal or a made face, and like a made face alone, to the objects model
    (`objects`: an ObjectsClassifier), or None where it is not judged (see `judged`).
    One batch for the photo's faces."""
    from kenning.media.images import model_input_from_image

    chosen = [i for i, face in enumerate(faces) if judged(face.score, face.box)]
    looks: list[tuple[float, float] | None] = [None] * len(faces)
    if not chosen:
        return looks
    crops = []
    for i in chosen:
        x, y, w, h = faces[i].box
        side = max(w, h) * CROP_SCALE
        cx, cy = x + w / 2, y + h / 2
        crop = image.crop((round(cx - side / 2), round(cy - side / 2),
                           round(cx + side / 2), round(cy + side / 2)))
        crops.append(model_input_from_image(crop, objects.size))
    session = objects.session
    probabilities = session.run(None, {session.get_inputs()[0].name: np.stack(crops)})[0]
    not_human, made = _not_human_rows()
    for i, row in zip(chosen, probabilities, strict=True):
        looks[i] = (round(float(row[not_human].sum()), 4), round(float(row[made].sum()), 4))
    return looks


def looks_non_human(score: float, labels: list[tuple[str, float]],
                    tag_scores: list[float] = (), crop: float | None = None,
                    made: float | None = None) -> bool:
    """Whether a face (detector score, its crop's look or None) in a photo with these
    object labels and tag scores is set aside (see the module's doc)."""
    if score >= CERTAIN:
        return False
    if made is not None and made >= MADE_MASS:
        return True
    if not_human_mass(labels, tag_scores) < MASS:
        return False
    if crop is None:
        return score < SURE_FACE
    return crop >= CROP_MASS and (score < SURE_FACE or crop >= CROP_SURE)


def set_aside_non_human(session, user_id: int, after: int = 0) -> int:
    """Of the user's faces with ids above `after`, those that look non-human and that the
    user has not decided about are set aside. Returns how many. A face the user has
    decided about is left alone: one they said is or is not a face, one they put in a
    person, one in a person they named (their dog, if they want it as a person)."""
    candidates = session.execute(
        select(Face.id, Face.file_id, Face.score, Face.model_version, Face.non_human,
               Face.made_face)
        .join(File, File.id == Face.file_id).join(Mount, Mount.id == File.mount_id)
        .join(Person, Person.id == Face.person_id, isouter=True)
        .where(Mount.user_id == user_id, Face.id > after, Face.not_face_by.is_(None),
               Face.score < CERTAIN, Person.name.is_(None),
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
             if looks_non_human(c.score, labels[c.file_id], tags[c.file_id], c.non_human,
                               c.made_face)]
    for start in range(0, len(aside), 500):
        session.execute(update(Face).where(Face.id.in_(aside[start:start + 500])).values(
            not_face=True, not_face_by=SET_ASIDE, person_id=None, assigned_by=None))
    if aside:
        from kenning.faces import people_tags

        people_tags.refresh(session, {c.file_id for c in candidates if c.id in set(aside)})
    return len(aside)
