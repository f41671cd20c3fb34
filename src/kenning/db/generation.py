"""A marker that changes whenever anything a user sees changes (tags, faces, people,
files), in any process: the server recomputes its cached rankings only when it moved.

Every write path calls `bump(session)` inside its own transaction, so the marker moves
exactly when the change is committed."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select, update

from kenning.db.schema import Meta

KEY = "library_generation"
CREDENTIALS = "credentials_generation"  # moves when a password, token, session or admin
# flag changes: servers drop every credential they remembered, at their next request


def bump(session, key: str = KEY) -> None:
    token = uuid.uuid4().hex
    if not session.execute(update(Meta).where(Meta.key == key).values(value=token)).rowcount:
        session.execute(insert(Meta).values(key=key, value=token))


def current(session, key: str = KEY) -> str:
    return session.scalar(select(Meta.value).where(Meta.key == key)) or ""
