"""The web UI's pages of one file: its page, its preview and grid thumbnail (rendered
in child processes, kept in the cache folder), faces drawn on it, its tags."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import anyio
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import Response

from kenning import catalog
from kenning.server import drawing, files, previewcache, previews
from kenning.server.deps import ServerState
from kenning.server.web import (
    Csrf,
    _back,
    _checked,
    _id,
    _missing_models,
    _page,
    _user,
    state,
)

router = APIRouter(include_in_schema=False)


@router.get("/files/{file_id}")
def file_page(request: Request, file_id: int):
    who = _user(request)
    detail = catalog.file_detail(state(request).db, who.id, _id(file_id))
    named = [p for p in catalog.list_people(state(request).db, who.id, catalog.MAX_PAGE,
                                            0).items if p["name"]]
    near = catalog.neighbours(state(request).db, who.id, detail["id"])
    missing = _missing_models(request) if detail.get("kind") == "video" else []
    return _page(request, "file.html", who, file=detail, named=named, near=near,
                 missing=missing)


@router.api_route("/files/{file_id}/preview", methods=["GET", "HEAD"])
async def file_preview(request: Request, file_id: int):
    """A JPEG of the photo for the page (any format Kenning reads, turned upright),
    decoded in a child process (server/previews.py) and kept in the cache folder."""
    maker = state(request).previews
    return await _rendered(request, file_id, "previews", "jpg", "image/jpeg",
                           lambda root, raw, _kind: maker.preview_job(root, raw))


@router.api_route("/files/{file_id}/thumbnail", methods=["GET", "HEAD"])
async def file_thumbnail(request: Request, file_id: int,
                         h: Annotated[int, Query(description="240 or 480 pixels high")] = 240):
    """A WebP of the photo, or of a video's poster frame, `h` pixels high at its own
    aspect ratio: the tiles of the timeline, folders and search."""
    if h not in previews.THUMB_HEIGHTS:
        raise HTTPException(422, f"h is one of {previews.THUMB_HEIGHTS}")
    maker = state(request).previews
    return await _rendered(request, file_id, f"thumbnails/{h}", "webp", "image/webp",
                           lambda root, raw, kind: maker.thumbnail_job(root, raw, h, kind))


async def _rendered(request: Request, file_id: int, folder: str, suffix: str,
                    media_type: str, job) -> Response:
    """An image made from a file by `job` (a render in a child process), kept in the
    cache folder under a key of the file's identity and modification, so it is made once
    per change; a render that failed is remembered the same way. Waiting for the render
    holds no thread: other requests go on meanwhile."""
    who = _user(request)
    server = state(request)
    found = await anyio.to_thread.run_sync(_cached_render, server, who.id, _id(file_id),
                                           folder, suffix)
    if isinstance(found, tuple) and len(found) == 2:  # read already (files.read_render)
        return files.render_response(*found, media_type, request.headers.get(
            "if-none-match", ""), _render_cache_control(request))
    if isinstance(found, int):
        return _render_response(request, found, media_type)
    root, raw, kind, target = found
    function, args = job(root, raw, kind)
    future = server.previews.render_to(who.id, target, function, args)
    try:
        await asyncio.shield(asyncio.wrap_future(future))
    except previews.RenderFailed as exc:
        raise catalog.NotFound(f"no preview: {exc}") from exc
    fd = await anyio.to_thread.run_sync(files.open_cached, server.settings.cache_dir,
                                        str(target.relative_to(server.settings.cache_dir)))
    return _render_response(request, fd, media_type)


def _cached_render(server: ServerState, user_id: int, file_id: int, folder: str,
                   suffix: str):
    """(In a thread.) The cached render (its bytes and identity, or its open descriptor
    if it is large); else (mount, path there, kind, where the render goes). NotFound when
    the file cannot have one, or failed before."""
    root, raw, kind, fd = files.open_for_render(server.db, user_id, file_id,
                                                server.settings.own_paths)
    try:
        if kind not in ("image", "video"):
            raise catalog.NotFound(f"file {file_id} is not a photo or a video")
        key = previews.cache_key(root, raw, fd)
    finally:
        os.close(fd)
    relative = previewcache.relative_path(folder, file_id, key, suffix)
    try:
        fd = files.open_cached(server.settings.cache_dir, relative)
    except catalog.NotFound:
        pass
    else:
        previewcache.seen(fd)
        return files.read_render(fd) or fd
    target = server.settings.cache_dir / relative
    reason = previews.remembered_failure(target)
    if reason is not None:
        raise catalog.NotFound(f"no preview: {reason}")
    return root, raw, kind, target


def _render_cache_control(request: Request) -> str:
    # The pages ask for it with the file's modification time in the URL (?v=): a changed
    # file is a new URL, so the browser may keep this one.
    return f"private, max-age={30 * 86400 if request.query_params.get('v') else 3600}"


def _render_response(request: Request, fd: int, media_type: str) -> files.OpenedFileResponse:
    return files.OpenedFileResponse(fd, media_type,
                                    headers={"Cache-Control": _render_cache_control(request)})


@router.post("/files/{file_id}/faces")
def file_draw_face(request: Request, file_id: int, csrf: Csrf,
                   x: Annotated[float, Form(ge=0, le=100)],
                   y: Annotated[float, Form(ge=0, le=100)],
                   width: Annotated[float, Form(gt=0, le=100)],
                   height: Annotated[float, Form(gt=0, le=100)],
                   name: Annotated[str, Form(max_length=200)] = ""):
    """A face the detector missed: a box in percent of the photo, and maybe who it is."""
    who = _checked(request, csrf)
    try:
        face = drawing.add_drawn_face(state(request), who, _id(file_id),
                                      (x / 100, y / 100, width / 100, height / 100), name)
    except catalog.Refused as exc:
        return _back(f"/files/{file_id}", error=str(exc), request=request)
    who_is_it = face["name"] or ("a person" if face["person"] else "no one yet")
    return _back(f"/files/{file_id}", f"face added ({who_is_it})", request=request)


@router.post("/files/{file_id}/tags")
def file_add_tag(request: Request, file_id: int, csrf: Csrf,
                 tag: Annotated[str, Form(max_length=100)]):
    who = _checked(request, csrf)
    try:
        catalog.add_tag(state(request).db, who.id, _id(file_id), tag)
    except catalog.Refused as exc:
        return _back(f"/files/{file_id}", error=str(exc), request=request)
    return _back(f"/files/{file_id}", "tag added", request=request)


@router.post("/files/{file_id}/tags/{tag_id}/remove")
def file_remove_tag(request: Request, file_id: int, tag_id: int, csrf: Csrf):
    who = _checked(request, csrf)
    catalog.remove_tag(state(request).db, who.id, _id(file_id), _id(tag_id))
    return _back(f"/files/{file_id}", "tag removed", request=request)
