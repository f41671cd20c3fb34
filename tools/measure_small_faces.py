"""How many small faces the faces classifier finds (run by a developer).

    .venv/bin/python tools/measure_small_faces.py [--dev ../shared/data/dev]

On the dev street and crowd photos (`faces/crowds`, up to 600 px, 2-100 faces each, most
wearing masks; hand-drawn boxes), as `kenning index` detects them: the recall of the
boxed faces by size (the box's shorter side, at least 16, 24 and 32 px) and the
detections that match no box (some are real faces nobody boxed). Prints `name: value`
lines (tests/crowd_faces.py). About half a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from crowd_faces import crowd_recall  # noqa: E402

from kenning.classifiers.faces import FacesClassifier  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=REPO.parent / "shared" / "data" / "dev")
    args = parser.parse_args()
    for line in crowd_recall(args.dev, FacesClassifier(threads=2)).lines():
        print(line)


if __name__ == "__main__":
    main()
