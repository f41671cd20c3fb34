"""A face a person draws a box around, where the detector found none (a face turned
away, in shadow, very small). It is embedded and clustered like any face, and kept when
the photo is processed again (pipeline.jobs.store_faces).

YuNet looks again around the box, scaled so that the box is about 120 pixels and taking
even doubtful faces: the landmarks of a face found there align it as a detected face would
be. With none, the landmarks are the alignment template's, placed in the box: a box drawn
from forehead to chin lines the face up about as well."""

from __future__ import annotations

import uuid

import numpy as np
from PIL import Image

from kenning.classifiers.base import FoundFace
from kenning.faces.alignment import CROP, REFERENCE, align_face
from kenning.faces.detection import FaceDetection

MIN_FRACTION = 0.005  # a box narrower than this part of the photo is refused


BAD_BOX = "the box must lie inside the photo (and not be a dot)"


def box_fits(box: tuple[float, float, float, float]) -> bool:
    """A box (x, y, w, h in fractions of the photo) that lies inside it and is no dot."""
    x, y, w, h = box
    return (0 <= x < 1 and 0 <= y < 1 and MIN_FRACTION <= w <= 1 and MIN_FRACTION <= h <= 1
            and x + w <= 1.001 and y + h <= 1.001)


def overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter + 1e-9)


def template_landmarks(box: tuple[float, float, float, float]) -> np.ndarray:
    x, y, w, h = box
    return np.array([[x + px / CROP * w, y + py / CROP * h] for px, py in REFERENCE])


def drawn_face(classifier, image: Image.Image, shown: tuple[int, int],
               fractions: tuple[float, float, float, float], file_id: int) -> FoundFace:
    """The face in a box given as fractions (x, y, w, h) of the photo as shown, with its
    embedding, quality and thumbnail (`classifier`: a FacesClassifier)."""
    detector, _embedder = classifier.models
    width, height = image.size
    box = (fractions[0] * width, fractions[1] * height, fractions[2] * width,
           fractions[3] * height)
    near = detector.faces_near(image, box)
    best = max(near, key=lambda face: overlap(face.box, box), default=None)
    if best is not None and overlap(best.box, box) >= 0.3:
        detection = FaceDetection(box, best.landmarks, best.score)
    else:
        detection = FaceDetection(box, template_landmarks(box), 0.0)
    crop = align_face(image, detection.landmarks)
    embeddings = classifier.embed([crop])
    [(found, _detection)] = classifier.found_faces(image, shown, [detection], embeddings,
                                                   [crop])
    found.thumbnail = classifier.save_thumbnail(image, detection,
                                                f"{file_id}-drawn-{uuid.uuid4().hex[:12]}",
                                                file_id)
    return found
