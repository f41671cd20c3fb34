"""Faces: detection (YuNet), alignment, embedding (SFace), and grouping faces into people."""
