"""Small parts of the scale-out: worker path maps and yes/no settings."""

from __future__ import annotations

import pytest

from kenning.config import ConfigError, load_settings
from kenning.pipeline.jobs import map_path


def test_path_map_rewrites_only_whole_leading_folders():
    pairs = [("/srv/photos", "/mnt/nas/photos"), ("/home/ann", "/data/ann/")]
    assert map_path("/srv/photos", pairs) == "/mnt/nas/photos"
    assert map_path("/srv/photos/2024/trip", pairs) == "/mnt/nas/photos/2024/trip"
    assert map_path("/srv/photos-old", pairs) == "/srv/photos-old"  # not a sub-folder
    assert map_path("/home/ann/Pictures", pairs) == "/data/ann/Pictures"
    assert map_path("/elsewhere", pairs) == "/elsewhere"
    assert map_path("/srv/photos", []) == "/srv/photos"


@pytest.mark.parametrize(("text", "value"), [("true", True), ("0", False), ("No", False),
                                             ("on", True)])
def test_yes_no_settings(monkeypatch, tmp_path, text, value):
    monkeypatch.setenv("KENNING_ISOLATE_DECODING", text)
    assert load_settings(tmp_path).isolate_decoding is value


def test_bad_settings_are_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("KENNING_ISOLATE_DECODING", "perhaps")
    with pytest.raises(ConfigError, match="not a valid boolean"):
        load_settings(tmp_path)
    monkeypatch.delenv("KENNING_ISOLATE_DECODING")
    monkeypatch.setenv("KENNING_CLAIM_TIMEOUT", "0")
    with pytest.raises(ConfigError, match="at least 1"):
        load_settings(tmp_path)
    monkeypatch.setenv("KENNING_CLAIM_TIMEOUT", "10")
    monkeypatch.setenv("KENNING_LANDMARK_THRESHOLD", "1.5")
    with pytest.raises(ConfigError, match="score"):
        load_settings(tmp_path)
