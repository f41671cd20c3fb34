"""A user's landmark model: any image classifier in ONNX (ONNX Runtime) or TFLite (LiteRT)
that takes one RGB image in [0, 1] (Google's `landmarks_classifier_*_V1`: 321x321) and
gives one score per label of its CSV (`id,name`).

The wrapper adapts to what the file declares: channels last or first, float or
quantised (u)int8 input and output, a fixed or free image size (321 when free). Outputs
that are not already probabilities (logits) go through a softmax.
"""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import numpy as np

from kenning.models.litert import quiet_stderr
from kenning.models.runtime import ModelError, session_options

DEFAULT_SIZE = 321


def read_labels(path: Path) -> dict[int, str]:
    """`id,name` lines (an optional header) -> {output index: name}; blank names skipped."""
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read labels {path}: {exc}") from exc
    labels: dict[int, str] = {}
    for number, row in enumerate(rows, 1):
        if not row or number == 1 and not row[0].strip().isdigit():
            continue  # blank line or header
        if len(row) < 2 or not row[0].strip().isdigit():
            raise ModelError(f"{path}, line {number}: labels must be CSV lines `id,name` "
                             "with numeric ids")
        name = ",".join(row[1:]).strip()
        if name:
            labels[int(row[0])] = name
    if not labels:
        raise ModelError(f"{path}: no labels")
    return labels


def as_probabilities(scores: np.ndarray) -> np.ndarray:
    """Scores that already are a probability vector stay; anything else is softmaxed."""
    scores = scores.astype(np.float64).reshape(-1)
    if scores.min() >= 0.0 and scores.max() <= 1.0 and abs(scores.sum() - 1.0) < 1e-2:
        return scores.astype(np.float32)
    exp = np.exp(scores - scores.max())
    return (exp / exp.sum()).astype(np.float32)


def _image_layout(shape: list) -> tuple[bool, int]:
    """(channels_last, size) from a 4-D image input shape (dims may be names or -1)."""
    if len(shape) != 4:
        raise ModelError(f"landmark model input must be one image (4 dims), not {shape}")
    known = [d if isinstance(d, int) and d > 0 else None for d in shape]
    if known[3] == 3:
        channels_last, spatial = True, known[1:3]
    elif known[1] == 3:
        channels_last, spatial = False, known[2:4]
    else:
        raise ModelError(f"landmark model input must be RGB (3 channels), not {shape}")
    sizes = {d for d in spatial if d is not None}
    if len(sizes) > 1:
        raise ModelError(f"landmark model input must be square, not {shape}")
    return channels_last, sizes.pop() if sizes else DEFAULT_SIZE


class LandmarkModel:
    """`probabilities(pixels)` for one uint8 HxWx3 image of `size` x `size`."""

    def __init__(self, path: Path, labels_path: Path, threads: int = 1) -> None:
        self.path = path
        self.labels = read_labels(labels_path)
        self._lock = threading.Lock()  # a LiteRT interpreter runs one image at a time
        with quiet_stderr():  # LiteRT announces its CPU delegate on stderr
            if path.suffix == ".tflite":
                self._open_tflite(threads)
            else:
                self._open_onnx(threads)
            outputs = self.probabilities(np.zeros((self.size, self.size, 3), np.uint8)).size
        beyond = [i for i in self.labels if i >= outputs]
        if beyond:
            raise ModelError(f"the labels CSV has ids up to {max(beyond)} but the model gives "
                             f"{outputs} scores: wrong labels for this model?")

    def _open_onnx(self, threads: int) -> None:
        import onnxruntime as ort

        try:
            self._session = ort.InferenceSession(str(self.path), session_options(threads),
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - ORT's own error types
            raise ModelError(f"not a usable ONNX model: {str(exc)[:200]}") from exc
        first = self._session.get_inputs()[0]
        self._input_name = first.name
        self.channels_last, self.size = _image_layout(list(first.shape))
        self._dtype = {"tensor(float)": np.float32, "tensor(uint8)": np.uint8}.get(first.type)
        if self._dtype is None:
            raise ModelError(f"landmark model input must be float or uint8, not {first.type}")
        self._quant = (1.0 / 255.0, 0) if self._dtype == np.uint8 else None

    def _open_tflite(self, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        try:
            self._interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"not a usable TFLite model: {str(exc)[:200]}") from exc
        detail = self._interpreter.get_input_details()[0]
        shape = [int(d) for d in detail.get("shape_signature", detail["shape"])]
        self.channels_last, self.size = _image_layout(shape)
        if list(detail["shape"]) != [1, self.size, self.size, 3] and self.channels_last:
            self._interpreter.resize_tensor_input(detail["index"], [1, self.size, self.size, 3])
        self._interpreter.allocate_tensors()
        self._input_index = detail["index"]
        self._dtype = detail["dtype"]
        scale, zero = detail.get("quantization", (0.0, 0))
        # A quantised input holds pixel/255 as q = value / scale + zero.
        self._quant = (scale, zero) if self._dtype in (np.uint8, np.int8) and scale else None
        self._output = self._interpreter.get_output_details()[0]

    def _model_input(self, pixels: np.ndarray) -> np.ndarray:
        image = pixels.astype(np.float32) / 255.0
        if self._quant is not None:
            scale, zero = self._quant
            info = np.iinfo(self._dtype)
            image = np.clip(np.round(image / scale + zero), info.min, info.max)
        image = image.astype(self._dtype)
        if not self.channels_last:
            image = image.transpose(2, 0, 1)
        return image[None]

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        batch = self._model_input(pixels)
        if hasattr(self, "_session"):
            scores = self._session.run(None, {self._input_name: batch})[0]
        else:
            with self._lock:
                self._interpreter.set_tensor(self._input_index, batch)
                self._interpreter.invoke()
                scores = self._interpreter.get_tensor(self._output["index"]).copy()
            scale, zero = self._output.get("quantization", (0.0, 0))
            if scale and scores.dtype != np.float32:
                scores = (scores.astype(np.float32) - zero) * scale
        return as_probabilities(scores)
