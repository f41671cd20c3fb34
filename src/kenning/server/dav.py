"""WebDAV: people and tags as folders, for file managers (WsgiDAV, mounted at /dav).

    /dav/people/<name>/<face id>-<file name>    a person's photos (GET: the original)
    /dav/unassigned/<face id>-<file name>       faces in no person
    /dav/tags/<tag>/<file id>-<file name>       files with a tag

MOVE of a person folder renames it; MKCOL under people/ makes a named person; MOVE of a
photo into another person (or into unassigned/) reassigns that face; DELETE of a photo in
a person takes the face out (remembered); DELETE of a photo in unassigned/ says it is not a
face (remembered); DELETE of a person dissolves it; DELETE of a file in a tag folder
removes the tag from the file. Nothing here ever writes a media
file. Clients sign in with Basic auth: the user name and a password or an app token.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re

from a2wsgi import WSGIMiddleware
from wsgidav.dav_error import HTTP_SERVICE_UNAVAILABLE, DAVError
from wsgidav.dav_provider import DAVCollection, DAVProvider
from wsgidav.dc.base_dc import BaseDomainController
from wsgidav.dir_browser import WsgiDavDirBrowser
from wsgidav.error_printer import ErrorPrinter
from wsgidav.http_authenticator import HTTPAuthenticator
from wsgidav.mw.base_mw import BaseMiddleware
from wsgidav.mw.cors import Cors
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

from kenning.server.dav_folders import Root
from kenning.server.davlocks import BoundedLockStorage
from kenning.server.security import Throttled
from kenning.users import find_user

log = logging.getLogger(__name__)

THREADS = 48
PER_CLIENT = 8
WAIT_SECONDS = 30.0
DAV_CSP = ("default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self' "
           "'unsafe-inline'; sandbox")


class KenningProvider(DAVProvider):
    def __init__(self, state) -> None:
        super().__init__()
        self.state = state

    def is_readonly(self):
        return False

    def ref_url_to_path(self, ref_url):
        return super().ref_url_to_path(re.sub(r"^/~\d+", "", ref_url))

    def get_resource_inst(self, path, environ):
        if path is None:  # the parent of the root
            return None
        who = environ.get("kenning.user")
        if who is None:
            name = environ.get("wsgidav.auth.user_name")
            who = find_user(self.state.db, name) if name else None
            if who is None:
                return None
            environ["kenning.user"] = who
        root = Root("/", environ, self.state, who)
        resource = root
        for part in [p for p in path.strip("/").split("/") if p]:
            if not isinstance(resource, DAVCollection):
                return None
            resource = resource.get_member(part)
            if resource is None:
                return None
        return resource


def _controller(state):
    class KenningDomainController(BaseDomainController):
        def __init__(self, wsgidav_app, config):
            super().__init__(wsgidav_app, config)

        def get_domain_realm(self, path_info, environ):
            return "Kenning"

        def require_authentication(self, realm, environ):
            return True

        def basic_auth_user(self, realm, user_name, password, environ):
            address = environ.get("REMOTE_ADDR") or "unknown"
            try:
                who = state.auth.password(user_name, password, address)
            except Throttled:
                return False
            if who is None:
                return False
            environ["kenning.user"] = who
            return True

        def supports_http_digest_auth(self):
            return False

    return KenningDomainController


class DatabaseGone(BaseMiddleware):
    """Under WsgiDAV's error printer: a database that stopped answering or cannot be
    written is a 503 with a moment to wait (as on the API and pages), not a 500 and a
    traceback."""

    def is_disabled(self) -> bool:
        return False

    def __call__(self, environ, start_response):
        from sqlalchemy.exc import DBAPIError

        from kenning.db.session import database_trouble, trouble_for_clients

        try:
            yield from self.next_app(environ, start_response)
        except DBAPIError as exc:
            trouble = database_trouble(exc)
            if trouble is None:
                raise
            log.warning("%s %s: %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"),
                        trouble)
            raise DAVError(HTTP_SERVICE_UNAVAILABLE, trouble_for_clients(trouble),
                           add_headers=[("Retry-After", "5")]) from None


def dav_app(state):
    for name in ("wsgidav", "wsgidav.wsgidav_app"):
        logging.getLogger(name).setLevel(logging.WARNING)
    config = {
        "provider_mapping": {"/": KenningProvider(state)},
        "mount_path": "/dav",
        "http_authenticator": {"domain_controller": _controller(state), "accept_basic": True,
                               "accept_digest": False, "default_to_digest": False},
        "verbose": 1,
        "logging": {"enable": False},
        "lock_storage": BoundedLockStorage(),  # per user (_Base.get_ref_url), bounded
        "property_manager": None,  # no dead properties: one user's would show to others
        "dir_browser": {"enable": True, "response_trailer": "", "davmount": False,
                        "ms_sharepoint_support": False, "libre_office_support": False},
        "suppress_version_info": True,
        "middleware_stack": [Cors, ErrorPrinter, DatabaseGone, HTTPAuthenticator,
                             WsgiDavDirBrowser, RequestResolver],
    }
    dav = WsgiDAVApp(config)

    def guarded(environ, start_response):
        # WsgiDAV answers a path with dot segments with an empty body under a non-zero
        # Content-Length; refuse such paths here instead (they never name a resource).
        segments = environ.get("PATH_INFO", "").split("/")
        if ".." in segments or "." in segments or "\0" in environ.get("PATH_INFO", ""):
            body = b"bad path"
            start_response("400 Bad Request", [("Content-Type", "text/plain"),
                                               ("Content-Length", str(len(body)))])
            return [body]

        if environ.get("PATH_INFO", "/") in ("", "/") and environ.get("REQUEST_METHOD") in (
                "DELETE", "MOVE", "COPY", "PUT", "MKCOL", "PROPPATCH"):
            body = b"the root folder cannot be changed"
            start_response("403 Forbidden", [("Content-Type", "text/plain"),
                                             ("Content-Length", str(len(body)))])
            return [body]

        def sandboxed(status, headers, exc_info=None):
            # A file here is never a page of this site, whatever its bytes say.
            headers = [h for h in headers if h[0].lower() != "content-security-policy"]
            headers.append(("Content-Security-Policy", DAV_CSP))
            return start_response(status, headers, exc_info)

        return dav(environ, sandboxed)

    return FairShare(WSGIMiddleware(guarded, workers=THREADS))


class FairShare:
    """WebDAV runs on a pool of THREADS threads; each client (the name it signs in with,
    else its address) may use PER_CLIENT of them at once. Its other requests wait their
    turn (503 after WAIT_SECONDS), so one client that reads slowly, or sends its bodies
    slowly, can never take every thread. (guards.Guard frees a thread whose client
    stopped reading or sending.)"""

    def __init__(self, app) -> None:
        self.app = app
        self._slots: dict[str, asyncio.Semaphore] = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        key = _client_key(scope)
        slots = self._slots.get(key)
        if slots is None:
            if len(self._slots) > 10_000:  # forget idle clients
                self._slots = {k: v for k, v in self._slots.items() if v.locked()}
            slots = self._slots[key] = asyncio.Semaphore(PER_CLIENT)
        try:
            await asyncio.wait_for(slots.acquire(), WAIT_SECONDS)
        except TimeoutError:
            body = b"too many requests at once from this client: try again"
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"text/plain"), (b"retry-after", b"5"),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()


def _client_key(scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization" and value[:6].lower() == b"basic ":
            try:
                return "user:" + base64.b64decode(value[6:], validate=True).split(
                    b":", 1)[0].decode("utf-8", "replace").lower()[:200]
            except (binascii.Error, ValueError):
                break
    client = scope.get("client")
    return "addr:" + (client[0] if client else "unknown")
