"""`kenning index`: register a folder as a mount, scan it, run every enabled classifier."""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from itertools import zip_longest
from pathlib import Path

from sqlalchemy import select

from kenning.classifiers import enabled_classifiers
from kenning.classifiers.base import BatchOutcome, Classifier
from kenning.config import Settings
from kenning.db import Database, Mount, User
from kenning.db.generation import bump
from kenning.db.schema import utcnow
from kenning.faces import people_tags
from kenning.faces.people import ClusterReport, cluster_people, non_human_checked
from kenning.media.confined import MountReplaced, overlapping, pin_of
from kenning.pipeline.executors import Executor, LocalExecutor
from kenning.pipeline.jobs import Batch, pending_batches, pending_photo_batches, sync_work
from kenning.pipeline.progress import NoProgress, Progress
from kenning.pipeline.runlock import mount_run
from kenning.pipeline.scanner import ScanReport, scan_mount
from kenning.pipeline.twins import copy_from_twins, held_back
from kenning.tagnames import adopt_shared
from kenning.users import library_owner

log = logging.getLogger("kenning.index")


@dataclass
class IndexReport:
    mount_path: str
    scan: ScanReport
    processed: Counter = field(default_factory=Counter)  # classifier -> files done
    copied: Counter = field(default_factory=Counter)  # classifier -> files given a twin's results
    failures: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (classifier, why)
    people: ClusterReport | None = None
    xmp: object = None  # kenning.xmp.importer.ImportReport: names and keywords read
    thumbnails: int = 0  # the first screen's (and videos') thumbnails made at the end
    seconds: float = 0.0
    model_seconds: float = 0.0


class FolderError(ValueError):
    """The folder to index cannot be used."""


def user_id(db: Database, name: str) -> int:
    """The user's id; a user the command line names is made (without a password, and
    not an admin: only `kenning user admin` makes admins)."""
    with db.session() as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            user = User(name=name, is_admin=False)
            session.add(user)
            session.flush()
        return user.id


def check_apart(path: str, own) -> None:
    """A mount may neither hold Kenning's own files (`Settings.own_paths`: the data
    folder, a SQLite database and its -wal and -shm files, however they are reached) nor
    lie inside them: Kenning would read its own database and previews as photos, and
    reading the database's files breaks SQLite's locks, which can lose writes."""
    mine = overlapping(path, own)
    if mine is None:
        return
    what = "data folder (--data-dir)" if os.path.isdir(mine) else "database file (database_url)"
    raise FolderError(f"{path} and Kenning's {what} {mine} overlap: keep Kenning's data "
                      "outside your photo folders")


def check_library_apart(db: Database, own) -> None:
    """FolderError if any mount of the library holds Kenning's own files (a database
    moved into a photo folder after the folder was added)."""
    with db.session() as session:
        paths = session.scalars(select(Mount.path)).all()
    for path in paths:
        check_apart(path, own)


def check_folder(folder: Path, own=()) -> tuple[str, str]:
    """(the path as typed, made absolute; the real folder there) of a folder that can be
    a mount; FolderError why not."""
    typed = os.path.abspath(folder)
    path = os.path.realpath(folder)
    if not os.path.exists(path):
        raise FolderError(f"folder not found: {folder}")
    if not os.path.isdir(path):
        raise FolderError(f"not a folder: {folder}")
    if not os.access(path, os.R_OK | os.X_OK):
        raise FolderError(f"folder not readable: {folder}")
    check_apart(path, own)
    return typed, path


def ensure_mount(db: Database, user_name: str, folder: Path,
                 own=(), repin: bool = False, tell=None) -> Mount:
    """The user's mount of `folder`, added (and pinned to the folder's device and inode)
    if it is new. A known mount whose folder is no longer the one pinned, or whose path
    is now a link to another folder, is refused: it is never re-created elsewhere.
    `repin` (the person at the command line says they moved or restored it): the mount
    keeps its results for the real folder now at its path. It is refused through a link
    (a link can lead anywhere, another user's folder included) and for a folder another
    user's mount is pinned to, unless the user is an admin; `tell(text)` is shown both
    folders before the mount changes."""
    typed, path = check_folder(folder, own)
    pin = pin_of(path)
    owner = user_id(db, user_name)
    with db.session() as session:
        moved = session.scalar(select(Mount).where(Mount.user_id == owner,
                                                   Mount.path == typed)) \
            if typed != path else None
        if moved is not None and not repin:
            raise FolderError(MountReplaced(typed).strerror)
        if moved is not None:
            raise FolderError(f"--repin needs the folder itself, not a link: {typed} now "
                              f"leads to {path}. Put the folder back at {typed}, or add "
                              f"{path} as a folder of its own")
        mount = session.scalar(select(Mount).where(Mount.user_id == owner, Mount.path == path))
        if mount is None:
            mount = Mount(user_id=owner, path=path, device=pin[0], inode=pin[1])
            session.add(mount)
            session.flush()
        elif mount.device is None:  # made before mounts were pinned
            mount.device, mount.inode = pin
        elif (mount.device, mount.inode) != pin and not repin:
            raise FolderError(MountReplaced(path).strerror)
        elif (mount.device, mount.inode) != pin:
            _repin(session, mount, owner, pin, tell)
        return mount


def _repin(session, mount: Mount, owner: int, pin: tuple[int, int], tell) -> None:
    """Pin `mount` to the folder now at its path (see ensure_mount)."""
    theirs = session.scalar(select(Mount.path).where(
        Mount.user_id != owner, Mount.device == pin[0], Mount.inode == pin[1]))
    admin = session.scalar(select(User.is_admin).where(User.id == owner))
    if theirs is not None and not admin:
        raise FolderError(f"--repin refused: the folder now at {mount.path} is another "
                          f"user's folder ({theirs}); only an admin can do this")
    if tell is not None:
        tell(f"--repin: {mount.path} was the folder {mount.device}:{mount.inode} (device:"
             f"inode) and is now {pin[0]}:{pin[1]} at {mount.path}; its results are kept "
             "for the folder now there")
    mount.device, mount.inode = pin


def _library_changed(db: Database) -> None:
    with db.session() as session:
        bump(session)


def make_executor(db: Database, classifiers: dict, settings: Settings) -> Executor:
    """In-process threads by default; `kenning worker`s when a broker is configured."""
    if settings.broker_url:
        from kenning.pipeline.distributed import CeleryExecutor

        return CeleryExecutor(db, classifiers, settings)
    return LocalExecutor(db, classifiers, settings.workers, settings)


def stages(classifiers: list[Classifier]) -> list[list[Classifier]]:
    """The order classifiers run in: the independent ones as one stage (no thread or
    worker waits idle between them), then those gated on others' tags (landmarks)."""
    free = [c for c in classifiers if not c.only_with_tags]
    gated = [c for c in classifiers if c.only_with_tags]
    return [stage for stage in (free, gated) if stage]


def stage_batches(db: Database, stage: list[Classifier], mount_id: int, settings: Settings,
                  executor: Executor, hold_back: bool = True) -> list[Batch]:
    """The stage's pending work, the classifiers' batches taken in turn. The photo
    classifiers' batches are shared (each photo decoded once for objects and faces,
    `pending_photo_batches`), in process and on `kenning worker`s alike."""
    shared = [c.name for c in stage if c.photo_need is not None]
    if len(shared) < 2:
        shared = []
    # A file whose content another one has too waits for that one's results (copy_from_twins).
    later = {c.name: held_back(db, c, [mount_id]) if hold_back else set() for c in stage}
    kinds = [pending_photo_batches(db, shared, [mount_id], settings.batch_size,
                                   executor.workers, later)] if shared else []
    kinds += [pending_batches(db, c.name, [mount_id], settings.batch_size, executor.workers,
                              later[c.name])
              for c in stage if c.name not in shared]
    # Interleaved: photos, songs and videos all make progress from the start.
    return [batch for group in zip_longest(*kinds) for batch in group if batch is not None]


def index_folder(settings: Settings, db: Database, folder: Path,
                 progress: Progress | None = None, executor: Executor | None = None,
                 loaded: list[Classifier] | None = None, repin: bool = False,
                 tell=None) -> IndexReport:
    """`kenning index FOLDER`: the folder as the CLI's user's mount (the library's owner
    unless `user` names another), indexed."""
    mount = ensure_mount(db, settings.user or library_owner(db), folder, settings.own_paths,
                         repin, tell)
    return index_mount(settings, db, mount.id, progress, executor, loaded, tell=tell)


def index_mount(settings: Settings, db: Database, mount_id: int,
                progress: Progress | None = None, executor: Executor | None = None,
                loaded: list[Classifier] | None = None, wait: bool = True,
                tell=None) -> IndexReport:
    """Scan a mount, by its stored folder and pin, and run every enabled classifier.
    `loaded`: classifiers with their models already loaded (a server keeps them). One
    run per mount at a time (pipeline/runlock.py): another process's run of it is waited
    for (saying so to `tell`), or, without `wait`, MountBusy."""
    with mount_run(db, mount_id, wait, tell):
        return _index_mount(settings, db, mount_id, progress, executor, loaded)


def _index_mount(settings: Settings, db: Database, mount_id: int, progress: Progress | None,
                 executor: Executor | None, loaded: list[Classifier] | None) -> IndexReport:
    started = time.perf_counter()
    progress = progress or NoProgress()
    with db.session() as session:
        mount = session.get(Mount, mount_id)
        if mount is None:
            raise FolderError(f"no mount {mount_id}")
        owner = session.get(User, mount.user_id).name
        check_apart(mount.path, settings.own_paths)
        if mount.device is None and os.path.isdir(mount.path):  # pinned at its first scan
            mount.device, mount.inode = pin_of(mount.path)
    settings = replace(settings, user=owner)
    try:
        scan = scan_mount(db, mount.id, mount.root, progress)
    except MountReplaced as exc:
        raise FolderError(exc.strerror) from exc
    except FileNotFoundError as exc:
        raise FolderError(f"folder not found: {mount.path}") from exc
    except NotADirectoryError as exc:
        raise FolderError(f"not a folder: {mount.path}") from exc
    except PermissionError as exc:
        raise FolderError(f"folder not readable: {mount.path}") from exc
    db.retrying(_mark_scanned, db, mount.id)
    report = IndexReport(mount.path, scan)
    classifiers = {c.name: c for c in (loaded if loaded is not None
                                       else enabled_classifiers(settings))}
    made_here = executor is None
    executor = executor or make_executor(db, classifiers, settings)
    try:
        _run_stages(settings, db, mount, report, classifiers, executor, progress)
    finally:
        if made_here:
            executor.close()
    if executor.stopping.is_set():  # the server is stopping: the rest is done next time
        report.seconds = time.perf_counter() - started
        return report
    if report.copied and not report.processed:
        db.retrying(_library_changed, db)
    if report.processed or report.copied:  # a tag the user typed that a classifier gives too
        db.retrying(adopt_shared, db, mount.user_id)
    if "faces" in classifiers:
        db.retrying(people_tags.backfill, db)
    if "faces" in classifiers and (report.processed.get("faces") or report.copied.get("faces")
                                   or not db.retrying(non_human_checked, db, settings.user)):
        report.people = db.retrying(cluster_people, db, settings.user)
    if settings.import_xmp:
        from kenning.xmp.importer import import_xmp

        # After clustering: a name from another tool names the person its face is in.
        # (Whole again after a dropped connection: a file is read again only while its
        # import is not recorded, and a face drawn before the drop is matched, not redrawn.)
        report.xmp = db.retrying(import_xmp, settings, db, mount.id, classifiers.get("faces"))
        if report.xmp.names or report.xmp.tags:
            db.retrying(_library_changed, db)
    if settings.index_thumbnails and (report.processed or report.copied):
        from kenning.pipeline.first_screen import make_first_screen

        try:
            report.thumbnails = make_first_screen(settings.cache_dir, db, mount.user_id,
                                                  mount.id)
        except Exception:  # noqa: BLE001 - thumbnails are made when seen instead
            log.warning("the first screen's thumbnails could not be made", exc_info=True)
    report.seconds = time.perf_counter() - started
    return report


def _mark_scanned(db: Database, mount_id: int) -> None:
    with db.session() as session:
        session.get(Mount, mount_id).scanned_at = utcnow()


def _run_stages(settings: Settings, db: Database, mount: Mount, report: IndexReport,
                classifiers: dict[str, Classifier], executor: Executor,
                progress: Progress) -> None:
    """Each stage's classifiers over the mount's pending files, outcomes into `report`."""
    bumped = time.monotonic()

    def on_outcome(batch: Batch, outcome: BatchOutcome) -> None:
        nonlocal bumped
        report.processed[outcome.classifier] += len(outcome.results)
        for file_id, reason in outcome.failures.items():
            report.failures[file_id] = (outcome.classifier, reason)
        progress.advance(len(batch.file_ids))
        # New results change what users see. Moved here, at most once a second, rather
        # than by every stored batch: workers on many machines would queue for the row.
        if time.monotonic() - bumped >= 1.0:
            db.retrying(_library_changed, db)
            bumped = time.monotonic()

    for stage in stages(list(classifiers.values())):
        if executor.stopping.is_set():
            return
        for classifier in stage:
            db.retrying(sync_work, db, classifier, [mount.id])
            # Content this classifier has seen elsewhere (a copy, another user's mount of
            # the same folder) takes its twin's results: no model runs twice on it.
            report.copied[classifier.name] += db.retrying(copy_from_twins, db, classifier,
                                                          [mount.id])
        batches = db.retrying(stage_batches, db, stage, mount.id, settings, executor)
        if not batches:
            continue
        names = dict.fromkeys(n for b in batches for n in b.classifiers)
        progress.start(", ".join(names),
                       sum(len(b.file_ids) * len(b.classifiers) for b in batches))
        executor.warm(list(names))
        model_started = time.perf_counter()
        try:
            executor.run(batches, on_outcome)
            for classifier in stage:  # the copies held back get their twin's results
                report.copied[classifier.name] += db.retrying(copy_from_twins, db, classifier,
                                                              [mount.id])
            # ... unless their twin failed (its name, not its bytes, may be the cause):
            # they are processed themselves.
            leftover = db.retrying(stage_batches, db, stage, mount.id, settings, executor,
                                   False)
            if leftover:
                executor.run(leftover, on_outcome)
        finally:
            progress.stop()
            report.model_seconds += time.perf_counter() - model_started
            if report.processed:
                db.retrying(_library_changed, db)  # the last results (also of an interrupted run)
