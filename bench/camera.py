"""Camera-like JPEGs for the benchmarks: sensor noise, and every fourth photo stored turned
with EXIF orientation 6 (as a phone held upright stores it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def save_like_a_camera(image: Image.Image, path: Path, index: int, rng: np.random.Generator,
                       noise: float) -> None:
    pixels = np.asarray(image, dtype=np.int16)
    pixels = pixels + rng.normal(0, noise, pixels.shape).astype(np.int16)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    if index % 4 == 3:
        image = image.transpose(Image.Transpose.ROTATE_90)
        exif[0x0112] = 6
    image.save(path, quality=90, exif=exif)
