"""The clustering rules a user relies on, on small hand-made embeddings."""

from __future__ import annotations

import numpy as np

from kenning.faces.clustering import Faces, cluster


def person_faces(rng, centre, count, spread=0.05):
    faces = centre + rng.normal(scale=spread, size=(count, centre.size))
    return faces / np.linalg.norm(faces, axis=1, keepdims=True)


def library(rng, sizes, files=None, quality=None, person=None):
    centres = np.eye(64)[: len(sizes)]
    vectors = np.concatenate([person_faces(rng, c, n) for c, n in zip(centres, sizes,
                                                                     strict=True)])
    n = len(vectors)
    quality = np.ones(n, np.float32) if quality is None else quality
    return Faces(np.arange(n) + 100, np.arange(n) if files is None else files,
                 vectors.astype(np.float32), quality,
                 np.full(n, -1) if person is None else person, quality >= 0.5)


def test_alike_faces_become_one_person_each():
    result = cluster(library(np.random.default_rng(0), [5, 4, 3]))
    assert sorted(map(sorted, result.new_people)) == [[0, 1, 2, 3, 4], [5, 6, 7, 8],
                                                      [9, 10, 11]]


def test_two_faces_in_one_photo_never_start_one_person():
    files = np.array([1, 1, 2])  # faces 0 and 1 are in the same photo
    result = cluster(library(np.random.default_rng(1), [3], files=files))
    assert all(not {0, 1} <= set(group) for group in result.new_people)


def test_low_quality_faces_never_seed_but_may_join():
    rng = np.random.default_rng(2)
    poor = np.array([0.1, 0.1, 0.1], np.float32)
    assert cluster(library(rng, [3], quality=poor)).new_people == []
    mixed = np.array([1, 1, 0.1], np.float32)
    result = cluster(library(rng, [3], quality=mixed))
    assert sorted(result.new_people[0]) == [0, 1, 2]  # the poor face joined afterwards


def test_a_rejected_face_does_not_join_that_person():
    rng = np.random.default_rng(3)
    faces = library(rng, [4], person=np.array([7, 7, 7, -1]))
    assert cluster(faces).joined == {3: 7}
    faces.rejected = {(3, 7)}
    assert cluster(faces).joined == {}


def test_only_new_faces_are_compared_when_asked():
    rng = np.random.default_rng(4)
    faces = library(rng, [3])
    old = np.zeros(3, bool)
    assert cluster(faces, new=old).new_people == []  # already compared, nothing new
    new = np.array([False, False, True])
    assert sorted(cluster(faces, new=new).new_people[0]) == [0, 1, 2]
