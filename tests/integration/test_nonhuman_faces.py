"""Only people become people: in one library holding every non-human face of the dev data
(four recurring cartoon characters, cats and dogs, busts, paintings and drawings, animal
faces) beside the dev people photos, nearly all non-human faces are set aside or left
alone, and the people's faces are kept, the ones photographed with their dogs too. Real
models on real photos, through `kenning index` (tools/measure_nonhuman_faces.py prints
the same figures)."""

from __future__ import annotations

import pytest
from conftest import DEV
from nonhuman_library import build, measure


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    from conftest import KenningCli

    root = tmp_path_factory.mktemp("nonhuman")
    build(DEV, root / "library")
    kenning = KenningCli(root / "data")
    kenning.env["KENNING_CLASSIFIERS"] = "objects,faces"
    kenning("index", root / "library")
    found = measure(root / "data" / "kenning.db")
    print("\n".join(found.lines()))
    return found


def test_non_human_faces_are_set_aside_or_left_alone(outcome):
    """Issue 23's targets are 95% and no person made of them; measured 92.2% and 11 such
    people (busts and paintings of one style cluster: docs/known-gaps.md), 90.2% and 10
    before faces were judged one by one. This keeps what was reached."""
    assert outcome.non_human >= 300, outcome.lines()  # the detector finds them at all
    assert outcome.non_human_out >= 0.92, outcome.lines()
    cartoons = outcome.by_set["anime"]  # four characters, each drawn many times
    assert cartoons["in_people"] <= 0.2 * cartoons["faces"], outcome.lines()


def test_people_keep_their_faces_beside_their_pets(outcome):
    assert outcome.human >= 900, outcome.lines()
    assert outcome.human_set_aside_share <= 0.005, outcome.lines()
    assert outcome.owners == 2 and outcome.owners_set_aside == 0, outcome.lines()


def test_animals_faces_are_set_aside_by_their_own_look(outcome):
    """Dogs and cats (whole animals or faces) are set aside, not merely left alone: they
    look alike enough to join each other."""
    for kind in ("pets", "afhq"):
        counts = outcome.by_set[kind]
        assert counts["set_aside"] >= 0.85 * counts["faces"], (kind, outcome.lines())
