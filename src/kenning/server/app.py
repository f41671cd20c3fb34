"""The server's app: REST API under /api, WebDAV under /dav, the web UI at /."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kenning import __version__, catalog
from kenning.config import Settings
from kenning.db import Database
from kenning.db.session import database_trouble, trouble_for_clients
from kenning.server import (
    api,
    api_people,
    api_viewer,
    api_xmp,
    downloads,
    web,
    web_browse,
    web_bulk,
    web_files,
    web_people,
    web_xmp,
)
from kenning.server.dav import dav_app
from kenning.server.deps import ServerState
from kenning.server.guards import Guard
from kenning.server.previewcache import PreviewCache
from kenning.server.previews import PreviewMaker
from kenning.server.security import Authenticator

log = logging.getLogger("kenning.server")


# The web pages, in the order their routes are matched (web: signing in, status, API docs).
PAGE_ROUTERS = (web.router, web_browse.router, web_people.router, web_files.router,
                web_xmp.router, downloads.router, web_bulk.router)


def create_app(settings: Settings, db: Database, processor=None) -> FastAPI:
    cache = PreviewCache(settings.cache_dir, settings.preview_cache_mb << 20,
                         lambda ids: catalog.existing_files(db, ids))
    preview_maker = PreviewMaker(cache=cache)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if processor is not None:
            processor.start()
        cache.prune_soon()  # renders of files gone while the server was stopped
        try:
            yield
        finally:
            if processor is not None:
                processor.stop()
            preview_maker.close()

    app = FastAPI(title="Kenning", version=__version__, lifespan=lifespan,
                  docs_url=None, openapi_url=None, redoc_url=None,  # ours: see web.api_docs
                  description="Private recognition for your photo library: files, tags, "
                              "people and faces. Sign in with an app token "
                              "(Authorization: Bearer kn_...).")
    app.state.kenning = ServerState(settings, db, Authenticator(db), processor,
                                    preview_maker)

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

    @app.exception_handler(DBAPIError)
    async def database_not_answering(request: Request, exc: DBAPIError):
        """The database stopped answering (restarted, its connections cut) or cannot be
        written (its disk full): 503 and a moment to wait, not a 500 and a traceback per
        request; the pool reconnects on the next request once it is back. Any other
        database error stays a 500."""
        trouble = database_trouble(exc)
        if trouble is None:
            raise exc
        log.warning("%s %s: %s", request.method, request.url.path, trouble)
        message = trouble_for_clients(trouble)
        headers = {"Retry-After": "5"}
        if web.wants_html(request):
            return web.templates.TemplateResponse(request, "error.html", {
                "who": None, "status": 503, "message": message}, status_code=503,
                headers=headers)
        return JSONResponse({"detail": message}, status_code=503, headers=headers)

    app.include_router(api.router)
    app.include_router(api_people.router)
    app.include_router(api_xmp.router)
    app.include_router(api_viewer.router)
    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.include_router(downloads.api_router)
    app.include_router(web_bulk.api_router)
    web.mount_static(app)
    app.mount("/dav", dav_app(app.state.kenning))
    app.add_middleware(Guard)
    return app
