"""YuNet face detection on ONNX Runtime: boxes, 5 landmarks and scores at any image size."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

STRIDES = (8, 16, 32)


@dataclass(frozen=True)
class FaceDetection:
    box: tuple[float, float, float, float]  # x, y, width, height in image pixels
    landmarks: np.ndarray  # (5, 2): eye, eye, nose tip, mouth corner, mouth corner
    score: float


def to_blob(bgr: np.ndarray, net_w: int, net_h: int) -> np.ndarray:
    """HxWx3 uint8 BGR (already scaled) -> 1x3xHxW float32, zero-padded to the net size."""
    blob = np.zeros((1, 3, net_h, net_w), dtype=np.float32)
    h, w = bgr.shape[:2]
    blob[0, :, :h, :w] = bgr.transpose(2, 0, 1)
    return blob


def decode(outputs: dict[str, np.ndarray], net_w: int, net_h: int, min_score: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw YuNet outputs -> boxes (n, 4: x, y, w, h), landmarks (n, 5, 2), scores (n,)."""
    boxes, marks, scores = [], [], []
    for stride in STRIDES:
        cols = net_w // stride
        cls = outputs[f"cls_{stride}"].reshape(-1)
        obj = outputs[f"obj_{stride}"].reshape(-1)
        score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
        keep = np.flatnonzero(score >= min_score)
        if keep.size == 0:
            continue
        col, row = (keep % cols).astype(np.float32), (keep // cols).astype(np.float32)
        bbox = outputs[f"bbox_{stride}"].reshape(-1, 4)[keep]
        kps = outputs[f"kps_{stride}"].reshape(-1, 10)[keep]
        cx, cy = (col + bbox[:, 0]) * stride, (row + bbox[:, 1]) * stride
        w, h = np.exp(bbox[:, 2]) * stride, np.exp(bbox[:, 3]) * stride
        boxes.append(np.stack([cx - w / 2, cy - h / 2, w, h], axis=1))
        points = kps.reshape(-1, 5, 2)
        marks.append(np.stack([(points[:, :, 0] + col[:, None]) * stride,
                               (points[:, :, 1] + row[:, None]) * stride], axis=2))
        scores.append(score[keep])
    if not scores:
        return np.zeros((0, 4)), np.zeros((0, 5, 2)), np.zeros(0)
    return np.concatenate(boxes), np.concatenate(marks), np.concatenate(scores)


def non_maximum_suppression(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    order = np.argsort(-scores)
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    area = boxes[:, 2] * boxes[:, 3]
    kept: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        kept.append(int(best))
        inter = (np.clip(np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]), 0, None)
                 * np.clip(np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]), 0,
                           None))
        order = rest[inter / (area[best] + area[rest] - inter + 1e-9) <= iou]
    return kept


class YuNet:
    """Faces at every size in one photo, from a pyramid built level from level.

    `smaller`: the sizes (long side) the photo is also looked at, each made from the
    level before it (a few milliseconds, where each from the decoded photo cost 15).
    `doubt`, `second_look`: a small face YuNet is unsure of (a score from `doubt` up to
    `min_score`) is looked at again in a crop around it enlarged `second_look` times,
    where it scores as it would in a larger photo; it is kept at `second_score` (stricter:
    the enlarged crop flatters textures). On 12 MP photos decoded at 1/4 (1000 px) this
    finds the faces of 25-35 pixels a detection at 1280 px finds, at the cost of the
    1000 px detection (24 against 36 ms) plus a few crops."""

    def __init__(self, session, min_score: float = 0.75, nms_iou: float = 0.3,
                 longest: int = 1280, smaller: tuple[int, ...] = (640, 320),
                 doubt: float = 0.4, second_look: float = 2.0, small: int = 64,
                 second_score: float = 0.8) -> None:
        self.session = session
        self.names = [o.name for o in session.get_outputs()]
        self.min_score, self.nms_iou, self.longest = min_score, nms_iou, longest
        self.smaller = smaller
        self.doubt, self.second_look, self.small = doubt, second_look, small
        self.second_score = max(second_score, min_score)

    def pyramid(self, image: Image.Image, halvings=None) -> list[Image.Image]:
        """The levels the photo is looked at, largest first, each from the one before, or
        from the photo's shared halvings (`halvings(min_long_side=...)`, see Photo) when
        the photo is looked at as it is. Never enlarged: on dlib's hand-boxed group photos,
        2x enlargement found no more faces and added false ones (precision 0.88 at score
        0.7); small faces get a second look instead."""
        long_side = max(image.size)
        primary = min(self.longest, long_side)
        level = image if primary == long_side else _scaled(image, primary / long_side)
        levels = [level]
        for size in self.smaller:
            if size < 0.7 * primary:
                if halvings is not None and primary == long_side:
                    level = halvings(min_long_side=size)
                level = _scaled(level, size / max(level.size))
                levels.append(level)
        return levels

    def detect(self, image: Image.Image | np.ndarray, halvings=None) -> list[FaceDetection]:
        """Faces in an RGB image, in that image's pixel coordinates.

        Small faces need the full resolution (up to `longest`), but YuNet misses faces
        larger than about a third of its input (a close-up portrait), so the image is also
        looked at scaled down (`smaller`); the detections are merged by NMS."""
        if isinstance(image, np.ndarray):
            image = Image.fromarray(image)
        width = image.size[0]
        levels = self.pyramid(image, halvings)
        found = [self._detect_level(level, level.size[0] / width,
                                    self.doubt if index == 0 else self.min_score)
                 for index, level in enumerate(levels)]
        boxes, marks, scores = (np.concatenate([f[i] for f in found]) for i in range(3))
        sure = scores >= self.min_score
        looks = [self._second_look(levels[0], boxes[i] * levels[0].size[0] / width,
                                   levels[0].size[0] / width)
                 for i in np.flatnonzero(~sure)
                 if max(boxes[i][2:]) * levels[0].size[0] / width <= self.small]
        boxes = np.concatenate([boxes[sure]] + [look[0] for look in looks])
        marks = np.concatenate([marks[sure]] + [look[1] for look in looks])
        scores = np.concatenate([scores[sure]] + [look[2] for look in looks])
        keep = non_maximum_suppression(boxes, scores, self.nms_iou)
        return [FaceDetection(tuple(float(v) for v in boxes[i]), marks[i], float(scores[i]))
                for i in keep]

    def faces_near(self, image: Image.Image, box: tuple[float, float, float, float],
                   min_score: float = 0.3, size: float = 120.0) -> list[FaceDetection]:
        """Faces, even doubtful ones, around a box (x, y, w, h) in an RGB image: YuNet on
        the box's surroundings, scaled so that the box is about `size` pixels (for a face
        a person points at). In the image's coordinates."""
        x, y, w, h = box
        side = max(w, h, 1.0)
        left, top = max(0, int(x - side / 2)), max(0, int(y - side / 2))
        right = min(image.size[0], int(x + w + side / 2) + 1)
        bottom = min(image.size[1], int(y + h + side / 2) + 1)
        factor = min(size / side, 640 / max(right - left, bottom - top, 1))
        crop = _scaled(image.crop((left, top, right, bottom)), factor)
        boxes, marks, scores = self._detect_level(crop, factor, min_score)
        boxes[:, :2] += (left, top)
        marks += (left, top)
        return [FaceDetection(tuple(float(v) for v in boxes[i]), marks[i], float(scores[i]))
                for i in non_maximum_suppression(boxes, scores, self.nms_iou)]

    def _second_look(self, level: Image.Image, box: np.ndarray, scale: float):
        """Detections in an enlarged crop three face widths wide around a doubtful face,
        in the coordinates of the image `level` was made from (`scale`: level / image)."""
        x, y, w, h = box
        half = 1.5 * max(w, h)
        left, top = max(0, int(x + w / 2 - half)), max(0, int(y + h / 2 - half))
        right = min(level.size[0], int(x + w / 2 + half) + 1)
        bottom = min(level.size[1], int(y + h / 2 + half) + 1)
        crop = level.crop((left, top, right, bottom))
        crop = crop.resize((round(crop.size[0] * self.second_look),
                            round(crop.size[1] * self.second_look)),
                           Image.Resampling.BILINEAR)
        boxes, marks, scores = self._detect_level(crop, self.second_look, self.second_score)
        boxes[:, :2] += (left, top)
        marks += (left, top)
        return boxes / scale, marks / scale, scores

    def _detect_level(self, level: Image.Image, scale: float, min_score: float):
        width, height = level.size
        net_w, net_h = -(-max(32, width) // 32) * 32, -(-max(32, height) // 32) * 32
        blob = to_blob(np.asarray(level)[:, :, ::-1], net_w, net_h)
        outputs = dict(zip(self.names, self.session.run(self.names, {"input": blob}),
                           strict=True))
        boxes, marks, scores = decode(outputs, net_w, net_h, min_score)
        return boxes / scale, marks / scale, scores


def _scaled(image: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(image.size[0] * factor)), max(1, round(image.size[1] * factor)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
