"""Tests of cs231n_lib.augment: flips, crops, colour jitter and the Solver hook."""

import numpy as np
import pytest

from cs231n_lib.augment import color_jitter, make_augmenter, random_crops, random_flips


def _batch(seed=0, shape=(6, 3, 5, 7)):
    return np.random.default_rng(seed).standard_normal(shape) * 10 + 50


def test_flips_p0_p1_and_each_image_flipped_or_not():
    X = _batch()
    X0 = X.copy()
    np.testing.assert_array_equal(random_flips(X, np.random.default_rng(0), p=0.0), X)
    np.testing.assert_array_equal(random_flips(X, np.random.default_rng(0), p=1.0), X[..., ::-1])
    out = random_flips(X, np.random.default_rng(1), p=0.5)
    np.testing.assert_array_equal(X, X0)
    for img, src in zip(out, X):
        assert np.array_equal(img, src) or np.array_equal(img, src[..., ::-1])
    big = np.zeros((4000, 1, 1, 2))
    big[..., 1] = 1  # flipped images have a 1 in column 0
    rate = random_flips(big, np.random.default_rng(2), p=0.3)[:, 0, 0, 0].mean()
    assert abs(rate - 0.3) < 0.03


def test_crops_are_shifted_windows_of_the_zero_padded_image():
    X = _batch(shape=(40, 2, 4, 5))
    pad = 2
    out = random_crops(X, np.random.default_rng(3), padding=pad)
    assert out.shape == X.shape and out.dtype == X.dtype
    X_pad = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    offsets = set()
    for n in range(40):
        matches = [(dy, dx) for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)
                   if np.array_equal(out[n], X_pad[n, :, dy:dy + 4, dx:dx + 5])]
        assert matches, f"image {n} is not a window of its padded input"
        offsets.add(matches[0])
    assert len(offsets) > 10  # offsets vary between images
    np.testing.assert_array_equal(random_crops(X, np.random.default_rng(0), padding=0), X)


def test_color_jitter_properties():
    X = _batch(shape=(5, 3, 4, 4))
    X0 = X.copy()
    np.testing.assert_allclose(color_jitter(X, np.random.default_rng(0), 0, 0, 0), X)
    # Brightness alone: each image scaled by one factor in [0.8, 1.2].
    out = color_jitter(X, np.random.default_rng(1), brightness=0.2, contrast=0, saturation=0)
    ratio = out / X
    for r in ratio:
        np.testing.assert_allclose(r, r.flat[0], rtol=1e-12)
        assert 0.8 <= r.flat[0] <= 1.2
    # Contrast alone keeps each image's mean; saturation alone keeps each pixel's grey value.
    out = color_jitter(X, np.random.default_rng(2), brightness=0, contrast=0.5, saturation=0)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), X.mean(axis=(1, 2, 3)), rtol=1e-12)
    assert not np.allclose(out, X)
    out = color_jitter(X, np.random.default_rng(3), brightness=0, contrast=0, saturation=0.5)
    np.testing.assert_allclose(out.mean(axis=1), X.mean(axis=1), rtol=1e-12)
    assert not np.allclose(out, X)
    np.testing.assert_array_equal(X, X0)
    assert color_jitter(X.astype(np.float32), np.random.default_rng(0)).dtype == np.float32
    assert color_jitter(X.astype(np.uint8), np.random.default_rng(0)).dtype == np.float64


def test_make_augmenter_is_reproducible_and_composes():
    X = _batch()
    augment = make_augmenter(flip=True, crop_padding=1, brightness=0.1)
    a = augment(X, np.random.default_rng(7))
    b = augment(X, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert a.shape == X.shape and not np.allclose(a, X)
    identity = make_augmenter(flip=False, crop_padding=0)
    np.testing.assert_array_equal(identity(X, np.random.default_rng(0)), X)


def test_augment_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"X must have shape \(N, C, H, W\)"):
        random_flips(np.zeros((2, 3, 4)), rng)
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        random_crops(np.zeros((1, 1, 2, 2)), 0)
    with pytest.raises(ValueError, match="padding"):
        random_crops(np.zeros((1, 1, 2, 2)), rng, padding=-1)
    with pytest.raises(ValueError, match="p must be a number in"):
        random_flips(np.zeros((1, 1, 2, 2)), rng, p=1.5)
    with pytest.raises(ValueError, match="contrast"):
        color_jitter(np.zeros((1, 1, 2, 2)), rng, contrast=2)
    with pytest.raises(ValueError, match="crop_padding"):
        make_augmenter(crop_padding=1.5)


def test_solver_applies_augment_to_training_batches():
    from cs231n_lib.classifiers.cnn import ThreeLayerConvNet
    from cs231n_lib.solver import Solver

    rng = np.random.default_rng(0)
    data = {"X_train": rng.standard_normal((20, 3, 8, 8)), "y_train": rng.integers(0, 3, 20),
            "X_val": rng.standard_normal((5, 3, 8, 8)), "y_val": rng.integers(0, 3, 5)}
    runs = []
    for augment in (None, make_augmenter(flip=True, crop_padding=2)):
        model = ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=2, filter_size=3,
                                  hidden_dim=8, num_classes=3, dtype=np.float64, seed=0)
        solver = Solver(model, data, update_rule="adam", batch_size=10, num_epochs=1,
                        verbose=False, seed=0, augment=augment)
        solver.train()
        runs.append(solver.loss_history)
    assert runs[0][0] != runs[1][0]  # the first batch is the same examples, augmented
