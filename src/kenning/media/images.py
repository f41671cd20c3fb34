"""Decode photos for a model: reduced-size JPEG decoding, EXIF orientation, bounded memory."""

from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

try:  # HEIC/HEIF photos from phones; AVIF is in Pillow itself (>= 11.2)
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a dependency
    pillow_heif = None

# Pillow's own bomb check is replaced by ours, which knows JPEGs decode at reduced size.
Image.MAX_IMAGE_PIXELS = None
MAX_PIXELS = 150_000_000  # full-resolution decoders (PNG, TIFF, ...)
MAX_PIXELS_SCALED = 1_000_000_000  # baseline JPEG decoded at 1/8 scale: ~48 MB of RGB
# What one decode may need at most, estimated from the header before any pixel is
# decoded. A progressive JPEG cannot be decoded at reduced size without holding every
# DCT coefficient of the full image (2 bytes per coefficient): a small file can ask for
# gigabytes, so the budget counts that, not the pixels.
DECODE_BUDGET = 768 << 20
# libjpeg goes over every coefficient of the full image once per scan of a progressive
# JPEG, however small the file: 2,000 empty scans in 20 KB took 75 s. The scans are
# counted before decoding and bounded, and so is their work (coefficients x scans):
# a 100-megapixel colour photo with the usual 10 scans is 3e9; the limit is about 2 s
# of decoding on a 2-core server.
MAX_SCANS = 300
MAX_SCAN_WORK = 16_000_000_000
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "LA": 4,
                    "PA": 4}  # Pillow keeps the other modes in 4 bytes a pixel


class MediaError(Exception):
    """A file that cannot be used, with a reason a person can read."""


def crop_box(width: int, height: int, size: int) -> tuple[float, float, float, float]:
    """The centred square the TF EfficientNet eval crop keeps: size/(size+32) of the short side."""
    side = min(width, height) * size / (size + 32)
    left, top = (width - side) / 2, (height - side) / 2
    return left, top, left + side, top + side


def open_image(path: str | bytes | os.PathLike, min_side: int = 0,
               min_long_side: int = 0) -> tuple[Image.Image, tuple[int, int]]:
    """Decode at the smallest scale whose short side is still >= min_side (and long side
    >= min_long_side), oriented, RGB.

    Returns the image and the photo's full size as shown (after EXIF orientation).
    """
    try:
        image = Image.open(path)
        width, height = image.size
        scalable = image.format == "JPEG"
        limit = MAX_PIXELS_SCALED if scalable else MAX_PIXELS
        if width * height > limit:
            raise MediaError(f"image too large: {width}x{height} pixels "
                             f"(limit {limit // 1_000_000} megapixels)")
        if scalable:
            ratio = min(width, height) / max(width, height)
            side = max(min_side, int(min_long_side * ratio + 1))
            image.draft("RGB", (side, side))
        needed = decode_bytes(image, width, height)
        if needed > DECODE_BUDGET:
            raise MediaError(f"image too large to decode: {width}x{height} pixels would need "
                             f"{needed >> 20} MB (limit {DECODE_BUDGET >> 20} MB)")
        if _progressive(image):
            _check_scans(image, width, height)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            orientation = image.getexif().get(0x0112, 1)
            image = ImageOps.exif_transpose(image)
            if image.mode != "RGB":
                image = _to_rgb(image)
            image.load()
        shown = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
        return image, shown
    except MediaError:
        raise
    except FileNotFoundError as exc:
        raise MediaError("file disappeared since the scan") from exc
    except PermissionError as exc:
        raise MediaError("permission denied: cannot read the file") from exc
    except IsADirectoryError as exc:
        raise MediaError("not a regular file") from exc
    except UnidentifiedImageError as exc:
        raise MediaError("not a decodable image (corrupt or unsupported data)") from exc
    except Image.DecompressionBombError as exc:
        raise MediaError(f"image too large: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        text = str(exc)
        if "truncated" in text or isinstance(exc, EOFError):
            raise MediaError("truncated image: the file ends before the picture does") from exc
        raise MediaError(f"corrupt image data ({text or type(exc).__name__})") from exc


def _progressive(image: Image.Image) -> bool:
    return image.format == "JPEG" and bool(image.info.get("progressive")
                                           or image.info.get("progression"))


def count_scans(fp) -> int:
    """The scans (SOS markers) in a JPEG file, read in 1 MB pieces from its start. Inside
    entropy-coded data a 0xFF byte is always followed by 0x00 or a restart marker, so
    FF DA is a scan; one in an embedded thumbnail counts too, which only errs on the safe
    side."""
    position = fp.tell()
    fp.seek(0)
    count, tail = 0, b""
    try:
        while piece := fp.read(1 << 20):
            count += (tail + piece).count(b"\xff\xda")
            tail = piece[-1:]
    finally:
        fp.seek(position)
    return count


def _check_scans(image: Image.Image, width: int, height: int) -> None:
    """MediaError if decoding this progressive JPEG would take too many passes over it."""
    scans = count_scans(image.fp)
    if scans > MAX_SCANS:
        raise MediaError(f"too many progressive scans to decode: {scans} (limit {MAX_SCANS})")
    work = scans * width * height * max(1, getattr(image, "layers", 3))
    if work > MAX_SCAN_WORK:
        raise MediaError(f"too much work to decode: {scans} progressive scans of "
                         f"{width}x{height} pixels (limit {MAX_SCAN_WORK // 10**9}e9 "
                         "coefficient passes)")


def decode_bytes(image: Image.Image, width: int, height: int) -> int:
    """About the most memory decoding `image` (opened, maybe drafted to a smaller size)
    needs, before decoding it: the decoded pixels, a converted and a turned copy, and
    for a progressive JPEG the full-size DCT coefficients libjpeg holds meanwhile."""
    shown = image.size[0] * image.size[1]
    needed = shown * (_BYTES_PER_PIXEL.get(image.mode, 4) + 4 + 4)
    if _progressive(image):
        needed += width * height * max(1, getattr(image, "layers", 3)) * 2
    return needed


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit greyscale PNG/TIFF
        array = np.asarray(image, dtype=np.float32)
        peak = float(array.max()) or 1.0
        image = Image.fromarray((array * (255.0 / peak)).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def load_model_input(path: str | bytes | os.PathLike,
                     size: int) -> tuple[np.ndarray, tuple[int, int]]:
    """uint8 HxWx3 pixels, centre-cropped and resized to size x size, plus the shown size."""
    image, shown = open_image(path, size + 32)
    return model_input_from_image(image, size), shown


def model_input_from_image(image: Image.Image, size: int) -> np.ndarray:
    """uint8 size x size x 3 pixels: the centre crop of an RGB image, resized."""
    width, height = image.size
    if width < 2 or height < 2:
        raise MediaError(f"image too small: {width}x{height} pixels")
    pixels = image.resize((size, size), Image.Resampling.BICUBIC,
                          box=crop_box(width, height, size), reducing_gap=3.0)
    return np.asarray(pixels, dtype=np.uint8)
