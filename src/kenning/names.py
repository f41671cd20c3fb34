"""Names people type: tags, people, users, app tokens, places.

Two names are the same when their `fold` is: Unicode NFKC, then full case folding (so
"ÎLE-DE-FRANCE" finds "Île-de-France", "ŁÓDŹ" finds "Łódź" and "STRASSE" finds
"Straße"), the same in SQLite and PostgreSQL because the folded form is computed here
and stored beside the name. A name never holds control characters (a NUL, a newline, an
escape sequence for a terminal...) or surrounding spaces.
"""

from __future__ import annotations

import unicodedata


class BadName(ValueError):
    """A name that cannot be used, with the reason."""


def fold(name: str) -> str:
    return unicodedata.normalize("NFKC", " ".join(name.split())).casefold()


def clean(name: str, what: str = "a name", longest: int = 200) -> str:
    """The name with runs of spaces made one; BadName if it is empty, too long or holds
    a control character."""
    if not all(c.isprintable() for c in str(name)):  # (a space is printable; a tab not)
        raise BadName(f"{what} cannot hold control characters")
    text = " ".join(str(name).split())
    if not text:
        raise BadName(f"{what} cannot be empty")
    if len(text) > longest:
        raise BadName(f"{what} can have at most {longest} characters")
    return text


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere (its % and _ taken literally; escape \\)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def place_key(*parts: str | None) -> str:
    """What a place search looks in: the place's city, region and country, folded."""
    return "\n".join(fold(part) for part in parts if part)
