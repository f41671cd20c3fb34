"""Faces a person draws on a photo (web page and API): found and embedded in a preview
child (server/previews.find_drawn_face, faces/drawn.py), stored like any face, then named
or clustered."""

from __future__ import annotations

import json

from kenning import catalog
from kenning.db import Face, generation
from kenning.faces import people, people_tags
from kenning.faces.drawn import BAD_BOX, box_fits, overlap
from kenning.server import files
from kenning.users import Principal


def add_drawn_face(server, who: Principal, file_id: int,
                   box: tuple[float, float, float, float], name: str | None = None) -> dict:
    """A face in `box` (fractions x, y, width, height of the photo as shown); with `name`
    it is that person's (an existing one or a new one), else clustering places it."""
    if not box_fits(box):
        raise catalog.Refused(BAD_BOX)
    db = server.db
    detail = catalog.file_detail(db, who.id, file_id)
    if detail["kind"] != "image" or not detail["width"]:
        raise catalog.Refused("faces can be drawn on photos that have been read")
    width, height = detail["width"], detail["height"]
    shown = (box[0] * width, box[1] * height, box[2] * width, box[3] * height)
    for face in detail["faces"]:
        if overlap(tuple(face["box"]), shown) >= 0.5:
            raise catalog.Refused(f"face {face['id']} is already there")
    root, raw, _name = files.mount_root(db, who.id, file_id, server.settings.own_paths)
    found = server.previews.drawn_face(who.id, root, raw, box, server.settings.face_embedder,
                                       server.settings.cache_dir, file_id)
    named = bool(name and name.strip())
    try:  # the face and its name in one transaction: a name refused keeps no face
        with db.session() as session:
            generation.bump(session, user_id=who.id)
            face = Face(file_id=file_id, x=found["box"][0], y=found["box"][1],
                        width=found["box"][2], height=found["box"][3],
                        landmarks=json.dumps(found["landmarks"]), score=found["score"],
                        quality=found["quality"], embedding=found["embedding"],
                        model_version=found["model_version"], thumbnail=found["thumbnail"])
            session.add(face)
            session.flush()
            face_id = face.id
            people_tags.refresh(session, [file_id])
            if named:
                people.name_faces(db, who.name, [face_id], name, session=session)
    except people.PeopleError as exc:
        raise catalog.Refused(str(exc)) from exc
    if not named:
        people.cluster_people(db, who.name)
    catalog.changed()
    return catalog.face_detail(db, who.id, face_id)

