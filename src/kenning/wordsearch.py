"""Search with words, as people type them: "Grandma beach 2019", "dog snow", "Rome July
2023", "portrait". The same engine answers the CLI (`kenning search`), the API
(`/api/search?q=`) and the web page's search box.

Each word, or run of up to four words ("New York", "Rio de Janeiro", "Ann Marie"), is
understood as one of:
- a date: a year (2019), a month and year (July 2023, 2023-07);
- a person the user named (their whole name, or one word of it when only one person's
  name has that word: "Ann" for Grandma Ann);
- a tag on the user's files (its name, whatever its case; singular or plural; places are
  tags too: Paris, Île-de-France; a town called like another tag is found by its name,
  "Reading", with that tag, or with the larger place, "Reading England", alone), or a
  word for several tags (people, portrait, monument, landmark, animal, pet, vehicle,
  food...: taxonomy/search_words.json);
- the start of a tag or a name ("beac" is Beach), the most used one when several start so.
What is understood becomes filters that all must hold (a word for several tags: any of
them). A word that is none of these finds nothing, and comes back with the nearest real
terms by spelling and meaning (the first NEAREST_FOR such words: 25 made-up words and
2,000 named people cost 0.12 s with every word's, 0.03 s so).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from difflib import get_close_matches
from functools import cache

from kenning import catalog
from kenning.db import Database
from kenning.names import fold
from kenning.taxonomy import TAXONOMY_DIR

LONGEST = 4  # words in one name
NEAREST_FOR = 5  # unknown words that get the nearest terms
MONTHS = {name: n for n, names in enumerate(
    [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
     ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
     ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
     ("december", "dec")], start=1) for name in names}
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


@cache
def synonyms() -> dict[str, tuple[str, ...]]:
    data = json.loads((TAXONOMY_DIR / "search_words.json").read_text())
    return {fold(word): tuple(tags) for word, tags in data["words"].items()}


@dataclass
class Part:
    """One thing understood: what it is, how to show it, and its filter."""

    kind: str  # "tag", "place", "person" or "date"
    label: str
    words: str  # what was typed for it
    tags: tuple[str, ...] = ()  # tag names (any of them)
    person: int | None = None
    start: datetime | None = None
    end: datetime | None = None

    def as_dict(self) -> dict:
        found = {"kind": self.kind, "label": self.label, "words": self.words}
        if self.tags:
            found["tags"] = list(self.tags)
        if self.person is not None:
            found["person"] = self.person
        if self.start is not None:
            found["from"], found["to"] = self.start.isoformat(), self.end.isoformat()
        return found


@dataclass
class Understood:
    parts: list[Part] = field(default_factory=list)
    unknown: dict[str, list[str]] = field(default_factory=dict)  # word -> nearest terms

    def as_dict(self) -> dict:
        return {"understood": [p.as_dict() for p in self.parts], "unknown": self.unknown}


@dataclass(frozen=True)
class _Vocabulary:
    tags: dict[str, tuple[str, int]]  # folded name -> (name, files)
    people: dict[str, tuple[int, str]]  # folded name -> (person id, name)
    name_words: dict[str, list[tuple[int, str]]]  # each word of a name -> its people
    places: frozenset[str]  # folded place names
    # folded place name -> its tags written with the place it is in ("Reading, England":
    # a town called like another tag, kenning.places.names)
    place_tags: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _vocabulary(db: Database, user_id: int) -> _Vocabulary:
    tags = {fold(t["tag"]): (t["tag"], t["files"])
            for t in catalog.list_tags(db, user_id, catalog.MAX_PAGE * 100, 0).items}
    people: dict[str, tuple[int, str]] = {}
    first: dict[str, list[tuple[int, str]]] = {}
    for person in catalog.list_people(db, user_id, catalog.MAX_PAGE * 100, 0).items:
        if person["name"]:
            people[fold(person["name"])] = (person["id"], person["name"])
            for word in dict.fromkeys(fold(person["name"]).split()):
                first.setdefault(word, []).append((person["id"], person["name"]))
    places = {fold(name) for country in catalog.places(db, user_id)
              for name in [country["country"] or "", *(p["name"] for p in country["places"])]
              if name}
    place_tags: dict[str, tuple[str, ...]] = {}
    for name, _files in tags.values():
        plain = name.removesuffix(" (place)").split(", ", 1)[0]
        if plain != name and fold(plain) in places:
            place_tags[fold(plain)] = (*place_tags.get(fold(plain), ()), name)
    return _Vocabulary(tags, people, first, frozenset(places), place_tags)


def _singular(word: str) -> list[str]:
    forms = []
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        forms.append(word[:-2])
    if word.endswith("s") and len(word) > 2:
        forms.append(word[:-1])
    return forms


def _month_range(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    after = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, datetime.fromtimestamp(after.timestamp() - 1, UTC)


def _date(words: list[str]) -> Part | None:
    text = " ".join(words)
    if len(words) == 1 and words[0].isdigit() and len(words[0]) == 4 \
            and 1900 <= int(words[0]) <= 2100:
        year = int(words[0])
        return Part("date", words[0], text, start=datetime(year, 1, 1, tzinfo=UTC),
                    end=datetime(year, 12, 31, 23, 59, 59, tzinfo=UTC))
    if len(words) == 1 and (match := _YEAR_MONTH.match(words[0])) \
            and 1 <= int(match.group(2)) <= 12:
        start, end = _month_range(int(match.group(1)), int(match.group(2)))
        return Part("date", start.strftime("%B %Y"), text, start=start, end=end)
    if len(words) == 2 and fold(words[0]) in MONTHS and words[1].isdigit() \
            and len(words[1]) == 4 and 1900 <= int(words[1]) <= 2100:
        start, end = _month_range(int(words[1]), MONTHS[fold(words[0])])
        return Part("date", start.strftime("%B %Y"), text, start=start, end=end)
    return None


def _tag_part(name: str, words: str, vocabulary: _Vocabulary) -> Part:
    kind = "place" if fold(name) in vocabulary.places else "tag"
    return Part(kind, name, words, tags=(name,))


def _exact(words: list[str], vocabulary: _Vocabulary) -> Part | None:
    """A person, a word for several tags, a tag or a place the words name. A place whose
    tag names the place it is in ("Reading, England") is found by its own name (with the
    tag called so, if any: "Reading" is books too) or followed by the larger place."""
    text = " ".join(words)
    part = _named(words, vocabulary)
    key = fold(text)
    if key in vocabulary.place_tags and (part is None or part.kind != "person"):
        places = vocabulary.place_tags[key]
        if part is None:
            return Part("place", places[0] if len(places) == 1 else text, text, tags=places)
        return Part(part.kind, part.label, text, tags=(*part.tags, *places))
    for cut in range(1, len(words)) if part is None else ():
        within = fold(f"{' '.join(words[:cut])}, {' '.join(words[cut:])}")
        if within in vocabulary.tags:
            return Part("place", vocabulary.tags[within][0], text,
                        tags=(vocabulary.tags[within][0],))
    return part


def _named(words: list[str], vocabulary: _Vocabulary) -> Part | None:
    text = " ".join(words)
    key = fold(text)
    if key in vocabulary.people:
        person, name = vocabulary.people[key]
        return Part("person", name, text, person=person)
    if len(words) == 1 and len(vocabulary.name_words.get(key, ())) == 1:
        person, name = vocabulary.name_words[key][0]
        return Part("person", name, text, person=person)
    for form in (key, *_singular(key)):
        if form in synonyms():  # (a word for several tags holds its own tag too)
            names = synonyms()[form]
            present = tuple(vocabulary.tags[fold(n)][0] for n in names
                            if fold(n) in vocabulary.tags)
            return Part("tag", names[0], text, tags=present or names)
        if form in vocabulary.tags:
            return _tag_part(vocabulary.tags[form][0], text, vocabulary)
    return None


def _prefix(word: str, vocabulary: _Vocabulary) -> Part | None:
    key = fold(word)
    if len(key) < 3:
        return None
    people = [(name, pid) for folded, (pid, name) in vocabulary.people.items()
              if folded.startswith(key)]
    if len(people) == 1:
        return Part("person", people[0][0], word, person=people[0][1])
    tags = sorted(((files, name) for folded, (name, files) in vocabulary.tags.items()
                   if folded.startswith(key)), reverse=True)
    if tags:
        return _tag_part(tags[0][1], word, vocabulary)
    return None


def _nearest(word: str, vocabulary: _Vocabulary, limit: int = 5) -> list[str]:
    """Real terms near a word: by spelling (tags, people, words for tags), or containing
    it ("bird": Songbird)."""
    key = fold(word)
    names = {folded: name for folded, (name, _files) in vocabulary.tags.items()}
    names.update({folded: name for folded, (_pid, name) in vocabulary.people.items()})
    names.update({w: w for w in synonyms()})
    close = get_close_matches(key, list(names), n=limit, cutoff=0.6)
    containing = [f for f in names if key in f and f not in close]
    containing.sort(key=lambda f: -vocabulary.tags.get(f, ("", 0))[1])
    return [names[f] for f in close + containing][:limit]


def understand(db: Database, user_id: int, text: str) -> Understood:
    """What the words of `text` name (see the module's doc)."""
    words = [w for w in re.split(r"[\s,]+", text.strip()) if w][:50]
    vocabulary = _vocabulary(db, user_id)
    understood = Understood()
    at = 0
    while at < len(words):
        for length in range(min(LONGEST, len(words) - at), 0, -1):
            span = words[at:at + length]
            part = _date(span) or _exact(span, vocabulary)
            if part is not None:
                understood.parts.append(part)
                at += length
                break
        else:
            part = _prefix(words[at], vocabulary)
            if part is not None:
                understood.parts.append(part)
            else:
                understood.unknown[words[at]] = (_nearest(words[at], vocabulary)
                                                 if len(understood.unknown) < NEAREST_FOR
                                                 else [])
            at += 1
    return understood


def tag_ids(db: Database, user_id: int, names: tuple[str, ...]) -> tuple[int, ...]:
    """The ids of any of these tag names, for this user."""
    found: list[int] = []
    for name in names:
        found += catalog.tag_ids_of(db, user_id, name)
    return tuple(dict.fromkeys(found))


def search(db: Database, user_id: int, understood: Understood, limit: int = 100,
           after: int = 0, raw: bool = False) -> catalog.Page:
    """The files that match everything understood (nothing when a word was not)."""
    if understood.unknown or not understood.parts:
        return catalog.Page([], None)
    tags = []
    for part in understood.parts:
        if part.tags:
            ids = tag_ids(db, user_id, part.tags)
            if not ids:
                return catalog.Page([], None)
            tags.append(ids)
    people = [p.person for p in understood.parts if p.person is not None]
    dates = [p for p in understood.parts if p.start is not None]
    start = max((p.start for p in dates), default=None)
    end = min((p.end for p in dates), default=None)
    if start and end and start > end:
        return catalog.Page([], None)
    return catalog.search(db, user_id, tags, people, start, end, None, None, limit, after, raw)


def with_people(db: Database, user_id: int, understood: Understood,
                keys: list[str]) -> Understood:
    """`understood` and these people (by name or id; NotFound for one not there)."""
    for key in keys:
        found = (catalog.get_person(db, user_id, key) if key.isascii() and key.isdigit()
                 else catalog.person_by_name(db, user_id, key))
        understood.parts.append(Part("person", found["name"] or f"person {found['id']}",
                                     key, person=found["id"]))
    return understood


def all_paths(db: Database, user_id: int, understood: Understood) -> list[str]:
    """The matching files' paths on disk, every page of them, in file order."""
    import os

    roots = {m["id"]: m["path"] for m in catalog.list_mounts(db, user_id)}
    paths, after = [], 0
    while True:
        page = search(db, user_id, understood, catalog.MAX_PAGE, after)
        paths += [os.path.join(roots[item["mount"]], item["path"]) for item in page.items]
        if page.next is None:
            return paths
        after = page.next
