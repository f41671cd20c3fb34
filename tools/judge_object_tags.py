"""How well the object tags fit the dev photos (run by a developer; the accuracy tests
assert the same figures).

    .venv/bin/python tools/judge_object_tags.py [--dev ../shared/data/dev] [--list]

For the 100 ImageNet dev photos and the 510 Caltech-101 dev photos (judged by their
coarse kinds, tests/data/object_tag_fits.json): the share of photos that get a fitting
tag, the share of tags that fit, and the contradictions (tests/object_judge.py). Tags as
`kenning index` gives them from the objects classifier alone (a photo's faces add People
tags on top). `--list`: the photos without a fitting tag and the tags that do not fit.
Prints `name: value` lines.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from object_judge import caltech_rows, imagenet_rows, judge_caltech, judge_imagenet  # noqa: E402

from kenning.classifiers.base import MediaFile  # noqa: E402
from kenning.classifiers.objects import ObjectsClassifier  # noqa: E402
from kenning.media.sniff import MediaKind  # noqa: E402


def given_tags(classifier: ObjectsClassifier, paths: list[Path]) -> list[set[str]]:
    files = [MediaFile(i, p, MediaKind.IMAGE, "jpeg") for i, p in enumerate(paths)]
    tags: dict[int, set[str]] = {}
    for start in range(0, len(files), 32):
        outcome = classifier.classify(files[start:start + 32])
        assert not outcome.failures, outcome.failures
        for result in outcome.results:
            tags[result.file_id] = {name for name, _ in result.tags}
    return [tags[i] for i in range(len(files))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=REPO.parent / "shared" / "data" / "dev")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    classifier = ObjectsClassifier(threads=2)
    imagenet = imagenet_rows(args.dev / "imagenet_100")
    caltech = caltech_rows(args.dev / "caltech101_5")
    judged = {
        "imagenet_100": judge_imagenet(classifier.taxonomy, imagenet, given_tags(
            classifier, [args.dev / "imagenet_100" / r["file"] for r in imagenet])),
        "caltech101_5": judge_caltech(caltech, given_tags(
            classifier, [args.dev / "caltech101_5" / r["file"] for r in caltech])),
    }
    for name, judgement in judged.items():
        print(f"{name}_photos: {judgement.photos}")
        print(f"{name}_with_a_fitting_tag: {judgement.fitting_share:.3f}")
        print(f"{name}_tags_that_fit: {judgement.precision:.3f} "
              f"({judgement.right} of {judgement.right + judgement.wrong})")
        print(f"{name}_contradictions: {len(judgement.contradictions)} "
              f"{judgement.contradictions}")
        if args.list:
            print(f"{name}_without_a_fitting_tag: {judgement.untagged}")
            print(f"{name}_tags_that_do_not_fit: {judgement.unfit}")


if __name__ == "__main__":
    main()
