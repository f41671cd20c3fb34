"""Face boxes between Kenning's form and the regions other tools write.

Kenning keeps a face's box in pixels of the photo as shown (after its EXIF
orientation). The Metadata Working Group's guidelines place regions on the image as
stored, before the orientation is applied, normalised to `AppliedToDimensions`, by
their centre; Microsoft Photo's regions by their top-left corner. Boxes here are
(x, y, width, height) fractions with x, y the top-left corner."""

from __future__ import annotations

Box = tuple[float, float, float, float]

# (u, v) on the image as stored -> (x, y) as shown, for EXIF orientations 1-8.
_TO_SHOWN = {
    1: lambda u, v: (u, v),
    2: lambda u, v: (1 - u, v),
    3: lambda u, v: (1 - u, 1 - v),
    4: lambda u, v: (u, 1 - v),
    5: lambda u, v: (v, u),
    6: lambda u, v: (1 - v, u),
    7: lambda u, v: (1 - v, 1 - u),
    8: lambda u, v: (v, 1 - u),
}
_INVERSE = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}
EDGE = 0.01  # a region may reach this far past the photo's edge (rounding)


def turned(orientation: int | None) -> bool:
    """Whether the photo's width and height swap when it is shown."""
    return orientation in (5, 6, 7, 8)


def _map(box: Box, point) -> Box:
    x0, y0 = point(box[0], box[1])
    x1, y1 = point(box[0] + box[2], box[1] + box[3])
    return min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)


def to_shown(box: Box, orientation: int | None) -> Box:
    return _map(box, _TO_SHOWN.get(orientation or 1, _TO_SHOWN[1]))


def to_stored(box: Box, orientation: int | None) -> Box:
    return _map(box, _TO_SHOWN[_INVERSE.get(orientation or 1, 1)])


def inside(box: Box) -> bool:
    x, y, w, h = box
    return (w > 0 and h > 0 and x >= -EDGE and y >= -EDGE and x + w <= 1 + EDGE
            and y + h <= 1 + EDGE)


def clipped(box: Box) -> Box:
    x, y = max(0.0, box[0]), max(0.0, box[1])
    return x, y, min(1.0, box[0] + box[2]) - x, min(1.0, box[1] + box[3]) - y


def from_centre(x: float, y: float, w: float, h: float) -> Box:
    return x - w / 2, y - h / 2, w, h


def centre(box: Box) -> Box:
    return box[0] + box[2] / 2, box[1] + box[3] / 2, box[2], box[3]
