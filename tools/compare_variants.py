"""Compare EfficientNet-Lite variants on the dev images: top-1/top-5 and model ms/photo.

    /tmp/convenv/bin/python tools/convert_efficientnet.py lite0 lite1 lite2 --out /tmp/onnx
    .venv/bin/python tools/compare_variants.py /tmp/onnx/efficientnet_lite*.onnx

Uses Kenning's own decode path (DCT-scaled decode, EXIF, TF eval crop) and its ONNX
Runtime settings (1 thread, graph optimisation ALL, batch 1). The result chose the
shipped model (see README).
"""

from __future__ import annotations

import csv
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from kenning.media.images import load_model_input
from kenning.models.runtime import ModelSpec, open_session

DEV = Path(__file__).resolve().parents[2] / "shared/data/dev/imagenet_100"
SIZES = {"lite0": 224, "lite1": 240, "lite2": 260}


def evaluate(path: Path) -> tuple[float, float, float]:
    size = next(s for name, s in SIZES.items() if name in path.name)
    session = open_session(ModelSpec(path.stem, path, None, size, "", ""), threads=1)
    with open(DEV / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    top1 = top5 = 0
    times = []
    for row in rows:
        pixels, _ = load_model_input(DEV / row["file"], size)
        started = time.perf_counter()
        p = session.run(None, {"pixels": pixels[None]})[0][0]
        times.append(time.perf_counter() - started)
        ranked = np.argsort(-p)[:5]
        truth = int(row["class_index"])
        top1 += ranked[0] == truth
        top5 += truth in ranked
    return top1 / len(rows), top5 / len(rows), statistics.median(times) * 1000


def main() -> None:
    for arg in sys.argv[1:]:
        top1, top5, ms = evaluate(Path(arg))
        print(f"{Path(arg).stem}: top1 {top1:.0%} top5 {top5:.0%} model {ms:.1f} ms/photo")


if __name__ == "__main__":
    main()
