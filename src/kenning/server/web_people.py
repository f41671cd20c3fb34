"""The web UI's people pages: the people grid, a person's photos and faces, naming,
merging, hiding, covers, unassigned faces and what are not faces."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse

from kenning import catalog
from kenning.faces import people
from kenning.server.web import (
    Csrf,
    _back,
    _checked,
    _id,
    _page,
    _safe_next,
    _tiles,
    _user,
    state,
    templates,
)

router = APIRouter(include_in_schema=False)


# People --------------------------------------------------------------------------------


@router.get("/people")
def people_page(request: Request, offset: Annotated[int, Query(ge=0, le=10**7)] = 0,
                hidden: bool = False):
    who = _user(request)
    page = catalog.list_people(state(request).db, who.id, 120, offset, hidden)
    return _page(request, "people.html", who, page=page, offset=offset, hidden=hidden)


@router.get("/people/{person_id}")
def person_page(request: Request, person_id: int,
                after: Annotated[int, Query(ge=0, le=catalog.MAX_ID)] = 0,
                tab: Annotated[str, Query(pattern="^(photos|faces)$")] = "photos",
                fragment: bool = False):
    """A person: their photos in the grid, or (`tab` faces) their faces to correct."""
    who = _user(request)
    db = state(request).db
    person = catalog.get_person(db, who.id, _id(person_id))
    if fragment and tab == "photos":  # the next tiles, for infinite scroll
        page = catalog.search(db, who.id, people=[person["id"]], limit=120, after=after)
        more = f"/people/{person['id']}?after={page.next}" if page.next else None
        return templates.TemplateResponse(request, "_tiles.html", _tiles(db, page.items, more))
    listed = catalog.list_people(db, who.id, catalog.MAX_PAGE, 0, True).items
    others = [p for p in listed if p["id"] != person["id"]]
    cover = next((p["cover_face"] for p in listed if p["id"] == person["id"]), None)
    context = {"person": person, "others": others, "cover": cover, "tab": tab,
               "named": [p for p in listed if p["name"]]}
    if tab == "faces":
        context["faces"] = catalog.person_faces(db, who.id, person["id"], 120, after)
    else:
        page = catalog.search(db, who.id, people=[person["id"]], limit=120, after=after)
        context.update(_tiles(db, page.items, f"/people/{person['id']}?after={page.next}"
                              if page.next else None))
    return _page(request, "person.html", who, **context)


def _people_action(request: Request, back: str, function, *args) -> RedirectResponse:
    try:
        function(*args)
    except people.NoSuchPerson as exc:
        raise catalog.NotFound(str(exc)) from exc
    except people.PeopleError as exc:
        return _back(back, error=str(exc), request=request)
    catalog.changed()
    return _back(back, "saved", request=request)


@router.post("/people/{person_id}/rename")
def person_rename(request: Request, person_id: int, csrf: Csrf,
                  name: Annotated[str, Form(max_length=200)],
                  back: Annotated[str, Form(max_length=20)] = ""):
    """Name a person; from the people grid (`back` "people"), back to the grid."""
    who = _checked(request, csrf)
    person = catalog.get_person(state(request).db, who.id, _id(person_id))
    where = "/people" if back == "people" else f"/people/{person['id']}"
    return _people_action(request, where, people.name_person,
                          state(request).db, who.name, str(person["id"]), name)


@router.post("/people/{person_id}/merge")
def person_merge(request: Request, person_id: int, csrf: Csrf,
                 other: Annotated[int, Form(ge=1, le=catalog.MAX_ID)]):
    who = _checked(request, csrf)
    db = state(request).db
    person = catalog.get_person(db, who.id, _id(person_id))
    catalog.get_person(db, who.id, other)
    return _people_action(request, f"/people/{person['id']}", people.merge_people, db,
                          who.name, str(person["id"]), [str(other)])


@router.post("/people/{person_id}/hide")
def person_hide(request: Request, person_id: int, csrf: Csrf,
                hidden: Annotated[bool, Form()] = True):
    who = _checked(request, csrf)
    db = state(request).db
    person = catalog.get_person(db, who.id, _id(person_id))
    return _people_action(request, f"/people/{person['id']}", people.hide_person, db,
                          who.name, str(person["id"]), hidden)


@router.post("/people/{person_id}/faces/{face_id}/remove")
def person_remove_face(request: Request, person_id: int, face_id: int, csrf: Csrf):
    who = _checked(request, csrf)
    db = state(request).db
    face = catalog.face_detail(db, who.id, _id(face_id))
    if face["person"] != _id(person_id):
        raise catalog.NotFound(f"face {face_id} is not in person {person_id}")
    return _people_action(request, f"/people/{person_id}?tab=faces", people.remove_faces, db,
                          who.name, [face_id])


@router.post("/people/{person_id}/cover")
def person_cover(request: Request, person_id: int, csrf: Csrf,
                 face: Annotated[int, Form(ge=1, le=catalog.MAX_ID)]):
    who = _checked(request, csrf)
    try:
        catalog.set_cover(state(request).db, who.id, _id(person_id), face)
    except catalog.Refused as exc:
        return _back(f"/people/{person_id}?tab=faces", error=str(exc), request=request)
    return _back(f"/people/{person_id}?tab=faces", "cover chosen", request=request)


FACES_AT_ONCE = 500  # faces chosen on a people page (a form of at most 1,000 fields)


@router.post("/faces/bulk")
def faces_bulk(request: Request, csrf: Csrf,
               face: Annotated[list[int], Form(max_length=FACES_AT_ONCE)],
               action: Annotated[str, Form(pattern="^(assign|remove|notface)$")] = "assign",
               name: Annotated[str, Form(max_length=200)] = "",
               person: Annotated[int | None, Form(ge=1, le=catalog.MAX_ID)] = None,
               next: Annotated[str, Form(max_length=2000)] = "/unassigned"):  # noqa: A002
    """Say who several faces are (a person, or a name: an existing person or a new one),
    take them out of their person, or say they are not faces."""
    who = _checked(request, csrf)
    db = state(request).db
    back = _safe_next(next)
    for face_id in face:
        catalog.face_detail(db, who.id, _id(face_id))
    if action == "remove":
        return _people_action(request, back, people.remove_faces, db, who.name, face)
    if action == "notface":
        return _people_action(request, back, people.mark_not_faces, db, who.name, face)
    if person is not None:
        catalog.get_person(db, who.id, person)
        return _people_action(request, back, people.move_faces, db, who.name, face,
                              str(person))
    if not name.strip():
        return _back(back, error="type a name", request=request)
    return _people_action(request, back, people.name_faces, db, who.name, face, name)


@router.get("/unassigned")
def unassigned_page(request: Request):
    """Faces in no person, grouped by the person each most likely is (then the others),
    each linking to its photo."""
    who = _user(request)
    db = state(request).db
    faces = people.unassigned_faces(db, who.name, 3, 300) if catalog.list_mounts(
        db, who.id) else []
    listed = catalog.list_people(db, who.id, catalog.MAX_PAGE, 0, True).items
    named = [p for p in listed if p["name"]]
    groups: dict[int | None, list[dict]] = {}
    for face in faces:
        likely = face["suggestions"][0]["id"] if face["suggestions"] else None
        groups.setdefault(likely, []).append(face)
    ranked = sorted(groups.items(), key=lambda g: (g[0] is None, -len(g[1])))
    names = {p["id"]: p["name"] for p in listed}
    # "All N are this person" only where every face is close to them (a dog and five
    # strangers merely suggested are each decided alone).
    sure = {likely for likely, members in groups.items() if likely is not None and all(
        f["suggestions"][0]["similarity"] >= people.CLOSE for f in members)}
    return _page(request, "unassigned.html", who, groups=ranked, names=names, named=named,
                 sure=sure, total=len(faces), not_faces=len(people.not_faces(db, who.name)))


@router.get("/not-faces")
def not_faces_page(request: Request):
    who = _user(request)
    return _page(request, "not_faces.html", who,
                 faces=people.not_faces(state(request).db, who.name))


@router.post("/faces/{face_id}/not-a-face")
def face_not_a_face(request: Request, face_id: int, csrf: Csrf,
                    undo: Annotated[bool, Form()] = False,
                    next: Annotated[str, Form(max_length=2000)] = "/unassigned"):  # noqa: A002
    """Not a face (a dog, a statue, a pattern), or, with `undo`, a face after all."""
    who = _checked(request, csrf)
    db = state(request).db
    catalog.face_detail(db, who.id, _id(face_id))
    return _people_action(request, _safe_next(next), people.mark_not_faces, db, who.name,
                          [face_id], undo)


@router.post("/faces/{face_id}/assign")
def face_assign(request: Request, face_id: int, csrf: Csrf,
                person: Annotated[int | None, Form(ge=1, le=catalog.MAX_ID)] = None,
                name: Annotated[str | None, Form(max_length=200)] = None,
                next: Annotated[str, Form(max_length=2000)] = "/unassigned"):  # noqa: A002
    who = _checked(request, csrf)
    db = state(request).db
    catalog.face_detail(db, who.id, _id(face_id))
    back = _safe_next(next)
    if person is not None:
        catalog.get_person(db, who.id, person)
        return _people_action(request, back, people.move_faces, db, who.name, [face_id],
                              str(person))
    if name and name.strip():
        return _people_action(request, back, people.name_faces, db, who.name, [face_id], name)
    return _back(back, error="choose a person or type a name", request=request)
