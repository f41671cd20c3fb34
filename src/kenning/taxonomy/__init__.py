"""Raw model labels -> the tags a person searches for.

`imagenet_tags.json` is built by tools/build_taxonomy.py from WordNet and its thresholds
tuned by tools/tune_thresholds.py on the dev data. A tag's score is the summed
probability of the ImageNet classes under it, so many similar classes (120 dog breeds)
add up to one confident broad tag ("Dog").
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

    def tag_scores(self, probabilities: np.ndarray) -> np.ndarray:
        """(batch, classes) probabilities -> (batch, tags) scores in [0, 1]."""
        return np.clip(probabilities @ self.membership, 0.0, 1.0)

    def tags(self, probabilities: np.ndarray) -> list[list[tuple[str, float]]]:
        """For each photo, the tags whose score clears their threshold, best first."""
        scores = self.tag_scores(probabilities)
        result = []
        for row in scores:
            hits = np.flatnonzero(row >= self.thresholds)
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
    return ImagenetTaxonomy(tuple(c["wnid"] for c in classes), tuple(c["label"] for c in classes),
                            tuple(names), membership, thresholds)
