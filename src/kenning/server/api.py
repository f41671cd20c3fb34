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
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from kenning import browse, catalog, queries
from kenning.faces import people
from kenning.faces.drawn import BAD_BOX, box_fits
from kenning.pipeline.indexer import FolderError, ensure_mount
from kenning.server import drawing
from kenning.server.deps import Admin, State, User, client_address
from kenning.server.files import original_response, thumbnail_response
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

Id = Annotated[int, Path(ge=1, le=catalog.MAX_ID)]
AnId = Annotated[int, Field(ge=1, le=catalog.MAX_ID)]
# Text from a client: no NUL character (PostgreSQL's text cannot hold one).
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
Limit = Annotated[int, Query(ge=1, le=catalog.MAX_PAGE)]
After = Annotated[int, Query(ge=0, le=catalog.MAX_ID, description="Return ids after this one "
                                                        "(the `next` of the previous page).")]
Offset = Annotated[int, Query(ge=0, le=10**7)]
Kind = Annotated[str | None, Query(pattern="^(image|video|audio)$")]


async def _ranked(function, *args):
    """`function(*args)`, which reads the per-user rankings (tags, people, places): on
    the event loop when they are cached, else in a thread (a count over a whole library
    must not hold up everyone's requests)."""
    try:
        with catalog.cached_only():
            return function(*args)
    except catalog.Uncached:
        return await anyio.to_thread.run_sync(function, *args)


def _page(page: catalog.Page) -> Response:
    """A page of results, serialised at once (FastAPI's generic encoder walks every value
    and costs more than the query)."""
    return Response(page.as_json(), media_type="application/json")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TagIn(Strict):
    tag: Text = Field(min_length=1, max_length=100)


class PersonPatch(Strict):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    hidden: bool | None = None


class FacesIn(Strict):
    faces: list[AnId] = Field(min_length=1, max_length=1000)


class NewPerson(FacesIn):
    name: Text | None = Field(default=None, min_length=1, max_length=200)


class MergeIn(Strict):
    others: list[AnId] = Field(min_length=1, max_length=1000)


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


def _people_call(function, *args):
    try:
        result = function(*args)
    except people.PeopleError as exc:
        raise catalog.people_error(exc) from exc
    catalog.changed()
    return result


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
    return _page(catalog.list_files(server.db, who.id, limit, after, kind, mount))


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
    return _page(await _ranked(catalog.list_tags, server.db, who.id, limit, offset, prefix))


@router.get("/tags/{tag_id}", tags=["tags"])
async def tag(tag_id: Id, who: User, server: State):
    return catalog.get_tag(server.db, who.id, tag_id)


@router.get("/tags/{tag_id}/files", tags=["tags"])
async def tag_files(tag_id: Id, who: User, server: State, limit: Limit = 100,
              after: After = 0) -> dict:
    return _page(catalog.tag_files(server.db, who.id, tag_id, limit, after, raw=True))


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
    return _page(catalog.search(server.db, who.id, list(tag), list(person), date_from, date_to,
                          place, kind, limit, after, raw=True))


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
        return _page(browse.timeline(server.db, who.id, limit, before))
    except catalog.Refused as exc:
        raise HTTPException(422, str(exc)) from exc


@router.get("/folders/{mount_id}", tags=["browse"])
def folder(mount_id: Id, who: User, server: State,
           path: Annotated[str, Query(max_length=4096)] = "", limit: Limit = 100,
           offset: Offset = 0) -> Response:
    """A folder of a mount: its subfolders (with the number of files below each) and a
    page of its files by name."""
    listing = browse.folder(server.db, who.id, mount_id, path, limit, offset)
    listing["files"] = listing["files"].as_dict()
    return Response(json.dumps(listing, default=str), media_type="application/json")


@router.get("/places", tags=["browse"])
async def places(who: User, server: State) -> list[dict]:
    """Countries, the most photographed first, with their places."""
    return await _ranked(browse.places, server.db, who.id)


@router.get("/suggest", tags=["browse"])
async def suggest(who: User, server: State,
                  q: Annotated[str, Query(max_length=200, description="What is typed")] = ""
                  ) -> dict:
    """Tags and named people that start with (then contain) `q`, the most used first."""
    return await _ranked(browse.suggest, server.db, who.id, q)


# People and faces ----------------------------------------------------------------------


@router.get("/people", tags=["people"])
async def people_list(who: User, server: State, limit: Limit = 100, offset: Offset = 0,
                hidden: bool = False) -> dict:
    """People, named first, then by number of faces."""
    return _page(await _ranked(catalog.list_people, server.db, who.id, limit, offset, hidden,
                               True))


@router.post("/people", tags=["people"], status_code=201)
def people_new(body: NewPerson, who: User, server: State):
    """A new person from some faces (splitting them off wherever they were)."""
    return _people_call(people.move_faces, server.db, who.name, body.faces, None, body.name)


@router.get("/people/{person_id}", tags=["people"])
async def person(person_id: Id, who: User, server: State):
    return catalog.get_person(server.db, who.id, person_id)


@router.patch("/people/{person_id}", tags=["people"])
def person_patch(person_id: Id, body: PersonPatch, who: User, server: State):
    """Rename and/or hide a person."""
    catalog.get_person(server.db, who.id, person_id)
    if body.name is not None:
        _people_call(people.name_person, server.db, who.name, str(person_id), body.name)
    if body.hidden is not None:
        _people_call(people.hide_person, server.db, who.name, str(person_id), body.hidden)
    return catalog.get_person(server.db, who.id, person_id)


@router.delete("/people/{person_id}", tags=["people"])
def person_delete(person_id: Id, who: User, server: State):
    """Dissolve a person: their faces become unassigned."""
    return _people_call(people.dissolve_person, server.db, who.name, str(person_id))


@router.post("/people/{person_id}/merge", tags=["people"])
def person_merge(person_id: Id, body: MergeIn, who: User, server: State):
    """Merge the `others` into this person."""
    catalog.get_person(server.db, who.id, person_id)
    return _people_call(people.merge_people, server.db, who.name, str(person_id),
                        [str(o) for o in body.others])


@router.post("/people/{person_id}/faces", tags=["people"])
def person_add_faces(person_id: Id, body: FacesIn, who: User, server: State):
    """Put faces into this person ("this is X"); clustering keeps them there."""
    catalog.get_person(server.db, who.id, person_id)
    return _people_call(people.move_faces, server.db, who.name, body.faces, str(person_id))


@router.delete("/people/{person_id}/faces/{face_id}", tags=["people"])
def person_remove_face(person_id: Id, face_id: Id, who: User, server: State):
    """Take a face out of this person; it never goes back in."""
    face = catalog.face_detail(server.db, who.id, face_id)
    if face["person"] != person_id:
        raise catalog.NotFound(f"face {face_id} is not in person {person_id}")
    return _people_call(people.remove_faces, server.db, who.name, [face_id])


@router.get("/people/{person_id}/faces", tags=["people"])
async def person_faces(person_id: Id, who: User, server: State, limit: Limit = 100,
                 after: After = 0) -> dict:
    """A person's faces with the file each is in."""
    return _page(catalog.person_faces(server.db, who.id, person_id, limit, after))


@router.get("/people/{person_id}/files", tags=["people"])
async def person_files(person_id: Id, who: User, server: State, limit: Limit = 100,
                 after: After = 0) -> dict:
    return _page(catalog.search(server.db, who.id, people=[person_id], limit=limit,
                                after=after, raw=True))


@router.get("/faces/unassigned", tags=["people"])
def unassigned(who: User, server: State, limit: Limit = 100):
    """Faces in no person, best first, each with the nearest people as suggestions."""
    if find_user(server.db, who.name) is None:
        return []
    return _people_call(people.unassigned_faces, server.db, who.name, 3, limit)


@router.put("/faces/{face_id}/not-a-face", tags=["people"])
def not_a_face(face_id: Id, who: User, server: State):
    """This is not a face (a dog, a statue, a pattern): out of its person, never clustered
    or suggested again, also after the photo is processed again."""
    return _people_call(people.mark_not_faces, server.db, who.name, [face_id])


@router.delete("/faces/{face_id}/not-a-face", tags=["people"])
def a_face_after_all(face_id: Id, who: User, server: State):
    """It is a face after all: unassigned again."""
    return _people_call(people.mark_not_faces, server.db, who.name, [face_id], True)


@router.get("/faces/not-faces", tags=["people"])
def not_faces(who: User, server: State, limit: Limit = 100):
    """What you said are not faces, the latest first."""
    return {"items": people.not_faces(server.db, who.name, limit)}


@router.get("/faces/{face_id}", tags=["people"])
async def face(face_id: Id, who: User, server: State):
    return catalog.face_detail(server.db, who.id, face_id)


@router.api_route("/faces/{face_id}/thumbnail", methods=["GET", "HEAD"], tags=["people"],
                  response_class=FileResponse)
def face_thumbnail(face_id: Id, who: User, server: State) -> FileResponse:
    return thumbnail_response(server.db, who.id, face_id, server.settings.cache_dir)


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
    data = queries.status(server.db, who.name)
    data["failed_files"] = queries.failed_files(server.db, who.name, limit=failed_limit,
                                                offset=failed_offset)
    data["failed_total"] = queries.count_failed(server.db, who.name)
    following = failed_offset + len(data["failed_files"])
    data["failed_next"] = following if following < data["failed_total"] else None
    data["processing"] = (server.processor.progress(who.id) if server.processor is not None
                          else None)
    return data


@router.post("/reset/failed", tags=["mounts"])
def reset_failed(who: User, server: State):
    """Try failed files again."""
    count = queries.retry_failed(server.db, who.name)
    if server.processor is not None:
        server.processor.request_user(who.id)
    return {"requeued": count}


@router.post("/reset/{classifier}", tags=["mounts"])
def reset_classifier(classifier: Annotated[str, Path(pattern="^[a-z]{1,32}$")], who: User,
                     server: State) -> dict:
    """Remove what one classifier found in your files; it is done again."""
    try:
        removed = queries.reset_tags(server.db, who.name, classifier)
    except queries.NotFound as exc:
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
