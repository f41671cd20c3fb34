"""Names and keywords other tools wrote, read at indexing: from sidecars beside a file
(photo.jpg.xmp as digiKam and darktable name them, photo.xmp as Lightroom does) and from
the XMP embedded in the file.

Each face region with a name (Metadata Working Group or Microsoft Photo form) is matched
to a face Kenning found by overlap, on the photo as shown; the face becomes that
person's as the user's own decision (a region where Kenning found no face becomes a
drawn face, faces/drawn.py). Keywords become the user's own tags. An import never
overrides a decision made in Kenning: a face the user placed, a person the user named
otherwise, a face taken out of that person or marked not a face, a tag the user removed
after an earlier import. Those disagreements are kept as the file's conflicts, for the
user to settle. A file is read again only when it or one of its sidecars changes."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from sqlalchemy import select

from kenning.db import (
    AssignedBy,
    Database,
    Face,
    FaceRejection,
    File,
    FileTag,
    Mount,
    Person,
    User,
    WorkItem,
    WorkState,
    XmpFile,
)
from kenning.db.generation import bump
from kenning.db.schema import utcnow
from kenning.faces import people, people_tags
from kenning.faces.drawn import overlap
from kenning.media.confined import open_beneath, open_root
from kenning.names import BadName, clean, fold
from kenning.xmp.rdf import MAX_BYTES, BadSidecar
from kenning.xmp.regions import Box, clipped, to_shown, turned
from kenning.xmp.sidecar import Region, Sidecar, read

log = logging.getLogger(__name__)

EMBEDDED_SCAN = 512 * 1024  # embedded XMP is looked for in a file's first bytes
MATCH = 0.25  # a region and a face overlapping this much (IoU) are the same face
ASPECT = 0.03  # AppliedToDimensions this close in shape to the photo fit it


@dataclass
class ImportReport:
    files: int = 0  # files whose XMP was read
    names: int = 0  # faces named from a region
    drawn: int = 0  # regions where Kenning had no face: drawn faces
    tags: int = 0  # keywords added as the user's tags
    conflicts: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    def __bool__(self) -> bool:  # something to tell
        return bool(self.names or self.drawn or self.tags or self.conflicts or self.failed)


def embedded_xmp(fd: int) -> bytes | None:
    """The XMP packet in a file's first bytes (JPEG's APP1, PNG's iTXt, TIFF, HEIC...)."""
    head = os.pread(fd, EMBEDDED_SCAN, 0)
    start = head.find(b"<x:xmpmeta")
    end_tag = b"</x:xmpmeta>"
    if start < 0:
        start, end_tag = head.find(b"<rdf:RDF"), b"</rdf:RDF>"
    if start < 0:
        return None
    end = head.find(end_tag, start)
    if end < 0:
        raise BadSidecar("the embedded XMP is cut short")
    return head[start:end + len(end_tag)]


def _sidecars_of(rel_name: bytes, listing: dict[bytes, bytes]) -> list[bytes]:
    """The sidecar names present for a file: photo.jpg.xmp, then photo.xmp (any case)."""
    stem = rel_name.rpartition(b".")[0] or rel_name
    found = []
    for candidate in (rel_name + b".xmp", stem + b".xmp"):
        name = listing.get(candidate.lower())
        if name is not None and name not in found:
            found.append(name)
    return found


def _signature(content_hash: str, dir_fd: int, names: list[bytes]) -> str:
    parts = [content_hash or ""]
    for name in names:
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            parts.append(f"{name.hex()}:{info.st_mtime_ns}:{info.st_size}")
    return ";".join(parts)


def _read_sidecar(dir_fd: int, name: bytes) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                 dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BadSidecar("the sidecar is not a regular file")
        data = os.pread(fd, MAX_BYTES + 1, 0)
    finally:
        os.close(fd)
    return data


def _combined(parts: list[Sidecar]) -> Sidecar:
    """Sidecars first, then the embedded packet: a face or keyword counted once."""
    result = Sidecar()
    for part in parts:
        for region in part.regions:
            if not any(overlap(region.box, kept.box) >= 0.5 for kept in result.regions):
                result.regions.append(region)
        result.keywords.extend(part.keywords)
        result.people.extend(part.people)
        result.kenning_tags |= part.kenning_tags
    return result


def read_file_xmp(root_fd: int, root_raw: bytes, rel: bytes, dir_fd: int,
                  names: list[bytes]) -> tuple[Sidecar, int]:
    """A file's sidecars and embedded XMP, combined; and its EXIF orientation."""
    from kenning.xmp.export import orientation_of

    parts = [read(_read_sidecar(dir_fd, name)) for name in names]
    fd = open_beneath(root_fd, rel, root_raw)
    try:
        packet = embedded_xmp(fd)
        if packet:
            parts.append(read(packet))
        combined = _combined(parts)
        orientation = orientation_of(fd) if combined.regions else 1
    finally:
        os.close(fd)
    return combined, orientation


def shown_regions(regions: list[Region], orientation: int, size: tuple[int, int]) -> list[Box]:
    """Regions as boxes on the photo as shown. Regions drawn on an image of another shape
    are refused; on the photo as shown rather than as stored (as some tools write them),
    they are taken as they are."""
    width, height = size
    stored = (height, width) if turned(orientation) else (width, height)
    boxes = []
    for region in regions:
        as_shown = False
        if region.applied_to:
            aspect = region.applied_to[0] / region.applied_to[1]
            if abs(aspect / (stored[0] / stored[1]) - 1) <= ASPECT:
                as_shown = False
            elif turned(orientation) and abs(aspect / (width / height) - 1) <= ASPECT:
                as_shown = True
            else:
                raise BadSidecar(
                    f"its regions were drawn on a {region.applied_to[0]:.0f}x"
                    f"{region.applied_to[1]:.0f} image, and the photo is "
                    f"{stored[0]}x{stored[1]}")
        boxes.append(clipped(region.box if as_shown else to_shown(region.box, orientation)))
    return boxes


@dataclass
class _Work:
    file_id: int
    rel: bytes
    kind: str
    size: tuple[int, int] | None
    signature: str
    sidecar: Sidecar | None = None
    orientation: int = 1
    error: str | None = None


def import_xmp(settings, db: Database, mount_id: int, faces=None) -> ImportReport:
    """Read the XMP of the mount's files that are new or changed (or whose sidecars are),
    and apply it. `faces`: the faces classifier, for regions where no face was found."""
    report = ImportReport()
    with db.session() as session:
        mount = session.get(Mount, mount_id)
        user = session.get(User, mount.user_id).name
        root = mount.root
        rows = session.execute(
            select(File.id, File.rel_path_raw, File.kind, File.width, File.height,
                   File.content_hash, XmpFile.import_signature)
            .outerjoin(XmpFile, XmpFile.file_id == File.id)
            .where(File.mount_id == mount_id, File.kind.in_(("image", "video")),
                   File.scan_error.is_(None), File.content_hash.is_not(None))).all()
        waiting = set(session.scalars(select(WorkItem.file_id).join(
            File, File.id == WorkItem.file_id).where(
            File.mount_id == mount_id, WorkItem.classifier == "faces",
            WorkItem.state == WorkState.PENDING)))
    by_dir: dict[bytes, list] = defaultdict(list)
    for row in rows:
        by_dir[row.rel_path_raw.rpartition(b"/")[0]].append(row)
    try:
        root_fd = open_root(root)
    except OSError:
        return report
    work: list[_Work] = []
    try:
        for rel_dir, members in by_dir.items():
            work += _read_folder(root_fd, root.raw, rel_dir, members, waiting)
    finally:
        os.close(root_fd)
    for item in work:
        report.files += 1
        if item.error:
            report.failed[item.rel.decode("utf-8", "replace")] = item.error
            _record(db, item, {}, item.error)
            continue
        try:
            applied = _apply(settings, db, user, mount, item, faces, report)
        except Exception as exc:  # noqa: BLE001 - one file's XMP never stops the run
            log.exception("importing the XMP of %r failed", item.rel)
            report.failed[item.rel.decode("utf-8", "replace")] = f"could not be applied: {exc}"
            _record(db, item, {}, f"could not be applied: {exc}")
            continue
        _record(db, item, applied, None)
    return report


def _read_folder(root_fd: int, root_raw: bytes, rel_dir: bytes, members: list,
                 waiting: set[int]) -> list[_Work]:
    try:
        dir_fd = (open_beneath(root_fd, rel_dir, root_raw, directory=True) if rel_dir
                  else os.dup(root_fd))
    except OSError:
        return []
    work = []
    try:
        listing = {name.lower(): name for name in map(os.fsencode, os.listdir(dir_fd))
                   if name.lower().endswith(b".xmp")}
        for row in members:
            if row.id in waiting:
                continue  # its faces are not found yet: read once they are
            name = row.rel_path_raw.rpartition(b"/")[2]
            names = _sidecars_of(name, listing)
            signature = _signature(row.content_hash, dir_fd, names)
            if signature == row.import_signature:
                continue
            item = _Work(row.id, row.rel_path_raw, row.kind,
                         (row.width, row.height) if row.width and row.height else None,
                         signature)
            try:
                item.sidecar, item.orientation = read_file_xmp(
                    root_fd, root_raw, row.rel_path_raw, dir_fd, names)
            except BadSidecar as exc:
                item.error = str(exc)
            except OSError as exc:
                item.error = f"its XMP could not be read ({exc.strerror or exc})"
            work.append(item)  # (with nothing in it too: its signature is kept)
    finally:
        os.close(dir_fd)
    return work


def _record(db: Database, item: _Work, applied: dict, error: str | None) -> None:
    with db.session() as session:
        row = session.get(XmpFile, item.file_id)
        if row is None:
            row = XmpFile(file_id=item.file_id)
            session.add(row)
        previous = json.loads(row.import_report) if row.import_report else {}
        if applied:
            applied["tags"] = sorted(set(previous.get("tags", [])) | set(applied["tags"]))
        row.import_signature, row.import_error = item.signature, error
        row.import_report = json.dumps(applied or previous)
        row.imported_at = utcnow()


def _previous_tags(db: Database, file_id: int) -> set[str]:
    with db.session() as session:
        row = session.get(XmpFile, file_id)
        return set(json.loads(row.import_report).get("tags", [])) \
            if row and row.import_report else set()


def _apply(settings, db: Database, user: str, mount: Mount, item: _Work, faces,
           report: ImportReport) -> dict:
    sidecar = item.sidecar
    applied = {"names": [], "tags": [], "drawn": 0, "conflicts": []}
    before = _previous_tags(db, item.file_id)
    for keyword in sidecar.own_keywords():
        if fold(keyword) in before:
            continue  # added by an earlier import: if it is gone, the user removed it
        if _add_user_tag(db, mount.user_id, item.file_id, keyword):
            applied["tags"].append(fold(keyword))
            report.tags += 1
    named = [region for region in sidecar.regions if region.name]
    if named and item.kind == "image" and item.size:
        boxes = shown_regions(named, item.orientation, item.size)
        _name_faces(settings, db, user, mount, item, list(zip(named, boxes, strict=True)),
                    faces, applied, report)
    return applied


def _add_user_tag(db: Database, user_id: int, file_id: int, name: str) -> bool:
    from kenning import tagnames

    try:
        name = clean(name, "a tag", 100)
    except BadName:
        return False
    with db.session() as session:
        bump(session, user_id=user_id)
        tag = tagnames.tag_to_add(db, session, user_id, name)
        if session.get(FileTag, (file_id, tag.id, "user")) is not None:
            return False
        session.add(FileTag(file_id=file_id, tag_id=tag.id, source="user", score=1.0))
    return True


def _matches(regions: list[tuple[Region, Box]], faces: list, size: tuple[int, int]):
    """Each region's face (or None): the best overlapping pairs first."""
    width, height = size
    pairs = []
    for r, (_region, box) in enumerate(regions):
        for face in faces:
            shown = (face.x / width, face.y / height, face.width / width, face.height / height)
            score = overlap(box, shown)
            cx, cy = shown[0] + shown[2] / 2, shown[1] + shown[3] / 2
            centred = box[0] <= cx <= box[0] + box[2] and box[1] <= cy <= box[1] + box[3]
            if score >= MATCH or (centred and score >= MATCH / 2):
                pairs.append((score, r, face))
    chosen: dict[int, object] = {}
    used: set[int] = set()
    for _score, r, face in sorted(pairs, key=lambda p: -p[0]):
        if r not in chosen and face.id not in used:
            chosen[r] = face
            used.add(face.id)
    return [chosen.get(r) for r in range(len(regions))]


def _name_faces(settings, db: Database, user: str, mount: Mount, item: _Work,
                regions: list[tuple[Region, Box]], classifier, applied: dict,
                report: ImportReport) -> None:
    shown_name = item.rel.decode("utf-8", "replace")
    with db.session() as session:
        faces = list(session.scalars(select(Face).where(Face.file_id == item.file_id)))
        for face in faces:
            session.expunge(face)
    matched = _matches(regions, faces, item.size)
    for (region, box), face in zip(regions, matched, strict=True):
        if face is None:
            face = _drawn(settings, db, mount, item, box, classifier)
            if face is None:
                continue
            applied["drawn"] += 1
            report.drawn += 1
        conflict = _name_one(db, user, mount.user_id, face, region.name)
        if conflict:
            applied["conflicts"].append(conflict)
            report.conflicts.append(f"{shown_name}: {conflict}")
        elif conflict is None:
            applied["names"].append(region.name)
            report.names += 1


def _name_one(db: Database, user: str, user_id: int, face, name: str) -> str | None | bool:
    """Name one face from a region: None when named, a conflict in words, or False when
    it already was that person's."""
    with db.session() as session:
        face = session.get(Face, face.id)
        key = fold(name)
        person = session.get(Person, face.person_id) if face.person_id else None
        target = session.scalar(select(Person).where(Person.user_id == user_id,
                                                     Person.name_key == key))
        if person is not None and person.name_key == key:
            return False  # (its own sidecar read back: nothing changes)
        if face.not_face and face.not_face_by == AssignedBy.USER:
            return f"a face named {name!r} there was marked not a face in Kenning; kept"
        if target is not None and session.get(FaceRejection, (face.id, target.id)):
            return f"a face named {name!r} there was taken out of {name!r} in Kenning; kept"
        if person is not None and person.name:
            return (f"a face named {name!r} there is {person.name!r} in Kenning; "
                    f"kept {person.name!r}")
        if person is not None and face.assigned_by == AssignedBy.USER:
            return f"a face named {name!r} there was placed by you in Kenning; kept"
        try:
            if person is not None and target is None:
                # An unnamed person clustering made: this name is theirs now.
                bump(session, user_id=user_id)
                person.name, person.name_key = people._name(name), key
                face.assigned_by = AssignedBy.USER
                face.not_face, face.not_face_by = False, AssignedBy.USER
                people_tags.refresh(session, [face.file_id])
                return None
            people.name_faces(db, user, [face.id], name, session=session)
        except people.PeopleError as exc:
            return f"{name!r} could not be named: {exc}"
    return None


def _drawn(settings, db: Database, mount: Mount, item: _Work, box: Box, classifier):
    """A face where a region is and Kenning found none, found in the photo."""
    if classifier is None:
        return None
    import json as _json

    from kenning.faces.drawn import DRAWN, box_fits, drawn_face
    from kenning.media.confined import fd_path
    from kenning.media.images import open_image

    if not box_fits(box):
        return None
    root_fd = open_root(mount.root)
    try:
        fd = open_beneath(root_fd, item.rel, mount.root.raw)
    finally:
        os.close(root_fd)
    try:
        image, shown = open_image(fd_path(fd), min_long_side=2048)
        found = drawn_face(classifier, image, shown, box, item.file_id)
    except Exception:  # noqa: BLE001 - a photo that cannot be read: no drawn face
        log.warning("no drawn face for a region of %r", item.rel, exc_info=True)
        return None
    finally:
        os.close(fd)
    with db.session() as session:
        face = Face(file_id=item.file_id, x=found.box[0], y=found.box[1],
                    width=found.box[2], height=found.box[3],
                    landmarks=_json.dumps([list(map(float, p)) for p in found.landmarks]),
                    score=found.score, quality=found.quality, embedding=found.embedding,
                    model_version=DRAWN + classifier.model_version,
                    thumbnail=found.thumbnail)
        session.add(face)
        session.flush()
        session.expunge(face)
    return face
