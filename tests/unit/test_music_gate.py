"""The music gate on real generated speech, silence, noise and tones, and the dev music."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import MEMO, MUSIC, espeak

from kenning.media.audio import decode_audio
from kenning.music.features import PATCH_FRAMES, SAMPLE_RATE, log_mel, patches
from kenning.music.gate import measure

RNG = np.random.default_rng(7)


def verdict(samples: np.ndarray) -> str:
    samples = samples.astype(np.float32)
    return measure(samples, log_mel(samples)).verdict


def noise(kind: str, seconds: float = 20) -> np.ndarray:
    white = RNG.standard_normal(int(seconds * SAMPLE_RATE))
    if kind == "white":
        shaped = white
    elif kind == "pink":
        spectrum = np.fft.rfft(white) / np.sqrt(np.arange(1, white.size // 2 + 2))
        shaped = np.fft.irfft(spectrum, n=white.size)
    else:  # brown: integrated white noise, its slow drift removed
        shaped = np.cumsum(white)
        shaped -= np.convolve(shaped, np.full(1000, 1e-3), mode="same")
    return 0.2 * shaped / shaped.std()


@pytest.mark.parametrize("voice", ["en", "de", "fr", "en-us+f3"])
def test_speech_is_not_music(tmp_path, voice):
    path = espeak(MEMO, tmp_path / "memo.wav", voice)
    samples = decode_audio(path, SAMPLE_RATE, 120)
    assert verdict(samples) == "speech"
    noisy = samples + 0.01 * RNG.standard_normal(samples.size)
    assert verdict(noisy) == "speech"


@pytest.mark.parametrize("kind", ["white", "pink", "brown"])
def test_noise_is_not_music(kind):
    assert verdict(noise(kind)) == "noise"


def test_silence_hiss_and_tone_are_not_music():
    assert verdict(np.zeros(SAMPLE_RATE * 10)) == "silence"
    assert verdict(0.001 * RNG.standard_normal(SAMPLE_RATE * 10)) == "silence"
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(SAMPLE_RATE * 10) / SAMPLE_RATE)
    assert verdict(tone) == "noise"
    assert verdict(np.zeros(100)) == "silence"  # shorter than one frame


def test_every_dev_music_clip_is_music():
    for path in sorted(MUSIC.glob("*.wav")):
        assert verdict(decode_audio(path, SAMPLE_RATE, 120)) == "music", path.name


def test_patches_spread_and_pad():
    features = np.arange(PATCH_FRAMES * 10 * 96, dtype=np.float32).reshape(-1, 96)
    spread = patches(features, 4)
    assert spread.shape == (4, PATCH_FRAMES, 96)
    assert spread[0, 0, 0] == 0 and spread[-1, 0, 0] == features[9 * PATCH_FRAMES, 0]
    short = patches(features[:50], 4)  # 0.8 s: repeated to fill one patch
    assert short.shape == (1, PATCH_FRAMES, 96)
    assert np.array_equal(short[0, 50], features[0])
