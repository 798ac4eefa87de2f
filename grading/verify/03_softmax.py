"""Verification spec of 03_softmax (see docs/authoring.md): one Check per autograded test cell.

Expected answers come from the library's softmax_loss_vectorized (stable). Cases: seeded random
shapes, one example (N = 1), a class absent from the batch, reg = 0 and a large reg, pixel-scale
inputs, equal scores, and scores in the thousands, where exp overflows unless the maximum is
subtracted.
"""

import numpy as np

from autograder.verify.spec import Check, allclose
from cs231n_lib.classifiers.softmax import softmax_loss_vectorized


def _loss_cases(rng):
    cases = []
    for n, d, c, reg in [(1, 3, 2, 0.0), (1, 10, 10, 0.5), (7, 5, 6, 0.3), (50, 20, 10, 0.0),
                         (200, 3073, 10, 2.5e4)]:
        W = rng.standard_normal((d, c)) * (1e-3 if d > 1000 else 1.0)
        cases.append({"W": W, "X": rng.standard_normal((n, d)), "y": rng.integers(0, c, size=n),
                      "reg": reg})
    # Classes 0 and 3 absent from the batch; pixel-scale, mean-subtracted inputs with a bias column.
    X = np.hstack([rng.integers(0, 256, size=(30, 48)) - 127.5, np.ones((30, 1))])
    cases.append({"W": 1e-3 * rng.standard_normal((49, 5)), "X": X,
                  "y": rng.choice(np.array([1, 2, 4]), size=30), "reg": 1e2})
    # Very large scores: a bias column lifts every score by about 1000 or 5000, so exp overflows
    # unless the maximum is subtracted (the spread of the scores stays moderate: no probability
    # underflows to 0, so -log(p) after the shift is fine too).
    for n, offset in [(12, 1000.0), (1, 5000.0)]:
        X = np.hstack([rng.standard_normal((n, 7)), np.ones((n, 1))])
        W = 3.0 * rng.standard_normal((8, 4))
        W[-1] += offset
        cases.append({"W": W, "X": X, "y": rng.integers(0, 4, size=n), "reg": 0.0})
    # All scores equal: probabilities exactly 1/C, loss log C.
    cases.append({"W": np.zeros((6, 10)), "X": rng.standard_normal((9, 6)),
                  "y": rng.integers(0, 10, size=9), "reg": 0.0})
    return cases


def _loss(case):
    loss, dW = softmax_loss_vectorized(case["W"], case["X"], case["y"], case["reg"])
    return (float(loss), dW)


CHECKS = {
    "test_softmax_naive": Check(
        call="softmax_loss_naive(W, X, y, reg)",
        cases=_loss_cases,
        expected=_loss,
        compare=allclose(rtol=1e-7, atol=1e-9),
        timeout=60,
    ),
    "test_softmax_vectorized": Check(
        call="softmax_loss_vectorized(W, X, y, reg)",
        cases=_loss_cases,
        expected=_loss,
        compare=allclose(rtol=1e-7, atol=1e-9),
        timeout=30,
    ),
}
