"""XMP sidecars over the API: what was exported and imported, the export setting, and
an export now. A user may write sidecars to Kenning's own folder for them or beside
their own originals; never to a folder they name (that would let one user write
anywhere the server can)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict

from kenning.server.deps import State, User
from kenning.xmp import export
from kenning.xmp.status import xmp_status

router = APIRouter(prefix="/api")


class XmpSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")
    place: Literal["folder", "beside"] = "folder"
    naming: Literal["full", "base"] = "full"
    keep_current: bool = False


@router.get("/xmp", tags=["xmp"])
def status(who: User, server: State):
    """Sidecars exported, names and keywords imported, conflicts and unreadable XMP."""
    return xmp_status(server.db, who.id)


@router.put("/xmp/setting", tags=["xmp"])
def set_setting(body: XmpSetting, who: User, server: State):
    """Where sidecars go and whether `kenning serve` keeps them current."""
    destination = export.Destination(place=body.place, naming=body.naming,
                                     keep_current=body.keep_current)
    export.save_setting(server.db, who.id, destination)
    return xmp_status(server.db, who.id)


@router.post("/xmp/export", tags=["xmp"])
def export_now(who: User, server: State, body: XmpSetting | None = None):
    """Write the sidecars that changed now (with the saved setting, or this one, saved)."""
    destination = export.setting(server.db, who.id) or export.Destination()
    if body is not None:  # (a folder given on the command line is kept otherwise)
        destination = export.Destination(place=body.place, naming=body.naming,
                                         keep_current=body.keep_current)
    try:
        report = export.export_xmp(server.settings, server.db, who.name, destination)
        export.save_setting(server.db, who.id, destination)
    except export.ExportError as exc:
        raise HTTPException(422, str(exc)) from exc
    return report.as_dict()
