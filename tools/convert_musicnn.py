"""Re-implement MusiCNN (MSD or MTT, 50 tags each) from the PyPI package `musicnn` and
export it to ONNX.

    /tmp/convenv/bin/pip install torch==2.13.0 onnx onnxruntime numpy
    /tmp/convenv/bin/pip install --no-deps musicnn==0.1.0
    /tmp/convenv/bin/python tools/convert_musicnn.py [--dataset mtt]

musicnn 0.1.0 (ISC, Jordi Pons) ships TensorFlow 1 checkpoints. TensorFlow is not needed:
`tf_checkpoint.py` reads the checkpoint with numpy, the network of musicnn/models.py
(`build_musicnn`, 64 mid-end filters, 200 back-end units) is rebuilt here in PyTorch,
exported to ONNX with a free batch size, and checked against the PyTorch module.
`tools/check_musicnn_parity.py` compares the ONNX file with the original TensorFlow graph.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from tf_checkpoint import read_checkpoint
from torch import nn
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "src/kenning/models/files"
TAXONOMY = ROOT / "src/kenning/taxonomy"
BN_EPSILON = 1e-3  # tf.compat.v1.layers.batch_normalization's default
PATCH_FRAMES, N_MELS = 187, 96


class BatchNorm(nn.Module):
    """Inference batch normalisation of channel axis 1 of an `ndim` tensor, from TF variables."""

    def __init__(self, weights: dict, name: str, ndim: int) -> None:
        super().__init__()
        gamma, beta = weights[f"{name}/gamma"], weights[f"{name}/beta"]
        mean, var = weights[f"{name}/moving_mean"], weights[f"{name}/moving_variance"]
        scale = gamma / np.sqrt(var + BN_EPSILON)
        shape = [-1 if i == 1 else 1 for i in range(ndim)]
        self.register_buffer("scale", torch.tensor(scale.reshape(shape)))
        self.register_buffer("shift", torch.tensor((beta - mean * scale).reshape(shape)))

    def forward(self, x):
        return x * self.scale + self.shift


def conv2d(weights: dict, name: str) -> nn.Conv2d:
    kernel = weights[f"{name}/kernel"]  # (kh, kw, in, out)
    conv = nn.Conv2d(kernel.shape[2], kernel.shape[3], kernel.shape[:2])
    conv.weight.data = torch.tensor(kernel.transpose(3, 2, 0, 1).copy())
    conv.bias.data = torch.tensor(weights[f"{name}/bias"])
    return conv


def conv1d_over_width(weights: dict, name: str) -> nn.Conv1d:
    """A TF conv whose kernel spans the whole (single-channel) width is a 1-d conv over time."""
    kernel = weights[f"{name}/kernel"]  # (7, width, 1, out)
    conv = nn.Conv1d(kernel.shape[1], kernel.shape[3], kernel.shape[0], padding=kernel.shape[0] // 2)
    conv.weight.data = torch.tensor(kernel[:, :, 0, :].transpose(2, 1, 0).copy())
    conv.bias.data = torch.tensor(weights[f"{name}/bias"])
    return conv


def dense(weights: dict, name: str) -> nn.Linear:
    kernel = weights[f"{name}/kernel"]
    layer = nn.Linear(*kernel.shape)
    layer.weight.data = torch.tensor(kernel.T.copy())
    layer.bias.data = torch.tensor(weights[f"{name}/bias"])
    return layer


class MusiCNN(nn.Module):
    """log-mel patches (batch, 187, 96) -> tag probabilities (batch, 50)."""

    def __init__(self, w: dict) -> None:
        super().__init__()
        self.input_bn = BatchNorm(w, "batch_normalization", 4)
        # front end: timbral (7x38, 7x67 over frequency) and temporal (128, 64, 32 frames)
        self.timbral = nn.ModuleList([conv2d(w, "conv2d"), conv2d(w, "conv2d_1")])
        self.timbral_bn = nn.ModuleList([BatchNorm(w, f"batch_normalization_{i}", 4) for i in (1, 2)])
        self.temporal = nn.ModuleList([conv2d(w, f"conv2d_{i}") for i in (2, 3, 4)])
        self.temporal_bn = nn.ModuleList([BatchNorm(w, f"batch_normalization_{i}", 4) for i in (3, 4, 5)])
        # mid end: three 7-frame convolutions with residual connections
        self.mid = nn.ModuleList([conv1d_over_width(w, f"conv2d_{i}") for i in (5, 6, 7)])
        self.mid_bn = nn.ModuleList([BatchNorm(w, f"batch_normalization_{i}", 3) for i in (6, 7, 8)])
        # back end: max and mean over time, dense 200, dense 50
        self.pool_bn = BatchNorm(w, "batch_normalization_9", 2)
        self.dense = dense(w, "dense")
        self.dense_bn = BatchNorm(w, "batch_normalization_10", 2)
        self.output = dense(w, "dense_1")

    def forward(self, logmel):
        x = self.input_bn(logmel.unsqueeze(1))  # (B, 1, T, 96); BN over the single channel
        front = []
        for conv, bn in zip(self.timbral, self.timbral_bn, strict=True):
            y = bn(F.relu(conv(F.pad(x, (0, 0, 3, 3)))))
            front.append(y.amax(dim=3))  # max over frequency -> (B, C, T)
        for conv, bn in zip(self.temporal, self.temporal_bn, strict=True):
            k = conv.kernel_size[0]  # TF "same" padding: the extra row goes after
            y = bn(F.relu(conv(F.pad(x, (0, 0, (k - 1) // 2, k // 2)))))
            front.append(y.amax(dim=3))
        features = [torch.cat(front, dim=1)]  # (B, 561, T)
        previous = None
        for conv, bn in zip(self.mid, self.mid_bn, strict=True):
            y = bn(F.relu(conv(features[-1])))
            previous = y if previous is None else y + previous
            features.append(previous)
        mid = torch.cat(features, dim=1)  # (B, 753, T)
        pooled = torch.stack([mid.amax(dim=2), mid.mean(dim=2)], dim=2).flatten(1)  # TF order
        hidden = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
        return torch.sigmoid(self.output(hidden))


def _labels(package: Path, dataset: str) -> list[str]:
    """The model's 50 tags, in its output order (musicnn/configuration.py)."""
    spec = importlib.util.spec_from_file_location("musicnn_configuration",
                                                  package / "configuration.py")
    configuration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(configuration)
    return list(getattr(configuration, f"{dataset.upper()}_LABELS"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("msd", "mtt"), default="msd",
                        help="the Million Song Dataset (Last.fm tags) or MagnaTagATune")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    args.output = args.output or MODELS / f"musicnn_{args.dataset}.onnx"
    package = Path(importlib.util.find_spec("musicnn").origin).parent
    checkpoint = package / f"{args.dataset.upper()}_musicnn"
    weights = read_checkpoint(f"{checkpoint}/")  # files named ".index" etc.
    model = MusiCNN(weights).eval()
    labels = _labels(package, args.dataset)
    (TAXONOMY / f"musicnn_{args.dataset}_labels.txt").write_text("\n".join(labels) + "\n")

    example = torch.randn(2, PATCH_FRAMES, N_MELS).abs()
    torch.onnx.export(model, (example,), str(args.output), input_names=["logmel"],
                      output_names=["tags"], dynamic_axes={"logmel": {0: "batch"}, "tags": {0: "batch"}},
                      opset_version=17, dynamo=False)
    onnx_model = onnx.load(str(args.output))
    onnx_model.doc_string = (f"MusiCNN {args.dataset.upper()} (Pons & Serra), from PyPI "
                             "musicnn==0.1.0 (ISC)")
    onnx.save(onnx_model, str(args.output))

    rng = np.random.default_rng(0)
    batch = (rng.random((5, PATCH_FRAMES, N_MELS), dtype=np.float32) * 3).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.tensor(batch)).numpy()
    session = ort.InferenceSession(str(args.output), providers=["CPUExecutionProvider"])
    got = session.run(None, {"logmel": batch})[0]
    print(f"onnx vs torch: max abs difference {np.abs(got - expected).max():.2e}")
    sha = hashlib.sha256(args.output.read_bytes()).hexdigest()
    print(f"{args.output.name}: sha256 {sha}, {args.output.stat().st_size} bytes")
    print(json.dumps({"sha256": sha}))


if __name__ == "__main__":
    main()
