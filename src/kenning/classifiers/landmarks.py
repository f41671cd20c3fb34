"""Landmarks: the user's landmark model (`kenning models install landmarks`), run only on
photos the objects classifier tagged as a building, monument or landscape. A confident answer gives
two tags: `Landmark` and the landmark's name from the model's labels CSV."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kenning.classifiers.base import Classifier, FileResult, MediaFile, Prepared, prepare_each
from kenning.landmarks.model import LandmarkModel
from kenning.media.images import load_model_input
from kenning.media.sniff import MediaKind
from kenning.models.optional import InstalledModel

# Object tags (see taxonomy/imagenet_tags.json) that make a photo worth a landmark look:
# buildings and monuments, and landscapes (natural landmarks: canyons, volcanoes, falls).
# On the dev data none of 5,143 portraits and none of the 100 ImageNet photos (95 of them
# animals) has one; "Home" and "Prison" were left out (3 portraits had them).
BUILDING_TAGS = frozenset({"Architecture", "Building", "Monument", "Castle", "Palace",
                           "Church", "Mosque", "Temple", "Place of worship", "Tower",
                           "Bridge", "Lighthouse", "Fountain", "Dome", "Arch", "Obelisk"})
LANDSCAPE_TAGS = frozenset({"Landscape", "Mountain", "Volcano", "Valley", "Cliff", "Geyser",
                            "Dam", "Pier", "Wall"})
ROUTED_TAGS = BUILDING_TAGS | LANDSCAPE_TAGS
MIN_SCORE = 0.5
RAW_LABELS_KEPT = 3
RAW_LABEL_MIN_SCORE = 0.02
LANDMARK_TAG = "Landmark"


class LandmarksClassifier(Classifier):
    name = "landmarks"
    kinds = frozenset({MediaKind.IMAGE})
    only_with_tags = ROUTED_TAGS

    def __init__(self, installed: InstalledModel, min_score: float = MIN_SCORE,
                 threads: int = 1) -> None:
        self.installed = installed
        self.min_score = min_score
        self.threads = threads
        self._model: LandmarkModel | None = None

    @property
    def model(self) -> LandmarkModel:
        if self._model is None:  # loaded on first use: a run with nothing to do never pays
            self._model = LandmarkModel(self.installed.path, self.installed.labels,
                                        self.threads)
        return self._model

    def warm(self) -> None:
        self.model  # noqa: B018 - loads it

    @property
    def model_version(self) -> str:
        return self.installed.version

    def prepare(self, files: Sequence[MediaFile]) -> Prepared:
        size = self.model.size
        return prepare_each(files, lambda f: load_model_input(f.path, size))

    def infer(self, prepared: Prepared) -> list[np.ndarray]:
        return [self.model.probabilities(pixels) for pixels in prepared.inputs]

    def interpret(self, prepared: Prepared, raw: list[np.ndarray]) -> list[FileResult]:
        labels = self.model.labels
        named = np.fromiter(labels, dtype=np.int64)  # outputs without a name never count
        results = []
        for file_id, (width, height), probabilities in zip(
                prepared.file_ids, prepared.extras, raw, strict=True):
            scores = probabilities[named]
            top = [(int(named[i]), float(scores[i]))
                   for i in np.argsort(-scores)[:RAW_LABELS_KEPT]]
            result = FileResult(file_id, width=width, height=height, labels=[
                (f"{i} {labels[i]}", score) for i, score in top if score >= RAW_LABEL_MIN_SCORE])
            best, score = top[0]
            if score >= self.min_score:
                result.tags = [(LANDMARK_TAG, score), (labels[best], score)]
            results.append(result)
        return results
