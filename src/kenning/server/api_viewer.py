"""What the photo viewer (static/viewer.js) and the timeline's date scrubber call besides
the REST API's files, tags and people routes: naming a face in one step (an existing
person of that name, or a new one), and the months that have photos."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, StringConstraints

from kenning import catalog
from kenning.faces import people
from kenning.server.deps import State, User

router = APIRouter(prefix="/api")


class FaceName(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(pattern=r"^[^\x00]*$", min_length=1,
                                           max_length=200)]


@router.get("/timeline/months", tags=["browse"])
def timeline_months(who: User, server: State) -> list[dict]:
    """Every month with photos or videos, newest first, with its count and the `before`
    cursor that starts the timeline there (`/api/timeline?before=`)."""
    return catalog.months(server.db, who.id)


@router.post("/faces/{face_id}/name", tags=["people"])
def name_face(face_id: int, body: FaceName, who: User, server: State):
    """This face is the person called `name`: yours of that name, or a new one."""
    if not 1 <= face_id <= catalog.MAX_ID:
        raise catalog.NotFound(f"no face {face_id}")
    catalog.face_detail(server.db, who.id, face_id)  # 404 unless it is yours
    try:
        result = people.name_faces(server.db, who.name, [face_id], body.name)
    except people.PeopleError as exc:
        raise HTTPException(422, str(exc)) from exc
    catalog.changed()
    return result
