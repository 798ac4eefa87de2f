"""Reference layers: functional forward/backward pairs with the CS231n contract.

Every layer is a pair ``*_forward(...) -> (out, cache)`` and
``*_backward(dout, cache) -> gradients``. Shapes use N for the batch, D for
features, C for classes (losses) or channels (conv), H, W for space, F for
filters and HH, WW for the filter size. Each forward pass checks its arguments in one
call into ``cs231n_lib._validate`` (a ValueError names the argument and what was expected);
the rest of its body is the math.

Inputs are never modified in place. The one deliberate side effect kept for
CS231n compatibility: ``batchnorm_forward`` in train mode stores the updated
running averages in ``bn_param["running_mean"]`` / ``bn_param["running_var"]``
(new arrays are assigned; the old arrays are left untouched).
"""

import numpy as np

from cs231n_lib import _validate

# ---------------------------------------------------------------------------
# Gradient of a broadcast
# ---------------------------------------------------------------------------


def _sum_to_shape(grad, shape):
    """Sum `grad` over the axes that were broadcast to reach it from `shape`.

    Inputs:
    - grad: array of the broadcast shape
    - shape: the shape of the original (smaller) operand

    Returns:
    - array of shape `shape`
    """
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra))) if extra > 0 else grad
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


# ---------------------------------------------------------------------------
# Gates of the lecture notes' computational graphs
# ---------------------------------------------------------------------------


def add_forward(x, y):
    """Add gate: out = x + y (numpy broadcasting allowed).

    Inputs:
    - x, y: arrays (or scalars) of broadcast-compatible shapes

    Returns a tuple of:
    - out: x + y, of the broadcast shape
    - cache: (shape of x, shape of y)
    """
    x, y = np.asarray(x), np.asarray(y)
    return x + y, (x.shape, y.shape)


def add_backward(dout, cache):
    """Backward pass of the add gate: the gradient is passed unchanged to both inputs.

    Inputs:
    - dout: upstream gradient, of the broadcast shape
    - cache: from add_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape of x
    - dy: gradient with respect to y, shape of y
    """
    x_shape, y_shape = cache
    dout = np.asarray(dout)
    return _sum_to_shape(dout, x_shape), _sum_to_shape(dout, y_shape)


def multiply_forward(x, y):
    """Multiply gate: out = x * y elementwise (numpy broadcasting allowed).

    Inputs:
    - x, y: arrays (or scalars) of broadcast-compatible shapes

    Returns a tuple of:
    - out: x * y, of the broadcast shape
    - cache: (x, y)
    """
    x, y = np.asarray(x), np.asarray(y)
    return x * y, (x, y)


def multiply_backward(dout, cache):
    """Backward pass of the multiply gate: each input gets dout times the other input.

    Inputs:
    - dout: upstream gradient, of the broadcast shape
    - cache: (x, y) from multiply_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape of x
    - dy: gradient with respect to y, shape of y
    """
    x, y = cache
    dout = np.asarray(dout)
    return _sum_to_shape(dout * y, x.shape), _sum_to_shape(dout * x, y.shape)


# ---------------------------------------------------------------------------
# Affine
# ---------------------------------------------------------------------------


def affine_forward(x, w, b):
    """Affine (fully connected) layer: out = x.reshape(N, D) @ w + b.

    Inputs:
    - x: input of shape (N, d_1, ..., d_k); each example is flattened to D = d_1 * ... * d_k
    - w: weights of shape (D, M)
    - b: biases of shape (M,)

    Returns a tuple of:
    - out: output of shape (N, M)
    - cache: (x, w, b)
    """
    x, w, b = _validate.affine_args(x, w, b)
    out = x.reshape(x.shape[0], w.shape[0]) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Backward pass of the affine layer.

    Inputs:
    - dout: upstream gradient of shape (N, M)
    - cache: (x, w, b) from affine_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, d_1, ..., d_k)
    - dw: gradient with respect to w, shape (D, M)
    - db: gradient with respect to b, shape (M,)
    """
    x, w, _ = cache
    x2 = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


# ---------------------------------------------------------------------------
# Activations (elementwise unless stated)
# ---------------------------------------------------------------------------


def relu_forward(x):
    """Rectified linear unit: out = max(0, x).

    Inputs:
    - x: input of any shape

    Returns a tuple of:
    - out: output, same shape as x
    - cache: x
    """
    x = np.asarray(x)
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """Backward pass of ReLU (the gradient at x == 0 is taken as 0).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: x from relu_forward

    Returns:
    - dx: gradient with respect to x, same shape as x
    """
    x = cache
    return np.where(x > 0, dout, 0)


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU: out = x where x > 0, alpha * x elsewhere.

    Inputs:
    - x: input of any shape
    - alpha: slope for negative inputs (a fixed scalar)

    Returns a tuple of:
    - out: output, same shape as x
    - cache: (x, alpha)
    """
    x = np.asarray(x)
    return np.where(x > 0, x, alpha * x), (x, alpha)


def leaky_relu_backward(dout, cache):
    """Backward pass of leaky ReLU.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: (x, alpha) from leaky_relu_forward

    Returns:
    - dx: gradient with respect to x, same shape as x
    """
    x, alpha = cache
    return np.where(x > 0, dout, alpha * dout)


def prelu_forward(x, alpha):
    """Parametric ReLU: leaky ReLU whose negative slope alpha is learned.

    Inputs:
    - x: input of shape (N, ...), e.g. (N, D) or (N, C, H, W)
    - alpha: slopes, a scalar or an array broadcastable against x, e.g. (D,) for one slope
      per feature or (1, C, 1, 1) for one slope per channel

    Returns a tuple of:
    - out: output, same shape as x
    - cache: (x, alpha)
    """
    x, alpha = _validate.prelu_args(x, alpha)
    return np.where(x > 0, x, alpha * x), (x, alpha)


def prelu_backward(dout, cache):
    """Backward pass of parametric ReLU.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: (x, alpha) from prelu_forward

    Returns a tuple of:
    - dx: gradient with respect to x, same shape as x
    - dalpha: gradient with respect to alpha, same shape as alpha
    """
    x, alpha = cache
    negative = x <= 0
    dx = np.where(negative, alpha * dout, dout)
    dalpha = _sum_to_shape(np.where(negative, dout * x, 0), alpha.shape)
    return dx, dalpha


def elu_forward(x, alpha=1.0):
    """Exponential linear unit: out = x where x > 0, alpha * (exp(x) - 1) elsewhere.

    Inputs:
    - x: input of any shape
    - alpha: scale of the negative part (a fixed scalar)

    Returns a tuple of:
    - out: output, same shape as x
    - cache: (x, out, alpha)
    """
    x = np.asarray(x)
    out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
    return out, (x, out, alpha)


def elu_backward(dout, cache):
    """Backward pass of ELU; for x <= 0 the local gradient is out + alpha.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: (x, out, alpha) from elu_forward

    Returns:
    - dx: gradient with respect to x, same shape as x
    """
    x, out, alpha = cache
    return np.where(x > 0, dout, dout * (out + alpha))


def sigmoid_forward(x):
    """Logistic sigmoid: out = 1 / (1 + exp(-x)), computed without overflow.

    Inputs:
    - x: input of any shape

    Returns a tuple of:
    - out: output in (0, 1), same shape as x
    - cache: out
    """
    x = np.asarray(x)
    # exp of a non-positive number never overflows: use exp(-|x|) on both branches.
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out, out


def sigmoid_backward(dout, cache):
    """Backward pass of the sigmoid; the local gradient is (1 - s) * s.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: out of sigmoid_forward, s

    Returns:
    - dx: gradient with respect to x, same shape as x
    """
    s = cache
    return dout * (1 - s) * s


def tanh_forward(x):
    """Hyperbolic tangent.

    Inputs:
    - x: input of any shape

    Returns a tuple of:
    - out: output in (-1, 1), same shape as x
    - cache: out
    """
    out = np.tanh(np.asarray(x))
    return out, out


def tanh_backward(dout, cache):
    """Backward pass of tanh; the local gradient is 1 - tanh(x)**2.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: out of tanh_forward

    Returns:
    - dx: gradient with respect to x, same shape as x
    """
    out = cache
    return dout * (1 - out * out)


def hard_tanh_forward(x, min_val=-1.0, max_val=1.0):
    """Hard tanh: x clipped to [min_val, max_val].

    Inputs:
    - x: input of any shape
    - min_val, max_val: the clipping range, min_val < max_val

    Returns a tuple of:
    - out: output, same shape as x
    - cache: (x, min_val, max_val)
    """
    x = _validate.clip_range(x, min_val, max_val)
    return np.clip(x, min_val, max_val), (x, min_val, max_val)


def hard_tanh_backward(dout, cache):
    """Backward pass of hard tanh: the gradient passes where min_val < x < max_val.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: (x, min_val, max_val) from hard_tanh_forward

    Returns:
    - dx: gradient with respect to x, same shape as x
    """
    x, min_val, max_val = cache
    inside = (x > min_val) & (x < max_val)
    return np.where(inside, dout, 0)


def softsign_forward(x):
    """Softsign: out = x / (1 + |x|).

    Inputs:
    - x: input of any shape

    Returns a tuple of:
    - out: output in (-1, 1), same shape as x
    - cache: x
    """
    x = np.asarray(x)
    return x / (1 + np.abs(x)), x


def softsign_backward(dout, cache):
    """Backward pass of softsign; the local gradient is 1 / (1 + |x|)**2.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: x from softsign_forward

    Returns:
    - dx: gradient with respect to x, same shape as x
    """
    x = cache
    denom = 1 + np.abs(x)
    return dout / (denom * denom)


def maxout_forward(x, w, b):
    """Maxout layer: the maximum of k affine pieces, out = max_j (x @ w[j] + b[j]).

    Inputs:
    - x: input of shape (N, d_1, ..., d_k); each example is flattened to D = d_1 * ... * d_k
    - w: weights of shape (K, D, M), one (D, M) affine map per piece
    - b: biases of shape (K, M)

    Returns a tuple of:
    - out: output of shape (N, M)
    - cache: (x, w, b, argmax) where argmax, shape (N, M), is the winning piece
      (the first one on ties)
    """
    x, w, b = _validate.maxout_args(x, w, b)
    z = x.reshape(x.shape[0], w.shape[1]) @ w + b[:, None, :]  # (K, N, M)
    argmax = z.argmax(axis=0)
    out = np.take_along_axis(z, argmax[None], axis=0)[0]
    return out, (x, w, b, argmax)


def maxout_backward(dout, cache):
    """Backward pass of maxout: each output's gradient flows to its winning piece.

    Inputs:
    - dout: upstream gradient of shape (N, M)
    - cache: (x, w, b, argmax) from maxout_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, d_1, ..., d_k)
    - dw: gradient with respect to w, shape (K, D, M)
    - db: gradient with respect to b, shape (K, M)
    """
    x, w, _, argmax = cache
    K = w.shape[0]
    x2 = x.reshape(x.shape[0], -1)
    dz = np.where(argmax[None] == np.arange(K)[:, None, None], dout[None], 0)  # (K, N, M)
    dz = dz.astype(np.result_type(dout, w), copy=False)
    dx = np.einsum("knm,kdm->nd", dz, w, optimize=True).reshape(x.shape)
    dw = x2.T @ dz  # (K, D, M)
    db = dz.sum(axis=1)
    return dx, dw, db


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------


def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1, averaged over the batch.

    loss = mean_i sum_{j != y_i} max(0, x[i, j] - x[i, y_i] + 1)

    Inputs:
    - x: scores of shape (N, C)
    - y: labels of shape (N,), integers in [0, C)

    Returns a tuple of:
    - loss: scalar
    - dx: gradient of the loss with respect to x, shape (N, C)
    """
    x, y = _validate.scores_and_labels(x, y, "svm_loss")
    N = x.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0
    loss = margins.sum() / N
    dx = (margins > 0).astype(x.dtype)
    dx[rows, y] = -dx.sum(axis=1)
    dx /= N
    return loss, dx


def softmax_loss(x, y):
    """Softmax (cross-entropy) loss, averaged over the batch, computed stably.

    Inputs:
    - x: scores of shape (N, C)
    - y: labels of shape (N,), integers in [0, C)

    Returns a tuple of:
    - loss: scalar
    - dx: gradient of the loss with respect to x, shape (N, C)
    """
    x, y = _validate.scores_and_labels(x, y, "softmax_loss")
    N = x.shape[0]
    rows = np.arange(N)
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].sum() / N
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= N
    return loss, dx


# ---------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------


def _standardize_backward(dx_hat, x_hat, inv_std, axis):
    """Gradient through x_hat = (x - mean) * inv_std, statistics taken over `axis`.

    Inputs:
    - dx_hat: gradient with respect to x_hat
    - x_hat: the standardized input
    - inv_std: 1 / sqrt(var + eps), broadcastable against x_hat (keepdims)
    - axis: the axis (or axes) the mean and variance were taken over

    Returns:
    - dx: gradient with respect to x, same shape as x_hat
    """
    mean_dx_hat = dx_hat.mean(axis=axis, keepdims=True)
    mean_dx_hat_x_hat = (dx_hat * x_hat).mean(axis=axis, keepdims=True)
    return inv_std * (dx_hat - mean_dx_hat - x_hat * mean_dx_hat_x_hat)


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization over the batch axis.

    In train mode each feature is normalized with the batch mean and the biased batch
    variance, and running averages are updated as
    running = momentum * running + (1 - momentum) * sample.
    In test mode the running averages are used instead.

    Inputs:
    - x: data of shape (N, D)
    - gamma: scale of shape (D,)
    - beta: shift of shape (D,)
    - bn_param: dict with
      - mode: "train" or "test" (required)
      - eps: constant for numeric stability, default 1e-5
      - momentum: constant for the running averages, default 0.9
      - running_mean: array of shape (D,), default zeros
      - running_var: array of shape (D,), default zeros
      In train mode the updated running averages are stored back into bn_param as new
      arrays (CS231n behaviour: callers read them from bn_param).

    Returns a tuple of:
    - out: output of shape (N, D)
    - cache: dict; cache["mode"] says which path ran ("train" or "test")
    """
    x = _validate.batchnorm_args(x, gamma, beta, bn_param)
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    if mode == "train":
        # Forward through the computational graph, one node at a time.
        sample_mean = x.mean(axis=0)
        x_centered = x - sample_mean
        x_centered_sq = x_centered * x_centered
        sample_var = x_centered_sq.mean(axis=0)
        std = np.sqrt(sample_var + eps)
        inv_std = 1 / std
        x_hat = x_centered * inv_std
        out = gamma * x_hat + beta
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * sample_mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * sample_var
        cache = {
            "mode": "train", "x_centered": x_centered, "std": std, "inv_std": inv_std,
            "x_hat": x_hat, "gamma": gamma, "eps": eps,
        }
    else:
        inv_std = 1 / np.sqrt(running_var + eps)
        x_hat = (x - running_mean) * inv_std
        out = gamma * x_hat + beta
        cache = {"mode": "test", "x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "eps": eps}
    return out, cache


def batchnorm_backward(dout, cache):
    """Backward pass of batch normalization, node by node through the computational graph.

    Inputs:
    - dout: upstream gradient of shape (N, D)
    - cache: from batchnorm_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, D)
    - dgamma: gradient with respect to gamma, shape (D,)
    - dbeta: gradient with respect to beta, shape (D,)
    """
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    if cache["mode"] == "test":
        # The statistics are constants: the layer is an elementwise affine map.
        return dx_hat * inv_std, dgamma, dbeta

    N = dout.shape[0]
    x_centered, std = cache["x_centered"], cache["std"]
    # x_hat = x_centered * inv_std
    dinv_std = (dx_hat * x_centered).sum(axis=0)
    dx_centered = dx_hat * inv_std
    # inv_std = 1 / std
    dstd = -dinv_std / (std * std)
    # std = sqrt(sample_var + eps)
    dsample_var = 0.5 * dstd / std
    # sample_var = mean over the batch of x_centered_sq
    dx_centered_sq = np.broadcast_to(dsample_var / N, dout.shape)
    # x_centered_sq = x_centered ** 2
    dx_centered = dx_centered + 2 * x_centered * dx_centered_sq
    # x_centered = x - sample_mean
    dsample_mean = -dx_centered.sum(axis=0)
    # sample_mean = mean over the batch of x
    dx = dx_centered + dsample_mean / N
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Backward pass of batch normalization in simplified closed form.

    dx = inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)), dx_hat = gamma * dout,
    means taken over the batch.

    Inputs:
    - dout: upstream gradient of shape (N, D)
    - cache: from batchnorm_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, D)
    - dgamma: gradient with respect to gamma, shape (D,)
    - dbeta: gradient with respect to beta, shape (D,)
    """
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    if cache["mode"] == "test":
        return dx_hat * inv_std, dgamma, dbeta
    return _standardize_backward(dx_hat, x_hat, inv_std, axis=0), dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalization: each example is normalized over its features.

    Behaves the same at train and test time; ln_param["mode"], if present, is ignored.

    Inputs:
    - x: data of shape (N, D)
    - gamma: scale of shape (D,)
    - beta: shift of shape (D,)
    - ln_param: dict with optional "eps" (default 1e-5)

    Returns a tuple of:
    - out: output of shape (N, D)
    - cache: dict with x_hat, inv_std and gamma
    """
    x = _validate.layernorm_args(x, gamma, beta)
    eps = ln_param.get("eps", 1e-5)
    mean = x.mean(axis=1, keepdims=True)
    x_centered = x - mean
    inv_std = 1 / np.sqrt((x_centered * x_centered).mean(axis=1, keepdims=True) + eps)
    x_hat = x_centered * inv_std
    out = gamma * x_hat + beta
    return out, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma}


def layernorm_backward(dout, cache):
    """Backward pass of layer normalization.

    Inputs:
    - dout: upstream gradient of shape (N, D)
    - cache: from layernorm_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, D)
    - dgamma: gradient with respect to gamma, shape (D,)
    - dbeta: gradient with respect to beta, shape (D,)
    """
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = _standardize_backward(dout * gamma, x_hat, inv_std, axis=1)
    return dx, dgamma, dbeta


# ---------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------


def dropout_forward(x, dropout_param):
    """Inverted dropout: keep each unit with probability p and scale kept units by 1 / p.

    Inputs:
    - x: input of any shape
    - dropout_param: dict with
      - p: probability of KEEPING a unit, in (0, 1]
      - mode: "train" (drop) or "test" (identity)
      - seed: optional; the mask comes from np.random.default_rng(seed), so the same seed
        gives the same mask (CS231n reseeds the global RNG instead; the global RNG is
        never touched here)
      - rng: optional numpy.random.Generator, used when no seed is given (lets a caller
        draw a fresh mask at every call from one seeded stream); without seed or rng a
        fresh unseeded generator is used

    Returns a tuple of:
    - out: output, same shape and dtype as x
    - cache: (dropout_param, mask); mask is None in test mode
    """
    x = _validate.dropout_args(x, dropout_param)
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "test":
        return x.copy(), (dropout_param, None)
    seed = dropout_param.get("seed")
    if seed is not None:
        rng = np.random.default_rng(seed)
    else:
        rng = dropout_param.get("rng") or np.random.default_rng()
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    mask = ((rng.random(x.shape) < p) / p).astype(dtype, copy=False)
    return x * mask, (dropout_param, mask)


def dropout_backward(dout, cache):
    """Backward pass of inverted dropout.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: (dropout_param, mask) from dropout_forward

    Returns:
    - dx: gradient with respect to x, same shape as x
    """
    _, mask = cache
    if mask is None:  # test mode: identity
        return dout.copy()
    return dout * mask


# ---------------------------------------------------------------------------
# Convolution and pooling, naive loops (the fast versions live in fast_layers)
# ---------------------------------------------------------------------------


def _pad_spatial(x, pad):
    """Zero-pad the last two axes of x (N, C, H, W) by `pad` on each side (a new array)."""
    if pad == 0:
        return x.copy()
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def conv_forward_naive(x, w, b, conv_param):
    """Convolutional layer (cross-correlation, as in CS231n), with explicit loops.

    Inputs:
    - x: input of shape (N, C, H, W)
    - w: filters of shape (F, C, HH, WW)
    - b: biases of shape (F,)
    - conv_param: dict with
      - stride: step between neighbouring receptive fields (positive int)
      - pad: zeros added on each side of the height and width (non-negative int)
      The filter must tile the padded input: (H + 2 * pad - HH) must be a multiple of stride,
      and likewise for the width.

    Returns a tuple of:
    - out: output of shape (N, F, H', W') with H' = 1 + (H + 2 * pad - HH) // stride and
      W' = 1 + (W + 2 * pad - WW) // stride
    - cache: (x, w, b, conv_param)
    """
    x, w, b = _validate.conv_args(x, w, b, conv_param, "conv_forward_naive")
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = _pad_spatial(x, pad)
    out = np.empty((N, F, H_out, W_out), dtype=np.result_type(x, w, b))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    """Backward pass of the convolutional layer, with explicit loops.

    Inputs:
    - dout: upstream gradient of shape (N, F, H', W')
    - cache: (x, w, b, conv_param) from conv_forward_naive

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W)
    - dw: gradient with respect to w, shape (F, C, HH, WW)
    - db: gradient with respect to b, shape (F,)
    """
    x, w, b, conv_param = cache
    stride, pad = int(conv_param["stride"]), int(conv_param["pad"])
    N, F, H_out, W_out = dout.shape
    _, _, HH, WW = w.shape
    H, W = x.shape[2:]
    x_pad = _pad_spatial(x, pad)
    dx_pad = np.zeros_like(x_pad, dtype=np.result_type(dout, w))
    dw = np.zeros_like(w, dtype=np.result_type(dout, x))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * stride, i * stride + HH)
                    cols = slice(j * stride, j * stride + WW)
                    dx_pad[n, :, rows, cols] += w[f] * dout[n, f, i, j]
                    dw[f] += x_pad[n, :, rows, cols] * dout[n, f, i, j]
    db = dout.sum(axis=(0, 2, 3))
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """Max pooling, with explicit loops.

    Inputs:
    - x: input of shape (N, C, H, W)
    - pool_param: dict with "pool_height", "pool_width" and "stride"; the windows must
      tile the input: (H - pool_height) must be a multiple of stride, likewise the width

    Returns a tuple of:
    - out: output of shape (N, C, H', W') with H' = 1 + (H - pool_height) // stride and
      W' = 1 + (W - pool_width) // stride
    - cache: (x, pool_param)
    """
    x = _validate.pool_args(x, pool_param, "max_pool_forward_naive")
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H_out = 1 + (H - ph) // stride
    W_out = 1 + (W - pw) // stride
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    out[n, c, i, j] = window.max()
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    """Backward pass of max pooling, with explicit loops.

    Each window's gradient goes to its maximum; on ties, to the first maximum in
    row-major order within the window (np.argmax). Overlapping windows add up.

    Inputs:
    - dout: upstream gradient of shape (N, C, H', W')
    - cache: (x, pool_param) from max_pool_forward_naive

    Returns:
    - dx: gradient with respect to x, shape (N, C, H, W)
    """
    x, pool_param = cache
    ph, pw = int(pool_param["pool_height"]), int(pool_param["pool_width"])
    stride = int(pool_param["stride"])
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x, dtype=np.result_type(dout, x))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    a, bb = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + a, j * stride + bb] += dout[n, c, i, j]
    return dx


# ---------------------------------------------------------------------------
# Spatial normalisation
# ---------------------------------------------------------------------------


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Spatial batch normalization: batch norm per channel over N, H and W.

    Inputs:
    - x: input of shape (N, C, H, W)
    - gamma: scale of shape (C,)
    - beta: shift of shape (C,)
    - bn_param: as for batchnorm_forward (running averages have shape (C,))

    Returns a tuple of:
    - out: output of shape (N, C, H, W)
    - cache: the batchnorm_forward cache of the (N*H*W, C) view
    """
    x = _validate.check_ndim(x, "x", 4, "(N, C, H, W)")
    N, C, H, W = x.shape
    x2 = x.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    out2, cache = batchnorm_forward(x2, gamma, beta, bn_param)
    out = out2.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(out), cache


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of spatial batch normalization.

    Inputs:
    - dout: upstream gradient of shape (N, C, H, W)
    - cache: from spatial_batchnorm_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W)
    - dgamma: gradient with respect to gamma, shape (C,)
    - dbeta: gradient with respect to beta, shape (C,)
    """
    N, C, H, W = dout.shape
    dout2 = dout.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    dx2, dgamma, dbeta = batchnorm_backward_alt(dout2, cache)
    dx = np.ascontiguousarray(dx2.reshape(N, H, W, C).transpose(0, 3, 1, 2))
    return dx, dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Spatial group normalization: each example's channels are split into G groups and
    each group is normalized over its channels, height and width.

    Inputs:
    - x: input of shape (N, C, H, W)
    - gamma: scale of shape (1, C, 1, 1)
    - beta: shift of shape (1, C, 1, 1)
    - G: number of groups, a positive integer dividing C
    - gn_param: dict with optional "eps" (default 1e-5)

    Returns a tuple of:
    - out: output of shape (N, C, H, W)
    - cache: dict with x_hat, inv_std, gamma and G
    """
    x, G = _validate.groupnorm_args(x, gamma, beta, G)
    N = x.shape[0]
    eps = gn_param.get("eps", 1e-5)
    xg = x.reshape(N, G, -1)
    x_centered = xg - xg.mean(axis=2, keepdims=True)
    inv_std = 1 / np.sqrt((x_centered * x_centered).mean(axis=2, keepdims=True) + eps)
    x_hat = (x_centered * inv_std).reshape(x.shape)
    out = gamma * x_hat + beta
    return out, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "G": G}


def spatial_groupnorm_backward(dout, cache):
    """Backward pass of spatial group normalization.

    Inputs:
    - dout: upstream gradient of shape (N, C, H, W)
    - cache: from spatial_groupnorm_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W)
    - dgamma: gradient with respect to gamma, shape (1, C, 1, 1)
    - dbeta: gradient with respect to beta, shape (1, C, 1, 1)
    """
    x_hat, inv_std, gamma, G = cache["x_hat"], cache["inv_std"], cache["gamma"], cache["G"]
    N = dout.shape[0]
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)
    dx_hat = (dout * gamma).reshape(N, G, -1)
    dx = _standardize_backward(dx_hat, x_hat.reshape(N, G, -1), inv_std, axis=2)
    return dx.reshape(dout.shape), dgamma, dbeta
