"""Classifiers, one module each; this registry is the only list of them."""

from __future__ import annotations

from collections.abc import Callable

from kenning.classifiers.base import Classifier
from kenning.config import ConfigError, Settings


def _objects(settings: Settings) -> Classifier:
    from kenning.classifiers.objects import ObjectsClassifier

    return _with_thumbnails(ObjectsClassifier(settings.objects_model), settings)


def _faces(settings: Settings) -> Classifier:
    from kenning.classifiers.faces import FacesClassifier

    # Doubtful faces' crops are judged by the objects model, whose labels of the whole
    # photo decide with them (kenning.faces.nonhuman).
    judge = settings.objects_model if "objects" in settings.classifiers else None
    return _with_thumbnails(FacesClassifier(embedder=settings.face_embedder,
                                            thumbnails=settings.cache_dir, objects=judge),
                            settings)


def _with_thumbnails(classifier: Classifier, settings: Settings) -> Classifier:
    """The photo grid's thumbnails made from the photos this classifier decodes."""
    if settings.index_thumbnails:
        from kenning.media.thumbnails import ThumbnailWriter

        classifier.grid_thumbnails = ThumbnailWriter(settings.cache_dir)
    return classifier


def _music(settings: Settings) -> Classifier:
    from kenning.classifiers.music import MusicClassifier

    return MusicClassifier()


def _video(settings: Settings) -> Classifier:
    from kenning.classifiers.objects import ObjectsClassifier
    from kenning.classifiers.video import VideoClassifier
    from kenning.models.optional import installed

    faces = _faces(settings) if "faces" in settings.classifiers else None
    movinet = installed(settings.data_dir, "movinet_a0_stream_kinetics600")
    actions = None
    if movinet is not None:
        from kenning.video.actions import ActionModel

        actions = ActionModel(movinet)
    return VideoClassifier(ObjectsClassifier(settings.objects_model), faces, actions)


def _places(settings: Settings) -> Classifier:
    from kenning.classifiers.places import PlacesClassifier

    return PlacesClassifier()


def _landmarks(settings: Settings) -> Classifier | None:
    from kenning.models.optional import landmark_models

    models = landmark_models(settings.data_dir)
    if not models:
        return None  # a plug-in: nothing to run until the user installs a model
    from kenning.classifiers.landmarks import LandmarksClassifier

    return LandmarksClassifier(models, settings.landmark_threshold)


REGISTRY: dict[str, Callable[[Settings], Classifier | None]] = {
    "objects": _objects,
    "faces": _faces,
    "music": _music,
    "video": _video,
    "places": _places,
    "landmarks": _landmarks,
}


def enabled_classifiers(settings: Settings) -> list[Classifier]:
    unknown = [name for name in settings.classifiers if name not in REGISTRY]
    if unknown:
        raise ConfigError(f"unknown classifier {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    made = [REGISTRY[name](settings) for name in settings.classifiers]
    return [classifier for classifier in made if classifier is not None]
