"""MusiCNN's tags -> genre, mood, era and sound tags (`music_tags.json`).

Two MusiCNN models tag music: one trained on the Million Song Dataset (50 Last.fm tags:
genres, moods, eras) and one on MagnaTagATune (50 tags, among them classical and opera,
which the first lacks); the second's labels are written "mtt:<tag>". A user tag's score
is, for each model that has tags under it, the highest probability among them ("Metal" is
the larger of "metal" and "heavy metal"), averaged over those models. Each group (genre,
mood, era, sound) has one threshold, tuned by tools/tune_music_tags.py on the dev clips.

The best genre is a calibrated choice among the genres rather than the largest score:
- A tag may be scaled by "unless" labels of the other model: the MTT model has no jazz, so
  its "classical" also fires on jazz piano; Classical is scaled by the MSD model's
  probability of "not jazz" (1 - jazz).
- A narrower genre beats its broader one (Metal and Punk under Rock) when it scores at
  least NARROWER_SHARE of it: Last.fm listeners tag metal songs "rock" as well, so the
  model's "rock" is as high as its "metal" on metal.
- A style (Indie, Ambient, Dance, Experimental) is never the best genre, only a further
  tag: a scene, a kind of electronic music, a use or a manner says less about a song than
  the main genre beside it (an ambient track is Electronic first, then Ambient; an indie
  band's song Rock or Pop, then Indie). With Pop also taking the MagnaTagATune model's
  "pop", this made the best genre right for 28 of the 40 Emotify clips (was 24) and kept
  12 of 16 GTZAN clips (2026-12-03, tools/tune_music_tags.py).

Averaging both models over the genres they share was measured and not kept (9 of 16 dev
clips right against 10), and so was dividing each genre by its mean score over the dev
clips (8 or 9 of 16, leave-one-out: Punk and Indie took over). Genres neither model has
(`not_covered`, e.g. Reggae) are never given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

TAXONOMY_DIR = Path(__file__).resolve().parent
NARROWER_SHARE = 0.5  # of its broader genre's score, for a narrower genre to be the best


@dataclass(frozen=True)
class MusicTaxonomy:
    labels: tuple[str, ...]  # the MSD model's labels, then the MTT model's ("mtt:...")
    tag_names: tuple[str, ...]
    groups: tuple[str, ...]  # the group of each tag
    members: tuple[tuple[tuple[int, ...], ...], ...]  # per tag, per model: label indices
    thresholds: np.ndarray  # (tags,)
    not_covered: tuple[str, ...]
    unless: tuple[tuple[int, ...], ...]  # per tag: labels whose largest p scales it by 1 - p
    broader: tuple[int | None, ...]  # per tag: the tag it is a narrower kind of
    styles: frozenset[int] = frozenset()  # tags that are never the best of their group

    def tag_scores(self, probabilities: np.ndarray) -> np.ndarray:
        """(labels,) probabilities (both models', concatenated) -> (tags,) scores."""
        return np.array([np.mean([probabilities[list(m)].max() for m in per_model])
                         * (1.0 - (probabilities[list(against)].max() if against else 0.0))
                         for per_model, against in zip(self.members, self.unless, strict=True)],
                        dtype=np.float32)

    def tags(self, probabilities: np.ndarray) -> list[tuple[str, float]]:
        """What a music file is tagged with: its best genre first, then every other tag
        over its group's threshold, highest first. The best genre scores at least as
        high as any other genre (a chosen Metal takes its Rock's score, and a hair more),
        so that every list of a file's tags by score (the CLI, the API, the web page,
        WebDAV) shows it first."""
        scores = self.tag_scores(probabilities)
        best = self._best(scores, "genre")
        hits = np.flatnonzero(scores >= self.thresholds)
        hits = [best] + [i for i in hits[np.argsort(-scores[hits])] if i != best]
        others = [float(scores[i]) for i in hits[1:] if self.groups[i] == "genre"]
        best_score = float(scores[best])
        if others and max(others) >= best_score:
            best_score = min(1.0, max(others) + 1e-4)
        return [(self.tag_names[i], best_score if i == best else float(scores[i]))
                for i in hits]

    def group_of(self, tag: str) -> str | None:
        return self.groups[self.tag_names.index(tag)] if tag in self.tag_names else None

    def top(self, probabilities: np.ndarray, group: str = "genre") -> tuple[str, float]:
        """The best tag of a group: the highest score but a style's, or a narrower kind of
        it that scores at least NARROWER_SHARE of it."""
        scores = self.tag_scores(probabilities)
        best = self._best(scores, group)
        return self.tag_names[best], float(scores[best])

    def _best(self, scores: np.ndarray, group: str) -> int:
        best = max((i for i, g in enumerate(self.groups) if g == group and i not in self.styles),
                   key=lambda i: scores[i])
        narrower = [i for i, b in enumerate(self.broader)
                    if b == best and scores[i] >= NARROWER_SHARE * scores[best]]
        return max(narrower, key=lambda i: scores[i]) if narrower else best


@cache
def music_taxonomy(path: Path = TAXONOMY_DIR / "music_tags.json") -> MusicTaxonomy:
    data = json.loads(path.read_text())
    labels = tuple(f"{prefix}{label}" for prefix, name in (("", "labels"), ("mtt:", "mtt_labels"))
                   for label in (TAXONOMY_DIR / data[name]).read_text().split("\n")[:-1])
    index = {label: i for i, label in enumerate(labels)}
    names, groups, members, thresholds = [], [], [], []
    for group, tags in data["groups"].items():
        for name, raw in tags.items():
            names.append(name)
            groups.append(group)
            per_model = [tuple(index[label] for label in raw if label.startswith("mtt:") == mtt)
                         for mtt in (False, True)]
            members.append(tuple(m for m in per_model if m))
            thresholds.append(data["thresholds"][group])
    unless = tuple(tuple(index[label] for label in data.get("unless", {}).get(name, ()))
                   for name in names)
    broader = tuple(names.index(data["narrower"][name]) if name in data.get("narrower", {})
                    else None for name in names)
    styles = frozenset(names.index(name) for name in data.get("styles", ()))
    return MusicTaxonomy(labels, tuple(names), tuple(groups), tuple(members),
                         np.array(thresholds, dtype=np.float32), tuple(data["not_covered"]),
                         unless, broader, styles)
