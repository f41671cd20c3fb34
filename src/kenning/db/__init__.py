"""The database: the single source of truth for files, pending work and results."""

from kenning.db.schema import (  # noqa: F401
    AppToken,
    AssignedBy,
    Base,
    Face,
    FaceRejection,
    File,
    FileLabel,
    FilePlace,
    FileTag,
    Mount,
    Person,
    Tag,
    TagRejection,
    User,
    WebSession,
    WorkItem,
    WorkState,
    XmpFile,
)
from kenning.db.session import Database  # noqa: F401
