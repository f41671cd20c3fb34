"""Build the world map the Places page draws its photos on: country outlines from
Natural Earth (public domain), 1:110m, as world-atlas 2.0.2 on the npm registry carries
them (TopoJSON, ISC), projected equirectangularly onto 960 x 480 and written as one SVG.

    python tools/build_world_map.py [countries-110m.json]

Without an argument the file is taken from `npm pack world-atlas@2.0.2` (the npm
registry). Writes src/kenning/server/static/world.svg and prints its sha256; the file is
committed (nothing is fetched at run time)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "kenning" / "server" / "static" / "world.svg"
WIDTH, HEIGHT = 960, 480
PACKAGE = "world-atlas@2.0.2"


def topology() -> dict:
    if len(sys.argv) > 1:
        return json.loads(Path(sys.argv[1]).read_text())
    with tempfile.TemporaryDirectory() as folder:
        name = subprocess.run(["npm", "pack", PACKAGE], cwd=folder, check=True,
                              capture_output=True, text=True).stdout.split()[-1]
        with tarfile.open(Path(folder) / name) as archive:
            data = archive.extractfile("package/countries-110m.json").read()
    return json.load(io.BytesIO(data))


def arcs_of(data: dict) -> list[list[tuple[float, float]]]:
    (sx, sy), (tx, ty) = data["transform"]["scale"], data["transform"]["translate"]
    decoded = []
    for arc in data["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        decoded.append(points)
    return decoded


def ring(indexes: list[int], arcs) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for index in indexes:
        part = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        points.extend(part if not points else part[1:])
    return points


def project(lon: float, lat: float) -> str:
    return f"{(lon + 180) * WIDTH / 360:.1f} {(90 - lat) * HEIGHT / 180:.1f}"


def ring_path(points: list[tuple[float, float]]) -> str:
    """A ring as path data. Where it crosses the antimeridian (Russia's east, Fiji,
    Antarctica's edge) it is cut into pieces, each closed at the map's edge, rather than
    drawn across the whole map."""
    pieces: list[list[tuple[float, float]]] = [[]]
    for point in points:
        last = pieces[-1][-1] if pieces[-1] else None
        if last is not None and abs(point[0] - last[0]) > 180:
            edge = 180.0 if last[0] > 0 else -180.0
            middle = last[1] + (point[1] - last[1]) / 2
            pieces[-1].append((edge, middle))
            pieces.append([(-edge, middle)])
        pieces[-1].append(point)
    if len(pieces) > 1 and pieces[0] and pieces[-1]:
        pieces[0] = pieces.pop() + pieces[0]  # the ring's start is in its last piece
    return "".join("M" + "L".join(project(*p) for p in piece) + "Z"
                   for piece in pieces if len(piece) > 2)


def main() -> None:
    data = topology()
    arcs = arcs_of(data)
    paths = []
    for geometry in data["objects"]["countries"]["geometries"]:
        polygons = geometry.get("arcs", [])
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        elif geometry["type"] != "MultiPolygon":
            continue
        parts = []
        for polygon in polygons:
            for indexes in polygon:
                parts.append(ring_path(ring(indexes, arcs)))
        paths.append(f'<path d="{"".join(parts)}"/>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}">'
           "<!-- Country outlines: Natural Earth 1:110m (public domain), via world-atlas "
           "2.0.2 (ISC); built by tools/build_world_map.py -->"
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#eef3f7"/>'
           '<g fill="#d5dde3" stroke="#ffffff" stroke-width="0.4">'
           + "".join(paths) + "</g></svg>\n")
    OUT.write_text(svg)
    print(f"{OUT.relative_to(REPO)}: {len(svg)} bytes, {len(paths)} countries, sha256 "
          f"{hashlib.sha256(svg.encode()).hexdigest()}")


if __name__ == "__main__":
    main()
