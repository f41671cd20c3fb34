"""The same schema and job model on PostgreSQL (the scale-out database), via the real server."""

from __future__ import annotations

import os
import shutil
import uuid

import psycopg
import pytest
from conftest import IMAGENET

ADMIN_URL = os.environ.get("KENNING_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def objects_only(kenning):
    """These tests are about scanning and the objects classifier."""
    kenning.env["KENNING_CLASSIFIERS"] = "objects"



@pytest.fixture
def postgres_url():
    name = f"kenning_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_index_search_and_rename_on_postgresql(kenning, tmp_path, postgres_url):
    library = tmp_path / "library"
    library.mkdir()
    for name in ("n01530575_brambling.JPEG", "n01443537_goldfish.JPEG",
                 "n01818515_macaw.JPEG"):
        shutil.copy(IMAGENET / name, library / name)
    kenning.env["KENNING_DATABASE_URL"] = postgres_url
    report = kenning("index", library, "--json").json()
    assert report["processed"] == {"objects": 3}
    assert not (kenning.data_dir / "kenning.db").exists()
    birds = kenning("search", "Bird", "--json").json()["files"]
    assert sorted(os.path.basename(p) for p in birds) == ["n01530575_brambling.JPEG",
                                                          "n01818515_macaw.JPEG"]
    os.rename(library / "n01818515_macaw.JPEG", library / "parrot.jpg")
    again = kenning("index", library, "--json").json()
    assert again["changes"]["moved"] == 1 and again["processed"] == {}
    assert "Parrot" in {t["tag"] for t in kenning("tags", library / "parrot.jpg",
                                                  "--json").json()["tags"]}
