"""How Kenning tells human faces from non-human ones in one library (run by a developer).

    .venv/bin/python tools/measure_nonhuman_faces.py [--dev ../shared/data/dev] [--keep DIR]

Builds one library of the dev data's non-human faces (cartoons, pets, busts, artworks,
animal faces) and its people photos (tests/nonhuman_library.py), runs `kenning index`
(objects and faces) on it in a new data folder and prints `name: value` lines: human
faces set aside (target at most 0.5%, the pet owners included), non-human faces set aside
or in no person (target at least 95%), and people made of non-human faces (target 0).
About three minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from nonhuman_library import build, measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=REPO.parent / "shared" / "data" / "dev")
    parser.add_argument("--keep", type=Path, help="build the library and its data here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        photos = build(args.dev, root / "library")
        print("photos: " + ", ".join(f"{k} {v}" for k, v in photos.items()))
        env = dict(os.environ, KENNING_DATA_DIR=str(root / "data"),
                   KENNING_CLASSIFIERS="objects,faces")
        subprocess.run([sys.executable, "-m", "kenning", "index", str(root / "library")],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        for line in measure(root / "data" / "kenning.db").lines():
            print(line)


if __name__ == "__main__":
    main()
