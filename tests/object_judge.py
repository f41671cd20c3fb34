"""Judging the object tags Kenning gives the dev photos (the accuracy tests and
tools/judge_object_tags.py): does a photo get a tag that fits, how many of the tags fit,
and which contradict the photo.

- ImageNet dev photos: a tag fits when it is a tag of the photo's true class (tags the
  objects model cannot give, People from faces, are not judged here). A tag that
  does not fit contradicts the photo when it names another kind of thing: an "exclusive"
  kind (a dog photo tagged Cat), or a narrower tag under one that fits, whose classes
  leave the true one out (a cello tagged Violin: both Musical instrument).
- Caltech-101 dev photos: a tag fits when it is listed for the photo's coarse kind or its
  category (tests/data/object_tag_fits.json); an exclusive kind that is not, contradicts.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FITS = json.loads((Path(__file__).resolve().parent / "data" / "object_tag_fits.json")
                  .read_text())
EXCLUSIVE = set(FITS["exclusive"])


@dataclass
class Judgement:
    photos: int = 0
    fitting_photos: int = 0  # photos with at least one fitting tag
    right: int = 0  # tags that fit
    wrong: int = 0  # tags that do not
    contradictions: list[tuple[str, str]] = field(default_factory=list)
    untagged: list[str] = field(default_factory=list)  # photos with no fitting tag
    unfit: list[tuple[str, str]] = field(default_factory=list)

    @property
    def fitting_share(self) -> float:
        return self.fitting_photos / max(1, self.photos)

    @property
    def precision(self) -> float:
        return self.right / max(1, self.right + self.wrong)

    def add(self, label: str, given: set[str], fits: set[str], contradicting: set[str]) -> None:
        self.photos += 1
        if given & fits:
            self.fitting_photos += 1
        else:
            self.untagged.append(label)
        self.right += len(given & fits)
        self.wrong += len(given - fits)
        self.unfit += [(label, t) for t in sorted(given - fits)]
        self.contradictions += [(label, t) for t in sorted(contradicting)]

    def summary(self, name: str) -> str:
        return (f"{name}: {self.fitting_photos} of {self.photos} photos "
                f"({self.fitting_share:.1%}) get a fitting tag; {self.right + self.wrong} "
                f"tags, {self.precision:.1%} fit; {len(self.contradictions)} contradictions")


def imagenet_rows(folder: Path) -> list[dict]:
    with open(folder / "manifest.csv") as f:
        return list(csv.DictReader(f))


def caltech_rows(folder: Path) -> list[dict]:
    """The Caltech-101 dev photos, but the background ones (no kind to fit) and
    duplicates."""
    with open(folder / "manifest.csv") as f:
        return [r for r in csv.DictReader(f)
                if r["coarse"] != "background" and not r.get("duplicate_of")]


def judge_imagenet(taxonomy, rows: list[dict], given: list[set[str]]) -> Judgement:
    members = taxonomy.membership > 0
    classes_of = {name: set(np.flatnonzero(members[:, j]))
                  for j, name in enumerate(taxonomy.tag_names)}
    judgement = Judgement()
    for row, tags in zip(rows, given, strict=True):
        tags = {t for t in tags if t in classes_of}  # (People tags: the faces' judges')
        truth = int(row["class_index"])
        fits = {taxonomy.tag_names[j] for j in np.flatnonzero(members[truth])}
        contradicting = set()
        for tag in tags - fits:
            narrower = any(classes_of[tag] < classes_of[f] for f in fits if f in classes_of)
            if narrower or (tag in EXCLUSIVE and fits & EXCLUSIVE):
                contradicting.add(tag)
        judgement.add(row["label"], tags, fits, contradicting)
    return judgement


def judge_caltech(rows: list[dict], given: list[set[str]]) -> Judgement:
    judgement = Judgement()
    for row, tags in zip(rows, given, strict=True):
        fits = set(FITS["coarse"][row["coarse"]]) | set(FITS["per_category"].get(row["label"],
                                                                                 ()))
        judgement.add(row["label"], tags, fits, {t for t in tags - fits if t in EXCLUSIVE})
    return judgement
