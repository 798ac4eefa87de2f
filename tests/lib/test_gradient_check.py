"""Tests of cs231n_lib.gradient_check against hand-derived gradients, and on real mistakes.

The losses and layers below are written here in plain numpy with their derivatives worked
out by hand, so the checker is compared with an independent answer; each "mistake" test
hands it a backward pass with one classic error and asserts that the check fails.
"""

import re
import warnings

import numpy as np
import pytest

from cs231n_lib.gradient_check import (
    GradCheckReport,
    GradientCheckError,
    PrecisionWarning,
    check_gradients,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    rel_error,
)

SEEDS = [0, 1, 2]


# ---------------------------------------------------------------------------
# Small models with hand-derived gradients
# ---------------------------------------------------------------------------


def softmax_affine(X, y, W, b, reg):
    """Softmax loss of scores X @ W + b plus reg * sum(W^2), and its exact gradients.

    Returns: loss, dW (D, C), db (C,)
    """
    N = X.shape[0]
    scores = X @ W + b
    scores = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(N), y])) + reg * np.sum(W * W)
    dscores = p.copy()
    dscores[np.arange(N), y] -= 1
    dscores /= N
    return loss, X.T @ dscores + 2 * reg * W, dscores.sum(axis=0)


def squared_error(X, Y, W):
    """Mean squared error sum((X @ W - Y)^2) / N and its gradient 2 / N * X^T (X W - Y)."""
    N = X.shape[0]
    r = X @ W - Y
    return np.sum(r * r) / N, 2.0 / N * X.T @ r


def two_layer(X, y, params, reg):
    """affine - relu - affine - softmax with L2 on W1, W2; returns loss and grads."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    N = X.shape[0]
    z = X @ W1 + b1
    a = np.maximum(z, 0)
    scores = a @ W2 + b2
    scores = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(N), y])) + reg * (np.sum(W1**2) + np.sum(W2**2))
    ds = p.copy()
    ds[np.arange(N), y] -= 1
    ds /= N
    da = ds @ W2.T
    dz = da * (z > 0)
    grads = {"W1": X.T @ dz + 2 * reg * W1, "b1": dz.sum(0),
             "W2": a.T @ ds + 2 * reg * W2, "b2": ds.sum(0)}
    return loss, grads


def tanh_affine_forward(x, w, b, scale=1.0):
    """out = scale * tanh(x @ w + b), with the CS231n (out, cache) contract."""
    t = np.tanh(x @ w + b)
    return scale * t, (x, w, t, scale)


def tanh_affine_backward(dout, cache):
    """Gradients of tanh_affine_forward: dt = scale * dout * (1 - t^2)."""
    x, w, t, scale = cache
    dz = scale * dout * (1 - t * t)
    return dz @ w.T, x.T @ dz, dz.sum(0)


def _softmax_case(seed, D=6, C=4, N=7):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    y = rng.integers(C, size=N)
    W = 0.5 * rng.standard_normal((D, C))
    b = 0.1 * rng.standard_normal(C)
    return X, y, W, b


# ---------------------------------------------------------------------------
# rel_error
# ---------------------------------------------------------------------------


def test_rel_error_hand_values():
    assert rel_error(1.0, 1.0) == 0.0
    assert rel_error(1.0, 3.0) == pytest.approx(0.5, rel=1e-15)
    # elementwise max, not a ratio of norms
    assert rel_error(np.array([1.0, 10.0]), np.array([1.0, 12.0])) == pytest.approx(2 / 22, rel=1e-15)
    # the denominator is floored at 1e-8
    assert rel_error(0.0, 1e-12) == pytest.approx(1e-12 / 1e-8, rel=1e-12)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.zeros(0), np.zeros(0)) == 0.0
    assert np.isnan(rel_error(np.array([1.0, np.nan]), np.array([1.0, 2.0])))


def test_rel_error_matches_cs231n_formula():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    y[0, 0] = x[0, 0] = 0.0
    ref = np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))
    assert rel_error(x, y) == ref


def test_rel_error_refuses_broadcasting():
    with pytest.raises(ValueError, match=r"same shape.*\(3, 1\).*\(3,\)"):
        rel_error(np.zeros((3, 1)), np.zeros(3))


# ---------------------------------------------------------------------------
# CS231n helpers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_eval_numerical_gradient_cube_and_sin(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 4))
    before = x.copy()
    grad = eval_numerical_gradient(lambda v: np.sum(v**3), x, verbose=False)
    # tolerance: rounding noise ~1e-16 * |f| / h on gradients as small as ~1e-3
    assert rel_error(grad, 3 * before**2) < 1e-7
    grad = eval_numerical_gradient(lambda v: np.sum(np.sin(v)), x, verbose=False)
    assert rel_error(grad, np.cos(before)) < 1e-7
    assert grad.dtype == np.float64 and grad.shape == x.shape
    assert np.array_equal(x, before)  # every entry restored exactly


def test_eval_numerical_gradient_prints_index_and_value(capsys):
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    grad = eval_numerical_gradient(lambda v: np.sum(v**3), x)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    for line, ix in zip(lines, np.ndindex(x.shape)):
        head, value = line.rsplit(" ", 1)
        assert head == str(ix)
        assert float(value) == grad[ix]
    eval_numerical_gradient(lambda v: np.sum(v**3), x, verbose=False)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("seed", SEEDS)
def test_eval_numerical_gradient_array(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 5))
    w = rng.standard_normal((5, 3))
    df = rng.standard_normal((4, 3))
    grad = eval_numerical_gradient_array(lambda v: v @ w, x, df)
    assert rel_error(grad, df @ w.T) < 1e-8
    # elementwise square; (out, cache) tuples are accepted, out is used
    df2 = rng.standard_normal(x.shape)
    grad = eval_numerical_gradient_array(lambda v: (v**2, None), x, df2)
    assert rel_error(grad, 2 * x * df2) < 1e-8
    with pytest.raises(ValueError, match=r"df has shape \(2, 2\).*\(4, 3\)"):
        eval_numerical_gradient_array(lambda v: v @ w, x, np.zeros((2, 2)))


def test_grad_check_sparse_prints_cs231n_lines_and_uses_its_own_rng(capsys):
    X, y, W, b = _softmax_case(0)
    loss, dW, _ = softmax_affine(X, y, W, b, 0.1)
    state = np.random.get_state()[1].copy()
    errors = grad_check_sparse(lambda w: softmax_affine(X, y, w, b, 0.1)[0], W, dW, 7, seed=3)
    assert np.array_equal(np.random.get_state()[1], state)  # global RNG untouched
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 7 and errors.shape == (7,)
    pattern = re.compile(r"numerical: (-?\d+\.\d{6}) analytic: (-?\d+\.\d{6}), relative error: (\S+e[-+]\d+)$")
    for line, err in zip(lines, errors):
        m = pattern.match(line)
        assert m, line
        assert abs(float(m.group(1)) - float(m.group(2))) <= 2e-6
        assert float(m.group(3)) == pytest.approx(err, rel=1e-5)
    assert errors.max() < 1e-7
    # same seed, same entries and values
    again = grad_check_sparse(lambda w: softmax_affine(X, y, w, b, 0.1)[0], W, dW, 7, seed=3)
    assert np.array_equal(errors, again)
    wrong = grad_check_sparse(lambda w: softmax_affine(X, y, w, b, 0.1)[0], W, -dW, 5, seed=3)
    assert wrong.min() > 0.99


def test_cs231n_helpers_reject_bad_x():
    with pytest.raises(ValueError, match="floating-point"):
        eval_numerical_gradient(lambda v: v.sum(), np.arange(3), verbose=False)
    with pytest.raises(ValueError, match="numpy array"):
        eval_numerical_gradient(lambda v: sum(v), [1.0, 2.0], verbose=False)
    with pytest.raises(ValueError, match="shape of x"):
        grad_check_sparse(lambda v: v.sum(), np.zeros(3), np.zeros(4))


# ---------------------------------------------------------------------------
# check_gradients passes on right gradients
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_check_gradients_passes_softmax_and_two_layer(seed):
    X, y, W, b = _softmax_case(seed)
    params = {"W": W, "b": b}
    _, dW, db = softmax_affine(X, y, W, b, 0.05)
    report = check_gradients(lambda: softmax_affine(X, y, W, b, 0.05)[0], params,
                             {"W": dW, "b": db})
    assert isinstance(report, GradCheckReport)
    assert report.passed, str(report)
    assert report.max_rel_error < 1e-7
    assert report["W"].num_checked == W.size and report["b"].num_checked == b.size
    assert report.raise_if_failed() is report

    rng = np.random.default_rng(seed + 10)
    net = {"W1": 0.3 * rng.standard_normal((6, 5)), "b1": 0.1 * rng.standard_normal(5),
           "W2": 0.3 * rng.standard_normal((5, 3)), "b2": 0.1 * rng.standard_normal(3)}
    y3 = rng.integers(3, size=X.shape[0])
    _, grads = two_layer(X, y3, net, 0.1)
    report = check_gradients(lambda: two_layer(X, y3, net, 0.1)[0], net, grads)
    assert report.passed, str(report)
    assert list(report.params) == ["W1", "b1", "W2", "b2"]


def test_check_gradients_single_array_uses_f_of_x():
    rng = np.random.default_rng(4)
    x = rng.standard_normal(6)
    report = check_gradients(lambda v: np.sum(np.sin(v) * v), x, np.cos(x) * x + np.sin(x))
    assert report.passed and list(report.params) == ["x"]


def test_num_checks_samples_distinct_entries_reproducibly():
    X, y, W, b = _softmax_case(1, D=8, C=5)
    _, dW, db = softmax_affine(X, y, W, b, 0.0)
    f = lambda: softmax_affine(X, y, W, b, 0.0)[0]  # noqa: E731
    a = check_gradients(f, {"W": W, "b": b}, {"W": dW, "b": db}, num_checks=6, seed=5)
    assert a["W"].num_checked == 6 and a["b"].num_checked == 5  # b has only 5 entries: all
    assert len({tuple(i) for i in a["W"].indices}) == 6
    b_ = check_gradients(f, {"W": W, "b": b}, {"W": dW, "b": db}, num_checks=6, seed=5)
    c = check_gradients(f, {"W": W, "b": b}, {"W": dW, "b": db}, num_checks=6, seed=6)
    assert np.array_equal(a["W"].indices, b_["W"].indices)
    assert not np.array_equal(a["W"].indices, c["W"].indices)
    assert a.passed
    # the numerical values are those of a full check at the same entries
    full = check_gradients(f, {"W": W}, {"W": dW})
    grid = np.zeros(W.shape)
    grid[tuple(full["W"].indices.T)] = full["W"].numeric
    assert np.array_equal(a["W"].numeric, grid[tuple(a["W"].indices.T)])


# ---------------------------------------------------------------------------
# check_gradients catches real mistakes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_catches_wrong_sign(seed):
    X, y, W, b = _softmax_case(seed)
    _, dW, db = softmax_affine(X, y, W, b, 0.05)
    report = check_gradients(lambda: softmax_affine(X, y, W, b, 0.05)[0], {"W": W, "b": b},
                             {"W": dW, "b": -db})
    assert not report.passed
    assert report.failed == ["b"]
    assert report["b"].max_rel_error > 0.99
    assert "wrong sign" in report["b"].hint
    with pytest.raises(GradientCheckError) as info:
        report.raise_if_failed()
    assert isinstance(info.value, AssertionError)
    assert "wrong sign" in str(info.value)


@pytest.mark.parametrize("seed", SEEDS)
def test_catches_missing_factor_two(seed):
    rng = np.random.default_rng(seed)
    X, W, Y = rng.standard_normal((9, 4)), rng.standard_normal((4, 3)), rng.standard_normal((9, 3))
    loss, dW = squared_error(X, Y, W)
    f = lambda: squared_error(X, Y, W)[0]  # noqa: E731
    assert check_gradients(f, {"W": W}, {"W": dW}).passed
    report = check_gradients(f, {"W": W}, {"W": dW / 2})  # forgot the 2 of d(r^2)/dr
    assert not report.passed
    assert report.max_rel_error == pytest.approx(1 / 3, rel=1e-6)
    assert "0.5 x numeric" in report["W"].hint


@pytest.mark.parametrize("seed", SEEDS)
def test_catches_transposed_square_weight_gradient(seed):
    # D == C: the transposed gradient has the right shape, only the values can tell
    X, y, W, b = _softmax_case(seed, D=5, C=5)
    _, dW, db = softmax_affine(X, y, W, b, 0.05)
    assert dW.T.shape == W.shape
    report = check_gradients(lambda: softmax_affine(X, y, W, b, 0.05)[0], {"W": W, "b": b},
                             {"W": dW.T, "b": db})
    assert not report.passed and report.failed == ["W"]
    assert report["W"].max_rel_error > 1e-2
    assert "transposed" in report["W"].hint
    # also with a random subset of entries
    report = check_gradients(lambda: softmax_affine(X, y, W, b, 0.05)[0], {"W": W},
                             {"W": dW.T}, num_checks=8, seed=seed)
    assert not report.passed and "transposed" in report["W"].hint


def test_transposed_non_square_weight_gradient_is_a_shape_error():
    X, y, W, b = _softmax_case(0, D=6, C=4)
    _, dW, db = softmax_affine(X, y, W, b, 0.0)
    with pytest.raises(ValueError, match=r"'W' has shape \(4, 6\), expected .*\(6, 4\)"):
        check_gradients(lambda: softmax_affine(X, y, W, b, 0.0)[0], {"W": W}, {"W": dW.T})


@pytest.mark.parametrize("seed", SEEDS)
def test_catches_gradient_without_regularization(seed):
    X, y, W, b = _softmax_case(seed)
    reg = 0.3
    _, dW, db = softmax_affine(X, y, W, b, reg)
    data_only = dW - 2 * reg * W
    report = check_gradients(lambda: softmax_affine(X, y, W, b, reg)[0], {"W": W, "b": b},
                             {"W": data_only, "b": db})
    assert not report.passed and report.failed == ["W"]
    assert "regularization" in report["W"].hint
    assert "0.6 x the parameter" in report["W"].hint
    # with a tiny reg the mistake is small but still far above the threshold
    _, dW, _ = softmax_affine(X, y, W, b, 1e-3)
    report = check_gradients(lambda: softmax_affine(X, y, W, b, 1e-3)[0], {"W": W},
                             {"W": dW - 2e-3 * W})
    assert not report.passed and report.max_rel_error > 1e-5


def test_catches_a_single_wrong_entry_among_many():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 4))
    grad = 3 * x**2
    grad[2, 1] += 1e-4
    report = check_gradients(lambda v: np.sum(v**3), x, grad)
    assert not report.passed
    assert report["x"].worst(1)[0][0] == (2, 1)
    assert report["x"].hint is None  # no pattern: no made-up hint


def test_nan_loss_fails():
    x = np.array([0.5, 1e-6, 2.0])
    with np.errstate(invalid="ignore"):
        report = check_gradients(lambda v: np.sum(np.log(v)), x, 1 / x, h=2e-6)
    assert not report.passed  # log of a negative number near 1e-6: nan
    assert np.isnan(report.max_rel_error)
    assert "not finite" in report["x"].hint


def test_atol_for_gradients_that_are_zero_in_exact_arithmetic():
    rng = np.random.default_rng(3)
    x = 10 * rng.standard_normal((5, 3))
    b = rng.standard_normal(3)

    def centred():  # invariant to b: subtracting the batch mean removes it
        z = x + b
        return np.sum((z - z.mean(axis=0)) ** 3)

    zero = np.zeros(3)
    assert check_gradients(centred, {"b": b}, {"b": zero}, atol=1e-6).passed
    assert not check_gradients(centred, {"b": b}, {"b": zero + 1e-3}, atol=1e-6).passed


# ---------------------------------------------------------------------------
# Restoring, warnings, bad input
# ---------------------------------------------------------------------------


def test_restores_every_entry_when_f_raises():
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((3, 3)), "b": rng.standard_normal(3)}
    before = {k: v.copy() for k, v in params.items()}
    calls = []

    def f():
        calls.append(1)
        if len(calls) == 8:  # the minus side of the 4th entry of W
            raise RuntimeError("boom")
        return float(np.sum(params["W"] ** 2) + np.sum(params["b"]))

    with pytest.raises(RuntimeError, match="boom"):
        check_gradients(f, params, {"W": 2 * params["W"], "b": np.ones(3)})
    for k in params:
        assert np.array_equal(params[k], before[k]), k
    # and on the plus side, in the CS231n helpers too
    x = before["W"].copy()
    n = []

    def g(v):
        n.append(1)
        if len(n) == 3:
            raise KeyError("plus side")
        return np.sum(v)

    with pytest.raises(KeyError):
        eval_numerical_gradient(g, x, verbose=False)
    assert np.array_equal(x, before["W"])


def test_restores_bit_for_bit_after_a_check():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((4, 3)) * 1e3 + 0.1  # old + h - h would not round-trip
    before = W.copy()
    check_gradients(lambda: np.sum(W**2), {"W": W}, {"W": 2 * W})
    assert np.array_equal(W, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_warns_on_low_precision(dtype):
    x = np.linspace(-1, 1, 4).astype(dtype)
    with pytest.warns(PrecisionWarning, match=str(np.dtype(dtype))):
        check_gradients(lambda: float(np.sum(x.astype(np.float64) ** 2)), {"x": x}, {"x": 2 * x})
    with pytest.warns(PrecisionWarning):
        eval_numerical_gradient(lambda v: np.sum(v), x, verbose=False)


def test_no_warning_in_float64():
    x = np.linspace(-1, 1, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_gradients(lambda: np.sum(x**2), {"x": x}, {"x": 2 * x}).passed


def test_bad_arguments_are_named():
    x = np.ones(3)
    with pytest.raises(ValueError, match=r"returned a tuple.*loss\(X, y\)\[0\]"):
        check_gradients(lambda: (np.sum(x), {}), {"x": x}, {"x": x})
    with pytest.raises(ValueError, match="must return a scalar"):
        check_gradients(lambda: x * 2, {"x": x}, {"x": x})
    with pytest.raises(ValueError, match=r"no gradient for 'b'"):
        check_gradients(lambda: np.sum(x), {"x": x, "b": np.ones(2)}, {"x": x})
    with pytest.raises(ValueError, match="floating-point"):
        check_gradients(lambda: 0.0, {"n": np.arange(3)}, {"n": np.zeros(3)})
    with pytest.raises(ValueError, match="num_checks"):
        check_gradients(lambda: np.sum(x), {"x": x}, {"x": x}, num_checks=0)
    with pytest.raises(ValueError, match="h must be positive"):
        check_gradients(lambda: np.sum(x), {"x": x}, {"x": x}, h=0.0)


# ---------------------------------------------------------------------------
# check_gradients of a layer (dout given)
# ---------------------------------------------------------------------------


def _layer_case(seed, D=4, M=4):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((5, D)), 0.5 * rng.standard_normal((D, M)), rng.standard_normal(M)
    out, cache = tanh_affine_forward(x, w, b, scale=1.5)
    dout = rng.standard_normal(out.shape)
    return x, w, b, dout, tanh_affine_backward(dout, cache)


@pytest.mark.parametrize("seed", SEEDS)
def test_layer_gradient_passes_and_never_modifies_inputs(seed):
    x, w, b, dout, (dx, dw, db) = _layer_case(seed)
    inputs = {"x": x, "w": w, "b": b, "scale": 1.5}
    copies = {k: np.copy(v) for k, v in inputs.items()}
    seen = []

    def forward(**kw):
        seen.append(kw["x"] is x)
        return tanh_affine_forward(**kw)

    report = check_gradients(forward, inputs, {"x": dx, "w": dw, "b": db}, dout=dout)
    assert report.passed, str(report)
    assert report.max_rel_error < 1e-7
    assert not any(seen)  # forward only ever saw copies
    for k in inputs:
        assert np.array_equal(inputs[k], copies[k])
    # only the inputs named in analytic are checked
    report = check_gradients(tanh_affine_forward, inputs, {"w": dw}, dout=dout)
    assert list(report.params) == ["w"]


def test_layer_gradient_catches_mistakes():
    x, w, b, dout, (dx, dw, db) = _layer_case(0)
    inputs = {"x": x, "w": w, "b": b, "scale": 1.5}
    f = tanh_affine_forward
    assert "transposed" in check_gradients(f, inputs, {"w": dw.T}, dout=dout)["w"].hint
    assert "wrong sign" in check_gradients(f, inputs, {"x": -dx}, dout=dout)["x"].hint
    report = check_gradients(f, inputs, {"b": db / 1.5}, dout=dout)  # forgot the scale
    assert not report.passed and "constant factor" in report["b"].hint
    report = check_gradients(f, inputs, {"b": np.zeros_like(db)}, dout=dout)
    assert not report.passed and "all zeros" in report["b"].hint


def test_layer_gradient_bad_arguments():
    x, w, b, dout, (dx, dw, db) = _layer_case(0)
    inputs = {"x": x, "w": w, "b": b}
    with pytest.raises(ValueError, match=r"dout has shape \(2, 2\)"):
        check_gradients(tanh_affine_forward, inputs, {"x": dx}, dout=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="not in inputs"):
        check_gradients(tanh_affine_forward, inputs, {"gamma": dx}, dout=dout)


# ---------------------------------------------------------------------------
# The report's text
# ---------------------------------------------------------------------------


def test_report_text_lists_parameters_and_worst_entries():
    X, y, W, b = _softmax_case(2, D=5, C=5)
    _, dW, db = softmax_affine(X, y, W, b, 0.0)
    good = check_gradients(lambda: softmax_affine(X, y, W, b, 0.0)[0], {"W": W, "b": b},
                           {"W": dW, "b": db})
    text = str(good)
    assert text.startswith("gradient check passed")
    assert re.search(r"^W\s+\(5, 5\)\s+25/25\s+\S+e-\d\d\s+\S+\s+0\s+ok$", text, re.M)
    bad_dW = dW.copy()
    bad_dW[3, 1] = 10.0
    bad = check_gradients(lambda: softmax_affine(X, y, W, b, 0.0)[0], {"W": W, "b": b},
                          {"W": bad_dW, "b": db})
    text = str(bad)
    assert text.startswith("gradient check FAILED")
    assert re.search(r"^W\s+\(5, 5\)\s+25/25\s+.*FAIL$", text, re.M)
    assert re.search(r"^b\s+\(5,\)\s+5/5\s+.*ok$", text, re.M)
    row = re.search(r"^W\s+\(3, 1\)\s+(\S+)\s+(\S+)\s+(\S+)$", text, re.M)
    assert row, text
    assert float(row.group(1)) == 10.0
    assert float(row.group(2)) == pytest.approx(dW[3, 1], rel=1e-6)
    assert "worst entries" in text


# ---------------------------------------------------------------------------
# Kinks and rounding: failures that are not bugs are told apart
# ---------------------------------------------------------------------------


def test_kink_within_h_is_flagged_and_can_be_ignored():
    x = np.array([0.7, 3e-6, -0.4, -2e-6, 1.3])  # two entries within h = 1e-5 of the ReLU kink
    grad = (x > 0).astype(float)
    report = check_gradients(lambda v: np.sum(np.maximum(v, 0)), x, grad)
    p = report["x"]
    assert not report.passed
    assert np.array_equal(p.kinks, [False, True, False, True, False])
    assert p.numeric[1] == pytest.approx((1e-5 + 3e-6) / 2e-5, rel=1e-6)
    assert p.hint.startswith("kinks at 2 failing entries")
    assert "kink?" in str(report)
    ignored = check_gradients(lambda v: np.sum(np.maximum(v, 0)), x, grad, ignore_kinks=True)
    assert ignored.passed and ignored["x"].num_kinks == 2
    assert "2 (ignored)" in str(ignored)
    # a wrong gradient at a kink-free entry is still caught with ignore_kinks
    bad = grad.copy()
    bad[0] = 0.5
    assert not check_gradients(lambda v: np.sum(np.maximum(v, 0)), x, bad, ignore_kinks=True).passed


def test_layer_kinks_through_max_pool_like_layer():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    x[1, 0], x[1, 2] = 5.0, 5.0 + 4e-6  # two candidates for the row max within h

    def row_max(x):
        return x.max(axis=1)

    dout = rng.standard_normal(3)
    dx = np.zeros_like(x)
    dx[np.arange(3), x.argmax(axis=1)] = dout
    report = check_gradients(row_max, {"x": x}, {"x": dx}, dout=dout)
    assert not report.passed
    assert {tuple(i) for i in report["x"].indices[report["x"].kinks]} == {(1, 0), (1, 2)}
    assert check_gradients(row_max, {"x": x}, {"x": dx}, ignore_kinks=True, dout=dout).passed


def test_mistakes_are_not_mistaken_for_kinks_or_rounding():
    X, y, W, b = _softmax_case(0)
    _, dW, db = softmax_affine(X, y, W, b, 0.1)
    f = lambda: softmax_affine(X, y, W, b, 0.1)[0]  # noqa: E731
    for wrong in (-dW, dW / 2, dW - 0.2 * W, dW + 1e-5):
        report = check_gradients(f, {"W": W}, {"W": wrong})
        assert not report.passed and report["W"].num_kinks == 0
        assert "rounding" not in (report["W"].hint or "")


def test_rounding_level_errors_are_explained():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(6)

    def f():  # a huge constant swamps a tiny x-dependent term
        return 1e4 + 1e-7 * np.sum(x**2)

    report = check_gradients(f, {"x": x}, {"x": 2e-7 * x})
    assert not report.passed
    noise = report["x"].noise
    assert noise == pytest.approx(np.finfo(float).eps * 1e4 / 1e-5, rel=1e-6)
    assert report["x"].hint.startswith("rounding at")
    assert check_gradients(f, {"x": x}, {"x": 2e-7 * x}, atol=100 * noise).passed


def test_scalar_and_empty_parameters():
    x = np.linspace(-1, 1, 5)
    alpha = np.array(0.5)  # a 0-d parameter, e.g. a shared leaky-ReLU slope

    def f():
        return float(np.sum(np.where(x > 0, x, alpha * x)))

    d_alpha = np.array(np.sum(np.minimum(x, 0)))
    report = check_gradients(f, {"alpha": alpha}, {"alpha": d_alpha})
    assert report.passed and report["alpha"].num_checked == 1
    assert "1 entry checked" in report.summary()
    report = check_gradients(f, {"alpha": alpha}, {"alpha": -d_alpha})
    assert "wrong sign" in report["alpha"].hint
    empty = np.zeros((0, 3))
    assert check_gradients(lambda: 0.0, {"z": empty}, {"z": empty}).passed
