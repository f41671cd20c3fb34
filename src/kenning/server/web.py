"""The web UI: server-rendered pages, forms with a CSRF token, our own small script.
Nothing is loaded from elsewhere, so it works offline."""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl, quote, urlencode

import anyio
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from kenning import browse, catalog, queries
from kenning.faces import people
from kenning.server import drawing, files, previewcache, previews
from kenning.server.deps import ServerState, client_address, identify
from kenning.server.security import DEVICE_COOKIE, DEVICE_DAYS, SESSION_COOKIE, Throttled
from kenning.users import SESSION_DAYS, Principal, end_session, start_session

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["notices"] = lambda request: notices(request)
router = APIRouter(include_in_schema=False)


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/dav")) and \
        "text/html" in request.headers.get("accept", "")


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)


def mount_static(app) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


def _user(request: Request) -> Principal:
    """Pages need a browser session (a cookie), not a token."""
    who = identify(request) if request.cookies.get(SESSION_COOKIE) else None
    if who is None or not getattr(request.state, "by_cookie", False):
        raise HTTPException(401, "sign in")
    return who


def state(request: Request) -> ServerState:
    return request.app.state.kenning


def _page(request: Request, template: str, who: Principal, **context) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {
        "who": who, "csrf": request.state.csrf, **context})


def _checked(request: Request, csrf: str) -> Principal:
    who = _user(request)
    if csrf != request.state.csrf:
        raise HTTPException(403, "this form has expired: reload the page and try again")
    return who


def _back(url: str, message: str | None = None, error: str | None = None,
          request: Request | None = None) -> RedirectResponse:
    """Back to a page (its own query kept, but for an earlier message) with a message,
    signed (`notices`: a page shows only the messages this server made)."""
    path, _, query = url.partition("?")
    kept = [(k, v) for k, v in parse_qsl(query) if k not in ("msg", "error", "sig")]
    kept += [(k, v) for k, v in (("msg", message), ("error", error)) if v]
    if (message or error) and request is not None:
        kept.append(("sig", state(request).auth.sign(f"{message or ''}\0{error or ''}")))
    return RedirectResponse(path + ("?" + urlencode(kept) if kept else ""), status_code=303)


def notices(request: Request) -> dict:
    """(For the pages.) The message and error in the URL, if this server signed them."""
    message = request.query_params.get("msg") or ""
    error = request.query_params.get("error") or ""
    if not (message or error) or not state(request).auth.signed(
            f"{message}\0{error}", request.query_params.get("sig")):
        return {}
    return {"message": message, "error": error}


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


Csrf = Annotated[str, Form(max_length=100)]


# Signing in ----------------------------------------------------------------------------


LOGIN_COOKIE = "kenning_login"  # the sign-in form's CSRF token, also in the form


def _login_page(request: Request, next_page: str, error: str | None = None,
                name: str | None = None, status_code: int = 200) -> HTMLResponse:
    """The sign-in form, with a token that its POST must bring back both in the form and
    in a cookie (SameSite=Strict: another site's page that posts our form lacks it), so
    no other site can sign a browser in as someone else."""
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    if len(token) > 100:
        token = secrets.token_urlsafe(24)
    page = templates.TemplateResponse(request, "login.html", {
        "who": None, "next": _safe_next(next_page), "error": error, "name": name,
        "login_csrf": token}, status_code=status_code)
    page.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                    secure=request.url.scheme == "https")
    return page


@router.get("/login")
def login_form(request: Request, next: str = "/"):  # noqa: A002
    return _login_page(request, next)


@router.post("/login")
def login(request: Request, name: Annotated[str, Form(max_length=200)],
          password: Annotated[str, Form(max_length=1024)],
          next: Annotated[str, Form(max_length=2000)] = "/",  # noqa: A002
          csrf: Annotated[str, Form(max_length=100)] = ""):
    server = state(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not csrf or not hmac.compare_digest(csrf.encode(), expected.encode()):
        return _login_page(request, next, "the sign-in form had expired: sign in again",
                           name, status_code=403)
    try:
        who = server.auth.password(name, password, client_address(request),
                                   request.cookies.get(DEVICE_COOKIE))
    except Throttled as exc:
        return _login_page(request, next, str(exc), name, status_code=429)
    if who is None:
        return _login_page(request, next, "wrong name or password", name, status_code=401)
    cookie, _csrf = start_session(server.db, who.id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, cookie, max_age=SESSION_DAYS * 86400, httponly=True,
                        samesite="strict", secure=secure)
    # This browser signed in as this user: strangers guessing the password never lock
    # it out (security.LoginThrottle).
    response.set_cookie(DEVICE_COOKIE, server.auth.device_cookie(who),
                        max_age=DEVICE_DAYS * 86400, httponly=True, samesite="strict",
                        secure=secure)
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, csrf: Csrf):
    _checked(request, csrf)
    end_session(state(request).db, request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# Browsing ------------------------------------------------------------------------------

Cursor = Annotated[str, Query(max_length=40)]
PAGE_TILES = 120


def by_month(items: list[dict]) -> list[tuple[str, list[tuple[str, list[dict]]]]]:
    """Consecutive items grouped by the month they were taken ("March 2024"), and in it
    by the day ("Thursday 4")."""
    groups: list[tuple[str, list[tuple[str, list[dict]]]]] = []
    for item in items:
        if not groups or groups[-1][0] != item["month"]:
            groups.append((item["month"], []))
        days = groups[-1][1]
        day = item["when"][:10]
        if not days or days[-1][0] != day:
            days.append((day, []))
        days[-1][1].append(item)
    return [(date.fromisoformat(f"{month}-01").strftime("%B %Y"),
             [(_day_label(day), group) for day, group in days]) for month, days in groups]


def _day_label(day: str) -> str:
    """ "2019-07-14" -> "Sunday 14" (date.fromisoformat: far quicker than strptime)."""
    moment = date.fromisoformat(day)
    return f"{moment:%A} {moment.day}"


def tile_width(item: dict, height: int = 240) -> int:
    """A tile's width at `height`, at the photo's aspect ratio (thumbnails keep it, up to
    4:1; 4:3 when the size is unknown)."""
    ratio = (item.get("width") or 4) / (item.get("height") or 3)
    return round(height * min(previews.THUMB_MAX_RATIO, max(1 / previews.THUMB_MAX_RATIO,
                                                            ratio)))


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
    """"On this day" (browse.on_this_day) as HTML, made once a day per library change."""
    today = datetime.now(UTC).date()
    return catalog.counts.get(db, ("timeline-memories", user_id, today.isoformat()),
                              lambda: templates.get_template("_memories.html").render(
                                  memories=browse.on_this_day(db, user_id, today)))


def _scrubber(db, user_id: int, before: str) -> str:
    """The date scrubber's HTML (the month of `before` chosen in its menu)."""
    return templates.get_template("_scrubber.html").render(
        years=_years(browse.months(db, user_id)), before=before)


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
        page = browse.timeline(db, user_id, PAGE_TILES, before)
    except catalog.Refused as exc:
        raise HTTPException(422, str(exc)) from exc
    more = "/?" + urlencode({"before": page.next}) if page.next else None
    return (templates.get_template("_tiles.html").render(
        **_tiles(db, page.items, more, by_month(page.items))), not page.items)


def _tiles(db, items: list[dict], more: str | None, months=None) -> dict:
    """What _tiles.html shows: the files (by month, or as one group), the link to more,
    and the failures of those that could not be processed (a badge with the reason)."""
    return {"months": months if months is not None else [("", [("", items)])], "more": more,
            "failed": browse.failures(db, [item["id"] for item in items])}


@router.get("/folders")
def folders_page(request: Request):
    who = _user(request)
    mounts = catalog.list_mounts(state(request).db, who.id)
    if len(mounts) == 1:
        return RedirectResponse(f"/folders/{mounts[0]['id']}", status_code=303)
    db = state(request).db
    mounts = [m | {"cover": browse.mount_cover(db, who.id, m["id"])} for m in mounts]
    return _page(request, "folders.html", who, mounts=mounts)


@router.get("/folders/{mount_id}")
def folder_page(request: Request, mount_id: int,
                path: Annotated[str, Query(max_length=4096)] = "",
                offset: Annotated[int, Query(ge=0, le=10**7)] = 0, fragment: bool = False):
    who = _user(request)
    listing = browse.folder(state(request).db, who.id, _id(mount_id), path, PAGE_TILES,
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
    countries = browse.places(state(request).db, who.id)
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


# People --------------------------------------------------------------------------------


@router.get("/people")
def people_page(request: Request, offset: Annotated[int, Query(ge=0, le=10**7)] = 0,
                hidden: bool = False):
    who = _user(request)
    page = catalog.list_people(state(request).db, who.id, 120, offset, hidden)
    return _page(request, "people.html", who, page=page, offset=offset, hidden=hidden)


@router.get("/people/{person_id}")
def person_page(request: Request, person_id: int,
                after: Annotated[int, Query(ge=0, le=catalog.MAX_ID)] = 0,
                tab: Annotated[str, Query(pattern="^(photos|faces)$")] = "photos",
                fragment: bool = False):
    """A person: their photos in the grid, or (`tab` faces) their faces to correct."""
    who = _user(request)
    db = state(request).db
    person = catalog.get_person(db, who.id, _id(person_id))
    if fragment and tab == "photos":  # the next tiles, for infinite scroll
        page = catalog.search(db, who.id, people=[person["id"]], limit=120, after=after)
        more = f"/people/{person['id']}?after={page.next}" if page.next else None
        return templates.TemplateResponse(request, "_tiles.html", _tiles(db, page.items, more))
    listed = catalog.list_people(db, who.id, catalog.MAX_PAGE, 0, True).items
    others = [p for p in listed if p["id"] != person["id"]]
    cover = next((p["cover_face"] for p in listed if p["id"] == person["id"]), None)
    context = {"person": person, "others": others, "cover": cover, "tab": tab,
               "named": [p for p in listed if p["name"]]}
    if tab == "faces":
        context["faces"] = catalog.person_faces(db, who.id, person["id"], 120, after)
    else:
        page = catalog.search(db, who.id, people=[person["id"]], limit=120, after=after)
        context.update(_tiles(db, page.items, f"/people/{person['id']}?after={page.next}"
                              if page.next else None))
    return _page(request, "person.html", who, **context)


def _id(value: int) -> int:
    if not 1 <= value <= catalog.MAX_ID:
        raise catalog.NotFound(f"no such id {value}")
    return value


def _people_action(request: Request, back: str, function, *args) -> RedirectResponse:
    try:
        function(*args)
    except people.NoSuchPerson as exc:
        raise catalog.NotFound(str(exc)) from exc
    except people.PeopleError as exc:
        return _back(back, error=str(exc), request=request)
    catalog.changed()
    return _back(back, "saved", request=request)


@router.post("/people/{person_id}/rename")
def person_rename(request: Request, person_id: int, csrf: Csrf,
                  name: Annotated[str, Form(max_length=200)],
                  back: Annotated[str, Form(max_length=20)] = ""):
    """Name a person; from the people grid (`back` "people"), back to the grid."""
    who = _checked(request, csrf)
    person = catalog.get_person(state(request).db, who.id, _id(person_id))
    where = "/people" if back == "people" else f"/people/{person['id']}"
    return _people_action(request, where, people.name_person,
                          state(request).db, who.name, str(person["id"]), name)


@router.post("/people/{person_id}/merge")
def person_merge(request: Request, person_id: int, csrf: Csrf,
                 other: Annotated[int, Form(ge=1, le=catalog.MAX_ID)]):
    who = _checked(request, csrf)
    db = state(request).db
    person = catalog.get_person(db, who.id, _id(person_id))
    catalog.get_person(db, who.id, other)
    return _people_action(request, f"/people/{person['id']}", people.merge_people, db,
                          who.name, str(person["id"]), [str(other)])


@router.post("/people/{person_id}/hide")
def person_hide(request: Request, person_id: int, csrf: Csrf,
                hidden: Annotated[bool, Form()] = True):
    who = _checked(request, csrf)
    db = state(request).db
    person = catalog.get_person(db, who.id, _id(person_id))
    return _people_action(request, f"/people/{person['id']}", people.hide_person, db,
                          who.name, str(person["id"]), hidden)


@router.post("/people/{person_id}/faces/{face_id}/remove")
def person_remove_face(request: Request, person_id: int, face_id: int, csrf: Csrf):
    who = _checked(request, csrf)
    db = state(request).db
    face = catalog.face_detail(db, who.id, _id(face_id))
    if face["person"] != _id(person_id):
        raise catalog.NotFound(f"face {face_id} is not in person {person_id}")
    return _people_action(request, f"/people/{person_id}?tab=faces", people.remove_faces, db,
                          who.name, [face_id])


@router.post("/people/{person_id}/cover")
def person_cover(request: Request, person_id: int, csrf: Csrf,
                 face: Annotated[int, Form(ge=1, le=catalog.MAX_ID)]):
    who = _checked(request, csrf)
    try:
        browse.set_cover(state(request).db, who.id, _id(person_id), face)
    except catalog.Refused as exc:
        return _back(f"/people/{person_id}?tab=faces", error=str(exc), request=request)
    return _back(f"/people/{person_id}?tab=faces", "cover chosen", request=request)


FACES_AT_ONCE = 500  # faces chosen on a people page (a form of at most 1,000 fields)


@router.post("/faces/bulk")
def faces_bulk(request: Request, csrf: Csrf,
               face: Annotated[list[int], Form(max_length=FACES_AT_ONCE)],
               action: Annotated[str, Form(pattern="^(assign|remove|notface)$")] = "assign",
               name: Annotated[str, Form(max_length=200)] = "",
               person: Annotated[int | None, Form(ge=1, le=catalog.MAX_ID)] = None,
               next: Annotated[str, Form(max_length=2000)] = "/unassigned"):  # noqa: A002
    """Say who several faces are (a person, or a name: an existing person or a new one),
    take them out of their person, or say they are not faces."""
    who = _checked(request, csrf)
    db = state(request).db
    back = _safe_next(next)
    for face_id in face:
        catalog.face_detail(db, who.id, _id(face_id))
    if action == "remove":
        return _people_action(request, back, people.remove_faces, db, who.name, face)
    if action == "notface":
        return _people_action(request, back, people.mark_not_faces, db, who.name, face)
    if person is not None:
        catalog.get_person(db, who.id, person)
        return _people_action(request, back, people.move_faces, db, who.name, face,
                              str(person))
    if not name.strip():
        return _back(back, error="type a name", request=request)
    return _people_action(request, back, people.name_faces, db, who.name, face, name)


@router.get("/unassigned")
def unassigned_page(request: Request):
    """Faces in no person, grouped by the person each most likely is (then the others),
    each linking to its photo."""
    who = _user(request)
    db = state(request).db
    faces = people.unassigned_faces(db, who.name, 3, 300) if catalog.list_mounts(
        db, who.id) else []
    listed = catalog.list_people(db, who.id, catalog.MAX_PAGE, 0, True).items
    named = [p for p in listed if p["name"]]
    groups: dict[int | None, list[dict]] = {}
    for face in faces:
        likely = face["suggestions"][0]["id"] if face["suggestions"] else None
        groups.setdefault(likely, []).append(face)
    ranked = sorted(groups.items(), key=lambda g: (g[0] is None, -len(g[1])))
    names = {p["id"]: p["name"] for p in listed}
    # "All N are this person" only where every face is close to them (a dog and five
    # strangers merely suggested are each decided alone).
    sure = {likely for likely, members in groups.items() if likely is not None and all(
        f["suggestions"][0]["similarity"] >= people.CLOSE for f in members)}
    return _page(request, "unassigned.html", who, groups=ranked, names=names, named=named,
                 sure=sure, total=len(faces), not_faces=len(people.not_faces(db, who.name)))


@router.get("/not-faces")
def not_faces_page(request: Request):
    who = _user(request)
    return _page(request, "not_faces.html", who,
                 faces=people.not_faces(state(request).db, who.name))


@router.post("/faces/{face_id}/not-a-face")
def face_not_a_face(request: Request, face_id: int, csrf: Csrf,
                    undo: Annotated[bool, Form()] = False,
                    next: Annotated[str, Form(max_length=2000)] = "/unassigned"):  # noqa: A002
    """Not a face (a dog, a statue, a pattern), or, with `undo`, a face after all."""
    who = _checked(request, csrf)
    db = state(request).db
    catalog.face_detail(db, who.id, _id(face_id))
    return _people_action(request, _safe_next(next), people.mark_not_faces, db, who.name,
                          [face_id], undo)


@router.post("/faces/{face_id}/assign")
def face_assign(request: Request, face_id: int, csrf: Csrf,
                person: Annotated[int | None, Form(ge=1, le=catalog.MAX_ID)] = None,
                name: Annotated[str | None, Form(max_length=200)] = None,
                next: Annotated[str, Form(max_length=2000)] = "/unassigned"):  # noqa: A002
    who = _checked(request, csrf)
    db = state(request).db
    catalog.face_detail(db, who.id, _id(face_id))
    back = _safe_next(next)
    if person is not None:
        catalog.get_person(db, who.id, person)
        return _people_action(request, back, people.move_faces, db, who.name, [face_id],
                              str(person))
    if name and name.strip():
        return _people_action(request, back, people.name_faces, db, who.name, [face_id], name)
    return _back(back, error="choose a person or type a name", request=request)


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


@router.get("/files/{file_id}")
def file_page(request: Request, file_id: int):
    who = _user(request)
    detail = catalog.file_detail(state(request).db, who.id, _id(file_id))
    named = [p for p in catalog.list_people(state(request).db, who.id, catalog.MAX_PAGE,
                                            0).items if p["name"]]
    near = browse.neighbours(state(request).db, who.id, detail["id"])
    missing = _missing_models(request) if detail.get("kind") == "video" else []
    return _page(request, "file.html", who, file=detail, named=named, near=near,
                 missing=missing)


@router.api_route("/files/{file_id}/preview", methods=["GET", "HEAD"])
async def file_preview(request: Request, file_id: int):
    """A JPEG of the photo for the page (any format Kenning reads, turned upright),
    decoded in a child process (server/previews.py) and kept in the cache folder."""
    maker = state(request).previews
    return await _rendered(request, file_id, "previews", "jpg", "image/jpeg",
                           lambda root, raw, _kind: maker.preview_job(root, raw))


@router.api_route("/files/{file_id}/thumbnail", methods=["GET", "HEAD"])
async def file_thumbnail(request: Request, file_id: int,
                         h: Annotated[int, Query(description="240 or 480 pixels high")] = 240):
    """A WebP of the photo, or of a video's poster frame, `h` pixels high at its own
    aspect ratio: the tiles of the timeline, folders and search."""
    if h not in previews.THUMB_HEIGHTS:
        raise HTTPException(422, f"h is one of {previews.THUMB_HEIGHTS}")
    maker = state(request).previews
    return await _rendered(request, file_id, f"thumbnails/{h}", "webp", "image/webp",
                           lambda root, raw, kind: maker.thumbnail_job(root, raw, h, kind))


async def _rendered(request: Request, file_id: int, folder: str, suffix: str,
                    media_type: str, job) -> Response:
    """An image made from a file by `job` (a render in a child process), kept in the
    cache folder under a key of the file's identity and modification, so it is made once
    per change; a render that failed is remembered the same way. Waiting for the render
    holds no thread: other requests go on meanwhile."""
    who = _user(request)
    server = state(request)
    found = await anyio.to_thread.run_sync(_cached_render, server, who.id, _id(file_id),
                                           folder, suffix)
    if isinstance(found, tuple) and len(found) == 2:  # read already (files.read_render)
        return files.render_response(*found, media_type, request.headers.get(
            "if-none-match", ""), _render_cache_control(request))
    if isinstance(found, int):
        return _render_response(request, found, media_type)
    root, raw, kind, target = found
    function, args = job(root, raw, kind)
    future = server.previews.render_to(who.id, target, function, args)
    try:
        await asyncio.shield(asyncio.wrap_future(future))
    except previews.RenderFailed as exc:
        raise catalog.NotFound(f"no preview: {exc}") from exc
    fd = await anyio.to_thread.run_sync(files.open_cached, server.settings.cache_dir,
                                        str(target.relative_to(server.settings.cache_dir)))
    return _render_response(request, fd, media_type)


def _cached_render(server: ServerState, user_id: int, file_id: int, folder: str,
                   suffix: str):
    """(In a thread.) The cached render (its bytes and identity, or its open descriptor
    if it is large); else (mount, path there, kind, where the render goes). NotFound when
    the file cannot have one, or failed before."""
    root, raw, kind, fd = files.open_for_render(server.db, user_id, file_id,
                                                server.settings.own_paths)
    try:
        if kind not in ("image", "video"):
            raise catalog.NotFound(f"file {file_id} is not a photo or a video")
        key = previews.cache_key(root, raw, fd)
    finally:
        os.close(fd)
    relative = previewcache.relative_path(folder, file_id, key, suffix)
    try:
        fd = files.open_cached(server.settings.cache_dir, relative)
    except catalog.NotFound:
        pass
    else:
        return files.read_render(fd) or fd
    target = server.settings.cache_dir / relative
    reason = previews.remembered_failure(target)
    if reason is not None:
        raise catalog.NotFound(f"no preview: {reason}")
    return root, raw, kind, target


def _render_cache_control(request: Request) -> str:
    # The pages ask for it with the file's modification time in the URL (?v=): a changed
    # file is a new URL, so the browser may keep this one.
    return f"private, max-age={30 * 86400 if request.query_params.get('v') else 3600}"


def _render_response(request: Request, fd: int, media_type: str) -> files.OpenedFileResponse:
    return files.OpenedFileResponse(fd, media_type,
                                    headers={"Cache-Control": _render_cache_control(request)})


@router.post("/files/{file_id}/faces")
def file_draw_face(request: Request, file_id: int, csrf: Csrf,
                   x: Annotated[float, Form(ge=0, le=100)],
                   y: Annotated[float, Form(ge=0, le=100)],
                   width: Annotated[float, Form(gt=0, le=100)],
                   height: Annotated[float, Form(gt=0, le=100)],
                   name: Annotated[str, Form(max_length=200)] = ""):
    """A face the detector missed: a box in percent of the photo, and maybe who it is."""
    who = _checked(request, csrf)
    try:
        face = drawing.add_drawn_face(state(request), who, _id(file_id),
                                      (x / 100, y / 100, width / 100, height / 100), name)
    except catalog.Refused as exc:
        return _back(f"/files/{file_id}", error=str(exc), request=request)
    who_is_it = face["name"] or ("a person" if face["person"] else "no one yet")
    return _back(f"/files/{file_id}", f"face added ({who_is_it})", request=request)


@router.post("/files/{file_id}/tags")
def file_add_tag(request: Request, file_id: int, csrf: Csrf,
                 tag: Annotated[str, Form(max_length=100)]):
    who = _checked(request, csrf)
    try:
        catalog.add_tag(state(request).db, who.id, _id(file_id), tag)
    except catalog.Refused as exc:
        return _back(f"/files/{file_id}", error=str(exc), request=request)
    return _back(f"/files/{file_id}", "tag added", request=request)


@router.post("/files/{file_id}/tags/{tag_id}/remove")
def file_remove_tag(request: Request, file_id: int, tag_id: int, csrf: Csrf):
    who = _checked(request, csrf)
    catalog.remove_tag(state(request).db, who.id, _id(file_id), _id(tag_id))
    return _back(f"/files/{file_id}", "tag removed", request=request)


FAILED_PAGE = 200


def xmp_status(db, user_id: int) -> dict:
    from kenning.xmp.status import xmp_status as status

    return status(db, user_id)


def export_setting(db, user_id: int):
    from kenning.xmp.export import Destination, setting

    return setting(db, user_id) or Destination()


@router.get("/status")
def status_page(request: Request, failed: Annotated[int, Query(ge=0, le=10**7)] = 0):
    """What is done, pending and failed; the failed files a page at a time (`failed`:
    the offset)."""
    who = _user(request)
    server = state(request)
    data = queries.status(server.db, who.name)
    page = queries.failed_files(server.db, who.name, limit=FAILED_PAGE, offset=failed)
    total = queries.count_failed(server.db, who.name)
    processing = server.processor.progress(who.id) if server.processor is not None else None
    return _page(request, "status.html", who, status=data, failed=page, failed_total=total,
                 failed_from=failed,
                 failed_next=failed + FAILED_PAGE if failed + FAILED_PAGE < total else None,
                 failed_previous=max(0, failed - FAILED_PAGE) if failed else None,
                 processing=processing, mounts=catalog.list_mounts(server.db, who.id),
                 missing=_missing_models(request), xmp=xmp_status(server.db, who.id),
                 xmp_setting=export_setting(server.db, who.id))


def _missing_models(request: Request) -> list[dict]:
    """Optional models not installed, with what they would add and how to add them."""
    from kenning.models.optional import missing

    return missing(state(request).settings.data_dir)


@router.get("/api/openapi.json")
def openapi_schema(request: Request):
    """The OpenAPI description (signed in by token or browser session)."""
    from kenning.server.deps import api_user_sync

    api_user_sync(request)
    return JSONResponse(request.app.openapi())


@router.get("/api/docs")
def api_docs(request: Request):
    """The API described on a page of ours: FastAPI's own docs page loads its script from
    a CDN, which would leak to a third party and fail offline."""
    from kenning.server.deps import api_user_sync

    who = api_user_sync(request)
    schema = request.app.openapi()
    groups: dict[str, list] = {}
    for path, item in schema["paths"].items():
        for method, op in item.items():
            body = (op.get("requestBody", {}).get("content", {})
                    .get("application/json", {}).get("schema", {}))
            model = schema.get("components", {}).get("schemas", {}).get(
                body.get("$ref", "").rsplit("/", 1)[-1], {})
            groups.setdefault((op.get("tags") or ["other"])[0], []).append({
                "id": op.get("operationId", f"{method}{path}"), "method": method.upper(),
                "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "parameters": [{"name": p["name"], "where": p["in"],
                                "type": _type(p.get("schema", {})),
                                "required": p.get("required", False),
                                "description": p.get("description", "")}
                               for p in op.get("parameters", [])],
                "body": [{"name": name, "type": _type(field),
                          "required": name in model.get("required", []),
                          "description": field.get("description", "")}
                         for name, field in model.get("properties", {}).items()]})
    return templates.TemplateResponse(request, "api_docs.html", {
        "who": who, "csrf": getattr(request.state, "csrf", ""), "schema": schema,
        "groups": list(groups.items())})


def _type(schema: dict) -> str:
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}))}"
    return schema.get("type") or schema.get("$ref", "").rsplit("/", 1)[-1] or "any"


@router.get("/favicon.ico")
def favicon():
    return Response(status_code=204)


def url_quote(text: str) -> str:
    return quote(text, safe="")


templates.env.filters["q"] = url_quote
templates.env.filters["tile_width"] = tile_width
