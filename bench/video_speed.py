"""Seconds per 10 s video clip through actions + keyframe objects, against a baseline.

    .venv/bin/python bench/video_speed.py [--repeats 5]

Clip: the dev "arm wrestling" video (10 s, 28 fps, h264). Kenning's path: the video
classifier without faces: one sequential decode taking 5 fps action frames and 5
keyframes on the way, MoViNet-A0 Stream on LiteRT (1 thread, the shared copy in
../shared/models standing in for a user's installed one), EfficientNet-Lite2 on the
keyframes. Baseline, same process, same models: decode every frame to RGB at full size,
then resize the sampled ones, and seek separately for each keyframe. Prints medians;
target <= 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CLIP = SHARED / "data/dev/video/mmaction2/demo.mp4"
MOVINET = SHARED / "models/movinet_a0_stream_kinetics600/movinet_a0_stream_int8.tflite"


def baseline(classifier, path: Path) -> list:
    import av
    from PIL import Image

    from kenning.media.images import model_input_from_image
    from kenning.media.video import keyframe_times

    with av.open(str(path)) as container:
        frames = [(f.time, f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    duration = frames[-1][0]
    window, next_t = [], 0.0
    for t, rgb in frames:
        if t >= next_t:
            small = Image.fromarray(rgb).resize((172, 172), Image.Resampling.BILINEAR)
            window.append(np.asarray(small, np.float32) / 255)
            next_t += 0.2
    tags, _ = classifier.actions.tags([np.stack(window)])
    keyframes = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for wanted in keyframe_times(duration):
            container.seek(int(wanted / stream.time_base), stream=stream)
            keyframes.append(next(container.decode(stream)).to_image())
    session = classifier.objects.session
    pixels = np.stack([model_input_from_image(k, classifier.objects.size) for k in keyframes])
    session.run(None, {session.get_inputs()[0].name: pixels})
    return tags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from kenning.classifiers.base import MediaFile
    from kenning.classifiers.objects import ObjectsClassifier
    from kenning.classifiers.video import VideoClassifier
    from kenning.media.sniff import MediaKind
    from kenning.models.optional import InstalledModel
    from kenning.models.runtime import file_sha256
    from kenning.video.actions import ActionModel

    movinet = InstalledModel("movinet_a0_stream_kinetics600", MOVINET, file_sha256(MOVINET), None)
    classifier = VideoClassifier(ObjectsClassifier(), None, ActionModel(movinet))
    file = MediaFile(1, CLIP, MediaKind.VIDEO, "mp4")
    classifier.classify([file])  # models load once per worker
    baseline(classifier, CLIP)
    ours, theirs = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        outcome = classifier.classify([file])
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        baseline(classifier, CLIP)
        theirs.append(time.perf_counter() - start)
    kenning_s, baseline_s = statistics.median(ours), statistics.median(theirs)
    print("clip_seconds: 10")
    print(f"kenning_seconds_per_clip_median: {kenning_s:.3f}")
    print(f"baseline_seconds_per_clip_median: {baseline_s:.3f}")
    print(f"speedup: {baseline_s / kenning_s:.2f}")
    print(f"tags: {', '.join(t for t, _ in outcome.results[0].tags)}")
    print(f"target_met: {kenning_s <= 1.0}")


if __name__ == "__main__":
    main()
