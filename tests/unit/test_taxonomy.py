"""ImageNet classes become the tags a person searches for."""

from __future__ import annotations

import numpy as np

from kenning.taxonomy import imagenet_taxonomy


def one_hot(taxonomy, wnid: str, score: float = 0.9) -> np.ndarray:
    p = np.full((1, len(taxonomy.wnids)), (1 - score) / (len(taxonomy.wnids) - 1), np.float32)
    p[0, taxonomy.wnids.index(wnid)] = score
    return p


def tags_of(wnid: str) -> set[str]:
    taxonomy = imagenet_taxonomy()
    return {name for name, _ in taxonomy.tags(one_hot(taxonomy, wnid))[0]}


def test_tabby_is_a_cat_and_an_animal():
    assert {"Cat", "Pet", "Mammal", "Animal"} <= tags_of("n02123045")


def test_seashore_is_a_beach_with_water():
    assert {"Beach", "Water", "Sea"} <= tags_of("n09428293")


def test_specific_and_broad_tags():
    assert {"Dog", "Animal"} <= tags_of("n02099601")  # golden retriever
    assert {"Car", "Vehicle"} <= tags_of("n04285008")  # sports car
    assert {"Pizza", "Food"} <= tags_of("n07873807")
    assert {"Mountain", "Volcano"} <= tags_of("n09472597")
    assert {"Bridge", "Architecture"} <= tags_of("n04366367")  # suspension bridge
    assert "Dog" not in tags_of("n02123045")


def test_breeds_add_up_to_one_confident_broad_tag():
    taxonomy = imagenet_taxonomy()
    p = np.zeros((1, 1000), np.float32)
    for wnid in ("n02099601", "n02099712", "n02088364", "n02110958"):  # four dog breeds
        p[0, taxonomy.wnids.index(wnid)] = 0.2
    tags = dict(taxonomy.tags(p)[0])
    assert tags["Dog"] > 0.79
    assert "Cat" not in tags


def test_an_unsure_photo_gets_no_tags():
    taxonomy = imagenet_taxonomy()
    flat = np.full((1, 1000), 1 / 1000, np.float32)
    assert taxonomy.tags(flat)[0] == []


def test_vocabulary_is_a_searchable_size_and_covers_most_classes():
    taxonomy = imagenet_taxonomy()
    assert 150 <= len(taxonomy.tag_names) <= 300
    tagged = (taxonomy.membership.sum(axis=1) > 0).mean()
    assert tagged > 0.85
    assert all(0.2 <= t <= 0.9 for t in taxonomy.thresholds)
