"""A file's path on disk from its mount's folder and its name bytes (any encoding)."""

from __future__ import annotations

import os


def absolute_path(root: str, rel_raw: bytes) -> str:
    return os.fsdecode(os.path.join(os.fsencode(root), rel_raw))


def display_path(root: str, rel_path: str) -> str:
    return os.path.join(root, rel_path)
