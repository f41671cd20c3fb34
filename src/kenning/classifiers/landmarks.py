"""Landmarks: the user's landmark models (`kenning models install landmarks`), run only on
photos the objects classifier tagged as a building, monument or landscape. A confident
answer gives two tags: `Landmark` and the landmark's name from the model's labels CSV.

Google's landmark classifiers come one per region of the world (places/regions.py). A
photo whose GPS says where it was taken is shown to its region's model (and to a model for
the whole world, if one is installed); a photo without GPS to every installed model. The
most confident answer of those wins. Each model is loaded when a photo first needs it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from kenning.classifiers.base import Classifier, FileResult, MediaFile, Prepared, prepare_each
from kenning.landmarks.model import LandmarkModel
from kenning.media.images import model_input_from_image, open_image
from kenning.media.location import photo_metadata
from kenning.media.sniff import MediaKind
from kenning.models.optional import InstalledModel
from kenning.places.regions import SHORT, regions_of_country

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

    def __init__(self, installed: InstalledModel | list[InstalledModel],
                 min_score: float = MIN_SCORE, threads: int = 1) -> None:
        self.installed = installed if isinstance(installed, list) else [installed]
        if not self.installed:
            raise ValueError("no landmark model")
        self.min_score = min_score
        self.threads = threads
        self._models: dict[int, LandmarkModel] = {}

    def model(self, index: int) -> LandmarkModel:
        """The index-th installed model, loaded on first use (a run with nothing to do,
        or with photos of one region only, never loads the others)."""
        if index not in self._models:
            copy = self.installed[index]
            self._models[index] = LandmarkModel(copy.path, copy.labels, self.threads)
        return self._models[index]

    def warm(self) -> None:
        self.model(0)

    @property
    def model_version(self) -> str:
        if len(self.installed) == 1 and self.installed[0].region is None:
            return self.installed[0].version
        return "landmarks:" + "+".join(sorted(m.short_version for m in self.installed))

    def chosen(self, where: tuple[float, float] | None) -> list[int]:
        """The models (indexes) a photo taken at `where` (or who knows where) is shown to:
        the whole world's and those of its region, or all of them."""
        if where is not None:
            from kenning.places.geocode import geocoder

            place = geocoder().place(*where)
            regions = regions_of_country(place.country_code if place else None)
            if regions:
                return [i for i, m in enumerate(self.installed)
                        if m.region is None or m.region in regions]
        return list(range(len(self.installed)))

    def prepare(self, files: Sequence[MediaFile]) -> Prepared:
        size = self.model(0).size  # (Google's are all 321; another size is resized to)

        def load(file: MediaFile):
            image, shown = open_image(file.path, size + 32)
            return {size: model_input_from_image(image, size)}, (
                shown, photo_metadata(file.path)[0])

        return prepare_each(files, load)

    def infer(self, prepared: Prepared) -> list[list[tuple[int, np.ndarray]]]:
        found = []
        for pixels, (_shown, where) in zip(prepared.inputs, prepared.extras, strict=True):
            runs = []
            for index in self.chosen(where):
                model = self.model(index)
                image = pixels.get(model.size)
                if image is None:  # a model of another input size, first loaded here
                    image = np.asarray(Image.fromarray(pixels[max(pixels)]).resize(
                        (model.size, model.size), Image.Resampling.BICUBIC))
                runs.append((index, model.probabilities(image)))
            found.append(runs)
        return found

    def interpret(self, prepared: Prepared, raw: list) -> list[FileResult]:
        results = []
        for file_id, ((width, height), _where), runs in zip(
                prepared.file_ids, prepared.extras, raw, strict=True):
            candidates = []  # (score, label as stored, name)
            for index, probabilities in runs:
                labels, region = self.model(index).labels, self.installed[index].region
                named = np.fromiter(labels, dtype=np.int64)  # unnamed outputs never count
                scores = probabilities[named]
                prefix = f"{SHORT[region]}:" if region else ""
                candidates += [(float(scores[i]), f"{prefix}{named[i]} {labels[named[i]]}",
                                labels[named[i]])
                               for i in np.argsort(-scores)[:RAW_LABELS_KEPT]]
            candidates.sort(key=lambda c: -c[0])
            result = FileResult(file_id, width=width, height=height, labels=[
                (label, score) for score, label, _ in candidates[:RAW_LABELS_KEPT]
                if score >= RAW_LABEL_MIN_SCORE])
            if candidates and candidates[0][0] >= self.min_score:
                score, _label, name = candidates[0]
                result.tags = [(LANDMARK_TAG, score), (name, score)]
            results.append(result)
        return results
