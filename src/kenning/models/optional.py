"""Models Kenning does not ship, installed by the user into `<data dir>/models/<name>/`.

- `movinet_a0_stream_kinetics600`: Google's MoViNet-A0 Stream (int8 TFLite, Kinetics-600
  actions). No package registry carries it, so the user downloads it (TF Hub / Kaggle
  Models) and installs it from the file or its URL; its sha256 must match.
- `landmarks`: a plug-in: any image-classification model (ONNX, or TFLite such as
  Google's `landmarks_classifier_*_V1`) whose input is a 321x321 RGB image in [0, 1],
  plus a CSV of its labels (`id,name`). The user's own file, so no fixed checksum: the
  sha256 found at install is recorded and checked at load. Google's come one per region
  of the world (places/regions.py): each is installed by the same command, its region
  read from the file name (or `--region`), into `models/landmarks_<region>/`; a model
  for the whole world stays in `models/landmarks/`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kenning.landmarks.model import read_labels
from kenning.models.runtime import ModelError, file_sha256
from kenning.places.regions import REGIONS, SHORT, region_in_name


@dataclass(frozen=True)
class OptionalModel:
    name: str
    task: str
    sha256: str | None  # None: user-supplied, any file of the right kind
    licence: str
    where: str
    needs_labels: bool = False
    file: str | None = None  # the file to get, by its published name
    size: int | None = None  # bytes

    @property
    def how_to_add(self) -> str:
        """One line for people: which file, where from, and the command that installs it."""
        if self.file is None:
            return (f"add it with `kenning models install {self.name} --from FILE "
                    f"--labels LABELS.csv`: {self.where}")
        return (f"get {self.file} ({self.size / 1e6:.1f} MB, sha256 {self.sha256}) from "
                f"{self.where}, then `kenning models install {self.name} --from "
                f"{self.file}`")


OPTIONAL = {
    "movinet_a0_stream_kinetics600": OptionalModel(
        "movinet_a0_stream_kinetics600", "actions in videos (600 Kinetics classes)",
        "6125b36e2485eeb5cc1fd6206cf5e5d70235593fbc84610d1dce97fe3aa9c2ac", "Apache-2.0 (Google)",
        "TF Hub tensorflow/lite-model/movinet/a0/stream/kinetics-600/classification/tflite/int8/1 "
        "(Kaggle Models google/movinet)", file="movinet_a0_stream_int8.tflite", size=3_276_048),
    "landmarks": OptionalModel(
        "landmarks", "landmarks in photos of buildings and monuments (your model)", None,
        "yours", "an image classifier taking 321x321 RGB in [0, 1] (.onnx or .tflite) "
                 "and a labels CSV (id,name), e.g. Google's six regional "
                 "landmarks_classifier_<region>_V1 (Kaggle Models google/landmarks), each "
                 "installed the same way", needs_labels=True),
}
MAX_DOWNLOAD = 2 << 30
# What each optional model adds, for telling people what they miss without it.
GIVES = {"movinet_a0_stream_kinetics600": "action tags in videos (dancing, skiing, cooking...)"}


def missing(data_dir: Path) -> list[dict]:
    """The optional models that would add tags and are not installed: name, what they
    give, how to add them."""
    found = []
    for name, gives in GIVES.items():
        try:
            copy = installed(data_dir, name)
        except ModelError:
            copy = None
        if copy is None:
            found.append({"name": name, "gives": gives, "how": OPTIONAL[name].how_to_add})
    return found


@dataclass(frozen=True)
class InstalledModel:
    name: str
    path: Path
    sha256: str
    labels: Path | None
    region: str | None = None  # a regional landmark model's region (places/regions.py)

    @property
    def version(self) -> str:
        return f"{self.name}@{self.sha256[:12]}"

    @property
    def short_version(self) -> str:
        """Its region (or `world`) and sha256 prefix, for a version naming several."""
        return f"{SHORT.get(self.region, 'world')}@{self.sha256[:12]}"


def models_dir(data_dir: Path) -> Path:
    return data_dir / "models"


def _folder(name: str, region: str | None) -> str:
    return f"{name}_{region}" if region else name


def installed(data_dir: Path, name: str, region: str | None = None) -> InstalledModel | None:
    """The installed copy of an optional model (of a region's, for landmarks), checked
    against its recorded sha256."""
    record = models_dir(data_dir) / _folder(name, region) / "installed.json"
    if not record.is_file():
        return None
    info = json.loads(record.read_text())
    path = record.parent / info["file"]
    labels = record.parent / info["labels"] if info.get("labels") else None
    if not path.is_file() or file_sha256(path) != info["sha256"]:
        raise ModelError(f"installed model {name} is damaged ({path} does not match its "
                         f"sha256); reinstall it with `kenning models install {name}`")
    return InstalledModel(name, path, info["sha256"], labels, region)


def landmark_models(data_dir: Path) -> list[InstalledModel]:
    """Every installed landmark model: the whole world's, then each region's."""
    found = [installed(data_dir, "landmarks", region) for region in (None, *REGIONS)]
    return [model for model in found if model is not None]


def _fetch(source: str, dest: Path) -> None:
    if "://" not in source:
        path = Path(source).expanduser()
        if not path.is_file():
            raise ModelError(f"no such file: {source}")
        shutil.copyfile(path, dest)
        return
    if not source.startswith(("http://", "https://")):
        raise ModelError(f"cannot download {source}: only http(s) URLs and files")
    try:
        with urllib.request.urlopen(source, timeout=60) as response, open(dest, "wb") as out:
            copied = 0
            while chunk := response.read(1 << 20):
                copied += len(chunk)
                if copied > MAX_DOWNLOAD:
                    raise ModelError(f"{source} is larger than 2 GiB; not a model")
                out.write(chunk)
    except OSError as exc:  # URLError, HTTPError, timeouts
        raise ModelError(f"cannot download {source}: {getattr(exc, 'reason', exc)}") from exc


def install(data_dir: Path, name: str, source: str, labels: str | None = None,
            region: str | None = None) -> dict:
    """Install an optional model from a file path or an http(s) URL; returns its record.
    A landmark model's region: `region` ("world": none), else the one its file name says,
    else none."""
    if name not in OPTIONAL:
        raise ModelError(f"unknown optional model {name!r}; choose one of {', '.join(OPTIONAL)}")
    spec = OPTIONAL[name]
    if spec.needs_labels and not labels:
        raise ModelError(f"{name} needs --labels FILE.csv (id,name per line)")
    region = _landmark_region(name, source, region)
    target = models_dir(data_dir) / _folder(name, region)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        staging = Path(tmp)
        suffix = Path(source.split("?")[0]).suffix.lower() or ".tflite"
        if suffix not in (".onnx", ".tflite"):
            raise ModelError(f"{source}: a model must be an .onnx or .tflite file")
        model_file = staging / f"model{suffix}"
        _fetch(source, model_file)
        digest = hashlib.sha256(model_file.read_bytes()).hexdigest()
        if spec.sha256 and digest != spec.sha256:
            raise ModelError(f"{source} is not {name}: sha256 {digest[:12]}... "
                             f"expected {spec.sha256[:12]}...")
        _check_model(model_file)
        record = {"name": name, "file": model_file.name, "sha256": digest, "source": source,
                  "installed_at": datetime.now(UTC).isoformat(timespec="seconds")}
        if region:
            record["region"] = region
        if labels:
            labels_file = staging / "labels.csv"
            _fetch(labels, labels_file)
            record.update(labels=labels_file.name, label_count=len(read_labels(labels_file)))
        if name == "landmarks":  # input shape, outputs and labels must fit together
            from kenning.landmarks.model import LandmarkModel

            LandmarkModel(model_file, labels_file)
        (staging / "installed.json").write_text(json.dumps(record, indent=1))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
        staging.mkdir()  # for TemporaryDirectory's clean-up
    return record


def _check_model(path: Path) -> None:
    """Refuse files that are not models at all before they are installed."""
    head = path.read_bytes()[:8]
    if path.suffix == ".tflite" and head[4:8] != b"TFL3":
        raise ModelError(f"{path.name}: not a TFLite model")
    if path.suffix == ".onnx":
        import onnxruntime as ort

        try:
            ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - ORT's own error types
            raise ModelError(f"not a usable ONNX model: {str(exc)[:200]}") from exc


def _landmark_region(name: str, source: str, region: str | None) -> str | None:
    if region is not None and name != "landmarks":
        raise ModelError(f"only landmark models have a region, not {name}")
    if region == "world" or name != "landmarks":
        return None
    if region is None:
        return region_in_name(Path(source.split("?")[0]).name)
    if region not in REGIONS:
        raise ModelError(f"unknown region {region!r}; choose one of world, {', '.join(REGIONS)}")
    return region


def remove(data_dir: Path, name: str, region: str | None = None) -> bool:
    """Remove an installed optional model; for landmarks every region's unless `region`
    ("world": the whole world's) is given."""
    if name not in OPTIONAL:
        return False
    if region is None and name == "landmarks":
        regions = (None, *REGIONS)
    else:
        regions = (_landmark_region(name, "", region),)
    removed = False
    for one in regions:
        target = models_dir(data_dir) / _folder(name, one)
        if target.exists():
            shutil.rmtree(target)
            removed = True
    return removed
