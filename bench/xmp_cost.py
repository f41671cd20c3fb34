"""What XMP sidecars add to indexing: the import at `kenning index` and an export.

    .venv/bin/python bench/xmp_cost.py [--photos 200]

A library of dev photos (ImageNet photos and the dlib Johns' portraits), half of them
with a sidecar as digiKam writes one (two keywords; on a portrait, the face's region
with the person's name). It is
indexed in this process with the default classifiers and `import_xmp` off (the
baseline); then the import that `kenning index` runs after clustering is timed on it
(every sidecar read, regions matched, names and keywords stored), then a full export
of every photo's sidecar; several rounds, everything read and written again each time
(the import's figure is the first round's, which stores what it read; the export's
the median). Prints `name: value` lines and the ratios to the baseline indexing
time; exits 1 when the import or the export adds more than 5%.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "data" / "dev"
TARGET = 0.05


def make_library(root: Path, count: int) -> int:
    from PIL import Image

    from kenning.xmp.sidecar import Entries, Region, write

    photos = sorted((DEV / "imagenet_100").glob("*.JPEG"))
    photos += sorted((DEV / "faces" / "dlib_johns" / "examples" / "johns").rglob("*.jpg"))
    photos = photos[:count]
    sidecars = 0
    for number, photo in enumerate(photos):
        target = root / f"{number:04d}_{photo.name}"
        shutil.copy(photo, target)
        if number % 2:
            portrait = photo.parent.parent.name == "johns"  # a face fills these photos
            name = photo.parent.name.replace("_", " ")
            entry = Entries(tags=["Holiday", "Family"], people=[name] if portrait else [],
                            regions=[Region(name, (0.1, 0.05, 0.8, 0.9))] if portrait else [],
                            stored_size=Image.open(photo).size)
            Path(f"{target}.xmp").write_bytes(write(entry))
            sidecars += 1
    return sidecars


def main() -> None:
    sys.path.insert(0, str(REPO / "src"))
    from kenning.config import load_settings
    from kenning.db import Database, Mount
    from kenning.pipeline.indexer import index_folder
    from kenning.users import library_owner
    from kenning.xmp.export import Destination, export_xmp
    from kenning.xmp.importer import import_xmp

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="Profile the last import.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        library = root / "library"
        library.mkdir()
        sidecars = make_library(library, args.photos)
        settings = load_settings(root / "data", import_xmp=False)
        settings.data_dir.mkdir(parents=True)
        db = Database(settings.db_url)
        started = time.perf_counter()
        report = index_folder(settings, db, library)
        indexing = time.perf_counter() - started
        with db.session() as session:
            mount_id = session.query(Mount.id).scalar()
        from sqlalchemy import update

        from kenning.classifiers import enabled_classifiers
        from kenning.db import XmpFile

        faces = next(c for c in enabled_classifiers(settings) if c.name == "faces")
        import_times, export_times = [], []
        for round_ in range(args.rounds):  # each round reads and writes everything again
            with db.session() as session:
                session.execute(update(XmpFile).values(
                    import_signature=None, import_report=None, export_digest=None))
            started = time.perf_counter()
            if args.profile and round_ == 0:
                import cProfile

                profile = cProfile.Profile()
                imported = profile.runcall(import_xmp, settings, db, mount_id, faces)
                profile.print_stats("cumulative")
            else:
                report_of_round = import_xmp(settings, db, mount_id, faces)
                imported = imported if round_ else report_of_round
            import_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            exported = export_xmp(settings, db, library_owner(db),
                                  Destination(folder=str(root / f"sidecars{round_}")))
            export_times.append(time.perf_counter() - started)
        # The first import is the one that adds names and keywords (and loads modules):
        # later rounds find them there. The export writes everything every round.
        importing, exporting = import_times[0], statistics.median(export_times)
    photos = sum(report.scan.by_kind.values())
    print(f"photos: {photos}")
    print(f"sidecars_read: {sidecars}")
    print(f"faces_named: {imported.names}")
    print(f"keywords_added: {imported.tags}")
    print(f"sidecars_written: {exported.written}")
    print(f"index_seconds_baseline: {indexing:.2f}")
    print(f"import_seconds: {importing:.3f} (the first: names and keywords stored, modules "
          "loaded)")
    print(f"import_seconds_again: {statistics.median(import_times[1:] or import_times):.3f}")
    print(f"export_seconds: {exporting:.3f}")
    print(f"import_ratio: {importing / indexing:.4f} (target <= {TARGET})")
    print(f"export_ratio: {exporting / indexing:.4f} (target <= {TARGET})")
    print(f"import_and_export_ratio: {(importing + exporting) / indexing:.4f}")
    sys.exit(0 if max(importing, exporting) / indexing <= TARGET else 1)


if __name__ == "__main__":
    main()
