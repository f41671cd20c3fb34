"""The one read layer: a user's library as the CLI, the REST API, WebDAV and the web pages
all see it, so that files, tags, people, search and progress answer the same everywhere.

Every function takes the user (by id; the CLI's path-based ones by name) and only ever
sees that user's mounts: an id of another user's file, face, person or tag is `NotFound`,
exactly like an id that does not exist. Lists of files are paged by id (`after`) or, in
the timeline, by a (time, id) cursor; ranked lists (people, tags) by offset. Rankings and
first pages are kept per user until the library changes (core.counts).

Modules: core (ids, pages, errors, the cache), files, tags, people, search, mounts,
browse (timeline, folders, places, suggestions), status (progress and failures).
"""

from kenning.catalog.browse import (
    BROWSED_KINDS,
    MEMORIES,
    cursor_of,
    folder,
    months,
    mount_cover,
    neighbours,
    on_this_day,
    parse_cursor,
    places,
    suggest,
    timeline,
)
from kenning.catalog.core import (
    FILE_COLUMNS,
    MAX_ID,
    MAX_PAGE,
    USER_TAG,
    NotFound,
    Page,
    Refused,
    Uncached,
    as_id,
    cached_only,
    changed,
    counts,
    file_row,
    owned_mounts,
    page_limit,
    people_error,
    slice_page,
)
from kenning.catalog.files import (
    absolute_path,
    display_path,
    existing_files,
    file_detail,
    file_kind,
    file_tags,
    find_file,
    findings,
    list_files,
)
from kenning.catalog.mounts import get_mount, list_mounts, mount_problem, remove_mount
from kenning.catalog.people import (
    face_detail,
    face_thumbnail,
    faces_of,
    get_person,
    list_people,
    person_by_name,
    person_faces,
    person_samples,
    set_cover,
)
from kenning.catalog.search import search, tag_ids_of
from kenning.catalog.status import (
    PIXEL_CLASSIFIERS,
    count_failed,
    failed_files,
    failures,
    retry_failed,
    status,
)
from kenning.catalog.tags import (
    add_tag,
    get_tag,
    list_tags,
    put_tag,
    remove_tag,
    reset_tags,
    tag_by_name,
    tag_files,
    top_tags,
)

__all__ = [
    "BROWSED_KINDS", "MEMORIES", "cursor_of", "folder", "months", "mount_cover", "neighbours",
    "on_this_day", "parse_cursor", "places", "suggest", "timeline", "FILE_COLUMNS", "MAX_ID",
    "MAX_PAGE", "USER_TAG", "NotFound", "Page", "Refused", "Uncached", "as_id", "cached_only",
    "changed", "counts", "file_row", "owned_mounts", "page_limit", "people_error",
    "slice_page", "absolute_path", "display_path", "existing_files", "file_detail",
    "file_kind", "file_tags", "find_file", "findings", "list_files", "get_mount",
    "list_mounts", "mount_problem", "remove_mount", "face_detail", "face_thumbnail",
    "faces_of", "get_person", "list_people", "person_by_name", "person_faces",
    "person_samples", "set_cover", "search", "tag_ids_of", "PIXEL_CLASSIFIERS", "count_failed",
    "failed_files", "failures", "retry_failed", "status", "add_tag", "get_tag", "list_tags",
    "put_tag", "remove_tag", "reset_tags", "tag_by_name", "tag_files", "top_tags",
]
