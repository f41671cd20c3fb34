"""The REST API (JSON; OpenAPI at /api/docs). Every route but /api/health needs a user,
and only ever shows that user's library: another user's ids are 404, like missing ones."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path as FsPath
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import Field, model_validator

from kenning import catalog
from kenning.faces.drawn import BAD_BOX, box_fits
from kenning.pipeline.indexer import FolderError, ensure_mount
from kenning.server import drawing
from kenning.server.api_types import (
    After,
    Id,
    Kind,
    Limit,
    Offset,
    Strict,
    Text,
    page_response,
    ranked,
)
from kenning.server.deps import Admin, State, User, client_address
from kenning.server.files import original_response
from kenning.server.security import Throttled
from kenning.users import (
    UserError,
    create_token,
    find_user,
    list_tokens,
    revoke_token,
    set_password,
)

router = APIRouter(prefix="/api")
# Reads that take a millisecond or two are `async def`: they run on the event loop, with
# no hop to a thread (which costs more than the query, and makes threads queue for the
# GIL under load). Anything that can take longer stays `def` and runs in a thread; a
# ranking over a whole library (tags, people, places) is read on the loop only when it is
# cached, and computed in a thread otherwise (`_ranked`).

class TagIn(Strict):
    tag: Text = Field(min_length=1, max_length=100)


class MountIn(Strict):
    path: Text = Field(min_length=1, max_length=4096)
    user: Text | None = Field(default=None, min_length=1, max_length=200,
                             description="Owner (default: you)")


class TokenIn(Strict):
    name: Text = Field(min_length=1, max_length=100)


class PasswordIn(Strict):
    current: Text = Field(min_length=1, max_length=1024, description="Your password now")
    new: Text = Field(min_length=8, max_length=1024)
    revoke_tokens: bool = Field(default=False, description="Also revoke every app token")


@router.get("/health", tags=["server"])
async def health(server: State):
    """Whether the server and its database answer (no sign-in needed)."""
    server.db.schema_version()
    return {"ok": True}


@router.get("/me", tags=["server"])
async def me(who: User):
    return {"id": who.id, "name": who.name, "admin": who.is_admin}


@router.post("/me/password", tags=["server"])
def change_password(request: Request, body: PasswordIn, who: User, server: State):
    """Change your password. Every browser session ends (sign in again), and with
    `revoke_tokens` every app token stops working too."""
    try:
        confirmed = server.auth.password(who.name, body.current, client_address(request))
    except Throttled as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}
                            ) from exc
    if confirmed is None or confirmed.id != who.id:
        raise HTTPException(403, "the current password is wrong")
    try:
        revoked = set_password(server.db, who.name, body.new, body.revoke_tokens)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"changed": True, "tokens_revoked": revoked}


@router.get("/tokens", tags=["server"])
def tokens(who: User, server: State):
    return list_tokens(server.db, who.id)


@router.post("/tokens", tags=["server"], status_code=201)
def new_token(body: TokenIn, who: User, server: State):
    """A new app token for an API or WebDAV client. It is shown only this once."""
    try:
        return create_token(server.db, who.id, body.name)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.delete("/tokens/{token_id}", tags=["server"])
def delete_token(token_id: Id, who: User, server: State):
    if not revoke_token(server.db, who.id, token_id):
        raise catalog.NotFound(f"no token {token_id}")
    return {"id": token_id, "revoked": True}


# Files and tags ------------------------------------------------------------------------


@router.get("/files", tags=["files"])
async def files(who: User, server: State, limit: Limit = 100, after: After = 0, kind: Kind = None,
          mount: Annotated[int | None, Query(ge=1, le=catalog.MAX_ID)] = None) -> dict:
    return page_response(catalog.list_files(server.db, who.id, limit, after, kind, mount))


@router.get("/files/{file_id}", tags=["files"])
async def file(file_id: Id, who: User, server: State):
    """A file with its tags, raw labels, faces, place and per-classifier state."""
    return catalog.file_detail(server.db, who.id, file_id)


@router.api_route("/files/{file_id}/original", methods=["GET", "HEAD"], tags=["files"],
                  response_class=FileResponse)
def original(file_id: Id, who: User, server: State,
             download: Annotated[bool, Query(description="As an attachment")] = False
             ) -> FileResponse:
    """The original file, unchanged, with the media type its content shows."""
    return original_response(server.db, who.id, file_id, download, server.settings.own_paths)


class DrawnFaceIn(Strict):
    box: Annotated[list[Annotated[float, Field(ge=0, le=1)]],
                   Field(min_length=4, max_length=4, description=(
                       "x, y, width, height as fractions of the photo as shown"))]
    name: Text | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def inside(self) -> DrawnFaceIn:
        if not box_fits(tuple(self.box)):
            raise ValueError(BAD_BOX)
        return self


@router.post("/files/{file_id}/faces", tags=["people"], status_code=201)
def draw_face(file_id: Id, body: DrawnFaceIn, who: User, server: State):
    """A face the detector missed, in a box on the photo: embedded like any face, then
    given to the person named, or placed by clustering."""
    return drawing.add_drawn_face(server, who, file_id, tuple(body.box), body.name)


@router.post("/files/{file_id}/tags", tags=["tags"], status_code=201)
def add_tag(file_id: Id, body: TagIn, who: User, server: State):
    return catalog.add_tag(server.db, who.id, file_id, body.tag)


@router.delete("/files/{file_id}/tags/{tag_id}", tags=["tags"])
def remove_tag(file_id: Id, tag_id: Id, who: User, server: State):
    """Remove a tag from a file. A classifier's tag stays removed when the file is redone."""
    return catalog.remove_tag(server.db, who.id, file_id, tag_id)


@router.get("/tags", tags=["tags"])
async def tags(who: User, server: State, limit: Limit = 100, offset: Offset = 0,
         prefix: Annotated[str, Query(max_length=100)] = "") -> dict:
    """Your tags, the most used first, with their number of files."""
    return page_response(await ranked(catalog.list_tags, server.db, who.id, limit, offset, prefix))


@router.get("/tags/{tag_id}", tags=["tags"])
async def tag(tag_id: Id, who: User, server: State):
    return catalog.get_tag(server.db, who.id, tag_id)


@router.get("/tags/{tag_id}/files", tags=["tags"])
async def tag_files(tag_id: Id, who: User, server: State, limit: Limit = 100,
              after: After = 0) -> dict:
    return page_response(catalog.tag_files(server.db, who.id, tag_id, limit, after, raw=True))


@router.get("/search", tags=["files"])
async def search(who: User, server: State,
           tag: Annotated[list[str], Query(max_length=20, description="Tag names (all)")] = (),
           person: Annotated[list[int], Query(max_length=20, description="Person ids (all)")]
           = (),
           date_from: Annotated[datetime | None, Query(alias="from")] = None,
           date_to: Annotated[datetime | None, Query(alias="to")] = None,
           place: Annotated[str | None, Query(max_length=200)] = None,
           kind: Kind = None, limit: Limit = 100, after: After = 0,
           q: Annotated[str, Query(max_length=200, description=(
               "Words, as a person types them: tags and the words for them, people's "
               "names, places, a year or a month (\"Grandma beach 2019\"). What they "
               "were understood as, and the nearest terms to words that were not, come "
               "back with the files."))] = "") -> dict:
    """Files with every tag, every person, in the date range (file time) and at the place
    (city, region or country contains it); or that match the words of `q`."""
    if q.strip():
        return await anyio.to_thread.run_sync(_word_search, server, who.id, q, limit, after)
    if any(len(t) > 100 for t in tag) or any(not 1 <= p <= catalog.MAX_ID for p in person):
        raise HTTPException(422, "tags have at most 100 characters; person ids are positive")
    for moment in (date_from, date_to):
        if moment is not None and moment.tzinfo is None:
            raise HTTPException(422, "give dates with a time zone, e.g. 2024-06-01T00:00:00Z")
    return page_response(catalog.search(server.db, who.id, list(tag), list(person), date_from,
                                        date_to, place, kind, limit, after, raw=True))


def _word_search(server, user_id: int, text: str, limit: int, after: int) -> Response:
    from kenning import wordsearch

    if "\0" in text:
        raise HTTPException(422, "a NUL character in q")
    understood = wordsearch.understand(server.db, user_id, text)
    page = wordsearch.search(server.db, user_id, understood, limit, after)
    return Response(json.dumps(understood.as_dict() | page.as_dict(), default=str),
                    media_type="application/json")


@router.get("/timeline", tags=["browse"])
def timeline(who: User, server: State, limit: Limit = 100,
                   before: Annotated[str, Query(max_length=40, description=(
                       "The `next` of the previous page."))] = "") -> Response:
    """Photos and videos, newest first by when they were taken (else modified); each
    with `when` and `month`."""
    try:
        return page_response(catalog.timeline(server.db, who.id, limit, before, raw=True))
    except catalog.Refused as exc:
        raise HTTPException(422, str(exc)) from exc


@router.get("/folders/{mount_id}", tags=["browse"])
def folder(mount_id: Id, who: User, server: State,
           path: Annotated[str, Query(max_length=4096)] = "", limit: Limit = 100,
           offset: Offset = 0) -> Response:
    """A folder of a mount: its subfolders (with the number of files below each) and a
    page of its files by name."""
    listing = catalog.folder(server.db, who.id, mount_id, path, limit, offset)
    listing["files"] = listing["files"].as_dict()
    return Response(json.dumps(listing, default=str), media_type="application/json")


@router.get("/places", tags=["browse"])
async def places(who: User, server: State) -> list[dict]:
    """Countries, the most photographed first, with their places."""
    return await ranked(catalog.places, server.db, who.id)


@router.get("/suggest", tags=["browse"])
async def suggest(who: User, server: State,
                  q: Annotated[str, Query(max_length=200, description="What is typed")] = ""
                  ) -> dict:
    """Tags and named people that start with (then contain) `q`, the most used first."""
    return await ranked(catalog.suggest, server.db, who.id, q)


# Mounts, processing and resets ---------------------------------------------------------


@router.get("/mounts", tags=["mounts"])
def mounts(who: User, server: State):
    return catalog.list_mounts(server.db, who.id)


@router.post("/mounts", tags=["mounts"], status_code=201)
def mount_add(body: MountIn, who: Admin, server: State):
    """Add a folder to a user's library (admins only: a mount exposes the folder's files
    to its owner)."""
    owner = find_user(server.db, body.user) if body.user else who
    if owner is None:
        raise catalog.NotFound(f"no user {body.user!r}")
    if not body.path.startswith("/") or "\0" in body.path:
        raise HTTPException(422, "give the folder as an absolute path")
    try:
        mount = ensure_mount(server.db, owner.name, FsPath(body.path), server.settings.own_paths)
    except FolderError as exc:
        raise catalog.Refused(str(exc)) from exc
    if server.processor is not None:
        server.processor.watch_mounts()
        server.processor.request(mount.id)
    return catalog.get_mount(server.db, owner.id, mount.id)


@router.delete("/mounts/{mount_id}", tags=["mounts"])
def mount_remove(mount_id: Id, who: User, server: State):
    """Forget a mount and its results. The folder and its files are not touched."""
    removed = catalog.remove_mount(server.db, who.id, mount_id)
    if server.processor is not None:
        server.processor.watch_mounts()
    return removed


@router.post("/mounts/{mount_id}/rescan", tags=["mounts"], status_code=202)
def mount_rescan(mount_id: Id, who: User, server: State):
    mount = catalog.get_mount(server.db, who.id, mount_id)
    if server.processor is None:
        raise HTTPException(503, "no background processing in this server")
    server.processor.request(mount_id)
    return {"id": mount_id, "path": mount["path"], "queued": True}


@router.get("/status", tags=["mounts"])
def status(request: Request, who: User, server: State, failed_limit: Limit = 100,
           failed_offset: Offset = 0):
    """Pending, done and failed files per classifier, a page of the failed files with
    their reasons (`failed_total` in all; `failed_next`: the offset of the next page),
    and what the background processing is doing."""
    data = catalog.status(server.db, who.name)
    data["failed_files"] = catalog.failed_files(server.db, who.name, limit=failed_limit,
                                                offset=failed_offset)
    data["failed_total"] = catalog.count_failed(server.db, who.name)
    following = failed_offset + len(data["failed_files"])
    data["failed_next"] = following if following < data["failed_total"] else None
    data["processing"] = (server.processor.progress(who.id) if server.processor is not None
                          else None)
    return data


@router.post("/reset/failed", tags=["mounts"])
def reset_failed(who: User, server: State):
    """Try failed files again."""
    count = catalog.retry_failed(server.db, who.name)
    if server.processor is not None:
        server.processor.request_user(who.id)
    return {"requeued": count}


@router.post("/reset/{classifier}", tags=["mounts"])
def reset_classifier(classifier: Annotated[str, Path(pattern="^[a-z]{1,32}$")], who: User,
                     server: State) -> dict:
    """Remove what one classifier found in your files; it is done again."""
    try:
        removed = catalog.reset_tags(server.db, who.name, classifier)
    except catalog.NotFound as exc:
        raise catalog.NotFound(str(exc)) from exc
    catalog.changed()
    if server.processor is not None:
        server.processor.request_user(who.id)
    return {"classifier": classifier, "tags_removed": removed}


# Routes are matched in order; the reads a busy server answers most go first (matching
# every route costs more than some of these queries).
_HOT = ("/api/people/{person_id}/files", "/api/search", "/api/people", "/api/tags/{tag_id}/files",
        "/api/files", "/api/files/{file_id}", "/api/people/{person_id}", "/api/tags",
        "/api/health")
router.routes.sort(key=lambda route: _HOT.index(route.path) if route.path in _HOT
                   else len(_HOT))
