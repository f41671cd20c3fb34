"""The one read layer: a user's library as the CLI, the REST API, WebDAV and the web pages
all see it, so that files, tags, people, search and progress answer the same everywhere.

Every function takes the user (by id; the CLI's path-based ones by name) and only ever
sees that user's mounts: an id of another user's file, face, person or tag is `NotFound`,
exactly like an id that does not exist. Lists of files are paged by id (`after`) or, in
the timeline, by a (time, id) cursor; ranked lists (people, tags) by offset. Rankings and
first pages are kept per user until the library changes (core.counts).

Modules: core (ids, pages, errors, the cache), files, tags, people (people_sql: the
people ranking as plain SQL), query (search), mounts, browse (timeline, folders, places,
suggestions), progress (status and failures), direct (SQLite read without SQLAlchemy, for
the command line). Each is loaded when one of its names is first used (`catalog.X`), so
that a command that reads the people list does not load SQLAlchemy (catalog/direct.py).
No module is named like a name the package gives (importing a module sets the package's
attribute of its name).
"""

from __future__ import annotations

import importlib

_WHERE = {  # name -> the module of this package that defines it
    **dict.fromkeys(("BROWSED_KINDS", "MEMORIES", "cursor_of", "folder", "months",
        "mount_cover", "neighbours", "on_this_day", "parse_cursor", "places", "suggest",
        "timeline"), "browse"),
    **dict.fromkeys(("FILE_COLUMNS", "MAX_ID", "MAX_PAGE", "USER_TAG", "NotFound", "Page",
        "Refused", "Uncached", "as_id", "cached_only", "changed", "counts", "file_row",
        "owned_mounts", "page_limit", "people_error", "slice_page"), "core"),
    **dict.fromkeys(("existing_files", "file_detail", "file_kind", "file_tags",
        "findings", "list_files"), "files"),
    **dict.fromkeys(("get_mount", "list_mounts", "mount_problem", "remove_mount"), "mounts"),
    **dict.fromkeys(("absolute_path", "display_path"), "paths"),
    **dict.fromkeys(("face_detail", "face_thumbnail", "faces_of", "get_person", "list_people",
        "person_by_name", "person_faces", "person_samples", "set_cover"), "people"),
    **dict.fromkeys(("search", "tag_ids_of"), "query"),
    **dict.fromkeys(("PIXEL_CLASSIFIERS", "count_failed", "failed_files", "failures",
        "retry_failed", "status"), "progress"),
    **dict.fromkeys(("add_tag", "get_tag", "list_tags", "put_tag", "remove_tag", "reset_tags",
        "tag_by_name", "tag_files", "top_tags"), "tags"),
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # found at once next time
    return value


def __dir__() -> list[str]:
    return __all__
