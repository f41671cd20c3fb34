"""Raw model labels -> the tags a person searches for.

`imagenet_tags.json` is built by tools/build_taxonomy.py from WordNet and its thresholds
tuned by tools/tune_thresholds.py on the dev data. A tag's score is the summed
probability of the ImageNet classes under it, so many similar classes (120 dog breeds)
add up to one confident broad tag ("Dog"). A family tag (Architecture, Landscape) sums
the classes of every tag of its kind the same way: a photo the model finds somewhat a
palace, somewhat a monastery and somewhat a church is Architecture.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

TAXONOMY_DIR = Path(__file__).resolve().parent
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ImagenetTaxonomy:
    wnids: tuple[str, ...]
    labels: tuple[str, ...]
    tag_names: tuple[str, ...]
    membership: np.ndarray  # (classes, tags) float32 0/1
    thresholds: np.ndarray  # (tags,)
    top1_sure: float = 2.0  # a top-1 class at least this probable gives all its tags
    # Families: (tag column, (classes,) bool) — a broad tag ("Architecture") given when
    # the summed probability of all the classes of its kind (any building, tower, temple,
    # castle...) reaches `family_threshold`, however it is spread among them.
    families: tuple[tuple[int, np.ndarray], ...] = ()
    family_threshold: float = 2.0

    def tag_scores(self, probabilities: np.ndarray) -> np.ndarray:
        """(batch, classes) probabilities -> (batch, tags) scores in [0, 1]."""
        return np.clip(probabilities @ self.membership, 0.0, 1.0)

    def decide(self, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores, fired), both (batch, tags). A tag fires when its score clears its
        threshold, or when it is a tag of a top-1 class at least `top1_sure` probable (a
        confident answer such as "container ship" at 0.47 always gives Ship, whatever the
        threshold of a tag with no dev examples); its score is then at least that."""
        scores = self.tag_scores(probabilities)
        fired = scores >= self.thresholds
        for column, members in self.families:
            mass = probabilities[:, members].sum(axis=1)
            family = mass >= self.family_threshold
            fired[:, column] |= family
            scores[:, column] = np.where(family, np.maximum(scores[:, column], mass),
                                         scores[:, column])
        top, best = probabilities.argmax(axis=1), probabilities.max(axis=1)
        sure = np.flatnonzero(best >= self.top1_sure)
        if sure.size:
            members = self.membership[top[sure]] > 0
            fired[sure] |= members
            scores[sure] = np.where(members, np.maximum(scores[sure], best[sure, None]),
                                    scores[sure])
        return scores, fired

    def tags(self, probabilities: np.ndarray) -> list[list[tuple[str, float]]]:
        """For each photo, the tags decided (decide), best first."""
        scores, fired = self.decide(probabilities)
        result = []
        for row, hit in zip(scores, fired, strict=True):
            hits = np.flatnonzero(hit)
            hits = hits[np.argsort(-row[hits])]
            result.append([(self.tag_names[i], float(row[i])) for i in hits])
        return result

    def classes_with_tag(self, name: str) -> list[int]:
        column = self.tag_names.index(name)
        return [int(i) for i in np.flatnonzero(self.membership[:, column])]


@cache
def imagenet_taxonomy(path: Path = TAXONOMY_DIR / "imagenet_tags.json") -> ImagenetTaxonomy:
    data = json.loads(path.read_text())
    classes = data["classes"]
    names = sorted({tag for c in classes for tag in c["tags"]})
    column = {name: i for i, name in enumerate(names)}
    membership = np.zeros((len(classes), len(names)), dtype=np.float32)
    for row, entry in enumerate(classes):
        for tag in entry["tags"]:
            membership[row, column[tag]] = 1.0
    tuned = data.get("thresholds", {})
    thresholds = np.array([tuned.get(n, DEFAULT_THRESHOLD) for n in names], dtype=np.float32)
    families = tuple(
        (column[family], membership[:, [column[t] for t in members if t in column]].any(axis=1))
        for family, members in data.get("families", {}).items() if family in column)
    return ImagenetTaxonomy(tuple(c["wnid"] for c in classes), tuple(c["label"] for c in classes),
                            tuple(names), membership, thresholds,
                            float(data.get("top1_sure", 2.0)), families,
                            float(data.get("family_threshold", 2.0)))
