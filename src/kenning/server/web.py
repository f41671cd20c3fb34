"""The web UI: server-rendered pages, forms with a CSRF token, our own small script.
Nothing is loaded from elsewhere, so it works offline. This module holds what every
page shares (signing in, the page frame, messages, tiles) and the status and API docs
pages; the others are web_browse (timeline, folders, places, search), web_people,
web_files (a file, its renders), web_bulk (the bulk bar) and web_xmp."""

from __future__ import annotations

import hmac
import secrets
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from kenning import catalog
from kenning.server import previews
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


# Shared by the pages: tiles, ids -----------------------------------------------------

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


def _tiles(db, items: list[dict], more: str | None, months=None) -> dict:
    """What _tiles.html shows: the files (by month, or as one group), the link to more,
    and the failures of those that could not be processed (a badge with the reason)."""
    return {"months": months if months is not None else [("", [("", items)])], "more": more,
            "failed": catalog.failures(db, [item["id"] for item in items])}


def _id(value: int) -> int:
    if not 1 <= value <= catalog.MAX_ID:
        raise catalog.NotFound(f"no such id {value}")
    return value


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
    data = catalog.status(server.db, who.name)
    page = catalog.failed_files(server.db, who.name, limit=FAILED_PAGE, offset=failed)
    total = catalog.count_failed(server.db, who.name)
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
