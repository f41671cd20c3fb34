"""The web UI: server-rendered pages, forms with a CSRF token, our own small script.
Nothing is loaded from elsewhere, so it works offline."""

from __future__ import annotations

import contextlib
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from kenning import catalog, queries
from kenning.faces import people
from kenning.server import files, previews
from kenning.server.deps import ServerState, client_address, identify
from kenning.server.security import DEVICE_COOKIE, DEVICE_DAYS, SESSION_COOKIE, Throttled
from kenning.users import SESSION_DAYS, Principal, end_session, start_session

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
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


def _back(url: str, message: str | None = None, error: str | None = None) -> RedirectResponse:
    query = {k: v for k, v in (("msg", message), ("error", error)) if v}
    return RedirectResponse(url + ("?" + urlencode(query) if query else ""), status_code=303)


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


Csrf = Annotated[str, Form(max_length=100)]


# Signing in ----------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: str = "/", error: str | None = None):  # noqa: A002
    return templates.TemplateResponse(request, "login.html", {
        "who": None, "next": _safe_next(next), "error": error})


@router.post("/login")
def login(request: Request, name: Annotated[str, Form(max_length=200)],
          password: Annotated[str, Form(max_length=1024)],
          next: Annotated[str, Form(max_length=2000)] = "/"):  # noqa: A002
    server = state(request)
    try:
        who = server.auth.password(name, password, client_address(request),
                                   request.cookies.get(DEVICE_COOKIE))
    except Throttled as exc:
        return templates.TemplateResponse(request, "login.html", {
            "who": None, "next": _safe_next(next), "error": str(exc), "name": name},
            status_code=429)
    if who is None:
        return templates.TemplateResponse(request, "login.html", {
            "who": None, "next": _safe_next(next), "error": "wrong name or password",
            "name": name},
            status_code=401)
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
    return response


@router.post("/logout")
def logout(request: Request, csrf: Csrf):
    _checked(request, csrf)
    end_session(state(request).db, request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# People --------------------------------------------------------------------------------


@router.get("/")
def people_page(request: Request, offset: Annotated[int, Query(ge=0, le=10**7)] = 0,
                hidden: bool = False):
    who = _user(request)
    page = catalog.list_people(state(request).db, who.id, 120, offset, hidden)
    return _page(request, "people.html", who, page=page, offset=offset, hidden=hidden)


@router.get("/people/{person_id}")
def person_page(request: Request, person_id: int,
                after: Annotated[int, Query(ge=0, le=catalog.MAX_ID)] = 0):
    who = _user(request)
    db = state(request).db
    person = catalog.get_person(db, who.id, _id(person_id))
    faces = catalog.person_faces(db, who.id, person["id"], 120, after)
    others = [p for p in catalog.list_people(db, who.id, catalog.MAX_PAGE, 0, True).items
              if p["id"] != person["id"]]
    return _page(request, "person.html", who, person=person, faces=faces, others=others)


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
        return _back(back, error=str(exc))
    catalog.changed()
    return _back(back, "saved")


@router.post("/people/{person_id}/rename")
def person_rename(request: Request, person_id: int, csrf: Csrf,
                  name: Annotated[str, Form(max_length=200)]):
    who = _checked(request, csrf)
    person = catalog.get_person(state(request).db, who.id, _id(person_id))
    return _people_action(request, f"/people/{person['id']}", people.name_person,
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
    return _people_action(request, f"/people/{person_id}", people.remove_faces, db,
                          who.name, [face_id])


@router.get("/unassigned")
def unassigned_page(request: Request):
    who = _user(request)
    db = state(request).db
    faces = people.unassigned_faces(db, who.name, 3, 200) if catalog.list_mounts(
        db, who.id) else []
    named = [p for p in catalog.list_people(db, who.id, catalog.MAX_PAGE, 0).items
             if p["name"]]
    return _page(request, "unassigned.html", who, faces=faces, named=named)


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
        existing = None
        with contextlib.suppress(catalog.NotFound):
            existing = catalog.person_by_name(db, who.id, name)
        if existing is not None:
            return _people_action(request, back, people.move_faces, db, who.name, [face_id],
                                  str(existing["id"]))
        return _people_action(request, back, people.move_faces, db, who.name, [face_id],
                              None, name)
    return _back(back, error="choose a person or type a name")


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
                after: Annotated[int, Query(ge=0, le=catalog.MAX_ID)] = 0):
    who = _user(request)
    db = state(request).db
    tags = [t.strip() for v in tag for t in v.split(",") if t.strip() and len(t) <= 100]
    person = [p.strip() for v in person for p in v.split(",") if p.strip()]
    person_ids, error = [], None
    for key in person:
        try:
            person_ids.append(catalog.get_person(db, who.id, int(key))["id"] if key.isdigit()
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
    return _page(request, "search.html", who, page=page, tags=tags, person=person,
                 place=place, date_from=date_from, date_to=date_to, searched=searched,
                 error=error, everyone=everyone, query=urlencode(query))


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
    return _page(request, "file.html", who, file=detail, named=named)


@router.get("/files/{file_id}/preview")
def file_preview(request: Request, file_id: int):
    """A JPEG of the photo for the page (any format Kenning reads, turned upright),
    decoded in a child process (server/previews.py) and kept in the cache folder."""
    who = _user(request)
    server = state(request)
    data_dir = server.settings.data_dir
    root, raw, _name = files.mount_root(server.db, who.id, _id(file_id), data_dir)
    fd, _name = files.open_original(server.db, who.id, file_id, data_dir)
    try:
        key = previews.cache_key(root, raw, fd)
    finally:
        os.close(fd)
    relative = f"previews/{key[:2]}/{key}.jpg"
    try:
        cached = files.open_cached(server.settings.cache_dir, relative)
    except catalog.NotFound:
        data = server.previews.make(root, raw, previews.PREVIEW_SIZE)
        target = server.settings.cache_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        partial.write_bytes(data)
        os.replace(partial, target)
        cached = files.open_cached(server.settings.cache_dir, relative)
    return files.OpenedFileResponse(cached, "image/jpeg",
                                    headers={"Cache-Control": "private, max-age=3600"})


@router.post("/files/{file_id}/tags")
def file_add_tag(request: Request, file_id: int, csrf: Csrf,
                 tag: Annotated[str, Form(max_length=100)]):
    who = _checked(request, csrf)
    try:
        catalog.add_tag(state(request).db, who.id, _id(file_id), tag)
    except catalog.Refused as exc:
        return _back(f"/files/{file_id}", error=str(exc))
    return _back(f"/files/{file_id}", "tag added")


@router.post("/files/{file_id}/tags/{tag_id}/remove")
def file_remove_tag(request: Request, file_id: int, tag_id: int, csrf: Csrf):
    who = _checked(request, csrf)
    catalog.remove_tag(state(request).db, who.id, _id(file_id), _id(tag_id))
    return _back(f"/files/{file_id}", "tag removed")


@router.get("/status")
def status_page(request: Request):
    who = _user(request)
    server = state(request)
    data = queries.status(server.db, who.name)
    failed = queries.failed_files(server.db, who.name)
    processing = server.processor.progress(who.id) if server.processor is not None else None
    return _page(request, "status.html", who, status=data, failed=failed[:200],
                 failed_total=len(failed), processing=processing,
                 mounts=catalog.list_mounts(server.db, who.id))


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
