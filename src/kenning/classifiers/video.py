"""Videos: actions (MoViNet, when installed), objects and faces on keyframes, in one decode.

The video is sampled once (kenning.media.video). Keyframes go through the objects model
(a tag must clear its threshold in at least two keyframes, or one when there are at most
three, and scores its best frame) and the face models; the same person seen in several
keyframes (alike, or at the same place) is kept once, from the frame where the face is
best. Keyframes are small and compressed, so a face must score VIDEO_MIN_FACE_SCORE (photos:
0.75) and, with three keyframes or more, be seen in two of them. Faces are judged as in
photos (kenning.faces.nonhuman: each doubtful face's crop, with its keyframe's objects),
so a dog's face is no person. A video whose keyframes show human faces of at least
PEOPLE_FACE_SCORE in two keyframes (or its one keyframe) is tagged People from its
pictures, even when no face is good enough to keep for a person (a kept face gives the
video its People tag as in photos). The sound of a video is
the music classifier's job.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kenning.classifiers.base import (
    Classifier,
    FileResult,
    MediaFile,
    Photo,
    Prepared,
    prepare_each,
)
from kenning.classifiers.faces import FacesClassifier
from kenning.classifiers.objects import ObjectsClassifier
from kenning.faces.nonhuman import looks_non_human
from kenning.faces.people_tags import PEOPLE
from kenning.media.images import model_input_from_image
from kenning.media.sniff import MediaKind
from kenning.media.video import VideoSample, sample_video
from kenning.pipeline.jobs import box_overlap
from kenning.video.actions import ActionModel

VIDEO_MIN_FACE_SCORE = 0.85
PEOPLE_FACE_SCORE = 0.8  # a face this sure, in two keyframes: the video shows people
SAME_FACE = 0.5  # cosine: the clustering's join threshold
SAME_PLACE = 0.3  # box overlap (IoU) in two keyframes: the same face, barely moved


def _same_face(a, b) -> bool:
    """Two faces from different keyframes are one person: alike, or at the same place."""
    similarity = float(np.frombuffer(a.embedding, np.float32)
                       @ np.frombuffer(b.embedding, np.float32))
    return similarity >= SAME_FACE or box_overlap(a.box, b.box) >= SAME_PLACE


class VideoClassifier(Classifier):
    name = "video"
    kinds = frozenset({MediaKind.VIDEO})

    def __init__(self, objects: ObjectsClassifier, faces: FacesClassifier | None = None,
                 actions: ActionModel | None = None) -> None:
        self.objects, self.faces, self.actions = objects, faces, actions
        if faces is not None:
            faces.judge = objects  # keyframes' faces are judged by the video's objects model

    @property
    def model_version(self) -> str:
        parts = [self.objects.model_version,
                 self.faces.model_version if self.faces else "no-faces",
                 self.actions.model.version if self.actions else "no-actions"]
        return "+".join(parts)

    @property
    def finds_faces(self) -> bool:
        return self.faces is not None

    def warm(self) -> None:
        self.objects.warm()
        if self.faces is not None:
            self.faces.warm()

    def prepare(self, files: Sequence[MediaFile]) -> Prepared:
        return prepare_each(files, lambda f: (sample_video(f.path, self.actions is not None),
                                              None))

    def infer(self, prepared: Prepared) -> list:
        return [self._infer_one(sample) if sample is not None else None
                for sample in prepared.inputs]

    def _infer_one(self, sample: VideoSample) -> dict:
        frames = [Photo(image) for _, image in sample.keyframes]  # halvings shared
        session = self.objects.session
        pixels = np.stack([model_input_from_image(frame.at_least(min_side=self.objects.size + 32),
                                                  self.objects.size) for frame in frames])
        probabilities = session.run(None, {session.get_inputs()[0].name: pixels})[0]
        raw = {"objects": probabilities}
        if self.faces is not None:
            prepared = Prepared(inputs=frames)
            raw["faces"] = self.faces.infer(prepared, judge=True)
        if self.actions is not None:
            raw["actions"] = self.actions.tags(sample.windows)
        return raw

    def interpret(self, prepared: Prepared, raw: list) -> list[FileResult]:
        results = []
        for file_id, sample, found in zip(prepared.file_ids, prepared.inputs, raw, strict=True):
            if sample is None:
                results.append(FileResult(file_id, labels=[("no video track", 1.0)]))
                continue
            result = FileResult(file_id, width=sample.width, height=sample.height)
            if "actions" in found:
                tags, labels = found["actions"]
                result.tags += tags
                result.labels += labels
            result.tags += self._object_tags(found["objects"])
            result.labels.append(("keyframes", float(len(sample.keyframes))))
            if "faces" in found:
                human = self._human_faces(found["objects"], found["faces"])
                result.faces = self._faces(file_id, sample, human)
                if not result.faces:  # (kept faces give it, kenning.faces.people_tags)
                    result.tags += self._people_tag(human)
            results.append(result)
        return results

    def _object_tags(self, probabilities: np.ndarray) -> list[tuple[str, float]]:
        taxonomy = self.objects.taxonomy
        scores, fired = taxonomy.decide(probabilities)  # (keyframes, tags)
        needed = 1 if len(scores) <= 3 else 2
        hits = fired.sum(axis=0) >= needed
        best = scores.max(axis=0)
        order = [i for i in np.argsort(-best) if hits[i]]
        return [(taxonomy.tag_names[i], float(best[i])) for i in order]

    def _human_faces(self, probabilities: np.ndarray, per_frame) -> list:
        """Each keyframe's detections without those that look non-human (a pet's face):
        judged by their crops and the keyframe's objects, as in photos."""
        taxonomy = self.objects.taxonomy
        kept = []
        for frame, (faces, embeddings, crops, looks) in zip(probabilities, per_frame,
                                                             strict=True):
            labels = [(f"{wnid} {label}", float(p)) for wnid, label, p in
                      zip(taxonomy.wnids, taxonomy.labels, frame, strict=True) if p >= 0.01]
            keep = [i for i, (face, look) in enumerate(zip(faces, looks, strict=True))
                    if not looks_non_human(face.score, labels, (), *(look or (None, None)))]
            kept.append(([faces[i] for i in keep], embeddings[keep], [crops[i] for i in keep],
                         [looks[i] for i in keep]))
        return kept

    @staticmethod
    def _people_tag(per_frame) -> list[tuple[str, float]]:
        """People, when human faces are seen in two keyframes (or the only one)."""
        best = [max((face.score for face in faces), default=0.0)
                for faces, *_ in per_frame]
        seen = sorted((score for score in best if score >= PEOPLE_FACE_SCORE), reverse=True)
        if len(seen) >= min(2, len(per_frame)) and seen:
            return [(PEOPLE, round(float(seen[min(1, len(seen) - 1)]), 4))]
        return []

    def _faces(self, file_id: int, sample: VideoSample, per_frame) -> list:
        """Faces of all keyframes, each person once: from the frame where the face is best."""
        candidates = []
        for frame_index, ((_, image), (faces, embeddings, crops, _looks)) in enumerate(
                zip(sample.keyframes, per_frame, strict=True)):
            for face, detection in self.faces.found_faces(image, image.size, faces, embeddings,
                                                          crops):
                if face.score >= VIDEO_MIN_FACE_SCORE:
                    candidates.append((face, detection, frame_index, image))
        candidates.sort(key=lambda c: -c[0].quality)
        kept: list = []
        seen_again: list[int] = []
        for candidate in candidates:
            match = next((i for i, other in enumerate(kept)
                          if other[2] != candidate[2] and _same_face(candidate[0], other[0])),
                         None)
            if match is None:
                kept.append(candidate)
                seen_again.append(0)
            else:
                seen_again[match] += 1
        if len(sample.keyframes) >= 3:  # a face in one keyframe only is a detector flicker
            kept = [k for k, again in zip(kept, seen_again, strict=True) if again]
        for index, (face, detection, frame_index, image) in enumerate(kept):
            face.thumbnail = self.faces.save_thumbnail(image, detection,
                                                       f"{file_id}-v{frame_index}-{index}", file_id)
        return [face for face, *_ in kept]
