"""Music in audio files and in the sound of videos: MusiCNN genre, mood and era tags, from
two models together (trained on the Million Song Dataset and on MagnaTagATune; see
kenning.taxonomy.music).

Up to the first 2 minutes are decoded (16 kHz mono) and cut into 3 s patches; at most
MAX_PATCHES of them, spread evenly, go through the model and their tag probabilities are
averaged. A track the gate (kenning.music.gate) finds to be silence, noise or speech gets
no music tags; the verdict and its measurements are kept as labels, so it is explainable.
A track it finds to be music always gets the tag Music and its best genre (a calibrated
choice, see kenning.taxonomy.music), and any other tag over its group's threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kenning.classifiers.base import (
    FileResult,
    MediaFile,
    OnnxModelClassifier,
    Prepared,
    prepare_each,
)
from kenning.media.audio import decode_audio
from kenning.media.sniff import MediaKind
from kenning.music.features import N_MELS, PATCH_FRAMES, SAMPLE_RATE, log_mel, patches
from kenning.music.gate import GateReport, measure
from kenning.taxonomy.music import music_taxonomy

MAX_SECONDS = 120.0
MAX_PATCHES = 20
PATCHES_PER_RUN = 4  # patches per model call: a larger batch grows each session's memory arena
RAW_LABELS_KEPT = 5
MUSIC_TAG = "Music"  # every file the gate finds to be music gets it
RESULTS_REVISION = "main-genre"  # what the tags are made of changed: results are redone


def music_input(file: MediaFile) -> tuple[np.ndarray, GateReport | None]:
    """(patches, gate report) for a file; no patches when it has no sound or no music."""
    samples = decode_audio(file.path, SAMPLE_RATE, MAX_SECONDS)
    if samples is None:
        return np.zeros((0, PATCH_FRAMES, N_MELS), np.float32), None
    features = log_mel(samples)
    report = measure(samples, features)
    if not report.is_music:
        return np.zeros((0, PATCH_FRAMES, N_MELS), np.float32), report
    return patches(features, MAX_PATCHES), report


class MusicClassifier(OnnxModelClassifier):
    name = "music"
    kinds = frozenset({MediaKind.AUDIO, MediaKind.VIDEO})

    def __init__(self, model: str = "musicnn_msd", second: str = "musicnn_mtt",
                 threads: int = 1) -> None:
        from kenning.models.runtime import find_model

        super().__init__(model, threads)
        self.second_spec = find_model(second)
        self.taxonomy = music_taxonomy()

    @property
    def second(self):
        return self.session_for(self.second_spec)

    @property
    def model_version(self) -> str:
        return f"{self.spec.version}+{self.second_spec.version}+{RESULTS_REVISION}"

    def warm(self) -> None:
        super().warm()
        self.second  # noqa: B018 - loads it

    def prepare(self, files: Sequence[MediaFile]) -> Prepared:
        return prepare_each(files, music_input)

    def infer(self, prepared: Prepared) -> list[np.ndarray]:
        """Mean tag probabilities per file (None for files without music)."""
        all_patches = np.concatenate(prepared.inputs)
        if not len(all_patches):
            return [None] * len(prepared.inputs)
        sessions = (self.session, self.second)
        outputs = [np.concatenate([session.run(None, {"logmel": chunk})[0]
                                   for session in sessions], axis=1)
                   for chunk in (all_patches[i:i + PATCHES_PER_RUN]
                                 for i in range(0, len(all_patches), PATCHES_PER_RUN))]
        probabilities = np.concatenate(outputs)  # (patches, both models' labels)
        means, start = [], 0
        for file_patches in prepared.inputs:
            count = len(file_patches)
            means.append(probabilities[start:start + count].mean(axis=0) if count else None)
            start += count
        return means

    def interpret(self, prepared: Prepared, raw: list[np.ndarray | None]) -> list[FileResult]:
        results = []
        for file_id, report, mean in zip(prepared.file_ids, prepared.extras, raw, strict=True):
            result = FileResult(file_id)
            if report is None:
                result.labels.append(("sound: no audio track", 1.0))
            else:
                result.labels += [(f"sound: {report.verdict}", 1.0),
                                  ("sound: loud fraction", report.loud_fraction),
                                  ("sound: variation", report.variation),
                                  ("sound: low-energy ratio", report.low_energy_ratio),
                                  ("sound: beat", report.beat)]
            if mean is not None:  # music, by the gate: never an empty result
                result.tags = [(MUSIC_TAG, 1.0)] + self.taxonomy.tags(mean)
                top = np.argsort(-mean)[:RAW_LABELS_KEPT]
                result.labels += [(self.taxonomy.labels[i], float(mean[i])) for i in top]
            results.append(result)
        return results
