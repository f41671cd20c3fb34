"""What every route shares: the server's state, and the signed-in user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from kenning.config import Settings
from kenning.db import Database
from kenning.server.security import (
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    Authenticator,
    Throttled,
)
from kenning.users import Principal


@dataclass
class ServerState:
    settings: Settings
    db: Database
    auth: Authenticator
    processor: object | None = None  # background.Processor when `kenning serve` runs one
    previews: object | None = None  # previews.PreviewMaker: decoding in child processes


async def state(request: Request) -> ServerState:
    return request.app.state.kenning


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def identify(request: Request) -> Principal | None:
    """The user behind a request, or None. A request signed in by cookie that changes
    something must carry the session's CSRF token (header, or a form's `csrf` field,
    which the web routes check themselves)."""
    server: ServerState = request.app.state.kenning
    header = request.headers.get("authorization")
    if header:
        try:
            return server.auth.header(header, client_address(request))
        except Throttled as exc:
            raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}
                                ) from exc
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found = server.auth.cookie(cookie)
    if found is None:
        return None
    who, csrf = found
    request.state.csrf = csrf
    request.state.by_cookie = True
    return who


async def api_user(request: Request) -> Principal:
    """(Runs on the event loop: app tokens and sessions are checked from memory, see
    security.Authenticator, so a request costs no thread hop before its route. A
    password (Basic) may need argon2, which never runs on the loop.)"""
    if request.headers.get("authorization", "")[:6].lower() == "basic ":
        import anyio

        return await anyio.to_thread.run_sync(api_user_sync, request)
    return api_user_sync(request)


def api_user_sync(request: Request) -> Principal:
    who = identify(request)
    if who is None:
        raise HTTPException(401, "sign in: an app token (Authorization: Bearer kn_...) or a "
                                 "browser session", headers={"WWW-Authenticate": "Bearer"})
    if (getattr(request.state, "by_cookie", False) and request.method not in SAFE_METHODS
            and request.headers.get(CSRF_HEADER) != request.state.csrf):
        raise HTTPException(403, "missing or wrong X-CSRF-Token header")
    return who


async def admin_user(who: Annotated[Principal, Depends(api_user)]) -> Principal:
    if not who.is_admin:
        raise HTTPException(403, "only an admin can do this")
    return who


User = Annotated[Principal, Depends(api_user)]
Admin = Annotated[Principal, Depends(admin_user)]
State = Annotated[ServerState, Depends(state)]
