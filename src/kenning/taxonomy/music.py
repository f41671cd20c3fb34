"""MusiCNN's tags -> genre, mood, era and sound tags (`music_tags.json`).

Two MusiCNN models tag music: one trained on the Million Song Dataset (50 Last.fm tags:
genres, moods, eras) and one on MagnaTagATune (50 tags, among them classical and opera,
which the first lacks); the second's labels are written "mtt:<tag>". A user tag's score
is, for each model that has tags under it, the highest probability among them ("Metal" is
the larger of "metal" and "heavy metal"), averaged over those models. Each group (genre,
mood, era, sound) has one threshold, tuned by tools/tune_music_tags.py on the dev clips;
a tag may have its own (`tag_thresholds`), and is then the best genre only above it (the
MTT model's "classical" also fires on jazz piano). Averaging both models over the genres
they share was measured and not kept: 9 of 16 dev clips right against 10 for the MSD
model's genres plus the MTT model's Classical. Genres neither model has (`not_covered`,
e.g. Reggae) are never given.
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
    labels: tuple[str, ...]  # the MSD model's labels, then the MTT model's ("mtt:...")
    tag_names: tuple[str, ...]
    groups: tuple[str, ...]  # the group of each tag
    members: tuple[tuple[tuple[int, ...], ...], ...]  # per tag, per model: label indices
    thresholds: np.ndarray  # (tags,)
    not_covered: tuple[str, ...]
    floors: np.ndarray  # (tags,) the score a tag needs to be the best of its group

    def tag_scores(self, probabilities: np.ndarray) -> np.ndarray:
        """(labels,) probabilities (both models', concatenated) -> (tags,) scores."""
        return np.array([np.mean([probabilities[list(m)].max() for m in per_model])
                         for per_model in self.members], dtype=np.float32)

    def tags(self, probabilities: np.ndarray) -> list[tuple[str, float]]:
        scores = self.tag_scores(probabilities)
        hits = np.flatnonzero(scores >= self.thresholds)
        hits = hits[np.argsort(-scores[hits])]
        return [(self.tag_names[i], float(scores[i])) for i in hits]

    def group_of(self, tag: str) -> str | None:
        return self.groups[self.tag_names.index(tag)] if tag in self.tag_names else None

    def top(self, probabilities: np.ndarray, group: str = "genre") -> tuple[str, float]:
        scores = self.tag_scores(probabilities)
        competing = [i for i, g in enumerate(self.groups)
                     if g == group and scores[i] >= self.floors[i]]
        best = max(competing, key=lambda i: scores[i])
        return self.tag_names[best], float(scores[best])


@cache
def music_taxonomy(path: Path = TAXONOMY_DIR / "music_tags.json") -> MusicTaxonomy:
    data = json.loads(path.read_text())
    labels = tuple(f"{prefix}{label}" for prefix, name in (("", "labels"), ("mtt:", "mtt_labels"))
                   for label in (TAXONOMY_DIR / data[name]).read_text().split("\n")[:-1])
    index = {label: i for i, label in enumerate(labels)}
    own = data.get("tag_thresholds", {})
    names, groups, members, thresholds = [], [], [], []
    for group, tags in data["groups"].items():
        for name, raw in tags.items():
            names.append(name)
            groups.append(group)
            per_model = [tuple(index[label] for label in raw if label.startswith("mtt:") == mtt)
                         for mtt in (False, True)]
            members.append(tuple(m for m in per_model if m))
            thresholds.append(own.get(name, data["thresholds"][group]))
    floors = [own.get(name, 0.0) for name in names]
    return MusicTaxonomy(labels, tuple(names), tuple(groups), tuple(members),
                         np.array(thresholds, dtype=np.float32), tuple(data["not_covered"]),
                         np.array(floors, dtype=np.float32))
