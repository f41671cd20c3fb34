"""The status page's sidecar form: where XMP sidecars go, keeping them current, and an
export now (server/api_xmp.py is the same over the API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from kenning.server.web import Csrf, _back, _checked, state
from kenning.xmp import export

router = APIRouter(include_in_schema=False)


@router.post("/xmp")
def xmp_form(request: Request, csrf: Csrf,
             place: Annotated[str, Form(pattern="^(folder|beside)$")] = "folder",
             naming: Annotated[str, Form(pattern="^(full|base)$")] = "full",
             keep_current: Annotated[str, Form(max_length=10)] = "",
             action: Annotated[str, Form(pattern="^(save|export)$")] = "save"):
    who = _checked(request, csrf)
    server = state(request)
    saved = export.setting(server.db, who.id)
    destination = export.Destination(place=place, naming=naming,
                                     folder=saved.folder if saved and place == "folder"
                                     else None, keep_current=bool(keep_current))
    try:
        export.save_setting(server.db, who.id, destination)
        if action == "save":
            return _back("/status", "sidecar setting saved", request=request)
        report = export.export_xmp(server.settings, server.db, who.name, destination)
    except export.ExportError as exc:
        return _back("/status", error=str(exc), request=request)
    text = f"{report.written} sidecar(s) written, {report.unchanged} unchanged"
    if report.failed:
        text += f", {len(report.failed)} not written"
    return _back("/status", text, request=request)
