"""A face's quality in [0, 1]: size, sharpness and pose. Low-quality faces never start a person."""

from __future__ import annotations

import numpy as np

MIN_SIDE = 36  # pixels: smaller faces embed poorly
GOOD_SIDE = 80
GOOD_SHARPNESS = 60.0  # variance of the Laplacian of the aligned grey crop
SEED_QUALITY = 0.5  # a face must be at least this good to start a new person


def sharpness(crop: np.ndarray) -> float:
    grey = crop.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    laplacian = (grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1]
                 - 4 * grey[1:-1, 1:-1])
    return float(laplacian.var())


def frontalness(landmarks: np.ndarray) -> float:
    """1 for a frontal face, towards 0 as it turns away (nose off the eyes' centre line)."""
    eye_a, eye_b, nose = landmarks[0], landmarks[1], landmarks[2]
    eye_distance = float(np.linalg.norm(eye_b - eye_a)) or 1.0
    offset = abs(float(nose[0] - (eye_a[0] + eye_b[0]) / 2)) / eye_distance
    return float(np.clip(1.0 - offset, 0.0, 1.0))


def face_quality(box: tuple[float, float, float, float], landmarks: np.ndarray,
                 crop: np.ndarray, score: float) -> float:
    side = min(box[2], box[3])
    size = float(np.clip((side - MIN_SIDE / 2) / (GOOD_SIDE - MIN_SIDE / 2), 0.0, 1.0))
    sharp = sharpness(crop)
    sharp_part = float(np.clip(sharp / GOOD_SHARPNESS, 0.0, 1.0))
    pose = frontalness(landmarks)
    quality = float(score * (0.4 + 0.6 * size) * (0.5 + 0.5 * sharp_part) * (0.3 + 0.7 * pose))
    if side < MIN_SIDE / 2:
        quality = min(quality, 0.1)
    return quality
