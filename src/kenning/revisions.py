"""The database schema's newest revision, known from the migrations' file names alone
(NNNN_what.py, revision "NNNN"): what Alembic calls the head (a test holds them equal),
without importing Alembic or SQLAlchemy."""

from __future__ import annotations

from pathlib import Path

VERSIONS = Path(__file__).resolve().parent / "db" / "migrations" / "versions"


def newest_revision_file() -> str:
    return max(p.name.split("_", 1)[0] for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
