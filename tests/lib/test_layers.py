"""Tests of cs231n_lib.layers: numerical gradients, hand-computed lecture cases, bad input."""

import math

import numpy as np
import pytest
from scipy.signal import correlate2d
from scipy.special import logsumexp

from cs231n_lib import layers as L


def numerical_gradient(f, x, dout, h=1e-5):
    """Centred-difference gradient of sum(f(x) * dout) with respect to x (x is restored)."""
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = np.array(f(x), dtype=np.float64, copy=True)
        x[i] = old - h
        minus = np.array(f(x), dtype=np.float64, copy=True)
        x[i] = old
        grad[i] = np.sum((plus - minus) * dout) / (2 * h)
    return grad


def rel_error(a, b):
    """Largest elementwise relative error between a and b."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def check_grads(forward, backward, inputs, rng, tol):
    """Compare every analytic gradient with the numerical one.

    forward(*inputs) -> (out, cache); backward(dout, cache) -> one gradient or a tuple of
    gradients, one per input (in order).
    """
    out, cache = forward(*inputs)
    dout = rng.standard_normal(out.shape)
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    assert len(grads) == len(inputs)
    for k, (inp, grad) in enumerate(zip(inputs, grads)):
        def f(v, k=k):
            args = list(inputs)
            args[k] = v
            return forward(*args)[0]
        num = numerical_gradient(f, inp, dout)
        assert np.shape(grad) == inp.shape
        if np.max(np.abs(num)) < 1e-8:
            # A gradient that is zero in exact arithmetic (e.g. a bias before batch norm):
            # the relative error of rounding noise is meaningless, compare absolutely.
            assert np.max(np.abs(grad)) < 1e-8, f"input {k}: expected a zero gradient"
            continue
        err = rel_error(grad, num)
        assert err < tol, f"input {k}: rel_error {err:.3g} >= {tol}"


def away_from(x, points, margin=1e-3):
    """Move entries of x that lie within `margin` of any of `points` by 10 * margin."""
    x = x.copy()
    for p in points:
        near = np.abs(x - p) < margin
        x[near] = p + 10 * margin
    return x


SEEDS = [0, 1, 2]


# ---------------------------------------------------------------------------
# Lecture-note cases
# ---------------------------------------------------------------------------


def test_graph_example_f_equals_x_plus_y_times_z():
    # f = (x + y) z at x = -2, y = 5, z = -4: q = 3, f = -12, df/dx = df/dy = z = -4, df/dz = q = 3.
    q, add_cache = L.add_forward(-2.0, 5.0)
    f, mul_cache = L.multiply_forward(q, -4.0)
    assert f == -12.0
    dq, dz = L.multiply_backward(1.0, mul_cache)
    dx, dy = L.add_backward(dq, add_cache)
    assert (dx, dy, dz) == (-4.0, -4.0, 3.0)


def test_gates_broadcast_gradients_back_to_input_shapes():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal(3)
    check_grads(L.add_forward, L.add_backward, [x, y], rng, 1e-9)
    check_grads(L.multiply_forward, L.multiply_backward, [x, y], rng, 1e-9)


def test_sigmoid_local_gradient_is_one_minus_s_times_s():
    x = np.linspace(-6, 6, 25)
    s, cache = L.sigmoid_forward(x)
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-x)), rtol=1e-15)
    np.testing.assert_allclose(L.sigmoid_backward(np.ones_like(x), cache), (1 - s) * s, rtol=1e-15)


def test_sigmoid_neuron_example_from_the_notes():
    # w = [2, -3, -3] (last is the bias), x = [-1, -2]: dot = 1, s = 0.73,
    # gradients on w: [-0.20, -0.39, 0.20], on x: [0.39, -0.59].
    x, w, b = np.array([[-1.0, -2.0]]), np.array([[2.0], [-3.0]]), np.array([-3.0])
    z, affine_cache = L.affine_forward(x, w, b)
    s, sig_cache = L.sigmoid_forward(z)
    assert z[0, 0] == 1.0 and round(float(s[0, 0]), 2) == 0.73
    ddot = L.sigmoid_backward(np.ones_like(s), sig_cache)
    dx, dw, db = L.affine_backward(ddot, affine_cache)
    np.testing.assert_allclose(np.round(dw[:, 0], 2), [-0.20, -0.39])
    np.testing.assert_allclose(np.round(db, 2), [0.20])
    np.testing.assert_allclose(np.round(dx[0], 2), [0.39, -0.59])


SVM_SCORES = np.array([[3.2, 5.1, -1.7],   # a cat image: scores for cat, car, frog
                       [1.3, 4.9, 2.0],    # a car image
                       [2.2, 2.5, -3.1]])  # a frog image
SVM_LABELS = np.array([0, 1, 2])


def test_svm_loss_three_example_case_from_the_notes():
    per_example = [L.svm_loss(SVM_SCORES[i:i + 1], SVM_LABELS[i:i + 1])[0] for i in range(3)]
    np.testing.assert_allclose(per_example, [2.9, 0.0, 12.9], atol=1e-12)
    loss, _ = L.svm_loss(SVM_SCORES, SVM_LABELS)
    assert round(loss, 2) == 5.27
    np.testing.assert_allclose(loss, (2.9 + 0 + 12.9) / 3, rtol=1e-14)


def test_svm_loss_gradient_hand_case():
    _, dx = L.svm_loss(SVM_SCORES, SVM_LABELS)
    # Violating margins: (cat image, car), (frog image, cat), (frog image, car).
    expected = np.array([[-1, 1, 0], [0, 0, 0], [1, 1, -2]]) / 3
    np.testing.assert_allclose(dx, expected, rtol=1e-15)


# ---------------------------------------------------------------------------
# Affine and activations
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_affine_forward_matches_loop_and_gradients(seed):
    rng = np.random.default_rng(seed)
    N, dims, M = rng.integers(1, 5), tuple(rng.integers(1, 4, size=rng.integers(1, 4))), rng.integers(1, 6)
    D = int(np.prod(dims))
    x, w, b = rng.standard_normal((N, *dims)), rng.standard_normal((D, M)), rng.standard_normal(M)
    out, _ = L.affine_forward(x, w, b)
    expected = np.array([[sum(x[n].ravel()[d] * w[d, m] for d in range(D)) + b[m] for m in range(M)]
                         for n in range(N)])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    check_grads(L.affine_forward, L.affine_backward, [x, w, b], rng, 1e-8)


@pytest.mark.parametrize("seed", SEEDS)
def test_relu_family_gradients(seed):
    rng = np.random.default_rng(seed)
    x = away_from(rng.standard_normal((4, 5)), [0.0])
    check_grads(L.relu_forward, L.relu_backward, [x], rng, 1e-9)
    check_grads(lambda v: L.leaky_relu_forward(v, 0.1), L.leaky_relu_backward, [x], rng, 1e-9)
    check_grads(lambda v: L.elu_forward(v, 0.7), L.elu_backward, [x], rng, 1e-8)
    check_grads(L.softsign_forward, L.softsign_backward, [x], rng, 1e-8)
    check_grads(L.tanh_forward, L.tanh_backward, [x], rng, 1e-8)
    check_grads(L.sigmoid_forward, L.sigmoid_backward, [x], rng, 1e-8)
    xh = away_from(2 * x, [-1.0, 1.0])
    check_grads(L.hard_tanh_forward, L.hard_tanh_backward, [xh], rng, 1e-9)


@pytest.mark.parametrize("alpha_shape", [(), (5,), (1, 5)])
def test_prelu_gradients_for_scalar_and_per_feature_alpha(alpha_shape):
    rng = np.random.default_rng(4)
    x = away_from(rng.standard_normal((6, 5)), [0.0])
    alpha = rng.uniform(0.05, 0.5, size=alpha_shape)
    check_grads(L.prelu_forward, L.prelu_backward, [x, alpha], rng, 1e-8)


def test_prelu_per_channel_alpha_on_images():
    rng = np.random.default_rng(5)
    x = away_from(rng.standard_normal((2, 3, 4, 4)), [0.0])
    alpha = rng.uniform(0.05, 0.5, size=(1, 3, 1, 1))
    check_grads(L.prelu_forward, L.prelu_backward, [x, alpha], rng, 1e-8)
    with pytest.raises(ValueError, match="alpha"):
        L.prelu_forward(x, np.ones((1, 4, 1, 1)))


def test_activation_forward_values():
    x = np.array([-3.0, -0.5, 0.0, 0.25, 2.0])
    np.testing.assert_array_equal(L.relu_forward(x)[0], [0, 0, 0, 0.25, 2])
    np.testing.assert_allclose(L.leaky_relu_forward(x)[0], [-0.03, -0.005, 0, 0.25, 2], rtol=1e-15)
    np.testing.assert_allclose(L.elu_forward(x, 2.0)[0],
                               [2 * math.expm1(-3), 2 * math.expm1(-0.5), 0, 0.25, 2], rtol=1e-15)
    np.testing.assert_allclose(L.tanh_forward(x)[0], [math.tanh(v) for v in x], rtol=1e-15)
    np.testing.assert_array_equal(L.hard_tanh_forward(x)[0], [-1, -0.5, 0, 0.25, 1])
    np.testing.assert_allclose(L.softsign_forward(x)[0], [-0.75, -1 / 3, 0, 0.2, 2 / 3], rtol=1e-15)
    np.testing.assert_allclose(L.prelu_forward(x, 0.2)[0], [-0.6, -0.1, 0, 0.25, 2], rtol=1e-15)


def test_sigmoid_is_stable_for_large_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s, _ = L.sigmoid_forward(np.array([-1000.0, 1000.0]))
    np.testing.assert_array_equal(s, [0.0, 1.0])


@pytest.mark.parametrize("seed", SEEDS)
def test_maxout_gradients_and_single_piece_is_affine(seed):
    rng = np.random.default_rng(seed)
    N, K, M = 4, 3, 5
    x, w, b = rng.standard_normal((N, 2, 3)), rng.standard_normal((K, 6, M)), rng.standard_normal((K, M))
    out, cache = L.maxout_forward(x, w, b)
    pieces = np.stack([x.reshape(N, -1) @ w[k] + b[k] for k in range(K)])
    np.testing.assert_allclose(out, pieces.max(axis=0), rtol=1e-14)
    # Pieces are far apart for generic random data; make sure no two are within h.
    sorted_pieces = np.sort(pieces, axis=0)
    assert np.min(sorted_pieces[-1] - sorted_pieces[-2]) > 1e-4
    check_grads(L.maxout_forward, L.maxout_backward, [x, w, b], rng, 1e-8)
    out1, _ = L.maxout_forward(x, w[:1], b[:1])
    np.testing.assert_allclose(out1, L.affine_forward(x, w[0], b[0])[0], rtol=1e-14)


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_loss_value_and_gradient(seed):
    rng = np.random.default_rng(seed)
    N, C = rng.integers(1, 8), rng.integers(2, 7)
    x, y = rng.standard_normal((N, C)), rng.integers(0, C, size=N)
    loss, dx = L.softmax_loss(x, y)
    expected = np.mean(logsumexp(x, axis=1) - x[np.arange(N), y])
    np.testing.assert_allclose(loss, expected, rtol=1e-13)
    num = numerical_gradient(lambda v: L.softmax_loss(v, y)[0], x, 1.0)
    assert rel_error(dx, num) < 1e-7


def test_softmax_loss_uniform_scores_and_large_scores():
    C = 10
    loss, _ = L.softmax_loss(np.zeros((4, C)), np.arange(4))
    np.testing.assert_allclose(loss, math.log(C), rtol=1e-15)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dx = L.softmax_loss(np.array([[1000.0, 0.0, -1000.0]]), np.array([1]))
    np.testing.assert_allclose(loss, 1000.0, rtol=1e-15)
    np.testing.assert_allclose(dx, [[1.0, -1.0, 0.0]], atol=1e-300)


@pytest.mark.parametrize("seed", SEEDS)
def test_svm_loss_gradient(seed):
    rng = np.random.default_rng(seed)
    N, C = rng.integers(1, 8), rng.integers(2, 7)
    x, y = rng.standard_normal((N, C)), rng.integers(0, C, size=N)
    margins = x - x[np.arange(N), y][:, None] + 1
    margins[np.arange(N), y] = 5.0
    if np.min(np.abs(margins)) < 1e-3:
        pytest.skip("random scores too close to a hinge kink")
    loss, dx = L.svm_loss(x, y)
    expected = sum(max(0.0, x[i, j] - x[i, y[i]] + 1) for i in range(N) for j in range(C) if j != y[i]) / N
    np.testing.assert_allclose(loss, expected, rtol=1e-13)
    num = numerical_gradient(lambda v: L.svm_loss(v, y)[0], x, 1.0)
    assert rel_error(dx, num) < 1e-8


@pytest.mark.parametrize("loss_fn", [L.softmax_loss, L.svm_loss])
def test_losses_reject_bad_labels(loss_fn):
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"\[0, C\) = \[0, 4\)"):
        loss_fn(x, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"\[0, C\)"):
        loss_fn(x, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match=r"y must have shape \(N,\) = \(3,\)"):
        loss_fn(x, np.array([0, 1]))
    with pytest.raises(ValueError, match="integer"):
        loss_fn(x, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"x must have shape \(N, C\)"):
        loss_fn(np.zeros(3), np.array([0, 1, 2]))


# ---------------------------------------------------------------------------
# Batch norm and layer norm
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("backward", [L.batchnorm_backward, L.batchnorm_backward_alt])
def test_batchnorm_gradients(seed, backward):
    rng = np.random.default_rng(seed)
    N, D = rng.integers(2, 7), rng.integers(1, 5)
    x = 3 * rng.standard_normal((N, D)) + 2
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)

    def forward(x, gamma, beta):
        return L.batchnorm_forward(x, gamma, beta, {"mode": "train"})

    check_grads(forward, backward, [x, gamma, beta], rng, 1e-7)


def test_batchnorm_backward_alt_equals_graph_backward():
    rng = np.random.default_rng(7)
    x, gamma, beta = rng.standard_normal((50, 20)), rng.standard_normal(20), rng.standard_normal(20)
    _, cache = L.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dout = rng.standard_normal((50, 20))
    for a, b in zip(L.batchnorm_backward(dout, cache), L.batchnorm_backward_alt(dout, cache)):
        assert rel_error(a, b) < 1e-10


def test_batchnorm_train_normalizes_and_updates_running_stats_like_a_hand_loop():
    rng = np.random.default_rng(8)
    D, momentum, eps = 4, 0.8, 1e-5
    gamma, beta = np.array([1.0, 2.0, 0.5, 3.0]), np.array([0.0, -1.0, 4.0, 0.5])
    bn_param = {"mode": "train", "momentum": momentum}
    running_mean, running_var = np.zeros(D), np.zeros(D)
    for _ in range(5):
        x = rng.normal(loc=[1, -2, 0, 5], scale=[1, 3, 0.5, 2], size=(30, D))
        out, _ = L.batchnorm_forward(x, gamma, beta, bn_param)
        for d in range(D):
            col = x[:, d]
            mean = sum(col) / len(col)
            var = sum((v - mean) ** 2 for v in col) / len(col)
            np.testing.assert_allclose(out[:, d], gamma[d] * (col - mean) / math.sqrt(var + eps) + beta[d],
                                       rtol=1e-12, atol=1e-12)
            running_mean[d] = momentum * running_mean[d] + (1 - momentum) * mean
            running_var[d] = momentum * running_var[d] + (1 - momentum) * var
        np.testing.assert_allclose(bn_param["running_mean"], running_mean, rtol=1e-13)
        np.testing.assert_allclose(bn_param["running_var"], running_var, rtol=1e-13)
    # Test mode uses the running statistics and leaves them alone.
    x = rng.standard_normal((6, D))
    bn_param["mode"] = "test"
    out, cache = L.batchnorm_forward(x, gamma, beta, bn_param)
    assert cache["mode"] == "test"
    np.testing.assert_allclose(out, gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, rtol=1e-13)
    np.testing.assert_allclose(bn_param["running_mean"], running_mean, rtol=1e-13)
    # In test mode the layer is elementwise affine in x.
    check_grads(lambda v: L.batchnorm_forward(v, gamma, beta, bn_param),
                lambda d, c: L.batchnorm_backward(d, c)[0], [x], rng, 1e-8)


def test_batchnorm_defaults_and_dtype():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((10, 3)).astype(np.float32)
    bn_param = {"mode": "train"}
    out, _ = L.batchnorm_forward(x, np.ones(3, np.float32), np.zeros(3, np.float32), bn_param)
    assert out.dtype == np.float32
    assert bn_param["running_mean"].dtype == np.float32
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn_param["running_var"], 0.1 * x.var(axis=0), rtol=1e-5)


def test_batchnorm_bad_input():
    x = np.zeros((4, 3))
    g, b = np.ones(3), np.zeros(3)
    with pytest.raises(ValueError, match=r"bn_param\['mode'\] must be 'train' or 'test', got 'eval'"):
        L.batchnorm_forward(x, g, b, {"mode": "eval"})
    with pytest.raises(ValueError, match=r"gamma must have shape \(D,\) = \(3,\)"):
        L.batchnorm_forward(x, np.ones(4), b, {"mode": "train"})
    with pytest.raises(ValueError, match=r"running_mean'\] must have shape \(D,\)"):
        L.batchnorm_forward(x, g, b, {"mode": "test", "running_mean": np.zeros(2)})
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\)"):
        L.batchnorm_forward(np.zeros((2, 3, 4)), g, b, {"mode": "train"})


@pytest.mark.parametrize("seed", SEEDS)
def test_layernorm_forward_and_gradients(seed):
    rng = np.random.default_rng(seed)
    N, D = rng.integers(1, 5), rng.integers(2, 7)
    x = 2 * rng.standard_normal((N, D)) - 1
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    out, _ = L.layernorm_forward(x, gamma, beta, {})
    expected = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5) * gamma + beta
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    check_grads(lambda *a: L.layernorm_forward(*a, {"mode": "train"}), L.layernorm_backward,
                [x, gamma, beta], rng, 1e-7)


# ---------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------


def test_dropout_keeps_the_expected_mean_and_rate():
    x = np.full((500, 400), 2.0)
    for p in (0.25, 0.6, 1.0):
        out, (_, mask) = L.dropout_forward(x, {"p": p, "mode": "train", "seed": 11})
        kept = np.mean(out != 0)
        assert abs(kept - p) < 4 * math.sqrt(p * (1 - p) / x.size) + 1e-12
        assert abs(out.mean() - 2.0) < 8 * 2 * math.sqrt((1 - p) / p / x.size) + 1e-12
        np.testing.assert_array_equal(np.unique(out), [0.0, 2.0 / p] if p < 1 else [2.0])


def test_dropout_is_identity_at_test_and_backward_routes_through_mask():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((20, 30))
    out, cache = L.dropout_forward(x, {"p": 0.3, "mode": "test"})
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(L.dropout_backward(x, cache), x)
    param = {"p": 0.3, "mode": "train", "seed": 5}
    check_grads(lambda v: L.dropout_forward(v, param), L.dropout_backward, [x], rng, 1e-9)


def test_dropout_seed_gives_same_mask_and_leaves_global_rng_alone():
    x = np.ones((10, 10))
    state = np.random.get_state()[1].copy()
    a, _ = L.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 3})
    b, _ = L.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 3})
    c, _ = L.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 4})
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    expected = (np.random.default_rng(3).random(x.shape) < 0.5) / 0.5
    np.testing.assert_array_equal(a, expected)
    gen = np.random.default_rng(0)
    d, _ = L.dropout_forward(x, {"p": 0.5, "mode": "train", "rng": gen})
    e, _ = L.dropout_forward(x, {"p": 0.5, "mode": "train", "rng": gen})
    assert not np.array_equal(d, e)


def test_dropout_keeps_float32():
    x = np.ones((4, 4), dtype=np.float32)
    out, cache = L.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 0})
    assert out.dtype == np.float32
    assert L.dropout_backward(x, cache).dtype == np.float32


@pytest.mark.parametrize("p", [0, -0.1, 1.5, None, "0.5"])
def test_dropout_rejects_p_outside_0_1(p):
    with pytest.raises(ValueError, match=r"dropout_param\['p'\].*\(0, 1\]"):
        L.dropout_forward(np.ones(3), {"p": p, "mode": "train"})


def test_dropout_rejects_unknown_mode():
    with pytest.raises(ValueError, match=r"dropout_param\['mode'\]"):
        L.dropout_forward(np.ones(3), {"p": 0.5, "mode": "eval"})


# ---------------------------------------------------------------------------
# Naive convolution and pooling
# ---------------------------------------------------------------------------


def conv_reference(x, w, b, stride, pad):
    """Convolution from scipy's 2-D cross-correlation, subsampled by the stride."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    N, F = x.shape[0], w.shape[0]
    out = []
    for n in range(N):
        maps = []
        for f in range(F):
            full = sum(correlate2d(xp[n, c], w[f, c], mode="valid") for c in range(x.shape[1]))
            maps.append(full[::stride, ::stride] + b[f])
        out.append(maps)
    return np.array(out)


CONV_CASES = [  # (N, C, H, W, F, HH, WW, stride, pad)
    (2, 3, 5, 5, 2, 3, 3, 1, 1),
    (1, 2, 7, 5, 3, 3, 1, 2, 0),
    (2, 1, 6, 8, 2, 2, 4, 2, 1),
    (1, 2, 4, 4, 1, 4, 4, 1, 0),
    (1, 1, 5, 7, 2, 1, 3, 3, 1),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_naive_forward_matches_scipy_and_gradients(case):
    N, C, H, W, F, HH, WW, stride, pad = case
    rng = np.random.default_rng(sum(case))
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, HH, WW)), rng.standard_normal(F)
    conv_param = {"stride": stride, "pad": pad}
    out, _ = L.conv_forward_naive(x, w, b, conv_param)
    np.testing.assert_allclose(out, conv_reference(x, w, b, stride, pad), rtol=1e-12, atol=1e-12)
    check_grads(lambda *a: L.conv_forward_naive(*a, conv_param), L.conv_backward_naive,
                [x, w, b], rng, 1e-8)


def test_conv_naive_rejects_filters_that_do_not_tile():
    x, w, b = np.zeros((1, 1, 7, 7)), np.zeros((1, 1, 3, 3)), np.zeros(1)
    with pytest.raises(ValueError, match=r"\(N - F \+ 2P\)/S \+ 1 is not an integer: \(7 - 3 \+ 2\*0\)/3 \+ 1"):
        L.conv_forward_naive(x, w, b, {"stride": 3, "pad": 0})
    with pytest.raises(ValueError, match="larger than the padded input"):
        L.conv_forward_naive(x, np.zeros((1, 1, 9, 9)), b, {"stride": 1, "pad": 0})


def test_conv_naive_rejects_bad_shapes_and_params():
    x, w, b = np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3)), np.zeros(2)
    with pytest.raises(ValueError, match=r"w must have shape \(F, C, HH, WW\) with C = 3"):
        L.conv_forward_naive(x, np.zeros((2, 2, 3, 3)), b, {"stride": 1, "pad": 1})
    with pytest.raises(ValueError, match=r"b must have shape \(F,\) = \(2,\)"):
        L.conv_forward_naive(x, w, np.zeros(3), {"stride": 1, "pad": 1})
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        L.conv_forward_naive(np.zeros((3, 5, 5)), w, b, {"stride": 1, "pad": 1})
    with pytest.raises(ValueError, match=r"conv_param\['stride'\] must be a positive integer"):
        L.conv_forward_naive(x, w, b, {"stride": 0, "pad": 1})
    with pytest.raises(ValueError, match=r"conv_param\['pad'\] must be a non-negative integer"):
        L.conv_forward_naive(x, w, b, {"stride": 1, "pad": 0.5})
    with pytest.raises(ValueError, match="missing 'pad'"):
        L.conv_forward_naive(x, w, b, {"stride": 1})


def distinct_values(rng, shape):
    """Random array whose entries are all distinct and at least 1e-3 apart."""
    return rng.permutation(np.prod(shape)).reshape(shape) * 1e-2 + rng.uniform(-1, 1)


POOL_CASES = [  # (N, C, H, W, pool_height, pool_width, stride)
    (2, 3, 4, 4, 2, 2, 2),
    (1, 2, 5, 7, 3, 3, 2),
    (2, 1, 6, 4, 2, 1, 1),
    (1, 2, 3, 3, 3, 3, 1),
    (1, 1, 7, 4, 1, 2, 2),
]


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_naive_forward_and_gradients(case):
    N, C, H, W, ph, pw, stride = case
    rng = np.random.default_rng(sum(case))
    x = distinct_values(rng, (N, C, H, W))
    pool_param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    out, _ = L.max_pool_forward_naive(x, pool_param)
    windows = np.lib.stride_tricks.sliding_window_view(x, (ph, pw), axis=(2, 3))[:, :, ::stride, ::stride]
    np.testing.assert_array_equal(out, windows.max(axis=(-2, -1)))
    check_grads(lambda v: L.max_pool_forward_naive(v, pool_param), L.max_pool_backward_naive,
                [x], rng, 1e-9)


def test_max_pool_naive_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.array([[[[1.0, 3.0, 3.0, 0.0],
                    [3.0, 2.0, 0.0, 0.0],
                    [5.0, 5.0, 7.0, 7.0],
                    [5.0, 5.0, 7.0, 7.0]]]])
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = L.max_pool_forward_naive(x, pool_param)
    dx = L.max_pool_backward_naive(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    expected = np.array([[[[0, 1, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]]], dtype=float)
    np.testing.assert_array_equal(dx, expected)


def test_max_pool_naive_rejects_windows_that_do_not_fit():
    x = np.zeros((1, 1, 5, 5))
    with pytest.raises(ValueError, match=r"\(N - F \+ 2P\)/S \+ 1 is not an integer"):
        L.max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    with pytest.raises(ValueError, match="larger than the padded input"):
        L.max_pool_forward_naive(x, {"pool_height": 6, "pool_width": 1, "stride": 1})
    with pytest.raises(ValueError, match=r"pool_param\['stride'\] must be a positive integer"):
        L.max_pool_forward_naive(x, {"pool_height": 1, "pool_width": 1, "stride": -1})


# ---------------------------------------------------------------------------
# Spatial normalisation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_spatial_batchnorm_matches_per_channel_batchnorm_and_gradients(seed):
    rng = np.random.default_rng(seed)
    N, C, H, W = 2, 3, rng.integers(1, 4), rng.integers(2, 4)
    x = 2 * rng.standard_normal((N, C, H, W)) + 1
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    bn_param = {"mode": "train"}
    out, _ = L.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    expected = (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5) * gamma[:, None, None] + beta[:, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * mean, rtol=1e-13)
    check_grads(lambda *a: L.spatial_batchnorm_forward(*a, {"mode": "train"}),
                L.spatial_batchnorm_backward, [x, gamma, beta], rng, 1e-7)


@pytest.mark.parametrize("seed", SEEDS)
def test_spatial_groupnorm_forward_and_gradients(seed):
    rng = np.random.default_rng(seed)
    N, G, H, W = 2, 2, rng.integers(1, 4), rng.integers(2, 4)
    C = G * int(rng.integers(1, 4))
    x = 2 * rng.standard_normal((N, C, H, W)) + 1
    gamma, beta = rng.standard_normal((1, C, 1, 1)), rng.standard_normal((1, C, 1, 1))
    out, _ = L.spatial_groupnorm_forward(x, gamma, beta, G, {})
    expected = np.empty_like(x)
    cpg = C // G
    for n in range(N):
        for g in range(G):
            block = x[n, g * cpg:(g + 1) * cpg]
            expected[n, g * cpg:(g + 1) * cpg] = (block - block.mean()) / np.sqrt(block.var() + 1e-5)
    np.testing.assert_allclose(out, expected * gamma + beta, rtol=1e-12, atol=1e-12)
    check_grads(lambda *a: L.spatial_groupnorm_forward(*a, G, {"eps": 1e-5}),
                L.spatial_groupnorm_backward, [x, gamma, beta], rng, 1e-7)


def test_spatial_groupnorm_bad_input():
    x = np.zeros((2, 6, 3, 3))
    g, b = np.ones((1, 6, 1, 1)), np.zeros((1, 6, 1, 1))
    with pytest.raises(ValueError, match="G = 4 groups must divide C = 6"):
        L.spatial_groupnorm_forward(x, g, b, 4, {})
    with pytest.raises(ValueError, match=r"gamma must have shape \(1, C, 1, 1\) = \(1, 6, 1, 1\)"):
        L.spatial_groupnorm_forward(x, np.ones(6), b, 3, {})
    with pytest.raises(ValueError, match="G must be a positive integer"):
        L.spatial_groupnorm_forward(x, g, b, 0, {})


# ---------------------------------------------------------------------------
# Shapes, dtypes and inputs left untouched
# ---------------------------------------------------------------------------


def test_affine_and_maxout_reject_mismatched_dimensions():
    x = np.zeros((4, 2, 3))
    with pytest.raises(ValueError, match=r"w must have shape \(D, M\) with D = 6"):
        L.affine_forward(x, np.zeros((5, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"b must have shape \(M,\) = \(2,\)"):
        L.affine_forward(x, np.zeros((6, 2)), np.zeros(3))
    with pytest.raises(ValueError, match=r"w must have shape \(K, D, M\) with D = 6"):
        L.maxout_forward(x, np.zeros((2, 5, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"b must have shape \(K, M\) = \(2, 3\)"):
        L.maxout_forward(x, np.zeros((2, 6, 3)), np.zeros(3))


def _all_layers(rng):
    """(name, forward thunk, backward) for every layer, on fresh random inputs."""
    x2 = rng.standard_normal((4, 6))
    x4 = rng.standard_normal((2, 4, 6, 6))
    w2, b2 = rng.standard_normal((6, 3)), rng.standard_normal(3)
    g, b = rng.standard_normal(6), rng.standard_normal(6)
    g4, b4 = rng.standard_normal((1, 4, 1, 1)), rng.standard_normal((1, 4, 1, 1))
    wc, bc = rng.standard_normal((3, 4, 3, 3)), rng.standard_normal(3)
    y = np.array([0, 2, 1, 2])
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    return [
        ("affine", (x2, w2, b2), lambda a: L.affine_forward(*a), L.affine_backward),
        ("relu", (x2,), lambda a: L.relu_forward(*a), L.relu_backward),
        ("leaky_relu", (x2,), lambda a: L.leaky_relu_forward(*a), L.leaky_relu_backward),
        ("prelu", (x2, g), lambda a: L.prelu_forward(*a), L.prelu_backward),
        ("elu", (x2,), lambda a: L.elu_forward(*a), L.elu_backward),
        ("sigmoid", (x2,), lambda a: L.sigmoid_forward(*a), L.sigmoid_backward),
        ("tanh", (x2,), lambda a: L.tanh_forward(*a), L.tanh_backward),
        ("hard_tanh", (x2,), lambda a: L.hard_tanh_forward(*a), L.hard_tanh_backward),
        ("softsign", (x2,), lambda a: L.softsign_forward(*a), L.softsign_backward),
        ("maxout", (x2, rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 3))),
         lambda a: L.maxout_forward(*a), L.maxout_backward),
        ("batchnorm", (x2, g, b), lambda a: L.batchnorm_forward(*a, {"mode": "train"}), L.batchnorm_backward),
        ("batchnorm_alt", (x2, g, b), lambda a: L.batchnorm_forward(*a, {"mode": "train"}),
         L.batchnorm_backward_alt),
        ("layernorm", (x2, g, b), lambda a: L.layernorm_forward(*a, {}), L.layernorm_backward),
        ("dropout", (x2,), lambda a: L.dropout_forward(*a, {"p": 0.5, "mode": "train", "seed": 0}),
         L.dropout_backward),
        ("conv", (x4, wc, bc), lambda a: L.conv_forward_naive(*a, {"stride": 1, "pad": 1}),
         L.conv_backward_naive),
        ("pool", (x4,), lambda a: L.max_pool_forward_naive(*a, pool), L.max_pool_backward_naive),
        ("spatial_bn", (x4, g[:4], b[:4]), lambda a: L.spatial_batchnorm_forward(*a, {"mode": "train"}),
         L.spatial_batchnorm_backward),
        ("groupnorm", (x4, g4, b4), lambda a: L.spatial_groupnorm_forward(*a, 2, {}),
         L.spatial_groupnorm_backward),
        ("softmax_loss", (x2[:, :3], y), lambda a: L.softmax_loss(*a), None),
        ("svm_loss", (x2[:, :3], y), lambda a: L.svm_loss(*a), None),
    ]


def test_no_layer_modifies_its_inputs_or_upstream_gradient():
    rng = np.random.default_rng(13)
    for name, args, forward, backward in _all_layers(rng):
        saved = [a.copy() for a in args]
        out, cache = forward(args)
        if backward is not None:
            dout = rng.standard_normal(np.shape(out))
            dout_saved = dout.copy()
            backward(dout, cache)
            np.testing.assert_array_equal(dout, dout_saved, err_msg=name)
        for a, s in zip(args, saved):
            np.testing.assert_array_equal(a, s, err_msg=name)


def test_layers_keep_float32():
    rng = np.random.default_rng(14)
    for name, args, forward, backward in _all_layers(rng):
        args32 = tuple(a.astype(np.float32) if a.dtype.kind == "f" else a for a in args)
        out, cache = forward(args32)
        if backward is None:
            assert cache.dtype == np.float32, name  # loss functions: (loss, dx)
            continue
        assert out.dtype == np.float32, name
        grads = backward(rng.standard_normal(out.shape).astype(np.float32), cache)
        for grad in grads if isinstance(grads, tuple) else (grads,):
            assert grad.dtype == np.float32, name
