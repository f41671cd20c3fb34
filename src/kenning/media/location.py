"""Where a photo or video was taken: EXIF GPS, or a video container's ISO 6709 location."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from PIL import Image

GPS_IFD = 0x8825
_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)")


def _valid(latitude: float, longitude: float) -> tuple[float, float] | None:
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    if latitude == 0 and longitude == 0:  # what cameras write when they had no fix
        return None
    return round(latitude, 6), round(longitude, 6)


def _degrees(value) -> float:
    parts = [float(v) for v in value]
    while len(parts) < 3:
        parts.append(0.0)
    return parts[0] + parts[1] / 60 + parts[2] / 3600


def photo_location(path: Path) -> tuple[float, float] | None:
    """(latitude, longitude) from a photo's EXIF GPS block, or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                gps = image.getexif().get_ifd(GPS_IFD)
        if not gps or 2 not in gps or 4 not in gps:
            return None
        latitude, longitude = _degrees(gps[2]), _degrees(gps[4])
    except (OSError, SyntaxError, ValueError, TypeError, ZeroDivisionError, EOFError):
        return None  # no readable GPS is simply no place
    if str(gps.get(1, "N")).upper().startswith("S"):
        latitude = -latitude
    if str(gps.get(3, "E")).upper().startswith("W"):
        longitude = -longitude
    return _valid(latitude, longitude)


def video_location(path: Path) -> tuple[float, float] | None:
    """(latitude, longitude) from a video's `location` tag (phones write +48.8584+002.2945/)."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            tags = dict(container.metadata)
    except (av.FFmpegError, UnicodeDecodeError, OSError):
        return None
    for key in ("location", "com.apple.quicktime.location.ISO6709", "location-eng"):
        match = _ISO6709.match(tags.get(key, "").strip())
        if match:
            return _valid(float(match.group(1)), float(match.group(2)))
    return None
