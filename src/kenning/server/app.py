"""The server's app: REST API under /api, WebDAV under /dav, the web UI at /."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kenning import __version__, catalog
from kenning.config import Settings
from kenning.db import Database
from kenning.server import api, web
from kenning.server.dav import dav_app
from kenning.server.deps import ServerState
from kenning.server.security import Authenticator

MAX_BODY = 1 << 20  # no request of ours needs more than 1 MiB
log = logging.getLogger("kenning.server")


class BodyLimit:
    """413 for a request body over MAX_BODY, whether it says its length or not."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > MAX_BODY):
                return await _too_large(send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > MAX_BODY:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(send)


class _TooLarge(Exception):
    pass


async def _too_large(send) -> None:
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"detail":"request body too large"}'})


def create_app(settings: Settings, db: Database, processor=None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if processor is not None:
            processor.start()
        try:
            yield
        finally:
            if processor is not None:
                processor.stop()

    app = FastAPI(title="Kenning", version=__version__, lifespan=lifespan,
                  docs_url=None, openapi_url=None, redoc_url=None,  # ours: see web.api_docs
                  description="Private recognition for your photo library: files, tags, "
                              "people and faces. Sign in with an app token "
                              "(Authorization: Bearer kn_...).")
    app.state.kenning = ServerState(settings, db, Authenticator(db), processor)

    @app.exception_handler(catalog.NotFound)
    async def not_found(request: Request, exc: catalog.NotFound):
        if web.wants_html(request):
            return web.templates.TemplateResponse(request, "error.html", {
                "who": None, "status": 404, "message": "Not found"}, status_code=404)
        return JSONResponse({"detail": str(exc).strip("'\"")}, status_code=404)

    @app.exception_handler(catalog.Refused)
    async def refused(_request: Request, exc: catalog.Refused):
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")}
                  for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 401 and web.wants_html(request):
            return web.to_login(request)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    app.include_router(api.router)
    app.include_router(web.router)
    web.mount_static(app)
    app.mount("/dav", dav_app(app.state.kenning))
    app.add_middleware(BodyLimit)
    return app
