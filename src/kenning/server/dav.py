"""WebDAV: people and tags as folders, for file managers (WsgiDAV, mounted at /dav).

    /dav/people/<name>/<face id>-<file name>    a person's photos (GET: the original)
    /dav/unassigned/<face id>-<file name>       faces in no person
    /dav/tags/<tag>/<file id>-<file name>       files with a tag

MOVE of a person folder renames it; MKCOL under people/ makes a named person; MOVE of a
photo into another person (or into unassigned/) reassigns that face; DELETE of a photo in
a person takes the face out (remembered); DELETE of a person dissolves it; DELETE of a
file in a tag folder removes the tag from the file. Nothing here ever writes a media
file. Clients sign in with Basic auth: the user name and a password or an app token.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import re

from a2wsgi import WSGIMiddleware
from sqlalchemy import select
from wsgidav.dav_error import (
    HTTP_CONFLICT,
    HTTP_FORBIDDEN,
    HTTP_NOT_FOUND,
    HTTP_PRECONDITION_FAILED,
    DAVError,
)
from wsgidav.dav_provider import DAVCollection, DAVNonCollection, DAVProvider
from wsgidav.dc.base_dc import BaseDomainController
from wsgidav.wsgidav_app import WsgiDAVApp

from kenning import catalog
from kenning.db import Face, File, Mount, Person
from kenning.faces import people
from kenning.server.security import Throttled
from kenning.users import Principal, find_user

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
    return name if name and "/" not in name and not UNNAMED.match(name) else f"person-{person_id}"


class _Base:
    """What every resource knows: the server state and who is asking."""

    def _init(self, state, who: Principal) -> None:
        self.state, self.who, self.db = state, who, state.db


class Root(_Base, DAVCollection):
    def __init__(self, path, environ, state, who):
        DAVCollection.__init__(self, path, environ)
        self._init(state, who)

    def get_member_names(self):
        return ["people", "unassigned", "tags"]

    def get_member(self, name):
        return {"people": PeopleFolder, "unassigned": UnassignedFolder,
                "tags": TagsFolder}[name](self.path.rstrip("/") + "/" + name, self.environ,
                                          self.state, self.who)


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
    match = UNNAMED.match(name)
    with state.db.session() as session:
        query = select(Person.id, Person.name).where(Person.user_id == who.id)
        if match:
            row = session.execute(query.where(Person.id == int(match.group(1)))).first()
            return row.id if row is not None and folder_name(row.id, row.name) == name else None
        row = session.execute(query.where(Person.name == name)).first()
        return row.id if row is not None else None


def _face_members(state, who: Principal, person_id: int | None,
                  face_id: int | None = None) -> list[tuple[int, int, str]]:
    """(face id, file id, file name) of a person's faces, or of unassigned faces (only
    `face_id`, when given)."""
    with state.db.session() as session:
        query = (select(Face.id, File.id, File.rel_path).join(File, File.id == Face.file_id)
                 .join(Mount, Mount.id == File.mount_id).where(Mount.user_id == who.id))
        query = query.where(Face.person_id == person_id if person_id is not None
                            else Face.person_id.is_(None))
        if face_id is not None:
            query = query.where(Face.id == face_id)
        return [(f, fid, os.path.basename(p))
                for f, fid, p in session.execute(query.order_by(Face.id).limit(MAX_LISTED))]


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

    def support_recursive_delete(self):
        return True

    def handle_delete(self):
        _call(people.dissolve_person, self.db, self.who.name, str(self.person_id))
        return True

    def delete(self):
        self.handle_delete()

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
    if not match:
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
    """A media file, read-only: GET returns the original bytes."""

    def __init__(self, path, environ, state, who, file_id: int):
        DAVNonCollection.__init__(self, path, environ)
        self._init(state, who)
        self.file_id = file_id
        self._stat = None

    def _disk(self) -> str:
        try:
            return catalog.original_path(self.db, self.who.id, self.file_id)
        except catalog.NotFound as exc:
            raise DAVError(HTTP_NOT_FOUND, str(exc)) from exc

    def _info(self):
        if self._stat is None:
            try:
                self._stat = os.stat(self._disk())
            except (OSError, DAVError):
                self._stat = False
        return self._stat

    def get_content_length(self):
        info = self._info()
        return info.st_size if info else 0

    def get_content_type(self):
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"

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
        return open(self._disk(), "rb")  # noqa: SIM115 - WsgiDAV closes it

    def begin_write(self, *, content_type=None):
        raise DAVError(HTTP_FORBIDDEN, "Kenning never writes into your media")


class FacePhoto(_Original):
    def __init__(self, path, environ, state, who, face_id: int, file_id: int):
        super().__init__(path, environ, state, who, file_id)
        self.face_id = face_id

    def handle_delete(self):
        if self.path.startswith("/unassigned/"):
            raise DAVError(HTTP_FORBIDDEN, "this face is in no person")
        _call(people.remove_faces, self.db, self.who.name, [self.face_id])
        return True

    def delete(self):
        self.handle_delete()

    def handle_move(self, dest_path):
        parts = dest_path.strip("/").split("/")
        if parts[0] == "unassigned" and len(parts) <= 2:
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
        if not match:
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

    def delete(self):
        self.handle_delete()

    def handle_move(self, dest_path):
        raise DAVError(HTTP_FORBIDDEN, "tag folders cannot be moved into")


class KenningProvider(DAVProvider):
    def __init__(self, state) -> None:
        super().__init__()
        self.state = state

    def is_readonly(self):
        return False

    def get_resource_inst(self, path, environ):
        who = environ.get("kenning.user")
        if who is None:
            name = environ.get("wsgidav.auth.user_name")
            who = find_user(self.state.db, name) if name else None
            if who is None:
                return None
            environ["kenning.user"] = who
        root = Root("/", environ, self.state, who)
        resource = root
        for part in [p for p in path.strip("/").split("/") if p]:
            if not isinstance(resource, DAVCollection):
                return None
            resource = resource.get_member(part)
            if resource is None:
                return None
        return resource


def _controller(state):
    class KenningDomainController(BaseDomainController):
        def __init__(self, wsgidav_app, config):
            super().__init__(wsgidav_app, config)

        def get_domain_realm(self, path_info, environ):
            return "Kenning"

        def require_authentication(self, realm, environ):
            return True

        def basic_auth_user(self, realm, user_name, password, environ):
            address = environ.get("REMOTE_ADDR") or "unknown"
            try:
                who = state.auth.password(user_name, password, address)
            except Throttled:
                return False
            if who is None:
                return False
            environ["kenning.user"] = who
            return True

        def supports_http_digest_auth(self):
            return False

    return KenningDomainController


def dav_app(state):
    for name in ("wsgidav", "wsgidav.wsgidav_app"):
        logging.getLogger(name).setLevel(logging.WARNING)
    config = {
        "provider_mapping": {"/": KenningProvider(state)},
        "mount_path": "/dav",
        "http_authenticator": {"domain_controller": _controller(state), "accept_basic": True,
                               "accept_digest": False, "default_to_digest": False},
        "verbose": 1,
        "logging": {"enable": False},
        "lock_storage": True,
        "property_manager": True,
        "dir_browser": {"enable": True, "response_trailer": "", "davmount": False,
                        "ms_sharepoint_support": False, "libre_office_support": False},
        "suppress_version_info": True,
    }
    dav = WsgiDAVApp(config)

    def guarded(environ, start_response):
        # WsgiDAV answers a path with dot segments with an empty body under a non-zero
        # Content-Length; refuse such paths here instead (they never name a resource).
        segments = environ.get("PATH_INFO", "").split("/")
        if ".." in segments or "." in segments or "\0" in environ.get("PATH_INFO", ""):
            body = b"bad path"
            start_response("400 Bad Request", [("Content-Type", "text/plain"),
                                               ("Content-Length", str(len(body)))])
            return [body]
        return dav(environ, start_response)

    return WSGIMiddleware(guarded, workers=4)
