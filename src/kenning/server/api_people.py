"""The REST API's people and faces: list, name, hide, merge, split and dissolve people,
move faces between them, unassigned faces with suggestions, "not a face"."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import Field

from kenning import catalog
from kenning.faces import people
from kenning.server.api_types import (
    After,
    AnId,
    Id,
    Limit,
    Offset,
    Strict,
    Text,
    page_response,
    people_call,
    ranked,
)
from kenning.server.deps import State, User
from kenning.server.files import thumbnail_response
from kenning.users import find_user

router = APIRouter(prefix="/api")


class PersonPatch(Strict):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    hidden: bool | None = None


class FacesIn(Strict):
    faces: list[AnId] = Field(min_length=1, max_length=1000)


class NewPerson(FacesIn):
    name: Text | None = Field(default=None, min_length=1, max_length=200)


class MergeIn(Strict):
    others: list[AnId] = Field(min_length=1, max_length=1000)



@router.get("/people", tags=["people"])
async def people_list(who: User, server: State, limit: Limit = 100, offset: Offset = 0,
                hidden: bool = False) -> dict:
    """People, named first, then by number of faces."""
    return page_response(await ranked(catalog.list_people, server.db, who.id, limit, offset, hidden,
                               True))


@router.post("/people", tags=["people"], status_code=201)
def people_new(body: NewPerson, who: User, server: State):
    """A new person from some faces (splitting them off wherever they were)."""
    return people_call(people.move_faces, server.db, who.name, body.faces, None, body.name)


@router.get("/people/{person_id}", tags=["people"])
async def person(person_id: Id, who: User, server: State):
    return catalog.get_person(server.db, who.id, person_id)


@router.patch("/people/{person_id}", tags=["people"])
def person_patch(person_id: Id, body: PersonPatch, who: User, server: State):
    """Rename and/or hide a person."""
    catalog.get_person(server.db, who.id, person_id)
    if body.name is not None:
        people_call(people.name_person, server.db, who.name, str(person_id), body.name)
    if body.hidden is not None:
        people_call(people.hide_person, server.db, who.name, str(person_id), body.hidden)
    return catalog.get_person(server.db, who.id, person_id)


@router.delete("/people/{person_id}", tags=["people"])
def person_delete(person_id: Id, who: User, server: State):
    """Dissolve a person: their faces become unassigned."""
    return people_call(people.dissolve_person, server.db, who.name, str(person_id))


@router.post("/people/{person_id}/merge", tags=["people"])
def person_merge(person_id: Id, body: MergeIn, who: User, server: State):
    """Merge the `others` into this person."""
    catalog.get_person(server.db, who.id, person_id)
    return people_call(people.merge_people, server.db, who.name, str(person_id),
                        [str(o) for o in body.others])


@router.post("/people/{person_id}/faces", tags=["people"])
def person_add_faces(person_id: Id, body: FacesIn, who: User, server: State):
    """Put faces into this person ("this is X"); clustering keeps them there."""
    catalog.get_person(server.db, who.id, person_id)
    return people_call(people.move_faces, server.db, who.name, body.faces, str(person_id))


@router.delete("/people/{person_id}/faces/{face_id}", tags=["people"])
def person_remove_face(person_id: Id, face_id: Id, who: User, server: State):
    """Take a face out of this person; it never goes back in."""
    face = catalog.face_detail(server.db, who.id, face_id)
    if face["person"] != person_id:
        raise catalog.NotFound(f"face {face_id} is not in person {person_id}")
    return people_call(people.remove_faces, server.db, who.name, [face_id])


@router.get("/people/{person_id}/faces", tags=["people"])
async def person_faces(person_id: Id, who: User, server: State, limit: Limit = 100,
                 after: After = 0) -> dict:
    """A person's faces with the file each is in."""
    return page_response(catalog.person_faces(server.db, who.id, person_id, limit, after))


@router.get("/people/{person_id}/files", tags=["people"])
async def person_files(person_id: Id, who: User, server: State, limit: Limit = 100,
                 after: After = 0) -> dict:
    return page_response(catalog.search(server.db, who.id, people=[person_id], limit=limit,
                                after=after, raw=True))


@router.get("/faces/unassigned", tags=["people"])
def unassigned(who: User, server: State, limit: Limit = 100):
    """Faces in no person, best first, each with the nearest people as suggestions."""
    if find_user(server.db, who.name) is None:
        return []
    return people_call(people.unassigned_faces, server.db, who.name, 3, limit)


@router.put("/faces/{face_id}/not-a-face", tags=["people"])
def not_a_face(face_id: Id, who: User, server: State):
    """This is not a face (a dog, a statue, a pattern): out of its person, never clustered
    or suggested again, also after the photo is processed again."""
    return people_call(people.mark_not_faces, server.db, who.name, [face_id])


@router.delete("/faces/{face_id}/not-a-face", tags=["people"])
def a_face_after_all(face_id: Id, who: User, server: State):
    """It is a face after all: unassigned again."""
    return people_call(people.mark_not_faces, server.db, who.name, [face_id], True)


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
