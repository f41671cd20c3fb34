"""Where and when a photo or video was taken: EXIF GPS and capture time, or a video
container's ISO 6709 location and creation time.

Times are nanoseconds since 1970 of the moment as the camera's clock showed it: EXIF
times without an offset are read as if they were UTC, so a photo taken at 10:00 is at
10:00 whatever the server's time zone; with an offset (OffsetTimeOriginal) they are
true UTC."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
DATETIME_ORIGINAL, OFFSET_ORIGINAL, DATETIME = 0x9003, 0x9011, 0x0132
MAKE, MODEL, LENS_MAKE, LENS_MODEL = 0x010F, 0x0110, 0xA433, 0xA434
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
NOT_SET = {datetime(1904, 1, 1, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC)}  # unset clocks
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


def _ns(moment: datetime) -> int | None:
    if moment in NOT_SET or not 1900 <= moment.year <= 2200:
        return None
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1)) * 1000


def _exif_time(exif) -> int | None:
    try:
        sub = exif.get_ifd(EXIF_IFD)
        text = str(sub.get(DATETIME_ORIGINAL) or exif.get(DATETIME) or "").strip("\0 ")
        moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S").replace(tzinfo=UTC)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    offset = _OFFSET.match(str(sub.get(OFFSET_ORIGINAL) or "").strip("\0 "))
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        moment -= sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
    return _ns(moment)


def photo_metadata(path: Path) -> tuple[tuple[float, float] | None, int | None]:
    """(where, when) from a photo's EXIF: (latitude, longitude) or None, and the capture
    time (see the module docstring) or None."""
    where, when, _camera = photo_details(path)
    return where, when


def _text(value, most: int = 100) -> str:
    text = str(value or "").replace("\0", "").strip()
    return "".join(c for c in text if c.isprintable())[:most]


def _camera(exif) -> dict[str, str]:
    """The camera and lens that took it ("Canon EOS 80D", "EF-S18-135mm f/3.5-5.6 IS USM"),
    as far as the EXIF says; the make is left out where the model already names it."""
    try:
        sub = exif.get_ifd(EXIF_IFD)
    except (KeyError, ValueError, TypeError, AttributeError):
        sub = {}
    found = {}
    for key, make, model in (("camera", exif.get(MAKE), exif.get(MODEL)),
                             ("lens", sub.get(LENS_MAKE), sub.get(LENS_MODEL))):
        make, model = _text(make), _text(model)
        if model and make and not model.lower().startswith(make.split()[0].lower()):
            model = f"{make.split()[0].title() if make.isupper() else make} {model}"
        if model or make:
            found[key] = model or make
    return found


def photo_details(path: Path) -> tuple[tuple[float, float] | None, int | None, dict]:
    """(where, when, camera) from a photo's EXIF: as photo_metadata, and the camera and
    lens (`_camera`)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                exif = image.getexif()
    except (OSError, SyntaxError, ValueError, TypeError, EOFError):
        return None, None, {}
    return _gps(exif), _exif_time(exif), _camera(exif)


def photo_location(path: Path) -> tuple[float, float] | None:
    """(latitude, longitude) from a photo's EXIF GPS block, or None."""
    return photo_metadata(path)[0]


def _gps(exif) -> tuple[float, float] | None:
    try:
        gps = exif.get_ifd(GPS_IFD)
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


def video_metadata(path: Path) -> tuple[tuple[float, float] | None, int | None]:
    """(where, when) from a video container: the `location` tag (phones write
    +48.8584+002.2945/) and the `creation_time` (UTC)."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            tags = dict(container.metadata)
    except (av.FFmpegError, UnicodeDecodeError, OSError):
        return None, None
    where = None
    for key in ("location", "com.apple.quicktime.location.ISO6709", "location-eng"):
        match = _ISO6709.match(tags.get(key, "").strip())
        if match:
            where = _valid(float(match.group(1)), float(match.group(2)))
            break
    when = None
    created = tags.get("creation_time", "").strip()
    if created:
        try:
            moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
            when = _ns(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        except ValueError:
            pass
    return where, when


def video_location(path: Path) -> tuple[float, float] | None:
    """(latitude, longitude) from a video's `location` tag, or None."""
    return video_metadata(path)[0]


# A date in a file name, as phones, cameras and messaging apps write it: IMG_20190704_
# 123456.jpg, IMG-20190704-WA0001.jpg, PXL_20210101_093000123.jpg, Screenshot_2019-07-04-
# 12-34-56.png, "2019-07-04 12.34.56.jpg", signal-2019-07-04-123456.jpg. Not inside a
# longer run of digits (a counter, a hash).
_NAME_DATE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})([-_.]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])"
    r"(?:[-_ T.]?([01]\d|2[0-3])[-_.:]?([0-5]\d)[-_.:]?([0-5]\d)\d{0,3})?(?!\d)")
FIRST_NAME_YEAR = 1990  # digital photos; older "dates" in names are numbers


def name_time(name: str, newest: datetime | None = None) -> int | None:
    """When a file was taken by the date in its name (see _NAME_DATE), as the camera's
    clock showed it (like EXIF times), or None. A date after `newest` (default: now) is
    not one."""
    newest = newest or datetime.now(UTC)
    for match in _NAME_DATE.finditer(name):
        year, _sep, month, day, hour, minute, second = match.groups()
        try:
            moment = datetime(int(year), int(month), int(day), int(hour or 12),
                              int(minute or 0), int(second or 0), tzinfo=UTC)
        except ValueError:  # 31 February
            continue
        if moment.year >= FIRST_NAME_YEAR and moment <= newest + timedelta(days=1):
            return _ns(moment)
    return None
