"""Clustering 100,000 faces into people, and adding 1,000 more, with time and peak memory.

    .venv/bin/python bench/people_scale.py [--faces 100000]

The library: the real SFace embeddings of LFW view 1's faces (4,991, from the dev data,
computed here with Kenning's faces classifier) plus synthetic people whose faces match
SFace's measured statistics (same-person cosine median ~0.65, different people ~0.09), with
a heavy-tailed number of photos per person as in a family library. Prints `name: value`
lines; the baseline is the same clustering run on a quarter of the faces, to show how time
grows with library size (exact comparison is quadratic).
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
LFW = REPO.parent / "shared" / "data" / "dev" / "faces" / "lfw_view1"


def real_faces() -> tuple[np.ndarray, np.ndarray]:
    from kenning.classifiers.base import MediaFile
    from kenning.classifiers.faces import FacesClassifier
    from kenning.media.sniff import MediaKind

    with open(LFW / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    classifier = FacesClassifier(threads=2)
    vectors, labels = [], []
    for start in range(0, len(rows), 64):
        chunk = rows[start:start + 64]
        outcome = classifier.classify([MediaFile(i, LFW / r["file"], MediaKind.IMAGE, "jpeg")
                                       for i, r in enumerate(chunk)])
        for result in outcome.results:
            if result.faces:
                best = max(result.faces, key=lambda face: face.box[2] * face.box[3])
                vectors.append(np.frombuffer(best.embedding, np.float32))
                labels.append("lfw:" + chunk[result.file_id]["label"])
    return np.stack(vectors), np.array(labels)


def synthetic_faces(count: int, rng) -> tuple[np.ndarray, np.ndarray]:
    sizes = []
    while sum(sizes) < count:
        sizes.append(int(min(2000, max(1, rng.lognormal(1.2, 1.4)))))
    sizes[-1] -= sum(sizes) - count
    bias = rng.normal(size=128)
    bias *= 0.3 / np.linalg.norm(bias)  # real embeddings share a direction: mean cosine ~0.09
    vectors, labels = [], []
    for person, size in enumerate(sizes):
        centre = rng.normal(size=128)
        centre = centre / np.linalg.norm(centre) + bias
        noise = rng.normal(size=(size, 128)) * (0.73 / np.sqrt(128))
        faces = centre / np.linalg.norm(centre) + noise
        vectors.append(faces / np.linalg.norm(faces, axis=1, keepdims=True))
        labels += [f"synthetic:{person}"] * size
    return np.concatenate(vectors).astype(np.float32), np.array(labels)


def bcubed_f(labels: np.ndarray, clusters: np.ndarray) -> float:
    """BCubed F1, computed through the contingency table (fast for 100k items)."""
    _, label_ids = np.unique(labels, return_inverse=True)
    _, cluster_ids = np.unique(clusters, return_inverse=True)
    pairs, counts = np.unique(label_ids * (cluster_ids.max() + 1) + cluster_ids,
                              return_counts=True)
    label_of, cluster_of = pairs // (cluster_ids.max() + 1), pairs % (cluster_ids.max() + 1)
    label_size, cluster_size = np.bincount(label_ids), np.bincount(cluster_ids)
    precision = float((counts ** 2 / cluster_size[cluster_of]).sum() / len(labels))
    recall = float((counts ** 2 / label_size[label_of]).sum() / len(labels))
    return 2 * precision * recall / (precision + recall)


def run(vectors, files, labels):
    from kenning.faces.clustering import Faces, cluster

    n = len(vectors)
    faces = Faces(np.arange(n), files, vectors, np.ones(n, np.float32), np.full(n, -1),
                  np.ones(n, bool))
    started = time.perf_counter()
    result = cluster(faces)
    seconds = time.perf_counter() - started
    clusters = np.arange(n) + n
    for number, members in enumerate(result.new_people):
        clusters[members] = number
    return seconds, result, clusters, bcubed_f(labels, clusters)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--added", type=int, default=1_000)
    args = parser.parse_args()
    from kenning.faces.clustering import Faces, cluster

    rng = np.random.default_rng(0)
    real, real_labels = real_faces()
    extra, extra_labels = synthetic_faces(args.faces + args.added - len(real), rng)
    vectors = np.concatenate([real, extra])
    labels = np.concatenate([real_labels, extra_labels])
    order = rng.permutation(len(vectors))
    vectors, labels = vectors[order], labels[order]
    files = np.arange(len(vectors))  # one face per photo
    library, added = slice(0, args.faces), slice(args.faces, args.faces + args.added)

    quarter = args.faces // 4
    base_seconds, *_ = run(vectors[:quarter], files[:quarter], labels[:quarter])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds, result, clusters, f = run(vectors[library], files[library], labels[library])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    person = np.where(clusters < args.faces, clusters, -1)
    everything = np.concatenate([person, np.full(args.added, -1)])
    faces = Faces(np.arange(len(everything)), files[:len(everything)],
                  vectors[:len(everything)], np.ones(len(everything), np.float32), everything,
                  np.ones(len(everything), bool))
    new = np.zeros(len(everything), bool)
    new[added] = True
    started = time.perf_counter()
    incremental = cluster(faces, new=new)
    add_seconds = time.perf_counter() - started

    print(f"faces: {args.faces} ({len(real)} real LFW, the rest synthetic)")
    print(f"people_found: {len(result.new_people)}")
    print(f"bcubed_f: {f:.3f}")
    print(f"unassigned_share: {float((clusters >= args.faces).mean()):.3f}")
    print(f"cluster_s: {seconds:.1f}")
    print(f"cluster_quarter_library_s: {base_seconds:.1f}  (ratio {seconds / base_seconds:.1f})")
    print(f"peak_rss_mb: {rss:.0f}  (before the full run: {rss_before:.0f})")
    print(f"add_{args.added}_faces_s: {add_seconds:.2f}  (joined {len(incremental.joined)}, "
          f"new people {len(incremental.new_people)})")
    ok = seconds <= 60 and rss <= 1536 and add_seconds <= 5
    print(f"targets_met: {ok}  (<= 60 s, <= 1.5 GB, adding 1,000 faces <= 5 s)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
