"""Notebooks 01_knn, 02_svm, 03_softmax: structure, teaching content, worked examples, and specs
that catch the usual mistakes.

The course tests (tests/grader/test_course.py) check leaks, up-to-date releases and the sandboxed
instructor self-check. Here the verification specs are evaluated in-process (fast) against the
source solutions and against typical wrong answers, each of which must fail its check.
"""

import contextlib
import io

import numpy as np
import pytest
from nbhelpers import (
    COURSE,
    appended,
    check_structure,
    check_teaching,
    code_cell,
    failures,
    grid_settings,
    namespace,
    source,
)

from autograder.verify.spec import load_spec

IDS = ("01_knn", "02_svm", "03_softmax")

# Ideas from the course notes each released notebook must teach (regexes on its markdown).
TEACHING = {
    "01_knn": [r"semantic gap", r"data-driven", r"\b456\b", r"L1", r"L2", r"validation set",
               r"cross-validation", r"curse of dimensionality", r"shifted", r"darkened",
               r"occluded", r"\*\*smallest\*\*", r"decision regions", r"Voronoi", r"\*\*island\*\*",
               r"Manhattan"],
    "02_svm": [r"mean image", r"bias trick", r"template", r"hyperplane", r"\b2\.9\b", r"\b12\.9\b",
               r"\b5\.27\b", r"elastic net", r"Occam", r"w_1 = \[1, 0, 0, 0\]",
               r"0\.25, 0\.25, 0\.25, 0\.25", r"\*centred\* difference", r"kink", r"minibatch",
               r"C - 1", r"squared hinge", r"\b437\.9\b", r"−96\.8", r"\b60\.75\b", r"\b61\.95\b",
               r"max\(0, -6\.2\)", r"1\.25347", r"1\.25322", r"= -2\.5", r"corrupted\*\* window"],
    "03_softmax": [r"softmax", r"cross-entropy", r"\\log C", r"\\log 10 \\approx 2\.303",
                   r"overflow", r"\b2\.04\b", r"\b2\.76\b", r"never\s+\*?satisfied",
                   r"LinearSVM"],
}


@pytest.mark.parametrize("aid", IDS)
def test_structure(aid):
    check_structure(aid)


@pytest.mark.parametrize("aid", IDS)
def test_release_teaches_the_course_notes(aid):
    check_teaching(aid, TEACHING[aid])


def test_knn_worked_example_sums_to_456():
    ns = {"np": np}
    exec(code_cell(source("01_knn"), "test_image = np.array").source.split("abs_diff =")[0], ns)
    diff = np.abs(ns["test_image"] - ns["train_image"])
    assert diff.shape == (4, 4) and diff.sum() == 456
    assert ns["test_image"].min() >= 0 and ns["train_image"].max() <= 255


def _run_01_cells(*texts, **names):
    """Run 01's setup cell, then the code cells containing each of `texts`, in a fresh namespace."""
    import matplotlib

    matplotlib.use("Agg")
    nb = source("01_knn")
    ns = dict(names)
    exec(next(c.source for c in nb.cells if c.get("id") == "setup"), ns)
    ns.update(names)
    for text in texts:
        exec(code_cell(nb, text).source, ns)
    return ns


def test_knn_decision_regions_show_islands_at_k1_only():
    ns = _run_01_cells("def knn_on_points", "l1_k1 = ")
    points, labels, centres = ns["points"], ns["labels"], ns["centres"]
    # the text's count is what the cell draws: three clouds of 15 points, then the two mislabelled ones
    text = " ".join(c.source for c in source("01_knn").cells if c.cell_type == "markdown")
    assert f"Below are {len(points)} labelled points" in text and "three clouds of 15 points" in text
    assert np.bincount(labels[:-2]).tolist() == [15, 15, 15] and len(points) == len(labels) == 47
    # The two mislabelled points sit in another class's cloud: nearest centre, not their label.
    cloud = np.argmin(((points[-2:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    assert np.all(cloud != labels[-2:])
    for metric in ("l2", "l1"):     # k = 1: an island of their own label ...
        assert np.array_equal(ns["knn_on_points"](metric, 1, points[-2:]), labels[-2:])
    assert np.array_equal(ns["knn_on_points"]("l2", 5, points[-2:]), cloud)   # ... outvoted at k = 5
    for a, b in [("l2_k1", "l2_k5"), ("l1_k1", "l2_k1")]:
        assert ns[a].shape == (200, 200) and 0 < np.mean(ns[a] != ns[b]) < 0.2


def test_knn_timing_cell_says_faster_or_slower():
    def two_loops(X_test, X_train):
        return None

    fake = {"two loops": 2.0, "one loop": 4.0, "no loops": 0.05}
    ns = {"compute_distances_two_loops": two_loops, "compute_distances_one_loop": two_loops,
          "compute_distances_no_loops": two_loops, "X_test": np.zeros((60, 2)), "X_train": np.zeros((5, 2))}
    cell = code_cell(source("01_knn"), "timings = best_times(")
    import contextlib
    import io

    import matplotlib

    matplotlib.use("Agg")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(cell.source, {**ns, "np": np, "plt": __import__("matplotlib.pyplot").pyplot,
                           "best_times": lambda calls, repeats: {name: fake[name] for name in calls}})
    text = out.getvalue()
    assert "one loop" in text and "(2.0x slower than two loops)" in text
    assert "(40.0x faster than two loops)" in text and "faster than two loops)" not in text.splitlines()[0]


def test_knn_opening_holds_the_generated_points_table():
    nb = source("01_knn")
    assert "<!-- points-table -->" in nb.cells[0].source.splitlines()
    assert "| part |" not in nb.cells[0].source
    assert not any("Added" in c.source and "since the table" in c.source for c in nb.cells)


def test_svm_worked_example_losses():
    ns = {"np": np}
    exec(code_cell(source("02_svm"), "example_scores = np.array").source, ns)
    losses = ns["margins"].sum(axis=1)
    np.testing.assert_allclose(losses, [2.9, 0.0, 12.9], atol=1e-12)
    assert round(losses.mean(), 2) == 5.27


def test_four_pixel_example_scores():
    # 02: the lecture's cat image with four pixels: dog 437.9, cat -96.8, ship 60.75 with its bias
    # (the slide's 61.95 is W x without it); the bias trick gives the same scores.
    ns = {"np": np}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(code_cell(source("02_svm"), "x_pixels = np.array").source, ns)
    np.testing.assert_allclose(ns["pixel_scores"], [-96.8, 437.9, 60.75], atol=1e-12)
    assert (ns["W_rows"] @ ns["x_pixels"])[2] == pytest.approx(61.95)
    np.testing.assert_allclose(ns["x_tilde"] @ ns["W_tilde"], ns["pixel_scores"], atol=1e-12)
    assert "predicted class: dog" in out.getvalue()


def test_w_and_2w_give_the_car_image_zero_loss():
    # 02: the lecture's W vs 2W numbers on the car image, and the penalty of 2W four times W's.
    ns = {"np": np}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(code_cell(source("02_svm"), "example_scores = np.array").source, ns)
        exec(code_cell(source("02_svm"), "W_example = example_scores").source, ns)
    lines = out.getvalue().splitlines()[-2:]
    assert "max(0, -2.6) and max(0, -1.9), loss 0.0" in lines[0]
    assert "max(0, -6.2) and max(0, -4.8), loss 0.0" in lines[1]
    assert "89.54" in lines[0] and "358.16" in lines[1]


def test_numerical_gradient_spec_names_a_one_sided_difference():
    one_sided = """
def numerical_gradient_entry(f, W, index, h=1e-5):
    V = W.copy()
    base = f(V)
    V[index] += h
    return (f(V) - base) / h
"""
    messages = failures("02_svm", "test_numerical_gradient",
                        namespace("02_svm", {"ex_numerical_gradient": one_sided}))
    assert messages and all("one-sided" in m for m in messages), messages


def test_03_tunes_both_classifiers_with_02s_search():
    # 03: "That is notebook 02's search, so the SVM's numbers are the ones notebook 02 prints";
    # tests/lib/test_lessons.py runs this search on both datasets.
    settings = grid_settings("02_svm")
    assert set(settings) == {"learning_rates", "regs", "lr_factor", "reg_factor", "max_extensions"}
    assert grid_settings("03_softmax") == settings
    for aid in ("02_svm", "03_softmax"):
        text = "\n".join(c.source for c in source(aid).cells if c.cell_type == "code")
        assert "get_cifar10_data(subtract_mean=True, add_bias=True, dtype=np.float32)" in text
        assert 'data["X_dev"].astype(np.float64)' in text
        assert "num_iters = 1500 if ON_CIFAR else 300" in text


def test_score_gradients_at_zero_weights():
    # 03: at W = 0 the SVM's gradient with respect to the ten scores is +1 (nine times) and -9, the
    # softmax's 0.1 and -0.9: ten times smaller.
    from cs231n_lib.layers import softmax_loss, svm_loss
    scores, y = np.zeros((1, 10)), np.array([3])
    d_svm, d_softmax = svm_loss(scores, y)[1][0], softmax_loss(scores, y)[1][0]
    np.testing.assert_allclose(d_svm, np.where(np.arange(10) == 3, -9.0, 1.0))
    np.testing.assert_allclose(d_softmax, np.where(np.arange(10) == 3, -0.9, 0.1))
    assert np.linalg.norm(d_svm) / np.linalg.norm(d_softmax) == pytest.approx(10.0)


def test_softmax_worked_example_losses():
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    losses = np.log(np.exp(scores).sum(axis=1)) - scores[np.arange(3), [0, 1, 2]]
    assert [round(v, 2) for v in losses] == [2.04, 0.08, 6.16] and round(losses.mean(), 2) == 2.76


@pytest.mark.parametrize("aid", IDS)
def test_source_solutions_pass_every_case(aid):
    ns = namespace(aid)
    for gid in load_spec(COURSE.spec(aid)):
        assert failures(aid, gid, ns) == [], gid


MISTAKES = [
    ("01_knn", "ex_no_loops", "test_no_loops", "no clamp before sqrt gives nan", """
def compute_distances_no_loops(X_test, X_train):
    sq = np.sum(X_test**2, axis=1)[:, None] + np.sum(X_train**2, axis=1) - 2 * X_test @ X_train.T
    return np.sqrt(sq)
"""),
    ("01_knn", "ex_two_loops", "test_two_loops", "squared distances", """
def compute_distances_two_loops(X_test, X_train):
    return ((X_test[:, None, :] - X_train[None, :, :]) ** 2).sum(axis=2)
"""),
    ("01_knn", "ex_predict", "test_predict", "ties go to the nearest, not the smallest label", """
from collections import Counter
def predict_labels(dists, y_train, k=1):
    return np.array([Counter(y_train[np.argsort(r)[:k]].tolist()).most_common(1)[0][0] for r in dists])
"""),
    ("01_knn", "ex_predict", "test_predict", "off by one neighbour", """
def predict_labels(dists, y_train, k=1):
    return np.array([np.bincount(y_train[np.argsort(r)[:max(k - 1, 1)]]).argmax() for r in dists])
"""),
    ("01_knn", "ex_l1", "test_l1", "L2 instead of L1", """
def compute_distances_l1(X_test, X_train):
    return np.sqrt(((X_test[:, None, :] - X_train[None, :, :]) ** 2).sum(axis=2))
"""),
    ("01_knn", "ex_cross_validate", "test_cross_validate", "k clamped instead of nan", """
def cross_validate_k(X_train, y_train, k_choices, num_folds=5):
    folds = np.array_split(np.arange(X_train.shape[0]), num_folds)
    acc = np.zeros((len(k_choices), num_folds))
    for f, v in enumerate(folds):
        t = np.concatenate([folds[g] for g in range(num_folds) if g != f])
        d = compute_distances_no_loops(X_train[v], X_train[t])
        for a, k in enumerate(k_choices):
            acc[a, f] = np.mean(predict_labels(d, y_train[t], k=min(k, len(t))) == y_train[v])
    return acc
"""),
    ("01_knn", "ex_cross_validate", "test_cross_validate", "shuffled folds", """
def cross_validate_k(X_train, y_train, k_choices, num_folds=5):
    order = np.random.default_rng(0).permutation(len(y_train))
    folds = np.array_split(order, num_folds)
    acc = np.full((len(k_choices), num_folds), np.nan)
    for f, v in enumerate(folds):
        t = np.concatenate([folds[g] for g in range(num_folds) if g != f])
        d = compute_distances_no_loops(X_train[v], X_train[t])
        for a, k in enumerate(k_choices):
            if k <= len(t):
                acc[a, f] = np.mean(predict_labels(d, y_train[t], k=k) == y_train[v])
    return acc
"""),
    ("02_svm", "ex_svm_naive", "test_svm_naive", "regularisation gradient without the factor 2", """
_right = svm_loss_naive
def svm_loss_naive(W, X, y, reg):
    loss, dW = _right(W, X, y, reg)
    return loss, dW - reg * W
"""),
    ("02_svm", "ex_svm_vectorized", "test_svm_vectorized", "correct class counted in the loss", """
def svm_loss_vectorized(W, X, y, reg):
    s = X @ W
    m = np.maximum(0, s - s[np.arange(len(y)), y][:, None] + 1)
    c = (m > 0).astype(float)
    c[np.arange(len(y)), y] -= c.sum(axis=1)
    return m.sum() / len(y) + reg * np.sum(W * W), X.T @ c / len(y) + 2 * reg * W
"""),
    ("02_svm", "ex_svm_vectorized", "test_svm_vectorized", "sum instead of mean over examples", """
_right = svm_loss_vectorized
def svm_loss_vectorized(W, X, y, reg):
    loss, dW = _right(W, X, y, 0.0)
    return loss * len(y) + reg * np.sum(W * W), dW * len(y) + 2 * reg * W
"""),
    ("02_svm", "ex_sgd", "test_sgd", "W0 updated in place", """
def sgd_train(W0, X, y, loss_fn, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, seed=0):
    rng, W, hist = np.random.default_rng(seed), W0, []
    for _ in range(num_iters):
        idx = rng.integers(0, X.shape[0], size=batch_size)
        loss, grad = loss_fn(W, X[idx], y[idx], reg)
        hist.append(loss)
        W -= learning_rate * grad
    return W, hist
"""),
    ("02_svm", "ex_sgd", "test_sgd", "gradient ascent", """
def sgd_train(W0, X, y, loss_fn, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, seed=0):
    rng, W, hist = np.random.default_rng(seed), W0.copy(), []
    for _ in range(num_iters):
        idx = rng.integers(0, X.shape[0], size=batch_size)
        loss, grad = loss_fn(W, X[idx], y[idx], reg)
        hist.append(loss)
        W = W + learning_rate * grad
    return W, hist
"""),
    ("02_svm", "ex_sgd", "test_sgd", "loss recorded after the update", """
def sgd_train(W0, X, y, loss_fn, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, seed=0):
    rng, W, hist = np.random.default_rng(seed), W0.copy(), []
    for _ in range(num_iters):
        idx = rng.integers(0, X.shape[0], size=batch_size)
        W = W - learning_rate * loss_fn(W, X[idx], y[idx], reg)[1]
        hist.append(loss_fn(W, X[idx], y[idx], reg)[0])
    return W, hist
"""),
    ("02_svm", "ex_numerical_gradient", "test_numerical_gradient", "W left nudged down", """
def numerical_gradient_entry(f, W, index, h=1e-5):
    W[index] += h
    plus = f(W)
    W[index] -= 2 * h
    return (plus - f(W)) / (2 * h)
"""),
    ("02_svm", "ex_numerical_gradient", "test_numerical_gradient", "divided by h instead of 2h", """
def numerical_gradient_entry(f, W, index, h=1e-5):
    V, U = W.copy(), W.copy()
    V[index] += h
    U[index] -= h
    return (f(V) - f(U)) / h
"""),
    ("02_svm", "ex_numerical_gradient", "test_numerical_gradient", "the same nudge evaluated twice", """
def numerical_gradient_entry(f, W, index, h=1e-5):
    V = W.copy()
    V[index] += h
    plus = f(V)
    V[index] -= h
    return (plus - f(V)) / (2 * h)
"""),
    ("02_svm", "ex_sgd", "test_linear_predict", "argmin", """
def linear_predict(W, X):
    return np.argmin(X @ W, axis=1)
"""),
    ("03_softmax", "ex_softmax_naive", "test_softmax_naive", "no max shift: overflow", """
def softmax_loss_naive(W, X, y, reg):
    s = X @ W
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(len(y)), y])) + reg * np.sum(W * W)
    p[np.arange(len(y)), y] -= 1
    return loss, X.T @ p / len(y) + 2 * reg * W
"""),
    ("03_softmax", "ex_softmax_vectorized", "test_softmax_vectorized", "gradient sign of the one-hot", """
_right = softmax_loss_vectorized
def softmax_loss_vectorized(W, X, y, reg):
    loss, dW = _right(W, X, y, reg)
    onehot = np.zeros((len(y), W.shape[1]))
    onehot[np.arange(len(y)), y] = 1
    return loss, dW + 2 * X.T @ onehot / len(y)
"""),
]


@pytest.mark.parametrize("aid, exercise, gid, why, wrong", MISTAKES, ids=[m[3] for m in MISTAKES])
def test_spec_catches_mistake(aid, exercise, gid, why, wrong):
    assert failures(aid, gid, namespace(aid, appended(aid, exercise, wrong))), f"{gid} does not catch: {why}"
