"""Tests of cs231n_lib.embedded: how the embedded dataset is drawn (its lessons are in test_lessons)."""

import colorsys

import numpy as np
import pytest

from cs231n_lib import embedded as E


def test_digits_are_scikit_learns():
    from sklearn.datasets import load_digits  # the independent reader of the same file

    digits = load_digits()
    images, labels = E.read_digits()
    np.testing.assert_array_equal(images, digits.images)
    np.testing.assert_array_equal(labels, digits.target)


def test_photos_are_the_two_sample_images():
    from sklearn.datasets import load_sample_images

    photos = E.read_photos()
    reference = load_sample_images().images
    assert len(photos) == 2
    for got, want in zip(photos, reference):
        np.testing.assert_array_equal(got, want)


def test_resize_matrix_is_bilinear():
    A = E._resize_matrix(8, 32)
    np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # output pixel 5 has its centre at input coordinate (5.5 / 4) - 0.5 = 0.875
    np.testing.assert_allclose(A[5, :2], [0.125, 0.875], rtol=0, atol=1e-12)
    np.testing.assert_allclose(A[0, 0], 1.0)                 # clamped at the edge
    np.testing.assert_allclose(A @ np.arange(8.0), np.clip((np.arange(32) + 0.5) / 4 - 0.5, 0, 7))


def test_hsv_to_rgb_matches_colorsys():
    rng = np.random.default_rng(0)
    h, s, v = rng.random((3, 50))
    want = np.array([colorsys.hsv_to_rgb(*hsv) for hsv in zip(h, s, v)])
    np.testing.assert_allclose(E._hsv_to_rgb(h, s, v), want, rtol=0, atol=1e-12)


def test_split_keeps_every_sixth_digit_for_testing():
    _, labels = E.read_digits()
    X_train, y_train, X_test, y_test = E.embedded_arrays()
    rank = np.array([np.sum(labels[:i] == t) for i, t in enumerate(labels)])
    np.testing.assert_array_equal(y_test, labels[rank % 6 == 5])       # in the file's order
    np.testing.assert_array_equal(np.bincount(y_train), E.NUM_RENDERS * np.bincount(labels[rank % 6 != 5]))
    assert X_train.shape == (len(y_train), 32, 32, 3) and X_train.dtype == np.uint8
    assert not X_train.flags.writeable


def test_drawing_is_deterministic_and_uses_only_its_generator():
    digits, labels = E.read_digits()
    photos = E.read_photos()
    a = E.render_embedded(digits[:20], labels[:20], photos, np.random.default_rng(5))
    b = E.render_embedded(digits[:20], labels[:20], photos, np.random.default_rng(5))
    c = E.render_embedded(digits[:20], labels[:20], photos, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert np.mean(a != c) > 0.5


def test_the_digit_is_drawn_where_its_mask_is(monkeypatch):
    # Without noise, on a black photo with no brightness offset, the image is the colour times the mask.
    monkeypatch.setattr(E, "_NOISE", 0.0)
    monkeypatch.setattr(E, "_BACKGROUND_OFFSET", 0.0)
    digits, labels = E.read_digits()
    black = [np.zeros((427, 640, 3), dtype=np.uint8)]
    X = E.render_embedded(digits[:30], labels[:30], black, np.random.default_rng(1)).astype(float)
    masks = E._digit_masks(digits[:30], np.random.default_rng(1))     # the first draws of the same stream
    for image, mask in zip(X, masks):
        colour = image.reshape(-1, 3)[np.argmax(mask)]                   # where the mask is largest
        np.testing.assert_allclose(image, np.rint(mask[..., None] * colour / mask.max()), atol=1.0)


@pytest.mark.parametrize("name", ["_NOISE", "_HUE_SPREAD"])
def test_constants_are_positive(name):
    assert getattr(E, name) > 0


def test_redrawn_test_digits_are_new_images_of_the_test_digits():
    """The grader's held-out images: the test digits drawn again by render_embedded, shuffled."""
    digits, labels = E.read_digits()
    rank = np.array([np.sum(labels[:i] == t) for i, t in enumerate(labels)])
    test_idx = np.flatnonzero(rank % 6 == 5)
    X, y = E.redraw_test_digits(np.random.default_rng(11), renders=2)
    assert X.shape == (2 * test_idx.size, 32, 32, 3) and X.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y), 2 * np.bincount(labels[test_idx]))
    rng = np.random.default_rng(11)                        # the same stream, drawn by hand
    order = np.tile(test_idx, 2)[rng.permutation(2 * test_idx.size)]
    np.testing.assert_array_equal(y, labels[order])
    np.testing.assert_array_equal(X, E.render_embedded(digits[order], labels[order], E.read_photos(), rng))
    X_train, _, X_test, _ = E.embedded_arrays()
    seen = {x.tobytes() for x in np.concatenate([X_train, X_test])}
    assert not seen & {x.tobytes() for x in X}
    other, _ = E.redraw_test_digits(np.random.default_rng(12))
    assert np.mean(other != X[:len(other)]) > 0.5


@pytest.mark.parametrize("renders", [0, 1.5, True, "2"])
def test_redraw_names_a_bad_count(renders):
    with pytest.raises(ValueError, match="renders must be an int >= 1"):
        E.redraw_test_digits(np.random.default_rng(0), renders=renders)
