"""Verification spec of 02_svm (see docs/authoring.md): one Check per autograded test cell.

Expected answers come from the library's svm_loss_vectorized and LinearSVM. Cases: seeded random
shapes, one example (N = 1), a class absent from the batch, reg = 0 and a large reg, pixel-scale
inputs, and for SGD a problem whose minibatches all give the same gradient (so any valid sampling
must reproduce gradient descent exactly) plus a property check on real-looking data. The
numerical gradient entry is checked on f(W) = sum(A * W**3) + sum(B * W), whose centred
difference is known exactly by hand: 3 A w**2 + B + A h**2 at the nudged entry w (a one-sided
difference is off by about 3 A w h), with W unchanged afterwards.
"""

import numpy as np

from autograder.verify.spec import Check, allclose, equal
from cs231n_lib.classifiers.linear_svm import svm_loss_vectorized

# SGD is given the library's vectorised loss as its loss function (the notebook's call does so).
SGD_ALLOWED = ("cs231n_lib.classifiers.linear_svm.svm_loss_vectorized",)


def _loss_cases(rng):
    cases = []
    for n, d, c, reg in [(1, 3, 2, 0.0), (1, 10, 10, 0.5), (7, 5, 6, 0.3), (50, 20, 10, 0.0),
                         (200, 3073, 10, 2.5e4)]:
        X = rng.standard_normal((n, d))
        W = rng.standard_normal((d, c)) * (1e-3 if d > 1000 else 1.0)
        cases.append({"W": W, "X": X, "y": rng.integers(0, c, size=n), "reg": reg})
    # Classes 0 and 3 absent from the batch; pixel-scale, mean-subtracted inputs with a bias column.
    X = np.hstack([rng.integers(0, 256, size=(30, 48)) - 127.5, np.ones((30, 1))])
    cases.append({"W": 1e-3 * rng.standard_normal((49, 5)), "X": X,
                  "y": rng.choice(np.array([1, 2, 4]), size=30), "reg": 1e2})
    # Large scores: every margin violated by a lot.
    cases.append({"W": 50 * rng.standard_normal((8, 4)), "X": rng.standard_normal((12, 8)),
                  "y": rng.integers(0, 4, size=12), "reg": 1e-3})
    return cases


def _loss(case):
    loss, dW = svm_loss_vectorized(case["W"], case["X"], case["y"], case["reg"])
    return (float(loss), dW)


def _sgd_cases(rng):
    cases = []
    # Identical examples: every minibatch has the same gradient, so SGD equals gradient descent.
    for n, d, c, batch, iters in [(10, 6, 4, 3, 20), (1, 5, 3, 7, 15), (25, 12, 10, 25, 30)]:
        x = rng.standard_normal((1, d))
        cases.append({"kind": "same", "W0": 0.1 * rng.standard_normal((d, c)),
                      "X": np.repeat(x, n, axis=0), "y": np.full(n, int(rng.integers(0, c))),
                      "learning_rate": 0.05, "reg": 0.1, "num_iters": iters, "batch_size": batch,
                      "seed": int(rng.integers(0, 1000))})
    # Separable clusters: any valid minibatch SGD lowers the full-data loss a lot.
    centres = 4 * rng.standard_normal((5, 20))
    y = rng.integers(0, 5, size=300)
    X = np.hstack([centres[y] + rng.standard_normal((300, 20)), np.ones((300, 1))])
    cases.append({"kind": "learns", "W0": 1e-3 * rng.standard_normal((21, 5)), "X": X, "y": y,
                  "learning_rate": 1e-2, "reg": 1e-3, "num_iters": 200, "batch_size": 32,
                  "seed": 7})
    return cases


def _gradient_descent(case):
    """What any minibatch SGD gives when all examples are identical (or its reference run)."""
    W = case["W0"].copy()
    history = []
    X1, y1 = case["X"][:1], case["y"][:1]
    for _ in range(case["num_iters"]):
        loss, grad = svm_loss_vectorized(W, X1, y1, case["reg"])
        history.append(loss)
        W = W - case["learning_rate"] * grad
    return (W, history, case["W0"].copy())


def _sgd_expected(case):
    if case["kind"] == "same":
        return _gradient_descent(case)
    return None


_EXACT = allclose(rtol=1e-9, atol=1e-12)


def _compare_sgd(case, got, expected):
    """Exact comparison where the answer does not depend on sampling; properties otherwise."""
    result, W0_after = got
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return "sgd_train must return a tuple (W, loss_history)"
    W, history = result
    if not np.array_equal(np.asarray(W0_after), case["W0"]):
        return "sgd_train changed W0 in place; start from a copy (W = W0.copy())"
    hist = np.asarray(history, dtype=float) if isinstance(history, (list, tuple, np.ndarray)) else None
    if hist is None or hist.shape != (case["num_iters"],):
        return (f"loss_history must be a list of num_iters = {case['num_iters']} losses, "
                f"got {np.shape(history) if hist is not None else type(history).__name__}")
    if np.shape(W) != case["W0"].shape:
        return f"W must have shape {case['W0'].shape}, got {np.shape(W)}"
    if case["kind"] == "same":
        return _EXACT(case, (W, list(hist)), expected[:2])
    W = np.asarray(W, dtype=float)
    start = svm_loss_vectorized(case["W0"], case["X"], case["y"], case["reg"])[0]
    end = svm_loss_vectorized(W, case["X"], case["y"], case["reg"])[0]
    if not (np.isfinite(end) and end < 0.25 * start):
        return (f"after {case['num_iters']} steps the full-data loss went from {start:.4g} to "
                f"{end:.4g}; expected it to fall below a quarter of the start")
    if not (np.all(np.isfinite(hist)) and hist[-20:].mean() < 0.5 * hist[:20].mean()):
        return "the recorded minibatch losses do not go down"
    return None


# The student's function receives f as a function of W alone; the lambdas take the case's arrays
# as arguments (a lambda in a call does not see the case's names otherwise).
NUMERICAL_GRADIENT_CALL = (
    "(lambda A, B, W, index, h: (numerical_gradient_entry("
    "lambda V: float(np.sum(A * V ** 3) + np.sum(B * V)), W, tuple(index.tolist()), float(h)), W))"
    "(A, B, W, index, h)")


def _numerical_gradient_cases(rng):
    cases = []
    for shape, h in [((2, 2), 0.1), ((5, 3), 1e-2), ((4,), 1e-3), ((2, 3, 4), 0.05), ((30, 10), 1e-4)]:
        index = np.array([int(rng.integers(0, n)) for n in shape])
        W = rng.standard_normal(shape)
        W[tuple(index)] = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0)   # far from 0: one-sided differs clearly
        cases.append({"A": rng.uniform(0.5, 2.0, size=shape), "B": 0.5 * rng.standard_normal(shape),
                      "W": W, "index": index, "h": h})
    return cases


def _numerical_gradient(case):
    """The centred difference worked out by hand: d/dw of A w^3 + B w is 3 A w^2 + B, plus A h^2."""
    i = tuple(case["index"].tolist())
    a, b, w, h = case["A"][i], case["B"][i], case["W"][i], case["h"]
    return (3 * a * w ** 2 + b + a * h ** 2, case["W"].copy())


def _compare_numerical_gradient(case, got, expected):
    value, W_after = got
    if not np.array_equal(np.asarray(W_after), case["W"]):
        return ("numerical_gradient_entry changed W: put the nudged entry back before returning "
                "(or nudge a copy of W)")
    try:
        value = float(value) if np.ndim(value) == 0 else None
    except (TypeError, ValueError):
        value = None
    if value is None or not np.isfinite(value):
        return f"numerical_gradient_entry must return one finite number, got {got[0]!r}"
    scale = max(abs(expected[0]), 1.0)          # relative error, absolute below 1
    err = abs(value - expected[0]) / scale
    if err > 1e-7:
        i = tuple(case["index"].tolist())
        one_sided = 3 * case["A"][i] * case["W"][i] * case["h"]      # what f(W + hE) - f(W) adds
        hint = ""
        if min(abs(value - expected[0] - one_sided),
               abs(value - expected[0] + one_sided)) < 1e-6 * scale:
            hint = " (that is a one-sided difference: use (f(W + hE) - f(W - hE)) / (2h))"
        return (f"got {value:.10g}, expected {expected[0]:.10g} with h = {case['h']:g} "
                f"(relative error {err:.1e}){hint}")
    return None


def _predict_cases(rng):
    cases = []
    for n, d, c in [(1, 1, 1), (1, 4, 3), (30, 5, 7), (200, 3073, 10)]:
        cases.append({"W": rng.standard_normal((d, c)), "X": rng.standard_normal((n, d))})
    return cases


CHECKS = {
    "test_svm_naive": Check(
        call="svm_loss_naive(W, X, y, reg)",
        cases=_loss_cases,
        expected=_loss,
        compare=allclose(rtol=1e-7, atol=1e-9),
        timeout=60,
    ),
    "test_svm_vectorized": Check(
        call="svm_loss_vectorized(W, X, y, reg)",
        cases=_loss_cases,
        expected=_loss,
        compare=allclose(rtol=1e-7, atol=1e-9),
        timeout=30,
    ),
    "test_sgd": Check(
        # W0 after the call, to catch updates made in place.
        call=("(sgd_train(W0, X, y, ref_svm_loss_vectorized, learning_rate, reg, num_iters, "
              "batch_size, seed), W0)"),
        cases=_sgd_cases,
        expected=_sgd_expected,
        compare=_compare_sgd,
        allowed=SGD_ALLOWED,
        timeout=60,
    ),
    "test_numerical_gradient": Check(
        call=NUMERICAL_GRADIENT_CALL,
        cases=_numerical_gradient_cases,
        expected=_numerical_gradient,
        compare=_compare_numerical_gradient,
        timeout=30,
    ),
    "test_linear_predict": Check(
        call="linear_predict(W, X)",
        cases=_predict_cases,
        expected=lambda case: np.argmax(case["X"] @ case["W"], axis=1),
        compare=equal(),
        timeout=30,
    ),
}
