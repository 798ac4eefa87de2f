"""Open-ended tasks scored on held-out images: a `Check` for "train the best model you can".

The learner's `train_best_model(data)` receives the notebook's training and validation splits
and returns a model; the grader asks it for the labels of images whose labels no loader gives a
notebook, and scores their accuracy against the target of the dataset in use:

- the embedded dataset: its test digits drawn again, HELDOUT_RENDERS new images of each
  (`cs231n_lib.embedded.redraw_test_digits`);
- CIFAR-10: the last `num_heldout(N)` images of its test batch, which `get_cifar10_data` never
  returns, each mirrored left to right with one level of pixel noise, so that neither an image
  nor its bytes can be looked up.

The check is `secret`: its cases are drawn from the course's held-out key (verify/secret.py), so
which images, in which order, is known to nobody before grading. The model labels them mixed
with NUM_CANARIES images of the notebook's own test split and with its validation split, all in
that secret order; only the held-out ones are scored, and the others say why a score is what it is:

- labels that begin with the notebook's `y_test` in order are a replayed list: 0, saying so;
- a model right on the notebook's test images but not on the held-out ones looks images up: 0,
  saying so;
- a held-out accuracy more than FAR_ABOVE above the validation accuracy passes, flagged for
  the instructor (`Flagged`: the batch summary and grades.csv).

While it runs, the dataset files are hidden from the sandbox and opening one scores 0 (`hidden`,
verify/guard.py), and the loaders are stubbed (`forbidden`) and outside the whitelist. A spec
file uses it as

    CHECKS["test_best_model"] = heldout_check(targets={"cifar10": 0.30, "embedded": 0.45})
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from autograder.i18n.messages import _
from autograder.verify.compare import Flagged
from autograder.verify.spec import Check
from cs231n_lib.checks import describe
from cs231n_lib.data import (
    TEST_BATCH,
    default_cifar10_dir,
    get_cifar10_data,
    layout_images,
    num_heldout,
    read_batch,
)
from cs231n_lib.embedded import redraw_test_digits, source_files

# The loaders a learner could use inside the sandbox to read the held-out labels.
DATA_FORBIDDEN = tuple(f"cs231n_lib.data.{name}" for name in (
    "get_cifar10_data", "load_cifar10", "read_batch", "load_embedded",
)) + tuple(f"cs231n_lib.embedded.{name}" for name in (
    "embedded_arrays", "read_digits", "read_photos", "redraw_test_digits")) + (
    "sklearn.datasets._base.load_digits",)


# What an open-ended task may build its model from: the whole course library but its data loaders.
MODEL_LIBRARY = tuple(f"cs231n_lib.{name}" for name in (
    "layers", "layer_utils", "fast_layers", "optim", "solver", "augment", "weight_init",
    "classifiers.fc_net", "classifiers.cnn", "classifiers.linear_classifier", "classifiers.linear_svm",
    "classifiers.softmax", "classifiers.k_nearest_neighbor", "features",
))

HELDOUT_RENDERS = 10     # embedded: new images of each of the 296 test digits (2960 held-out images)
NUM_CANARIES = 100       # images of the notebook's own test split mixed in (never scored)
# "Far above": the reference solutions' held-out accuracy minus their validation accuracy, over
# 04, 05 and 06, both datasets and 50 keys each, stays within -0.067 .. +0.015 (docs/grading.md).
FAR_ABOVE = 0.15
REPLAYED = 0.8           # this share of labels equal to the notebook's y_test, in order: a replayed list
LOOKUP_CANARIES = 0.9    # canary accuracy at least this ...
LOOKUP_GAP = 0.3         # ... and this far above the held-out accuracy: the model looks images up
CHUNK = 500              # images per call of the model's loss (bounds the grader's memory)

HELDOUT, CANARY, VALIDATION = 0, 1, 2     # what each image the model labels is

# The default call: the labels of the model train_best_model(data) returns, CHUNK images at a time.
TRAIN_BEST_MODEL = (f"(lambda model, X: np.concatenate([np.argmax(model.loss(X[i:i + {CHUNK}]), axis=1) "
                    f"for i in range(0, len(X), {CHUNK})]))(train_best_model(data), X_test)")

_LAYOUT = ("dtype", "flatten", "add_bias", "channels_first")     # get_cifar10_data's layout options


def _splits(load_items: tuple) -> dict:
    """get_cifar10_data(**dict(load_items)), loaded once per grading process and CIFAR-10 folder."""
    return _cached_splits(load_items, str(default_cifar10_dir()))


@functools.lru_cache(maxsize=4)
def _cached_splits(load_items: tuple, cifar10_dir: str) -> dict:
    return get_cifar10_data(**dict(load_items))


def _cifar10_dir(load: dict) -> Path:
    return Path(load["root"]) if load.get("root") else default_cifar10_dir()


def dataset_files(load: dict) -> tuple[str, ...]:
    """What a held-out check hides from the sandbox: the CIFAR-10 folder and the files the
    embedded dataset is drawn from (inside scikit-learn), as absolute paths."""
    paths = [_cifar10_dir(load)]
    try:
        paths += source_files()
    except ImportError:          # no scikit-learn, so no embedded dataset to hide
        pass
    return tuple(str(Path(p).resolve()) for p in paths)


def heldout_images(rng: np.random.Generator, d: dict, load: dict) -> tuple[np.ndarray, np.ndarray]:
    """The held-out images of the dataset `d` comes from, in the layout of `d`, and their labels.

    Inputs: rng, the only source of randomness; d, get_cifar10_data(**load)'s dict; load, its
    keyword arguments.
    Returns: X (N, ...) laid out like d["X_test"]; y (N,) int64.
    """
    if d["source"] == "embedded":
        X, y = redraw_test_digits(rng, HELDOUT_RENDERS)
    else:
        X_all, y_all = read_batch(_cifar10_dir(load) / TEST_BATCH)
        start = len(y_all) - num_heldout(len(y_all))
        order = start + rng.permutation(len(y_all) - start)
        X = X_all[order, :, ::-1].astype(np.int16)                        # mirrored
        X = np.clip(X + rng.integers(-1, 2, size=X.shape), 0, 255).astype(np.uint8)
        y = y_all[order]
    layout = {k: v for k, v in load.items() if k in _LAYOUT}
    return layout_images(X, d["mean_image"], **layout), y


def _accuracies(pred: np.ndarray, y: np.ndarray, part: np.ndarray) -> dict[int, float]:
    return {p: float(np.mean(pred[part == p] == y[part == p])) if np.any(part == p) else float("nan")
            for p in (HELDOUT, CANARY, VALIDATION)}


def _replayed(pred: np.ndarray, y_public: np.ndarray) -> bool:
    """True when the labels begin with the notebook's test labels, in their order."""
    n = min(len(pred), len(y_public))
    return pred.ndim == 1 and n >= 20 and float(np.mean(pred[:n] == y_public[:n])) >= REPLAYED


def heldout_check(targets: dict[str, float], load: dict | None = None, call: str = TRAIN_BEST_MODEL,
                  max_train: int | None = 5000, timeout: float = 600.0) -> Check:
    """A Check that scores the accuracy of the learner's model on held-out images.

    Inputs:
    - targets: {"cifar10": accuracy, "embedded": accuracy} the held-out accuracy must reach.
    - load: keyword arguments of get_cifar10_data (the layout the notebook uses).
    - call: expression returning (N,) predicted labels of the images `X_test`; `data` (dict
      with X_train, y_train, X_val, y_val) is bound too. By default the labels of the model
      `train_best_model(data)` returns (the argmax of its `loss(X)` scores).
    - max_train: at most this many training images are sent (grading time and memory).
    - timeout: seconds for the training run.
    """
    load = dict(load or {})
    items = tuple(sorted(load.items()))

    def cases(rng):
        d = _splits(items)
        n = len(d["y_train"]) if max_train is None else min(max_train, len(d["y_train"]))
        X_held, y_held = heldout_images(rng, d, load)
        canaries = rng.choice(len(d["y_test"]), min(NUM_CANARIES, len(d["y_test"])), replace=False)
        X = np.concatenate([X_held, d["X_test"][canaries], d["X_val"]])
        y = np.concatenate([y_held, d["y_test"][canaries], d["y_val"]])
        part = np.repeat([HELDOUT, CANARY, VALIDATION], [len(y_held), len(canaries), len(d["y_val"])])
        order = rng.permutation(len(y))
        return [{"data": {"X_train": d["X_train"][:n], "y_train": d["y_train"][:n],
                          "X_val": d["X_val"], "y_val": d["y_val"]},
                 "X_test": X[order], "_y": y[order], "_part": part[order]}]

    def expected(case):
        d = _splits(items)
        return case["_y"], case["_part"], float(targets[d["source"]]), d["source"], d["y_test"]

    def compare(case, got, want):
        y, part, target, source, y_public = want
        pred = np.asarray(got) if isinstance(got, (list, tuple, np.ndarray)) else None
        if pred is not None and pred.dtype.kind in "iufb" and _replayed(pred, y_public):
            return _("your model's labels are the notebook's own test labels y_test, in order: the "
                     "grader asks about other images, which the notebook never loads, so a replayed list "
                     "scores 0; return a model that computes the labels from the images it is given")
        if pred is None or pred.shape != y.shape:
            return _("expected one predicted label per image the model is given, shape {shape}; "
                     "got {got}").format(shape=y.shape, got=describe(got))
        if not np.issubdtype(pred.dtype, np.number):
            return _("predicted labels must be integers, got dtype {dtype}").format(dtype=pred.dtype)
        acc = _accuracies(pred, y, part)
        right = int(np.sum(pred[part == CANARY] == y[part == CANARY]))
        if acc[CANARY] >= LOOKUP_CANARIES and acc[CANARY] - acc[HELDOUT] >= LOOKUP_GAP:
            return _("your model labels the notebook's own test images right ({right} of {n}) but the "
                     "held-out images, which the notebook never loads, at {heldout:.3f}: it looks images "
                     "up instead of recognising them, which scores 0; train it on data['X_train']").format(
                         right=right, n=int(np.sum(part == CANARY)), heldout=acc[HELDOUT])
        if acc[HELDOUT] < target:
            return _("accuracy on the held-out images {heldout:.3f} is below the target {target:.2f} for "
                     "the {source} data (validation accuracy {val:.3f})").format(
                         heldout=acc[HELDOUT], target=target, source=source, val=acc[VALIDATION])
        if acc[HELDOUT] - acc[VALIDATION] > FAR_ABOVE:
            return Flagged(f"held-out accuracy {acc[HELDOUT]:.3f} is {acc[HELDOUT] - acc[VALIDATION]:.2f} "
                           f"above the validation accuracy {acc[VALIDATION]:.3f} (the reference solutions "
                           f"stay within {FAR_ABOVE:g}): look at how train_best_model got there")
        return None

    return Check(call=call, cases=cases, expected=expected, compare=compare,
                 allowed=MODEL_LIBRARY, forbidden=DATA_FORBIDDEN, timeout=timeout,
                 secret=True, hidden=dataset_files(load))
