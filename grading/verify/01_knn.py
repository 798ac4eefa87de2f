"""Verification spec of 01_knn (see docs/authoring.md): one Check per autograded test cell.

Expected answers come from the library's KNearestNeighbor; the cases are seeded random shapes
plus the edge cases the notebook's text promises to handle (one test or training point, a point
identical to a training point, vote ties, labels that skip values, k equal to the training size,
uneven folds, k larger than a round's training set).
"""

import numpy as np

from autograder.verify.spec import Check, allclose, equal
from cs231n_lib.classifiers.k_nearest_neighbor import KNearestNeighbor

KNN = "cs231n_lib.classifiers.k_nearest_neighbor"
# The notebook's rule: numpy and the standard library only (np.linalg.norm is numpy: fine), except
# cross-validation, which may use the library's KNearestNeighbor (the notebook says so).
CV_ALLOWED = (f"{KNN}.KNearestNeighbor",)


def _reference(metric, X_train, y_train=None):
    knn = KNearestNeighbor(metric=metric)
    knn.train(X_train, np.zeros(len(X_train), dtype=np.int64) if y_train is None else y_train)
    return knn


def _distance_cases(rng):
    """Random shapes, pixel-like values, a single point, and test points equal to training points."""
    cases = []
    for n_test, n_train, dim in [(1, 1, 1), (3, 5, 4), (1, 17, 30), (9, 40, 3072), (12, 1, 7)]:
        cases.append({"X_test": rng.standard_normal((n_test, dim)),
                      "X_train": rng.standard_normal((n_train, dim))})
    pixels = rng.integers(0, 256, size=(30, 3072)).astype(np.float64)
    cases.append({"X_test": pixels[:6], "X_train": pixels[4:]})       # two exact duplicates
    same = rng.standard_normal((25, 64)) * 100.0
    cases.append({"X_test": same[:10], "X_train": same})                # each test point is a training point
    return cases


def _l2(case):
    # The two-loop reference is exact at zero distance (the expansion used without loops is not).
    return _reference("l2", case["X_train"]).compute_distances_two_loops(case["X_test"])


def _l1(case):
    return _reference("l1", case["X_train"]).compute_distances_no_loops(case["X_test"])


def _l1_cases(rng):
    test_image = np.array([[12, 70, 145, 201], [33, 96, 160, 230],
                           [40, 88, 120, 190], [5, 61, 110, 172]], dtype=np.float64)
    train_image = np.array([[22, 67, 186, 194], [8, 96, 178, 170],
                            [49, 55, 132, 110], [7, 105, 44, 218]], dtype=np.float64)
    cases = [{"X_test": test_image.reshape(1, -1), "X_train": train_image.reshape(1, -1)}]
    return cases + _distance_cases(rng)


def _predict_cases(rng):
    """Random distances (no distance ties), vote ties, skipped labels, k = num_train, N = 1."""
    cases = []
    for n_test, n_train, num_classes, k in [(1, 1, 1, 1), (20, 30, 10, 1), (20, 30, 10, 4),
                                            (15, 50, 3, 10), (5, 7, 3, 7), (1, 12, 4, 6),
                                            (40, 25, 2, 2)]:
        cases.append({"dists": rng.random((n_test, n_train)) * 100,
                      "y_train": rng.integers(0, num_classes, size=n_train), "k": k})
    # Every test point's nearest two neighbours have labels 5 and 2 in some order: a tie -> 2.
    n_test, n_train = 8, 10
    dists = rng.random((n_test, n_train)) + 1.0
    y = rng.choice(np.array([0, 7, 9]), size=n_train)
    y[:2] = [5, 2]
    order = rng.permutation(2)
    for i in range(n_test):
        dists[i, order] = rng.random(2) * 0.5
    cases.append({"dists": dists, "y_train": y, "k": 2})
    # Labels that skip values (no 0 ... 2) and a 2-2 tie with k = 4.
    y = np.array([3, 8, 3, 8, 8, 3])
    dists = np.array([[0.1, 0.2, 0.3, 0.4, 0.9, 0.8], [0.4, 0.3, 0.2, 0.1, 0.05, 0.9]])
    cases.append({"dists": dists, "y_train": y, "k": 4})
    cases.append({"dists": dists, "y_train": y, "k": 6})
    return cases


def _predict(case):
    y = np.asarray(case["y_train"])
    knn = _reference("l2", np.zeros((len(y), 1)), y)
    return knn.predict_labels(case["dists"], k=case["k"])


def _cv_cases(rng):
    cases = []
    for n, dim, num_classes, k_choices, folds in [
        (25, 6, 3, [1, 3, 5, 21, 25], 5),      # k > 20 training points per round: nan
        (23, 4, 3, [1, 2, 18, 19, 30], 5),     # uneven folds: k = 19 fits only two rounds
        (40, 3072, 4, [1, 3, 8], 4),
        (12, 2, 2, [1, 5, 6, 7], 2),           # k = 6 is exactly the training size of a round
        (30, 5, 10, [1, 4], 10),
    ]:
        # Clustered points so that accuracies are not all near chance.
        centres = rng.standard_normal((num_classes, dim)) * 3
        y = rng.integers(0, num_classes, size=n)
        X = centres[y] + rng.standard_normal((n, dim))
        cases.append({"X_train": X, "y_train": y, "k_choices": list(k_choices), "num_folds": folds})
    return cases


def _cross_validate(case):
    X, y, folds = case["X_train"], case["y_train"], case["num_folds"]
    blocks = np.array_split(np.arange(len(y)), folds)
    acc = np.full((len(case["k_choices"]), folds), np.nan)
    for f, val in enumerate(blocks):
        train = np.concatenate([blocks[g] for g in range(folds) if g != f])
        knn = _reference("l2", X[train], y[train])
        dists = knn.compute_distances_no_loops(X[val])
        for a, k in enumerate(case["k_choices"]):
            if k <= len(train):
                acc[a, f] = np.mean(knn.predict_labels(dists, k=k) == y[val])
    return acc


def _distance_check(function, expected, compare):
    """A Check of one distance function against the reference (numpy only)."""
    return Check(call=f"{function}(X_test, X_train)",
                 cases=_l1_cases if expected is _l1 else _distance_cases,
                 expected=expected, compare=compare, timeout=60)


CHECKS = {
    "test_two_loops": _distance_check("compute_distances_two_loops", _l2, allclose(rtol=1e-7, atol=1e-6)),
    "test_one_loop": _distance_check("compute_distances_one_loop", _l2, allclose(rtol=1e-7, atol=1e-6)),
    # The expansion ||a||^2 + ||b||^2 - 2 a.b loses digits for nearby points (~1e-4 absolute at
    # zero distance); nan (no clamping before the square root) always fails.
    "test_no_loops": _distance_check("compute_distances_no_loops", _l2, allclose(rtol=1e-6, atol=1e-3)),
    "test_predict": Check(
        call="predict_labels(dists, y_train, k)",
        cases=_predict_cases,
        expected=_predict,
        compare=equal(),
        timeout=30,
    ),
    "test_l1": _distance_check("compute_distances_l1", _l1, allclose(rtol=1e-9, atol=1e-6)),
    "test_cross_validate": Check(
        call="cross_validate_k(X_train, y_train, k_choices, num_folds)",
        cases=_cv_cases,
        expected=_cross_validate,
        compare=allclose(rtol=1e-12, atol=1e-12),
        allowed=CV_ALLOWED,
        timeout=60,
    ),
}
