"""Object tags on labelled photos that no threshold was tuned on (run by a developer).

    .venv/bin/python tools/check_fresh_photos.py [--wheel foolbox-3.3.4-py3-none-any.whl]

The only labelled photos found offline besides the dev set: the 20 ImageNet validation
photos the PyPI package foolbox (MIT) ships as test samples, `foolbox/data/imagenet_NN_C.jpg`
with C the class index. They are read from the wheel (downloaded with pip unless given),
never copied into Kenning. Their classes are spread over all 1,000 (the dev set has the
first 100 only). Prints `name: value` lines with the same measures as the dev test
(tests/integration/test_objects_accuracy.py): photos with a tag that fits the true class,
tag precision, and contradictions (a photo of one kind of thing tagged as another).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kenning.classifiers.base import MediaFile  # noqa: E402
from kenning.classifiers.objects import ObjectsClassifier  # noqa: E402
from kenning.media.sniff import MediaKind  # noqa: E402

WHEEL = "foolbox==3.3.4"
SAMPLE = re.compile(r"foolbox/data/imagenet_\d+_(\d+)\.jpg$")
EXCLUSIVE = {"Dog", "Cat", "Bird", "Fish", "Reptile", "Amphibian", "Insect", "Spider",
             "Crustacean", "Mollusk", "Vehicle", "Food"}  # as in the dev test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="foolbox wheel (default: pip download)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", WHEEL, "--no-deps",
                            "-d", tmp, "-q"], check=True)
            wheel = next(Path(tmp).glob("foolbox-*.whl"))
        photos: list[tuple[Path, int]] = []
        with zipfile.ZipFile(wheel) as archive:
            for member in sorted(archive.namelist()):
                if match := SAMPLE.match(member):
                    target = Path(tmp) / Path(member).name
                    target.write_bytes(archive.read(member))
                    photos.append((target, int(match.group(1))))
        classifier = ObjectsClassifier()
        files = [MediaFile(i, path, MediaKind.IMAGE, "jpeg")
                 for i, (path, _) in enumerate(photos)]
        outcome = classifier.classify(files)
        assert not outcome.failures, outcome.failures
    taxonomy = classifier.taxonomy
    by_id = {r.file_id: r for r in outcome.results}
    fitting = right = wrong = top1 = 0
    contradictions, missed = [], []
    for i, (_path, class_index) in enumerate(photos):
        truth = {taxonomy.tag_names[j]
                 for j in np.flatnonzero(taxonomy.membership[class_index])}
        result = by_id[i]
        names = {name for name, _ in result.tags}
        best = max(result.labels, key=lambda label: label[1])[0] if result.labels else ""
        top1 += best.split(" ", 1)[0] == taxonomy.wnids[class_index]
        fitting += bool(names & truth)
        right, wrong = right + len(names & truth), wrong + len(names - truth)
        if not names & truth:
            missed.append(f"{taxonomy.labels[class_index]} -> {sorted(names) or 'no tag'}")
        if truth & EXCLUSIVE:
            contradictions += [f"{taxonomy.labels[class_index]}: {t}"
                               for t in names - truth if t in EXCLUSIVE]
    print(f"photos: {len(photos)}")
    print(f"top1: {top1 / len(photos):.2f}")
    print(f"fitting_tag: {fitting} of {len(photos)} ({fitting / len(photos):.0%})")
    print(f"tag_precision: {right / max(1, right + wrong):.3f} ({wrong} not of the class)")
    print(f"contradictions: {contradictions}")
    for line in missed:
        print(f"no_fitting_tag: {line}")


if __name__ == "__main__":
    main()
