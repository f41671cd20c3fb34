"""Decode the audio track of any file PyAV (FFmpeg) can open to 16 kHz mono float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kenning.media.images import MediaError

MAX_BAD_PACKETS = 50


def decode_audio(path: Path, sample_rate: int, max_seconds: float) -> np.ndarray | None:
    """The first `max_seconds` of the first audio track, mono, at `sample_rate`.

    Returns None when the file has no audio track (a silent video); raises MediaError when
    the file cannot be opened or not a single packet of its audio decodes.
    """
    import av  # a large import; only files with sound need it

    with open_container(path, "audio") as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        # One decoding thread: Kenning already decodes one file per worker thread or
        # process, and FFmpeg's frame threads, left early (we stop once we have what
        # we need), are reported upstream to hang under CPU contention.
        stream.thread_count = 1
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        wanted = int(max_seconds * sample_rate)
        chunks: list[np.ndarray] = []
        have = bad = 0
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.FFmpegError:
                    bad += 1
                    if bad > MAX_BAD_PACKETS:
                        break
                    continue
                for frame in frames:
                    frame.pts = None  # let the resampler count samples itself
                    for out in resampler.resample(frame):
                        chunk = out.to_ndarray().reshape(-1)
                        chunks.append(chunk)
                        have += chunk.size
                if have >= wanted:
                    break
            else:
                for out in resampler.resample(None):
                    chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as exc:
            if not chunks:
                raise MediaError(f"cannot decode audio: {_reason(exc)}") from exc
    if not chunks:
        if bad:
            raise MediaError("cannot decode audio: every packet is damaged")
        raise MediaError("the audio track is empty")
    return np.concatenate(chunks)[:wanted].astype(np.float32, copy=False)


def open_container(path: Path, what: str):
    """A PyAV container for reading, or MediaError saying why `what` cannot be opened."""
    import av

    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, OSError) as exc:
        raise MediaError(f"cannot open {what}: {_reason(exc)}") from exc


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(": '", 1)[0].strip() or type(exc).__name__
