"""Align a face to SFace's 112x112 crop by a similarity transform fitted to all 5 landmarks."""

from __future__ import annotations

import numpy as np
from PIL import Image

# Where the 5 landmarks sit in the 112x112 crop the embedding model was trained on.
REFERENCE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                      [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)
CROP = 112


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping source points
    onto target points (Umeyama 1991); a 2x3 matrix."""
    src, dst = source.astype(np.float64), target.astype(np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(covariance)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1
    rotation = u @ np.diag(d) @ vt
    scale = (s * d).sum() / src_c.var(axis=0).sum()
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def align_face(image: Image.Image, landmarks: np.ndarray) -> np.ndarray:
    """The 112x112x3 uint8 RGB crop of the face whose landmarks are given in image pixels.

    Landmarks and reference points count pixel centres as integers (OpenCV's convention);
    Pillow's transform puts them at +0.5, so both are moved by half a pixel.
    """
    matrix = similarity_transform(landmarks + 0.5, REFERENCE + 0.5)
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]  # crop -> image, for PIL
    crop = image.transform((CROP, CROP), Image.Transform.AFFINE, inverse.reshape(-1).tolist(),
                           resample=Image.Resampling.BILINEAR)
    return np.asarray(crop, dtype=np.uint8)
