"""MusiCNN's 50 Last.fm tags -> genre, mood, era and sound tags (`music_tags.json`).

A user tag's score is the highest probability among the model tags under it ("Metal" is
the larger of "metal" and "heavy metal"). Each group (genre, mood, era, sound) has one
threshold, tuned by tools/tune_music_tags.py on the dev clips. The model has no tag for
some genres (`not_covered`, e.g. Classical and Reggae); they are never given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

TAXONOMY_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class MusicTaxonomy:
    labels: tuple[str, ...]
    tag_names: tuple[str, ...]
    groups: tuple[str, ...]  # the group of each tag
    members: tuple[tuple[int, ...], ...]  # label indices of each tag
    thresholds: np.ndarray  # (tags,)
    not_covered: tuple[str, ...]

    def tag_scores(self, probabilities: np.ndarray) -> np.ndarray:
        """(labels,) probabilities -> (tags,) scores."""
        return np.array([probabilities[list(m)].max() for m in self.members], dtype=np.float32)

    def tags(self, probabilities: np.ndarray) -> list[tuple[str, float]]:
        scores = self.tag_scores(probabilities)
        hits = np.flatnonzero(scores >= self.thresholds)
        hits = hits[np.argsort(-scores[hits])]
        return [(self.tag_names[i], float(scores[i])) for i in hits]

    def group_of(self, tag: str) -> str | None:
        return self.groups[self.tag_names.index(tag)] if tag in self.tag_names else None

    def top(self, probabilities: np.ndarray, group: str = "genre") -> tuple[str, float]:
        scores = self.tag_scores(probabilities)
        best = max((i for i, g in enumerate(self.groups) if g == group), key=lambda i: scores[i])
        return self.tag_names[best], float(scores[best])


@cache
def music_taxonomy(path: Path = TAXONOMY_DIR / "music_tags.json") -> MusicTaxonomy:
    data = json.loads(path.read_text())
    labels = tuple((TAXONOMY_DIR / data["labels"]).read_text().split("\n")[:-1])
    index = {label: i for i, label in enumerate(labels)}
    names, groups, members, thresholds = [], [], [], []
    for group, tags in data["groups"].items():
        for name, raw in tags.items():
            names.append(name)
            groups.append(group)
            members.append(tuple(index[label] for label in raw))
            thresholds.append(data["thresholds"][group])
    return MusicTaxonomy(labels, tuple(names), tuple(groups), tuple(members),
                         np.array(thresholds, dtype=np.float32), tuple(data["not_covered"]))
