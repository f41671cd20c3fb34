"""Compare the exported MusiCNN ONNX file with the original TensorFlow network.

    python3 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu tf_keras librosa onnxruntime
    /tmp/tfenv/bin/pip install --no-deps musicnn==0.1.0
    TF_USE_LEGACY_KERAS=1 /tmp/tfenv/bin/python tools/check_musicnn_parity.py ../shared/data/dev/music_gtzan_20/*.wav

Builds the graph with musicnn's own `models.define_model`, restores its MSD checkpoint,
and runs it and the ONNX file on the same log-mel patches: Kenning's numpy features of
the given audio files, decoded at 16 kHz by librosa as the package did. Also checks
Kenning's log-mel against librosa's. A one-off check; nothing in Kenning runs TensorFlow.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import librosa
import numpy as np
import onnxruntime as ort
import tensorflow as tf
from musicnn import models

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from kenning.music.features import PATCH_FRAMES, log_mel, patches  # noqa: E402


def main(paths: list[str]) -> None:
    batches, feature_error = [], 0.0
    for path in paths:
        audio, _ = librosa.load(path, sr=16000)
        mine = log_mel(audio)
        reference = librosa.feature.melspectrogram(y=audio, sr=16000, hop_length=256, n_fft=512,
                                                   n_mels=96, pad_mode="reflect").T
        reference = np.log10(1 + 10000 * reference.astype(np.float32))
        feature_error = max(feature_error, float(np.abs(mine - reference).max()))
        batches.append(patches(mine, 20))
    batch = np.concatenate(batches)

    tf.compat.v1.disable_eager_execution()
    x = tf.compat.v1.placeholder(tf.float32, [None, PATCH_FRAMES, 96])
    with tf.name_scope("model"):
        logits = models.define_model(x, False, "MSD_musicnn", 50)[0]
    probabilities = tf.nn.sigmoid(logits)
    session = tf.compat.v1.Session()
    package = Path(importlib.util.find_spec("musicnn").origin).parent
    tf.compat.v1.train.Saver().restore(session, f"{package / 'MSD_musicnn'}/")
    expected = session.run(probabilities, {x: batch})

    onnx_session = ort.InferenceSession(str(ROOT / "src/kenning/models/files/musicnn_msd.onnx"))
    got = onnx_session.run(None, {"logmel": batch})[0]
    difference = np.abs(got - expected)
    same_top = float(np.mean(got.argmax(1) == expected.argmax(1)))
    print(f"patches: {len(batch)} from {len(paths)} files")
    print(f"logmel_vs_librosa_max_abs: {feature_error:.2e}")
    print(f"onnx_vs_tensorflow_max_abs: {difference.max():.2e}")
    print(f"onnx_vs_tensorflow_mean_abs: {difference.mean():.2e}")
    print(f"same_top_tag: {same_top:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
