"""Fully connected networks: TwoLayerNet and FullyConnectedNet, built from the library's layers.

Model contract (used by the Solver):
- ``model.params``: dict name -> array of learnable parameters
- ``model.loss(X, y=None)``: scores of shape (N, C) when y is None (test mode);
  ``(loss, grads)`` when y is given (train mode), grads with the keys and shapes of params

Both regularise the weights (not biases, gamma or beta) with 0.5 * reg * sum(W ** 2).
Weights are drawn from a numpy Generator seeded by ``seed``; the global generator is
never used.
"""

import numpy as np

from cs231n_lib._validate import positive_int
from cs231n_lib.layer_utils import (
    affine_norm_relu_backward,
    affine_norm_relu_forward,
    affine_relu_backward,
    affine_relu_forward,
)
from cs231n_lib.layers import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    softmax_loss,
)

NORMALIZATIONS = (None, "batchnorm", "layernorm")


def check_model_input(X, feature_shape, who):
    """Return X as an array, raising ValueError unless its shape is (N, *feature_shape).

    Inputs:
    - X: minibatch of inputs
    - feature_shape: shape of one example, e.g. (D,) or (C, H, W); for (D,) any X of shape
      (N, d_1, ..., d_k) with d_1 * ... * d_k = D is accepted (it is flattened)
    - who: the model's name, for the message
    """
    X = np.asarray(X)
    if X.ndim < 2:
        raise ValueError(f"{who}: X must have shape (N, {', '.join(map(str, feature_shape))}), got {X.shape}")
    if len(feature_shape) == 1:
        ok = int(np.prod(X.shape[1:])) == feature_shape[0]
        layout = f"(N, d_1, ..., d_k) with d_1 * ... * d_k = input_dim = {feature_shape[0]}"
    else:
        ok = tuple(X.shape[1:]) == tuple(feature_shape)
        layout = f"(N, {', '.join(map(str, feature_shape))})"
    if not ok:
        raise ValueError(f"{who}: X must have shape {layout}, got {X.shape}")
    return X


def add_l2_regularization(loss, grads, params, reg, weight_names):
    """Add 0.5 * reg * sum(W ** 2) over the named weights to loss, and reg * W to their grads.

    Inputs:
    - loss: data loss (scalar)
    - grads: dict of gradients (updated in place; these arrays belong to the caller)
    - params: dict of parameters
    - reg: regularisation strength
    - weight_names: names of the weights to regularise

    Returns:
    - loss: the regularised loss (float)
    """
    for name in weight_names:
        W = params[name]
        loss += 0.5 * reg * float(np.sum(W * W))
        grads[name] = grads[name] + reg * W
    return float(loss)


def _check_dims(**dims):
    """Raise ValueError unless every keyword value is a positive integer."""
    for name, value in dims.items():
        positive_int(value, name)


def _check_scale(weight_scale, reg):
    for name, value in (("weight_scale", weight_scale), ("reg", reg)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating) or value < 0:
            raise ValueError(f"{name} must be a non-negative number, got {value!r}")


class TwoLayerNet:
    """Two-layer fully connected network: affine - relu - affine - softmax.

    Inputs:
    - input_dim: D, size of one (flattened) input
    - hidden_dim: H, size of the hidden layer
    - num_classes: C
    - weight_scale: standard deviation of the initial weights (biases start at zero)
    - reg: L2 regularisation strength
    - seed: seed of the generator drawing the weights (None: unpredictable)

    params: W1 (D, H), b1 (H,), W2 (H, C), b2 (C,), float64.
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, seed=None):
        _check_dims(input_dim=input_dim, hidden_dim=hidden_dim, num_classes=num_classes)
        _check_scale(weight_scale, reg)
        rng = np.random.default_rng(seed)
        self.input_dim = int(input_dim)
        self.reg = reg
        self.params = {
            "W1": weight_scale * rng.standard_normal((input_dim, hidden_dim)),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * rng.standard_normal((hidden_dim, num_classes)),
            "b2": np.zeros(num_classes),
        }

    def loss(self, X, y=None):
        """Scores, or loss and gradients, for a minibatch.

        Inputs:
        - X: data of shape (N, d_1, ..., d_k), d_1 * ... * d_k = D
        - y: labels of shape (N,), integers in [0, C); None asks for scores only

        Returns:
        - scores of shape (N, C) if y is None, else a tuple of
        - loss: scalar
        - grads: dict with the keys of self.params, each gradient shaped like its parameter
        """
        X = check_model_input(X, (self.input_dim,), "TwoLayerNet.loss")
        p = self.params
        hidden, hidden_cache = affine_relu_forward(X, p["W1"], p["b1"])
        scores, scores_cache = affine_forward(hidden, p["W2"], p["b2"])
        if y is None:
            return scores

        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, scores_cache)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, hidden_cache)
        loss = add_l2_regularization(loss, grads, p, self.reg, ("W1", "W2"))
        return loss, grads


class FullyConnectedNet:
    """Fully connected network with any number of hidden layers.

    {affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax

    Inputs:
    - hidden_dims: list of the hidden layer sizes (may be empty: a softmax classifier)
    - input_dim: D, size of one (flattened) input
    - num_classes: C
    - dropout_keep_ratio: probability of keeping a unit, in (0, 1]; 1 means no dropout
    - normalization: None, "batchnorm" or "layernorm"
    - reg: L2 regularisation strength
    - weight_scale: standard deviation of the initial weights (biases start at zero,
      gamma at one, beta at zero)
    - dtype: dtype of every parameter and computation; float64 for gradient checks
    - seed: seed of the generator drawing the weights. When given, dropout is seeded too
      (CS231n's convention): each dropout layer then draws the SAME mask at every call,
      which numerical gradient checks need. For training with fresh masks at every step,
      leave seed=None or give dropout_param an "rng" instead:
      ``model.dropout_param.pop("seed"); model.dropout_param["rng"] = np.random.default_rng(s)``

    Attributes:
    - params: W1..WL, b1..bL; gamma1..gamma(L-1), beta1..beta(L-1) with normalization
    - dropout_param: {"mode", "p"} (+ "seed" when seeded); layer i uses the seed (seed, i)
    - bn_params: one dict per hidden layer with normalization (running averages for
      batch norm are kept there), else an empty list
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        hidden_dims = list(hidden_dims)
        for i, h in enumerate(hidden_dims):
            positive_int(h, f"hidden_dims[{i}]")
        _check_dims(input_dim=input_dim, num_classes=num_classes)
        _check_scale(weight_scale, reg)
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
        if isinstance(dropout_keep_ratio, bool) or not 0 < dropout_keep_ratio <= 1:
            raise ValueError(f"dropout_keep_ratio must lie in (0, 1], got {dropout_keep_ratio!r}")
        if np.dtype(dtype).kind != "f":
            raise ValueError(f"dtype must be a floating-point dtype, got {dtype!r}")

        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.input_dim = int(input_dim)
        self.dtype = np.dtype(dtype)
        self.params = {}

        rng = np.random.default_rng(seed)
        dims = [self.input_dim, *hidden_dims, num_classes]
        for i in range(1, self.num_layers + 1):
            d_in, d_out = dims[i - 1], dims[i]
            self.params[f"W{i}"] = weight_scale * rng.standard_normal((d_in, d_out))
            self.params[f"b{i}"] = np.zeros(d_out)
            if normalization is not None and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(d_out)
                self.params[f"beta{i}"] = np.zeros(d_out)
        for name, value in self.params.items():
            self.params[name] = value.astype(self.dtype)

        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = []
        if normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        elif normalization == "layernorm":
            self.bn_params = [{} for _ in range(self.num_layers - 1)]

    def _layer_dropout_param(self, i):
        """dropout_param for hidden layer i: a seeded model gives each layer its own seed."""
        param = dict(self.dropout_param)
        if param.get("seed") is not None:
            param["seed"] = (param["seed"], i)
        return param

    def loss(self, X, y=None):
        """Scores, or loss and gradients, for a minibatch.

        Without y the network runs in test mode (batch norm uses its running averages,
        dropout is the identity); with y in train mode.

        Inputs:
        - X: data of shape (N, d_1, ..., d_k), d_1 * ... * d_k = input_dim
        - y: labels of shape (N,), integers in [0, C); None asks for scores only

        Returns:
        - scores of shape (N, C) if y is None, else a tuple of
        - loss: scalar
        - grads: dict with the keys of self.params, each gradient shaped like its parameter
        """
        X = check_model_input(X, (self.input_dim,), "FullyConnectedNet.loss").astype(self.dtype)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = mode

        p = self.params
        caches = []
        out = X
        for i in range(1, self.num_layers):
            norm_param = self.bn_params[i - 1] if self.normalization else None
            out, cache = affine_norm_relu_forward(
                out, p[f"W{i}"], p[f"b{i}"], p.get(f"gamma{i}"), p.get(f"beta{i}"),
                norm_param, self.normalization,
            )
            drop_cache = None
            if self.use_dropout:
                out, drop_cache = dropout_forward(out, self._layer_dropout_param(i))
            caches.append((cache, drop_cache))
        L = self.num_layers
        scores, scores_cache = affine_forward(out, p[f"W{L}"], p[f"b{L}"])
        if mode == "test":
            return scores

        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, scores_cache)
        for i in range(L - 1, 0, -1):
            cache, drop_cache = caches[i - 1]
            if drop_cache is not None:
                dout = dropout_backward(dout, drop_cache)
            dout, grads[f"W{i}"], grads[f"b{i}"], dgamma, dbeta = affine_norm_relu_backward(dout, cache)
            if self.normalization is not None:
                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta
        loss = add_l2_regularization(loss, grads, p, self.reg, [f"W{i}" for i in range(1, L + 1)])
        return loss, grads
