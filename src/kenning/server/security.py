"""Who is asking: app tokens (Bearer, or Basic with the token as password), passwords
(Basic, for WebDAV clients) and browser sessions (an HttpOnly cookie plus a CSRF token).
Failed log-ins are throttled per user name and per address."""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections import deque

from kenning.db import Database
from kenning.users import TOKEN_PREFIX, Principal, session_user, verify_password, verify_token

SESSION_COOKIE = "kenning_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PROPFIND"})


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed log-ins: try again in {retry_after} s")
        self.retry_after = retry_after


class LoginThrottle:
    """At most `failures` failed log-ins per user name, and `address_failures` per client
    address (a household behind one router shares one), in `window` seconds."""

    def __init__(self, failures: int = 5, address_failures: int = 30,
                 window: float = 300.0) -> None:
        self.failures, self.address_failures, self.window = failures, address_failures, window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._seen.setdefault(key, deque())
        while times and times[0] < now - self.window:
            times.popleft()
        return times

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                limit = self.address_failures if key.startswith("addr:") else self.failures
                if len(times) >= limit:
                    raise Throttled(int(times[0] + self.window - now) + 1)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 50_000:
                self._seen.clear()
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, name_key: str) -> None:
        with self._lock:
            self._seen.pop(name_key, None)


class _Remembered:
    """Recently verified app tokens and session cookies, for a few seconds, so a busy
    client costs no database read per request. Revoking through this server forgets at
    once; a revocation elsewhere (another server process) counts within `seconds`."""

    def __init__(self, seconds: float = 10.0) -> None:
        self.seconds = seconds
        self._seen: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, verify):
        now = time.monotonic()
        with self._lock:
            hit = self._seen.get(key)
        if hit and hit[0] > now:
            return hit[1]
        value = verify()
        if value is not None:
            with self._lock:
                if len(self._seen) > 10_000:
                    self._seen.clear()
                self._seen[key] = (now + self.seconds, value)
        return value

    def forget(self) -> None:
        with self._lock:
            self._seen.clear()


remembered = _Remembered()


class Authenticator:
    def __init__(self, db: Database, throttle: LoginThrottle | None = None) -> None:
        self.db = db
        self.throttle = throttle or LoginThrottle()

    def password(self, name: str, password: str, address: str) -> Principal | None:
        """A log-in with a password (or an app token in its place). Raises Throttled."""
        keys = (f"name:{name.lower()}", f"addr:{address}")
        self.throttle.check(*keys)
        if password.startswith(TOKEN_PREFIX):
            who = remembered.get("t:" + password, lambda: verify_token(self.db, password))
            who = who if who is not None and who.name == name else None
        else:
            who = verify_password(self.db, name, password)
        if who is None:
            self.throttle.failed(*keys)
        else:
            self.throttle.succeeded(keys[0])
        return who

    def header(self, authorization: str, address: str) -> Principal | None:
        scheme, _, value = authorization.partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "bearer":
            self.throttle.check(f"addr:{address}")
            who = remembered.get("t:" + value, lambda: verify_token(self.db, value))
            if who is None:
                self.throttle.failed(f"addr:{address}")
            return who
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            name, sep, secret = decoded.partition(":")
            return self.password(name, secret, address) if sep else None
        return None

    def cookie(self, value: str) -> tuple[Principal, str] | None:
        return remembered.get("s:" + value, lambda: session_user(self.db, value))
