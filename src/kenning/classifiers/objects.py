"""Objects and scenes in photos: EfficientNet-Lite (ImageNet-1k) on ONNX Runtime."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kenning.classifiers.base import (
    FileResult,
    MediaFile,
    OnnxModelClassifier,
    Photo,
    PhotoNeed,
    Prepared,
    prepare_each,
    prepare_each_photo,
)
from kenning.media.images import load_model_input, model_input_from_image
from kenning.media.sniff import MediaKind
from kenning.taxonomy import imagenet_taxonomy

RAW_LABELS_KEPT = 5
RAW_LABEL_MIN_SCORE = 0.02


TAGS_REVISION = "tags-3"


class ObjectsClassifier(OnnxModelClassifier):
    name = "objects"
    kinds = frozenset({MediaKind.IMAGE})

    def __init__(self, model: str = "efficientnet_lite2", threads: int = 1) -> None:
        super().__init__(model, threads)
        self.size = self.spec.input_size
        self.taxonomy = imagenet_taxonomy()
        self.photo_need = PhotoNeed(min_side=self.size + 32)  # the centre crop's margin

    @property
    def model_version(self) -> str:
        # What the tags are made of changed (every class tagged, a sure top-1 gives its
        # tags): results are redone once.
        return f"{self.spec.version}+{TAGS_REVISION}"

    def prepare(self, files: Sequence[MediaFile]) -> Prepared:
        return prepare_each(files, lambda f: load_model_input(f.path, self.size))

    def prepare_photos(self, files: Sequence[MediaFile], photos: Sequence[Photo]) -> Prepared:
        return prepare_each_photo(files, photos, lambda photo: (
            model_input_from_image(photo.at_least(min_side=self.size + 32), self.size),
            photo.shown))

    def infer(self, prepared: Prepared) -> np.ndarray:
        session = self.session
        return session.run(None, {session.get_inputs()[0].name: np.stack(prepared.inputs)})[0]

    def interpret(self, prepared: Prepared, raw: np.ndarray) -> list[FileResult]:
        results = []
        for file_id, (width, height), probabilities, tags in zip(
            prepared.file_ids, prepared.extras, raw, self.taxonomy.tags(raw), strict=True
        ):
            top = np.argsort(-probabilities)[:RAW_LABELS_KEPT]
            labels = [(f"{self.taxonomy.wnids[i]} {self.taxonomy.labels[i]}",
                       float(probabilities[i]))
                      for i in top if probabilities[i] >= RAW_LABEL_MIN_SCORE]
            results.append(FileResult(file_id, tags, labels, width, height))
        return results
