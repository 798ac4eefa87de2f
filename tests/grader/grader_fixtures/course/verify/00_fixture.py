"""Verification spec of the fixture assignment (see docs/authoring.md)."""

import numpy as np

from autograder.verify.spec import Check, allclose, equal
from cs231n_lib.layers import affine_forward


def _affine_cases(rng):
    cases = []
    for shape, m in [((2, 3), 4), ((5, 2, 3), 1), ((1, 4, 2, 2), 7)]:
        d = int(np.prod(shape[1:]))
        cases.append({"x": rng.standard_normal(shape), "w": rng.standard_normal((d, m)),
                      "b": rng.standard_normal(m)})
    return cases


def _count_cases(rng):
    return [{"y": rng.integers(0, c, size=n), "num_classes": c} for n, c in [(1, 1), (10, 3), (200, 10)]]


CHECKS = {
    "test_affine": Check(
        call="affine_forward(x, w, b)[0]",
        cases=_affine_cases,
        expected=lambda case: affine_forward(case["x"], case["w"], case["b"])[0],
        compare=allclose(rtol=1e-10, atol=1e-12),
        forbidden=("cs231n_lib.layers.affine_forward",),
        timeout=10,
    ),
    "test_count": Check(
        call="count_labels(y, num_classes)",
        cases=_count_cases,
        expected=lambda case: np.bincount(case["y"], minlength=case["num_classes"]),
        compare=equal(),
        timeout=10,
    ),
}
