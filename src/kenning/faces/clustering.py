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
# precision first: BCubed P 0.994 / R 0.978 (tests/integration/test_faces_quality.py).
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
    order = np.argsort(faces.person[assigned], kind="stable")
    members = faces.embeddings[assigned][order]
    starts = np.searchsorted(faces.person[assigned][order], people)
    sums = np.add.reduceat(members.astype(np.float64), starts, axis=0)
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
        close = np.flatnonzero(similarity[row] >= threshold)
        for column in close[np.argsort(-similarity[row, close])]:
            person = int(people[column])
            if person in taken or (face, person) in faces.rejected:
                continue
            joined[face] = person
            taken.add(person)
            break
    return joined


def similar_pairs(vectors: np.ndarray, queries: np.ndarray, edge: float,
                  k: int = NEIGHBOURS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (low, high, cosine) with cosine >= edge and one end in `queries`, keeping each
    query's k strongest. Exact, in blocks of rows, so memory stays bounded."""
    lows, highs, strengths = [], [], []
    for start in range(0, len(queries), BLOCK):
        rows = queries[start:start + BLOCK]
        block = vectors[rows] @ vectors.T
        block[np.arange(len(rows)), rows] = -1.0
        r, c = np.nonzero(block >= edge)
        v = block[r, c]
        counts = np.bincount(r, minlength=len(rows))
        if r.size and counts.max() > k:  # keep each row's k strongest
            order = np.lexsort((-v, r))
            r, c, v = r[order], c[order], v[order]
            rank = np.arange(r.size) - np.repeat(np.cumsum(counts) - counts, counts)
            r, c, v = r[rank < k], c[rank < k], v[rank < k]
        a = rows[r]
        lows.append(np.minimum(a, c))
        highs.append(np.maximum(a, c))
        strengths.append(v)
    if not lows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    low, high, strength = np.concatenate(lows), np.concatenate(highs), np.concatenate(strengths)
    _, first = np.unique(low * len(vectors) + high, return_index=True)
    return low[first], high[first], strength[first]


def seed_people(faces: Faces, candidates: np.ndarray, edge: float = EDGE,
                merge: float = MERGE, min_faces: int = MIN_FACES,
                new: np.ndarray | None = None) -> list[list[int]]:
    """Groups of candidate faces (indexes into `faces`) that become new people. With `new`
    (a mask over `faces`), only links that involve a new face are looked for: earlier
    candidates have already been compared with each other."""
    if candidates.size < min_faces:
        return []
    vectors = faces.embeddings[candidates].astype(np.float32)
    queries = (np.arange(len(candidates)) if new is None
               else np.flatnonzero(new[candidates]))
    low, high, strength = similar_pairs(vectors, queries, edge)
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


def cluster(faces: Faces, thresholds: Thresholds | None = None,
            new: np.ndarray | None = None) -> Clustering:
    """`new`: mask of the faces not clustered before (default: all)."""
    t = thresholds or Thresholds()
    result = Clustering()
    unassigned = np.flatnonzero(faces.person < 0)
    result.joined = join_people(faces, unassigned, t.join)
    person = faces.person.copy()
    for face, who in result.joined.items():
        person[face] = who
    seeds = np.flatnonzero((person < 0) & faces.seedable)
    result.new_people = seed_people(faces, seeds, t.edge, t.merge, t.min_faces, new)
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
