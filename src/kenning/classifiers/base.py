"""The one small interface every classifier implements.

A classifier names itself, says which media kinds it accepts and which model version
its results come from, and turns a batch of files into results in three steps:
`prepare` (decode; per-file failures are collected, not raised), `infer` (the model,
on the whole batch) and `interpret` (raw outputs -> tags, labels and, later, faces).
Executors only call `classify`; they never need to know what a classifier does.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from kenning.media.confined import MountRoot, Outside, fd_path, open_in_mount
from kenning.media.images import MediaError
from kenning.media.sniff import MediaKind


@dataclass(frozen=True)
class MediaFile:
    """What a classifier is told about a file. A file of a mount also carries its mount
    and its path there: it is then opened inside the mount only (see `open_confined`)."""

    id: int
    path: Path
    kind: MediaKind
    format: str
    root: MountRoot | None = None
    rel: bytes | None = None


@dataclass(frozen=True)
class PhotoNeed:
    """How large a classifier needs a photo decoded (JPEGs decode at the smallest DCT
    scale that gives it): classifiers that share one decoded photo say so."""

    min_side: int = 0  # the short side at least
    min_long_side: int = 0  # the long side at least

    def __or__(self, other: PhotoNeed) -> PhotoNeed:
        return PhotoNeed(max(self.min_side, other.min_side),
                         max(self.min_long_side, other.min_long_side))


class Photo:
    """A photo decoded once for every classifier that looks at it: RGB, upright (maybe
    reduced), and its full size as shown. Its halvings are made once, each from the one
    before (2x2 averaging, a fraction of a millisecond), and shared: the objects model's
    input and the faces detector's smallest level both start from the same one."""

    def __init__(self, image, shown: tuple[int, int] | None = None) -> None:
        self.image = image  # PIL.Image.Image
        self.shown = shown or image.size
        self._halvings = [image]

    def __getstate__(self) -> dict:
        """Pickled (from a decoding child) without its halvings: they are quicker to make
        again than to send."""
        return {"image": self.image, "shown": self.shown}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["image"], state["shown"])

    def at_least(self, min_side: int = 0, min_long_side: int = 0):
        """The smallest of the photo and its halvings still at least this large."""
        level = self._halvings[0]
        for index in range(1, 16):
            width, height = level.size
            if min(width, height) // 2 < max(min_side, 1) or \
                    max(width, height) // 2 < min_long_side:
                return level
            if index == len(self._halvings):
                self._halvings.append(level.reduce(2))
            level = self._halvings[index]
        return level


@dataclass
class FoundFace:
    box: tuple[float, float, float, float]  # x, y, width, height in the photo as shown
    landmarks: list[list[float]]  # 5 x [x, y]
    score: float
    quality: float
    embedding: bytes  # float32, L2-normalised
    thumbnail: str | None = None  # relative to the cache dir
    non_human: float | None = None  # the crop's look (kenning.faces.nonhuman); None: unjudged
    made_face: float | None = None


@dataclass
class FileResult:
    file_id: int
    tags: list[tuple[str, float]] = field(default_factory=list)  # user-facing tag, score
    labels: list[tuple[str, float]] = field(default_factory=list)  # raw model label, score
    width: int | None = None
    height: int | None = None
    faces: list[FoundFace] | None = None  # None: this classifier does not look for faces
    place: dict | None = None  # latitude, longitude and the place found (places classifier)
    taken_ns: int | None = None  # when it was taken (places classifier; see media/location)
    taken_from: str | None = None  # "camera" (EXIF, a video's own) or "name" (its file name)
    camera: str | None = None  # the camera and lens that took it (places classifier)
    lens: str | None = None


@dataclass
class Prepared:
    file_ids: list[int] = field(default_factory=list)
    inputs: list[Any] = field(default_factory=list)
    extras: list[Any] = field(default_factory=list)
    failures: dict[int, str] = field(default_factory=dict)


@dataclass
class BatchOutcome:
    classifier: str
    model_version: str
    results: list[FileResult] = field(default_factory=list)
    failures: dict[int, str] = field(default_factory=dict)  # file id -> reason


class Classifier(ABC):
    name: ClassVar[str]
    kinds: ClassVar[frozenset[MediaKind]]
    # Non-empty: work only on files that already carry one of these tags (written by the
    # classifiers that run first); a file that loses them loses this classifier's results.
    only_with_tags: ClassVar[frozenset[str]] = frozenset()
    # Not None: this classifier can work from a photo decoded for several classifiers at
    # once (`prepare_photos`), decoded at least this large.
    photo_need: ClassVar[PhotoNeed | None] = None
    finds_faces: bool = False  # its results carry the faces of the file (FileResult.faces)
    # A photo classifier given a media.thumbnails.ThumbnailWriter leaves the grid's
    # thumbnail of each photo it decodes in the cache folder (`index_thumbnails`).
    grid_thumbnails: Any = None

    @property
    @abstractmethod
    def model_version(self) -> str: ...

    def accepts(self, kind: str | None) -> bool:
        return kind in self.kinds

    def warm(self) -> None:
        """Load the models now rather than on the first batch (a worker starting up);
        classifiers without models have nothing to do."""
        return None

    @abstractmethod
    def prepare(self, files: Sequence[MediaFile]) -> Prepared: ...

    def prepare_photos(self, files: Sequence[MediaFile], photos: Sequence[Photo]) -> Prepared:
        """`prepare` from photos already decoded (see `photo_need`)."""
        raise NotImplementedError(f"{self.name} decodes its own files")

    @abstractmethod
    def infer(self, prepared: Prepared) -> Any: ...

    @abstractmethod
    def interpret(self, prepared: Prepared, raw: Any) -> list[FileResult]: ...

    def prepare_confined(self, files: Sequence[MediaFile]) -> Prepared:
        """`prepare`, with every file of a mount opened first, inside its mount only: the
        decoders then read exactly the checked file, whatever happens to its name."""
        if self.photo_need is not None and self.grid_thumbnails is not None:
            return prepare_together([self], files)[0]  # which leaves the thumbnails too
        opened, failures = open_confined(files)
        try:
            prepared = self.prepare([file for file, _fd in opened])
        finally:
            for _file, fd in opened:
                if fd is not None:
                    os.close(fd)
        prepared.failures.update(failures)
        return prepared

    def classify(self, files: Sequence[MediaFile]) -> BatchOutcome:
        return self.classify_prepared(self.prepare_confined(files))

    def classify_prepared(self, prepared: Prepared) -> BatchOutcome:
        """The models' part, on inputs decoded here or elsewhere (a worker's decoder)."""
        outcome = BatchOutcome(self.name, self.model_version, failures=dict(prepared.failures))
        if prepared.inputs:
            outcome.results = self.interpret(prepared, self.infer(prepared))
        return outcome


class OnnxModelClassifier(Classifier):
    """A classifier built on one manifest ONNX model, loaded on first use (a run with
    nothing to do never loads it); its version is the model's."""

    def __init__(self, model: str, threads: int = 1) -> None:
        from kenning.models.runtime import find_model

        self.spec = find_model(model)
        self.threads = threads
        self._sessions: dict[str, object] = {}
        self._lock = threading.Lock()

    @property
    def session(self):
        return self.session_for(self.spec)

    def session_for(self, spec):
        """The session of a manifest model, opened once (the classifier's own, or another
        it also runs)."""
        from kenning.models.runtime import open_session

        with self._lock:
            if spec.name not in self._sessions:
                self._sessions[spec.name] = open_session(spec, self.threads)
            return self._sessions[spec.name]

    @property
    def model_version(self) -> str:
        return self.spec.version

    def warm(self) -> None:
        self.session  # noqa: B018 - loads it


def open_confined(files: Sequence[MediaFile]
                  ) -> tuple[list[tuple[MediaFile, int | None]], dict[int, str]]:
    """Open each file of a mount inside its mount; it is then read through its open
    descriptor. Files without a mount (tools, benchmarks) keep their path."""
    opened, failures = [], {}
    for file in files:
        if file.root is None or file.rel is None:
            opened.append((file, None))
            continue
        try:
            fd = open_in_mount(file.root, file.rel)
        except Outside:
            failures[file.id] = "a symbolic link now leads out of its folder: not read"
        except FileNotFoundError:
            failures[file.id] = "file disappeared since the scan"
        except PermissionError:
            failures[file.id] = "permission denied: cannot read the file"
        except OSError as exc:
            failures[file.id] = f"cannot open the file: {exc.strerror or exc}"
        else:
            opened.append((replace(file, path=Path(fd_path(fd))), fd))
    return opened, failures


def prepare_together(classifiers: Sequence[Classifier], files: Sequence[MediaFile]
                     ) -> list[Prepared]:
    """Each photo opened (inside its mount) and decoded once, at the smallest scale that
    serves every one of these classifiers; then each prepares its input from it. The
    grid's thumbnail is made from it too, if one of them has a `grid_thumbnails` writer."""
    from kenning.media.images import open_image

    need = PhotoNeed()
    for classifier in classifiers:
        need = need | classifier.photo_need
    writer = next((c.grid_thumbnails for c in classifiers if c.grid_thumbnails), None)
    opened, failures = open_confined(files)
    decoded: list[MediaFile] = []
    photos: list[Photo] = []
    try:
        for file, fd in opened:
            try:
                image, shown = open_image(file.path, need.min_side, need.min_long_side)
            except MediaError as exc:
                failures[file.id] = str(exc)
                continue
            except MemoryError:
                failures[file.id] = "out of memory while decoding"
                continue
            decoded.append(file)
            photos.append(Photo(image, shown))
            if writer is not None and fd is not None:
                writer.write(file.id, file.root.path, file.rel, fd, photos[-1])
    finally:
        for _file, fd in opened:
            if fd is not None:
                os.close(fd)
    prepared = []
    for classifier in classifiers:
        mine = classifier.prepare_photos(decoded, photos)
        mine.failures.update(failures)
        prepared.append(mine)
    return prepared


def prepare_each_photo(files: Sequence[MediaFile], photos: Sequence[Photo], load) -> Prepared:
    """Run `load(photo) -> (input, extra)` on each decoded photo (MediaError: a failure)."""
    prepared = Prepared()
    for file, photo in zip(files, photos, strict=True):
        try:
            model_input, extra = load(photo)
        except MediaError as exc:
            prepared.failures[file.id] = str(exc)
            continue
        prepared.file_ids.append(file.id)
        prepared.inputs.append(model_input)
        prepared.extras.append(extra)
    return prepared


def prepare_each(files: Sequence[MediaFile], load) -> Prepared:
    """Run `load(file) -> (input, extra)` on each file, turning MediaError into a failure."""
    prepared = Prepared()
    for file in files:
        try:
            model_input, extra = load(file)
        except MediaError as exc:
            prepared.failures[file.id] = str(exc)
            continue
        except MemoryError:
            prepared.failures[file.id] = "out of memory while decoding"
            continue
        prepared.file_ids.append(file.id)
        prepared.inputs.append(model_input)
        prepared.extras.append(extra)
    return prepared
