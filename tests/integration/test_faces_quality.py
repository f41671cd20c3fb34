"""Face detection and verification quality on the dev data, with the real models."""

from __future__ import annotations

import collections
import csv

import numpy as np
import pytest
from conftest import DEV

from kenning.classifiers.base import MediaFile
from kenning.classifiers.faces import FacesClassifier
from kenning.media.sniff import MediaKind

FACES = DEV / "faces"


def iou(a, b) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@pytest.fixture(scope="module")
def classifier() -> FacesClassifier:
    return FacesClassifier(threads=2)


def test_small_faces_in_street_and_crowd_photos(classifier):
    """Issue 23: at least 90% of the boxed faces of 24 px and more (measured 90.6%; 83.7%
    of those of 16 px and more, 91.5% of 32 px and more), with few detections where
    nobody drew a box (16 of 381, some of them real faces)."""
    from crowd_faces import crowd_recall

    recall = crowd_recall(DEV, classifier)
    print("\n".join(recall.lines()))
    assert recall.share(24) >= 0.9, recall.lines()
    assert recall.share(16) >= 0.8, recall.lines()
    assert recall.unmatched <= 0.08 * recall.detections, recall.lines()


def test_faces_of_100_to_1200_px_in_camera_sized_photos(classifier, tmp_path):
    """Issue 23: faces 100 to 1,200 px wide (YuNet's box) in 4000 x 3000 photos, real
    faces pasted on real photos, are found at every size (measured with 50 photos,
    `tools/measure_camera_faces.py`: 100 of 100). The photo is decoded at a quarter, so a
    100 px face is looked at 25 px wide, doubtful ones again enlarged."""
    from camera_faces import SIZES, build, camera_recall

    recall = camera_recall(build(DEV, tmp_path, photos=24), classifier)
    print("\n".join(recall.lines()))
    assert all(recall.total[size] == 8 for size in SIZES)
    assert all(recall.hit[size] == 8 for size in SIZES), recall.lines()


def test_detection_recall_and_precision_on_hand_boxed_group_photos(classifier):
    root = FACES / "dlib_johns"
    with open(root / "face_boxes.csv") as f:
        boxes = collections.defaultdict(list)
        for row in csv.DictReader(f):
            boxes[row["file"]].append(row)
    files = [MediaFile(i, root / name, MediaKind.IMAGE, "jpeg") for i, name in enumerate(boxes)]
    outcome = classifier.classify(files)
    assert not outcome.failures
    hits = misses = false = 0
    for result in outcome.results:
        found = [face.box for face in result.faces]
        used: set[int] = set()
        for row in boxes[files[result.file_id].path.relative_to(root).as_posix()]:
            truth = tuple(float(row[k]) for k in ("left", "top", "width", "height"))
            best = max(range(len(found)), key=lambda j: iou(found[j], truth), default=None)
            if best is not None and best not in used and iou(found[best], truth) >= 0.3:
                used.add(best)
                hits += row["ignore"] == "0"
            elif row["ignore"] == "0":
                misses += 1
        false += len(found) - len(used)
    recall, precision = hits / (hits + misses), hits / (hits + false)
    print(f"\ndetection on dlib's hand-boxed photos: recall {recall:.1%} ({hits} of "
          f"{hits + misses}), precision {precision:.1%}")
    assert recall >= 0.95 and precision >= 0.95


def central_embeddings(classifier, root, names) -> dict[str, np.ndarray]:
    embeddings = {}
    for start in range(0, len(names), 32):
        chunk = names[start:start + 32]
        outcome = classifier.classify([MediaFile(i, root / n, MediaKind.IMAGE, "jpeg")
                                       for i, n in enumerate(chunk)])
        for result in outcome.results:
            if result.faces:
                cx, cy = result.width / 2, result.height / 2
                centre = min(result.faces, key=lambda f: (f.box[0] + f.box[2] / 2 - cx) ** 2
                             + (f.box[1] + f.box[3] / 2 - cy) ** 2)
                embeddings[chunk[result.file_id]] = np.frombuffer(centre.embedding, np.float32)
    return embeddings


@pytest.fixture(scope="module")
def lfw(classifier):
    root = FACES / "lfw_view1"
    with open(root / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    embeddings = central_embeddings(classifier, root, [r["file"] for r in rows])
    return rows, embeddings


def pair_similarities(name, embeddings):
    with open(FACES / "lfw_view1" / name) as f:
        pairs = list(csv.DictReader(f))
    similarity = np.array([float(embeddings[p["file1"]] @ embeddings[p["file2"]])
                           if p["file1"] in embeddings and p["file2"] in embeddings else -1.0
                           for p in pairs])
    return similarity, np.array([p["same"] == "1" for p in pairs])


def test_lfw_verification(lfw):
    rows, embeddings = lfw
    assert len(embeddings) >= 0.995 * len(rows)  # a face found in (nearly) every LFW photo
    train, same_train = pair_similarities("pairs_devtrain.csv", embeddings)
    grid = np.arange(0.2, 0.6, 0.005)
    threshold = grid[int(np.argmax([((train >= g) == same_train).mean() for g in grid]))]
    test, same_test = pair_similarities("pairs_devtest.csv", embeddings)
    accuracy = float(((test >= threshold) == same_test).mean())

    names = [r["file"] for r in rows if r["file"] in embeddings]
    labels = np.array([r["label"] for r in rows if r["file"] in embeddings])
    matrix = np.stack([embeddings[n] for n in names])
    sims = matrix @ matrix.T
    upper = np.triu_indices(len(names), 1)
    same = labels[upper[0]] == labels[upper[1]]
    scores = sims[upper]
    far_threshold = np.quantile(scores[~same], 1 - 1e-4)
    tar = float((scores[same] > far_threshold).mean())
    print(f"\nLFW devtest accuracy {accuracy:.2%} at cosine {threshold:.3f} (from devtrain); "
          f"TAR {tar:.1%} at FAR 1e-4 over {same.sum()} same / {(~same).sum()} different pairs")
    # OpenCV's own YuNet + SFace pipeline measured 98.8% on this split.
    assert accuracy >= 0.985
    assert tar >= 0.95


def bcubed(labels: np.ndarray, clusters: np.ndarray) -> tuple[float, float]:
    precision = recall = 0.0
    for i in range(len(labels)):
        same_cluster, same_label = clusters == clusters[i], labels == labels[i]
        both = (same_cluster & same_label).sum()
        precision += both / same_cluster.sum()
        recall += both / same_label.sum()
    return precision / len(labels), recall / len(labels)


def test_lfw_clustering_bcubed(lfw):
    from kenning.faces.clustering import Faces, cluster
    from kenning.faces.quality import SEED_QUALITY

    rows, embeddings = lfw
    labelled = [r for r in rows if r["file"] in embeddings]
    labels = np.array([r["label"] for r in labelled])
    n = len(labelled)
    matrix = np.stack([embeddings[r["file"]] for r in labelled])
    quality = np.ones(n, np.float32)  # LFW crops are all usable; quality is tested elsewhere
    result = cluster(Faces(np.arange(n), np.arange(n), matrix, quality, np.full(n, -1),
                           quality >= SEED_QUALITY))
    clusters = np.arange(n) + n  # unassigned faces stand alone
    for number, members in enumerate(result.new_people):
        clusters[members] = number
    precision, recall = bcubed(labels, clusters)
    f = 2 * precision * recall / (precision + recall)
    unassigned = float((clusters >= n).mean())
    singletons = float(np.mean([np.sum(labels == label) == 1 for label in labels]))
    print(f"\nLFW view 1 clustering: {len(result.new_people)} people, BCubed P {precision:.3f} "
          f"R {recall:.3f} F {f:.3f}; {unassigned:.1%} of faces unassigned "
          f"({singletons:.1%} are the only photo of their person)")
    assert f >= 0.95 and precision >= 0.98
