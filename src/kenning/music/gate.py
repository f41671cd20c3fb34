"""Is this sound music at all? A rule on three measurable properties of the signal.

MusiCNN tags whatever it is given, so a voice memo comes out as "Hip-Hop" and a silent
track as "Rock". Before tagging, each track is measured:

- loud_fraction: the share of 32 ms frames above -45 dBFS. Below 0.5 it is silence.
- variation: how much the log-mel spectrum changes between 0.5 s blocks (mean over bands
  of the standard deviation). Noise, hum and test tones are steady (white, pink and brown
  noise 0.06, a sine 0.01); every dev music clip is above 0.23. Below 0.12 it is noise.
- low_energy_ratio: the share of frames quieter than half the mean level of the second
  around them. Speech pauses between syllables and words (0.37-0.41 for generated speech
  in four languages, also with noise added); the dev music clips are at most 0.23.
  Above 0.30 it is speech, unless it has a beat:
- beat: how periodic the sound's onsets are (the autocorrelation of the spectral flux at
  lags of 0.25-1.5 s, as a share of its value at 0). Speech has none (0.07-0.14 for the
  generated speech in four languages, with noise or not); rap over a beat, and music
  with pauses between its beats, has one (GTZAN's hip-hop 0.21 and 0.60, an Emotify
  electronic clip whose quiet gaps look like speech's 0.82, that generated speech over a
  drum loop 0.22). A speech-like track with a beat of at least MIN_BEAT is music. The
  margin on the speech side is thin (0.14 against 0.2), measured on generated speech
  only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kenning.music.features import HOP, SAMPLE_RATE

FRAME = 512
SILENCE_DBFS = -45.0
MIN_LOUD_FRACTION = 0.5
MIN_VARIATION = 0.12
MAX_LOW_ENERGY_RATIO = 0.30
MIN_BEAT = 0.2
BEAT_LAGS = (0.25, 1.5)  # seconds: 240 to 40 beats a minute
BLOCK_FRAMES = 31  # about 0.5 s of log-mel frames
CONTEXT_FRAMES = SAMPLE_RATE // HOP  # about 1 s


@dataclass(frozen=True)
class GateReport:
    loud_fraction: float
    variation: float
    low_energy_ratio: float
    beat: float = 0.0

    @property
    def verdict(self) -> str:
        """"music", or why it is not: "silence", "noise" or "speech"."""
        if self.loud_fraction < MIN_LOUD_FRACTION:
            return "silence"
        if self.variation < MIN_VARIATION:
            return "noise"
        if self.low_energy_ratio > MAX_LOW_ENERGY_RATIO and self.beat < MIN_BEAT:
            return "speech"
        return "music"

    @property
    def is_music(self) -> bool:
        return self.verdict == "music"


def measure(samples: np.ndarray, logmel: np.ndarray) -> GateReport:
    """Measure 16 kHz mono samples and their log-mel spectrogram."""
    if samples.size < FRAME:
        return GateReport(0.0, 0.0, 0.0)
    frames = np.lib.stride_tricks.sliding_window_view(samples, FRAME)[::HOP]
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float32), axis=1) + 1e-12)
    loud_fraction = float(np.mean(20 * np.log10(rms) > SILENCE_DBFS))

    blocks = logmel.shape[0] // BLOCK_FRAMES
    if blocks >= 2:
        means = logmel[: blocks * BLOCK_FRAMES].reshape(blocks, BLOCK_FRAMES, -1).mean(axis=1)
        variation = float(means.std(axis=0).mean())
    else:
        variation = 0.0

    if rms.size >= CONTEXT_FRAMES:
        local = np.convolve(rms, np.full(CONTEXT_FRAMES, 1.0 / CONTEXT_FRAMES), mode="same")
        low_energy_ratio = float(np.mean(rms < 0.5 * local))
    else:
        low_energy_ratio = 0.0
    return GateReport(loud_fraction, variation, low_energy_ratio, beat_strength(logmel))


def beat_strength(logmel: np.ndarray) -> float:
    """How periodic the onsets are: the normalised autocorrelation of the positive
    spectral flux, at its highest over lags of BEAT_LAGS."""
    frames_per_second = SAMPLE_RATE / HOP
    low, high = (int(lag * frames_per_second) for lag in BEAT_LAGS)
    if logmel.shape[0] < 2 * high:
        return 0.0
    flux = np.maximum(0.0, np.diff(logmel, axis=0)).sum(axis=1)
    flux = flux - flux.mean()
    energy = float(flux @ flux)
    if energy <= 0:
        return 0.0
    lags = [float(flux[:-lag] @ flux[lag:]) / energy for lag in range(low, high)]
    return max(0.0, max(lags))
