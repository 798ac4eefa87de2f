"""A three-layer convolutional network built from the library's fast layers."""

import numpy as np

from cs231n_lib.classifiers.fc_net import (
    _check_dims,
    _check_scale,
    add_l2_regularization,
    check_model_input,
)
from cs231n_lib.layer_utils import (
    affine_relu_backward,
    affine_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from cs231n_lib.layers import affine_backward, affine_forward, softmax_loss


class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax.

    The convolution has stride 1 and pad (filter_size - 1) // 2, so it keeps the spatial
    size; the pool halves it. Inputs are minibatches of shape (N, C, H, W).

    Inputs:
    - input_dim: (C, H, W) of one input; H and W must be even (for the 2x2 pool)
    - num_filters: F, number of conv filters
    - filter_size: odd width and height of the filters (odd keeps the size with pad (f-1)//2)
    - hidden_dim: size of the hidden affine layer
    - num_classes: number of scores to produce
    - weight_scale: standard deviation of the initial weights (biases start at zero)
    - reg: L2 regularisation strength, 0.5 * reg * sum(W ** 2) over W1, W2, W3
    - dtype: dtype of every parameter and computation; float64 for gradient checks
    - seed: seed of the generator drawing the weights (None: unpredictable)

    params: W1 (F, C, filter_size, filter_size), b1 (F,), W2 (F * H/2 * W/2, hidden_dim),
    b2 (hidden_dim,), W3 (hidden_dim, num_classes), b3 (num_classes,).
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32, seed=None):
        if len(tuple(input_dim)) != 3:
            raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}")
        C, H, W = input_dim
        _check_dims(C=C, H=H, W=W, num_filters=num_filters, filter_size=filter_size,
                    hidden_dim=hidden_dim, num_classes=num_classes)
        _check_scale(weight_scale, reg)
        if H % 2 or W % 2:
            raise ValueError(f"input_dim (C, H, W) needs even H and W for the 2x2 pool, got {input_dim!r}")
        if filter_size % 2 == 0:
            raise ValueError(f"filter_size must be odd so that the conv keeps H and W, got {filter_size}")
        if np.dtype(dtype).kind != "f":
            raise ValueError(f"dtype must be a floating-point dtype, got {dtype!r}")

        self.input_dim = (int(C), int(H), int(W))
        self.reg = reg
        self.dtype = np.dtype(dtype)
        self.conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
        self.pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        rng = np.random.default_rng(seed)
        pooled = num_filters * (H // 2) * (W // 2)
        params = {
            "W1": weight_scale * rng.standard_normal((num_filters, C, filter_size, filter_size)),
            "b1": np.zeros(num_filters),
            "W2": weight_scale * rng.standard_normal((pooled, hidden_dim)),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * rng.standard_normal((hidden_dim, num_classes)),
            "b3": np.zeros(num_classes),
        }
        self.params = {name: value.astype(self.dtype) for name, value in params.items()}

    def loss(self, X, y=None):
        """Scores, or loss and gradients, for a minibatch.

        Inputs:
        - X: images of shape (N, C, H, W)
        - y: labels of shape (N,), integers in [0, num_classes); None asks for scores only

        Returns:
        - scores of shape (N, num_classes) if y is None, else a tuple of
        - loss: scalar
        - grads: dict with the keys of self.params, each gradient shaped like its parameter
        """
        X = check_model_input(X, self.input_dim, "ThreeLayerConvNet.loss").astype(self.dtype)
        p = self.params
        pooled, conv_cache = conv_relu_pool_forward(X, p["W1"], p["b1"], self.conv_param,
                                                    self.pool_param)
        hidden, hidden_cache = affine_relu_forward(pooled, p["W2"], p["b2"])
        scores, scores_cache = affine_forward(hidden, p["W3"], p["b3"])
        if y is None:
            return scores

        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, hidden_cache)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, conv_cache)
        loss = add_l2_regularization(loss, grads, p, self.reg, ("W1", "W2", "W3"))
        return loss, grads
