"""The log-mel spectrogram MusiCNN was trained on, in numpy (float32 throughout).

Matches librosa's defaults as the musicnn package used them: 16 kHz mono, a 512-point
periodic Hann window, hop 256, centred frames with reflect padding, power spectrum,
96 Slaney-scale mel bands with Slaney area normalisation, then log10(1 + 10000 * mel).
The package itself cast the mel to float16 before multiplying, which overflows under
numpy 2; here the arithmetic stays in float32.
"""

from __future__ import annotations

from functools import cache

import numpy as np

SAMPLE_RATE = 16000
FFT_SIZE = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # 3 s: the input length MusiCNN was trained with


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_region = hz >= 1000.0
    return np.where(log_region, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27),
                    linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27) * (mel - 15.0)),
                    mel * (200.0 / 3))


@cache
def mel_filterbank() -> np.ndarray:
    """(N_MELS, FFT_SIZE // 2 + 1) triangular Slaney filters with area normalisation."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, FFT_SIZE // 2 + 1)
    mel_points = np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2)
    hz_points = _mel_to_hz(mel_points)
    widths = np.diff(hz_points)
    ramps = hz_points[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (hz_points[2:] - hz_points[:-2]))[:, None]
    return weights.astype(np.float32)


@cache
def _window() -> np.ndarray:
    n = np.arange(FFT_SIZE)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / FFT_SIZE)).astype(np.float32)


def log_mel(samples: np.ndarray) -> np.ndarray:
    """(frames, N_MELS) float32 log-mel of 16 kHz mono float samples."""
    samples = np.asarray(samples, dtype=np.float32)
    pad = FFT_SIZE // 2
    if samples.size <= pad:
        samples = np.pad(samples, (0, pad + 1 - samples.size))
    padded = np.pad(samples, pad, mode="reflect")
    n_frames = 1 + (padded.size - FFT_SIZE) // HOP
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(n_frames, FFT_SIZE), strides=(padded.strides[0] * HOP, padded.strides[0]))
    spectrum = np.fft.rfft(frames * _window(), axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    mel = power @ mel_filterbank().T
    return np.log10(1.0 + 10000.0 * mel, dtype=np.float32)


def patches(features: np.ndarray, max_patches: int) -> np.ndarray:
    """Up to `max_patches` non-overlapping 3 s patches, spread evenly over the features.

    A clip shorter than one patch is repeated to fill it (the training data's padding)."""
    if features.shape[0] < PATCH_FRAMES:
        repeats = -(-PATCH_FRAMES // max(features.shape[0], 1))
        features = np.tile(features, (repeats, 1))[:PATCH_FRAMES]
    count = features.shape[0] // PATCH_FRAMES
    starts = np.arange(count) * PATCH_FRAMES
    if count > max_patches:
        starts = starts[np.linspace(0, count - 1, max_patches).round().astype(int)]
    return np.stack([features[s : s + PATCH_FRAMES] for s in starts])
