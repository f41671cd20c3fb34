"""Tell a file's media kind and format from its first bytes, never from its name."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


@dataclass(frozen=True)
class Sniffed:
    kind: MediaKind
    format: str


HEAD_BYTES = 512

# What a file's extension claims; used only to explain a mismatch ("x.jpg is text").
EXTENSION_KINDS: dict[str, MediaKind] = {
    **dict.fromkeys(
        ["jpg", "jpeg", "jpe", "png", "webp", "gif", "bmp", "tif", "tiff", "heic", "heif",
         "avif"], MediaKind.IMAGE),
    **dict.fromkeys(
        ["mp4", "m4v", "mov", "mkv", "webm", "avi", "ts", "m2ts", "mts", "mpg", "mpeg", "3gp",
         "wmv", "flv", "ogv"], MediaKind.VIDEO),
    **dict.fromkeys(
        ["mp3", "m4a", "aac", "ogg", "oga", "opus", "flac", "wav", "aif", "aiff", "wma"],
        MediaKind.AUDIO),
}

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_AVIF_BRANDS = {b"avif", b"avis"}
_AUDIO_MP4_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}


def claimed_kind(name: str | bytes) -> MediaKind | None:
    """The media kind a file name's extension suggests, if any."""
    ext = os.path.splitext(os.fsdecode(name))[1].lower().lstrip(".")
    return EXTENSION_KINDS.get(ext)


def sniff_bytes(head: bytes) -> Sniffed | None:
    """Media kind and format from a file's first bytes (at least 12; 512 to see MPEG-TS)."""
    image, video, audio = MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.AUDIO
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(image, "jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(image, "png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed(image, "gif")
    if head[:4] == b"RIFF":
        return {b"WEBP": Sniffed(image, "webp"), b"AVI ": Sniffed(video, "avi"),
                b"WAVE": Sniffed(audio, "wav")}.get(head[8:12])
    if head[:2] == b"BM" and len(head) >= 26 and head[6:10] == b"\0\0\0\0":
        return Sniffed(image, "bmp")
    if head[:4] in (b"II*\0", b"MM\0*"):
        return Sniffed(image, "tiff")
    if head[4:8] == b"ftyp":
        return _sniff_iso_bmff(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed(video, "webm" if b"webm" in head[:64] else "mkv")
    if head[:4] == b"OggS":
        return Sniffed(video, "ogv") if b"theora" in head[:64] else Sniffed(audio, "ogg")
    if head[:4] == b"fLaC":
        return Sniffed(audio, "flac")
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return Sniffed(audio, "aiff")
    if head[:3] == b"FLV":
        return Sniffed(video, "flv")
    if head[:4] == b"\x30\x26\xb2\x75":
        return Sniffed(video, "asf")
    if head[:4] in (b"\0\0\x01\xba", b"\0\0\x01\xb3"):
        return Sniffed(video, "mpeg")
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return Sniffed(video, "mpegts")
    if head[:3] == b"ID3":
        return Sniffed(audio, "mp3")
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] in (0xF1, 0xF9):
            return Sniffed(audio, "aac")
        if head[1] & 0xE0 == 0xE0 and head[1] & 0x06:  # MPEG audio frame sync, layer set
            return Sniffed(audio, "mp3")
    return None


def _sniff_iso_bmff(head: bytes) -> Sniffed | None:
    size = int.from_bytes(head[:4], "big")
    brands = {head[8:12]}
    box_end = min(max(size, 16), len(head))
    brands.update(head[i:i + 4] for i in range(16, box_end - 3, 4))
    if brands & _AVIF_BRANDS:
        return Sniffed(MediaKind.IMAGE, "avif")
    if brands & _HEIF_BRANDS or head[8:12] in (b"mif1", b"msf1"):
        return Sniffed(MediaKind.IMAGE, "heif")
    if head[8:12] in _AUDIO_MP4_BRANDS:
        return Sniffed(MediaKind.AUDIO, "m4a")
    if head[8:12] == b"qt  ":
        return Sniffed(MediaKind.VIDEO, "mov")
    if head[8:11] in (b"3gp", b"3g2"):
        return Sniffed(MediaKind.VIDEO, "3gp")
    return Sniffed(MediaKind.VIDEO, "mp4")


def read_head(path: str | bytes | os.PathLike) -> bytes:
    with open(path, "rb") as f:
        return f.read(HEAD_BYTES)


def is_animated_gif(path: str | bytes | os.PathLike) -> bool:
    """True for a GIF with more than one frame: Kenning treats it as a video."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return bool(getattr(image, "is_animated", False))
    except (OSError, SyntaxError, ValueError, EOFError):
        return False  # a broken GIF stays a photo; decoding it will say what is wrong
