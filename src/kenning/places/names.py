"""Place tags that mean one thing. Tags are one namespace, and some towns and regions are
called like another of Kenning's tags: Reading (England) like the tag of books, Van
(Turkey) like the vehicle, Wedding (a part of Berlin), Orange, Temple, Rugby. Such a place
is tagged with the larger place it is in ("Reading, England", "Van, Turkey"), so that a
family living in Wedding does not find every photo taken at home under "Wedding", nor
photos of Reading among their books."""

from __future__ import annotations

from functools import cache

from kenning.names import fold


@cache
def other_tags() -> frozenset[str]:
    """The folded names of every tag Kenning gives that is not a place's."""
    from kenning.classifiers.landmarks import LANDMARK_TAG
    from kenning.classifiers.music import MUSIC_TAG
    from kenning.faces.people_tags import NAMES
    from kenning.taxonomy import imagenet_taxonomy
    from kenning.taxonomy.music import music_taxonomy
    from kenning.video.actions import action_tag, kinetics600_labels

    names = {*imagenet_taxonomy().tag_names, *music_taxonomy().tag_names, *NAMES,
             MUSIC_TAG, LANDMARK_TAG, *(action_tag(label) for label in kinetics600_labels())}
    return frozenset(fold(name) for name in names)


def place_tags(city: str | None, region: str | None, country: str | None) -> list[str]:
    """The tags of a place, country first; a name that is another tag too is followed by
    the nearest larger place whose name is not ("Reading, England"; "Van, Turkey", since
    the province of Van is called Van too), or by "(place)" when there is none. A city
    named like its region (Rio de Janeiro) is one tag."""
    taken = other_tags()
    tags = []
    for name, larger in ((country, ()), (region, (country,)), (city, (region, country))):
        if not name:
            continue
        if fold(name) in taken:
            within = next((other for other in larger if other and fold(other) != fold(name)
                           and fold(other) not in taken), None)
            name = f"{name}, {within}" if within else f"{name} (place)"
        tags.append(name)
    return list(dict.fromkeys(tags))
