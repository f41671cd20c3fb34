"""Load model files named in the manifest (or given by path) into ONNX Runtime sessions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import onnxruntime as ort

ort.disable_telemetry_events()  # and the runtime switch (see kenning/__init__.py)

MODELS_DIR = Path(__file__).resolve().parent


class ModelError(RuntimeError):
    """A model file is missing, damaged or of the wrong kind."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    path: Path
    sha256: str | None
    input_size: int
    licence: str
    source: str

    @property
    def version(self) -> str:
        """Identifies the weights: results made by other weights are redone, never mixed."""
        return f"{self.name}@{(self.sha256 or file_sha256(self.path))[:12]}"


def manifest() -> list[dict]:
    return json.loads((MODELS_DIR / "manifest.json").read_text())["models"]


@cache
def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_model(name_or_path: str, default_size: int = 224) -> ModelSpec:
    """A model by manifest name, or a user's own ONNX file of the same kind by path."""
    for entry in manifest():
        if entry["name"] == name_or_path:
            return ModelSpec(entry["name"], MODELS_DIR / entry["file"], entry["sha256"],
                             entry["input"]["size"], entry["licence"], entry["source"])
    path = Path(name_or_path).expanduser()
    if path.suffix == ".onnx" and path.is_file():
        return ModelSpec(path.stem, path.resolve(), None, default_size, "user-supplied", str(path))
    known = ", ".join(e["name"] for e in manifest())
    raise ModelError(f"unknown model {name_or_path!r}: use one of {known} "
                     "or a path to an .onnx file")


def session_options(threads: int = 1) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Spinning threads steal the cores that decode the next photos.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def open_session(spec: ModelSpec, threads: int = 1) -> ort.InferenceSession:
    """An ONNX Runtime session for a model whose file matches its manifest checksum."""
    if not spec.path.is_file():
        raise ModelError(f"model file missing: {spec.path}")
    if spec.sha256 and file_sha256(spec.path) != spec.sha256:
        raise ModelError(f"model file damaged: {spec.path} does not match its sha256 "
                         f"{spec.sha256[:12]}...; reinstall Kenning")
    try:
        return ort.InferenceSession(str(spec.path), session_options(threads),
                                    providers=ort.get_available_providers())
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph types
        raise ModelError(f"cannot load model {spec.path}: {exc}") from exc
