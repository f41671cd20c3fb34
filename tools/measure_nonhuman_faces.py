"""How many faces the non-human rule (kenning.faces.nonhuman) sets aside (run by a developer).

    .venv/bin/python tools/measure_nonhuman_faces.py [--dev ../shared/data/dev]
                                                    [--foolbox foolbox-3.3.4-py3-none-any.whl]

Runs `kenning index` (objects and faces) on a new data folder over three libraries: every
dev face photo (LFW view 1, deepface, dlib, face_recognition: human faces only), the 100
dev ImageNet photos (animals and objects, one man holding fish) and the 20 ImageNet
validation photos of the PyPI package foolbox (read from its wheel, downloaded with pip
unless given; a bull mastiff among them). Prints `name: value` lines: the human faces set
aside (should be 0), every other face found, kept or set aside, and the human faces
nearest to the rule (the lowest detector scores among those in animal-looking photos).
About two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kenning.faces.nonhuman import NOT_HUMAN_TAGS, SET_ASIDE, not_human_mass  # noqa: E402

PHOTOS = (".jpg", ".jpeg", ".png")


def copy_flat(source: Path, target: Path) -> None:
    target.mkdir(parents=True)
    for path in sorted(source.rglob("*")):
        if path.suffix.lower() in PHOTOS and path.is_file():
            shutil.copyfile(path, target / "_".join(path.relative_to(source).parts))


def foolbox_samples(wheel: Path | None, target: Path) -> None:
    target.mkdir(parents=True)
    if wheel is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "foolbox==3.3.4",
                        "--no-deps", "-d", str(target.parent), "-q"], check=True)
        wheel = next(target.parent.glob("foolbox-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.startswith("foolbox/data/imagenet_") and member.endswith(".jpg"):
                (target / Path(member).name).write_bytes(archive.read(member))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=REPO.parent / "shared" / "data" / "dev")
    parser.add_argument("--foolbox", type=Path, help="foolbox wheel (default: pip download)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        copy_flat(args.dev / "faces", root / "humans")
        copy_flat(args.dev / "imagenet_100", root / "imagenet")
        foolbox_samples(args.foolbox, root / "foolbox")
        env = dict(os.environ, KENNING_DATA_DIR=str(root / "data"),
                   KENNING_CLASSIFIERS="objects,faces")
        for library in ("humans", "imagenet", "foolbox"):
            subprocess.run([sys.executable, "-m", "kenning", "index", str(root / library)],
                           env=env, check=True, stdout=subprocess.DEVNULL)
        db = sqlite3.connect(root / "data" / "kenning.db")
        labels, tags = defaultdict(list), defaultdict(list)
        for file_id, label, score in db.execute(
                "SELECT file_id, label, score FROM file_labels WHERE classifier = 'objects'"):
            labels[file_id].append((label, score))
        marks = ", ".join("?" * len(NOT_HUMAN_TAGS))
        for file_id, score in db.execute(
                "SELECT file_id, score FROM file_tags JOIN tags ON tags.id = tag_id WHERE "
                f"source = 'objects' AND tags.name IN ({marks})", NOT_HUMAN_TAGS):
            tags[file_id].append(score)
        faces = db.execute(
            "SELECT faces.id, files.id, files.rel_path, mounts.path, faces.score, "
            "faces.not_face_by FROM faces JOIN files ON files.id = faces.file_id "
            "JOIN mounts ON mounts.id = files.mount_id").fetchall()

    def mass(file_id: int) -> float:
        return not_human_mass(labels[file_id], tags[file_id])

    human = [f for f in faces if f[3].endswith("humans")]
    other = [f for f in faces if not f[3].endswith("humans")]
    print(f"human_faces: {len(human)}")
    print(f"human_faces_set_aside: {sum(f[5] == SET_ASIDE for f in human)}")
    print(f"other_faces: {len(other)}")
    for _face, file_id, path, _mount, score, by in other:
        print(f"other_face: {path} score {score:.3f} animal_mass {mass(file_id):.2f} "
              f"{'set aside' if by == SET_ASIDE else 'kept'}")
    near = sorted((f for f in human if mass(f[1]) >= 0.3), key=lambda f: f[4])
    for _face, file_id, path, _mount, score, _by in near[:5]:
        print(f"human_face_nearest: {path} score {score:.3f} animal_mass {mass(file_id):.2f}")


if __name__ == "__main__":
    main()
