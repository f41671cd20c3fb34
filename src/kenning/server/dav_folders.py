"""WebDAV's folders (see dav.py): people/, unassigned/ and tags/, their members (the
original files, named by face or file id), and the changes a file manager makes in them
(rename, move, delete), each done by the people and tag operations."""

from __future__ import annotations

import os
import re
import weakref

from wsgidav.dav_error import (
    HTTP_CONFLICT,
    HTTP_FORBIDDEN,
    HTTP_NOT_FOUND,
    HTTP_PRECONDITION_FAILED,
    DAVError,
)
from wsgidav.dav_provider import DAVCollection, DAVNonCollection

from kenning import catalog
from kenning.faces import people
from kenning.server import files as served
from kenning.users import Principal

MEMBER = re.compile(r"^(\d{1,15})-(.+)$")
UNNAMED = re.compile(r"^person-(\d{1,15})$")
MAX_LISTED = 20_000


def _dav_error(exc: Exception) -> DAVError:
    if isinstance(exc, catalog.NotFound | people.NoSuchPerson):
        return DAVError(HTTP_NOT_FOUND, str(exc))
    return DAVError(HTTP_CONFLICT, str(exc))


def _call(function, *args):
    try:
        result = function(*args)
    except (catalog.NotFound, catalog.Refused, people.PeopleError) as exc:
        raise _dav_error(exc) from exc
    catalog.changed()
    return result


def folder_name(person_id: int, name: str | None) -> str:
    return (name if name and "/" not in name and name not in (".", "..")
            and not UNNAMED.match(name) else f"person-{person_id}")


class _Base:
    """What every resource knows: the server state and who is asking. What a resource
    does not allow is refused before anything changes (403), never half done."""

    def _init(self, state, who: Principal) -> None:
        self.state, self.who, self.db = state, who, state.db

    def get_ref_url(self):
        # Locks are kept by this URL: each user's own, so one user's lock on /people/
        # never blocks another's (their /people/ are different folders).
        return f"/~{self.who.id}" + super().get_ref_url()

    def handle_delete(self):
        raise DAVError(HTTP_FORBIDDEN, "this folder cannot be deleted")

    def handle_move(self, dest_path):
        raise DAVError(HTTP_FORBIDDEN, "this cannot be moved")

    def handle_copy(self, dest_path, *, depth_infinity):
        raise DAVError(HTTP_FORBIDDEN, "nothing in Kenning's folders can be copied")

    def create_empty_resource(self, name):
        raise DAVError(HTTP_FORBIDDEN, "Kenning never writes into your media")

    def create_collection(self, name):
        raise DAVError(HTTP_FORBIDDEN, "folders can only be made in people/")

    def support_recursive_delete(self):
        return True

    def delete(self):
        self.handle_delete()


class Root(_Base, DAVCollection):
    def __init__(self, path, environ, state, who):
        DAVCollection.__init__(self, path, environ)
        self._init(state, who)

    def get_member_names(self):
        return ["people", "unassigned", "tags"]

    def get_member(self, name):
        folder = {"people": PeopleFolder, "unassigned": UnassignedFolder,
                  "tags": TagsFolder}.get(name)
        return None if folder is None else folder(self.path.rstrip("/") + "/" + name,
                                                  self.environ, self.state, self.who)


class PeopleFolder(_Base, DAVCollection):
    def __init__(self, path, environ, state, who):
        DAVCollection.__init__(self, path, environ)
        self._init(state, who)

    def _people(self) -> list[dict]:
        return catalog.list_people(self.db, self.who.id, catalog.MAX_PAGE * 1000).items

    def get_member_names(self):
        return [folder_name(p["id"], p["name"]) for p in self._people()]

    def get_member_list(self):
        return [PersonFolder(f"{self.path.rstrip('/')}/{folder_name(p['id'], p['name'])}",
                             self.environ, self.state, self.who, p["id"])
                for p in self._people()]

    def get_member(self, name):
        person_id = resolve_person(self.state, self.who, name)
        if person_id is None:
            return None
        return PersonFolder(f"{self.path.rstrip('/')}/{name}", self.environ, self.state,
                            self.who, person_id)

    def create_collection(self, name):
        _call(people.create_person, self.db, self.who.name, name)


def resolve_person(state, who: Principal, name: str) -> int | None:
    """The person a folder name stands for: `person-<id>` for an unnamed one, else the
    name."""
    match = UNNAMED.match(name)
    try:
        if match:
            person = catalog.get_person(state.db, who.id, match.group(1))
            return person["id"] if folder_name(person["id"], person["name"]) == name else None
        return catalog.person_by_name(state.db, who.id, name)["id"]
    except catalog.NotFound:
        return None


def _face_members(state, who: Principal, person_id: int | None,
                  face_id: int | None = None) -> list[tuple[int, int, str]]:
    """(face id, file id, file name) of a person's faces, or of unassigned faces (only
    `face_id`, when given)."""
    return [(f["face"], f["file"], f["name"]) for f in catalog.faces_of(
        state.db, who.id, person_id, face_id=face_id, limit=MAX_LISTED)]


class PersonFolder(_Base, DAVCollection):
    def __init__(self, path, environ, state, who, person_id: int):
        DAVCollection.__init__(self, path, environ)
        self._init(state, who)
        self.person_id = person_id

    def get_member_names(self):
        return [f"{f}-{name}" for f, _, name in _face_members(self.state, self.who,
                                                               self.person_id)]

    def get_member_list(self):
        return [FacePhoto(f"{self.path.rstrip('/')}/{f}-{name}", self.environ, self.state,
                          self.who, f, fid) for f, fid, name in
                _face_members(self.state, self.who, self.person_id)]

    def get_member(self, name):
        return face_member(self, name, self.person_id)

    def handle_delete(self):
        _call(people.dissolve_person, self.db, self.who.name, str(self.person_id))
        return True

    def support_recursive_move(self, dest_path):
        return True

    def handle_move(self, dest_path):
        parent, _, name = dest_path.rstrip("/").rpartition("/")
        if parent != "/people" or not name:
            raise DAVError(HTTP_FORBIDDEN, "a person can only be renamed inside /people/")
        if resolve_person(self.state, self.who, name) is not None or UNNAMED.match(name):
            raise DAVError(HTTP_PRECONDITION_FAILED,
                           f"there is already a person {name!r}: merge them in the web page")
        _call(people.name_person, self.db, self.who.name, str(self.person_id), name)
        return True


def face_member(folder, name: str, person_id: int | None):
    match = MEMBER.match(name)
    if not match or catalog.as_id(match.group(1)) is None:
        return None
    for f, fid, file_name in _face_members(folder.state, folder.who, person_id,
                                           int(match.group(1))):
        if f"{f}-{file_name}" == name:
            return FacePhoto(f"{folder.path.rstrip('/')}/{name}", folder.environ, folder.state,
                             folder.who, f, fid)
    return None


class UnassignedFolder(_Base, DAVCollection):
    def __init__(self, path, environ, state, who):
        DAVCollection.__init__(self, path, environ)
        self._init(state, who)

    def get_member_names(self):
        return [f"{f}-{name}" for f, _, name in _face_members(self.state, self.who, None)]

    def get_member_list(self):
        return [FacePhoto(f"{self.path.rstrip('/')}/{f}-{name}", self.environ, self.state,
                          self.who, f, fid)
                for f, fid, name in _face_members(self.state, self.who, None)]

    def get_member(self, name):
        return face_member(self, name, None)


class _Original(_Base, DAVNonCollection):
    """A media file, read-only: GET returns the original bytes, read from a descriptor
    opened once inside its folder (server/files.py); its type comes from its content."""

    def __init__(self, path, environ, state, who, file_id: int):
        DAVNonCollection.__init__(self, path, environ)
        self._init(state, who)
        self.file_id = file_id
        self._fd: int | None = None
        self._stat = None

    def _open(self) -> int | None:
        if self._fd is None:
            try:
                self._fd, _name = served.open_original(self.db, self.who.id, self.file_id,
                                                       self.state.settings.own_paths)
            except catalog.NotFound:
                self._fd = -1
            else:
                weakref.finalize(self, os.close, self._fd)
        return self._fd if self._fd >= 0 else None

    def _info(self):
        if self._stat is None:
            fd = self._open()
            self._stat = os.fstat(fd) if fd is not None else False
        return self._stat

    def get_content_length(self):
        info = self._info()
        return info.st_size if info else 0

    def get_content_type(self):
        fd = self._open()
        return served.sniffed_type(fd) if fd is not None else served.DOWNLOAD

    def get_last_modified(self):
        info = self._info()
        return info.st_mtime if info else None

    def get_creation_date(self):
        return self.get_last_modified()

    def get_etag(self):
        info = self._info()
        return f"{self.file_id}-{info.st_size}-{int(info.st_mtime)}" if info else None

    def support_etag(self):
        return True

    def support_ranges(self):
        return True

    def get_content(self):
        fd = self._open()
        if fd is None:
            raise DAVError(HTTP_NOT_FOUND, "the file is no longer in its folder")
        return os.fdopen(os.dup(fd), "rb")  # WsgiDAV closes it

    def begin_write(self, *, content_type=None):
        raise DAVError(HTTP_FORBIDDEN, "Kenning never writes into your media")


class FacePhoto(_Original):
    def __init__(self, path, environ, state, who, face_id: int, file_id: int):
        super().__init__(path, environ, state, who, file_id)
        self.face_id = face_id

    def handle_delete(self):
        if self.path.startswith("/unassigned/"):  # not a face (a dog, a statue...)
            _call(people.mark_not_faces, self.db, self.who.name, [self.face_id])
            return True
        _call(people.remove_faces, self.db, self.who.name, [self.face_id])
        return True

    def handle_move(self, dest_path):
        parts = dest_path.strip("/").split("/")
        if parts[0] == "unassigned" and len(parts) <= 2:
            if self.path.startswith("/unassigned/"):
                raise DAVError(HTTP_FORBIDDEN, "this face is in no person already")
            return self.handle_delete()
        if parts[0] != "people" or len(parts) not in (2, 3):
            raise DAVError(HTTP_FORBIDDEN, "move a photo into a person's folder")
        person_id = resolve_person(self.state, self.who, parts[1])
        if person_id is None:
            raise DAVError(HTTP_CONFLICT, f"no person {parts[1]!r} (make the folder first)")
        _call(people.move_faces, self.db, self.who.name, [self.face_id], str(person_id))
        return True


class TagsFolder(_Base, DAVCollection):
    def __init__(self, path, environ, state, who):
        DAVCollection.__init__(self, path, environ)
        self._init(state, who)

    def get_member_names(self):
        return [t["tag"] for t in catalog.list_tags(self.db, self.who.id,
                                                    catalog.MAX_PAGE * 1000).items
                if "/" not in t["tag"]]

    def get_member(self, name):
        try:
            tag = catalog.tag_by_name(self.db, self.who.id, name)
        except catalog.NotFound:
            return None
        return TagFolder(f"{self.path.rstrip('/')}/{name}", self.environ, self.state,
                         self.who, tag["id"])


class TagFolder(_Base, DAVCollection):
    def __init__(self, path, environ, state, who, tag_id: int):
        DAVCollection.__init__(self, path, environ)
        self._init(state, who)
        self.tag_id = tag_id

    def _files(self) -> list[dict]:
        found, after = [], 0
        while len(found) < MAX_LISTED:
            page = catalog.search(self.db, self.who.id, tags=[self.tag_id],
                                  limit=catalog.MAX_PAGE, after=after)
            found += page.items
            if page.next is None:
                break
            after = page.next
        return found

    def get_member_names(self):
        return [f"{f['id']}-{f['name']}" for f in self._files()]

    def get_member_list(self):
        return [TaggedFile(f"{self.path.rstrip('/')}/{f['id']}-{f['name']}", self.environ,
                           self.state, self.who, f["id"], self.tag_id) for f in self._files()]

    def get_member(self, name):
        match = MEMBER.match(name)
        if not match or catalog.as_id(match.group(1)) is None:
            return None
        try:
            detail = catalog.file_detail(self.db, self.who.id, int(match.group(1)))
        except catalog.NotFound:
            return None
        if detail["name"] != match.group(2) or self.tag_id not in {t["id"] for t in
                                                                   detail["tags"]}:
            return None
        return TaggedFile(f"{self.path.rstrip('/')}/{name}", self.environ, self.state,
                          self.who, detail["id"], self.tag_id)


class TaggedFile(_Original):
    def __init__(self, path, environ, state, who, file_id: int, tag_id: int):
        super().__init__(path, environ, state, who, file_id)
        self.tag_id = tag_id

    def handle_delete(self):
        _call(catalog.remove_tag, self.db, self.who.id, self.file_id, self.tag_id)
        return True
