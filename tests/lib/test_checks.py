"""Tests of cs231n_lib.checks: one PASS line on right answers, readable CheckFailed otherwise."""

import math
import re

import numpy as np
import pytest

from cs231n_lib.checks import (
    CheckFailed,
    check_close,
    check_equal,
    check_frobenius,
    check_gradient,
    check_layer_gradient,
    check_scalar_near,
    check_shape,
    check_true,
    describe,
    resolve_name,
)
from cs231n_lib.gradient_check import GradCheckReport


def _fails(fn, *args, **kwargs):
    """Run a check that must fail; return its message."""
    with pytest.raises(CheckFailed) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, AssertionError)
    return str(info.value)


def _one_pass_line(capsys, name):
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith(f"PASS  {name}"), out
    return out.strip()


@pytest.fixture
def arr():
    return np.random.default_rng(0).standard_normal((3, 4))


# ---------------------------------------------------------------------------
# check_close
# ---------------------------------------------------------------------------


def test_check_close_passes_and_returns_the_relative_error(capsys, arr):
    got = arr * (1 + 1e-12)
    err = check_close("distances (two loops)", got, arr)
    line = _one_pass_line(capsys, "distances (two loops)")
    expected = np.max(np.abs(got - arr) / np.maximum(1e-8, np.abs(got) + np.abs(arr)))
    assert err == pytest.approx(expected, rel=1e-12)
    assert re.fullmatch(r"PASS  distances \(two loops\): relative error \d\.\de-1\d <= 1e-07", line)
    assert check_close("scalar", 2.0, 2.0) == 0.0
    assert check_close("list", [1.0, 2.0], np.array([1.0, 2.0])) == 0.0


def test_check_close_reports_the_worst_entries(arr):
    got = arr.copy()
    got[2, 1] += 0.5
    got[0, 3] += 0.01
    msg = _fails(check_close, "scores", got, arr, hint="check the bias")
    lines = msg.splitlines()
    err = abs(0.5) / (abs(got[2, 1]) + abs(arr[2, 1]))
    assert lines[0] == f"FAIL  scores: relative error {err:.1e} > 1e-07"
    assert lines[2].strip().startswith(f"(2, 1): {got[2, 1]:.8g} vs {arr[2, 1]:.8g}")
    assert lines[3].strip().startswith("(0, 3):")
    assert f"||got - expected||_F = {np.linalg.norm(got - arr):.3e}" in msg
    assert lines[-1] == "hint: check the bias"


def test_check_close_shape_none_tuple_and_types(arr):
    assert "shape mismatch: expected shape (3, 4), got (4, 3) (transposed?)" in _fails(
        check_close, "x", arr.T, arr)
    assert "expected shape (3, 4), got (12,)" in _fails(check_close, "x", arr.ravel(), arr)
    assert "got None, expected an array of shape (3, 4) — did you forget to return?" in _fails(
        check_close, "x", None, arr)
    assert "did you return (out, cache)" in _fails(check_close, "x", (arr, {}), arr)
    assert "got a str" in _fails(check_close, "x", "1.0", 1.0)
    assert "expected a scalar" in _fails(check_close, "loss", None, 2.3)


def test_check_close_nan_and_inf(arr):
    got = arr.copy()
    got[1, 2] = np.nan
    msg = _fails(check_close, "x", got, arr)
    assert "got nan (1 of 12 entries, first at (1, 2)) where a finite value was expected" in msg
    assert "got nan where a finite value was expected" in _fails(check_close, "loss", np.nan, 1.0)
    # matching nan / inf count as equal
    both = np.array([np.nan, np.inf, 1.0])
    assert check_close("x", both.copy(), both) == 0.0


def test_check_close_zero_expected_and_atol():
    assert "relative error 1.0e-04 > 1e-07" in _fails(check_close, "x", np.array([1e-12]), np.zeros(1))
    assert check_close("x", np.array([1e-12]), np.zeros(1), atol=1e-10) == 0.0


# ---------------------------------------------------------------------------
# check_equal
# ---------------------------------------------------------------------------


def test_check_equal(capsys):
    y = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    assert check_equal("labels", y.copy(), y) == 8
    assert _one_pass_line(capsys, "labels") == "PASS  labels: all 8 entries equal"
    assert check_equal("floats holding ints", y.astype(float), y) == 8
    got = y.copy()
    got[[1, 6]] = 0
    msg = _fails(check_equal, "labels", got, y, hint="ties go to the smaller label")
    lines = msg.splitlines()
    assert lines[0] == "FAIL  labels: 2 of 8 entries differ (25.0%)"
    assert lines[2].strip() == "(1,): 0 vs 1"
    assert lines[3].strip() == "(6,): 0 vs 2"
    assert lines[-1] == "hint: ties go to the smaller label"
    assert "got 2, expected 3" in _fails(check_equal, "count", 2, 3)
    assert "did you forget to return?" in _fails(check_equal, "labels", None, y)
    assert "shape mismatch: expected shape (8,), got (8, 1)" in _fails(
        check_equal, "labels", y[:, None], y)


def test_check_equal_lists_at_most_five_mismatches():
    msg = _fails(check_equal, "labels", np.zeros(20, int), np.ones(20, int))
    assert "20 of 20 entries differ (100.0%)" in msg
    assert len(re.findall(r"^\s+\(\d+,\): 0 vs 1$", msg, re.M)) == 5


# ---------------------------------------------------------------------------
# check_shape, check_true
# ---------------------------------------------------------------------------


def test_check_shape(capsys, arr):
    assert check_shape("scores", arr, (3, 4)) == (3, 4)
    assert _one_pass_line(capsys, "scores") == "PASS  scores: shape (3, 4)"
    assert check_shape("scores", arr, (None, 4)) == (3, 4)
    assert "shape mismatch: expected shape (any, 5), got (3, 4)" in _fails(
        check_shape, "scores", arr, (None, 5))
    assert "expected shape (4, 3), got (3, 4) (transposed?)" in _fails(check_shape, "s", arr, (4, 3))
    assert "got None" in _fails(check_shape, "s", None, (3, 4))
    assert "(out, cache)" in _fails(check_shape, "s", (arr, {"x": 1}), (3, 4))
    assert check_shape("list", [[1, 2, 3]], (1, 3)) == (1, 3)


def test_check_true(capsys):
    assert check_true("loss decreased", 0.5 < 2.3, "the loss should go down") is True
    assert _one_pass_line(capsys, "loss decreased") == "PASS  loss decreased"
    assert check_true("numpy bool", np.float64(1.0) > 0, "positive")
    msg = _fails(check_true, "loss decreased", False, "the final loss 2.4 is not below 2.3")
    assert msg == "FAIL  loss decreased: the final loss 2.4 is not below 2.3"
    with pytest.raises(ValueError, match="single bool"):
        check_true("many", np.array([True, False]), "ambiguous")


# ---------------------------------------------------------------------------
# check_frobenius, check_scalar_near
# ---------------------------------------------------------------------------


def test_check_frobenius(capsys, arr):
    norm = check_frobenius("one loop vs two loops", arr + 1e-9, arr, tol=1e-3)
    assert norm == pytest.approx(np.sqrt(12) * 1e-9, rel=1e-6)
    assert _one_pass_line(capsys, "one loop vs two loops").endswith("< 0.001")
    got = arr.copy()
    got[1, 1] += 32.0
    msg = _fails(check_frobenius, "distances", got, arr, tol=1e-3)
    assert msg.splitlines()[0] == ("FAIL  distances: differs from the expected values by 3.2e+01 "
                                   "(Frobenius norm of the difference); expected < 0.001")
    assert re.search(r"^\s+\(1, 1\): \S+ vs \S+  \(3\.2e\+01\)$", msg, re.M)
    assert "shape mismatch" in _fails(check_frobenius, "d", arr[:2], arr, tol=1.0)
    assert "got nan" in _fails(check_frobenius, "d", arr * np.nan, arr, tol=1.0)


def test_check_scalar_near(capsys):
    assert check_scalar_near("loss at init", 2.31, math.log(10), 0.1) == 2.31
    assert _one_pass_line(capsys, "loss at init") == "PASS  loss at init: 2.31 is within 0.1 of 2.30259"
    assert check_scalar_near("0-d array", np.array(2.3), math.log(10), 0.1) == 2.3
    msg = _fails(check_scalar_near, "loss at init", 4.6, math.log(10), 0.1, hint="reg too big?")
    assert msg.splitlines() == ["FAIL  loss at init: got 4.6, expected 2.30259 ± 0.1 (off by 2.3)",
                                "hint: reg too big?"]
    assert "did you forget to return?" in _fails(check_scalar_near, "loss", None, 1.0, 0.1)
    assert "got an array of shape (3,)" in _fails(check_scalar_near, "loss", np.ones(3), 1.0, 0.1)
    assert "got a tuple of 2 items" in _fails(check_scalar_near, "loss", (2.3, {}), 2.3, 0.1)
    assert "got nan" in _fails(check_scalar_near, "loss", float("nan"), 2.3, 0.1)


# ---------------------------------------------------------------------------
# Gradient checks
# ---------------------------------------------------------------------------


def _quadratic(seed=0):
    """f(W) = sum((X W)^2) / 2 + reg * sum(W^2), gradient X^T X W + 2 reg W."""
    rng = np.random.default_rng(seed)
    X, W = rng.standard_normal((6, 4)), rng.standard_normal((4, 3))
    reg = 0.2
    return X, W, reg, X.T @ (X @ W) + 2 * reg * W


def test_check_gradient_single_array(capsys):
    X, W, reg, dW = _quadratic()
    f = lambda w: 0.5 * np.sum((X @ w) ** 2) + reg * np.sum(w * w)  # noqa: E731
    report = check_gradient("svm gradient", f, W, dW)
    assert isinstance(report, GradCheckReport) and report.passed
    line = _one_pass_line(capsys, "svm gradient")
    assert re.fullmatch(r"PASS  svm gradient: max relative error \S+ <= 1e-07", line)
    msg = _fails(check_gradient, "svm gradient", f, W, dW - 2 * reg * W, hint="forgot reg?")
    assert msg.splitlines()[0].startswith("FAIL  svm gradient: max relative error")
    assert "gradient check FAILED" in msg and "worst entries" in msg
    assert "regularization" in msg and msg.endswith("hint: forgot reg?")
    assert "the analytic gradient is None — did you forget to return it?" in _fails(
        check_gradient, "g", f, W, None)
    assert "shape mismatch: expected shape (4, 3), got (3, 4) (transposed?)" in _fails(
        check_gradient, "g", f, W, dW.T)


def test_check_gradient_params_dict(capsys):
    X, W, reg, dW = _quadratic(1)
    b = np.random.default_rng(2).standard_normal(3)
    params = {"W": W, "b": b}
    f = lambda: 0.5 * np.sum((X @ params["W"] + params["b"]) ** 2) + reg * np.sum(params["W"] ** 2)  # noqa: E731
    db = (X @ W + b).sum(0)
    dW = X.T @ (X @ W + b) + 2 * reg * W
    report = check_gradient("model gradients", f, params, {"W": dW, "b": db}, num_checks=5, seed=1)
    assert report["W"].num_checked == 5 and report["b"].num_checked == 3
    line = _one_pass_line(capsys, "model gradients")
    assert re.search(r"\(W \S+, b \S+\)$", line)
    assert "no gradient for 'b' (got gradients for ['W'])" in _fails(
        check_gradient, "g", f, params, {"W": dW})
    assert "the gradient of 'b' is None" in _fails(check_gradient, "g", f, params, {"W": dW, "b": None})
    msg = _fails(check_gradient, "g", f, params, {"W": dW, "b": -db})
    assert "wrong sign" in msg


def test_check_layer_gradient(capsys):
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 4)), rng.standard_normal(4)
    dout = rng.standard_normal((5, 4))

    def forward(x, w, b):
        return x @ w + b, (x, w)

    grads = {"x": dout @ w.T, "w": x.T @ dout, "b": dout.sum(0)}
    report = check_layer_gradient("affine_backward", forward, {"x": x, "w": w, "b": b}, dout, grads)
    assert report.passed and set(report.params) == {"x", "w", "b"}
    _one_pass_line(capsys, "affine_backward")
    msg = _fails(check_layer_gradient, "affine_backward", forward, {"x": x, "w": w, "b": b}, dout,
                 {**grads, "w": grads["w"].T})
    assert "transposed" in msg
    assert "dw is None — did you forget to return it?" in _fails(
        check_layer_gradient, "a", forward, {"x": x, "w": w, "b": b}, dout, {**grads, "w": None})
    assert "dx: shape mismatch" in _fails(
        check_layer_gradient, "a", forward, {"x": x, "w": w, "b": b}, dout, {**grads, "x": x[:2]})


def test_gradient_checks_pass_ignore_kinks_through(capsys):
    x = np.array([[0.5, 2e-6, -1.0], [-3e-6, 1.5, 0.2]])  # two entries within h of the kink
    dout = np.arange(1.0, 7.0).reshape(2, 3)
    dx = dout * (x > 0)

    def relu_forward(x):
        return np.maximum(x, 0), x

    msg = _fails(check_layer_gradient, "relu_backward", relu_forward, {"x": x}, dout, {"x": dx})
    assert "kinks at 2 failing entries" in msg
    report = check_layer_gradient("relu_backward", relu_forward, {"x": x}, dout, {"x": dx},
                                  ignore_kinks=True)
    assert report["x"].num_kinks == 2
    _one_pass_line(capsys, "relu_backward")
    report = check_gradient("relu sum", lambda v: np.sum(np.maximum(v, 0)), x, (x > 0) * 1.0,
                            ignore_kinks=True)
    assert report.passed


def test_gradient_checks_reject_bad_arguments():
    with pytest.raises(ValueError, match="x_or_params must be a numpy array or a dict"):
        check_gradient("g", lambda v: 0.0, [1.0, 2.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="inputs must be a dict"):
        check_layer_gradient("g", lambda x: x, [np.ones(2)], np.ones(2), {"x": np.ones(2)})


def test_a_failed_check_renders_as_its_fail_block_only():
    with pytest.raises(CheckFailed) as info:
        check_close("dists", np.zeros((2, 3)), np.ones((2, 3)), hint="square root?")
    lines = info.value._render_traceback_()  # what IPython shows instead of a traceback
    assert lines[0].startswith("FAIL  dists: relative error") and lines[-1] == "hint: square root?"
    assert lines == str(info.value).splitlines() and len(lines) <= 10


def test_not_implemented_error_is_one_line_naming_the_function():
    from cs231n_lib.checks import _not_written_yet

    def compute_distances_two_loops():
        raise NotImplementedError()

    class Shell:
        shown = None

        def _showtraceback(self, etype, value, stb):
            self.shown = stb

    shell = Shell()
    try:
        compute_distances_two_loops()
    except NotImplementedError as exc:
        stb = _not_written_yet(shell, type(exc), exc, exc.__traceback__)
    assert shell.shown == stb and len(stb) == 1
    assert stb[0].startswith("NOT DONE  compute_distances_two_loops() is not written yet")


def test_describe_names_the_type_and_the_shape_length_or_value():
    assert describe(np.zeros((2, 3))) == "an array of shape (2, 3) and dtype float64"
    assert describe((1, 2)) == "a tuple of 2 items"
    assert describe({"a": 1}) == "a dict of 1 item"
    assert describe(3) == "an int 3"
    assert describe("1.0") == "a str '1.0'"
    assert describe(None) == "None"
    assert describe("x" * 100).endswith("...") and len(describe("x" * 100)) < 60


def test_resolve_name_finds_functions_methods_and_modules_and_names_what_it_cannot():
    import numpy.linalg

    from cs231n_lib.classifiers.fc_net import FullyConnectedNet
    from cs231n_lib.layers import affine_forward

    assert resolve_name("cs231n_lib.layers.affine_forward") is affine_forward
    assert resolve_name("cs231n_lib.classifiers.fc_net.FullyConnectedNet.loss") is FullyConnectedNet.loss
    assert resolve_name("numpy.linalg") is numpy.linalg
    for dotted in ("cs231n_lib.layers.affine_forwrd", "cs231n_lib.no_such_module.f", "no_such_package", ""):
        with pytest.raises(ValueError, match=re.escape(f"allowed name {dotted!r} does not name")):
            resolve_name(dotted)
    with pytest.raises(ValueError, match="dotted strings"):
        resolve_name(affine_forward)
