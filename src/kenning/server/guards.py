"""What keeps hostile or broken clients from hurting the server or other users.

- HeaderDeadline: a connection must finish a request's headers within HEADER_SECONDS
  (uvicorn itself waits forever for a request that trickles in a byte at a time).
- Guard: a request body must keep arriving (BODY_SECONDS between parts: else 408) and
  a client must keep reading what it asked for (SEND_SECONDS: else it is dropped), so
  slow clients cannot hold the server's threads or connections; no request of ours
  needs more than 1 MiB; nosniff, no referrer, never framed, a strict CSP on every
  response.
- QuietLog: the log cannot be flooded: a message repeated more than a few times a
  minute is counted, not written (the access log, when asked for, has every request),
  and no line is longer than LINE_LIMIT.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_SECONDS = 10.0
BODY_SECONDS = 15.0
SEND_SECONDS = 60.0
MAX_BODY = 1 << 20
SMALL = 16 << 10  # an answer this small, in one part, is sent without a deadline
LINE_LIMIT = 2000


class HeaderDeadline(HttpToolsProtocol):
    """uvicorn's HTTP protocol, closing a connection whose request headers take longer
    than HEADER_SECONDS (a slowloris client), from its first byte or the last response."""

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(HEADER_SECONDS, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)


PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: "
            "blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_ALWAYS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
           (b"x-frame-options", b"DENY"), (b"cross-origin-opener-policy", b"same-origin"),
           (b"cross-origin-resource-policy", b"same-origin")]
_ALWAYS_NAMES = {name for name, _ in _ALWAYS}
_PAGE_CSP = (b"content-security-policy", PAGE_CSP.encode())


class Guard:
    """One ASGI layer around the whole app (one, because it runs on every request):

    - 400 for a URL or a form with a NUL character (no name of ours holds one, and
      PostgreSQL cannot); 413 for a body over MAX_BODY, whether it says its length or
      not;
    - body parts must arrive in time (BODY_SECONDS apart: else 408, or the connection
      is cut once the answer has begun), and a client must keep reading what it asked
      for (SEND_SECONDS): one that stops is dropped and what was still to send is
      thrown away, so the thread or task sending it is free at once;
    - every response gets nosniff, no referrer, never framed, and a strict CSP (no
      inline script or style, nothing from another host) unless it brought its own (a
      file: see server/files.py)."""

    def __init__(self, app, body_seconds: float = BODY_SECONDS,
                 send_seconds: float = SEND_SECONDS) -> None:
        self.app, self.body_seconds, self.send_seconds = app, body_seconds, send_seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if "\0" in scope["path"] or b"%00" in scope.get("query_string", b""):
            return await _plain(send, 400, b"a NUL character in the URL")
        has_body = form = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > MAX_BODY:
                    return await _plain(send, 413, b"request body too large")
                has_body = has_body or value != b"0"
            elif name == b"transfer-encoding":
                has_body = True
            elif name == b"content-type":
                form = value.lower().startswith((b"application/x-www-form-urlencoded",
                                                 b"multipart/form-data"))
        # (No body: nothing to wait for. The first receive answers at once.)
        state = {"body_done": not has_body, "started": False, "given_up": False, "seen": 0,
                 "streaming": False, "tail": b""}

        async def guarded_receive():
            if state["body_done"] or state["given_up"]:
                return await receive()  # e.g. a response waiting for a disconnect
            try:
                async with asyncio.timeout(self.body_seconds):
                    message = await receive()
            except TimeoutError:
                state["given_up"] = True
                if not state["started"]:
                    state["started"] = True
                    await _plain(send, 408, b"the request body stopped arriving")
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                body = message.get("body", b"")
                state["seen"] += len(body)
                if state["seen"] > MAX_BODY:
                    raise _TooLarge
                if form:  # no field of ours holds a NUL (and PostgreSQL cannot)
                    looked = state["tail"] + body
                    if b"\0" in looked or b"%00" in looked:
                        raise _NulInForm
                    state["tail"] = looked[-2:]
                state["body_done"] = not message.get("more_body")
            else:
                state["body_done"] = True
            return message

        async def guarded_send(message):
            if state["given_up"]:
                return
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in _ALWAYS if h[0] not in present]
                if b"content-security-policy" not in present:
                    headers.append(_PAGE_CSP)
                message = {**message, "headers": headers}
            if message["type"] == "http.response.start":
                state["started"] = True
                return await send(message)  # (headers: never more than a socket takes)
            first, state["streaming"] = not state["streaming"], True
            if first and not message.get("more_body") and len(message.get("body", b"")) < SMALL:
                return await send(message)  # a small answer in one part: the socket takes it
            try:
                async with asyncio.timeout(self.send_seconds):
                    await send(message)
            except TimeoutError:
                state["given_up"] = True  # the client stopped reading: drop it

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except _TooLarge:
            if not state["started"]:
                await guarded_send({"type": "http.response.start", "status": 413, "headers": [
                    (b"content-type", b"text/plain"), (b"content-length", b"22")]})
                await guarded_send({"type": "http.response.body",
                                    "body": b"request body too large"})
        except _NulInForm:
            if not state["started"]:
                body = b"a NUL character in a form field"
                await guarded_send({"type": "http.response.start", "status": 400, "headers": [
                    (b"content-type", b"text/plain"),
                    (b"content-length", str(len(body)).encode())]})
                await guarded_send({"type": "http.response.body", "body": body})
        except ResponseCut:
            if not state["started"]:
                await _plain(send, 503, b"the file changed while it was being read")
        except Exception:
            if not state["given_up"]:
                raise
        # Given up: returning without finishing the response makes uvicorn close the
        # connection (it logs one line, which QuietLog keeps from piling up).


class _TooLarge(Exception):
    pass


class ResponseCut(Exception):  # noqa: N818 - a way to end, not an error
    """A response that cannot be finished as it began (its file changed while it was
    being sent): the connection is ended, quietly; the client sees a short answer."""


class _NulInForm(Exception):
    pass


async def _plain(send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"connection", b"close"),
               (b"content-length", str(len(body)).encode()), *_ALWAYS, _PAGE_CSP]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class QuietLog(logging.Filter):
    """At most `burst` records of one message (its template) per `window` seconds; the
    rest are counted and reported once, when the window after them ends. Long lines are
    cut at LINE_LIMIT characters."""

    def __init__(self, burst: int = 5, window: float = 60.0) -> None:
        super().__init__()
        self.burst, self.window = burst, window
        self._seen: dict[str, list] = {}  # template -> [window start, count, suppressed]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "uvicorn.access" and not self._first_few(record):
            return False
        if isinstance(record.args, tuple):  # (formatters may need the arguments as such)
            record.args = tuple(_cut(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _cut(record.msg)
        return True

    def _first_few(self, record: logging.LogRecord) -> bool:
        key = f"{record.name}:{record.msg}"[:200]
        now = time.monotonic()
        with self._lock:
            entry = self._seen.get(key)
            if entry is None or now - entry[0] > self.window:
                suppressed = entry[2] if entry else 0
                if len(self._seen) > 1000:
                    self._seen.clear()
                self._seen[key] = entry = [now, 0, 0]
                if suppressed:
                    record.msg = f"{record.msg} (and {suppressed} more like it not shown)"
            entry[1] += 1
            if entry[1] > self.burst:
                entry[2] += 1
                return False
        return True


def _cut(text: str) -> str:
    return text if len(text) <= LINE_LIMIT else text[:LINE_LIMIT] + " [...]"


def quiet_logs(*names: str) -> None:
    """Put one QuietLog on these loggers (uvicorn's and ours)."""
    shared = QuietLog()
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QuietLog) for f in logger.filters):
            logger.addFilter(shared)
