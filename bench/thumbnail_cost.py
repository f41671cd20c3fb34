"""What making the grid's thumbnails while indexing costs `kenning index`.

    .venv/bin/python bench/thumbnail_cost.py [--photos 120] [--repeat 3]

The photos of bench/index_speed.py (12 MP camera-like JPEGs with real faces). Each
round indexes them twice in new processes on new data folders, with the default
classifiers: once with `index_thumbnails = false` (the baseline: thumbnails made when
first seen) and once as shipped (each photo's 240 px thumbnail made from the photo the
classifiers decoded, then the first screen's 480 px ones rendered). The order alternates
between rounds; the figures are medians. `thumbnails_per_photo_ms` is what the
thumbnails add per photo past the first screen's fixed part (`first_screen_seconds`,
the 480 px renders, timed on their own afterwards).
Prints `name: value` lines; exits 1 when the thumbnails add more than 5% per photo
(the first screen's renders are a fixed part: about 1.5 s once per new library, and the
few new photos at the top of the timeline on later runs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from index_speed import DEFAULT, make_photos, run_index

REPO = Path(__file__).resolve().parents[1]
TARGET = 0.05


def first_screen_seconds(data_dir: Path) -> tuple[float, int]:
    """The 480 px renders of the first screen, made again on their own."""
    sys.path.insert(0, str(REPO / "src"))
    from kenning.config import load_settings
    from kenning.db import Database, Mount
    from kenning.pipeline.first_screen import make_first_screen

    settings = load_settings(data_dir)
    for made in (settings.cache_dir / "thumbnails" / "480").rglob("*.webp"):
        made.unlink()
    db = Database(settings.db_url)
    with db.session() as session:
        mount = session.query(Mount).one()
        user_id, mount_id = mount.user_id, mount.id
    started = time.perf_counter()
    made = make_first_screen(settings.cache_dir, db, user_id, mount_id)
    seconds = time.perf_counter() - started
    db.engine.dispose()
    return seconds, made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        photos = root / "photos"
        photos.mkdir()
        make_photos(photos, args.photos)
        seconds = {"without": [], "with": []}
        screens, made_count, thumbnails = [], 0, 0
        for round_ in range(args.repeat):
            order = ("without", "with") if round_ % 2 == 0 else ("with", "without")
            for config in order:
                data_dir = root / f"data-{config}-{round_}"
                extra = {"KENNING_INDEX_THUMBNAILS": "false"} if config == "without" else {}
                report = run_index(photos, data_dir, DEFAULT, extra)
                seconds[config].append(report["wall_seconds"])
                if config == "with":
                    thumbnails = sum(1 for _ in (data_dir / "cache" / "thumbnails" / "240")
                                     .rglob("*.webp"))
                    screen, made_count = first_screen_seconds(data_dir)
                    screens.append(screen)
    without, with_ = statistics.median(seconds["without"]), statistics.median(seconds["with"])
    screen = statistics.median(screens)
    ratio = with_ / without
    per_photo = (with_ - without - screen) / args.photos
    print(f"photos: {args.photos}")
    print(f"thumbnails_240_made: {thumbnails}")
    print(f"first_screen_480_made: {made_count}")
    print(f"index_seconds_without: {without:.2f} (baseline, median of {args.repeat})")
    print(f"index_seconds_with: {with_:.2f}")
    print(f"first_screen_seconds: {screen:.2f}")
    print(f"thumbnails_per_photo_ms: {per_photo * 1000:.1f}")
    print(f"index_ratio: {ratio:.3f} (the first screen's renders included)")
    per_photo_ratio = (with_ - screen) / without
    print(f"per_photo_ratio: {per_photo_ratio:.3f} (target <= {1 + TARGET}; without the "
          "first screen's fixed part)")
    sys.exit(0 if per_photo_ratio <= 1 + TARGET else 1)


if __name__ == "__main__":
    main()
