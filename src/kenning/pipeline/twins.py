"""Work done once per content: a file whose bytes a classifier has already seen (a copy in
another folder, or the same folder added by a second user) takes that classifier's results
from its twin instead of running the model again.

Only what the classifier itself made is copied (its tags, raw labels, sizes, faces, place),
never what a person did: no one's names, person assignments or typed tags travel, and a
twin whose tags its owner changed (removed one, or added one by hand) is not used: its
classifier tags are no longer the classifier's own. Faces arrive unassigned, so each
user's people are their own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased

from kenning.classifiers.base import BatchOutcome, Classifier, FileResult, FoundFace
from kenning.db import Database
from kenning.db.schema import (
    Face,
    File,
    FileLabel,
    FilePlace,
    FileTag,
    Tag,
    TagRejection,
    WorkItem,
    WorkState,
)
from kenning.pipeline.jobs import store_outcome

CHUNK = 500
PLACE_FIELDS = ("latitude", "longitude", "city", "region", "country", "country_code",
                "distance_km")


def pending_twins(db: Database, classifier: Classifier, mount_ids: Sequence[int]
                  ) -> list[tuple[int, int]]:
    """(pending file, done twin) pairs: files of these mounts the classifier still owes
    whose content it has processed elsewhere with the same model."""
    mine, theirs = aliased(File), aliased(File)
    owed, done = aliased(WorkItem), aliased(WorkItem)
    # A twin whose tags a person changed (a tag removed, or added by hand, maybe one the
    # classifier had given and they took away first) no longer shows the classifier's own.
    touched = exists().where(TagRejection.file_id == theirs.id) | \
        exists().where(FileTag.file_id == theirs.id, FileTag.source == "user")
    with db.session() as session:
        rows = session.execute(
            select(mine.id, theirs.id)
            .join(owed, and_(owed.file_id == mine.id, owed.classifier == classifier.name,
                             owed.state == WorkState.PENDING))
            .join(theirs, and_(theirs.content_hash == mine.content_hash,
                               theirs.id != mine.id))
            .join(done, and_(done.file_id == theirs.id, done.classifier == classifier.name,
                             done.state == WorkState.DONE,
                             done.model_version == classifier.model_version))
            .where(mine.mount_id.in_(list(mount_ids)), mine.content_hash.is_not(None),
                   ~touched)
            .order_by(mine.id, theirs.id)).all()
    twins: dict[int, int] = {}
    for file_id, twin_id in rows:
        twins.setdefault(file_id, twin_id)
    return list(twins.items())


def held_back(db: Database, classifier: Classifier, mount_ids: Sequence[int]) -> set[int]:
    """Pending files whose content another pending file of these mounts (the first by id)
    also has: only that one is processed, the others get its results afterwards."""
    with db.session() as session:
        rows = session.execute(
            select(File.id, File.content_hash)
            .join(WorkItem, and_(WorkItem.file_id == File.id,
                                 WorkItem.classifier == classifier.name,
                                 WorkItem.state == WorkState.PENDING))
            .where(File.mount_id.in_(list(mount_ids)), File.content_hash.is_not(None))
            .order_by(File.id)).all()
    first: set[str] = set()
    later = set()
    for file_id, content in rows:
        if content in first:
            later.add(file_id)
        first.add(content)
    return later


def copy_from_twins(db: Database, classifier: Classifier, mount_ids: Sequence[int]) -> int:
    """Give the files of these mounts that have a done twin the twin's results (stored as
    a batch of this classifier, so it is exactly as if the model had run). Returns how
    many files were served so."""
    pairs = pending_twins(db, classifier, mount_ids)
    for start in range(0, len(pairs), CHUNK):
        chunk = pairs[start:start + CHUNK]
        results = twin_results(db, classifier, dict(chunk))
        store_outcome(db, BatchOutcome(classifier.name, classifier.model_version, results))
    return len(pairs)


def twin_results(db: Database, classifier: Classifier, twin_of: dict[int, int]
                 ) -> list[FileResult]:
    name, version = classifier.name, classifier.model_version
    twin_ids = list(set(twin_of.values()))
    by_twin: dict[int, FileResult] = {}
    with db.session() as session:
        for twin_id, width, height, taken_ns, taken_from, camera, lens in session.execute(
                select(File.id, File.width, File.height, File.taken_ns, File.taken_from,
                       File.camera, File.lens).where(File.id.in_(twin_ids))):
            places = name == "places"
            by_twin[twin_id] = FileResult(twin_id, width=width, height=height,
                                          taken_ns=taken_ns if places else None,
                                          taken_from=taken_from if places else None,
                                          camera=camera if places else None,
                                          lens=lens if places else None)
        for twin_id, tag, score in session.execute(
                select(FileTag.file_id, Tag.name, FileTag.score).join(Tag)
                .where(FileTag.file_id.in_(twin_ids), FileTag.source == name)):
            by_twin[twin_id].tags.append((tag, score))
        for twin_id, label, score in session.execute(
                select(FileLabel.file_id, FileLabel.label, FileLabel.score)
                .where(FileLabel.file_id.in_(twin_ids), FileLabel.classifier == name)):
            by_twin[twin_id].labels.append((label, score))
        if classifier.finds_faces:
            for result in by_twin.values():
                result.faces = []
            for face in session.scalars(select(Face).where(Face.file_id.in_(twin_ids),
                                                           Face.model_version == version)
                                        .order_by(Face.id)):
                by_twin[face.file_id].faces.append(FoundFace(
                    (face.x, face.y, face.width, face.height), json.loads(face.landmarks),
                    face.score, face.quality, face.embedding, face.thumbnail,
                    face.non_human, face.made_face))
        if name == "places":
            for place in session.scalars(select(FilePlace)
                                         .where(FilePlace.file_id.in_(twin_ids))):
                by_twin[place.file_id].place = {f: getattr(place, f) for f in PLACE_FIELDS}
    names = _own_dates(db, twin_of) if name == "places" else {}
    results = []
    for file_id, twin_id in twin_of.items():
        twin = by_twin[twin_id]
        taken_ns, taken_from = twin.taken_ns, twin.taken_from
        if taken_from != "camera":  # a date from a name is the file's own, not its twin's
            taken_ns, taken_from = names.get(file_id, (None, None))
        results.append(FileResult(file_id, list(twin.tags), list(twin.labels), twin.width,
                                  twin.height, None if twin.faces is None else list(twin.faces),
                                  twin.place, taken_ns, taken_from, twin.camera, twin.lens))
    return results


def _own_dates(db: Database, twin_of: dict[int, int]) -> dict[int, tuple[int, str]]:
    """The dates in these files' own names (kenning.media.location.name_time)."""
    from kenning.media.location import name_time

    dates = {}
    with db.session() as session:
        for file_id, rel in session.execute(select(File.id, File.rel_path)
                                            .where(File.id.in_(list(twin_of)))):
            when = name_time(os.path.basename(os.fsdecode(rel)))
            if when is not None:
                dates[file_id] = (when, "name")
    return dates
