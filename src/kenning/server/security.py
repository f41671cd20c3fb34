"""Who is asking: app tokens (Bearer, or Basic with the token as password), passwords
(Basic, for WebDAV clients) and browser sessions (an HttpOnly cookie plus a CSRF token).

Failed log-ins are throttled so that guessing is slow but a stranger cannot lock a user
out: 5 failures per name from one address, 30 per address (any names), and only when
a name gets more than 50 failures from everywhere together (guessing from many
addresses) are log-ins for it refused, and then only from browsers and addresses that
never signed in as that user (a signed device cookie, or an address that did before).
A browser with that user's device cookie counts only its own failures (5), never its
address's: others guessing from the same address cannot lock it out.
App tokens are never throttled by password failures. Attempts count from the moment
they start, so a burst of simultaneous guesses gets no more tries than one at a time.

Verified credentials are remembered for a few seconds (a WebDAV client sends its
password with every request, and argon2 is slow on purpose) until the credentials
marker in the database moves: any password, token, session or admin change anywhere
(the CLI, another server process) forgets them all at the next request.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from sqlalchemy import select

from kenning.db import Database, User
from kenning.db.generation import CREDENTIALS
from kenning.db.schema import Meta
from kenning.db.session import driver_errors
from kenning.users import (
    TOKEN_PREFIX,
    Busy,
    Principal,
    session_user,
    verify_password,
    verify_token,
)

SESSION_COOKIE = "kenning_session"
DEVICE_COOKIE = "kenning_device"
DEVICE_DAYS = 365
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PROPFIND"})


class Throttled(Exception):
    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message or f"too many failed log-ins: try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Attempt:
    keys: tuple[str, ...]
    at: float


class LoginThrottle:
    def __init__(self, per_pair: int = 5, per_address: int = 30, per_name: int = 50,
                 window: float = 300.0, trust_days: float = 30.0) -> None:
        self.limits = {"pair": per_pair, "addr": per_address, "name": per_name,
                       "device": per_pair}
        self.window, self.trust_seconds = window, trust_days * 86400
        self._seen: dict[str, deque[float]] = {}
        self._trusted: dict[tuple[str, str], float] = {}  # (name, address) -> until
        self._prune_at = 50_000
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._seen.setdefault(key, deque())
        while times and times[0] < now - self.window:
            times.popleft()
        return times

    def begin(self, name: str, address: str, trusted: bool, count: bool = True,
              device: str | None = None) -> Attempt:
        """Raise Throttled if this log-in must wait; else count it now (as a failure
        until `succeeded`), unless `count` is off (a check before a remembered one).
        `device`: a browser that signed in as this user before (its device cookie's
        digest) counts its failures on its own (per_device), never with its address's:
        others guessing from a shared address (a household, a proxy) cannot lock it out."""
        name = name.lower()
        keys = ((f"device:{name}\0{device}",) if device is not None else
                (f"pair:{name}\0{address}", f"addr:{address}", f"name:{name}"))
        trusted = trusted or self.trusted_address(name, address)
        now = time.monotonic()
        with self._lock:
            for key in keys:
                kind = key.split(":", 1)[0]
                if kind == "name" and trusted:
                    continue
                times = self._recent(key, now)
                if len(times) >= self.limits[kind]:
                    raise Throttled(int(times[0] + self.window - now) + 1)
            if len(self._seen) > self._prune_at:
                self._prune(now)
            if count:
                for key in keys:
                    self._recent(key, now).append(now)
        return Attempt(keys, now)

    def _prune(self, now: float) -> None:
        """Forget what is past the window (never what still counts: clearing all would
        give a guesser who made many keys a fresh start)."""
        self._seen = {key: times for key, times in self._seen.items()
                      if times and times[-1] >= now - self.window}
        self._prune_at = max(50_000, 2 * len(self._seen))

    def succeeded(self, attempt: Attempt, name: str, address: str) -> None:
        with self._lock:
            for key in attempt.keys:
                times = self._seen.get(key)
                if times is not None and attempt.at in times:
                    times.remove(attempt.at)
            self._seen.pop(attempt.keys[0], None)
            if len(self._trusted) > 10_000:
                now = time.monotonic()
                self._trusted = {k: until for k, until in self._trusted.items() if until > now}
            self._trusted[(name.lower(), address)] = time.monotonic() + self.trust_seconds

    def trusted_address(self, name: str, address: str) -> bool:
        with self._lock:
            return self._trusted.get((name.lower(), address), 0) > time.monotonic()


class _Remembered:
    """Verified credentials for a few seconds, while the credentials marker stays put."""

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds
        self._seen: dict[str, tuple[float, str, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, marker: str):
        with self._lock:
            hit = self._seen.get(key)
        if hit and hit[0] > time.monotonic() and hit[1] == marker:
            return hit[2]
        return None

    def put(self, key: str, marker: str, value) -> None:
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[key] = (time.monotonic() + self.seconds, marker, value)

    def forget(self) -> None:
        with self._lock:
            self._seen.clear()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Authenticator:
    def __init__(self, db: Database, throttle: LoginThrottle | None = None) -> None:
        self.db = db
        self.throttle = throttle or LoginThrottle()
        self.remembered = _Remembered()
        self._secret: bytes | None = None
        placeholder = "%s" if db.engine.dialect.name == "postgresql" else "?"
        self._marker_sql = f"SELECT value FROM kenning_meta WHERE key = {placeholder}"
        self._marker_connection = None
        self._marker_lock = threading.Lock()

    def _marker(self) -> str:
        """The credentials marker, read on every request: one row by its key, on a
        connection of its own (no pool, no session: a few microseconds on SQLite)."""
        with self._marker_lock:
            for attempt in (1, 2):
                try:
                    with driver_errors(self.db.engine.dialect):
                        if self._marker_connection is None:
                            self._marker_connection = self.db.raw_connection()
                        cursor = self._marker_connection.cursor()
                        cursor.execute(self._marker_sql, (CREDENTIALS,))
                        row = cursor.fetchone()
                        cursor.close()
                        self._marker_connection.commit()  # (ends the read; nothing written)
                    return row[0] if row else ""
                except Exception:  # noqa: BLE001 - a dropped connection: a new one, once
                    self._close_marker_connection()
                    if attempt == 2:
                        raise
        return ""

    def _close_marker_connection(self) -> None:
        if self._marker_connection is not None:
            with contextlib.suppress(Exception):  # it is being thrown away
                self._marker_connection.invalidate()
            self._marker_connection = None

    def _cached(self, key: str, verify):
        marker = self._marker()
        value = self.remembered.get(key, marker)
        if value is None:
            value = verify()
            if value is not None:
                self.remembered.put(key, marker, value)
        return value

    def password(self, name: str, password: str, address: str,
                 device: str | None = None) -> Principal | None:
        """A log-in with a password (or an app token in its place). Raises Throttled."""
        if "\0" in name or "\0" in password or len(name) > 200:
            return None  # never a user's (and no database can hold it)
        if password.startswith(TOKEN_PREFIX):
            who = self.token(password)
            return who if who is not None and who.name == name else None
        # Throttled or not is decided first, even for a password remembered as right:
        # else a stranger could try passwords while the log-in is refused.
        trusted = device is not None and self.device_user(device) == name
        known = _digest(device) if trusted else None
        self.throttle.begin(name, address, trusted, count=False, device=known)
        marker = self._marker()
        key = "p:" + _digest(f"{name}\0{password}")
        who = self.remembered.get(key, marker)
        if who is not None:
            return who
        attempt = self.throttle.begin(name, address, trusted, device=known)
        try:
            who = verify_password(self.db, name, password)
        except Busy as exc:
            raise Throttled(2, str(exc)) from exc
        if who is not None:
            self.throttle.succeeded(attempt, name, address)
            self.remembered.put(key, marker, who)
        return who

    def token(self, token: str) -> Principal | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        return self._cached("t:" + _digest(token), lambda: verify_token(self.db, token))

    def header(self, authorization: str, address: str) -> Principal | None:
        scheme, _, value = authorization.partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "bearer":
            return self.token(value)
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            name, sep, secret = decoded.partition(":")
            return self.password(name, secret, address) if sep else None
        return None

    def cookie(self, value: str) -> tuple[Principal, str] | None:
        if not value or len(value) > 200:
            return None
        return self._cached("s:" + _digest(value), lambda: session_user(self.db, value))

    # Device cookies: a browser that signed in as a user before is not throttled with
    # the strangers guessing that user's password.

    def _device_secret(self) -> bytes:
        if self._secret is None:
            with self.db.session() as session:
                row = session.get(Meta, "device_secret")
                if row is None:
                    row = Meta(key="device_secret", value=secrets.token_hex(32))
                    session.add(row)
                self._secret = bytes.fromhex(row.value)
        return self._secret

    def device_cookie(self, who: Principal) -> str:
        nonce = secrets.token_urlsafe(12)
        body = f"{who.id}.{nonce}"
        return body + "." + hmac.new(self._device_secret(), body.encode(),
                                     "sha256").hexdigest()

    def sign(self, text: str) -> str:
        """A short signature of a text this server made (a message shown after a change):
        a page shows a message only with it, so a link cannot put words on our pages."""
        return hmac.new(self._device_secret(), b"notice\0" + text.encode("utf-8",
                                                                          "surrogatepass"),
                        "sha256").hexdigest()[:24]

    def signed(self, text: str, signature: str | None) -> bool:
        return bool(signature) and hmac.compare_digest(self.sign(text), str(signature))

    def device_user(self, cookie: str | None) -> str | None:
        """The name of the user a device cookie was given to, if it is one of ours."""
        if not cookie or len(cookie) > 200 or cookie.count(".") != 2:
            return None
        body, _, mac = cookie.rpartition(".")
        expected = hmac.new(self._device_secret(), body.encode(), "sha256").hexdigest()
        if not hmac.compare_digest(mac, expected):
            return None
        user_id = body.split(".", 1)[0]
        if not user_id.isdigit():
            return None
        with self.db.session() as session:
            name = session.scalar(select(User.name).where(User.id == int(user_id)))
        return name

