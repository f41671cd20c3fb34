"""The grids' bulk bar and `POST /api/files/bulk`: a change to up to 10,000 chosen photos
at once (kenning/bulk.py): a tag added or removed, a person added or removed, their faces
said to be no faces."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from kenning import bulk, catalog
from kenning.server.deps import State, User
from kenning.server.downloads import _ids
from kenning.server.web import _back, _checked, _safe_next, _user, state, templates

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api")
ACTIONS = ("add", "remove", "person", "unperson", "notface")
PEOPLE_OFFERED = 200  # names the person field offers as you type: those with most faces


@router.get("/bulk-lists")
def bulk_lists(request: Request) -> HTMLResponse:
    """The bulk bar's choices as you type: its tags, and the named people with the most
    faces (any other name can be typed). Fetched by the page's script when photos are
    first chosen, so the pages themselves stay small; made once per library change."""
    who = _user(request)
    db = state(request).db

    def render() -> str:
        tags = [t["tag"] for t in catalog.list_tags(db, who.id, catalog.MAX_PAGE, 0).items]
        named = [p["name"] for p in catalog.list_people(db, who.id, PEOPLE_OFFERED, 0).items
                 if p["name"]]
        return templates.get_template("_bulk_lists.html").render(
            tags=tags, people=sorted(named, key=str.casefold))

    return HTMLResponse(catalog.counts.get(db, ("bulk-lists", who.id), render),
                        headers={"Cache-Control": "private, no-cache"})


def apply(db, who, action: str, file_ids: list[int], text: str) -> str:
    """Do one bulk action; what was done, in words. Refused / NotFound as catalog's."""
    def files(count: int) -> str:
        return f"{count} file{'' if count == 1 else 's'}"

    if action in ("add", "remove") and not text.strip():
        raise catalog.Refused("type a tag")
    if action == "add":
        return f"tag {text.strip()!r} added to {files(bulk.tag_many(db, who.id, file_ids, text))}"
    if action == "remove":
        count = bulk.untag_many(db, who.id, file_ids, text)
        return f"tag {text.strip()!r} removed from {files(count)}"
    if action == "person":
        done = bulk.add_person(db, who.name, who.id, file_ids, text)
        left = "; ".join(f"{count} left alone: {why}" for why, count in done["left"].items())
        said = f"{done['name']} added to {files(len(done['faces']))}"
        return f"{said}; {left}" if left else said
    if action == "unperson":
        done = bulk.remove_person(db, who.name, who.id, file_ids, text)
        return f"{text.strip()} taken out of {files(len(done['faces']))}"
    done = bulk.no_faces(db, who.name, who.id, file_ids)
    count = len(done["faces"])
    return f"{count} face{'' if count == 1 else 's'} marked as no face"


@router.post("/files/bulk")
async def bulk_form(request: Request):
    """The bulk bar of every grid (up to 10,000 chosen photos)."""
    try:
        form = await request.form(max_fields=bulk.MAX_BULK + 10, max_files=0)
    except Exception as exc:  # noqa: BLE001 - a form too large or malformed
        raise HTTPException(400, f"this form cannot be read: {exc}") from exc
    who = _checked(request, str(form.get("csrf", "")))
    back = _safe_next(str(form.get("next", "/"))[:2000])
    action = str(form.get("action", "add"))
    if action not in ACTIONS:
        raise HTTPException(422, f"action is one of {', '.join(ACTIONS)}")
    field = "person" if action in ("person", "unperson") else "tag"
    text = str(form.get(field, ""))[:200]
    ids = _ids(form.getlist("file"))
    try:
        return _back(back, apply(state(request).db, who, action, ids, text), request=request)
    except catalog.Refused as exc:
        return _back(back, error=str(exc), request=request)


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: list[int] = Field(min_length=1, max_length=bulk.MAX_BULK)
    action: Literal["add", "remove", "person", "unperson", "notface"]
    tag: str = Field("", max_length=100)
    person: str = Field("", max_length=200)


@api_router.post("/files/bulk", tags=["files"])
def bulk_api(body: BulkIn, who: User, server: State):
    """One change to many files: `add` / `remove` a tag, `person` / `unperson` (a person
    by name is in these photos, or not: one face per photo, the most like them), or
    `notface` (every face found in them is no face)."""
    text = body.person if body.action in ("person", "unperson") else body.tag
    return {"done": apply(server.db, who, body.action, _ids(body.files), text)}
