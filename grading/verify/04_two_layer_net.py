"""Verification spec of 04_two_layer_net (see docs/authoring.md): one Check per autograded test cell.

Expected answers come from the library's reference layers (cs231n_lib.layers) and its
TwoLayerNet; `score_gradients` is checked against the library's affine and sigmoid layers, and
`count_parameters` against the sizes of FullyConnectedNet's parameter arrays. Cases: seeded random shapes, one example (N = 1), image-shaped inputs that must be
flattened, a single output unit, ReLU inputs exactly at 0 (either subgradient, 0 or 1, is right there), classes absent from
the batch, equal scores, scores in the thousands (a softmax must not overflow), SVM margins
exactly at the kink (0 by the max(0, .) convention), reg = 0 and a large reg.
"""

import numpy as np

from autograder.verify.heldout import heldout_check
from autograder.verify.spec import Check, allclose, equal
from cs231n_lib.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from cs231n_lib.layers import (
    affine_backward,
    affine_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_loss,
    svm_loss,
)

LAYERS = "cs231n_lib.layers"
# The layers may use numpy only; the network may use the library's layers and the affine-ReLU
# sandwich (the notebook imports them), never a ready-made model (TwoLayerNet, FullyConnectedNet).
NET_ALLOWED = tuple(f"{LAYERS}.{name}" for name in (
    "affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss", "svm_loss",
)) + ("cs231n_lib.layer_utils.affine_relu_forward", "cs231n_lib.layer_utils.affine_relu_backward")


def _affine_cases(rng):
    cases = []
    for shape, M in [((1, 1), 1), ((1, 5), 3), ((4, 6), 1), ((10, 2, 3), 7), ((3, 4, 5, 6), 10),
                     ((2, 32, 32, 3), 5), ((50, 20), 100)]:
        D = int(np.prod(shape[1:]))
        cases.append({"x": rng.standard_normal(shape), "w": rng.standard_normal((D, M)),
                      "b": rng.standard_normal(M), "dout": rng.standard_normal((shape[0], M))})
    return cases


def _affine_forward(case):
    return affine_forward(case["x"], case["w"], case["b"])[0]


def _affine_backward(case):
    return affine_backward(case["dout"], (case["x"], case["w"], case["b"]))


def _relu_cases(rng):
    cases = []
    for shape in [(1,), (7,), (3, 4), (2, 3, 4, 5), (10, 3, 8, 8)]:
        x = rng.standard_normal(shape)
        x.flat[:: 3] = 0.0           # exact zeros: forward 0, gradient 0
        cases.append({"x": x, "dout": rng.standard_normal(shape)})
    cases.append({"x": -np.abs(rng.standard_normal((4, 5))), "dout": rng.standard_normal((4, 5))})
    return cases


def _relu(case):
    x = case["x"]
    return (relu_forward(x)[0], relu_backward(case["dout"], x))


RELU_COMPARE = allclose(rtol=1e-12, atol=0.0)


def _compare_relu(case, got, expected):
    """Exact, except at x == 0 where either subgradient (0, or dout as for x >= 0) is right."""
    try:
        dx = np.asarray(got[1], dtype=np.float64)
    except (TypeError, ValueError, IndexError, KeyError):
        return RELU_COMPARE(case, got, expected)
    x, dout = case["x"], case["dout"]
    if dx.shape == x.shape:
        either = (x == 0) & (dx == dout)
        expected = (expected[0], np.where(either, dout, expected[1]))
    return RELU_COMPARE(case, got, expected)


def _loss_cases(rng):
    cases = []
    for N, C in [(1, 2), (1, 10), (5, 3), (40, 10), (200, 10), (17, 100)]:
        cases.append({"x": 3.0 * rng.standard_normal((N, C)), "y": rng.integers(0, C, size=N)})
    cases.append({"x": rng.standard_normal((12, 6)), "y": rng.choice(np.array([1, 4]), size=12)})
    cases.append({"x": np.zeros((6, 10)), "y": rng.integers(0, 10, size=6)})
    cases.append({"x": 1000.0 + 5.0 * rng.standard_normal((8, 5)), "y": rng.integers(0, 5, size=8)})
    cases.append({"x": -3000.0 + 5.0 * rng.standard_normal((3, 4)), "y": rng.integers(0, 4, size=3)})
    # Margins exactly 0 (score j = score y - 1): max(0, 0) = 0 contributes no gradient.
    x = np.tile(np.array([[2.0, 1.0, 1.0, 3.5]]), (4, 1))
    cases.append({"x": x, "y": np.zeros(4, dtype=np.int64)})
    return cases


def _softmax(case):
    loss, dx = softmax_loss(case["x"], case["y"])
    return (float(loss), dx)


def _svm(case):
    loss, dx = svm_loss(case["x"], case["y"])
    return (float(loss), dx)


def _net_cases(rng):
    cases = []
    for N, D, H, C, reg, with_y in [(1, 4, 3, 2, 0.0, True), (1, 4, 3, 2, 0.0, False),
                                    (20, 30, 12, 10, 0.25, True), (7, 15, 10, 10, 0.0, False),
                                    (5, 3072, 20, 10, 1e-3, True), (50, 40, 60, 3, 3.0, True)]:
        params = {"W1": rng.standard_normal((D, H)) / np.sqrt(D), "b1": 0.1 * rng.standard_normal(H),
                  "W2": rng.standard_normal((H, C)) / np.sqrt(H), "b2": 0.1 * rng.standard_normal(C)}
        X = rng.standard_normal((N, D)) if D != 3072 else rng.standard_normal((N, 32, 32, 3))
        y = rng.integers(0, C, size=N) if with_y else None     # None: scores only
        cases.append({"params": params, "X": X, "y": y, "reg": reg})
    return cases


def _net(case):
    params = case["params"]
    D, H = params["W1"].shape
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=params["W2"].shape[1],
                        reg=case["reg"], seed=0)
    model.params = {k: v.copy() for k, v in params.items()}
    if case["y"] is None:
        return model.loss(case["X"])
    loss, grads = model.loss(case["X"], case["y"])
    return (float(loss), grads)


CHECKS = {
    "test_affine_forward": Check(
        call="affine_forward(x, w, b)[0]",
        cases=_affine_cases,
        expected=_affine_forward,
        compare=allclose(rtol=1e-7, atol=1e-9),
    ),
    "test_affine_backward": Check(
        call="affine_backward(dout, (x, w, b))",
        cases=_affine_cases,
        expected=_affine_backward,
        compare=allclose(rtol=1e-7, atol=1e-9),
    ),
    "test_relu": Check(
        call="(relu_forward(x)[0], relu_backward(dout, x))",
        cases=_relu_cases,
        expected=_relu,
        compare=_compare_relu,
    ),
    "test_softmax_loss": Check(
        call="softmax_loss(x, y)",
        cases=_loss_cases,
        expected=_softmax,
        compare=allclose(rtol=1e-7, atol=1e-10),
    ),
    "test_svm_loss": Check(
        call="svm_loss(x, y)",
        cases=_loss_cases,
        expected=_svm,
        compare=allclose(rtol=1e-7, atol=1e-10),
    ),
    "test_two_layer_net": Check(
        call="two_layer_net_loss(params, X, y, reg)",
        cases=_net_cases,
        expected=_net,
        compare=allclose(rtol=1e-7, atol=1e-10),
        allowed=NET_ALLOWED,
        timeout=60,
    ),
}


# ------------------------------------------------------------------ f = ||W x||^2 (part 1)

def _wx_norm_cases(rng):
    cases = [{"W": rng.standard_normal((m, n)) * scale, "x": rng.standard_normal(n)}
             for m, n, scale in [(1, 1, 1.0), (2, 2, 1.0), (4, 3, 1.0), (3, 7, 0.1), (10, 2, 5.0)]]
    cases.append({"W": rng.standard_normal((3, 4)), "x": np.zeros(4)})        # f = 0, every gradient 0
    return cases


def _wx_norm(case):
    q = case["W"] @ case["x"]
    return float(q @ q), 2 * np.outer(q, case["x"]), 2 * case["W"].T @ q


CHECKS.update({
    "test_wx_norm": Check(
        call="squared_norm_of_product(W, x)",
        cases=_wx_norm_cases,
        expected=_wx_norm,
        compare=allclose(rtol=1e-9, atol=1e-12),
    ),
})


# ------------------------------------------------------------------ error signals, CS224n's network (part 2)

def _score_cases(rng):
    cases = [{"x": np.array([1.0, 2.0, -1.0, 3.0]),                 # the 4-2-1 network worked by hand
              "W": np.array([[1.0, -1.0, 1.0, 0.5], [0.5, 0.25, 0.0, 0.0]]),
              "b": np.array([0.5, 0.0]), "U": np.array([2.0, -1.0])}]
    for n, m, scale in [(1, 1, 1.0), (20, 8, 0.3), (4, 2, 1.0), (50, 3, 0.2), (7, 30, 2.0)]:
        cases.append({"x": rng.standard_normal(n), "W": scale * rng.standard_normal((m, n)),
                      "b": rng.standard_normal(m), "U": rng.standard_normal(m)})
    return cases


def _score(case):
    """The score and its gradients through the library's affine and sigmoid layers."""
    x, W, b, U = case["x"], case["W"], case["b"], case["U"]
    z, affine_cache = affine_forward(x[None], W.T, b)
    a, sigmoid_cache = sigmoid_forward(z)
    _, dW_rows, db = affine_backward(sigmoid_backward(U[None], sigmoid_cache), affine_cache)
    return float(a[0] @ U), dW_rows.T, db, a[0]


# ------------------------------------------------------------------ neurons, weights, biases (part 4)

def _count_cases(rng):
    sizes = [[3, 4, 2], [3, 4, 4, 1], [4, 2, 1], [20, 8, 1], [3072, 50, 10], [3072, 10], [5, 1], [1, 1]]
    sizes += [rng.integers(1, 300, size=depth) for depth in (2, 3, 5, 8)]
    return [{"layer_sizes": np.asarray(s, dtype=np.int64)} for s in sizes]


def _count(case):
    """Counted from the parameter arrays of the library's FullyConnectedNet of those sizes."""
    sizes = [int(n) for n in case["layer_sizes"]]
    arrays = FullyConnectedNet(sizes[1:-1], input_dim=sizes[0], num_classes=sizes[-1], seed=0).params
    weights = sum(a.size for k, a in arrays.items() if k.startswith("W"))
    biases = sum(a.size for k, a in arrays.items() if k.startswith("b"))
    return (biases, weights, biases)


CHECKS.update({
    "test_score_gradients": Check(
        call="score_gradients(x, W, b, U)",
        cases=_score_cases,
        expected=_score,
        compare=allclose(rtol=1e-7, atol=1e-12),
    ),
    "test_count_parameters": Check(
        call="count_parameters(layer_sizes.tolist())",
        cases=_count_cases,
        expected=_count,
        compare=equal(),
    ),
})


# ------------------------------------------------------------------ open-ended task (held-out data)

CHECKS["test_best_model"] = heldout_check(
    targets={"cifar10": 0.30, "embedded": 0.45},
)
