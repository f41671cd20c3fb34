"""Build the two tiny TFLite landmark models the tests install (run once, by a developer).

    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu
    /tmp/tfenv/bin/python tools/make_test_landmark_tflite.py   # writes tests/data/landmarks/

Both have the shape of Google's `landmarks_classifier_*_V1` (one 321x321 RGB image in
[0, 1] in, one score per label out) and compute the same thing as the ONNX model that
tests/integration/test_landmarks.py builds with the onnx helper: logits = SHARPNESS x the
mean of each colour channel, so the "landmark" is the photo's dominant colour.
- `colour_float.tflite`: float32 in, logits out (the model applies no softmax).
- `colour_uint8.tflite`: fully quantised, uint8 image in and uint8 probabilities out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

SIZE = 321
SHARPNESS = 100.0
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "landmarks"


def build(softmax: bool) -> tf.keras.Model:
    image = tf.keras.Input((SIZE, SIZE, 3), batch_size=1, name="image")
    means = tf.keras.layers.GlobalAveragePooling2D()(image)
    logits = tf.keras.layers.Dense(3, use_bias=False, name="colours",
                                   kernel_initializer=tf.keras.initializers.Constant(
                                       np.eye(3) * SHARPNESS))(means)
    out = tf.keras.layers.Softmax()(logits) if softmax else logits
    return tf.keras.Model(image, out)


def representative():
    rng = np.random.default_rng(0)
    for _ in range(32):
        colour = rng.random(3).astype(np.float32)
        noise = rng.random((1, SIZE, SIZE, 3)).astype(np.float32) * 0.3
        yield [np.clip(colour + noise - 0.15, 0, 1)]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    converter = tf.lite.TFLiteConverter.from_keras_model(build(softmax=False))
    (OUT / "colour_float.tflite").write_bytes(converter.convert())
    converter = tf.lite.TFLiteConverter.from_keras_model(build(softmax=True))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8
    (OUT / "colour_uint8.tflite").write_bytes(converter.convert())
    for path in sorted(OUT.glob("*.tflite")):
        print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
