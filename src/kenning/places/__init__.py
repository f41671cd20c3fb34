"""Places: coordinates from photos and videos, and offline reverse geocoding (GeoNames)."""
