"""A marker that changes whenever anything a user sees changes (tags, faces, people,
files), in any process: the server recomputes its cached rankings only when it moved.

Every write path calls `bump(session)` inside its own transaction, so the marker moves
exactly when the change is committed."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select, update

from kenning.db.schema import Meta

KEY = "library_generation"


def bump(session) -> None:
    token = uuid.uuid4().hex
    if not session.execute(update(Meta).where(Meta.key == KEY).values(value=token)).rowcount:
        session.execute(insert(Meta).values(key=KEY, value=token))


def current(session) -> str:
    return session.scalar(select(Meta.value).where(Meta.key == KEY)) or ""
