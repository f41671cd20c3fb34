"""How many faces of 100 to 1,200 px the faces classifier finds in camera-sized photos
(run by a developer).

    .venv/bin/python tools/measure_camera_faces.py [--dev ../shared/data/dev] [--photos 50]

Builds (once, into /tmp/kenning-camera-faces) 4000 x 3000 photos with real LFW faces
pasted at known sizes (tests/camera_faces.py) and prints, as `name: value` lines, the
faces found per size and the faces classifier's time per photo. About a minute.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from camera_faces import build, camera_recall  # noqa: E402

from kenning.classifiers.faces import FacesClassifier  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=REPO.parent / "shared" / "data" / "dev")
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--into", type=Path, default=Path("/tmp/kenning-camera-faces"))
    args = parser.parse_args()
    photos = build(args.dev, args.into, args.photos)
    classifier = FacesClassifier(threads=2)
    camera_recall(photos[:4], classifier)  # models loaded, caches warm
    for line in camera_recall(photos, classifier).lines():
        print(line)


if __name__ == "__main__":
    main()
