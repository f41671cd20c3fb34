"""Faces in photos: YuNet detection, 5-point alignment, SFace 128-d embeddings."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from kenning.classifiers.base import (
    Classifier,
    FileResult,
    FoundFace,
    MediaFile,
    Photo,
    PhotoNeed,
    Prepared,
    prepare_each,
    prepare_each_photo,
)
from kenning.faces.alignment import align_face
from kenning.faces.detection import FaceDetection, YuNet
from kenning.faces.quality import face_quality
from kenning.media.images import open_image
from kenning.media.sniff import MediaKind
from kenning.models.runtime import find_model, open_session

DETECT_LONGEST = 1280  # detection resolution: long side, pixels, at most...
DETECT_LEAST = 960  # ...and at least, when the photo is larger: a JPEG then decodes at the
# smallest DCT scale at or above it (a 12 MP photo at 1/4: 1000 x 750)
THUMBNAIL = 160


class FacesClassifier(Classifier):
    name = "faces"
    kinds = frozenset({MediaKind.IMAGE})
    finds_faces = True

    def __init__(self, detector: str = "yunet_2023mar", embedder: str = "sface_2021dec_int8",
                 threads: int = 1, thumbnails: Path | None = None,
                 longest: int = DETECT_LONGEST, smaller: tuple[int, ...] = (320,),
                 objects: str | None = None) -> None:
        self.detector_spec = find_model(detector)
        self.embedder_spec = find_model(embedder)
        self.threads, self.longest, self.thumbnails = threads, longest, thumbnails
        self.smaller = smaller  # the other levels detection looks at (see YuNet)
        self.photo_need = PhotoNeed(min_long_side=min(DETECT_LEAST, longest))
        self._sessions: tuple | None = None
        # The objects model that judges doubtful faces' crops (kenning.faces.nonhuman);
        # None: not judged.
        self.judge = None
        if objects is not None:
            from kenning.classifiers.objects import ObjectsClassifier

            self.judge = ObjectsClassifier(objects, threads)
        self._lock = threading.Lock()

    @property
    def model_version(self) -> str:
        return f"{self.detector_spec.version}+{self.embedder_spec.version}"

    @property
    def models(self) -> tuple[YuNet, object]:
        with self._lock:
            if self._sessions is None:
                self._sessions = (YuNet(open_session(self.detector_spec, self.threads),
                                        longest=self.longest, smaller=self.smaller),
                                  open_session(self.embedder_spec, self.threads))
            return self._sessions

    def warm(self) -> None:
        self.models  # noqa: B018 - loads them
        if self.judge is not None:
            self.judge.warm()

    def prepare(self, files: Sequence[MediaFile]) -> Prepared:
        def load(file: MediaFile):
            return self.detectable(Photo(*open_image(
                file.path, min_long_side=self.photo_need.min_long_side)))

        return prepare_each(files, load)

    def prepare_photos(self, files: Sequence[MediaFile], photos: Sequence[Photo]) -> Prepared:
        return prepare_each_photo(files, photos, self.detectable)

    def detectable(self, photo: Photo) -> tuple[Photo, tuple[int, int]]:
        """The photo as decoded for detection: a 12 MP JPEG at 1/4 (1000 x 750). YuNet
        looks again at the small faces it is unsure of (see YuNet), which finds the faces a
        decode at 1280 px finds, at a quarter of the decoding and two thirds of the
        detection."""
        return photo, photo.shown

    def infer(self, prepared: Prepared, judge: bool = True
              ) -> list[tuple[list[FaceDetection], np.ndarray, list, list]]:
        """Per photo (a Photo, or a PIL image such as a video keyframe): its faces, their
        embeddings, aligned crops and how non-human each doubtful face looks (None where
        not judged; see kenning.faces.nonhuman)."""
        from kenning.faces.nonhuman import judge_crops

        detector, _embedder = self.models
        found = []
        for photo in prepared.inputs:
            photo = photo if isinstance(photo, Photo) else Photo(photo)
            faces = detector.detect(photo.image, photo.at_least)
            crops = [align_face(photo.image, face.landmarks) for face in faces]
            looks = (judge_crops(self.judge, photo.image, faces) if judge and self.judge
                     else [None] * len(faces))
            found.append((faces, self.embed(crops), crops, looks))
        return found

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """L2-normalised embeddings of aligned face crops, (n, 128)."""
        if not crops:
            return np.zeros((0, 128), np.float32)
        _detector, embedder = self.models
        blob = np.stack(crops).astype(np.float32).transpose(0, 3, 1, 2)
        embeddings = embedder.run(None, {"data": blob})[0]
        return embeddings / (np.linalg.norm(embeddings, axis=1, keepdims=True) + 1e-12)

    def interpret(self, prepared: Prepared, raw) -> list[FileResult]:
        results = []
        for file_id, photo, shown, (faces, embeddings, crops, looks) in zip(
                prepared.file_ids, prepared.inputs, prepared.extras, raw, strict=True):
            image = photo.image
            found = self.found_faces(image, shown, faces, embeddings, crops, looks)
            for index, (face, detection) in enumerate(found):
                face.thumbnail = self.save_thumbnail(image, detection, f"{file_id}-{index}",
                                                     file_id)
            results.append(FileResult(file_id, width=shown[0], height=shown[1],
                                       faces=[face for face, _ in found]))
        return results

    def found_faces(self, image: Image.Image, shown: tuple[int, int], faces, embeddings,
                    crops, looks=None) -> list[tuple[FoundFace, FaceDetection]]:
        """Detections in the decoded (maybe reduced) image, scaled to the image as shown."""
        scale = shown[0] / image.size[0]
        found = []
        for face, embedding, crop, look in zip(faces, embeddings, crops,
                                               looks or [None] * len(faces), strict=True):
            quality = face_quality(tuple(v * scale for v in face.box),
                                   face.landmarks * scale, crop, face.score)
            found.append((FoundFace(
                tuple(round(v * scale, 1) for v in face.box),
                [[round(float(x) * scale, 1), round(float(y) * scale, 1)]
                 for x, y in face.landmarks],
                round(face.score, 4), round(quality, 4),
                embedding.astype(np.float32).tobytes(), non_human=look[0] if look else None,
                made_face=look[1] if look else None), face))
        return found

    def save_thumbnail(self, image: Image.Image, face: FaceDetection, key: str,
                       file_id: int) -> str | None:
        """A square crop around the face for people pages; its path relative to the cache."""
        if self.thumbnails is None:
            return None
        x, y, w, h = face.box
        side = max(w, h) * 1.6
        cx, cy = x + w / 2, y + h / 2
        box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
        relative = Path("faces") / f"{file_id % 256:02x}" / f"{key}.jpg"
        try:
            (self.thumbnails / relative).parent.mkdir(parents=True, exist_ok=True)
            image.crop(tuple(round(v) for v in box)).resize(
                (THUMBNAIL, THUMBNAIL), Image.Resampling.BILINEAR).save(
                self.thumbnails / relative, quality=85)
        except OSError:  # a full or read-only cache costs thumbnails, not faces
            return None
        return str(relative)
