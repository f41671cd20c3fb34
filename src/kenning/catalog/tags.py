"""Tags: the user's tags ranked by files, one tag, a tag's files, adding and removing a tag,
and taking back what a classifier wrote."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update

from kenning import tagnames
from kenning.catalog.core import (
    USER_TAG,
    NotFound,
    Page,
    Refused,
    changed,
    counts,
    owned_file,
    owned_mounts,
    slice_page,
)
from kenning.catalog.query import search, tag_ids_of
from kenning.db import (
    Database,
    File,
    FileLabel,
    FileTag,
    Mount,
    Tag,
    TagRejection,
    WorkItem,
    WorkState,
    generation,
)
from kenning.names import BadName, clean


def list_tags(db: Database, user_id: int, limit: int = 100, offset: int = 0,
              prefix: str = "") -> Page:
    def compute():
        with db.session() as session:
            return [{"id": i, "tag": n, "files": c} for i, n, c in session.execute(
                select(Tag.id, Tag.name, func.count(func.distinct(FileTag.file_id)))
                .join(FileTag, FileTag.tag_id == Tag.id)
                .join(File, File.id == FileTag.file_id)
                .where(File.mount_id.in_(owned_mounts(user_id)))
                .group_by(Tag.id, Tag.name)
                .order_by(func.count(func.distinct(FileTag.file_id)).desc(), Tag.name))]

    rows = counts.get(db, ("tags", user_id), compute)
    if prefix:
        rows = [r for r in rows if r["tag"].lower().startswith(prefix.strip().lower())]
    return slice_page(rows, limit, offset)


def get_tag(db: Database, user_id: int, tag_id: int) -> dict:
    """A tag this user has on at least one file."""
    with db.session() as session:
        name = session.scalar(select(Tag.name).where(Tag.id == tag_id, Tag.id.in_(
            select(FileTag.tag_id).join(File, File.id == FileTag.file_id)
            .where(FileTag.tag_id == tag_id, File.mount_id.in_(owned_mounts(user_id))))))
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
        owned_file(session, user_id, file_id)
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
        owned_file(session, user_id, file_id)
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


def top_tags(db: Database, user: str, limit: int = 10, mount_path: str | None = None
             ) -> list[tuple[str, int]]:
    mounts = owned_mounts(user)
    if mount_path is not None:
        mounts = mounts.where(Mount.path == mount_path)
    with db.session() as session:
        return [tuple(row) for row in session.execute(
            select(Tag.name, func.count(func.distinct(FileTag.file_id)).label("n"))
            .join(FileTag).join(File, File.id == FileTag.file_id)
            .where(File.mount_id.in_(mounts))
            .group_by(Tag.name).order_by(func.count(func.distinct(FileTag.file_id)).desc(),
                                         Tag.name)
            .limit(limit)).all()]


def reset_tags(db: Database, user: str, classifier: str) -> int:
    """Remove what `classifier` wrote for this user's files; the next index redoes it."""
    files = select(File.id).where(File.mount_id.in_(owned_mounts(user)))
    with db.session() as session:
        generation.bump(session)
        has_work = session.scalar(select(func.count()).where(WorkItem.classifier == classifier))
        if not has_work:
            raise NotFound(f"no results from a classifier named {classifier!r}")
        removed = session.execute(delete(FileTag).where(
            FileTag.source == classifier, FileTag.file_id.in_(files))).rowcount
        session.execute(delete(FileLabel).where(FileLabel.classifier == classifier,
                                                FileLabel.file_id.in_(files)))
        session.execute(update(WorkItem).where(WorkItem.classifier == classifier,
                                               WorkItem.file_id.in_(files))
                        .values(state=WorkState.PENDING, error=None, attempts=0))
    return removed
