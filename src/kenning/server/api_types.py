"""What the REST API's routers share: the types of ids, pages and text a client sends,
strict bodies, and the answers of pages, rankings and people changes."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kenning import catalog
from kenning.faces.people import PeopleError

Id = Annotated[int, Path(ge=1, le=catalog.MAX_ID)]
AnId = Annotated[int, Field(ge=1, le=catalog.MAX_ID)]
# Text from a client: no NUL character (PostgreSQL's text cannot hold one).
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
Limit = Annotated[int, Query(ge=1, le=catalog.MAX_PAGE)]
After = Annotated[int, Query(ge=0, le=catalog.MAX_ID, description="Return ids after this one "
                                                        "(the `next` of the previous page).")]
Offset = Annotated[int, Query(ge=0, le=10**7)]
Kind = Annotated[str | None, Query(pattern="^(image|video|audio)$")]


async def ranked(function, *args):
    """`function(*args)`, which reads the per-user rankings (tags, people, places): on
    the event loop when they are cached, else in a thread (a count over a whole library
    must not hold up everyone's requests)."""
    try:
        with catalog.cached_only():
            return function(*args)
    except catalog.Uncached:
        return await anyio.to_thread.run_sync(function, *args)


def page_response(page: catalog.Page) -> Response:
    """A page of results, serialised at once (FastAPI's generic encoder walks every value
    and costs more than the query)."""
    return Response(page.as_json(), media_type="application/json")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def people_call(function, *args):
    """A change to people (faces/people.py), its errors as the API answers them."""
    try:
        result = function(*args)
    except PeopleError as exc:
        raise catalog.people_error(exc) from exc
    catalog.changed()
    return result
