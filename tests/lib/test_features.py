"""cs231n_lib.features against independent answers: Python's colorsys for hues, hand-worked HOG
cases, and a HOG written with plain loops over pixels."""

import colorsys
import math

import numpy as np
import pytest

from cs231n_lib import features as F


def _loop_hog(gray, cell_size, num_bins):
    """HOG straight from its definition, one pixel at a time, in Python floats."""
    H, W = gray.shape
    hist = np.zeros((H // cell_size, W // cell_size, num_bins))
    for i in range(H):
        for j in range(W):
            gx = gray[i, j + 1] - gray[i, j - 1] if 0 < j < W - 1 else 0.0
            gy = gray[i + 1, j] - gray[i - 1, j] if 0 < i < H - 1 else 0.0
            angle = math.degrees(math.atan2(gy, gx)) % 180.0
            k = min(int(angle // (180.0 / num_bins)), num_bins - 1)
            hist[i // cell_size, j // cell_size, k] += math.hypot(gx, gy)
    return (hist / cell_size ** 2).ravel()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rgb_to_hue_matches_colorsys(seed):
    rng = np.random.default_rng(seed)
    im = rng.uniform(0, 255, size=(6, 7, 3))
    im[0, :, 1] = im[0, :, 0]                       # ties between the largest channels
    im[1, :3] = 42.0                                # grey pixels
    im[2] = rng.integers(0, 3, size=(7, 3))         # many small-integer ties
    want = np.array([[colorsys.rgb_to_hsv(*(px / 255))[0] for px in row] for row in im])
    np.testing.assert_allclose(F.rgb_to_hue(im), want, rtol=1e-12, atol=1e-15)


def test_rgb_to_hue_wheel_and_brightness():
    wheel = np.array([[[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1], [1, 0, 1], [0.5, 0.5, 0.5]]])
    want = [[0, 1 / 6, 1 / 3, 1 / 2, 2 / 3, 5 / 6, 0]]
    np.testing.assert_allclose(F.rgb_to_hue(wheel, xmax=1), want, rtol=0, atol=1e-15)
    np.testing.assert_allclose(F.rgb_to_hue(0.3 * wheel, xmax=1), want, rtol=0, atol=1e-15)
    assert F.rgb_to_hue(wheel * 255).shape == (1, 7)


def test_color_histogram_hand_cases():
    four = np.array([[[255, 0, 0], [200, 0, 0]], [[0, 255, 0], [0, 0, 255]]], dtype=float)
    np.testing.assert_array_equal(F.color_histogram_hsv(four, nbin=4), [0.5, 0.25, 0.25, 0.0])
    np.testing.assert_array_equal(F.color_histogram_hsv(four, nbin=4, normalized=False), [2, 1, 1, 0])
    np.testing.assert_array_equal(F.color_histogram_hsv(np.full((3, 3, 3), 9.0)), np.eye(10)[0])
    # Hues below xmin are not counted, and the fractions stay fractions of all pixels.
    np.testing.assert_array_equal(F.color_histogram_hsv(four, nbin=2, xmin=51), [0.25, 0.25])


@pytest.mark.parametrize("seed", [0, 1])
def test_color_histogram_matches_colorsys_counts(seed):
    rng = np.random.default_rng(seed)
    im = rng.uniform(0, 255, size=(9, 11, 3))
    hues = [colorsys.rgb_to_hsv(*(px / 255))[0] * 255 for row in im for px in row]
    counts = [sum(1 for h in hues if k * 255 / 7 <= h < (k + 1) * 255 / 7) for k in range(7)]
    np.testing.assert_allclose(F.color_histogram_hsv(im, nbin=7), np.array(counts) / 99, rtol=1e-12)


def test_hog_hand_cases():
    edge = np.zeros((16, 16))
    edge[:, 8:] = 100.0                     # g_x = 100 in columns 7 and 8 only: 8 votes per cell
    want = np.zeros((2, 2, 9))
    want[:, :, 0] = 800 / 64
    np.testing.assert_allclose(F.hog_feature(edge), want.ravel(), rtol=1e-15)
    want = np.zeros((2, 2, 9))
    want[:, :, 4] = 800 / 64                # 90 degrees
    np.testing.assert_allclose(F.hog_feature(edge.T), want.ravel(), rtol=1e-15)
    ramp = np.add.outer(np.arange(8.0), np.arange(8.0))
    want = np.zeros(9)
    want[2] = 36 * math.sqrt(8) / 64        # 6x6 interior pixels at 45 degrees
    want[0] = want[4] = 12 * 2 / 64         # border rows: g_x only; border columns: g_y only
    np.testing.assert_allclose(F.hog_feature(ramp), want, rtol=1e-14)
    # Flipping the brightness flips every gradient: unsigned orientations do not change.
    np.testing.assert_allclose(F.hog_feature(255 - ramp), want, rtol=1e-14)


@pytest.mark.parametrize("shape, cell_size, num_bins", [((32, 32), 8, 9), ((12, 8), 4, 6), ((10, 15), 5, 4)])
def test_hog_matches_loops(shape, cell_size, num_bins):
    gray = np.random.default_rng(sum(shape)).uniform(0, 255, size=shape)
    np.testing.assert_allclose(F.hog_feature(gray, cell_size, num_bins), _loop_hog(gray, cell_size, num_bins),
                               rtol=1e-12, atol=1e-12)


def test_hog_of_colour_image_is_hog_of_luma():
    im = np.random.default_rng(5).uniform(0, 255, size=(16, 16, 3))
    gray = 0.299 * im[..., 0] + 0.587 * im[..., 1] + 0.114 * im[..., 2]
    np.testing.assert_allclose(F.hog_feature(im), _loop_hog(gray, 8, 9), rtol=1e-12, atol=1e-12)
    assert F.hog_feature(im).shape == (36,)


def test_hog_rejects_partial_cells():
    with pytest.raises(ValueError, match="multiple of the cell size"):
        F.hog_feature(np.zeros((10, 16)))


def test_extract_features_concatenates_in_order():
    rng = np.random.default_rng(0)
    imgs = rng.uniform(0, 255, size=(3, 8, 8, 3))
    fns = [lambda im: im.sum(), lambda im: im[0, 0], F.hog_feature]
    out = F.extract_features(imgs, fns)
    assert out.shape == (3, 1 + 3 + 9)
    for i, im in enumerate(imgs):
        np.testing.assert_array_equal(out[i], np.concatenate([[im.sum()], im[0, 0], F.hog_feature(im)]))
    assert F.extract_features(imgs[:0], fns).shape == (0, 13)
    with pytest.raises(ValueError):
        F.extract_features(imgs, [])


def test_image_patches_positions_order_and_normalisation():
    im = np.random.default_rng(6).uniform(0, 255, size=(12, 10, 3))
    patches = F.image_patches(im, patch_size=4, stride=3)
    assert patches.shape == (3 * 3, 4 * 4 * 3)             # rows 0, 3, 6 and columns 0, 3, 6
    for n, (r, c) in enumerate([(r, c) for r in (0, 3, 6) for c in (0, 3, 6)]):
        raw = im[r:r + 4, c:c + 4].reshape(-1)              # (row, column, channel) order
        want = (raw - raw.mean()) / math.sqrt(raw.var() + 10.0)
        np.testing.assert_allclose(patches[n], want, rtol=1e-12, atol=1e-12)
    # Brightness and contrast are gone: the patches of 2 * im + 40 are nearly those of im.
    np.testing.assert_allclose(F.image_patches(2 * im + 40, 4, 3), patches, atol=0.02)
    flat = F.image_patches(np.full((8, 8), 7.0), 4, 4)       # grey image, one channel
    assert flat.shape == (4, 16) and np.all(flat == 0)
    with pytest.raises(ValueError, match="patch_size 9 is larger than the image"):
        F.image_patches(np.zeros((8, 8, 3)), patch_size=9)
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        F.image_patches(np.zeros((8, 8, 3)), stride=0)


def test_kmeans_finds_separated_clusters_and_follows_lloyd():
    rng = np.random.default_rng(7)
    true_centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.concatenate([c + rng.standard_normal((40, 2)) for c in true_centres])
    centres = F.kmeans(X, 3, num_iters=10, seed=0)
    found = centres[np.argsort(centres[:, 0] + 2 * centres[:, 1])]
    groups = [X[:40], X[40:80], X[80:]]                     # fully separated: the means of the groups
    np.testing.assert_allclose(found, [g.mean(axis=0) for g in groups], rtol=1e-12, atol=1e-12)
    # One step by hand: start, assign by the nearest centre, move to the means.
    start = X[np.random.default_rng(3).choice(len(X), size=4, replace=False)]
    d = ((X[:, None, :] - start[None]) ** 2).sum(axis=2)
    nearest = d.argmin(axis=1)
    want = np.array([X[nearest == k].mean(axis=0) if np.any(nearest == k) else start[k] for k in range(4)])
    np.testing.assert_allclose(F.kmeans(X, 4, num_iters=1, seed=3), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(F.nearest_centre(X, start), nearest)
    np.testing.assert_array_equal(F.kmeans(X, 4, num_iters=0, seed=3), start)
    with pytest.raises(ValueError, match="num_clusters = 5 is more than the 4 points"):
        F.kmeans(X[:4], 5)


def test_bag_of_words_counts_nearest_words():
    rng = np.random.default_rng(8)
    im = rng.uniform(0, 255, size=(16, 16, 3))
    codebook = rng.standard_normal((5, 8 * 8 * 3))
    patches = F.image_patches(im)                           # 3 x 3 patches of 8 x 8 at stride 4
    words = [int(np.argmin([np.sum((p - w) ** 2) for w in codebook])) for p in patches]
    want = np.bincount(words, minlength=5) / 9
    np.testing.assert_allclose(F.bag_of_words(im, codebook), want, rtol=1e-15)
    assert F.bag_of_words(im, codebook).sum() == pytest.approx(1.0)
    # A codebook made of the image's own patches gives every patch its own word.
    np.testing.assert_allclose(F.bag_of_words(im, patches), np.full(9, 1 / 9), rtol=1e-15)
    with pytest.raises(ValueError, match="codebook words have 10 numbers, the image's 8x8 patches 192"):
        F.bag_of_words(im, np.zeros((5, 10)))
