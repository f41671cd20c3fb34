"""Real media files made on the fly for tests: photos in every format, videos, audio, bad files."""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

try:
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover
    pass


def save_photo(source: Path, dest: Path, fmt: str, size: int | None = None,
               orientation: int | None = None) -> Path:
    """Re-encode a real photo as `fmt`; with `orientation`, store the pixels turned so that
    the EXIF orientation tag turns them back."""
    image = Image.open(source).convert("RGB")
    if size:
        image = image.resize((size, size * image.height // image.width))
    exif = Image.Exif()
    if orientation == 6:  # viewer turns 90 degrees clockwise: store turned anticlockwise
        image = image.transpose(Image.Transpose.ROTATE_90)
        exif[0x0112] = 6
    elif orientation == 8:
        image = image.transpose(Image.Transpose.ROTATE_270)
        exif[0x0112] = 8
    elif orientation == 3:
        image = image.transpose(Image.Transpose.ROTATE_180)
        exif[0x0112] = 3
    dest.parent.mkdir(parents=True, exist_ok=True)
    options = {"exif": exif} if orientation else {}
    if fmt in ("JPEG", "WEBP", "AVIF", "HEIF"):
        options["quality"] = 90
    image.save(dest, format=fmt, **options)
    return dest


def png_bomb(dest: Path, side: int = 30_000) -> Path:
    """A small PNG that decompresses to side x side pixels (1-bit, all black)."""
    row = b"\0" + b"\0" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    dest.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
                     + chunk(b"IEND", b""))
    return dest


def write_video(dest: Path, container: str, codec: str, frames: int = 10, size: int = 64) -> Path:
    import av

    with av.open(str(dest), "w", format=container) as out:
        stream = out.add_stream(codec, rate=10)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            pixels = np.full((size, size, 3), (i * 20) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dest


def write_audio(dest: Path, container: str, codec: str, seconds: float = 0.5,
                rate: int = 48_000, samples: np.ndarray | None = None) -> Path:
    """Encode mono float `samples` at `rate` (default: a 440 Hz tone of `seconds`)."""
    import av

    if samples is None:
        count = int(seconds * rate)
        samples = 0.3 * np.sin(np.arange(count) * 2 * np.pi * 440 / rate)
    samples = np.asarray(samples, dtype=np.float32)
    with av.open(str(dest), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        _encode_audio(out, stream, samples, rate)
    return dest


def _encode_audio(out, stream, samples: np.ndarray, rate: int) -> None:
    import av

    fmt = stream.codec_context.codec.audio_formats[0].name
    frame_size = stream.codec_context.frame_size or 1024
    resampler = av.AudioResampler(format=fmt, layout=stream.layout.name, rate=rate)
    for start in range(0, len(samples), frame_size):
        chunk = samples[start:start + frame_size]
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        for converted in resampler.resample(frame):
            for packet in stream.encode(converted):
                out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def read_audio(source: Path, rate: int = 22_050) -> np.ndarray:
    """Mono float samples of any audio file (for re-encoding real clips in tests)."""
    from kenning.media.audio import decode_audio

    return decode_audio(source, rate, 3600.0)


def write_photo_video(dest: Path, photo: Path, container: str, codec: str, seconds: float = 4,
                      fps: int = 10, width: int = 320, audio: np.ndarray | None = None,
                      audio_rate: int = 44_100, options: dict | None = None) -> Path:
    """A video of a real photo slowly panning (so frames differ), optionally with sound."""
    import av

    image = Image.open(photo).convert("RGB")
    height = (width * image.height // image.width) // 2 * 2
    big = image.resize((width + 40, height + 40))
    with av.open(str(dest), "w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        if options:
            stream.options = options
        sound = None
        if audio is not None:
            sound = out.add_stream("aac" if container in ("mp4", "mov") else "libopus",
                                   rate=audio_rate)
            sound.layout = "mono"
        for i in range(int(seconds * fps)):
            shift = i * 40 // int(seconds * fps)
            frame = np.asarray(big.crop((shift, shift, shift + width, shift + height)))
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if sound is not None:
            _encode_audio(out, sound, np.asarray(audio, np.float32), audio_rate)
    return dest


def progressive_jpeg_bomb(dest: Path, side: int = 30_000) -> Path:
    """A 0.5 KB progressive JPEG whose header says side x side pixels. Decoding it even at
    1/8 scale makes libjpeg hold every DCT coefficient of the full image: 2.7 GB here."""
    import io

    out = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 30, 200)).save(out, "JPEG", progressive=True)
    data = bytearray(out.getvalue())
    sof2 = data.index(b"\xff\xc2")
    struct.pack_into(">HH", data, sof2 + 5, side, side)
    dest.write_bytes(bytes(data))
    return dest


def dms(value: float) -> tuple:
    """Degrees, minutes, seconds as EXIF GPS stores them (rationals)."""
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = Fraction(round((value - degrees - minutes / 60) * 3600 * 100), 100)
    return (Fraction(degrees), Fraction(minutes), seconds)


def geotagged(source: Path, dest: Path, latitude: float, longitude: float,
              taken: str | None = None) -> Path:
    """A copy of a real photo whose EXIF GPS says it was taken there (and, with `taken`
    as '2019:07:14 12:00:00', then)."""
    image = Image.open(source)
    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(0x8769)[0x9003] = taken
    exif[0x8825] = {1: "N" if latitude >= 0 else "S", 2: dms(latitude),
                    3: "E" if longitude >= 0 else "W", 4: dms(longitude)}
    dest.parent.mkdir(parents=True, exist_ok=True)
    image.save(dest, exif=exif)
    return dest


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each segment of a JPEG, a scan with its entropy-coded data."""
    i, found = 2, []
    while i < len(data):
        marker = data[i + 1]
        if marker == 0xD9:
            found.append((marker, i, i + 2))
            break
        end = i + 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker == 0xDA:
            while True:
                end = data.index(b"\xff", end)
                if data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                    end += 2
                    continue
                break
        found.append((marker, i, end))
        i = end
    return found


def progressive_scan_bomb(dest: Path, side: int = 19_000, scans: int = 2_000) -> Path:
    """A small greyscale progressive JPEG whose header says side x side pixels (722 MB of
    coefficients at 19,000: under the memory budget) and that repeats one AC scan
    `scans` times: libjpeg passes over the whole image once per scan (75 s for 2,000)."""
    import io

    out = io.BytesIO()
    Image.new("L", (64, 64), 128).save(out, "JPEG", progressive=True)
    data = out.getvalue()
    segments = _jpeg_segments(data)
    sos = [k for k, (marker, _, _) in enumerate(segments) if marker == 0xDA]
    head = bytearray(data[:segments[sos[0]][1]])
    sof = head.index(b"\xff\xc2")
    struct.pack_into(">HH", head, sof + 5, side, side)
    first_scan = data[segments[sos[0]][1]:segments[sos[0]][2]]
    ac_scan = data[segments[sos[0]][2]:segments[sos[1]][2]]  # its Huffman table + the scan
    dest.write_bytes(bytes(head) + first_scan + ac_scan * scans + b"\xff\xd9")
    return dest


def with_camera(source: Path, dest: Path, make: str, model: str,
                lens: str | None = None) -> Path:
    """A copy of a real photo whose EXIF names the camera (and lens) that took it."""
    image = Image.open(source)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = make, model
    if lens is not None:
        exif.get_ifd(0x8769)[0xA434] = lens
    dest.parent.mkdir(parents=True, exist_ok=True)
    image.save(dest, exif=exif)
    return dest
