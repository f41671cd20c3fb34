"""Model files are checked before use; settings come from file, environment and flags."""

from __future__ import annotations

import shutil

import pytest

from kenning.config import ConfigError, load_settings
from kenning.models.runtime import ModelError, find_model, manifest, open_session


def test_shipped_model_matches_its_manifest():
    entry = manifest()[0]
    spec = find_model(entry["name"])
    assert spec.licence == "Apache-2.0" and "PyPI" in spec.source
    session = open_session(spec)
    assert session.get_inputs()[0].shape[1:] == [spec.input_size, spec.input_size, 3]
    assert spec.version.startswith(f"{entry['name']}@{entry['sha256'][:12]}")


def test_a_damaged_model_file_is_refused(tmp_path):
    spec = find_model("efficientnet_lite2")
    damaged = tmp_path / "efficientnet_lite2.onnx"
    shutil.copy(spec.path, damaged)
    with open(damaged, "r+b") as f:
        f.seek(1000)
        f.write(b"\0" * 16)
    with pytest.raises(ModelError, match="damaged"):
        open_session(type(spec)(spec.name, damaged, spec.sha256, spec.input_size,
                                spec.licence, spec.source))


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(ModelError, match="unknown model"):
        find_model("resnet9000")


def test_a_users_own_onnx_file_gets_a_version_from_its_content(tmp_path):
    own = tmp_path / "mine.onnx"
    shutil.copy(find_model("efficientnet_lite2").path, own)
    spec = find_model(str(own), default_size=260)
    assert spec.sha256 is None and spec.version.startswith("mine@")


def test_settings_precedence(tmp_path, monkeypatch):
    for name in ("KENNING_DATA_DIR", "KENNING_WORKERS", "KENNING_CONFIG", "KENNING_CLASSIFIERS"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "config.toml").write_text('workers = 3\nbatch_size = 16\nclassifiers = []\n')
    settings = load_settings(tmp_path)
    assert (settings.workers, settings.batch_size, settings.classifiers) == (3, 16, ())
    assert settings.db_url == f"sqlite:///{tmp_path / 'kenning.db'}"
    monkeypatch.setenv("KENNING_WORKERS", "5")
    assert load_settings(tmp_path).workers == 5
    assert load_settings(tmp_path, workers=1).workers == 1


@pytest.mark.parametrize("text, message", [
    ("workers = 0\n", "at least 1"),
    ("colour = 'blue'\n", "unknown settings colour"),
    ("workers = [\n", "config.toml"),
    ("broker_queue = 'a queue/with spaces'\n", "not a queue name"),
])
def test_bad_config_files_are_explained(tmp_path, monkeypatch, text, message):
    monkeypatch.delenv("KENNING_WORKERS", raising=False)
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path)
