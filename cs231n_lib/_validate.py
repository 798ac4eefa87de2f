"""Argument validators shared by the layers, the fast layers and the classifiers.

Each layer calls one of these in one line at the top, so that its body is the math. A
validator returns its arguments as numpy arrays (where the layer needs arrays) and raises
ValueError with a message that names the layer, the argument and what was expected, e.g.
``conv_forward_naive: b must have shape (F,) = (2,), got (3,)``.
"""

from numbers import Integral

import numpy as np

# ---------------------------------------------------------------------------
# Single values
# ---------------------------------------------------------------------------


def check_ndim(arr, name, ndim, layout):
    """Return `arr` as an array, raising ValueError unless it has `ndim` dimensions.

    Inputs:
    - arr: array-like
    - name: the argument's name, e.g. "x"
    - ndim: the number of dimensions it must have
    - layout: the names of its dimensions, e.g. "(N, C, H, W)"
    """
    arr = np.asarray(arr)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have shape {layout}, got shape {arr.shape}")
    return arr


def positive_int(value, name):
    """Return `value` as an int, raising ValueError unless it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def nonnegative_int(value, name):
    """Return `value` as an int, raising ValueError unless it is an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def mode(value, name):
    """Return `value`, raising ValueError unless it is "train" or "test"."""
    if value not in ("train", "test"):
        raise ValueError(f"{name} must be 'train' or 'test', got {value!r}")
    return value


def as_labels(y, N, C=None, name="y", who=None, match="x"):
    """Return class labels as an integer array of shape (N,), values in [0, C) when C is given.

    Inputs:
    - y: labels, shape (N,)
    - N: the number of examples y must label (rows of `match`)
    - C: the number of classes, or None to only require non-negative labels
    - name: the labels' argument name
    - who: the function's name, put in front of the message (None: no prefix)
    - match: the name of the argument y must match, for the message
    """
    prefix = f"{who}: " if who else ""
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != N:
        raise ValueError(f"{prefix}{name} must have shape (N,) = ({N},) to match {match}, got {y.shape}")
    if y.dtype.kind not in "iu":
        raise ValueError(f"{prefix}{name} must hold integer class labels, got dtype {y.dtype}")
    if N:
        low, high = int(y.min()), int(y.max())
        if low < 0 or (C is not None and high >= C):
            bound = f"[0, C) = [0, {C})" if C is not None else "[0, inf)"
            raise ValueError(f"{prefix}labels {name} must lie in {bound}, got values in [{low}, {high}]")
    return y


def as_2d(X, name, layout="(N, D)"):
    """Return X as an array, raising ValueError unless it is two-dimensional and numeric."""
    X = check_ndim(X, name, 2, layout)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, got dtype {X.dtype}")
    return X


# ---------------------------------------------------------------------------
# Geometry of convolution and pooling windows
# ---------------------------------------------------------------------------


def _window_count(size, window, pad, stride, axis, who):
    """Number of window positions along one axis; ValueError if the windows do not tile it.

    Inputs:
    - size: input length along the axis (H or W)
    - window: filter or pool length along the axis (HH, WW, pool_height or pool_width)
    - pad: zero padding on each side
    - stride: step between windows
    - axis: "height" or "width", for the message
    - who: the layer's name, for the message

    Returns:
    - 1 + (size + 2 * pad - window) // stride
    """
    span = size + 2 * pad - window
    if span < 0:
        raise ValueError(
            f"{who}: the {axis} window {window} is larger than the padded input "
            f"{size} + 2*{pad} = {size + 2 * pad}"
        )
    if span % stride != 0:
        raise ValueError(
            f"{who}: along the {axis}, (N - F + 2P)/S + 1 is not an integer: "
            f"({size} - {window} + 2*{pad})/{stride} + 1 = {span / stride + 1:.4g}; "
            f"choose stride and pad so that the windows tile the padded input"
        )
    return 1 + span // stride


def _require_keys(params, keys, name, who):
    """Raise ValueError unless the dict `params` (argument `name`) holds every key in `keys`."""
    for key in keys:
        if key not in params:
            listed = ", ".join(repr(k) for k in keys[:-1]) + f" and {keys[-1]!r}"
            raise ValueError(f"{who}: {name} must hold {listed}, missing {key!r}")


def conv_args(x, w, b, conv_param, who):
    """Validate a convolution's arguments; return x, w, b as arrays.

    Inputs:
    - x: input of shape (N, C, H, W)
    - w: filters of shape (F, C, HH, WW)
    - b: biases of shape (F,)
    - conv_param: dict with "stride" (positive int) and "pad" (non-negative int); the
      filters must tile the padded input: H + 2 * pad - HH a multiple of stride, likewise W
    - who: the layer's name, for the messages
    """
    x = check_ndim(x, "x", 4, "(N, C, H, W)")
    w = check_ndim(w, "w", 4, "(F, C, HH, WW)")
    b = np.asarray(b)
    if w.shape[1] != x.shape[1]:
        raise ValueError(
            f"{who}: w must have shape (F, C, HH, WW) with C = {x.shape[1]} channels of x, "
            f"got w.shape = {w.shape}"
        )
    if b.shape != (w.shape[0],):
        raise ValueError(f"{who}: b must have shape (F,) = ({w.shape[0]},), got {b.shape}")
    _require_keys(conv_param, ("stride", "pad"), "conv_param", who)
    stride = positive_int(conv_param["stride"], "conv_param['stride']")
    pad = nonnegative_int(conv_param["pad"], "conv_param['pad']")
    _window_count(x.shape[2], w.shape[2], pad, stride, "height", who)
    _window_count(x.shape[3], w.shape[3], pad, stride, "width", who)
    return x, w, b


def pool_args(x, pool_param, who):
    """Validate a pooling layer's arguments; return x as an array.

    Inputs:
    - x: input of shape (N, C, H, W)
    - pool_param: dict with "pool_height", "pool_width" and "stride" (positive ints); the
      windows must tile the input: H - pool_height a multiple of stride, likewise W
    - who: the layer's name, for the messages
    """
    x = check_ndim(x, "x", 4, "(N, C, H, W)")
    _require_keys(pool_param, ("pool_height", "pool_width", "stride"), "pool_param", who)
    ph = positive_int(pool_param["pool_height"], "pool_param['pool_height']")
    pw = positive_int(pool_param["pool_width"], "pool_param['pool_width']")
    stride = positive_int(pool_param["stride"], "pool_param['stride']")
    _window_count(x.shape[2], ph, 0, stride, "height", who)
    _window_count(x.shape[3], pw, 0, stride, "width", who)
    return x


# ---------------------------------------------------------------------------
# Layers with weights
# ---------------------------------------------------------------------------


def _flat_size(x, who):
    """D = d_1 * ... * d_k of x of shape (N, d_1, ..., d_k)."""
    if x.ndim < 1:
        raise ValueError(f"{who}: x must have shape (N, d_1, ..., d_k), got a scalar of shape {x.shape}")
    return int(np.prod(x.shape[1:]))


def affine_args(x, w, b, who="affine_forward"):
    """Validate x (N, d_1, ..., d_k), w (D, M) and b (M,); return them as arrays."""
    x, w, b = np.asarray(x), check_ndim(w, "w", 2, "(D, M)"), np.asarray(b)
    D = _flat_size(x, who)
    if w.shape[0] != D:
        raise ValueError(
            f"{who}: w must have shape (D, M) with D = {D} "
            f"(the product of x.shape[1:] = {x.shape[1:]}), got w.shape = {w.shape}"
        )
    if b.shape != (w.shape[1],):
        raise ValueError(f"{who}: b must have shape (M,) = ({w.shape[1]},), got {b.shape}")
    return x, w, b


def maxout_args(x, w, b, who="maxout_forward"):
    """Validate x (N, d_1, ..., d_k), w (K, D, M) and b (K, M); return them as arrays."""
    x, w, b = np.asarray(x), check_ndim(w, "w", 3, "(K, D, M)"), np.asarray(b)
    D = _flat_size(x, who)
    K, Dw, M = w.shape
    if Dw != D:
        raise ValueError(
            f"{who}: w must have shape (K, D, M) with D = {D} "
            f"(the product of x.shape[1:] = {x.shape[1:]}), got w.shape = {w.shape}"
        )
    if b.shape != (K, M):
        raise ValueError(f"{who}: b must have shape (K, M) = ({K}, {M}), got {b.shape}")
    return x, w, b


def prelu_args(x, alpha, who="prelu_forward"):
    """Validate that alpha broadcasts against x without enlarging it; return both as arrays."""
    x, alpha = np.asarray(x), np.asarray(alpha)
    try:
        shape = np.broadcast_shapes(x.shape, alpha.shape)
    except ValueError:
        raise ValueError(
            f"{who}: alpha must broadcast against x of shape {x.shape}, "
            f"got alpha.shape = {alpha.shape}"
        ) from None
    if shape != x.shape:
        raise ValueError(f"{who}: alpha of shape {alpha.shape} would enlarge x of shape {x.shape}")
    return x, alpha


def clip_range(x, min_val, max_val, who="hard_tanh_forward"):
    """Validate min_val < max_val; return x as an array."""
    if not min_val < max_val:
        raise ValueError(f"{who}: need min_val < max_val, got {min_val}, {max_val}")
    return np.asarray(x)


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------


def scores_and_labels(x, y, who):
    """Validate scores x (N, C), C >= 1, and labels y (N,) in [0, C); return them as arrays."""
    x = check_ndim(x, "x", 2, "(N, C)")
    if x.shape[1] < 1:
        raise ValueError(f"{who}: x must have at least one class column, got shape {x.shape}")
    return x, as_labels(y, x.shape[0], x.shape[1], who=who)


# ---------------------------------------------------------------------------
# Normalisation and dropout
# ---------------------------------------------------------------------------


def _gamma_beta(gamma, beta, shape, layout, who):
    """Raise ValueError unless gamma and beta both have `shape` (`layout` names it)."""
    for name, arr in (("gamma", gamma), ("beta", beta)):
        if np.shape(arr) != shape:
            raise ValueError(f"{who}: {name} must have shape {layout} = {shape}, got {np.shape(arr)}")


def batchnorm_args(x, gamma, beta, bn_param, who="batchnorm_forward"):
    """Validate batch norm's x (N, D), gamma and beta (D,) and bn_param; return x as an array.

    bn_param needs "mode" ("train" or "test"); running averages, when given, have shape
    (D,); train mode needs at least one example.
    """
    x = check_ndim(x, "x", 2, "(N, D)")
    N, D = x.shape
    mode(bn_param.get("mode"), "bn_param['mode']")
    _gamma_beta(gamma, beta, (D,), "(D,)", who)
    for name in ("running_mean", "running_var"):
        if name in bn_param and np.shape(bn_param[name]) != (D,):
            raise ValueError(f"bn_param['{name}'] must have shape (D,) = ({D},), "
                             f"got {np.shape(bn_param[name])}")
    if bn_param["mode"] == "train" and N < 1:
        raise ValueError(f"{who}: train mode needs at least one example in x")
    return x


def layernorm_args(x, gamma, beta, who="layernorm_forward"):
    """Validate layer norm's x (N, D), gamma and beta (D,); return x as an array."""
    x = check_ndim(x, "x", 2, "(N, D)")
    _gamma_beta(gamma, beta, (x.shape[1],), "(D,)", who)
    return x


def groupnorm_args(x, gamma, beta, G, who="spatial_groupnorm_forward"):
    """Validate x (N, C, H, W), G groups dividing C, gamma and beta (1, C, 1, 1).

    Returns a tuple of:
    - x as an array
    - G as an int
    """
    x = check_ndim(x, "x", 4, "(N, C, H, W)")
    C = x.shape[1]
    G = positive_int(G, "G")
    if C % G != 0:
        raise ValueError(f"{who}: G = {G} groups must divide C = {C} channels")
    _gamma_beta(gamma, beta, (1, C, 1, 1), "(1, C, 1, 1)", who)
    return x, G


def dropout_args(x, dropout_param):
    """Validate dropout_param ("p" in (0, 1], "mode", optional Generator "rng"); return x as an array."""
    p = dropout_param.get("p")
    if isinstance(p, bool) or not isinstance(p, int | float | np.floating | np.integer) or not 0 < p <= 1:
        raise ValueError(f"dropout_param['p'] (the keep probability) must lie in (0, 1], got {p!r}")
    train = mode(dropout_param.get("mode"), "dropout_param['mode']") == "train"
    rng = dropout_param.get("rng")
    if train and dropout_param.get("seed") is None and rng is not None and not isinstance(rng, np.random.Generator):
        raise ValueError(f"dropout_param['rng'] must be a numpy.random.Generator, got {type(rng)}")
    return np.asarray(x)


# ---------------------------------------------------------------------------
# Linear classifiers
# ---------------------------------------------------------------------------


def linear_inputs(W, X, y):
    """Validate the arguments of a linear classifier's loss; return them as arrays.

    Inputs:
    - W: weights of shape (D, C)
    - X: data of shape (N, D)
    - y: labels of shape (N,), integers in [0, C)
    """
    W = as_2d(W, "W", "(D, C)")
    X = as_2d(X, "X", "(N, D)")
    if X.shape[1] != W.shape[0]:
        raise ValueError(
            f"X must have shape (N, D) with D = W.shape[0] = {W.shape[0]}, got X.shape = {X.shape}"
        )
    return W, X, as_labels(y, X.shape[0], W.shape[1], match="X")
