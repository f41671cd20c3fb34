"""Group face embeddings into people, under the constraints a user relies on.

Pure functions on arrays; faces/people.py loads them from and stores them in the database.

1. Join: an unassigned face joins the existing person whose centre is nearest, when close
   enough, unless the user took it out of that person or that person is already in the
   same photo.
2. Seed: the remaining good-quality faces are linked to their nearest neighbours (cosine
   >= EDGE); links are taken strongest first and merge two groups only if the groups'
   centres are also close (no chaining of two people through one odd face) and the groups
   share no photo (two faces in one photo are never one person). Groups of at least
   MIN_FACES become new people; low-quality faces never start one.
3. Join again, so that faces too poor to seed join the people just found.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Tuned on LFW view 1 (4,991 faces, 3,094 people, 1,929 of them with one photo) for
# precision first: BCubed P 0.993 / R 0.974 (see tests/integration/test_people.py).
JOIN = 0.5  # cosine to a person's centre for a face to join them
EDGE = 0.5  # cosine for two faces to be linked when seeding
MERGE = 0.5  # cosine between two groups' centres for a link to merge them
NEIGHBOURS = 12
MIN_FACES = 2
BLOCK = 512


@dataclass
class Faces:
    ids: np.ndarray  # (n,) face ids
    files: np.ndarray  # (n,) file ids
    embeddings: np.ndarray  # (n, d) L2-normalised
    quality: np.ndarray  # (n,)
    person: np.ndarray  # (n,) person id, -1 when unassigned
    seedable: np.ndarray  # (n,) bool: good enough to start a person
    rejected: set[tuple[int, int]] = field(default_factory=set)  # (face index, person id)


@dataclass
class Clustering:
    joined: dict[int, int] = field(default_factory=dict)  # face index -> existing person id
    new_people: list[list[int]] = field(default_factory=list)  # face indexes per new person


def centres(faces: Faces) -> tuple[np.ndarray, np.ndarray]:
    """Person ids and their L2-normalised mean embeddings."""
    assigned = faces.person >= 0
    people = np.unique(faces.person[assigned])
    if people.size == 0:
        return people, np.zeros((0, faces.embeddings.shape[1]), np.float32)
    index = np.searchsorted(people, faces.person[assigned])
    sums = np.zeros((people.size, faces.embeddings.shape[1]), np.float64)
    np.add.at(sums, index, faces.embeddings[assigned])
    sums /= np.linalg.norm(sums, axis=1, keepdims=True) + 1e-12
    return people, sums.astype(np.float32)


def join_people(faces: Faces, candidates: np.ndarray, threshold: float = JOIN) -> dict[int, int]:
    """Assign the candidate faces (indexes) to existing people; returns index -> person."""
    people, centre = centres(faces)
    if people.size == 0 or candidates.size == 0:
        return {}
    in_photo: dict[int, set[int]] = {}
    for f, p in zip(faces.files[faces.person >= 0], faces.person[faces.person >= 0],
                    strict=True):
        in_photo.setdefault(int(f), set()).add(int(p))
    similarity = faces.embeddings[candidates] @ centre.T
    order = np.argsort(-similarity.max(axis=1))
    joined: dict[int, int] = {}
    for row in order:
        face = int(candidates[row])
        taken = in_photo.setdefault(int(faces.files[face]), set())
        for column in np.argsort(-similarity[row]):
            if similarity[row, column] < threshold:
                break
            person = int(people[column])
            if person in taken or (face, person) in faces.rejected:
                continue
            joined[face] = person
            taken.add(person)
            break
    return joined


def nearest_neighbours(embeddings: np.ndarray, k: int = NEIGHBOURS
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours by cosine, in blocks: (n, k) indexes and similarities."""
    n = embeddings.shape[0]
    k = min(k, n - 1)
    indexes = np.zeros((n, max(k, 0)), np.int64)
    sims = np.zeros((n, max(k, 0)), np.float32)
    if k <= 0:
        return indexes, sims
    for start in range(0, n, BLOCK):
        block = embeddings[start:start + BLOCK] @ embeddings.T
        rows = np.arange(block.shape[0])
        block[rows, rows + start] = -np.inf
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        indexes[start:start + BLOCK] = top
        sims[start:start + BLOCK] = block[rows[:, None], top]
    return indexes, sims


def seed_people(faces: Faces, candidates: np.ndarray, edge: float = EDGE,
                merge: float = MERGE, min_faces: int = MIN_FACES) -> list[list[int]]:
    """Groups of candidate faces (indexes into `faces`) that become new people."""
    if candidates.size < min_faces:
        return []
    vectors = faces.embeddings[candidates].astype(np.float32)
    neighbours, sims = nearest_neighbours(vectors)
    rows = np.repeat(np.arange(len(candidates)), neighbours.shape[1])
    cols, strength = neighbours.reshape(-1), sims.reshape(-1)
    keep = strength >= edge
    low, high = np.minimum(rows, cols)[keep], np.maximum(rows, cols)[keep]
    strength = strength[keep]
    order = np.argsort(-strength, kind="stable")
    parent = list(range(len(candidates)))
    sums = vectors.astype(np.float64).copy()
    photos = [{int(faces.files[c])} for c in candidates]

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(low[order].tolist(), high[order].tolist(), strict=True):
        rx, ry = root(x), root(y)
        if rx == ry or photos[rx] & photos[ry]:
            continue
        cx, cy = sums[rx], sums[ry]
        if cx @ cy / (np.linalg.norm(cx) * np.linalg.norm(cy) + 1e-12) < merge:
            continue
        if len(photos[rx]) < len(photos[ry]):
            rx, ry = ry, rx
        parent[ry] = rx
        sums[rx] += sums[ry]
        photos[rx] |= photos[ry]
    groups: dict[int, list[int]] = {}
    for i in range(len(candidates)):
        groups.setdefault(root(i), []).append(int(candidates[i]))
    return [members for members in groups.values() if len(members) >= min_faces]


@dataclass(frozen=True)
class Thresholds:
    join: float = JOIN
    edge: float = EDGE
    merge: float = MERGE
    min_faces: int = MIN_FACES


def cluster(faces: Faces, thresholds: Thresholds | None = None) -> Clustering:
    t = thresholds or Thresholds()
    result = Clustering()
    unassigned = np.flatnonzero(faces.person < 0)
    result.joined = join_people(faces, unassigned, t.join)
    person = faces.person.copy()
    for face, who in result.joined.items():
        person[face] = who
    seeds = np.flatnonzero((person < 0) & faces.seedable)
    result.new_people = seed_people(faces, seeds, t.edge, t.merge, t.min_faces)
    # faces too poor to seed may join the new people, under temporary ids
    first_new = int(max(faces.person.max(initial=-1), 0)) + 1
    for number, members in enumerate(result.new_people):
        person[members] = first_new + number
    staged = Faces(faces.ids, faces.files, faces.embeddings, faces.quality, person,
                   faces.seedable, faces.rejected)
    for face, who in join_people(staged, np.flatnonzero(person < 0), t.join).items():
        if who >= first_new:
            result.new_people[who - first_new].append(face)
        else:
            result.joined[face] = who
    return result
