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
from kenning.xmp.rdf import BadSidecar
from kenning.xmp.reading import Work, read_folder, shown_regions
from kenning.xmp.regions import Box
from kenning.xmp.sidecar import Region

log = logging.getLogger(__name__)

MATCH = 0.25  # a region and a face overlapping this much (IoU) are the same face


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
    work: list[Work] = []
    try:
        for rel_dir, members in by_dir.items():
            work += read_folder(root_fd, root.raw, rel_dir, members, waiting)
    finally:
        os.close(root_fd)
    quiet = []  # (item, applied, error): recorded together at the end
    ready = []  # (item, the faces of its named regions)
    for item in work:
        report.files += 1
        if item.error:
            report.failed[item.rel.decode("utf-8", "replace")] = item.error
            quiet.append((item, {}, item.error))
        elif not (item.sidecar.regions or item.sidecar.keywords):
            quiet.append((item, {}, None))
        else:
            try:
                ready.append((item, _faces_for_regions(settings, db, mount, item, faces,
                                                       report)))
            except BadSidecar as exc:
                report.failed[item.rel.decode("utf-8", "replace")] = str(exc)
                quiet.append((item, {}, str(exc)))
    # One transaction for all (a savepoint each: a file that fails costs itself alone).
    with db.session() as session:
        ids = [item.file_id for item in work]
        rows = {}
        for start in range(0, len(ids), 500):
            rows.update((row.file_id, row) for row in session.scalars(
                select(XmpFile).where(XmpFile.file_id.in_(ids[start:start + 500]))))
        tag_ids: dict[str, int] = {}
        for item, pairs in ready:
            _import_one(session, db, user, mount, item, pairs, report, quiet, tag_ids, rows)
        for item, applied, error in quiet:
            _record(session, rows, item, applied, error)
        if report.names or report.tags:
            bump(session, user_id=mount.user_id)
    return report


def _import_one(session, db: Database, user: str, mount: Mount, item: Work, pairs: list,
                report: ImportReport, quiet: list, tag_ids: dict[str, int],
                rows: dict[int, XmpFile]) -> None:
    met = dict(tag_ids)  # (tags made in a savepoint that fails are not kept)
    new_row = item.file_id not in rows
    counts = (report.names, report.tags, len(report.conflicts))
    try:
        with session.begin_nested():
            applied = _apply(session, db, user, mount, item, pairs, report, met,
                             rows.get(item.file_id))
            _record(session, rows, item, applied, None)
        tag_ids.update(met)
    except Exception as exc:  # noqa: BLE001 - one file's XMP never stops the run
        log.exception("importing the XMP of %r failed", item.rel)
        if new_row:
            rows.pop(item.file_id, None)
        report.names, report.tags = counts[0], counts[1]
        del report.conflicts[counts[2]:]
        report.failed[item.rel.decode("utf-8", "replace")] = f"could not be applied: {exc}"
        quiet.append((item, {}, f"could not be applied: {exc}"))


def _record(session, rows: dict[int, XmpFile], item: Work, applied: dict,
            error: str | None) -> None:
    row = rows.get(item.file_id)
    if row is None:
        row = rows[item.file_id] = XmpFile(file_id=item.file_id)
        session.add(row)
    previous = json.loads(row.import_report) if row.import_report else {}
    if applied:
        applied["tags"] = sorted(set(previous.get("tags", [])) | set(applied["tags"]))
    row.import_signature, row.import_error = item.signature, error
    row.import_report = json.dumps(applied or previous)
    row.imported_at = utcnow()


def _faces_for_regions(settings, db: Database, mount: Mount, item: Work, classifier,
                       report: ImportReport) -> list[tuple[str, int, bool]]:
    """(name, face id, drawn) for each named region: the face Kenning found there, or a
    face drawn where it found none."""
    named = [region for region in item.sidecar.regions if region.name]
    if not (named and item.kind == "image" and item.size):
        return []
    regions = list(zip(named, shown_regions(named, item.orientation, item.size), strict=True))
    with db.session() as session:
        faces = list(session.scalars(select(Face).where(Face.file_id == item.file_id)))
        for face in faces:
            session.expunge(face)
    pairs = []
    for (region, box), face in zip(regions, _matches(regions, faces, item.size), strict=True):
        drawn = face is None
        if drawn:
            face = _drawn(settings, db, mount, item, box, classifier)
            if face is None:
                continue
            report.drawn += 1
        pairs.append((region.name, face.id, drawn))
    return pairs


def _apply(session, db: Database, user: str, mount: Mount, item: Work,
           pairs: list[tuple[str, int, bool]], report: ImportReport,
           tag_ids: dict[str, int], row: XmpFile | None) -> dict:
    applied = {"names": [], "tags": [], "drawn": sum(d for _n, _f, d in pairs),
               "conflicts": []}
    before = set(json.loads(row.import_report).get("tags", [])) \
        if row and row.import_report else set()
    # A keyword an earlier import added and that is gone now was removed by the user.
    fresh = [k for k in item.sidecar.own_keywords() if fold(k) not in before]
    applied["tags"] = _add_user_tags(session, db, mount.user_id, item.file_id, fresh, tag_ids)
    report.tags += len(applied["tags"])
    for name, face_id, _drawn_face in pairs:
        conflict = _name_one(session, db, user, mount.user_id, face_id, name)
        if conflict:
            applied["conflicts"].append(conflict)
            report.conflicts.append(f"{item.rel.decode('utf-8', 'replace')}: {conflict}")
        elif conflict is None:
            applied["names"].append(name)
            report.names += 1
    return applied


def _add_user_tags(session, db: Database, user_id: int, file_id: int, names: list[str],
                   tag_ids: dict[str, int]) -> list[str]:
    """The keywords as the user's tags on the file; returns the keys of those added
    (not those already there). `tag_ids`: the tags met so far in this import, by key."""
    from sqlalchemy import insert

    from kenning import tagnames

    wanted: dict[str, int] = {}
    for name in names:
        try:
            name = clean(name, "a tag", 100)
        except BadName:
            continue
        key = fold(name)
        if key not in tag_ids:
            tag_ids[key] = tagnames.tag_to_add(db, session, user_id, name).id
        wanted.setdefault(key, tag_ids[key])
    if not wanted:
        return []
    there = set(session.scalars(select(FileTag.tag_id).where(
        FileTag.file_id == file_id, FileTag.source == "user",
        FileTag.tag_id.in_(set(wanted.values())))))
    added = {key: tag_id for key, tag_id in wanted.items() if tag_id not in there}
    if added:
        session.execute(insert(FileTag), [
            {"file_id": file_id, "tag_id": tag_id, "source": "user", "score": 1.0}
            for tag_id in set(added.values())])
    return list(added)


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


def _name_one(session, db: Database, user: str, user_id: int, face_id: int,
              name: str) -> str | None | bool:
    """Name one face from a region: None when named, a conflict in words, or False when
    it already was that person's."""
    face = session.get(Face, face_id)
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
            person.name, person.name_key = people._name(name), key
            face.assigned_by = AssignedBy.USER
            face.not_face, face.not_face_by = False, AssignedBy.USER
            session.flush()
            people_tags.refresh(session, [face.file_id])
            return None
        people.name_faces(db, user, [face.id], name, session=session)
    except people.PeopleError as exc:
        return f"{name!r} could not be named: {exc}"
    return None


def _drawn(settings, db: Database, mount: Mount, item: Work, box: Box, classifier):
    """A face where a region is and Kenning found none, found in the photo."""
    if classifier is None:
        return None
    from kenning.faces.drawn import box_fits, drawn_face
    from kenning.faces.marks import DRAWN
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
                    landmarks=json.dumps([list(map(float, p)) for p in found.landmarks]),
                    score=found.score, quality=found.quality, embedding=found.embedding,
                    model_version=DRAWN + classifier.model_version,
                    thumbnail=found.thumbnail)
        session.add(face)
        session.flush()
        session.expunge(face)
    return face
