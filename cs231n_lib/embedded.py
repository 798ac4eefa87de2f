"""The embedded offline dataset: real handwritten digits drawn over patches of real photographs.

Built on the fly from two sources that ship inside scikit-learn (nothing is downloaded):

- the 1797 8 x 8 images of the UCI ML handwritten digits test set
  (``sklearn/datasets/data/digits.csv.gz``), which give the labels and the shapes;
- the two photographs of ``sklearn.datasets.load_sample_images`` (``china.jpg`` and
  ``flower.jpg``, CC BY 2.0), cut into 32 x 32 patches that serve as cluttered backgrounds.

Each image is one digit, enlarged to a random size (18 to 26 pixels), placed within 4
pixels of the centre, painted in a random bright colour over a random photo patch (random
place, scale, mirror, contrast, colour balance and brightness), plus pixel noise. The
digit's hue leans towards a colour of its class (so colour carries some information, as
in CIFAR-10, where sky and grass do) but is often far from it. Shift, size, background
and colour change almost every pixel without changing the label, so pixel distances say
little about the class: kNN on pixels is weak, a linear classifier better, a two-layer
network better still and a convolutional network best (tests/test_lessons.py).

Everything is drawn from one ``numpy.random.Generator`` with a fixed seed: the same
arrays on every machine. ``redraw_test_digits`` draws the test digits again, the same way, from
a generator of the caller's: the grader's held-out images (autograder/verify/heldout.py).
"""

import functools
import importlib.util
from pathlib import Path

import numpy as np

__all__ = ["SEED", "NUM_RENDERS", "render_embedded", "embedded_arrays", "redraw_test_digits", "source_files"]

SEED = 2024
NUM_RENDERS = 3          # renderings of each training digit (test digits are rendered once)
_DIGIT_SIZES = (18, 26)  # smallest and largest side of the enlarged digit, in pixels
_HUE_SPREAD = 0.12       # standard deviation of a digit's hue around its class hue (1 = full circle)
_NOISE = 10.0            # standard deviation of the pixel noise, in 0..255 units
_BACKGROUND_GAIN = (0.3, 1.0)   # range of the random contrast of a photo patch
_BACKGROUND_OFFSET = 120.0      # largest random brightness added to a photo patch
_BACKGROUND_ZOOM = (1, 3)       # range of photo pixels per patch pixel (larger: smoother patches)
_MAX_SHIFT = 4                  # largest distance of a digit from the centre, in pixels
_TINT = 0.3                     # largest random change of a patch's colour balance, per channel
_PHOTOS = ("china.jpg", "flower.jpg")   # scikit-learn's sample images, the backgrounds


def _sklearn_dir():
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise ImportError("the embedded dataset needs scikit-learn (pip install scikit-learn)")
    return Path(spec.origin).parent


def source_files():
    """The files the dataset is drawn from: the digits' CSV and the two photographs (Paths)."""
    folder = _sklearn_dir() / "datasets"
    return [folder / "data" / "digits.csv.gz"] + [folder / "images" / name for name in _PHOTOS]


def read_digits():
    """The 1797 digits as (images (1797, 8, 8) float64 in 0..16, labels (1797,) int64).

    Reads the CSV that ships inside scikit-learn directly (importing scikit-learn takes
    over a second).
    """
    table = np.loadtxt(source_files()[0], delimiter=",")
    return table[:, :64].reshape(-1, 8, 8), table[:, 64].astype(np.int64)


def read_photos():
    """The two sample photographs of scikit-learn as a list of uint8 arrays (427, 640, 3)."""
    from PIL import Image  # installed with matplotlib

    photos = []
    for path in source_files()[1:]:
        with Image.open(path) as im:
            photos.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
    return photos


def _resize_matrix(n_in, n_out):
    """(n_out, n_in) matrix of bilinear weights, pixel centres aligned, edges clamped."""
    pos = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    pos = np.clip(pos, 0, n_in - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = pos - lo
    A = np.zeros((n_out, n_in))
    A[np.arange(n_out), lo] += 1 - frac
    A[np.arange(n_out), hi] += frac
    return A


def _hsv_to_rgb(h, s, v):
    """Colours from hue, saturation, value, each (N,) in [0, 1]; returns (N, 3) in [0, 1]."""
    k = (np.array([5.0, 3.0, 1.0]) + h[:, None] * 6.0) % 6.0
    return v[:, None] - v[:, None] * s[:, None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _digit_masks(digits, rng):
    """Place each digit at a random size and position: (N, 32, 32) opacity in [0, 1]."""
    n = len(digits)
    masks = np.zeros((n, 32, 32), dtype=np.float32)
    sizes = rng.integers(_DIGIT_SIZES[0], _DIGIT_SIZES[1] + 1, size=n)
    centre = (32 - sizes) // 2
    rows = np.clip(centre + rng.integers(-_MAX_SHIFT, _MAX_SHIFT + 1, size=n), 0, 32 - sizes)
    cols = np.clip(centre + rng.integers(-_MAX_SHIFT, _MAX_SHIFT + 1, size=n), 0, 32 - sizes)
    for size in np.unique(sizes):
        idx = np.flatnonzero(sizes == size)
        A = _resize_matrix(8, size)
        big = np.einsum("ij,njk,lk->nil", A, digits[idx] / 16.0, A)  # (n_size, size, size)
        for i, img in zip(idx, big):
            masks[i, rows[i]:rows[i] + size, cols[i]:cols[i] + size] = img
    return np.clip(masks, 0.0, 1.0, out=masks)


def _shrink(photo, z):
    """The photo with each z x z block of pixels averaged into one: (h // z, w // z, 3) float64."""
    h, w = photo.shape[0] // z * z, photo.shape[1] // z * z
    return photo[:h, :w].reshape(h // z, z, w // z, z, 3).mean(axis=(1, 3))


def _backgrounds(photos, n, rng):
    """n random 32 x 32 patches of the photos at a random scale, random contrast and brightness.

    A patch covers 32 z x 32 z photo pixels, each z x z block averaged (z random in
    _BACKGROUND_ZOOM): larger z, smoother patch. Returns (n, 32, 32, 3) floats in 0..255 + offset.
    """
    zooms = range(_BACKGROUND_ZOOM[0], _BACKGROUND_ZOOM[1] + 1)
    shrunk = {(p, z): _shrink(photo, z) for p, photo in enumerate(photos) for z in zooms}
    out = np.empty((n, 32, 32, 3), dtype=np.float32)
    which = rng.integers(0, len(photos), size=n)
    zoom = rng.integers(_BACKGROUND_ZOOM[0], _BACKGROUND_ZOOM[1] + 1, size=n)
    flip = rng.random(n) < 0.5
    rows = rng.integers(0, [shrunk[(p, z)].shape[0] - 31 for p, z in zip(which, zoom)])
    cols = rng.integers(0, [shrunk[(p, z)].shape[1] - 31 for p, z in zip(which, zoom)])
    for i, (r, c) in enumerate(zip(rows, cols)):
        patch = shrunk[(which[i], zoom[i])][r:r + 32, c:c + 32]
        out[i] = patch[:, ::-1] if flip[i] else patch
    # Random contrast, colour balance and brightness per patch, class independent.
    gain = rng.uniform(*_BACKGROUND_GAIN, size=(n, 1, 1, 1)) * rng.uniform(1 - _TINT, 1 + _TINT, size=(n, 1, 1, 3))
    offset = rng.uniform(0.0, _BACKGROUND_OFFSET, size=(n, 1, 1, 1))
    out *= gain.astype(np.float32)
    out += offset.astype(np.float32)
    return out


def render_embedded(digits, labels, photos, rng):
    """Draw each digit, in a colour, over a photo patch.

    Inputs:
    - digits: (N, 8, 8) digit images, values 0..16.
    - labels: (N,) int labels in 0..9; a class's hue is labels / 10 of the colour circle.
    - photos: list of uint8 photographs (h, w, 3), each at least 96 x 96.
    - rng: numpy.random.Generator, the only source of randomness.

    Returns:
    - X: (N, 32, 32, 3) uint8 images.
    """
    n = len(labels)
    alpha = _digit_masks(digits, rng)[..., None]                      # (N, 32, 32, 1)
    background = _backgrounds(photos, n, rng)                         # (N, 32, 32, 3)
    hue = (labels / 10.0 + _HUE_SPREAD * rng.standard_normal(n)) % 1.0
    colour = 255.0 * _hsv_to_rgb(hue, rng.uniform(0.5, 1.0, n), rng.uniform(0.7, 1.0, n))
    colour = colour.astype(np.float32)[:, None, None, :]
    images = background                                               # blended in place
    images -= alpha * (background - colour)
    images += rng.standard_normal(images.shape, dtype=np.float32) * np.float32(_NOISE)
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def _is_test_digit(y):
    """(N,) bool: within each class, every sixth digit in the file's order is a test digit."""
    rank = np.empty_like(y)
    for c in range(10):
        idx = np.flatnonzero(y == c)
        rank[idx] = np.arange(idx.size)
    return rank % 6 == 5


def redraw_test_digits(rng, renders=1):
    """The test digits drawn again like the test images of ``embedded_arrays``, from ``rng``.

    New images of the same 296 digits (another size, place, colour, background and noise
    each time), in a shuffled order: what a model is graded on when its test images must be
    ones nobody has seen. Without the generator's seed, nobody can know them.

    Inputs:
    - rng: numpy.random.Generator, the only source of randomness.
    - renders: how many images of each test digit (an int >= 1).

    Returns:
    - X: (296 * renders, 32, 32, 3) uint8, y: (296 * renders,) int64
    """
    if isinstance(renders, bool) or not isinstance(renders, int | np.integer) or renders < 1:
        raise ValueError(f"renders must be an int >= 1, got {renders!r}")
    digits, y = read_digits()
    idx = np.tile(np.flatnonzero(_is_test_digit(y)), int(renders))
    idx = idx[rng.permutation(idx.size)]
    return render_embedded(digits[idx], y[idx], read_photos(), rng), y[idx]


@functools.lru_cache(maxsize=1)
def embedded_arrays():
    """The embedded dataset as read-only arrays (X_train, y_train, X_test, y_test).

    Within each class, every sixth digit (in the file's order) is a test digit, drawn once;
    every other digit is drawn NUM_RENDERS times (different size, place, colour, background)
    for the training set. Training images are shuffled; the test images keep the file order.

    Returns:
    - X_train: (1501 * NUM_RENDERS, 32, 32, 3) uint8, y_train: (1501 * NUM_RENDERS,) int64
    - X_test: (296, 32, 32, 3) uint8, y_test: (296,) int64
    """
    digits, y = read_digits()
    photos = read_photos()
    rng = np.random.default_rng(SEED)
    test = _is_test_digit(y)
    train_idx = np.tile(np.flatnonzero(~test), NUM_RENDERS)
    train_idx = train_idx[rng.permutation(train_idx.size)]
    X_train = render_embedded(digits[train_idx], y[train_idx], photos, rng)
    X_test = render_embedded(digits[test], y[test], photos, rng)
    arrays = (X_train, y[train_idx], X_test, y[test])
    for arr in arrays:
        arr.setflags(write=False)
    return arrays
