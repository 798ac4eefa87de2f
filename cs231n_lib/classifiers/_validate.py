"""Argument checks shared by the classifiers (messages name the argument and the expected shape)."""

import numpy as np

from cs231n_lib.layers import _nonnegative_int as nonnegative_int  # noqa: F401 (re-exported)
from cs231n_lib.layers import _positive_int as positive_int  # noqa: F401 (re-exported)


def as_2d(X, name, layout="(N, D)"):
    """Return X as an array, raising ValueError unless it is two-dimensional and numeric."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must have shape {layout}, got shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, got dtype {X.dtype}")
    return X


def as_labels(y, N, C=None, name="y"):
    """Return y as an integer array of shape (N,), with values in [0, C) when C is given.

    Inputs:
    - y: class labels
    - N: the number of examples y must label
    - C: the number of classes, or None to only require non-negative labels
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != N:
        raise ValueError(f"{name} must have shape (N,) = ({N},) to match X, got shape {y.shape}")
    if y.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if N:
        low, high = int(y.min()), int(y.max())
        if low < 0 or (C is not None and high >= C):
            bound = f"[0, C) = [0, {C})" if C is not None else "[0, inf)"
            raise ValueError(f"labels {name} must lie in {bound}, got values in [{low}, {high}]")
    return y


def linear_inputs(W, X, y):
    """Validate the arguments of a linear classifier's loss; return them as arrays.

    Inputs:
    - W: weights of shape (D, C)
    - X: data of shape (N, D)
    - y: labels of shape (N,), integers in [0, C)

    Returns:
    - W, X, y as numpy arrays
    """
    W = as_2d(W, "W", "(D, C)")
    X = as_2d(X, "X", "(N, D)")
    if X.shape[1] != W.shape[0]:
        raise ValueError(
            f"X must have shape (N, D) with D = W.shape[0] = {W.shape[0]}, got X.shape = {X.shape}"
        )
    y = as_labels(y, X.shape[0], W.shape[1])
    return W, X, y
