"""Nothing leaves the machine: no telemetry from the libraries Kenning runs on."""

from __future__ import annotations

import shutil

from conftest import IMAGENET


def test_no_onnx_runtime_telemetry(kenning, tmp_path):
    """ONNX Runtime 1.29+ reports usage to Microsoft from Linux and keeps a device id and
    an event cache in ~/.cache/Microsoft unless told not to; Kenning tells it not to."""
    home = tmp_path / "home"
    home.mkdir()
    library = tmp_path / "library"
    library.mkdir()
    for source in sorted(IMAGENET.glob("*.JPEG"))[:3]:
        shutil.copyfile(source, library / source.name)
    kenning.env.update(HOME=str(home), KENNING_CLASSIFIERS="objects,faces")
    assert kenning("index", library, "--json").json()["processed"] == {"objects": 3, "faces": 3}
    left = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert not [p for p in left if "Microsoft" in p or "onnxruntime" in p.lower()], left
