"""Data augmentation for image minibatches of shape (N, C, H, W), with an explicit generator.

Each transform returns a new array (the input is never modified) and draws its randomness
from the numpy Generator it is given. ``make_augmenter`` combines them into a function
``augment(X_batch, rng)`` for the Solver's ``augment`` option::

    solver = Solver(model, data, augment=make_augmenter(flip=True, crop_padding=4), seed=0)
"""

from numbers import Integral, Real

import numpy as np


def _check_batch(X, rng, who):
    """X as an array of shape (N, C, H, W); ValueError for other shapes or a missing Generator."""
    X = np.asarray(X)
    if X.ndim != 4:
        raise ValueError(f"{who}: X must have shape (N, C, H, W), got {X.shape}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"{who}: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return X


def _check_fraction(value, name, high=1.0):
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value <= high:
        raise ValueError(f"{name} must be a number in [0, {high:g}], got {value!r}")
    return float(value)


def random_flips(X, rng, p=0.5):
    """Mirror each image left-right with probability p.

    Inputs:
    - X: images of shape (N, C, H, W)
    - rng: numpy.random.Generator
    - p: probability of flipping an image, in [0, 1]

    Returns:
    - out: array of shape (N, C, H, W), same dtype as X
    """
    X = _check_batch(X, rng, "random_flips")
    p = _check_fraction(p, "p")
    flip = rng.random(X.shape[0]) < p
    out = X.copy()
    out[flip] = X[flip, :, :, ::-1]
    return out


def random_crops(X, rng, padding=4):
    """Pad each image with `padding` zeros on every side, then cut a random H x W window.

    Equivalent to shifting each image by a random offset in [-padding, padding] along
    each axis, filling the uncovered border with zeros.

    Inputs:
    - X: images of shape (N, C, H, W)
    - rng: numpy.random.Generator
    - padding: non-negative integer

    Returns:
    - out: array of shape (N, C, H, W), same dtype as X
    """
    X = _check_batch(X, rng, "random_crops")
    if isinstance(padding, bool) or not isinstance(padding, Integral) or padding < 0:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
    if padding == 0:
        return X.copy()
    N, C, H, W = X.shape
    X_pad = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dy = rng.integers(0, 2 * padding + 1, size=N)
    dx = rng.integers(0, 2 * padding + 1, size=N)
    rows = (dy[:, None] + np.arange(H))[:, None, :, None]  # (N, 1, H, 1)
    cols = (dx[:, None] + np.arange(W))[:, None, None, :]  # (N, 1, 1, W)
    return X_pad[np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None], rows, cols]


def color_jitter(X, rng, brightness=0.2, contrast=0.2, saturation=0.2):
    """Randomly scale each image's brightness, contrast and colour saturation.

    For each image, factors b, c, s are drawn uniformly from [1 - brightness, 1 + brightness]
    (likewise c, s) and applied in turn:

    - brightness: x * b
    - contrast: m + (x - m) * c, m the image's mean over all its pixels and channels
    - saturation: g + (x - g) * s, g the per-pixel mean over the channels (grey)

    Inputs:
    - X: images of shape (N, C, H, W)
    - rng: numpy.random.Generator
    - brightness, contrast, saturation: strengths in [0, 1]; 0 leaves that property alone

    Returns:
    - out: float array of shape (N, C, H, W) (X's dtype if floating, else float64)
    """
    X = _check_batch(X, rng, "color_jitter")
    strengths = {name: _check_fraction(value, name) for name, value in
                 (("brightness", brightness), ("contrast", contrast), ("saturation", saturation))}
    dtype = X.dtype if X.dtype.kind == "f" else np.float64
    out = X.astype(dtype, copy=True)
    N = X.shape[0]
    factors = {name: (1 + rng.uniform(-s, s, size=(N, 1, 1, 1))).astype(dtype)
               for name, s in strengths.items()}
    if strengths["brightness"]:
        out *= factors["brightness"]
    if strengths["contrast"]:
        mean = out.mean(axis=(1, 2, 3), keepdims=True)
        out = mean + (out - mean) * factors["contrast"]
    if strengths["saturation"]:
        grey = out.mean(axis=1, keepdims=True)
        out = grey + (out - grey) * factors["saturation"]
    return out


def make_augmenter(flip=True, crop_padding=4, brightness=0.0, contrast=0.0, saturation=0.0):
    """A function augment(X, rng) applying flips, crops and colour jitter in that order.

    Inputs:
    - flip: mirror images left-right with probability 0.5
    - crop_padding: padding of random_crops (0: no crops)
    - brightness, contrast, saturation: strengths for color_jitter (all 0: no jitter)

    Returns:
    - augment: callable (X of shape (N, C, H, W), numpy Generator) -> array (N, C, H, W)
    """
    if isinstance(crop_padding, bool) or not isinstance(crop_padding, Integral) or crop_padding < 0:
        raise ValueError(f"crop_padding must be a non-negative integer, got {crop_padding!r}")
    jitter = {"brightness": _check_fraction(brightness, "brightness"),
              "contrast": _check_fraction(contrast, "contrast"),
              "saturation": _check_fraction(saturation, "saturation")}

    def augment(X, rng):
        if flip:
            X = random_flips(X, rng)
        if crop_padding:
            X = random_crops(X, rng, padding=crop_padding)
        if any(jitter.values()):
            X = color_jitter(X, rng, **jitter)
        return X

    return augment
