"""Open-ended tasks scored on held-out data: a `Check` for "train the best model you can".

The learner's code receives the training and validation splits and the test *images*; it must
return one predicted label per test image. The test labels never leave the grader, which scores
the predictions' accuracy against a target for the dataset in use (CIFAR-10 or the embedded
dataset). A spec file uses it as

    CHECKS["test_best_model"] = heldout_check(targets={"cifar10": 0.30, "embedded": 0.45})

which calls the course's `train_best_model(data)` and takes the argmax of its model's
`loss(X_test)`; `call=` names another expression (with `data`, a dict of the four
training/validation arrays, and `X_test` bound by the check).
"""

from __future__ import annotations

import functools

import numpy as np

from autograder.verify.spec import Check
from cs231n_lib.data import get_cifar10_data

# The loaders a learner could use inside the sandbox to read the held-out labels.
DATA_FORBIDDEN = tuple(f"cs231n_lib.data.{name}" for name in (
    "get_cifar10_data", "load_cifar10", "read_batch", "load_embedded",
)) + tuple(f"cs231n_lib.embedded.{name}" for name in ("embedded_arrays", "read_digits")) + (
    "sklearn.datasets._base.load_digits",)


# What an open-ended task may build its model from: the whole course library but its data loaders.
MODEL_LIBRARY = tuple(f"cs231n_lib.{name}" for name in (
    "layers", "layer_utils", "fast_layers", "optim", "solver", "augment", "weight_init",
    "classifiers.fc_net", "classifiers.cnn", "classifiers.linear_classifier", "classifiers.linear_svm",
    "classifiers.softmax", "classifiers.k_nearest_neighbor", "features",
))


@functools.lru_cache(maxsize=4)
def _splits(load_items: tuple) -> dict:
    """get_cifar10_data(**dict(load_items)), loaded once per grading process."""
    return get_cifar10_data(**dict(load_items))


TRAIN_BEST_MODEL = "np.argmax(train_best_model(data).loss(X_test), axis=1)"


def heldout_check(targets: dict[str, float], load: dict | None = None, call: str = TRAIN_BEST_MODEL,
                  max_train: int | None = 5000, timeout: float = 600.0) -> Check:
    """A Check that scores the accuracy of the learner's predictions on the test split.

    Inputs:
    - targets: {"cifar10": accuracy, "embedded": accuracy} the predictions must reach.
    - load: keyword arguments of get_cifar10_data (the layout the notebook uses).
    - call: expression returning (N_test,) predicted labels; the names `data` (dict with
      X_train, y_train, X_val, y_val) and `X_test` are bound. By default the labels of the
      model `train_best_model(data)` returns (the argmax of its `loss(X_test)` scores).
    - max_train: at most this many training images are sent (grading time and memory).
    - timeout: seconds for the training run.
    """
    items = tuple(sorted((load or {}).items()))

    def cases(rng):
        d = _splits(items)
        n = len(d["y_train"]) if max_train is None else min(max_train, len(d["y_train"]))
        return [{"data": {"X_train": d["X_train"][:n], "y_train": d["y_train"][:n],
                          "X_val": d["X_val"], "y_val": d["y_val"]},
                 "X_test": d["X_test"]}]

    def expected(case):
        d = _splits(items)
        return d["y_test"], float(targets[d["source"]]), d["source"]

    def compare(case, got, want):
        y_test, target, source = want
        pred = np.asarray(got)
        if pred.shape != y_test.shape:
            return f"expected one predicted label per test image, shape {y_test.shape}; got shape {pred.shape}"
        if not np.issubdtype(pred.dtype, np.number):
            return f"predicted labels must be integers, got dtype {pred.dtype}"
        accuracy = float(np.mean(pred == y_test))
        if accuracy < target:
            return (f"accuracy on the held-out test images {accuracy:.3f} is below the target "
                    f"{target:.2f} for the {source} data")
        return None

    return Check(call=call, cases=cases, expected=expected, compare=compare,
                 allowed=MODEL_LIBRARY, forbidden=DATA_FORBIDDEN, timeout=timeout)
