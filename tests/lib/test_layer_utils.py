"""Sandwich layers: numerical gradients and agreement with their parts composed by hand."""

import numpy as np
import pytest
from test_layers import away_from, check_grads

from cs231n_lib import fast_layers as FL
from cs231n_lib import layer_utils as LU
from cs231n_lib import layers as L


@pytest.mark.parametrize("seed", [0, 1])
def test_affine_relu(seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((3, 2, 4)), rng.standard_normal((8, 5)), rng.standard_normal(5)
    out, _ = LU.affine_relu_forward(x, w, b)
    np.testing.assert_array_equal(out, np.maximum(0, x.reshape(3, 8) @ w + b))
    check_grads(LU.affine_relu_forward, LU.affine_relu_backward, [x, w, b], rng, 1e-8)


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
def test_affine_norm_relu(normalization):
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((5, 6)), rng.standard_normal((6, 4)), rng.standard_normal(4)
    gamma, beta = rng.uniform(0.5, 1.5, 4), rng.standard_normal(4)

    def forward(x, w, b, gamma, beta):
        return LU.affine_norm_relu_forward(x, w, b, gamma, beta, {"mode": "train"}, normalization)

    def backward(dout, cache):
        dx, dw, db, dgamma, dbeta = LU.affine_norm_relu_backward(dout, cache)
        if normalization is None:
            assert dgamma is None and dbeta is None
            dgamma, dbeta = np.zeros(4), np.zeros(4)
        return dx, dw, db, dgamma, dbeta

    out, cache = forward(x, w, b, gamma, beta)
    assert cache[0] == normalization
    a = x @ w + b
    if normalization == "batchnorm":
        a = L.batchnorm_forward(a, gamma, beta, {"mode": "train"})[0]
    elif normalization == "layernorm":
        a = L.layernorm_forward(a, gamma, beta, {})[0]
    np.testing.assert_array_equal(out, np.maximum(a, 0))
    check_grads(forward, backward, [x, w, b, gamma, beta], rng, 1e-7)


def test_affine_norm_relu_rejects_unknown_normalization():
    with pytest.raises(ValueError, match="normalization must be one of"):
        LU.affine_norm_relu_forward(np.ones((2, 2)), np.ones((2, 2)), np.ones(2), np.ones(2), np.ones(2),
                                    {}, "groupnorm")


def test_conv_relu_and_conv_relu_pool():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((3, 3, 3, 3)), rng.standard_normal(3)
    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    conv, _ = L.conv_forward_naive(x, w, b, conv_param)
    out, _ = LU.conv_relu_forward(x, w, b, conv_param)
    np.testing.assert_allclose(out, np.maximum(conv, 0), rtol=1e-12, atol=1e-12)
    out, _ = LU.conv_relu_pool_forward(x, w, b, conv_param, pool_param)
    np.testing.assert_allclose(out, L.max_pool_forward_naive(np.maximum(conv, 0), pool_param)[0],
                               rtol=1e-12, atol=1e-12)
    check_grads(lambda *a: LU.conv_relu_forward(*a, conv_param), LU.conv_relu_backward, [x, w, b], rng, 1e-8)
    # Distinct, well-separated pre-activations keep the pool and ReLU away from their kinks.
    x = away_from(rng.standard_normal((1, 2, 4, 4)), [0.0], 0.05)
    w = np.zeros((2, 2, 1, 1))
    w[0, 0, 0, 0] = w[1, 1, 0, 0] = 1.0
    check_grads(lambda *a: LU.conv_relu_pool_forward(*a, {"stride": 1, "pad": 0}, pool_param),
                LU.conv_relu_pool_backward, [x, w, np.zeros(2)], rng, 1e-7)


def test_conv_bn_relu():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    gamma, beta = rng.uniform(0.5, 1.5, 3), rng.standard_normal(3)
    conv_param = {"stride": 2, "pad": 1}
    bn_param = {"mode": "train"}
    out, cache = LU.conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param)
    conv, _ = FL.conv_forward_fast(x, w, b, conv_param)
    bn, _ = L.spatial_batchnorm_forward(conv, gamma, beta, {"mode": "train"})
    np.testing.assert_array_equal(out, np.maximum(bn, 0))
    assert bn_param["running_mean"].shape == (3,)
    check_grads(lambda *a: LU.conv_bn_relu_forward(*a, conv_param, {"mode": "train"}),
                LU.conv_bn_relu_backward, [x, w, b, gamma, beta], rng, 1e-7)
