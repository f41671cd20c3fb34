"""A user's library by stable ids: what the REST API, WebDAV and the web UI show.

Every function takes the user's id and only ever sees that user's mounts: an id of
another user's file, face, person or tag is `NotFound`, exactly like an id that does
not exist. Lists of files are paged by id (`after`); ranked lists (people, tags) by
offset. Counts per person and per tag are kept for a few seconds (they are a full
scan of the user's faces or tags) and dropped at once when anything changes here.
"""

from __future__ import annotations

import contextvars
import json
import os
import threading
import time
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select

from kenning import tagnames
from kenning.db import (
    Database,
    Face,
    FaceRejection,
    File,
    FileLabel,
    FilePlace,
    FileTag,
    Mount,
    Person,
    Tag,
    TagRejection,
    WorkItem,
    generation,
)
from kenning.faces.drawn import is_drawn
from kenning.faces.people import NoSuchPerson, PeopleError
from kenning.media.confined import MountReplaced, MountRoot, open_root
from kenning.names import BadName, clean, fold, like_pattern

MAX_PAGE = 500
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns in PostgreSQL: larger ones never exist


def as_id(value) -> int | None:
    """An id from what a client sent (an int, or ASCII digits), or None when it cannot be
    one: out of range for an id column (a database would refuse it) or not a number."""
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()) or len(value) > 10:
            return None
        value = int(value)
    return value if isinstance(value, int) and 1 <= value <= MAX_ID else None
GENERATION_SECONDS = 1.0
USER_TAG = "user"


class NotFound(LookupError):
    """No such id for this user."""


class Refused(ValueError):
    """A change that cannot be made (bad value, or it would break a rule)."""


@dataclass(frozen=True)
class Page:
    items: list
    next: int | None
    raw: bool = False  # items are JSON texts made by the database

    def as_dict(self) -> dict:
        items = [json.loads(item) for item in self.items] if self.raw else self.items
        return {"items": items, "next": self.next}

    def as_json(self) -> str:
        if not self.raw:
            return json.dumps(self.as_dict())
        return f'{{"items":[{",".join(self.items)}],"next":{json.dumps(self.next)}}}'



class _Counts:
    """Per-user rankings, recomputed only when what that user sees changed: the library's
    generation marker or their own moved (db/generation.py; any process's change moves
    them). The markers are read at most every GENERATION_SECONDS per user, so a busy
    server reads one row a second, not one a request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple, tuple[str, object]] = {}
        self._computing: dict[tuple, threading.Lock] = {}
        self._markers: dict[int, tuple[float, str]] = {}

    def changed(self) -> None:
        with self._lock:
            self._markers.clear()

    def marker(self, db: Database, user_id: int) -> str:
        """What the user sees, as a value that changes when it does (at most
        GENERATION_SECONDS late for another process's change)."""
        return self._current(db, user_id)

    def _current(self, db: Database, user_id: int) -> str:
        now = time.monotonic()
        with self._lock:
            known = self._markers.get(user_id)
        if known is not None and known[0] > now:
            return known[1]
        with db.session() as session:
            value = generation.current_for(session, user_id)
        with self._lock:
            self._markers[user_id] = (now + GENERATION_SECONDS, value)
        return value

    def get(self, db: Database, key: tuple, compute):
        """The value of `compute()` for `key`, whose second part is the user it is for.
        Under `cached_only()`: Uncached rather than computing it."""
        marker = self._current(db, key[1])
        with self._lock:
            entry = self._entries.get(key)
            gate = self._computing.setdefault(key, threading.Lock())
        if entry and entry[0] == marker:
            return entry[1]
        if _cached_only.get():
            raise Uncached(key)
        with gate:  # one computation per key at a time; the others wait for its result
            with self._lock:
                entry = self._entries.get(key)
            if entry and entry[0] == marker:
                return entry[1]
            value = compute()
            with self._lock:
                self._entries[key] = (marker, value)
            return value


class Uncached(Exception):
    """(Under `cached_only`.) A ranking would have to be computed."""


_cached_only: contextvars.ContextVar[bool] = contextvars.ContextVar("cached_only",
                                                                     default=False)


@contextmanager
def cached_only() -> Iterator[None]:
    """Within: rankings are only taken from the cache (else Uncached): an async route
    tries so on the event loop, and computes in a thread only when it must, so that a
    whole-library count never holds up the other requests."""
    token = _cached_only.set(True)
    try:
        yield
    finally:
        _cached_only.reset(token)


counts = _Counts()


def changed() -> None:
    """This process changed the library: read the generation marker again at once."""
    counts.changed()


def _mounts(user_id: int):
    return select(Mount.id).where(Mount.user_id == user_id)


def _limit(limit: int) -> int:
    return max(1, min(MAX_PAGE, int(limit)))


def _ns(moment: datetime) -> int:
    """Nanoseconds since 1970, held within what a 64-bit column stores."""
    return max(-(2**62), min(2**62, int(moment.timestamp() * 1e9)))


def _iso(mtime_ns: int) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC).isoformat(timespec="seconds")


FILE_COLUMNS = (File.id, File.mount_id, File.rel_path, File.kind, File.format, File.size,
                File.width, File.height, File.mtime_ns, File.taken_ns)


def _file_row(file) -> dict:
    """A file as the API shows it, from a File or a row of FILE_COLUMNS."""
    return {"id": file.id, "mount": file.mount_id, "path": file.rel_path,
            "name": os.path.basename(file.rel_path), "kind": file.kind, "format": file.format,
            "size": file.size, "width": file.width, "height": file.height,
            "modified": _iso(file.mtime_ns),
            "taken": None if file.taken_ns is None else _iso(file.taken_ns)}


def _file_page(session, query, limit: int, key=File.id) -> Page:
    """A page of files from a select of FILE_COLUMNS, in the order of `key`."""
    limit = _limit(limit)
    rows = session.execute(query.order_by(key).limit(limit + 1)).all()
    items = [_file_row(row) for row in rows[:limit]]
    return Page(items, items[-1]["id"] if len(rows) > limit else None)


def _owned_file(session, user_id: int, file_id: int) -> File:
    if as_id(file_id) is None:
        raise NotFound(f"no file {file_id}")
    file = session.scalar(select(File).where(File.id == file_id,
                                             File.mount_id.in_(_mounts(user_id))))
    if file is None:
        raise NotFound(f"no file {file_id}")
    return file


# Files ---------------------------------------------------------------------------------


def list_files(db: Database, user_id: int, limit: int = 100, after: int = 0,
               kind: str | None = None, mount_id: int | None = None) -> Page:
    query = select(*FILE_COLUMNS).where(File.mount_id.in_(_mounts(user_id)), File.id > after)
    if kind:
        query = query.where(File.kind == kind)
    if mount_id is not None:
        query = query.where(File.mount_id == mount_id)
    with db.session() as session:
        return _file_page(session, query, limit)


def existing_files(db: Database, file_ids) -> set[int]:
    """Those of these file ids still in the library (any user's)."""
    ids, found = sorted(set(file_ids)), set()
    with db.session() as session:
        for start in range(0, len(ids), 1000):
            found.update(session.scalars(select(File.id).where(
                File.id.in_(ids[start:start + 1000]))))
    return found


def file_kind(db: Database, user_id: int, file_id: int) -> str | None:
    """image, video, audio, or None for a file Kenning cannot use."""
    with db.session() as session:
        return _owned_file(session, user_id, file_id).kind


def findings(session, file_id: int) -> dict:
    """What the classifiers found in a file (for the API here and `kenning tags`):
    tag rows (tag id, name, score, source), raw labels, each classifier's state, the place
    and the faces (with `id`), best first."""
    tags = session.execute(
        select(Tag.id, Tag.name, FileTag.score, FileTag.source).join(Tag)
        .where(FileTag.file_id == file_id).order_by(FileTag.score.desc())).all()
    labels = session.execute(
        select(FileLabel.classifier, FileLabel.label, FileLabel.score)
        .where(FileLabel.file_id == file_id).order_by(FileLabel.score.desc())).all()
    work = session.execute(select(WorkItem.classifier, WorkItem.state, WorkItem.error)
                           .where(WorkItem.file_id == file_id)
                           .order_by(WorkItem.classifier)).all()
    faces = session.execute(
        select(Face.id, Face.x, Face.y, Face.width, Face.height, Face.score, Face.quality,
               Face.person_id, Person.name, Face.assigned_by, Face.not_face,
               Face.not_face_by, Face.model_version)
        .join(Person, Person.id == Face.person_id, isouter=True)
        .where(Face.file_id == file_id).order_by(Face.x)).all()
    place = session.get(FilePlace, file_id)
    return {
        "tag_rows": tags,
        "labels": [{"classifier": c, "label": label, "score": round(s, 4)}
                   for c, label, s in labels],
        "classifiers": [{"classifier": c, "state": st, "error": e} for c, st, e in work],
        "place": None if place is None else {
            k: getattr(place, k) for k in ("latitude", "longitude", "city", "region", "country",
                                           "country_code", "distance_km")},
        "faces": [{"id": f.id, "box": [round(f.x), round(f.y), round(f.width), round(f.height)],
                   "score": round(f.score, 3), "quality": round(f.quality, 3),
                   "person": f.person_id, "name": f.name, "assigned_by": f.assigned_by,
                   "not_face": f.not_face, "not_face_by": f.not_face_by,
                   "drawn": is_drawn(f.model_version)}
                  for f in faces],
    }


def file_detail(db: Database, user_id: int, file_id: int) -> dict:
    with db.session() as session:
        file = _owned_file(session, user_id, file_id)
        found = findings(session, file.id)
        removed = session.scalars(select(Tag.name).join(TagRejection, TagRejection.tag_id == Tag.id)
                                  .where(TagRejection.file_id == file.id)).all()
    merged: dict[int, dict] = {}
    for tag_id, name, score, source in found.pop("tag_rows"):  # one entry per tag
        entry = merged.setdefault(tag_id, {"id": tag_id, "tag": name, "score": round(score, 4),
                                           "sources": []})
        entry["sources"].append(source)
    return _file_row(file) | {"scan_error": file.scan_error, "taken_from": file.taken_from,
                              "camera": file.camera, "lens": file.lens,
                              "tags": list(merged.values()),
                              "removed_tags": sorted(removed)} | found


# Tags ----------------------------------------------------------------------------------


def list_tags(db: Database, user_id: int, limit: int = 100, offset: int = 0,
              prefix: str = "") -> Page:
    def compute():
        with db.session() as session:
            return [{"id": i, "tag": n, "files": c} for i, n, c in session.execute(
                select(Tag.id, Tag.name, func.count(func.distinct(FileTag.file_id)))
                .join(FileTag, FileTag.tag_id == Tag.id)
                .join(File, File.id == FileTag.file_id)
                .where(File.mount_id.in_(_mounts(user_id)))
                .group_by(Tag.id, Tag.name)
                .order_by(func.count(func.distinct(FileTag.file_id)).desc(), Tag.name))]

    rows = counts.get(db, ("tags", user_id), compute)
    if prefix:
        rows = [r for r in rows if r["tag"].lower().startswith(prefix.strip().lower())]
    return _slice(rows, limit, offset)


def _slice(rows: list, limit: int, offset: int) -> Page:
    limit, offset = _limit(limit), max(0, int(offset))
    return Page(rows[offset:offset + limit],
                offset + limit if offset + limit < len(rows) else None)


def get_tag(db: Database, user_id: int, tag_id: int) -> dict:
    """A tag this user has on at least one file."""
    with db.session() as session:
        name = session.scalar(select(Tag.name).where(Tag.id == tag_id, Tag.id.in_(
            select(FileTag.tag_id).join(File, File.id == FileTag.file_id)
            .where(FileTag.tag_id == tag_id, File.mount_id.in_(_mounts(user_id))))))
    if name is None:
        raise NotFound(f"no tag {tag_id}")
    return {"id": tag_id, "tag": name}


def tag_by_name(db: Database, user_id: int, name: str) -> dict:
    """The tag `name` means for this user (their own or shared: kenning.tagnames), if
    they have it on a file."""
    for tag_id in tag_ids_of(db, user_id, name):
        try:
            return get_tag(db, user_id, tag_id)
        except NotFound:
            continue
    raise NotFound(f"no tag {name!r}")


def tag_files(db: Database, user_id: int, tag_id: int, limit: int = 100,
              after: int = 0, raw: bool = False) -> Page:
    get_tag(db, user_id, tag_id)
    return search(db, user_id, tags=[tag_id], limit=limit, after=after, raw=raw)


def add_tag(db: Database, user_id: int, file_id: int, name: str) -> dict:
    try:
        name = clean(name, "a tag", 100)
    except BadName as exc:
        raise Refused(str(exc)) from exc
    with db.session() as session:
        _owned_file(session, user_id, file_id)
        tag = put_tag(db, session, user_id, [file_id], name)
        result = {"id": tag.id, "tag": tag.name}
    changed()
    return result


def put_tag(db: Database, session, user_id: int, file_ids: list[int], name: str) -> Tag:
    """(In the caller's transaction, the files checked to be the user's.) The tag the user
    means by `name` on these files, as the user's own tag; no longer remembered as removed
    from them. Returns the tag."""
    generation.bump(session, user_id=user_id)
    tag = tagnames.tag_to_add(db, session, user_id, name)
    for start in range(0, len(file_ids), 2_000):  # well under any limit on parameters
        part = file_ids[start:start + 2_000]
        session.execute(delete(TagRejection).where(TagRejection.file_id.in_(part),
                                                   TagRejection.tag_id == tag.id))
        have = set(session.scalars(select(FileTag.file_id).where(
            FileTag.file_id.in_(part), FileTag.tag_id == tag.id, FileTag.source == USER_TAG)))
        session.add_all(FileTag(file_id=f, tag_id=tag.id, source=USER_TAG, score=1.0)
                        for f in part if f not in have)
    return tag


def remove_tag(db: Database, user_id: int, file_id: int, tag_id: int) -> dict:
    """Take a tag off a file. A classifier's tag is remembered as removed: re-processing
    the file never adds it again (adding it by hand does)."""
    with db.session() as session:
        _owned_file(session, user_id, file_id)
        rows = session.scalars(select(FileTag).where(FileTag.file_id == file_id,
                                                     FileTag.tag_id == tag_id)).all()
        if not rows:
            raise NotFound(f"file {file_id} has no tag {tag_id}")
        generation.bump(session, user_id=user_id)
        if any(r.source != USER_TAG for r in rows) and session.get(
                TagRejection, (file_id, tag_id)) is None:
            session.add(TagRejection(file_id=file_id, tag_id=tag_id))
        session.execute(delete(FileTag).where(FileTag.file_id == file_id,
                                              FileTag.tag_id == tag_id))
    changed()
    return {"file": file_id, "removed": tag_id}


# People --------------------------------------------------------------------------------


def _people_rows(db: Database, user_id: int) -> dict[bool, tuple[list, list]]:
    def compute():
        with db.session() as session:
            people = session.execute(select(Person.id, Person.name, Person.hidden)
                                     .where(Person.user_id == user_id)).all()
            counted = session.execute(
                select(Face.person_id, func.count(), func.count(func.distinct(Face.file_id)))
                .join(Person, Person.id == Face.person_id)
                .where(Person.user_id == user_id).group_by(Face.person_id)).all()
            faces = {person: n for person, n, _photos in counted}
            photos = {person: n for person, _faces, n in counted}
            covers = dict(session.execute(
                select(Face.person_id, func.max(Face.id))
                .join(Person, Person.id == Face.person_id)
                .where(Person.user_id == user_id, Face.thumbnail.is_not(None))
                .group_by(Face.person_id)).all())
            chosen = {i: c for i, c in session.execute(
                select(Person.id, Person.cover_face_id)
                .join(Face, Face.id == Person.cover_face_id)
                .where(Person.user_id == user_id, Face.person_id == Person.id,
                       Face.thumbnail.is_not(None))).all()}
        rows = [{"id": i, "name": n, "hidden": h, "faces": faces.get(i, 0),
                 "photos": photos.get(i, 0), "cover_face": chosen.get(i) or covers.get(i)}
                for i, n, h in people if faces.get(i) or n]
        rows.sort(key=lambda p: (p["name"] is None, -p["faces"], p["id"]))
        shown = [p for p in rows if not p["hidden"]]
        return {True: (rows, [json.dumps(p) for p in rows]),
                False: (shown, [json.dumps(p) for p in shown])}

    return counts.get(db, ("people", user_id), compute)


def list_people(db: Database, user_id: int, limit: int = 100, offset: int = 0,
                hidden: bool = False, raw: bool = False) -> Page:
    """People, named first, then by number of faces. `raw`: items as JSON texts."""
    rows, texts = _people_rows(db, user_id)[bool(hidden)]
    page = _slice(texts if raw else rows, limit, offset)
    return Page(page.items, page.next, raw=raw)


def get_person(db: Database, user_id: int, person_id: int) -> dict:
    if as_id(person_id) is None:
        raise NotFound(f"no person {person_id}")
    person_id = as_id(person_id)
    with db.session() as session:
        person = session.scalar(select(Person).where(Person.id == person_id,
                                                     Person.user_id == user_id))
        if person is None:
            raise NotFound(f"no person {person_id}")
        faces = session.scalar(select(func.count()).where(Face.person_id == person_id))
        photos = session.scalar(select(func.count(func.distinct(Face.file_id)))
                                .where(Face.person_id == person_id))
    return {"id": person.id, "name": person.name, "hidden": person.hidden, "faces": faces,
            "photos": photos}


def person_by_name(db: Database, user_id: int, name: str) -> dict:
    with db.session() as session:
        person_id = session.scalar(select(Person.id).where(
            Person.user_id == user_id, Person.name_key == fold(name)))
    if person_id is None:
        raise NotFound(f"no person {name!r}")
    return get_person(db, user_id, person_id)


def person_faces(db: Database, user_id: int, person_id: int, limit: int = 100,
                 after: int = 0) -> Page:
    """A person's faces with their files, by face id."""
    get_person(db, user_id, person_id)
    limit = _limit(limit)
    with db.session() as session:
        rows = session.execute(
            select(Face.id, Face.file_id, Face.quality, File.rel_path)
            .join(File, File.id == Face.file_id)
            .where(Face.person_id == person_id, Face.id > after)
            .order_by(Face.id).limit(limit + 1)).all()
    items = [{"face": f, "file": fid, "quality": round(q, 3), "path": p,
              "name": os.path.basename(p)} for f, fid, q, p in rows[:limit]]
    return Page(items, items[-1]["face"] if len(rows) > limit else None)


def face_detail(db: Database, user_id: int, face_id: int) -> dict:
    if as_id(face_id) is None:
        raise NotFound(f"no face {face_id}")
    with db.session() as session:
        row = session.execute(
            select(Face, File.rel_path).join(File, File.id == Face.file_id)
            .where(Face.id == face_id, File.mount_id.in_(_mounts(user_id)))).first()
        if row is None:
            raise NotFound(f"no face {face_id}")
        face, path = row
        rejected = session.scalars(select(FaceRejection.person_id)
                                   .where(FaceRejection.face_id == face_id)).all()
        name = (session.scalar(select(Person.name).where(Person.id == face.person_id))
                if face.person_id is not None else None)
    return {"id": face.id, "file": face.file_id, "path": path, "person": face.person_id,
            "name": name, "assigned_by": face.assigned_by,
            "drawn": is_drawn(face.model_version), "not_face": face.not_face,
            "not_face_by": face.not_face_by,
            "box": [round(face.x), round(face.y), round(face.width), round(face.height)],
            "quality": round(face.quality, 3), "score": round(face.score, 3),
            "not_person": sorted(rejected), "has_thumbnail": face.thumbnail is not None}


def face_thumbnail(db: Database, user_id: int, face_id: int) -> str:
    """The face's thumbnail, relative to the cache folder (server/files.py opens it)."""
    with db.session() as session:
        thumbnail = session.scalar(
            select(Face.thumbnail).join(File, File.id == Face.file_id)
            .where(Face.id == face_id, File.mount_id.in_(_mounts(user_id))))
    if thumbnail is None:
        raise NotFound(f"no thumbnail for face {face_id}")
    return thumbnail


# Search --------------------------------------------------------------------------------


# The two searches a busy server answers most (a person's photos, a tag's files) as plain
# SQL on a pooled connection: a third of the cost of building the general query.
_COLUMNS = ("f.id, f.mount_id, f.rel_path, f.kind, f.format, f.size, f.width, f.height, "
            "f.mtime_ns, f.taken_ns")
# The same file, as the JSON object _file_row makes, built by the database itself (a page
# of 100 then costs no Python work per file).
_AS_JSON = {
    "sqlite": "json_object('id', f.id, 'mount', f.mount_id, 'path', f.rel_path, 'name', "
              "substr(f.rel_path, length(rtrim(f.rel_path, replace(f.rel_path, '/', ''))) + 1),"
              " 'kind', f.kind, 'format', f.format, 'size', f.size, 'width', f.width, "
              "'height', f.height, 'modified', strftime('%Y-%m-%dT%H:%M:%S+00:00', "
              "f.mtime_ns / 1000000000, 'unixepoch'), 'taken', strftime("
              "'%Y-%m-%dT%H:%M:%S+00:00', f.taken_ns / 1000000000, 'unixepoch'))",
    "postgresql": "json_build_object('id', f.id, 'mount', f.mount_id, 'path', f.rel_path, "
                  "'name', regexp_replace(f.rel_path, '^.*/', ''), 'kind', f.kind, 'format', "
                  "f.format, 'size', f.size, 'width', f.width, 'height', f.height, "
                  "'modified', to_char(to_timestamp(f.mtime_ns / 1000000000) AT TIME ZONE "
                  "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'), 'taken', to_char("
                  "to_timestamp(f.taken_ns / 1000000000) AT TIME ZONE 'UTC', "
                  "'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'))::text, f.id",
}
_FAST = {
    kind: ("SELECT {columns} FROM " + table + " AS d JOIN files AS f ON f.id = d.file_id "
           "WHERE d." + column + " = {p} AND d.file_id > {p} AND f.mount_id IN "
           "(SELECT id FROM mounts WHERE user_id = {p}) GROUP BY {group} "
           "ORDER BY d.file_id LIMIT {p}")
    for kind, table, column in (("person", "faces", "person_id"),
                                ("tag", "file_tags", "tag_id"))
}
# SQLite walks the index in file order and stops after a page only when grouping by the
# index column alone; PostgreSQL wants the selected key in the GROUP BY too.
_GROUP = {"sqlite": "d.file_id", "postgresql": "d.file_id, f.id"}


def tag_ids_of(db: Database, user_id: int, tag: int | str | tuple[int, ...]
               ) -> tuple[int, ...]:
    """The ids a tag (an id, or a name: the user's own and the shared one; or ids, any
    of which will do) stands for, kept until the library changes."""
    if isinstance(tag, int):
        return (tag,)
    if isinstance(tag, tuple):
        return tag

    def compute():
        with db.session() as session:
            return tuple(tagnames.ids_for_user(session, user_id, str(tag)))

    return counts.get(db, ("tag", user_id, fold(str(tag))), compute)


_FileRow = namedtuple("_FileRow",
                      "id mount_id rel_path kind format size width height mtime_ns taken_ns")


def _fast_search(db: Database, kind: str, user_id: int, key: int, limit: int,
                 after: int, raw: bool) -> Page:
    dialect = db.engine.dialect.name
    placeholder = "%s" if dialect == "postgresql" else "?"
    columns = _AS_JSON[dialect] + ("" if dialect == "postgresql" else ", f.id") if raw \
        else _COLUMNS
    limit = _limit(limit)
    sql = _FAST[kind].format(p=placeholder, group=_GROUP[dialect], columns=columns)
    connection = db.engine.raw_connection()  # the driver's own: no result wrapping
    try:
        cursor = connection.cursor()
        cursor.execute(sql, (key, after, user_id, limit + 1))
        rows = cursor.fetchall()
        cursor.close()
    finally:
        connection.close()  # back to the pool
    if raw:
        return Page([row[0] for row in rows[:limit]],
                    rows[limit - 1][1] if len(rows) > limit else None, raw=True)
    items = [_file_row(_FileRow(*row)) for row in rows[:limit]]
    return Page(items, items[-1]["id"] if len(rows) > limit else None)


def search(db: Database, user_id: int, tags: list[int | str | tuple[int, ...]] = (),
           people: list[int] = (), date_from: datetime | None = None,
           date_to: datetime | None = None, place: str | None = None, kind: str | None = None,
           limit: int = 100, after: int = 0, raw: bool = False) -> Page:
    """Files with all of `tags` (ids or names, or tuples of ids: any of them), showing all
    of `people`, taken in the date range (the capture time, else the file's time), at a
    place whose city, region or country contains `place`.
    `raw`: the page may hold JSON texts instead of dicts (see Page.as_json).

    The most selective index drives the query in file-id order (a person's faces, else
    the first tag's files), so a page costs about its own size, not the library's."""
    simple = not (date_from or date_to or place or kind)
    if simple and len(people) == 1 and not tags:
        page = _fast_search(db, "person", user_id, people[0], limit, after, raw)
        if page.items:
            return page  # (an empty page may mean another user's person: checked below)
    tag_ids = [tag_ids_of(db, user_id, tag) for tag in tags]
    if not all(tag_ids):
        return Page([], None)
    if simple and len(tag_ids) == 1 and len(tag_ids[0]) == 1 and not people:
        return _fast_search(db, "tag", user_id, tag_ids[0][0], limit, after, raw)
    with db.session() as session:
        people = list(dict.fromkeys(people))
        if people:
            owned = set(session.scalars(select(Person.id).where(
                Person.id.in_(people), Person.user_id == user_id)))
            missing = [p for p in people if p not in owned]
            if missing:
                raise NotFound(f"no person {missing[0]}")
        query = select(*FILE_COLUMNS).where(File.mount_id.in_(_mounts(user_id)))
        key = File.id
        also = (File.id,) if db.engine.dialect.name == "postgresql" else ()  # see _GROUP
        if people:
            first = people.pop(0)
            query = query.join(Face, Face.file_id == File.id).where(
                Face.person_id == first, Face.file_id > after).group_by(Face.file_id, *also)
            key = Face.file_id
        elif tag_ids:
            first = tag_ids.pop(0)
            query = query.join(FileTag, FileTag.file_id == File.id).where(
                FileTag.tag_id.in_(first), FileTag.file_id > after
            ).group_by(FileTag.file_id, *also)
            key = FileTag.file_id
        else:
            query = query.where(File.id > after)
        for ids in tag_ids:
            query = query.where(File.id.in_(select(FileTag.file_id)
                                            .where(FileTag.tag_id.in_(ids))))
        for person_id in people:
            query = query.where(File.id.in_(select(Face.file_id)
                                            .where(Face.person_id == person_id)))
        when = func.coalesce(File.taken_ns, File.mtime_ns)  # taken, else the file's time
        if date_from is not None:
            query = query.where(when >= _ns(date_from))
        if date_to is not None:
            query = query.where(when < _ns(date_to))
        if place:  # city, region or country contains it, matched by the names' fold
            like = like_pattern(fold(place))
            query = query.where(File.id.in_(select(FilePlace.file_id).where(
                FilePlace.search_key.like(like, escape="\\"))))
        if kind:
            query = query.where(File.kind == kind)
        return _file_page(session, query, limit, key)


# Mounts --------------------------------------------------------------------------------


def list_mounts(db: Database, user_id: int | None) -> list[dict]:
    """This user's mounts (all users' for `None`: an admin's view), each with its
    `problem` when its folder cannot be used now (None when it can)."""
    query = select(Mount.id, Mount.user_id, Mount.path, Mount.device, Mount.inode,
                   Mount.scanned_at, func.count(File.id)
                   ).join(File, File.mount_id == Mount.id, isouter=True)
    if user_id is not None:
        query = query.where(Mount.user_id == user_id)
    with db.session() as session:
        rows = session.execute(query.group_by(Mount.id).order_by(Mount.path)).all()
    return [{"id": i, "user": u, "path": p, "scanned_at": t, "files": n,
             "problem": mount_problem(MountRoot(p, (d, ino) if d is not None else None))}
            for i, u, p, d, ino, t, n in rows]


def mount_problem(root: MountRoot) -> str | None:
    """Why a mount's folder cannot be used now, or None."""
    try:
        os.close(open_root(root))
    except MountReplaced as exc:
        return exc.strerror
    except FileNotFoundError:
        return "folder not found"
    except NotADirectoryError:
        return "not a folder"
    except PermissionError:
        return "folder not readable"
    except OSError as exc:
        return f"cannot open the folder: {exc.strerror or exc}"
    return None


def get_mount(db: Database, user_id: int, mount_id: int) -> dict:
    for mount in list_mounts(db, user_id):
        if mount["id"] == mount_id:
            return mount
    raise NotFound(f"no mount {mount_id}")


def remove_mount(db: Database, user_id: int, mount_id: int) -> dict:
    """Forget a mount and all results for its files (the files themselves are untouched)."""
    with db.session() as session:
        mount = session.scalar(select(Mount).where(Mount.id == mount_id,
                                                   Mount.user_id == user_id))
        if mount is None:
            raise NotFound(f"no mount {mount_id}")
        path = mount.path
        generation.bump(session)
        session.delete(mount)
    changed()
    return {"id": mount_id, "path": path, "removed": True}


def people_error(exc: PeopleError) -> Exception:
    """What an API or DAV route raises for an error from the people operations."""
    return NotFound(str(exc)) if isinstance(exc, NoSuchPerson) else Refused(str(exc))
