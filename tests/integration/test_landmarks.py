"""The landmark plug-in: a user's model (ONNX or TFLite) and labels CSV, installed with
`kenning models install landmarks`, run only on photos tagged as buildings.

The models here have the shape of Google's landmark classifiers (one 321x321 RGB image
in [0, 1] in, one score per label out) and compute something checkable: logits =
SHARPNESS x the mean of each colour channel, so the "landmark" is the dominant colour.
The ONNX one is built here with the onnx helper (channels first, an unnamed 4th output);
the TFLite ones (float logits; fully quantised uint8) by tools/make_test_landmark_tflite.py.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from conftest import IMAGENET, REPO
from media_factory import geotagged
from onnx import TensorProto, helper
from PIL import Image

SHARPNESS = 100.0
CHINA = REPO / "tests" / "data" / "photos" / "china.jpg"  # a palace; CC BY 2.0, see README
TFLITE = REPO / "tests" / "data" / "landmarks"
NAMES = ["Red Fort", "Green Gables", "Blue Mosque"]
LABELS = "id,name\n" + "".join(f"{i},{name}\n" for i, name in enumerate(NAMES))


def colour_onnx(dest, channels: int = 3, outputs: int = 4, sharpness: float = SHARPNESS):
    """NCHW float input; logits for red, green, blue and an output no label names."""
    weights = np.zeros((channels, outputs), np.float32)
    weights[:, :3] = np.eye(3)[:channels] * sharpness
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["pixels", "axes"], ["means"], keepdims=0),
         helper.make_node("MatMul", ["means", "weights"], ["logits"])],
        "colour", [helper.make_tensor_value_info("pixels", TensorProto.FLOAT,
                                                 ["batch", channels, 321, 321])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", outputs])],
        [helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3]),
         helper.make_tensor("weights", TensorProto.FLOAT, weights.shape, weights.ravel())])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, dest)
    return dest


def expected(path) -> tuple[str, float]:
    """What the colour model must answer, from the mean colour of what Kenning shows it:
    the centred square, 321/353 of the short side (as for the objects model)."""
    image = Image.open(path).convert("RGB")
    side = min(image.size) * 321 / 353
    left, top = (image.width - side) / 2, (image.height - side) / 2
    crop = image.crop((round(left), round(top), round(left + side), round(top + side)))
    means = np.asarray(crop, np.float64).reshape(-1, 3).mean(0)
    logits = np.append(means / 255.0 * SHARPNESS, 0.0)
    probabilities = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    return NAMES[int(np.argmax(probabilities))], float(probabilities.max())


def tinted(dest, gain):
    pixels = np.asarray(Image.open(CHINA), np.float64) * np.array(gain)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(dest, quality=92)
    return dest


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "Holidays"
    folder.mkdir()
    (folder / "palace.jpg").write_bytes(CHINA.read_bytes())
    tinted(folder / "palace at dusk.jpg", (0.7, 0.85, 1.3))
    tinted(folder / "palace, garden.jpg", (0.85, 1.2, 0.85))
    (folder / "bird.jpg").write_bytes((IMAGENET / "n01530575_brambling.JPEG").read_bytes())
    (folder / "broken.jpg").write_bytes(CHINA.read_bytes()[:3000])
    return folder


@pytest.fixture
def labels(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(LABELS)
    return path


@pytest.fixture(autouse=True)
def objects_and_landmarks(kenning):
    kenning.env["KENNING_CLASSIFIERS"] = "objects,landmarks"


def index_with(kenning, folder, **env):
    saved = dict(kenning.env)
    kenning.env.update(env)
    try:
        kenning("index", folder)
    finally:
        kenning.env = saved


def landmark_tags(kenning, path) -> dict[str, float]:
    return {t["tag"]: t["score"] for t in kenning("tags", path, "--json").json()["tags"]
            if t["source"] == "landmarks"}


def test_onnx_landmarks_on_buildings_only(kenning, library, labels, tmp_path):
    kenning("index", library)  # no landmark model yet: the plug-in does nothing
    assert landmark_tags(kenning, library / "palace.jpg") == {}

    model = colour_onnx(tmp_path / "my landmarks.onnx")
    kenning("models", "install", "landmarks", "--from", model, "--labels", labels)
    listed = {m["name"]: m for m in kenning("models", "--json").json()["models"]}
    assert listed["landmarks"]["state"].startswith("installed")
    kenning("index", library)

    for name in ("palace.jpg", "palace at dusk.jpg", "palace, garden.jpg"):
        landmark, score = expected(library / name)
        found = landmark_tags(kenning, library / name)
        assert set(found) == {"Landmark", landmark}, name
        assert found[landmark] == pytest.approx(score, abs=0.05), name
    assert "Blue Mosque" in landmark_tags(kenning, library / "palace at dusk.jpg")
    assert "Green Gables" in landmark_tags(kenning, library / "palace, garden.jpg")

    bird = kenning("tags", library / "bird.jpg", "--json").json()
    assert "landmarks" not in {c["classifier"] for c in bird["classifiers"]}  # never run
    broken = kenning("tags", library / "broken.jpg", "--json").json()
    assert {c["classifier"]: c["state"] for c in broken["classifiers"]} == {"objects": "failed"}
    palace = kenning("tags", library / "palace.jpg", "--json").json()
    assert [x["label"] for x in palace["labels"] if x["classifier"] == "landmarks"][0] \
        == "0 Red Fort"
    found = kenning("search", "Landmark", "--json").json()["files"]
    assert sorted(p.rsplit("/", 1)[1] for p in found) == [
        "palace at dusk.jpg", "palace, garden.jpg", "palace.jpg"]

    # A photo that stops being a building (its object tags are gone) loses its landmark.
    kenning("reset", "tags", "--classifier", "objects")
    index_with(kenning, library, KENNING_CLASSIFIERS="landmarks")
    assert landmark_tags(kenning, library / "palace.jpg") == {}
    kenning("index", library)
    assert "Red Fort" in landmark_tags(kenning, library / "palace.jpg")


def test_tflite_landmarks_float_and_quantised(kenning, library, labels):
    kenning("models", "install", "landmarks", "--from", TFLITE / "colour_float.tflite",
            "--labels", labels)
    kenning("index", library)
    landmark, score = expected(library / "palace.jpg")
    floats = landmark_tags(kenning, library / "palace.jpg")
    assert set(floats) == {"Landmark", landmark}  # logits went through a softmax
    assert floats[landmark] == pytest.approx(score, abs=0.05)

    # Another model (a new sha256) redoes the landmarks; the quantised one agrees.
    kenning("models", "install", "landmarks", "--from", TFLITE / "colour_uint8.tflite",
            "--labels", labels)
    kenning("index", library)
    quantised = landmark_tags(kenning, library / "palace.jpg")
    assert quantised[landmark] == pytest.approx(floats[landmark], abs=0.03)
    assert set(landmark_tags(kenning, library / "palace at dusk.jpg")) == {
        "Landmark", "Blue Mosque"}

    # Below the threshold: no tag, but the raw label stays to explain why.
    kenning("reset", "tags", "--classifier", "landmarks")
    index_with(kenning, library, KENNING_LANDMARK_THRESHOLD="0.9")
    palace = kenning("tags", library / "palace.jpg", "--json").json()
    assert landmark_tags(kenning, library / "palace.jpg") == {}
    assert any(x["label"] == "0 Red Fort" for x in palace["labels"]
               if x["classifier"] == "landmarks")
    assert set(landmark_tags(kenning, library / "palace at dusk.jpg")) == {
        "Landmark", "Blue Mosque"}


def test_install_refuses_models_that_do_not_fit(kenning, labels, tmp_path):
    def refused(model, label_file=labels):
        args = ["models", "install", "landmarks", "--from", model]
        if label_file is not None:
            args += ["--labels", label_file]
        run = kenning(*args, check=False)
        assert run.code != 0 and run.stderr.startswith("kenning: error: "), run
        assert "Traceback" not in run.stderr
        return run.stderr

    good = colour_onnx(tmp_path / "good.onnx")
    assert "needs --labels" in refused(good, None)
    too_many = tmp_path / "too many.csv"
    too_many.write_text(LABELS + "7,Atlantis\n")
    assert "ids up to 7" in refused(good, too_many)
    not_csv = tmp_path / "names.csv"
    not_csv.write_text("Eiffel Tower\nBig Ben\n")
    assert "id,name" in refused(good, not_csv)
    grey = colour_onnx(tmp_path / "grey.onnx", channels=1)
    assert "RGB" in refused(grey)
    fake = tmp_path / "fake.tflite"
    fake.write_bytes(b"\x00" * 64)
    assert "not a TFLite model" in refused(fake)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model at all")
    assert "ONNX" in refused(garbage)
    listed = {m["name"]: m for m in kenning("models", "--json").json()["models"]}
    assert listed["landmarks"]["state"] == "not installed"

    kenning("models", "install", "landmarks", "--from", good, "--labels", labels)
    assert "Red Fort" in (kenning.data_dir / "models" / "landmarks" / "labels.csv").read_text()
    kenning("models", "remove", "landmarks")
    listed = {m["name"]: m for m in kenning("models", "--json").json()["models"]}
    assert listed["landmarks"]["state"] == "not installed"


def test_regional_models_see_the_photos_of_their_region(kenning, library, tmp_path):
    """Google's landmark models come one per region of the world: each is installed the
    same way (its region from the file name, or --region); a photo whose GPS says where
    it was taken is shown to its region's model only, one without GPS to all of them,
    and the results' model version names each file's sha256."""
    def model(name, sharpness, names):
        labels = tmp_path / f"{name}.csv"
        labels.write_text("id,name\n" + "".join(f"{i},{n}\n" for i, n in enumerate(names)))
        return colour_onnx(tmp_path / f"{name}.onnx", sharpness=sharpness), labels

    asia, asia_labels = model("landmarks_classifier_asia_V1", 60.0,
                              ["Red Fort", "Green Temple", "Blue Mosque"])
    europe, europe_labels = model("my models", 100.0,
                                  ["Red Eiffel", "Green Big Ben", "Blue Rhine"])
    kenning("models", "install", "landmarks", "--from", asia, "--labels", asia_labels)
    bad = kenning("models", "install", "landmarks", "--from", europe, "--labels",
                  europe_labels, "--region", "atlantis", check=False)
    assert bad.code != 0 and "unknown region" in bad.stderr
    kenning("models", "install", "landmarks", "--from", europe, "--labels", europe_labels,
            "--region", "europe")
    listed = {m["name"]: m for m in kenning("models", "--json").json()["models"]}
    assert set(listed["landmarks"]["installed"]) == {"asia", "europe"}

    for name, latitude, longitude in (("delhi.jpg", 28.6562, 77.2410),
                                      ("paris.jpg", 48.8584, 2.2945),
                                      ("istanbul.jpg", 41.0086, 28.9802),
                                      ("rio.jpg", -22.9519, -43.2105)):
        geotagged(CHINA, library / name, latitude, longitude)
    kenning("index", library)
    assert expected(library / "palace.jpg")[0] == "Red Fort"  # red wins, in both models
    found = {name: set(landmark_tags(kenning, library / name)) - {"Landmark"}
             for name in ("delhi.jpg", "paris.jpg", "istanbul.jpg", "rio.jpg", "palace.jpg")}
    assert found == {"delhi.jpg": {"Red Fort"},  # India: Asia's model only
                     "paris.jpg": {"Red Eiffel"},
                     "istanbul.jpg": {"Red Eiffel"},  # both regions; Europe's is surer
                     "rio.jpg": set(),  # South America: no model for it
                     "palace.jpg": {"Red Eiffel"}}  # no GPS: every model, the surest
    rio = kenning("tags", library / "rio.jpg", "--json").json()
    assert {c["classifier"]: c["state"] for c in rio["classifiers"]}["landmarks"] == "done"
    delhi = kenning("tags", library / "delhi.jpg", "--json").json()
    assert [x["label"] for x in delhi["labels"] if x["classifier"] == "landmarks"][0] \
        == "as:0 Red Fort"

    import sqlite3

    with sqlite3.connect(kenning.data_dir / "kenning.db") as db:
        versions = {v for (v,) in db.execute(
            "SELECT model_version FROM work_items WHERE classifier = 'landmarks'")}
    shas = listed["landmarks"]["installed"]
    assert versions == {f"landmarks:as@{shas['asia'][:12]}+eu@{shas['europe'][:12]}"}

    kenning("models", "remove", "landmarks", "--region", "asia")
    listed = {m["name"]: m for m in kenning("models", "--json").json()["models"]}
    assert set(listed["landmarks"]["installed"]) == {"europe"}
    kenning("index", library)  # another set of models: the landmarks are done again
    assert set(landmark_tags(kenning, library / "delhi.jpg")) == set()
    assert set(landmark_tags(kenning, library / "paris.jpg")) == {"Landmark", "Red Eiffel"}
