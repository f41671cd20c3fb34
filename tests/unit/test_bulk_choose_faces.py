"""Which face of each chosen photo a person is given (kenning.bulk.choose_faces)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from kenning.bulk import choose_faces


def _unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


ANN, BOB = _unit(1, 0, 0), _unit(0, 1, 0)


def _face(face_id: int, file_id: int, like: np.ndarray, person=None, by=None):
    return SimpleNamespace(id=face_id, file_id=file_id, person_id=person, assigned_by=by,
                           embedding=like.astype(np.float32).tobytes(), width=50, height=50)


def test_a_known_person_gets_the_face_most_like_them():
    faces = {1: [_face(10, 1, BOB), _face(11, 1, _unit(0.9, 0.1, 0))],  # Ann is 11
             2: [_face(20, 2, _unit(0.2, 1, 0))],  # the only face: taken
             3: []}
    chosen, left = choose_faces(faces, [1, 2, 3], person_id=7, centre=ANN)
    assert chosen == [11, 20]
    assert left == {"no face": 1}


def test_a_new_person_learns_from_the_photos_with_one_face():
    faces = {1: [_face(10, 1, _unit(1, 0.1, 0))],
             2: [_face(20, 2, BOB), _face(21, 2, _unit(1, 0, 0.1))]}
    chosen, left = choose_faces(faces, [1, 2], person_id=None, centre=None)
    assert chosen == [10, 21] and not left
    # Only group photos, and nobody known: nothing is guessed.
    chosen, left = choose_faces({2: faces[2]}, [2], person_id=None, centre=None)
    assert chosen == [] and left == {"several faces: choose the face on the photo": 1}


def test_faces_the_user_gave_someone_else_are_never_taken():
    faces = {1: [_face(10, 1, ANN, person=5, by="user"), _face(11, 1, BOB)],
             2: [_face(20, 2, ANN, person=5, by="user")],
             3: [_face(30, 3, ANN, person=7, by="cluster")]}
    chosen, left = choose_faces(faces, [1, 2, 3], person_id=7, centre=ANN)
    assert chosen == [11]  # photo 1's other face; photo 3 has them already
    assert left == {"every face is someone else's": 1, "already there": 1}


def test_faces_of_another_embedding_model_are_not_compared():
    other = SimpleNamespace(id=12, file_id=1, person_id=None, assigned_by=None,
                            embedding=np.ones(4, np.float32).tobytes(), width=9, height=9)
    faces = {1: [other, _face(11, 1, ANN), _face(13, 1, BOB)]}
    chosen, _left = choose_faces(faces, [1], person_id=7, centre=ANN)
    assert chosen == [11]
