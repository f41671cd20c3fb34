"""Users, their passwords (argon2), app tokens for API/WebDAV clients, browser sessions.

Only hashes are stored: argon2 for passwords, sha256 for tokens and session cookies
(they are long random strings, so a fast hash is enough and lets them be looked up).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select

from kenning.db import AppToken, Database, Mount, User, WebSession
from kenning.db.generation import CREDENTIALS, bump
from kenning.db.schema import utcnow
from kenning.names import BadName, clean

SESSION_DAYS = 14
TOKEN_PREFIX = "kn_"
_hasher = PasswordHasher()  # argon2id, 64 MiB a hash
# At most this many argon2 hashes at once (64 MiB each), whatever the number of log-ins
# arriving together; more than WAITING_AT_MOST waiting are turned away.
HASHES_AT_ONCE = 2
WAITING_AT_MOST = 32
_hash_slots = threading.BoundedSemaphore(HASHES_AT_ONCE)
_waiting = 0
_waiting_lock = threading.Lock()


class Busy(RuntimeError):
    """Too many log-ins are being checked at once: try again in a moment."""


class UserError(ValueError):
    """A user name, password or token the caller must fix."""


@dataclass(frozen=True)
class Principal:
    """Who a request is from."""

    id: int
    name: str
    is_admin: bool


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _principal(user: User) -> Principal:
    return Principal(user.id, user.name, user.is_admin)


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100 or any(c in name for c in "/\\:\0") or not name.isprintable():
        raise UserError(f"{name!r} is not a valid user name (1-100 printable characters, "
                        "no / \\ or :)")
    return name


def check_password(password: str) -> str:
    if len(password) < 8:
        raise UserError("a password needs at least 8 characters")
    if len(password) > 1024:
        raise UserError("a password can have at most 1024 characters")
    return password


def _hash(password: str) -> str:
    with _argon2_slot():
        return _hasher.hash(password)


class _argon2_slot:  # noqa: N801 - used as a `with` block
    def __enter__(self):
        global _waiting
        with _waiting_lock:
            if _waiting >= WAITING_AT_MOST:
                raise Busy("too many log-ins at once: try again in a moment")
            _waiting += 1
        try:
            _hash_slots.acquire()
        finally:
            with _waiting_lock:
                _waiting -= 1
        return self

    def __exit__(self, *exc):
        _hash_slots.release()


def add_user(db: Database, name: str, password: str | None, admin: bool = False) -> Principal:
    name = check_name(name)
    hashed = _hash(check_password(password)) if password is not None else None
    with db.session() as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is not None and user.password_hash is not None:
            raise UserError(f"user {name!r} already exists (use `kenning user passwd`)")
        if user is None:  # `kenning index` makes users without a password: adopt those
            user = User(name=name)
            session.add(user)
        user.password_hash, user.is_admin = hashed, admin or user.is_admin
        bump(session, CREDENTIALS)
        session.flush()
        return _principal(user)


def library_owner(db: Database) -> str:
    """Whom the command line acts as when no user is named: the library's first admin,
    else its first user with folders, else its first user; "local" in a new library.
    So the CLI and `kenning serve` work on the same user's library, whatever it is
    called."""
    from kenning.catalog import people_sql
    from kenning.catalog.core import raw_cursor

    with raw_cursor(db) as (cursor, _placeholder):
        return people_sql.owner_name(cursor)


def rename_user(db: Database, old: str, new: str) -> None:
    """A new name for a user (their folders, people, tags and tokens stay theirs)."""
    new = check_name(new)
    with db.session() as session:
        user = session.scalar(select(User).where(User.name == old))
        if user is None:
            raise UserError(f"no user {old!r}")
        if new != old and session.scalar(select(User.id).where(User.name == new)) is not None:
            raise UserError(f"user {new!r} already exists")
        user.name = new
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        bump(session, CREDENTIALS)


def remove_user(db: Database, name: str) -> int:
    """Delete a user and everything Kenning holds for them (never their media)."""
    with db.session() as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise UserError(f"no user {name!r}")
        mounts = session.scalar(select(Mount.id).where(Mount.user_id == user.id).limit(1))
        session.delete(user)
        bump(session, CREDENTIALS)
        return 0 if mounts is None else 1


def set_password(db: Database, name: str, password: str, revoke_tokens: bool = False,
                 first_admin: bool = False) -> int:
    """A new password; every browser session of the user ends, and with `revoke_tokens`
    every app token too. Returns the number of tokens revoked. `first_admin`: the user
    also becomes an admin if the library has none (its owner setting up the server)."""
    hashed = _hash(check_password(password))
    with db.session() as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise UserError(f"no user {name!r}")
        user.password_hash = hashed
        if first_admin and session.scalar(select(User.id).where(User.is_admin)) is None:
            user.is_admin = True
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        revoked = session.execute(delete(AppToken).where(AppToken.user_id == user.id)
                                  ).rowcount if revoke_tokens else 0
        bump(session, CREDENTIALS)
    return revoked


def set_admin(db: Database, name: str, admin: bool) -> None:
    with db.session() as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise UserError(f"no user {name!r}")
        user.is_admin = admin
        bump(session, CREDENTIALS)


def list_users(db: Database) -> list[dict]:
    with db.session() as session:
        users = session.scalars(select(User).order_by(User.name)).all()
        mounts = session.execute(select(Mount.user_id, Mount.path).order_by(Mount.path)).all()
    return [{"id": u.id, "name": u.name, "admin": u.is_admin,
             "can_log_in": u.password_hash is not None,
             "mounts": [p for uid, p in mounts if uid == u.id]} for u in users]


def find_user(db: Database, name: str) -> Principal | None:
    if "\0" in name:
        return None
    with db.session() as session:
        user = session.scalar(select(User).where(User.name == name))
        return None if user is None else _principal(user)


def verify_password(db: Database, name: str, password: str) -> Principal | None:
    """The user, if the password is theirs (argon2: tens of milliseconds and 64 MiB on
    purpose; see security.Authenticator, which remembers successes). Raises Busy."""
    with db.session() as session:
        user = session.scalar(select(User).where(User.name == name))
        stored = user.password_hash if user is not None else None
        principal = None if user is None else _principal(user)
    with _argon2_slot():
        if stored is None:
            _hasher.hash(password[:1024])  # the same time whether or not the user exists
            return None
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
    return principal


def create_token(db: Database, user_id: int, name: str) -> dict:
    try:
        name = clean(name or "app", "a token's name", 100)
    except BadName as exc:
        raise UserError(str(exc)) from exc
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.session() as session:
        row = AppToken(user_id=user_id, name=name, token_hash=_digest(token))
        session.add(row)
        session.flush()
        return {"id": row.id, "name": name, "token": token}


def list_tokens(db: Database, user_id: int) -> list[dict]:
    with db.session() as session:
        rows = session.scalars(select(AppToken).where(AppToken.user_id == user_id)
                               .order_by(AppToken.id)).all()
    return [{"id": t.id, "name": t.name, "created_at": t.created_at,
             "last_used_at": t.last_used_at} for t in rows]


def revoke_token(db: Database, user_id: int, token_id: int) -> bool:
    with db.session() as session:
        bump(session, CREDENTIALS)
        return session.execute(delete(AppToken).where(
            AppToken.id == token_id, AppToken.user_id == user_id)).rowcount > 0


def verify_token(db: Database, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with db.session() as session:
        row = session.scalar(select(AppToken).where(AppToken.token_hash == _digest(token)))
        if row is None:
            return None
        now = utcnow()
        if row.last_used_at is None or now - _aware(row.last_used_at) > timedelta(minutes=5):
            row.last_used_at = now
        return _principal(session.get(User, row.user_id))


def _aware(moment):
    """SQLite hands back naive datetimes for timezone-aware columns."""
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def start_session(db: Database, user_id: int) -> tuple[str, str]:
    """A new browser session: (cookie value, CSRF token)."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    with db.session() as session:
        session.execute(delete(WebSession).where(WebSession.expires_at < utcnow()))
        session.add(WebSession(id=_digest(cookie), user_id=user_id, csrf=csrf,
                               expires_at=utcnow() + timedelta(days=SESSION_DAYS)))
    return cookie, csrf


def session_user(db: Database, cookie: str) -> tuple[Principal, str] | None:
    if not cookie or len(cookie) > 200:
        return None
    with db.session() as session:
        row = session.get(WebSession, _digest(cookie))
        if row is None or _aware(row.expires_at) < utcnow():
            return None
        return _principal(session.get(User, row.user_id)), row.csrf


def end_session(db: Database, cookie: str) -> None:
    with db.session() as session:
        session.execute(delete(WebSession).where(WebSession.id == _digest(cookie)))
        bump(session, CREDENTIALS)
