"""What a face's model version says about the face, known without loading any model."""

from __future__ import annotations

DRAWN = "drawn+"  # the model version of a face drawn by hand starts with this


def is_drawn(model_version: str | None) -> bool:
    return bool(model_version) and model_version.startswith(DRAWN)
