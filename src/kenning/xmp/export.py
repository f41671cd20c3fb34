"""`kenning export xmp`: a sidecar per photo and video with its tags, named people's face
regions and place, for digiKam, darktable, Lightroom, Immich, PhotoPrism and others.

By default the sidecars go to a folder of their own that mirrors the library
(`<data dir>/xmp/<user>/<the mount's path>/<file>.xmp`): Kenning writes nothing into a
user's folders unless asked. `beside` writes them next to the originals, named as a tool
expects (`full`: photo.jpg.xmp, digiKam and darktable; `base`: photo.xmp, Lightroom),
inside the mount only, never following a link, and merged into a sidecar that is already
there (sidecar.write). A file is written again only when what it would say changed."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import select

from kenning.db import (
    Database,
    Face,
    File,
    FilePlace,
    FileTag,
    Mount,
    Person,
    Tag,
    User,
    XmpFile,
)
from kenning.db.schema import Meta, utcnow
from kenning.media.confined import open_beneath, open_root
from kenning.xmp.rdf import MAX_BYTES, BadSidecar
from kenning.xmp.regions import clipped, to_stored, turned
from kenning.xmp.sidecar import Entries, Region, write

USER_SOURCE = "user"
NAMINGS = {"full": "photo.jpg.xmp (digiKam, darktable)", "base": "photo.xmp (Lightroom)"}
PLACES = ("folder", "beside")
SETTING = "xmp_export:"  # + user id: the user's export setting (Meta), JSON
_TMP = b".kenning-xmp-"


class ExportError(ValueError):
    """A setting that cannot be used (unknown naming, a folder inside a mount...)."""


@dataclass
class Destination:
    place: str = "folder"  # "folder" (a folder of its own) or "beside" (the originals)
    naming: str = "full"
    folder: str | None = None  # for "folder": None is <data dir>/xmp/<user>
    keep_current: bool = False  # the server re-exports what changed, within a minute

    def check(self) -> Destination:
        if self.place not in PLACES:
            raise ExportError(f"unknown place {self.place!r}: {' or '.join(PLACES)}")
        if self.naming not in NAMINGS:
            raise ExportError(f"unknown naming {self.naming!r}: {' or '.join(NAMINGS)}")
        return self


@dataclass
class ExportReport:
    written: int = 0
    unchanged: int = 0
    files: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # file -> why
    where: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def tag_paths() -> dict[str, str]:
    """Each model tag's place under the broader tags it always comes with: Animal|Dog."""
    from kenning.taxonomy import TAXONOMY_DIR

    classes = json.loads((TAXONOMY_DIR / "imagenet_tags.json").read_text())["classes"]
    paths: dict[str, str] = {}
    for entry in classes:
        tags = entry["tags"]
        for depth, tag in enumerate(tags):
            paths.setdefault(tag, "|".join(tags[:depth + 1]))
    return paths


def setting(db: Database, user_id: int) -> Destination | None:
    with db.session() as session:
        row = session.get(Meta, f"{SETTING}{user_id}")
        return Destination(**json.loads(row.value)) if row else None


def save_setting(db: Database, user_id: int, destination: Destination) -> None:
    value = json.dumps(asdict(destination.check()))
    with db.session() as session:
        row = session.get(Meta, f"{SETTING}{user_id}")
        if row is None:
            session.add(Meta(key=f"{SETTING}{user_id}", value=value))
        else:
            row.value = value


def users_keeping_current(db: Database) -> list[int]:
    with db.session() as session:
        rows = session.execute(select(Meta.key, Meta.value)
                               .where(Meta.key.like(f"{SETTING}%"))).all()
    return [int(key.removeprefix(SETTING)) for key, value in rows
            if json.loads(value).get("keep_current")]


def _entries(db: Database, user_id: int) -> tuple[dict[int, Entries], dict[int, tuple]]:
    """What each of the user's photos and videos would say, and each file's row."""
    paths = tag_paths()
    with db.session() as session:
        files = {row.id: row for row in session.execute(
            select(File.id, File.mount_id, File.rel_path_raw, File.kind, File.width,
                   File.height, File.content_hash, Mount.path.label("mount_path"))
            .join(Mount, Mount.id == File.mount_id)
            .where(Mount.user_id == user_id, File.kind.in_(("image", "video")),
                   File.scan_error.is_(None)))}
        entries = {file_id: Entries() for file_id in files}
        own = (Tag.owner_id == 0) | (Tag.owner_id == user_id)
        for file_id, name, source in session.execute(
                select(FileTag.file_id, Tag.name, FileTag.source)
                .join(Tag, Tag.id == FileTag.tag_id)
                .join(File, File.id == FileTag.file_id).join(Mount, Mount.id == File.mount_id)
                .where(Mount.user_id == user_id, own)
                .order_by(FileTag.file_id, FileTag.score.desc())):
            entry = entries.get(file_id)
            if entry is None:
                continue
            if name not in entry.tags:
                entry.tags.append(name)
            if source != USER_SOURCE and name not in entry.machine_tags:
                entry.machine_tags.append(name)
            if name in paths and source != USER_SOURCE:
                entry.paths[name] = paths[name]
        for face in session.execute(
                select(Face.file_id, Face.x, Face.y, Face.width, Face.height, Person.name)
                .join(Person, Person.id == Face.person_id)
                .where(Person.user_id == user_id, Person.name.is_not(None),
                       Person.hidden.is_(False), Face.not_face.is_(False))
                .order_by(Face.file_id, Face.x)):
            entry, row = entries.get(face.file_id), files.get(face.file_id)
            if entry is None:
                continue
            if face.name not in entry.people:
                entry.people.append(face.name)
            if row.kind == "image" and row.width and row.height:
                entry.regions.append(Region(face.name, clipped((
                    face.x / row.width, face.y / row.height, face.width / row.width,
                    face.height / row.height))))
        for place in session.execute(
                select(FilePlace).join(File, File.id == FilePlace.file_id)
                .join(Mount, Mount.id == File.mount_id).where(Mount.user_id == user_id)
                ).scalars():
            if place.file_id in entries:
                entries[place.file_id].place = {
                    key: value for key, value in (
                        ("city", place.city), ("region", place.region),
                        ("country", place.country), ("country_code", place.country_code))
                    if value}
    return entries, files


def _digest(entry: Entries, row, destination: Destination) -> str:
    data = json.dumps([asdict(entry), row.content_hash, destination.place, destination.naming,
                       destination.folder], sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()


def _sidecar_name(rel: bytes, naming: str) -> bytes:
    if naming == "base":
        stem, dot, _ext = rel.rpartition(b".")
        if dot and b"/" not in rel[len(stem):]:
            return stem + b".xmp"
    return rel + b".xmp"


def orientation_of(fd: int) -> int:
    """A photo's EXIF orientation (1 when it has none or cannot be read)."""
    from PIL import Image

    try:
        with Image.open(os.fdopen(os.dup(fd), "rb")) as image:
            value = image.getexif().get(0x0112, 1)
            return value if value in range(1, 9) else 1
    except Exception:  # noqa: BLE001 - a header Pillow cannot read: no orientation
        return 1


def _place_regions(entry: Entries, row, fd: int | None) -> None:
    """The regions onto the image as stored, through the photo's orientation."""
    if not entry.regions or fd is None:
        return
    orientation = orientation_of(fd)
    for region in entry.regions:
        region.box = to_stored(region.box, orientation)
    size = (row.width, row.height)
    entry.stored_size = (size[1], size[0]) if turned(orientation) else size


def _read_at(dir_fd: int, name: bytes) -> bytes | None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                     dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not os.path.isfile(f"/proc/self/fd/{handle.fileno()}"):
            raise OSError(errno.EINVAL, "the sidecar's name is not a regular file")
        return handle.read(MAX_BYTES + 1)  # (larger: refused when parsed)


def _write_at(dir_fd: int, name: bytes, data: bytes) -> None:
    """Write `name` in the folder `dir_fd` at once (a temporary file renamed over it)."""
    temporary = _TMP + os.urandom(6).hex().encode() + b".tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                 | os.O_CLOEXEC, 0o644, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=dir_fd)
        raise


def _folder_of(path: bytes) -> int:
    os.makedirs(path, exist_ok=True)
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def export_folder(settings, user: str, destination: Destination) -> Path:
    if destination.folder:
        return Path(destination.folder)
    return settings.data_dir / "xmp" / (user.lstrip(".") or "user")


def export_xmp(settings, db: Database, user: str, destination: Destination,
               only_changed: bool = True) -> ExportReport:
    """Write the user's sidecars where `destination` says; only those whose content
    changed (and those missing) unless `only_changed` is False."""
    destination.check()
    with db.session() as session:
        user_row = session.scalar(select(User).where(User.name == user))
        if user_row is None:
            raise ExportError(f"no user {user!r}")
        user_id = user_row.id
        mounts = {m.id: m for m in session.scalars(select(Mount).where(
            Mount.user_id == user_id))}
        for mount in mounts.values():
            session.expunge(mount)
        known = {row.file_id: (row.export_digest, row.export_path) for row in session.execute(
            select(XmpFile.file_id, XmpFile.export_digest, XmpFile.export_path))}
    entries, files = _entries(db, user_id)
    folder = export_folder(settings, user, destination)
    report = ExportReport(files=len(files), where=str(folder) if destination.place == "folder"
                          else "beside the originals")
    if destination.place == "folder":
        for mount in mounts.values():
            if (str(folder) + "/").startswith(mount.path.rstrip("/") + "/"):
                raise ExportError(f"{folder} is inside the library folder {mount.path}: "
                                  "choose a folder outside it, or --beside")
    done: dict[int, tuple[str, str]] = {}
    by_folder: dict[tuple[int, bytes], list[int]] = defaultdict(list)
    for file_id, row in files.items():
        rel_dir = row.rel_path_raw.rpartition(b"/")[0]
        by_folder[(row.mount_id, rel_dir)].append(file_id)
    claimed: set[tuple] = set()
    for (mount_id, rel_dir), ids in sorted(by_folder.items()):
        mount = mounts[mount_id]
        try:
            root_fd = open_root(mount.root)
        except OSError as exc:
            for file_id in ids:
                report.failed[files[file_id].rel_path_raw.decode("utf-8", "replace")] = \
                    f"the library folder cannot be opened ({exc.strerror or exc})"
            continue
        try:
            _export_folder(settings, destination, folder, mount, root_fd, rel_dir, ids,
                           files, entries, known, only_changed, claimed, done, report)
        finally:
            os.close(root_fd)
    with db.session() as session:
        for file_id, (digest, path) in done.items():
            row = session.get(XmpFile, file_id)
            if row is None:
                session.add(XmpFile(file_id=file_id, export_digest=digest, export_path=path,
                                    exported_at=utcnow()))
            else:
                row.export_digest, row.export_path, row.exported_at = digest, path, utcnow()
    return report


def _export_folder(settings, destination, folder, mount, root_fd, rel_dir, ids, files,
                   entries, known, only_changed, claimed, done, report) -> None:
    target_dir = None
    try:
        for file_id in sorted(ids, key=lambda i: files[i].rel_path_raw):
            row, entry = files[file_id], entries[file_id]
            shown = row.rel_path_raw.decode("utf-8", "replace")
            name = _sidecar_name(row.rel_path_raw, destination.naming).rpartition(b"/")[2]
            key = (mount.id, rel_dir, name) if destination.place == "beside" else \
                (mount.path, rel_dir, name)
            if key in claimed:
                report.failed[shown] = (f"{name.decode('utf-8', 'replace')} is already the "
                                        "sidecar of another file with that name")
                continue
            claimed.add(key)
            digest = _digest(entry, row, destination)
            try:
                if target_dir is None:
                    target_dir = (open_beneath(root_fd, rel_dir, mount.root.raw, True)
                                  if destination.place == "beside" and rel_dir else
                                  os.dup(root_fd) if destination.place == "beside" else
                                  _folder_of(os.fsencode(folder) + b"/"
                                             + os.fsencode(mount.path).strip(b"/") + b"/"
                                             + rel_dir))
                path = (os.fsencode(mount.path) if destination.place == "beside"
                        else os.fsencode(folder) + b"/" + os.fsencode(mount.path).strip(b"/"))
                where = (path + b"/" + (rel_dir + b"/" if rel_dir else b"") + name).decode(
                    "utf-8", "replace")
                before, old_path = known.get(file_id, (None, None))
                if only_changed and before == digest and old_path == where \
                        and _exists(target_dir, name):
                    report.unchanged += 1
                    continue
                photo_fd = None
                if entry.regions:
                    photo_fd = open_beneath(root_fd, row.rel_path_raw, mount.root.raw)
                try:
                    _place_regions(entry, row, photo_fd)
                finally:
                    if photo_fd is not None:
                        os.close(photo_fd)
                existing = _read_at(target_dir, name)
                _write_at(target_dir, name, write(entry, existing))
            except BadSidecar as exc:
                report.failed[shown] = f"its sidecar is left as it is: {exc}"
                continue
            except OSError as exc:
                report.failed[shown] = f"could not write its sidecar ({exc.strerror or exc})"
                continue
            done[file_id] = (digest, where)
            report.written += 1
            if old_path and old_path != where and destination.place == "folder":
                _remove_own(folder, old_path)  # the file moved: its old sidecar goes
    finally:
        if target_dir is not None:
            os.close(target_dir)


def _remove_own(folder: Path, path: str) -> None:
    """Remove a sidecar Kenning wrote in its own folder (never one beside a photo)."""
    if path.endswith(".xmp") and path.startswith(str(folder).rstrip("/") + "/") \
            and "/../" not in path:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _exists(dir_fd: int, name: bytes) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        return True
    except OSError:
        return False
