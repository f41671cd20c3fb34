"""Seconds per 30 s song (mp3 decode + log-mel + gate + both MusiCNN models), against a
baseline.

    .venv/bin/python bench/music_speed.py [--repeats 5]

Kenning's path: `MusicClassifier.classify` on a 30 s 44.1 kHz stereo mp3 made from dev
clips: PyAV decodes and resamples to 16 kHz mono in one pass, float32 log-mel, the gate,
10 patches in calls of 4 per model (1 thread). Baseline, same process, same models: the
musicnn package's own way of working: decode at the native rate, resample separately
(linear interpolation here, librosa's resampler in the package), float64 features, and
one patch per model call. Prints `name: value` lines with medians; target <= 1.5 s.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MUSIC = REPO.parent / "shared" / "data" / "dev" / "music_gtzan_20"
sys.path.insert(0, str(REPO / "tests"))


def make_song(path: Path) -> Path:
    import av
    from media_factory import read_audio

    samples = np.concatenate([read_audio(MUSIC / name, 44_100)
                              for name in ("rock.00000.wav", "rock.00001.wav")])[:44_100 * 30]
    stereo = np.stack([samples, samples * 0.9]).astype(np.float32)
    with av.open(str(path), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=44_100)
        stream.layout = "stereo"
        resampler = av.AudioResampler(format="s16p", layout="stereo", rate=44_100)
        for start in range(0, stereo.shape[1], 1152):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(stereo[:, start:start + 1152]),
                                               format="fltp", layout="stereo")
            frame.sample_rate = 44_100
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def baseline(path: Path, sessions) -> np.ndarray:
    import av

    from kenning.music.features import PATCH_FRAMES, log_mel

    with av.open(str(path)) as container:
        frames = [f.to_ndarray() for f in container.decode(audio=0)]
        rate = container.streams.audio[0].rate
    audio = np.concatenate(frames, axis=1).astype(np.float64).mean(axis=0)
    audio /= 32768.0 if np.abs(audio).max() > 2 else 1.0
    times = np.arange(0, audio.size / rate, 1 / 16000)
    resampled = np.interp(times, np.arange(audio.size) / rate, audio)
    features = log_mel(resampled).astype(np.float64).astype(np.float32)
    outputs = [np.concatenate([session.run(None, {"logmel": features[None, s:s + PATCH_FRAMES]})[0]
                               for session in sessions], axis=1)
               for s in range(0, features.shape[0] - PATCH_FRAMES + 1, PATCH_FRAMES)]
    return np.concatenate(outputs).mean(axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from kenning.classifiers.base import MediaFile
    from kenning.classifiers.music import MusicClassifier
    from kenning.media.sniff import MediaKind

    with tempfile.TemporaryDirectory() as tmp:
        song = make_song(Path(tmp) / "song.mp3")
        classifier = MusicClassifier()
        file = MediaFile(1, song, MediaKind.AUDIO, "mp3")
        classifier.classify([file])  # load the model once, as a worker does
        ours, theirs = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            outcome = classifier.classify([file])
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            baseline(song, (classifier.session, classifier.second))
            theirs.append(time.perf_counter() - start)
        assert not outcome.failures, outcome.failures
    kenning_s, baseline_s = statistics.median(ours), statistics.median(theirs)
    print("song_seconds: 30")
    print(f"kenning_seconds_per_song_median: {kenning_s:.3f}")
    print(f"baseline_seconds_per_song_median: {baseline_s:.3f}")
    print(f"speedup: {baseline_s / kenning_s:.2f}")
    print(f"tags: {', '.join(t for t, _ in outcome.results[0].tags) or '(none)'}")
    print(f"peak_rss_mb: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    print(f"target_met: {kenning_s <= 1.5}")


if __name__ == "__main__":
    main()
