"""Work: what each classifier owes each file, batches of it, and storing what a batch found.

The database is the only record of what is pending. Any executor (in-process threads
or Celery workers) classifies a `Batch` and stores its outcome, nothing else; storing a
batch replaces that classifier's earlier results for those files, so a batch that is
delivered twice never duplicates anything.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, delete, exists, insert, select, update
from sqlalchemy.exc import DBAPIError

from kenning.classifiers.base import (
    BatchOutcome,
    Classifier,
    FoundFace,
    MediaFile,
    prepare_together,
)
from kenning.db import (
    Database,
    Face,
    FaceRejection,
    File,
    FileLabel,
    FilePlace,
    FileTag,
    Mount,
    Tag,
    TagRejection,
    WorkItem,
    WorkState,
)
from kenning.db.schema import SHARED
from kenning.db.session import database_unwritable, retryable
from kenning.faces import people_tags
from kenning.faces.marks import is_drawn
from kenning.media.confined import MountRoot
from kenning.media.sniff import MediaKind
from kenning.names import place_key
from kenning.tagnames import shared_tag_ids

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Batch:
    classifier: str
    file_ids: tuple[int, ...]
    # More classifiers for the same files, each photo decoded once for all of them
    # (in-process only: see `pending_photo_batches`).
    also: tuple[str, ...] = ()

    @property
    def classifiers(self) -> tuple[str, ...]:
        return (self.classifier, *self.also)

    def only(self, classifier: str) -> Batch:
        """This batch as one classifier's (what its outcome is reported against)."""
        return Batch(classifier, self.file_ids)


def sync_work(db: Database, classifier: Classifier, mount_ids: Sequence[int]) -> None:
    """Make the work table say what `classifier` owes the files of these mounts."""
    version = classifier.model_version
    kinds = [str(kind) for kind in classifier.kinds]
    with db.session() as session:
        owed = select(File.id).where(
            File.mount_id.in_(mount_ids), File.kind.in_(kinds), File.scan_error.is_(None),
            ~exists().where(and_(WorkItem.file_id == File.id,
                                 WorkItem.classifier == classifier.name)))
        if classifier.only_with_tags:
            tagged = (select(FileTag.file_id).join(Tag, Tag.id == FileTag.tag_id)
                      .where(Tag.owner_id == SHARED, Tag.name.in_(classifier.only_with_tags),
                             FileTag.source != classifier.name))
            owed = owed.where(File.id.in_(tagged))
            _drop_ungated_work(session, classifier.name, mount_ids, tagged)
        rows = [{"file_id": fid, "classifier": classifier.name, "model_version": version,
                 "state": WorkState.PENDING, "attempts": 0}
                for fid in session.scalars(owed)]
        for start in range(0, len(rows), 1000):
            session.execute(insert(WorkItem), rows[start:start + 1000])
        in_mounts = select(File.id).where(File.mount_id.in_(mount_ids))
        session.execute(
            update(WorkItem)
            .where(WorkItem.classifier == classifier.name, WorkItem.model_version != version,
                   WorkItem.file_id.in_(in_mounts))
            .values(model_version=version, state=WorkState.PENDING, attempts=0, error=None))


def _drop_ungated_work(session, classifier: str, mount_ids: Sequence[int], tagged) -> None:
    """Files that no longer carry a gate tag (their objects were redone) owe nothing to a
    gated classifier, and what it found there goes."""
    gone = select(WorkItem.file_id).join(File, File.id == WorkItem.file_id).where(
        WorkItem.classifier == classifier, File.mount_id.in_(mount_ids),
        WorkItem.file_id.not_in(tagged))
    ids = list(session.scalars(gone))
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        session.execute(delete(FileTag).where(FileTag.file_id.in_(chunk),
                                              FileTag.source == classifier))
        session.execute(delete(FileLabel).where(FileLabel.file_id.in_(chunk),
                                                FileLabel.classifier == classifier))
        session.execute(delete(WorkItem).where(WorkItem.file_id.in_(chunk),
                                               WorkItem.classifier == classifier))


def even_chunks(ids: Sequence[int], batch_size: int, workers: int = 1) -> list[tuple[int, ...]]:
    """`ids` cut into batches of at most `batch_size`, as many as a multiple of `workers`
    and of equal size: the workers then finish together, none waits alone on the last
    batch (20 photos on 2 workers: 4 batches of 5, not 8, 8 and 4)."""
    if not ids:
        return []
    count = -(-len(ids) // batch_size)
    count = -(-count // workers) * workers
    count = min(count, len(ids))
    bounds = [round(i * len(ids) / count) for i in range(count + 1)]
    return [tuple(ids[a:b]) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def pending_batches(db: Database, classifier: str, mount_ids: Sequence[int],
                    batch_size: int, workers: int = 1,
                    skip: Collection[int] = frozenset()) -> list[Batch]:
    """The classifier's pending files of these mounts in batches, but those in `skip`
    (copies held back until their twin is done: pipeline.twins.held_back)."""
    with db.session() as session:
        ids = session.scalars(
            select(WorkItem.file_id).join(File, File.id == WorkItem.file_id)
            .where(WorkItem.classifier == classifier, WorkItem.state == WorkState.PENDING,
                   File.mount_id.in_(mount_ids))
            .order_by(File.mount_id, File.rel_path)).all()
    ids = [i for i in ids if i not in skip]
    return [Batch(classifier, chunk) for chunk in even_chunks(ids, batch_size, workers)]


def pending_photo_batches(db: Database, classifiers: Sequence[str], mount_ids: Sequence[int],
                          batch_size: int, workers: int = 1,
                          skip: Mapping[str, Collection[int]] | None = None) -> list[Batch]:
    """Batches over the files pending for any of these (photo) classifiers, each batch
    for every classifier that owes all its files: a photo is decoded once for them.
    `skip`: per classifier, files it leaves for now (as in pending_batches)."""
    skip = skip or {}
    with db.session() as session:
        rows = session.execute(
            select(WorkItem.file_id, WorkItem.classifier).join(File, File.id == WorkItem.file_id)
            .where(WorkItem.classifier.in_(list(classifiers)),
                   WorkItem.state == WorkState.PENDING, File.mount_id.in_(mount_ids))
            .order_by(File.mount_id, File.rel_path, WorkItem.file_id)).all()
    owed: dict[int, list[str]] = {}
    for file_id, classifier in rows:
        if file_id not in skip.get(classifier, ()):
            owed.setdefault(file_id, []).append(classifier)
    groups: dict[tuple[str, ...], list[int]] = {}
    for file_id, names in owed.items():
        groups.setdefault(tuple(sorted(names, key=list(classifiers).index)), []).append(file_id)
    return [Batch(names[0], chunk, names[1:])
            for names, ids in groups.items() for chunk in even_chunks(ids, batch_size, workers)]


def map_path(root: str, path_map: Sequence[tuple[str, str]]) -> str:
    """A mount's path as this machine sees it (`kenning worker --path-map FROM=TO`)."""
    for seen_there, seen_here in path_map:
        there = seen_there.rstrip("/")
        if root == there or root.startswith(there + "/"):
            return seen_here.rstrip("/") + root[len(there):]
    return root


def load_media_files(db: Database, file_ids: Iterable[int],
                     path_map: Sequence[tuple[str, str]] = (), session=None) -> list[MediaFile]:
    """The files to classify, paths as this machine sees them (in `session` if given).
    Each carries its mount, so that it is opened inside it only; a mount seen through
    `--path-map` is another machine's folder, so its pin (device and inode) is not
    checked here."""
    if session is None:
        with db.session() as own:
            return load_media_files(db, file_ids, path_map, own)
    rows = session.execute(
        select(File.id, File.rel_path_raw, File.kind, File.format, Mount.path, Mount.device,
               Mount.inode)
        .join(Mount, Mount.id == File.mount_id).where(File.id.in_(list(file_ids))))
    files = []
    for fid, raw, kind, fmt, root, device, inode in rows:
        here = map_path(root, path_map)
        pin = (device, inode) if device is not None and here == root else None
        files.append(MediaFile(fid, Path(os.fsdecode(os.path.join(os.fsencode(here), raw))),
                               MediaKind(kind), fmt, MountRoot(here, pin), raw))
    return files


def classify_batch(db: Database, classifier: Classifier, batch: Batch) -> BatchOutcome:
    """Classify a batch's files (see classify_files)."""
    return classify_files(classifier, load_media_files(db, batch.file_ids))


def classify_photos(classifiers: Sequence[Classifier], files: Sequence[MediaFile],
                    together=None, runner=None) -> list[BatchOutcome]:
    """Several photo classifiers on the same files, each photo decoded once for all of
    them. Anything going wrong falls back to each classifier on its own (classify_files),
    which isolates the file that caused it. `together(classifiers, files)` and `runner`:
    how, else in this process (a worker decodes in a child, see isolation.py)."""
    try:
        if together is not None:
            return together(classifiers, files)
        prepared = prepare_together(classifiers, files)
        return [c.classify_prepared(p) for c, p in zip(classifiers, prepared, strict=True)]
    except Exception:  # noqa: BLE001 - any bug must cost one file, not the run
        return [classify_files(c, files, runner) for c in classifiers]


def classify_files(classifier: Classifier, files: Sequence[MediaFile],
                   runner=None) -> BatchOutcome:
    """Classify files. A crash inside the classifier is isolated to the file that caused
    it by retrying the batch one file at a time. `runner(classifier, files)`: how (default
    `classifier.classify`; a worker decodes in a child process, see isolation.py)."""
    run = runner or (lambda c, f: c.classify(f))
    try:
        outcome = run(classifier, files)
    except Exception:  # noqa: BLE001 - any bug must cost one file, not the run
        outcome = BatchOutcome(classifier.name, classifier.model_version)
        for file in files:
            try:
                single = run(classifier, [file])
            except Exception as exc:  # noqa: BLE001
                outcome.failures[file.id] = f"internal error: {type(exc).__name__}: {exc}"
                continue
            outcome.results.extend(single.results)
            outcome.failures.update(single.failures)
    return outcome


def box_overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter + 1e-9)


def store_faces(session, found: dict[int, list[FoundFace]], version: str) -> None:
    """Replace these files' faces. A new face at the place of an old one (re-processing, a
    new model) inherits its person, who put it there, the people it was taken out of and
    whether it is "not a face", so names and corrections survive. Faces a person drew
    (faces/drawn.py) stay; a new face at the place of one is not added. A few statements
    per batch, not per file."""
    old_by_file: dict[int, list] = {}
    drawn: dict[int, list] = {}
    for row in session.execute(select(Face.id, Face.file_id, Face.x, Face.y, Face.width,
                                      Face.height, Face.person_id, Face.assigned_by,
                                      Face.model_version, Face.not_face, Face.not_face_by)
                               .where(Face.file_id.in_(list(found)))):
        if is_drawn(row.model_version):
            drawn.setdefault(row.file_id, []).append(row)
        else:
            old_by_file.setdefault(row.file_id, []).append(row)
    rejected: dict[int, list[int]] = {}
    if old_by_file:
        old_ids = [o.id for rows in old_by_file.values() for o in rows]
        for face_id, person_id in session.execute(
                select(FaceRejection.face_id, FaceRejection.person_id)
                .where(FaceRejection.face_id.in_(old_ids))):
            rejected.setdefault(face_id, []).append(person_id)
        session.execute(delete(Face).where(Face.id.in_(old_ids)))
    inheriting: list[tuple[Face, list[int]]] = []
    for file_id, faces in found.items():
        unused = list(old_by_file.get(file_id, ()))
        for face in faces:
            if any(box_overlap((d.x, d.y, d.width, d.height), face.box) >= 0.5
                   for d in drawn.get(file_id, ())):
                continue
            heir = max(unused, key=lambda o: box_overlap((o.x, o.y, o.width, o.height),
                                                         face.box), default=None)
            if heir is not None and box_overlap((heir.x, heir.y, heir.width, heir.height),
                                                face.box) < 0.5:
                heir = None
            if heir is not None:
                unused.remove(heir)
            row = Face(file_id=file_id, x=face.box[0], y=face.box[1], width=face.box[2],
                       height=face.box[3], landmarks=json.dumps(face.landmarks),
                       score=face.score, quality=face.quality, embedding=face.embedding,
                       model_version=version, thumbnail=face.thumbnail,
                       non_human=face.non_human, made_face=face.made_face,
                       person_id=heir.person_id if heir else None,
                       assigned_by=heir.assigned_by if heir else None,
                       not_face=heir.not_face if heir else False,
                       not_face_by=heir.not_face_by if heir else None)
            session.add(row)
            if heir is not None and heir.id in rejected:
                inheriting.append((row, rejected[heir.id]))
    if inheriting:
        session.flush()  # the new faces' ids
        session.add_all(FaceRejection(face_id=row.id, person_id=p)
                        for row, people in inheriting for p in people)


def tag_ids(db: Database, session, names: set[str]) -> dict[str, int]:
    """Ids of these (shared) tag names, made where new (see kenning.tagnames)."""
    return shared_tag_ids(db, session, names)


def store_outcome(db: Database, outcome: BatchOutcome) -> None:
    """Replace the classifier's results for these files and mark their work done or failed.
    Files deleted since the batch was made are skipped. Retried while the database is busy
    or its connection was dropped (a restarted server, a killed backend).

    Storing is idempotent (a tag or label a result gives twice is stored once). Should a
    batch still be refused (a result the database cannot hold), each file is stored on
    its own, and a file whose results cannot be stored is failed alone, with the reason,
    never marked done without them; `outcome` is changed to say so."""
    try:
        db.retrying(_store_outcome, db, outcome)
    except Exception as exc:  # noqa: BLE001 - one file's results must not stop the run
        if _not_the_files(exc) or len(outcome.results) == 0:
            raise
        log.warning("a batch of %s could not be stored (%s); storing file by file",
                    outcome.classifier, _reason(exc))
        _store_file_by_file(db, outcome)


def _store_file_by_file(db: Database, outcome: BatchOutcome) -> None:
    kept, refused = [], {}
    for result in outcome.results:
        alone = BatchOutcome(outcome.classifier, outcome.model_version, [result])
        try:
            db.retrying(_store_outcome, db, alone)
        except Exception as exc:  # noqa: BLE001
            if _not_the_files(exc):
                raise
            refused[result.file_id] = f"could not store the results: {_reason(exc)}"
            log.warning("file %s: %s", result.file_id, refused[result.file_id])
        else:
            kept.append(result)
    failures = {**outcome.failures, **refused}
    db.retrying(_store_outcome, db, BatchOutcome(outcome.classifier, outcome.model_version,
                                                 failures=failures))
    outcome.results, outcome.failures = kept, failures


def _not_the_files(exc: BaseException) -> bool:
    """The database, not these results, is the trouble: it stopped answering, or its disk
    is full or failing. Such an error ends the run; it never fails a file."""
    return isinstance(exc, DBAPIError) and (retryable(exc) or
                                            database_unwritable(exc) is not None)


def _reason(exc: BaseException) -> str:
    """One line saying why (a database error's first line, without its SQL)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _unique(rows: list[dict], *key: str) -> list[dict]:
    """Rows with one per key (the highest score): a classifier may give one tag twice
    (Rio de Janeiro the region and the city) and two names may fold to one tag."""
    best: dict[tuple, dict] = {}
    for row in rows:
        k = tuple(row[name] for name in key)
        if k not in best or row["score"] > best[k]["score"]:
            best[k] = row
    return list(best.values())


def _store_outcome(db: Database, outcome: BatchOutcome) -> None:
    source, version = outcome.classifier, outcome.model_version
    with db.session() as session:
        owed = _mark_done(db, session, outcome)  # files deleted meanwhile are not there
        results = [r for r in outcome.results if r.file_id in owed]
        ids = tag_ids(db, session, {name for r in results for name, _ in r.tags})
        done = [r.file_id for r in results]
        if done:
            session.execute(delete(FileTag).where(FileTag.file_id.in_(done),
                                                  FileTag.source == source))
            session.execute(delete(FileLabel).where(FileLabel.file_id.in_(done),
                                                    FileLabel.classifier == source))
        refused = {(f, t) for f, t in session.execute(
            select(TagRejection.file_id, TagRejection.tag_id)
            .where(TagRejection.file_id.in_(done)))} if done else set()
        tag_rows = _unique([{"file_id": r.file_id, "tag_id": ids[name], "source": source,
                             "score": score, "model_version": version}
                            for r in results for name, score in r.tags
                            if (r.file_id, ids[name]) not in refused], "file_id", "tag_id")
        label_rows = _unique([{"file_id": r.file_id, "classifier": source, "label": label,
                               "score": score, "model_version": version}
                              for r in results for label, score in r.labels],
                             "file_id", "label")
        if tag_rows:
            session.execute(insert(FileTag), tag_rows)
        if label_rows:
            session.execute(insert(FileLabel), label_rows)
        if source == "places" and done:
            session.execute(delete(FilePlace).where(FilePlace.file_id.in_(done)))
            session.add_all(FilePlace(file_id=r.file_id, **r.place, search_key=place_key(
                r.place.get("city"), r.place.get("region"), r.place.get("country")))
                for r in results if r.place)
            session.execute(update(File), [{"id": r.file_id, "taken_ns": r.taken_ns,
                                            "taken_from": r.taken_from, "camera": r.camera,
                                            "lens": r.lens} for r in results])
        found_faces = {r.file_id: r.faces for r in results if r.faces is not None}
        if found_faces:
            store_faces(session, found_faces, version)
        sizes = [{"id": r.file_id, "width": r.width, "height": r.height}
                 for r in results if r.width and r.height]
        if sizes:
            session.execute(update(File), sizes)  # one executemany by primary key
        if done and (found_faces or source == "objects"):  # tags that follow the faces
            people_tags.refresh(session, done)
        for file_id, reason in outcome.failures.items():
            session.execute(update(WorkItem)
                            .where(WorkItem.classifier == source, WorkItem.file_id == file_id)
                            .values(**_finished(outcome, WorkState.FAILED, reason)))


def _mark_done(db: Database, session, outcome: BatchOutcome) -> set[int]:
    """Mark the work of the files with results done; returns those still owed it (one
    statement where the database can return what it updated)."""
    ids = [r.file_id for r in outcome.results]
    if not ids:
        return set()
    where = (WorkItem.classifier == outcome.classifier, WorkItem.file_id.in_(ids))
    values = _finished(outcome, WorkState.DONE, None)
    if db.engine.dialect.update_returning:
        return set(session.scalars(update(WorkItem).where(*where).values(**values)
                                   .returning(WorkItem.file_id)))
    owed = set(session.scalars(select(WorkItem.file_id).where(*where)))
    session.execute(update(WorkItem).where(*where).values(**values))
    return owed


def _finished(outcome: BatchOutcome, state: WorkState, error: str | None) -> dict:
    """A work row's values once a batch has been stored: done or failed, unclaimed."""
    return {"state": state, "error": error, "model_version": outcome.model_version,
            "attempts": WorkItem.attempts + 1, "claimed_by": None, "claimed_at": None}
