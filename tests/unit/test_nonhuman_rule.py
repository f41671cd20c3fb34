"""The per-face non-human rule (kenning.faces.nonhuman.looks_non_human)."""

from kenning.faces.nonhuman import looks_non_human

DOG_PHOTO = [("n02099712 Labrador retriever", 0.8)]
PORTRAIT = [("n04591157 Windsor tie", 0.4)]


def test_a_person_with_their_dog_keeps_their_face():
    assert not looks_non_human(0.75, DOG_PHOTO, crop=0.27)  # her crop is a person's
    assert looks_non_human(0.75, DOG_PHOTO, crop=0.8)  # the dog's is a dog's


def test_a_sure_face_goes_only_when_its_crop_is_clearly_an_animal():
    assert looks_non_human(0.9, DOG_PHOTO, crop=0.85)
    assert not looks_non_human(0.9, DOG_PHOTO, crop=0.5)
    assert not looks_non_human(0.95, DOG_PHOTO, crop=0.99)  # certain: a person's


def test_unjudged_faces_fall_back_to_the_photo():
    assert looks_non_human(0.8, DOG_PHOTO)
    assert not looks_non_human(0.9, DOG_PHOTO)
    assert not looks_non_human(0.8, PORTRAIT)


def test_a_made_face_goes_in_any_photo():
    assert looks_non_human(0.85, PORTRAIT, crop=0.5, made=0.6)  # a cartoon
    assert not looks_non_human(0.85, PORTRAIT, crop=0.5, made=0.1)
