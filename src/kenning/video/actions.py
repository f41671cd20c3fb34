"""Actions in video windows: MoViNet-A0 Stream (Kinetics-600) on LiteRT.

The stream model sees one 172x172 frame at a time and carries 43 state tensors from frame
to frame (zeros at the start of each window); its logits after the last frame describe
the whole window. Window probabilities are averaged; only confident actions become tags.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

import numpy as np

from kenning.models.litert import quiet_stderr
from kenning.models.optional import InstalledModel

TAXONOMY_DIR = Path(__file__).resolve().parents[1] / "taxonomy"
MIN_SCORE = 0.6  # dev clips: right answers 0.70-1.00, a wrong one 0.55
KEPT = 3


@cache
def kinetics600_labels() -> tuple[str, ...]:
    return tuple((TAXONOMY_DIR / "kinetics600_labels.txt").read_text().split("\n")[:600])


def action_tag(label: str) -> str:
    """Kinetics names are lower case phrases: "playing cricket" -> "Playing cricket"."""
    return label[:1].upper() + label[1:]


class ActionModel:
    def __init__(self, model: InstalledModel, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.model = model
        with quiet_stderr():  # LiteRT prints an INFO line about its CPU delegate
            self._interpreter = Interpreter(model_path=str(model.path), num_threads=threads)
            self._runner = self._interpreter.get_signature_runner()
            inputs = self._runner.get_input_details()
            self._initial = {name: np.zeros(d["shape"], d["dtype"])
                             for name, d in inputs.items() if name != "image"}
            self._runner(image=np.zeros(inputs["image"]["shape"], np.float32), **self._initial)
        self._lock = threading.Lock()  # one interpreter runs one window at a time
        self.labels = kinetics600_labels()

    def window_probabilities(self, frames: np.ndarray) -> np.ndarray:
        """(frames, 172, 172, 3) float32 in [0, 1] -> (600,) probabilities."""
        with self._lock:
            states = dict(self._initial)
            logits = None
            for frame in frames:
                outputs = self._runner(image=frame[None, None], **states)
                logits = outputs.pop("logits")
                states = outputs
        logits = logits.reshape(-1).astype(np.float64)
        exp = np.exp(logits - logits.max())
        return (exp / exp.sum()).astype(np.float32)

    def tags(self, windows: list[np.ndarray]) -> tuple[list[tuple[str, float]],
                                                       list[tuple[str, float]]]:
        """(tags, raw labels) for a video's windows."""
        if not windows:
            return [], []
        mean = np.mean([self.window_probabilities(w) for w in windows], axis=0)
        top = np.argsort(-mean)[:KEPT]
        labels = [(f"kinetics: {self.labels[i]}", float(mean[i])) for i in top]
        tags = [(action_tag(self.labels[i]), float(mean[i])) for i in top if mean[i] >= MIN_SCORE]
        return tags, labels
