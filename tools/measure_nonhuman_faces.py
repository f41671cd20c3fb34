"""How many faces the non-human rule (kenning.faces.nonhuman) sets aside, on the dev data.

    .venv/bin/python tools/measure_nonhuman_faces.py [--dev ../shared/data/dev]

Runs `kenning index` (objects and faces) on a new data folder over two libraries: every
dev face photo (LFW view 1, deepface, dlib, face_recognition: human faces only) and the
100 dev ImageNet photos (animals and objects, one man holding fish). Prints `name: value`
lines: the human faces set aside (should be 0), the ImageNet faces kept and set aside
with their photos, and, for choosing the rule's numbers, the human faces nearest to it
(lowest detector score among those in photos with some animal probability). About two
minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kenning.faces.nonhuman import SET_ASIDE, not_human_mass  # noqa: E402

PHOTOS = (".jpg", ".jpeg", ".png")


def copy_flat(source: Path, target: Path) -> None:
    target.mkdir(parents=True)
    for path in sorted(source.rglob("*")):
        if path.suffix.lower() in PHOTOS and path.is_file():
            shutil.copyfile(path, target / "_".join(path.relative_to(source).parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=REPO.parent / "shared" / "data" / "dev")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        copy_flat(args.dev / "faces", root / "humans")
        copy_flat(args.dev / "imagenet_100", root / "imagenet")
        env = dict(os.environ, KENNING_DATA_DIR=str(root / "data"),
                   KENNING_CLASSIFIERS="objects,faces")
        for library in ("humans", "imagenet"):
            subprocess.run([sys.executable, "-m", "kenning", "index", str(root / library)],
                           env=env, check=True, stdout=subprocess.DEVNULL)
        db = sqlite3.connect(root / "data" / "kenning.db")
        labels = defaultdict(list)
        for file_id, label, score in db.execute(
                "SELECT file_id, label, score FROM file_labels WHERE classifier = 'objects'"):
            labels[file_id].append((label, score))
        faces = db.execute(
            "SELECT faces.id, files.id, files.rel_path, mounts.path, faces.score, "
            "faces.not_face_by FROM faces JOIN files ON files.id = faces.file_id "
            "JOIN mounts ON mounts.id = files.mount_id").fetchall()
    human = [f for f in faces if f[3].endswith("humans")]
    other = [f for f in faces if f[3].endswith("imagenet")]
    print(f"human_faces: {len(human)}")
    print(f"human_faces_set_aside: {sum(f[5] == SET_ASIDE for f in human)}")
    print(f"imagenet_faces: {len(other)}")
    for _face, file_id, path, _mount, score, by in other:
        mass = not_human_mass(labels[file_id])
        print(f"imagenet_face: {path} score {score:.3f} animal_mass {mass:.2f} "
              f"{'set aside' if by == SET_ASIDE else 'kept'}")
    near = sorted((f for f in human if not_human_mass(labels[f[1]]) >= 0.3), key=lambda f: f[4])
    for _face, file_id, path, _mount, score, _by in near[:5]:
        print(f"human_face_nearest: {path} score {score:.3f} "
              f"animal_mass {not_human_mass(labels[file_id]):.2f}")


if __name__ == "__main__":
    main()
