"""Sample a video for the models: frames at ~5 fps for actions and a few keyframes.

A short video (up to WHOLE_SECONDS) is decoded once, front to back, and both kinds of
frame are taken on the way. A longer one is never decoded whole: action frames come from
up to three windows of WINDOW_SECONDS spread over it, and keyframes from seeks to evenly
spaced times, so a 2-hour film costs about as much as a 30 s clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from kenning.media.audio import open_container
from kenning.media.images import MediaError

ACTION_FPS = 5.0
ACTION_SIZE = 172
WHOLE_SECONDS = 30.0
WINDOW_SECONDS = 10.0
WINDOWS = 3
MAX_KEYFRAMES = 8
KEYFRAME_LONGEST = 1280
MAX_BAD_PACKETS = 50


@dataclass
class VideoSample:
    width: int
    height: int
    duration: float
    windows: list[np.ndarray] = field(default_factory=list)  # (frames, 172, 172, 3) float32
    keyframes: list[tuple[float, Image.Image]] = field(default_factory=list)


def keyframe_times(duration: float) -> list[float]:
    count = max(1, min(MAX_KEYFRAMES, math.ceil(duration / 2)))
    return [(i + 0.5) * duration / count for i in range(count)]


def _frames(container, stream, start: float, end: float):
    """Decoded frames with start <= time < end (times in seconds), tolerating bad packets."""
    bad = 0
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except Exception:  # noqa: BLE001 - av.FFmpegError and friends: a damaged packet
            bad += 1
            if bad > MAX_BAD_PACKETS:
                return
            continue
        for frame in frames:
            time = frame.time if frame.time is not None else start
            if time >= end:
                return
            if time >= start:
                yield time, frame


def _shown(frame) -> Image.Image:
    """The frame as an RGB image of at most KEYFRAME_LONGEST pixels, turned as shown."""
    scale = min(1.0, KEYFRAME_LONGEST / max(frame.width, frame.height))
    image = frame.to_image(width=max(2, round(frame.width * scale)),
                           height=max(2, round(frame.height * scale)))
    rotation = getattr(frame, "rotation", 0) or 0
    return image.rotate(rotation, expand=True) if rotation % 360 else image


def _action_pixels(frame) -> np.ndarray:
    rgb = frame.to_ndarray(width=ACTION_SIZE, height=ACTION_SIZE, format="rgb24")
    rotation = getattr(frame, "rotation", 0) or 0
    if rotation % 360:
        rgb = np.rot90(rgb, k=round(rotation / 90) % 4)
    return rgb


def sample_video(path: Path, actions: bool = True) -> VideoSample | None:
    """Frames for the models; None when the file has no video track (audio only)."""
    import av

    with open_container(path, "video") as container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        # One decoding thread: Kenning already decodes one file per worker thread or
        # process, and FFmpeg's frame threads, left early (we stop once we have what
        # we need), are reported upstream to hang under CPU contention.
        stream.thread_count = 1
        duration = _duration(container, stream)
        sample = VideoSample(stream.width, stream.height, duration or 0.0)
        try:
            if duration is None or duration <= WHOLE_SECONDS:
                _sample_whole(container, stream, sample, actions)
            else:
                _sample_spread(container, stream, sample, actions)
        except av.FFmpegError as exc:
            if not sample.keyframes:
                raise MediaError(f"cannot decode video: {exc}") from exc
    if not sample.keyframes:
        raise MediaError("no video frame could be decoded (corrupt, truncated or empty)")
    width, height = sample.keyframes[0][1].size
    sample.width, sample.height = width, height
    return sample


def _duration(container, stream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return None


def _sample_whole(container, stream, sample: VideoSample, actions: bool) -> None:
    limit = sample.duration if sample.duration else WHOLE_SECONDS
    wanted = keyframe_times(limit)
    window, next_action, last = [], 0.0, None
    for time, frame in _frames(container, stream, 0.0, WHOLE_SECONDS + 1):
        if actions and time >= next_action:
            window.append(_action_pixels(frame))
            next_action += 1.0 / ACTION_FPS
        if wanted and time >= wanted[0]:
            sample.keyframes.append((time, _shown(frame)))
            while wanted and time >= wanted[0]:
                wanted.pop(0)
        last = (time, frame)
    if not sample.keyframes and last is not None:  # duration was wrong: take the last frame
        sample.keyframes.append((last[0], _shown(last[1])))
    if window:
        sample.windows.append(np.stack(window).astype(np.float32) / 255.0)


def _seek(container, stream, seconds: float) -> None:
    container.seek(int(seconds / stream.time_base), stream=stream, backward=True)


def _sample_spread(container, stream, sample: VideoSample, actions: bool) -> None:
    duration = sample.duration
    if actions:
        for i in range(WINDOWS):
            start = (2 * i + 1) * duration / (2 * WINDOWS) - WINDOW_SECONDS / 2
            _seek(container, stream, start)
            window, next_action = [], start
            for time, frame in _frames(container, stream, start, start + WINDOW_SECONDS):
                if time >= next_action:
                    window.append(_action_pixels(frame))
                    next_action += 1.0 / ACTION_FPS
            if window:
                sample.windows.append(np.stack(window).astype(np.float32) / 255.0)
    for wanted in keyframe_times(duration):
        _seek(container, stream, wanted)
        for time, frame in _frames(container, stream, wanted, duration + 1):
            sample.keyframes.append((time, _shown(frame)))
            break


def poster_frame(path: Path) -> Image.Image:
    """One frame to show for a video (its first decodable frame after a tenth of it, at
    most a second in), turned as shown."""
    with open_container(path, "video") as container:
        if not container.streams.video:
            raise MediaError("no video track")
        stream = container.streams.video[0]
        stream.thread_count = 1
        duration = _duration(container, stream) or 0.0
        start = min(1.0, duration / 10)
        try:
            if start > 0:
                _seek(container, stream, start)
            for _time, frame in _frames(container, stream, 0.0, math.inf):
                return _shown(frame)
        except Exception as exc:  # noqa: BLE001 - av.FFmpegError and friends
            raise MediaError(f"cannot decode video: {exc}") from exc
    raise MediaError("no video frame could be decoded (corrupt, truncated or empty)")
