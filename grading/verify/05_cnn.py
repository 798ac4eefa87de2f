"""Verification spec of 05_cnn (see docs/authoring.md): one Check per autograded test cell.

Expected answers come from the library's naive layers (cs231n_lib.layers), its spatial batch
norm and its ThreeLayerConvNet; a conv layer's size from counting its window positions one by
one. Cases: seeded random shapes, one image, one channel, 1x1 filters,
non-square inputs and filters, strides 1-3 with and without padding, overlapping and
non-overlapping pooling windows, uneven pool windows, train and test mode of batch norm with
given running averages, non-default conv and pool settings in the network.
"""

import numpy as np

from autograder.verify.heldout import heldout_check
from autograder.verify.spec import Check, allclose, equal
from cs231n_lib.classifiers.cnn import ThreeLayerConvNet
from cs231n_lib.layer_utils import (
    affine_relu_backward,
    affine_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from cs231n_lib.layers import (
    affine_backward,
    affine_forward,
    conv_backward_naive,
    conv_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
    softmax_loss,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)

LAYERS = "cs231n_lib.layers"
FAST = "cs231n_lib.fast_layers"
UTILS = "cs231n_lib.layer_utils"
# The loops use numpy only (no convolution or pooling of the library, naive or fast, nor the
# fast layers' helpers). Spatial batch norm wraps the library's batch norm; the network uses the
# library's layers, sandwiches and fast layers (the notebook imports them), never a model's loss.
BN_ALLOWED = tuple(f"{LAYERS}.{name}" for name in
                   ("batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt"))
NET_ALLOWED = (
    *(f"{LAYERS}.{name}" for name in ("affine_forward", "affine_backward", "relu_forward",
                                      "relu_backward", "softmax_loss")),
    *(f"{FAST}.{name}" for name in ("conv_forward_fast", "conv_backward_fast",
                                    "max_pool_forward_fast", "max_pool_backward_fast")),
    *(f"{UTILS}.{name}" for name in ("affine_relu_forward", "affine_relu_backward",
                                     "conv_relu_forward", "conv_relu_backward",
                                     "conv_relu_pool_forward", "conv_relu_pool_backward")),
)


def _size_cases(rng):
    """The lecture's layers, strides that do not fit (one axis or both), filters larger than the
    padded input, non-square inputs, then random layers."""
    cases = [
        ((32, 32, 3), 6, 5, 1, 0), ((32, 32, 3), 10, 5, 1, 2), ((56, 56, 64), 32, 1, 1, 0),
        ((7, 7, 1), 4, 3, 1, 0), ((7, 7, 1), 4, 3, 2, 0), ((7, 7, 1), 4, 3, 3, 0), ((7, 7, 1), 4, 3, 3, 1),
        ((32, 32, 3), 8, 5, 2, 2), ((31, 31, 3), 8, 5, 2, 2), ((9, 7, 2), 5, 3, 2, 0), ((8, 7, 2), 5, 3, 2, 0),
        ((7, 8, 2), 5, 3, 2, 0), ((3, 3, 1), 2, 7, 1, 1), ((3, 3, 1), 2, 5, 1, 1), ((1, 1, 1), 1, 1, 1, 0),
        ((14, 20, 16), 7, 5, 3, 1), ((15, 21, 16), 7, 5, 3, 1),
    ]
    for k in range(12):
        K, F, S, P = (int(rng.integers(1, 65)), int(rng.integers(1, 8)), int(rng.integers(1, 5)),
                      int(rng.integers(0, 4)))
        if k % 2 == 0:    # sizes that fit: (n - 1) * S + F - 2P for n positions
            W1, H1 = (max(1, (int(rng.integers(1, 12)) - 1) * S + F - 2 * P) for _ in range(2))
        else:
            W1, H1 = int(rng.integers(1, 41)), int(rng.integers(1, 41))
        cases.append(((W1, H1, int(rng.integers(1, 65))), K, F, S, P))
    return [{"input_shape": shape, "num_filters": K, "filter_size": F, "stride": S, "pad": P}
            for shape, K, F, S, P in cases]


def _positions(size, F, S, P):
    """How many windows of width F, S apart, fit in size + 2P; None if they do not tile it."""
    starts = list(range(0, size + 2 * P - F + 1, S))
    return len(starts) if starts and starts[-1] + F == size + 2 * P else None


def _size(case):
    W1, H1, D1 = case["input_shape"]
    K, F, S, P = case["num_filters"], case["filter_size"], case["stride"], case["pad"]
    W2, H2 = _positions(W1, F, S, P), _positions(H1, F, S, P)
    w, b = np.zeros((K, D1, F, F)), np.zeros(K)          # the layer's weights and biases
    return ((W2, H2, K) if W2 is not None and H2 is not None else None), w.size + b.size


def _conv_cases(rng):
    cases = []
    for (N, C, H, W), (F, HH, WW), stride, pad in [
        ((1, 1, 1, 1), (1, 1, 1), 1, 0),
        ((1, 1, 4, 4), (1, 3, 3), 1, 0),
        ((2, 3, 7, 7), (2, 3, 3), 2, 0),
        ((2, 3, 7, 7), (3, 3, 3), 3, 1),
        ((3, 2, 6, 8), (4, 3, 5), 1, 2),
        ((2, 4, 5, 7), (2, 5, 3), 2, 2),
        ((4, 3, 8, 8), (5, 1, 1), 1, 0),
        ((2, 3, 9, 9), (3, 3, 3), 3, 0),
    ]:
        H_out = 1 + (H + 2 * pad - HH) // stride
        W_out = 1 + (W + 2 * pad - WW) // stride
        cases.append({"x": rng.standard_normal((N, C, H, W)), "w": rng.standard_normal((F, C, HH, WW)),
                      "b": rng.standard_normal(F), "conv_param": {"stride": stride, "pad": pad},
                      "dout": rng.standard_normal((N, F, H_out, W_out))})
    return cases


def _conv_forward(case):
    return conv_forward_naive(case["x"], case["w"], case["b"], case["conv_param"])[0]


def _conv_backward(case):
    return conv_backward_naive(case["dout"], (case["x"], case["w"], case["b"], case["conv_param"]))


def _pool_cases(rng):
    cases = []
    for shape, (ph, pw, stride) in [((1, 1, 2, 2), (2, 2, 2)), ((2, 3, 8, 8), (2, 2, 2)),
                                    ((2, 2, 7, 7), (3, 3, 2)), ((3, 4, 8, 6), (2, 3, 1)),
                                    ((2, 2, 9, 9), (3, 3, 3)), ((1, 5, 4, 6), (4, 2, 2))]:
        N, C, H, W = shape
        H_out, W_out = 1 + (H - ph) // stride, 1 + (W - pw) // stride
        cases.append({"x": rng.standard_normal(shape),
                      "pool_param": {"pool_height": ph, "pool_width": pw, "stride": stride},
                      "dout": rng.standard_normal((N, C, H_out, W_out))})
    return cases


def _pool_forward(case):
    return max_pool_forward_naive(case["x"], case["pool_param"])[0]


def _pool_backward(case):
    return max_pool_backward_naive(case["dout"], (case["x"], case["pool_param"]))


def _bn_cases(rng):
    cases = []
    for shape, mode in [((2, 1, 3, 3), "train"), ((5, 4, 2, 7), "train"), ((1, 2, 4, 4), "train"),
                        ((8, 3, 5, 5), "train"), ((3, 3, 4, 2), "test")]:
        C = shape[1]
        bn_param = {"mode": mode, "eps": 1e-5, "momentum": 0.8,
                    "running_mean": rng.standard_normal(C), "running_var": 0.5 + rng.random(C)}
        cases.append({"x": 3 * rng.standard_normal(shape) + 2, "gamma": rng.standard_normal(C),
                      "beta": rng.standard_normal(C), "bn_param": bn_param,
                      "dout": rng.standard_normal(shape)})
    return cases


def _fresh(bn_param):
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in bn_param.items()}


def _bn(case):
    bn_param = _fresh(case["bn_param"])
    out, cache = spatial_batchnorm_forward(case["x"], case["gamma"], case["beta"], bn_param)
    result = (out, bn_param["running_mean"], bn_param["running_var"])
    if case["bn_param"]["mode"] == "train":
        result += spatial_batchnorm_backward(case["dout"], cache)
    return result


# Runs forward on a copy of bn_param, then (train mode) backward on the forward's own cache.
BN_CALL = (
    "(lambda p, r, dout: (r[0], p['running_mean'], p['running_var'])"
    " + (tuple(spatial_batchnorm_backward(dout, r[1])) if p['mode'] == 'train' else ()))"
    "(p := dict(bn_param), spatial_batchnorm_forward(x, gamma, beta, p), dout)"
)


def _net_cases(rng):
    cases = []
    for (N, C, H, W), (F, HH), hidden, classes, reg, conv_param, pool_param, with_y in [
        ((1, 1, 4, 4), (2, 1), 3, 2, 0.0, None, None, True),
        ((4, 3, 10, 10), (5, 5), 7, 10, 0.1, None, None, True),
        ((3, 3, 8, 8), (4, 3), 6, 5, 0.0, None, None, False),
        ((2, 2, 8, 6), (3, 3), 4, 3, 0.5, {"stride": 1, "pad": 0}, None, True),
        ((3, 3, 9, 9), (4, 3), 5, 4, 0.2, {"stride": 1, "pad": 1},
         {"pool_height": 3, "pool_width": 3, "stride": 3}, True),
    ]:
        cp = conv_param or {"stride": 1, "pad": (HH - 1) // 2}
        pp = pool_param or {"pool_height": 2, "pool_width": 2, "stride": 2}
        H1 = 1 + (H + 2 * cp["pad"] - HH) // cp["stride"]
        W1 = 1 + (W + 2 * cp["pad"] - HH) // cp["stride"]
        H2 = 1 + (H1 - pp["pool_height"]) // pp["stride"]
        W2 = 1 + (W1 - pp["pool_width"]) // pp["stride"]
        D = F * H2 * W2
        params = {"W1": 0.5 * rng.standard_normal((F, C, HH, HH)), "b1": 0.1 * rng.standard_normal(F),
                  "W2": rng.standard_normal((D, hidden)) / np.sqrt(D), "b2": 0.1 * rng.standard_normal(hidden),
                  "W3": rng.standard_normal((hidden, classes)) / np.sqrt(hidden),
                  "b3": 0.1 * rng.standard_normal(classes)}
        cases.append({"params": params, "X": rng.standard_normal((N, C, H, W)),
                      "y": rng.integers(0, classes, size=N) if with_y else None, "reg": reg,
                      "conv_param": conv_param, "pool_param": pool_param})
    return cases


def _net(case):
    """The reference loss from the library's layers (the model itself for default settings)."""
    p = case["params"]
    F, C, HH, _ = p["W1"].shape
    if case["conv_param"] is None and case["pool_param"] is None:
        model = ThreeLayerConvNet(input_dim=case["X"].shape[1:], num_filters=F, filter_size=HH,
                                  hidden_dim=p["W2"].shape[1], num_classes=p["W3"].shape[1],
                                  reg=case["reg"], dtype=np.float64, seed=0)
        model.params = {k: v.copy() for k, v in p.items()}
        if case["y"] is None:
            return model.loss(case["X"])
        loss, grads = model.loss(case["X"], case["y"])
        return (float(loss), grads)
    cp = case["conv_param"] or {"stride": 1, "pad": (HH - 1) // 2}
    pp = case["pool_param"] or {"pool_height": 2, "pool_width": 2, "stride": 2}
    pooled, c1 = conv_relu_pool_forward(case["X"], p["W1"], p["b1"], cp, pp)
    hidden, c2 = affine_relu_forward(pooled, p["W2"], p["b2"])
    scores, c3 = affine_forward(hidden, p["W3"], p["b3"])
    if case["y"] is None:
        return scores
    loss, dscores = softmax_loss(scores, case["y"])
    grads = {}
    dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, c3)
    dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, c2)
    _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, c1)
    reg = case["reg"]
    for k in ("W1", "W2", "W3"):
        loss += 0.5 * reg * float(np.sum(p[k] ** 2))
        grads[k] = grads[k] + reg * p[k]
    return (float(loss), grads)


CHECKS = {
    "test_conv_layer_size": Check(
        call="conv_layer_size(input_shape, num_filters, filter_size, stride, pad)",
        cases=_size_cases,
        expected=_size,
        compare=equal(),
    ),
    "test_conv_forward": Check(
        call="conv_forward_naive(x, w, b, conv_param)[0]",
        cases=_conv_cases,
        expected=_conv_forward,
        compare=allclose(rtol=1e-7, atol=1e-9),
        timeout=60,
    ),
    "test_conv_backward": Check(
        call="conv_backward_naive(dout, (x, w, b, conv_param))",
        cases=_conv_cases,
        expected=_conv_backward,
        compare=allclose(rtol=1e-7, atol=1e-9),
        timeout=60,
    ),
    "test_pool_forward": Check(
        call="max_pool_forward_naive(x, pool_param)[0]",
        cases=_pool_cases,
        expected=_pool_forward,
        compare=allclose(rtol=1e-12, atol=0.0),
    ),
    "test_pool_backward": Check(
        call="max_pool_backward_naive(dout, (x, pool_param))",
        cases=_pool_cases,
        expected=_pool_backward,
        compare=allclose(rtol=1e-12, atol=0.0),
    ),
    "test_spatial_bn": Check(
        call=BN_CALL,
        cases=_bn_cases,
        expected=_bn,
        compare=allclose(rtol=1e-6, atol=1e-9),
        allowed=BN_ALLOWED,
    ),
    "test_three_layer_convnet": Check(
        call="three_layer_convnet_loss(params, X, y, reg, conv_param, pool_param)",
        cases=_net_cases,
        expected=_net,
        compare=allclose(rtol=1e-7, atol=1e-10),
        allowed=NET_ALLOWED,
        timeout=60,
    ),
}


# ------------------------------------------------------------------ open-ended task (held-out data)

CHECKS["test_best_model"] = heldout_check(
    targets={"cifar10": 0.33, "embedded": 0.48},
    load={"channels_first": True, "dtype": np.float32},
)
