"""Reading the XMP of a folder's files for the import (importer.py): each file's sidecars
(photo.jpg.xmp, photo.xmp) and the XMP embedded in the file, combined, with a signature
of what was read so that a file is read again only when it or a sidecar changes."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from kenning.faces.drawn import overlap
from kenning.media.confined import open_beneath
from kenning.xmp.rdf import MAX_BYTES, BadSidecar
from kenning.xmp.regions import Box, clipped, to_shown, turned
from kenning.xmp.sidecar import Region, Sidecar, read

EMBEDDED_SCAN = 256 * 1024  # embedded XMP is looked for in a file's first bytes
ASPECT = 0.03  # AppliedToDimensions this close in shape to the photo fit it


def _jpeg_headers_end(head: bytes) -> int | None:
    """Where a JPEG's picture data starts (its top-level SOS marker), if within `head`."""
    position = 2
    while position + 4 <= len(head):
        if head[position] != 0xFF:
            return None
        marker = head[position + 1]
        if marker == 0xDA:
            return position
        if marker in (0xD8, 0x01, 0xFF) or 0xD0 <= marker <= 0xD7:
            position += 1 if marker == 0xFF else 2
            continue
        position += 2 + int.from_bytes(head[position + 2:position + 4], "big")
    return None


def _head(fd: int) -> bytes:
    """A file's first bytes, as many as its XMP can be in (at most EMBEDDED_SCAN): a
    JPEG's only up to its picture data (usually well inside the first 64 KB)."""
    head = os.pread(fd, 64 * 1024, 0)
    jpeg = head.startswith(b"\xff\xd8")
    end = _jpeg_headers_end(head) if jpeg else None
    if end is None and len(head) == 64 * 1024:
        head += os.pread(fd, EMBEDDED_SCAN - len(head), len(head))
        end = _jpeg_headers_end(head) if jpeg else None
    return head[:end] if end is not None else head


def embedded_xmp(fd: int) -> bytes | None:
    """The XMP packet in a file's first bytes (JPEG's APP1, PNG's iTXt, TIFF, HEIC...)."""
    head = _head(fd)
    start = head.find(b"<x:xmpmeta")
    end_tag = b"</x:xmpmeta>"
    if start < 0:
        start, end_tag = head.find(b"<rdf:RDF"), b"</rdf:RDF>"
    if start < 0:
        return None
    end = head.find(end_tag, start)
    if end < 0:
        raise BadSidecar("the embedded XMP is cut short")
    return head[start:end + len(end_tag)]


def _sidecars_of(rel_name: bytes, listing: dict[bytes, bytes]) -> list[bytes]:
    """The sidecar names present for a file: photo.jpg.xmp, then photo.xmp (any case)."""
    stem = rel_name.rpartition(b".")[0] or rel_name
    found = []
    for candidate in (rel_name + b".xmp", stem + b".xmp"):
        name = listing.get(candidate.lower())
        if name is not None and name not in found:
            found.append(name)
    return found


def _signature(content_hash: str, dir_fd: int, names: list[bytes]) -> str:
    parts = [content_hash or ""]
    for name in names:
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            parts.append(f"{name.hex()}:{info.st_mtime_ns}:{info.st_size}")
    return ";".join(parts)


def _read_sidecar(dir_fd: int, name: bytes) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                 dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BadSidecar("the sidecar is not a regular file")
        data = os.pread(fd, MAX_BYTES + 1, 0)
    finally:
        os.close(fd)
    return data


def _combined(parts: list[Sidecar]) -> Sidecar:
    """Sidecars first, then the embedded packet: a face or keyword counted once."""
    result = Sidecar()
    for part in parts:
        for region in part.regions:
            if not any(overlap(region.box, kept.box) >= 0.5 for kept in result.regions):
                result.regions.append(region)
        result.keywords.extend(part.keywords)
        result.people.extend(part.people)
        result.kenning_tags |= part.kenning_tags
    return result


def read_file_xmp(root_fd: int, root_raw: bytes, rel: bytes, dir_fd: int,
                  names: list[bytes]) -> tuple[Sidecar, int]:
    """A file's sidecars and embedded XMP, combined; and its EXIF orientation."""
    from kenning.xmp.export import orientation_of

    parts = [read(_read_sidecar(dir_fd, name)) for name in names]
    fd = open_beneath(root_fd, rel, root_raw)
    try:
        packet = embedded_xmp(fd)
        if packet:
            parts.append(read(packet))
        combined = _combined(parts)
        orientation = orientation_of(fd) if combined.regions else 1
    finally:
        os.close(fd)
    return combined, orientation


def shown_regions(regions: list[Region], orientation: int, size: tuple[int, int]) -> list[Box]:
    """Regions as boxes on the photo as shown. Regions drawn on an image of another shape
    are refused; on the photo as shown rather than as stored (as some tools write them),
    they are taken as they are."""
    width, height = size
    stored = (height, width) if turned(orientation) else (width, height)
    boxes = []
    for region in regions:
        as_shown = False
        if region.applied_to:
            aspect = region.applied_to[0] / region.applied_to[1]
            if abs(aspect / (stored[0] / stored[1]) - 1) <= ASPECT:
                as_shown = False
            elif turned(orientation) and abs(aspect / (width / height) - 1) <= ASPECT:
                as_shown = True
            else:
                raise BadSidecar(
                    f"its regions were drawn on a {region.applied_to[0]:.0f}x"
                    f"{region.applied_to[1]:.0f} image, and the photo is "
                    f"{stored[0]}x{stored[1]}")
        boxes.append(clipped(region.box if as_shown else to_shown(region.box, orientation)))
    return boxes


@dataclass
class Work:
    file_id: int
    rel: bytes
    kind: str
    size: tuple[int, int] | None
    signature: str
    sidecar: Sidecar | None = None
    orientation: int = 1
    error: str | None = None


def read_folder(root_fd: int, root_raw: bytes, rel_dir: bytes, members: list,
                 waiting: set[int]) -> list[Work]:
    try:
        dir_fd = (open_beneath(root_fd, rel_dir, root_raw, directory=True) if rel_dir
                  else os.dup(root_fd))
    except OSError:
        return []
    work = []
    try:
        listing = {name.lower(): name for name in map(os.fsencode, os.listdir(dir_fd))
                   if name.lower().endswith(b".xmp")}
        for row in members:
            if row.id in waiting:
                continue  # its faces are not found yet: read once they are
            name = row.rel_path_raw.rpartition(b"/")[2]
            names = _sidecars_of(name, listing)
            signature = _signature(row.content_hash, dir_fd, names)
            if signature == row.import_signature:
                continue
            item = Work(row.id, row.rel_path_raw, row.kind,
                         (row.width, row.height) if row.width and row.height else None,
                         signature)
            try:
                item.sidecar, item.orientation = read_file_xmp(
                    root_fd, root_raw, row.rel_path_raw, dir_fd, names)
            except BadSidecar as exc:
                item.error = str(exc)
            except OSError as exc:
                item.error = f"its XMP could not be read ({exc.strerror or exc})"
            work.append(item)  # (with nothing in it too: its signature is kept)
    finally:
        os.close(dir_fd)
    return work
