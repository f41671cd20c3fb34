"""How well the object tags fit the dev photos (run by a developer; the accuracy tests
assert the same figures).

    .venv/bin/python tools/judge_object_tags.py [--dev ../shared/data/dev] [--list]

For the 100 ImageNet dev photos and the 510 Caltech-101 dev photos (judged by their
coarse kinds, tests/data/object_tag_fits.json): the share of photos that get a fitting
tag, the share of tags that fit, and the contradictions (tests/object_judge.py). Tags as
`kenning index` gives them: the objects classifier's and the People tags of the faces. `--list`: the photos without a fitting tag and the tags that do not fit.
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
from kenning.classifiers.faces import FacesClassifier  # noqa: E402
from kenning.classifiers.objects import ObjectsClassifier  # noqa: E402
from kenning.faces import people_tags  # noqa: E402
from kenning.faces.nonhuman import NOT_HUMAN_TAGS, looks_non_human  # noqa: E402
from kenning.media.sniff import MediaKind  # noqa: E402


def given_tags(classifier: ObjectsClassifier, faces: FacesClassifier,
               paths: list[Path]) -> list[set[str]]:
    """Each photo's tags as `kenning index` gives them: the objects', and the People
    tags of its faces (which also take clothing tags from a portrait)."""
    files = [MediaFile(i, p, MediaKind.IMAGE, "jpeg") for i, p in enumerate(paths)]
    tags: dict[int, set[str]] = {}
    for start in range(0, len(files), 32):
        part = files[start:start + 32]
        outcome = classifier.classify(part)
        found = faces.classify(part)
        assert not outcome.failures and not found.failures
        for result in outcome.results:
            tags[result.file_id] = {name for name, _ in result.tags}
        objects = {r.file_id: r for r in outcome.results}
        for result in found.results:
            seen = objects[result.file_id]  # faces set aside as an animal's, as index does
            animal = [score for name, score in seen.tags if name in NOT_HUMAN_TAGS]
            heights = [(f.box[3], f.score) for f in result.faces
                       if not looks_non_human(f.score, seen.labels, animal, f.non_human,
                                                  f.made_face)]
            given = people_tags.tags_for(heights, result.height)
            tags[result.file_id] |= {name for name, _ in given}
            if any(h >= people_tags.PORTRAIT_SHARE * result.height for h, _ in heights):
                tags[result.file_id] -= set(people_tags.WORN)
    return [tags[i] for i in range(len(files))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=REPO.parent / "shared" / "data" / "dev")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    classifier = ObjectsClassifier(threads=2)
    faces = FacesClassifier(threads=2, objects=classifier.spec.name)
    imagenet = imagenet_rows(args.dev / "imagenet_100")
    caltech = caltech_rows(args.dev / "caltech101_5")
    judged = {
        "imagenet_100": judge_imagenet(classifier.taxonomy, imagenet, given_tags(
            classifier, faces, [args.dev / "imagenet_100" / r["file"] for r in imagenet])),
        "caltech101_5": judge_caltech(caltech, given_tags(
            classifier, faces, [args.dev / "caltech101_5" / r["file"] for r in caltech])),
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
