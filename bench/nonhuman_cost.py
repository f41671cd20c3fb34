"""What judging doubtful faces' crops (kenning.faces.nonhuman) costs the faces classifier.

    .venv/bin/python bench/nonhuman_cost.py [--rounds 3]

The faces classifier with the objects model judging the crops of faces it is unsure of
(as `kenning index` runs it) against the same classifier without, in this process, on
the same dev photos: 200 LFW photos (one person each) and the 100 dev pet photos,
alternating, several rounds. Prints `name: value` lines: photos/s of each and the median
ratio of their times (1.0: free).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "data" / "dev"


def photos() -> dict[str, list[Path]]:
    lfw = sorted((DEV / "faces" / "lfw_view1").rglob("*.jpg"))[::20][:200]
    pets = sorted((DEV / "nonhuman_faces" / "pets").rglob("*.jpg"))
    return {"lfw": lfw, "pets": pets}


def seconds(classifier, paths: list[Path]) -> float:
    from kenning.classifiers.base import MediaFile
    from kenning.media.sniff import MediaKind

    files = [MediaFile(i, p, MediaKind.IMAGE, "jpeg") for i, p in enumerate(paths)]
    started = time.perf_counter()
    for start in range(0, len(files), 8):
        outcome = classifier.classify(files[start:start + 8])
        assert not outcome.failures, outcome.failures
    return time.perf_counter() - started


def main() -> None:
    sys.path.insert(0, str(REPO / "src"))
    from kenning.classifiers.faces import FacesClassifier

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    plain = FacesClassifier(threads=1)
    judging = FacesClassifier(threads=1, objects="efficientnet_lite2")
    plain.warm()
    judging.warm()
    for name, paths in photos().items():
        times = {"plain": [], "judging": []}
        for _ in range(args.rounds):
            times["plain"].append(seconds(plain, paths))
            times["judging"].append(seconds(judging, paths))
        for kind, values in times.items():
            print(f"{name}_{kind}_photos_per_s: {len(paths) / statistics.median(values):.1f}")
        ratio = statistics.median(j / p for j, p in zip(times["judging"], times["plain"],
                                                         strict=True))
        print(f"{name}_time_judging_vs_plain: {ratio:.2f}")


if __name__ == "__main__":
    main()
