"""The web UI's browsing pages: the timeline (with its date scrubber and "on this
day"), folders, places with their world map, tags and search."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from kenning import catalog
from kenning.server.web import (
    PAGE_TILES,
    Cursor,
    _id,
    _page,
    _tiles,
    _user,
    by_month,
    state,
    templates,
)
from kenning.users import Principal

router = APIRouter(include_in_schema=False)


@router.get("/")
def timeline_page(request: Request, before: Cursor = "", fragment: bool = False):
    """Every photo and video, newest first, by month; more as the page scrolls (our script
    fetches the next tiles as a fragment; without it, the "Older" link)."""
    who = _user(request)
    db = state(request).db
    if fragment or before:
        tiles, empty = _timeline_tiles(db, who.id, before)
    else:  # the page every visit starts with: made once per change of the library
        tiles, empty = catalog.counts.get(db, ("timeline-tiles", who.id),
                                          lambda: _timeline_tiles(db, who.id, ""))
    if fragment:
        return HTMLResponse(tiles)
    scrubber = (_scrubber(db, who.id, before) if before else
                catalog.counts.get(db, ("timeline-scrubber", who.id),
                                   lambda: _scrubber(db, who.id, "")))
    return _page(request, "timeline.html", who, tiles=Markup(tiles),  # noqa: S704 - ours
                 empty=empty and not before,
                 scrubber=Markup(scrubber),  # noqa: S704 - ours
                 memories=Markup("" if before else _memories(db, who.id)))  # noqa: S704


def _memories(db, user_id: int) -> str:
    """"On this day" (catalog.on_this_day) as HTML, made once a day per library change."""
    today = datetime.now(UTC).date()
    return catalog.counts.get(db, ("timeline-memories", user_id, today.isoformat()),
                              lambda: templates.get_template("_memories.html").render(
                                  memories=catalog.on_this_day(db, user_id, today)))


def _scrubber(db, user_id: int, before: str) -> str:
    """The date scrubber's HTML (the month of `before` chosen in its menu)."""
    return templates.get_template("_scrubber.html").render(
        years=_years(catalog.months(db, user_id)), before=before)


def _years(months: list[dict]) -> list[tuple[str, list[dict]]]:
    """The months with photos by year, newest first, for the date scrubber."""
    years: list[tuple[str, list[dict]]] = []
    for month in months:
        year = month["month"][:4]
        if not years or years[-1][0] != year:
            years.append((year, []))
        label = datetime.strptime(month["month"], "%Y-%m").strftime("%B")
        years[-1][1].append(month | {"label": label, "short": label[:3]})
    return years


def _timeline_tiles(db, user_id: int, before: str) -> tuple[str, bool]:
    """The tiles of a page of the timeline (HTML) and whether it is empty."""
    try:
        page = catalog.timeline(db, user_id, PAGE_TILES, before)
    except catalog.Refused as exc:
        raise HTTPException(422, str(exc)) from exc
    more = "/?" + urlencode({"before": page.next}) if page.next else None
    return (templates.get_template("_tiles.html").render(
        **_tiles(db, page.items, more, by_month(page.items))), not page.items)


@router.get("/folders")
def folders_page(request: Request):
    who = _user(request)
    mounts = catalog.list_mounts(state(request).db, who.id)
    if len(mounts) == 1:
        return RedirectResponse(f"/folders/{mounts[0]['id']}", status_code=303)
    db = state(request).db
    mounts = [m | {"cover": catalog.mount_cover(db, who.id, m["id"])} for m in mounts]
    return _page(request, "folders.html", who, mounts=mounts)


@router.get("/folders/{mount_id}")
def folder_page(request: Request, mount_id: int,
                path: Annotated[str, Query(max_length=4096)] = "",
                offset: Annotated[int, Query(ge=0, le=10**7)] = 0, fragment: bool = False):
    who = _user(request)
    listing = catalog.folder(state(request).db, who.id, _id(mount_id), path, PAGE_TILES,
                            offset)
    page = listing["files"]
    more = (f"/folders/{mount_id}?" + urlencode({"path": listing["path"], "offset": page.next})
            if page.next else None)
    context = _tiles(state(request).db, page.items, more)
    if fragment:
        return templates.TemplateResponse(request, "_tiles.html", context)
    return _page(request, "folder.html", who, listing=listing, **context)


@router.get("/places")
def places_page(request: Request):
    who = _user(request)
    countries = catalog.places(state(request).db, who.id)
    return _page(request, "places.html", who, countries=countries, spots=map_spots(countries))


def map_spots(countries: list[dict], width: int = 960, height: int = 480) -> list[dict]:
    """Each place on the world map (equirectangular, as static/world.svg is drawn): a
    circle whose area grows with its photos, the largest drawn first (under the others)."""
    spots = [place | {"country": country["country"],
                      "x": (place["longitude"] + 180) * width / 360,
                      "y": (90 - place["latitude"]) * height / 180,
                      "r": min(14.0, 3.0 + 1.6 * place["files"] ** 0.5)}
             for country in countries for place in country["places"]
             if place.get("latitude") is not None]
    return sorted(spots, key=lambda spot: -spot["files"])



# Tags, search, files -------------------------------------------------------------------


@router.get("/tags")
def tags_page(request: Request, prefix: Annotated[str, Query(max_length=100)] = ""):
    who = _user(request)
    page = catalog.list_tags(state(request).db, who.id, catalog.MAX_PAGE, 0, prefix)
    return _page(request, "tags.html", who, page=page, prefix=prefix)


@router.get("/search")
def search_page(request: Request,
                tag: Annotated[list[str], Query(max_length=20)] = (),
                person: Annotated[list[str], Query(max_length=20)] = (),
                place: Annotated[str, Query(max_length=200)] = "",
                date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
                date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
                after: Annotated[int, Query(ge=0, le=catalog.MAX_ID)] = 0,
                q: Annotated[str, Query(max_length=200)] = "", fragment: bool = False):
    who = _user(request)
    db = state(request).db
    if q.strip():  # the search box: words (kenning.wordsearch)
        return _word_search_page(request, who, q.strip(), after, fragment)
    tags = [t.strip() for v in tag for t in v.split(",") if t.strip() and len(t) <= 100]
    person = [p.strip() for v in person for p in v.split(",") if p.strip()]
    person_ids, error = [], None
    for key in person:
        try:
            person_ids.append(catalog.get_person(db, who.id, key)["id"]
                              if key.isascii() and key.isdigit()
                              else catalog.person_by_name(db, who.id, key)["id"])
        except catalog.NotFound:
            error = f"no person {key!r}"
    start = _date(date_from)
    end = _date(date_to)
    if (date_from and start is None) or (date_to and end is None):
        error = "dates are YYYY-MM-DD"
    searched = bool(tags or person_ids or place or start or end)
    page = (catalog.search(db, who.id, tags, person_ids, start,
                           end and end.replace(hour=23, minute=59, second=59), place or None,
                           None, 120, after)
            if searched and not error else catalog.Page([], None))
    everyone = [p for p in catalog.list_people(db, who.id, catalog.MAX_PAGE, 0).items
                if p["name"]]
    query = [("tag", t) for t in tags] + [("person", p) for p in person]
    query += [(k, v) for k, v in (("place", place), ("from", date_from), ("to", date_to)) if v]
    more = f"/search?{urlencode(query + [('after', page.next)])}" if page.next else None
    context = _tiles(state(request).db, page.items, more)
    if fragment:
        return templates.TemplateResponse(request, "_tiles.html", context)
    return _page(request, "search.html", who, page=page, tags=tags, person=person,
                 place=place, date_from=date_from, date_to=date_to, searched=searched,
                 error=error, everyone=everyone, **context)


def _word_search_page(request: Request, who: Principal, text: str, after: int,
                      fragment: bool):
    """The search box's words understood (shown as chips, each removable), their files,
    and the nearest real terms to words that were not understood."""
    from kenning import wordsearch

    db = state(request).db
    understood = wordsearch.understand(db, who.id, text)
    page = wordsearch.search(db, who.id, understood, 120, after)
    more = (f"/search?{urlencode([('q', text), ('after', page.next)])}"
            if page.next else None)
    context = _tiles(state(request).db, page.items, more)
    if fragment:
        return templates.TemplateResponse(request, "_tiles.html", context)
    chips = [{"label": part.label, "kind": part.kind,
              "without": "/search?" + urlencode({"q": _without(text, part.words)})}
             for part in understood.parts]
    nearest = [{"word": word, "terms": [
        {"term": term, "href": "/search?" + urlencode({"q": _replaced(text, word, term)})}
        for term in terms]} for word, terms in understood.unknown.items()]
    everyone = [p for p in catalog.list_people(db, who.id, catalog.MAX_PAGE, 0).items
                if p["name"]]
    return _page(request, "search.html", who, page=page, q=text, chips=chips,
                 nearest=nearest, searched=True, error=None, tags=[], person=[], place="",
                 date_from="", date_to="", everyone=everyone, **context)


def _without(text: str, words: str) -> str:
    return " ".join(text.replace(words, " ", 1).split())


def _replaced(text: str, word: str, term: str) -> str:
    return " ".join(text.replace(word, term, 1).split())


def _date(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC) if text else None
    except ValueError:
        return None
