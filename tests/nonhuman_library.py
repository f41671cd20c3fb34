"""One library of human and non-human faces from the dev data, and what Kenning made of
it (the non-human faces test and tools/measure_nonhuman_faces.py).

Non-human: everything in `nonhuman_faces/` (four recurring cartoon characters, cats and
dogs, sculpted busts, paintings and drawings of people, aligned animal faces), except the
two people photographed with their dogs in `pets/` (a girl beside her dog, a woman
holding a spaniel: looked at by a developer, listed in PET_OWNERS). Human: the dev people
photos (LFW's 50 people with six photos or more, deepface, dlib's hand-boxed photos,
face_recognition's examples, street crowds; but dlib's photo for its dog detector) and
those two owners.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from kenning.pipeline.jobs import box_overlap

NON_HUMAN_SETS = ("anime", "pets", "busts", "peopleart", "afhq")
HUMAN_SETS = ("deepface", "dlib_johns", "face_recognition_examples", "crowds")
PHOTOS = (".jpg", ".jpeg", ".png")
# (photo in pets/, the face's box as shown: x, y, width, height): people, not pets.
PET_OWNERS = (("dog.4760.jpg", (122, 61, 77, 93)), ("dog.4378.jpg", (337, 102, 71, 108)))
# dlib's example photos for its dog-face detector, among its people photos.
DOGS_AMONG_PEOPLE = ("examples_faces_dogs.jpg",)
LFW_LEAST = 6  # photos of one LFW person, for people that clustering can form


def build(dev: Path, library: Path) -> dict[str, int]:
    """The library's photos (linked where possible, else copied); photos per set."""
    counts: Counter[str] = Counter()

    def put(source: Path, target: Path, kind: str) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        counts[kind] += 1

    sets = [("nonhuman", dev / "nonhuman_faces", kind) for kind in NON_HUMAN_SETS]
    sets += [("human", dev / "faces", kind) for kind in HUMAN_SETS]
    for side, parent, kind in sets:
        base = parent / kind
        for path in sorted(base.rglob("*")):
            if path.suffix.lower() in PHOTOS and path.is_file():
                put(path, library / side / kind / "_".join(path.relative_to(base).parts),
                    kind)
    lfw = dev / "faces" / "lfw_view1"
    with open(lfw / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    photos = Counter(r["label"] for r in rows)
    for row in rows:
        if photos[row["label"]] >= LFW_LEAST:
            put(lfw / row["file"], library / "human" / "lfw" / Path(row["file"]).name, "lfw")
    return dict(counts)


@dataclass
class Outcome:
    human: int = 0
    human_set_aside: list[str] = field(default_factory=list)
    owners: int = 0  # the pet owners' faces found
    owners_set_aside: int = 0
    non_human: int = 0
    non_human_set_aside: int = 0
    non_human_unclustered: int = 0
    non_human_in_people: list[str] = field(default_factory=list)
    people_of_non_human: list[list[str]] = field(default_factory=list)  # their faces' photos
    by_set: dict[str, Counter] = field(default_factory=dict)

    @property
    def non_human_out(self) -> float:
        """The share of non-human faces set aside or in no person."""
        return (self.non_human_set_aside + self.non_human_unclustered) / max(1, self.non_human)

    @property
    def human_set_aside_share(self) -> float:
        return len(self.human_set_aside) / max(1, self.human)

    def lines(self) -> list[str]:
        lines = [f"human_faces: {self.human}",
                 f"human_faces_set_aside: {len(self.human_set_aside)} "
                 f"({self.human_set_aside_share:.2%})",
                 f"pet_owner_faces_set_aside: {self.owners_set_aside} of {self.owners}",
                 f"non_human_faces: {self.non_human}",
                 f"non_human_faces_set_aside: {self.non_human_set_aside}",
                 f"non_human_faces_unclustered: {self.non_human_unclustered}",
                 f"non_human_faces_set_aside_or_unclustered: {self.non_human_out:.1%}",
                 f"non_human_faces_in_people: {len(self.non_human_in_people)}",
                 f"people_made_of_non_human_faces: {len(self.people_of_non_human)}"]
        for kind, counts in sorted(self.by_set.items()):
            lines.append(f"set_{kind}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        lines += [f"human_face_set_aside: {p}" for p in self.human_set_aside]
        lines += [f"person_of_non_human_faces: {' '.join(p)}" for p in self.people_of_non_human]
        return lines


def measure(database: Path) -> Outcome:
    """What `kenning index` made of the library (its SQLite database)."""
    db = sqlite3.connect(database)
    faces = db.execute(
        "SELECT faces.id, files.rel_path, faces.x, faces.y, faces.width, faces.height, "
        "faces.not_face_by, faces.person_id FROM faces "
        "JOIN files ON files.id = faces.file_id").fetchall()
    db.close()
    outcome = Outcome()
    members: dict[int, list[tuple[bool, str]]] = defaultdict(list)
    for _id, rel, x, y, w, h, by, person in faces:
        rel = rel.decode() if isinstance(rel, bytes) else rel
        side, kind = rel.split("/")[:2]
        name = rel.rsplit("/", 1)[-1]
        owner = kind == "pets" and any(name.endswith(n) and box_overlap((x, y, w, h), box) > 0.5
                                       for n, box in PET_OWNERS)
        human = (side == "human" and name not in DOGS_AMONG_PEOPLE) or owner
        aside = by == "auto"
        counts = outcome.by_set.setdefault(kind + ("_owners" if owner else ""), Counter())
        counts["faces"] += 1
        counts["set_aside"] += aside
        counts["in_people"] += person is not None
        if human:
            outcome.human += 1
            outcome.owners += owner
            outcome.owners_set_aside += owner and aside
            if aside:
                outcome.human_set_aside.append(rel)
        else:
            outcome.non_human += 1
            outcome.non_human_set_aside += aside
            outcome.non_human_unclustered += not aside and person is None
        if person is not None:
            members[person].append((human, rel))
    for faces_of in members.values():
        non_human = [rel for human, rel in faces_of if not human]
        outcome.non_human_in_people += non_human
        if len(non_human) * 2 >= len(faces_of):
            outcome.people_of_non_human.append([rel for _h, rel in faces_of])
    return outcome
