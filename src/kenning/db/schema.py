"""Tables. They hold several users, any media kind and any classifier, on SQLite or PostgreSQL.

users -< mounts -< files -< work_items   (one row per file and classifier: pending/done/failed)
                        -< file_tags     (user-facing tags, with the classifier that gave them)
                        -< file_labels   (raw model labels with scores, for explanation)
                        -< faces         (box, landmarks, quality, embedding) >- people
users -< people -< face_rejections       (faces a user took out of a person: never put back)
files -- xmp_files                       (sidecars exported, and imported names and keywords)
files -< tag_rejections                  (machine tags a user removed: never added again)
users -< app_tokens, web_sessions        (API/WebDAV tokens and browser log-ins, hashed)
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SCHEMA_VERSION = 10
# Tables whose ids are never given twice (SQLite reuses the highest deleted id otherwise).
NEVER_REUSED = {"sqlite_autoincrement": True}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class WorkState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class User(Base):
    __tablename__ = "users"
    __table_args__ = NEVER_REUSED
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(200))  # argon2; None: no log-in
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    mounts: Mapped[list[Mount]] = relationship(back_populates="user", cascade="all, delete-orphan")


class Mount(Base):
    """A folder of one user's library."""

    __tablename__ = "mounts"
    __table_args__ = (UniqueConstraint("user_id", "path"), NEVER_REUSED)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    # The folder's device and inode when it was added: a folder at `path` that is not
    # this one (replaced, or a link now) is refused, never scanned or served.
    device: Mapped[int | None] = mapped_column(BigInteger)
    inode: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    scanned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user: Mapped[User] = relationship(back_populates="mounts")

    @property
    def root(self):
        from kenning.media.confined import MountRoot

        pin = (self.device, self.inode) if self.device is not None else None
        return MountRoot(self.path, pin)


class File(Base):
    """A media file in a mount. `rel_path_raw` holds the exact name bytes (any encoding);
    `rel_path` is its readable form. A move keeps the row (and its results) by content hash."""

    __tablename__ = "files"
    __table_args__ = (
        UniqueConstraint("mount_id", "rel_path_raw").ddl_if(dialect="sqlite"),
        # PostgreSQL's index entries hold at most ~2.7 KB, and a path can be longer (up
        # to 4 KB per call, more below folders opened one by one): it indexes a digest.
        Index("uq_files_mount_path_digest", "mount_id", text("sha256(rel_path_raw)"),
              unique=True).ddl_if(dialect="postgresql"),
        Index("ix_files_content_hash", "content_hash"),
        # The timeline: a mount's files newest first by capture time (catalog/browse.py).
        Index("ix_files_timeline", "mount_id", text("coalesce(taken_ns, mtime_ns)"), "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mount_id: Mapped[int] = mapped_column(ForeignKey("mounts.id", ondelete="CASCADE"), index=True)
    rel_path: Mapped[str] = mapped_column(Text)
    rel_path_raw: Mapped[bytes] = mapped_column(LargeBinary)
    kind: Mapped[str | None] = mapped_column(String(16))  # image/video/audio; None: unusable
    format: Mapped[str | None] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    mtime_ns: Mapped[int] = mapped_column(BigInteger, default=0)
    taken_ns: Mapped[int | None] = mapped_column(BigInteger)  # capture time (places classifier)
    taken_from: Mapped[str | None] = mapped_column(String(8))  # "camera", "name" or None
    camera: Mapped[str | None] = mapped_column(String(100))  # the camera and the lens, as
    lens: Mapped[str | None] = mapped_column(String(100))  # far as its EXIF says
    content_hash: Mapped[str | None] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    scan_error: Mapped[str | None] = mapped_column(Text)  # why the scan could not use it
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    mount: Mapped[Mount] = relationship()


class WorkItem(Base):
    """What one classifier still owes one file, or why it failed."""

    __tablename__ = "work_items"
    __table_args__ = (Index("ix_work_items_state", "classifier", "state"),)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"),
                                         primary_key=True)
    classifier: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(8), default=WorkState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)
    # A worker processing the file (host:pid) and its last heartbeat; a stale claim on
    # pending work means that worker died and the work is sent again.
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


SHARED = 0  # Tag.owner_id of the tags classifiers give (one vocabulary for everyone)


class Tag(Base):
    """A tag name. Classifiers' tags are shared (owner SHARED); a tag a user types is
    theirs alone (owner: the user), so no user ever sees, or can probe for, another's.
    `key` is the name folded (kenning.names.fold): names match without case or accents'
    composition mattering."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("owner_id", "key", name="uq_tags_owner_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[int] = mapped_column(Integer, default=SHARED, server_default="0")
    key: Mapped[str] = mapped_column(String(200))


class FileTag(Base):
    __tablename__ = "file_tags"
    __table_args__ = (Index("ix_file_tags_tag", "tag_id", "file_id"),)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"),
                                         primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"),
                                        primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)  # classifier or "user"
    score: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(200))
    tag: Mapped[Tag] = relationship(lazy="joined")


class FileLabel(Base):
    """A raw model label (e.g. ImageNet 'n02123045 tabby') with its score, for explanation."""

    __tablename__ = "file_labels"
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"),
                                         primary_key=True)
    classifier: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(200), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(200))


class FilePlace(Base):
    """Where a photo or video was taken (EXIF GPS / container location) and the place found."""

    __tablename__ = "file_places"
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"),
                                         primary_key=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    city: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(200))
    country_code: Mapped[str | None] = mapped_column(String(2))
    distance_km: Mapped[float | None] = mapped_column(Float)  # to the nearest known place
    search_key: Mapped[str | None] = mapped_column(Text)  # names.fold of city, region, country


class AssignedBy(StrEnum):
    CLUSTER = "cluster"  # put there by clustering; clustering may revise it
    USER = "user"  # put there by the user; clustering never moves it


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (Index("ix_people_user_name_key", "user_id", "name_key"), NEVER_REUSED)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    name_key: Mapped[str | None] = mapped_column(String(400))  # names.fold(name)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # The face the user chose to show for this person (None, or a face no longer theirs:
    # their most recent face with a thumbnail).
    cover_face_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Face(Base):
    """A face found in a file. Box and landmarks are in the photo's pixels as shown."""

    __tablename__ = "faces"
    __table_args__ = (Index("ix_faces_person", "person_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    assigned_by: Mapped[str | None] = mapped_column(String(8))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    width: Mapped[float] = mapped_column(Float)
    height: Mapped[float] = mapped_column(Float)
    landmarks: Mapped[str] = mapped_column(Text)  # JSON [[x, y] * 5]
    score: Mapped[float] = mapped_column(Float)
    quality: Mapped[float] = mapped_column(Float)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32, L2-normalised
    model_version: Mapped[str] = mapped_column(String(200))
    thumbnail: Mapped[str | None] = mapped_column(Text)  # relative to the cache dir
    # Not a face: it is in no person and clustering never uses it. `not_face_by` says who
    # decided either way: "user" (final) or "auto" (kenning.faces.nonhuman); None: nobody.
    not_face: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    not_face_by: Mapped[str | None] = mapped_column(String(8))
    # How much the face's own crop looks like an animal or a made face, and like a made
    # face alone (0-1; None: not looked at). See kenning.faces.nonhuman.
    non_human: Mapped[float | None] = mapped_column(Float)
    made_face: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FaceRejection(Base):
    """The user took this face out of this person: clustering never puts it back."""

    __tablename__ = "face_rejections"
    face_id: Mapped[int] = mapped_column(ForeignKey("faces.id", ondelete="CASCADE"),
                                         primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"),
                                           primary_key=True)


class TagRejection(Base):
    """The user removed this tag from this file: no classifier adds it again."""

    __tablename__ = "tag_rejections"
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"),
                                         primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"),
                                        primary_key=True)


class XmpFile(Base):
    """A file's XMP sidecars: what Kenning last exported for it (kenning.xmp.export) and
    what its sidecars or embedded XMP gave when imported (kenning.xmp.importer)."""

    __tablename__ = "xmp_files"
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"),
                                         primary_key=True)
    export_digest: Mapped[str | None] = mapped_column(String(64))  # of what was written
    export_path: Mapped[str | None] = mapped_column(Text)
    exported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    import_signature: Mapped[str | None] = mapped_column(Text)  # content + sidecars' stat
    import_report: Mapped[str | None] = mapped_column(Text)  # JSON: names, tags, conflicts
    import_error: Mapped[str | None] = mapped_column(Text)  # why its XMP could not be used
    imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AppToken(Base):
    """A token for an API or WebDAV client; only its sha256 is kept."""

    __tablename__ = "app_tokens"
    __table_args__ = NEVER_REUSED
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A browser log-in: the cookie's sha256, its CSRF token and when it ends."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Meta(Base):
    __tablename__ = "kenning_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
