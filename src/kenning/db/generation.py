"""Markers that change whenever anything a user sees changes (tags, faces, people,
files), in any process: the server recomputes its cached rankings only when they moved.

Every write path calls `bump(session)` inside its own transaction, so the marker moves
exactly when the change is committed. A change that only one user can see (their tags,
names, people) moves only that user's marker (`bump(session, user_id=...)`): one user's
edits never make the server recompute another's rankings. Indexing and scanning move
the library's marker, which every user's view depends on."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select, update

from kenning.db.schema import Meta

KEY = "library_generation"
CREDENTIALS = "credentials_generation"  # moves when a password, token, session or admin
# flag changes: servers drop every credential they remembered, at their next request


def user_key(user_id: int) -> str:
    return f"{KEY}:{user_id}"


def bump(session, key: str = KEY, user_id: int | None = None) -> None:
    if user_id is not None:
        key = user_key(user_id)
    token = uuid.uuid4().hex
    if not session.execute(update(Meta).where(Meta.key == key).values(value=token)).rowcount:
        session.execute(insert(Meta).values(key=key, value=token))


def current(session, key: str = KEY) -> str:
    return session.scalar(select(Meta.value).where(Meta.key == key)) or ""


def current_for(session, user_id: int) -> str:
    """What one user's view depends on: the library's marker and their own."""
    values = dict(session.execute(select(Meta.key, Meta.value).where(
        Meta.key.in_((KEY, user_key(user_id))))).all())
    return f"{values.get(KEY, '')}/{values.get(user_key(user_id), '')}"
