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


def test_vocabulary_is_a_searchable_size_and_covers_every_class():
    taxonomy = imagenet_taxonomy()
    assert 150 <= len(taxonomy.tag_names) <= 400
    untagged = [label for label, row in zip(taxonomy.labels, taxonomy.membership, strict=True)
                if not row.any()]
    assert untagged == []  # each of the 1,000 classes has at least one tag
    assert all(0.2 <= t <= 0.9 for t in taxonomy.thresholds)


def test_everyday_things_get_tags_that_fit():
    assert "Vase" in tags_of("n04522168")
    assert "Wallet" in tags_of("n04548362")
    assert "Binoculars" in tags_of("n02841315")
    assert "Dog" in tags_of("n03803284")  # a muzzle: on a dog
    assert "Cosmetics" in tags_of("n03676483")  # lipstick
    assert {"Tent", "Camping"} <= tags_of("n03792972")  # mountain tent


def test_a_sure_top1_class_gives_its_tags_below_their_threshold():
    taxonomy = imagenet_taxonomy()
    ship = "n03095699"  # container ship
    assert 0.3 <= taxonomy.top1_sure <= 0.6
    sure = one_hot(taxonomy, ship, taxonomy.top1_sure + 0.02)
    column = taxonomy.tag_names.index("Ship")
    assert taxonomy.tag_scores(sure)[0, column] < taxonomy.thresholds[column]  # alone: none
    assert {"Ship", "Water"} <= {name for name, _ in taxonomy.tags(sure)[0]}
    unsure = one_hot(taxonomy, ship, taxonomy.top1_sure - 0.1)
    assert "Ship" not in {name for name, _ in taxonomy.tags(unsure)[0]}


def test_landmark_routing_tags_exist_and_reach_ruins_bridges_and_landscapes():
    """Every tag that sends a photo to the landmark model is one the objects model gives;
    temples, ruins (megaliths, cliff dwellings such as Petra's), arches, bridges, towers and
    natural landmarks reach it."""
    from kenning.classifiers.landmarks import ROUTED_TAGS

    taxonomy = imagenet_taxonomy()
    assert set(taxonomy.tag_names) >= ROUTED_TAGS
    for label in ("stupa", "megalith", "triumphal arch", "suspension bridge", "water tower",
                  "church", "palace", "alp", "volcano", "valley", "cliff", "geyser",
                  "dam", "stone wall", "cliff dwelling", "obelisk", "mosque", "beacon"):
        assert ROUTED_TAGS & tags_of(taxonomy.wnids[taxonomy.labels.index(label)]), label
    for label in ("tabby", "pizza", "golden retriever", "suit", "jersey", "tench"):
        assert not ROUTED_TAGS & tags_of(taxonomy.wnids[taxonomy.labels.index(label)]), label


def test_the_chosen_genre_scores_first():
    """A metal song: the models' rock is as high as their metal (listeners tag metal
    "rock" too), Metal is chosen, and it must come first wherever tags are listed by
    score (it was listed after Rock)."""
    from kenning.taxonomy.music import music_taxonomy

    taxonomy = music_taxonomy()
    probabilities = np.zeros(len(taxonomy.labels), dtype=np.float32)
    for name, p in (("Rock", 0.6), ("Metal", 0.5)):
        for labels in taxonomy.members[taxonomy.tag_names.index(name)]:
            probabilities[list(labels)] = p
    tags = taxonomy.tags(probabilities)
    genres = [(n, s) for n, s in tags if taxonomy.group_of(n) == "genre"]
    assert genres[0][0] == "Metal" and "Rock" in dict(genres), tags
    assert genres[0][1] > dict(genres)["Rock"], tags


def test_a_style_is_never_the_chosen_genre():
    """An ambient track the models hear as more ambient than electronic is Electronic
    first, then Ambient (a style is a further tag, never the best genre)."""
    from kenning.taxonomy.music import music_taxonomy

    taxonomy = music_taxonomy()
    probabilities = np.zeros(len(taxonomy.labels), dtype=np.float32)
    for name, p in (("Ambient", 0.7), ("Electronic", 0.5)):
        for labels in taxonomy.members[taxonomy.tag_names.index(name)]:
            probabilities[list(labels)] = p
    probabilities[taxonomy.labels.index("indie")] = 0.65
    assert taxonomy.top(probabilities)[0] == "Electronic"
    names = [n for n, _ in taxonomy.tags(probabilities)]
    assert names[0] == "Electronic" and {"Ambient", "Indie"} <= set(names), names


def test_place_tags_never_mean_something_else():
    """A town or region called like another tag is tagged with the place it is in."""
    from kenning.places.names import other_tags, place_tags

    assert {"reading", "van", "wedding", "orange", "music", "people"} <= other_tags()
    assert place_tags("Reading", "England", "United Kingdom") == [
        "United Kingdom", "England", "Reading, England"]
    assert place_tags("Van", "Van", "Turkey") == ["Turkey", "Van, Turkey"]
    assert place_tags("Wedding", "Berlin", "Germany") == ["Germany", "Berlin", "Wedding, Berlin"]
    assert place_tags("Rio de Janeiro", "Rio de Janeiro", "Brazil") == [
        "Brazil", "Rio de Janeiro"]
    assert place_tags("Paris", "Île-de-France", "France") == ["France", "Île-de-France", "Paris"]
    assert place_tags(None, "Orange", None) == ["Orange (place)"]
