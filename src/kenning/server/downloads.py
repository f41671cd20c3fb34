"""Downloading the chosen photos as one zip of originals (server/zipdownload.py): the
grids' bulk bar and the API."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from kenning import catalog
from kenning.server.deps import State, User
from kenning.server.web import _checked, state
from kenning.server.zipdownload import MOST, owned_names, stream_zip, zip_name

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api")


def _zip_response(server, user_id: int, file_ids: list[int]) -> StreamingResponse:
    files = owned_names(server.db, user_id, file_ids)
    if not files:
        raise catalog.NotFound("none of these files is yours")
    return StreamingResponse(
        stream_zip(server.db, user_id, files, server.settings.own_paths),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{zip_name()}"',
                 "Cache-Control": "no-store"})


def _ids(values) -> list[int]:
    ids = []
    for value in values:
        text = str(value)
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= catalog.MAX_ID:
            raise HTTPException(422, f"not a file id: {text[:20]!r}")
        ids.append(int(text))
    return ids


@router.post("/files/zip")
async def zip_form(request: Request):
    """The bulk bar's Download: the chosen files (up to 10,000) as a zip."""
    try:
        form = await request.form(max_fields=MOST + 10, max_files=0)
    except Exception as exc:  # noqa: BLE001 - a form too large or malformed
        raise HTTPException(400, f"this form cannot be read: {exc}") from exc
    who = _checked(request, str(form.get("csrf", "")))
    ids = _ids(form.getlist("file"))
    if not ids:
        raise HTTPException(422, "choose at least one file")
    if len(ids) > MOST:
        raise HTTPException(422, f"at most {MOST} files in one zip")
    return _zip_response(state(request), who.id, ids)


class ZipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: list[int] = Field(min_length=1, max_length=MOST)


@api_router.post("/files/zip", tags=["files"])
def zip_api(body: ZipIn, who: User, server: State):
    """These files' originals as one zip (streamed; files that are gone are listed in
    MISSING.txt)."""
    return _zip_response(server, who.id, _ids(body.files))
