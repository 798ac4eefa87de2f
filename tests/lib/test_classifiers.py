"""Tests of cs231n_lib.classifiers: kNN distances and votes, SVM/softmax losses, linear classifiers."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.special import logsumexp

from cs231n_lib.classifiers.k_nearest_neighbor import KNearestNeighbor
from cs231n_lib.classifiers.linear_classifier import LinearClassifier, LinearSVM, Softmax
from cs231n_lib.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from cs231n_lib.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
from cs231n_lib.gradient_check import eval_numerical_gradient

# ---------------------------------------------------------------------------
# k-nearest neighbours
# ---------------------------------------------------------------------------

KNN_SHAPES = [(5, 3, 4), (17, 1, 30), (40, 9, 3072), (1, 6, 2)]  # (num_train, num_test, D)


@pytest.mark.parametrize("metric, scipy_metric", [("l2", "euclidean"), ("l1", "cityblock")])
@pytest.mark.parametrize("num_train, num_test, D", KNN_SHAPES)
def test_knn_three_distance_versions_agree_with_cdist(metric, scipy_metric, num_train, num_test, D):
    rng = np.random.default_rng(num_train * 1000 + D)
    X_train = rng.standard_normal((num_train, D)) * 3 + 1
    X_test = rng.standard_normal((num_test, D)) * 3 + 1
    knn = KNearestNeighbor(metric=metric)
    knn.train(X_train, rng.integers(0, 3, num_train))
    expected = cdist(X_test, X_train, metric=scipy_metric)
    for method in (knn.compute_distances_two_loops, knn.compute_distances_one_loop,
                   knn.compute_distances_no_loops):
        got = method(X_test)
        assert got.shape == (num_test, num_train)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10, err_msg=method.__name__)


def test_knn_l1_no_loops_blocks_cover_every_pair(monkeypatch):
    # Force tiny blocks so the blocking (test and train blocks, ragged last blocks) is exercised.
    from cs231n_lib.classifiers import k_nearest_neighbor as knn_module

    monkeypatch.setattr(knn_module, "_L1_BLOCK_BYTES", 3 * 7 * 8)
    rng = np.random.default_rng(3)
    X_train, X_test = rng.standard_normal((11, 7)), rng.standard_normal((5, 7))
    knn = KNearestNeighbor(metric="l1")
    knn.train(X_train, np.zeros(11, dtype=int))
    np.testing.assert_allclose(knn.compute_distances_no_loops(X_test),
                               cdist(X_test, X_train, "cityblock"), rtol=1e-12)


def test_knn_no_loops_identical_points_give_exact_zero_not_nan():
    # Rounding in ||a||^2 + ||b||^2 - 2ab can go slightly negative; sqrt must not give NaN.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 50)) * 1e3
    knn = KNearestNeighbor()
    knn.train(X, np.arange(20))
    d = knn.compute_distances_no_loops(X)
    assert np.all(np.isfinite(d))
    np.testing.assert_allclose(np.diag(d), 0, atol=1e-3)
    assert np.all(d >= 0)


def test_knn_uint8_images_do_not_wrap_around():
    X_train = np.array([[0, 255], [10, 10]], dtype=np.uint8)
    X_test = np.array([[255, 0]], dtype=np.uint8)
    knn = KNearestNeighbor()
    knn.train(X_train, np.array([0, 1]))
    expected = cdist(X_test.astype(float), X_train.astype(float))
    for loops in (0, 1, 2):
        method = [knn.compute_distances_no_loops, knn.compute_distances_one_loop,
                  knn.compute_distances_two_loops][loops]
        np.testing.assert_allclose(method(X_test), expected, rtol=1e-12)


def test_knn_inputs_not_modified():
    rng = np.random.default_rng(1)
    X_train, X_test = rng.standard_normal((6, 4)), rng.standard_normal((3, 4))
    y = np.array([0, 1, 2, 0, 1, 2])
    copies = X_train.copy(), X_test.copy(), y.copy()
    knn = KNearestNeighbor()
    knn.train(X_train, y)
    for loops in (0, 1, 2):
        knn.predict(X_test, k=3, num_loops=loops)
    for a, b in zip((X_train, X_test, y), copies):
        np.testing.assert_array_equal(a, b)


def _knn_with_labels(y_train):
    knn = KNearestNeighbor()
    knn.train(np.zeros((len(y_train), 1)), np.asarray(y_train))
    return knn


def test_predict_labels_vote_tie_goes_to_smaller_label():
    knn = _knn_with_labels([3, 1, 2, 1, 3])
    # k=4 nearest are training points 0..3 (labels 3, 1, 2, 1): label 1 wins outright.
    dists = np.array([[0.1, 0.2, 0.3, 0.4, 0.5]])
    assert knn.predict_labels(dists, k=4).tolist() == [1]
    # k=2: labels 3 and 1 tie with one vote each -> the smaller label, 1.
    assert knn.predict_labels(dists, k=2).tolist() == [1]
    # k=5: 3 and 1 tie with two votes each -> 1.
    assert knn.predict_labels(dists, k=5).tolist() == [1]
    # Ordered the other way the tie still goes to the smaller label.
    assert knn.predict_labels(np.array([[0.2, 0.1, 0.5, 0.4, 0.3]]), k=2).tolist() == [1]


def test_predict_labels_k1_is_nearest_and_equal_distances_go_in_training_order():
    knn = _knn_with_labels([4, 0, 2])
    dists = np.array([[3.0, 1.0, 2.0], [0.5, 0.5, 0.1], [1.0, 1.0, 1.0]])
    assert knn.predict_labels(dists, k=1).tolist() == [0, 2, 4]


def test_predict_labels_k_equal_training_size_is_majority_of_all_labels():
    rng = np.random.default_rng(5)
    y_train = np.array([2, 0, 2, 1, 2, 0, 1])
    knn = _knn_with_labels(y_train)
    dists = rng.random((6, 7))
    assert knn.predict_labels(dists, k=7).tolist() == [2] * 6


def test_predict_labels_matches_a_loop_over_test_points():
    rng = np.random.default_rng(7)
    y_train = rng.integers(0, 5, 30)
    knn = _knn_with_labels(y_train)
    dists = rng.integers(0, 6, (25, 30)).astype(float)  # many equal distances
    for k in (1, 2, 3, 8, 30):
        expected = []
        for row in dists:
            order = sorted(range(30), key=lambda j, row=row: (row[j], j))[:k]
            counts = np.bincount(y_train[order], minlength=5)
            expected.append(min(c for c in range(5) if counts[c] == counts.max()))
        assert knn.predict_labels(dists, k=k).tolist() == expected


def test_knn_predict_end_to_end_l1_and_l2():
    # Two clusters; each test point sits next to one cluster.
    X_train = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 10.0], [10.0, 11.0]])
    y_train = np.array([0, 0, 1, 1])
    X_test = np.array([[0.5, 0.2], [9.0, 9.5]])
    for metric in ("l1", "l2"):
        knn = KNearestNeighbor(metric=metric)
        knn.train(X_train, y_train)
        for loops in (0, 1, 2):
            assert knn.predict(X_test, k=1, num_loops=loops).tolist() == [0, 1]
            assert knn.predict(X_test, k=2, num_loops=loops).tolist() == [0, 1]


def test_knn_l1_and_l2_can_disagree():
    # Test point (0, 0); A = (3, 3) has L1 6, L2 4.24; B = (0, 5) has L1 5, L2 5.
    X_train = np.array([[3.0, 3.0], [0.0, 5.0]])
    y_train = np.array([0, 1])
    X_test = np.zeros((1, 2))
    predictions = {}
    for metric in ("l1", "l2"):
        knn = KNearestNeighbor(metric=metric)
        knn.train(X_train, y_train)
        predictions[metric] = knn.predict(X_test, k=1).item()
    assert predictions == {"l1": 1, "l2": 0}


def test_knn_bad_input():
    knn = KNearestNeighbor()
    with pytest.raises(RuntimeError, match="train"):
        knn.predict(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="metric"):
        KNearestNeighbor(metric="cosine")
    with pytest.raises(ValueError, match=r"y must have shape \(N,\) = \(3,\)"):
        knn.train(np.zeros((3, 2)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="labels y"):
        knn.train(np.zeros((2, 2)), np.array([0, -1]))
    with pytest.raises(ValueError, match="integer"):
        knn.train(np.zeros((2, 2)), np.array([0.0, 1.0]))
    knn.train(np.zeros((3, 2)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"X must have shape \(num_test, D\) with D = 2"):
        knn.compute_distances_no_loops(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="k must be at most num_train = 3"):
        knn.predict(np.zeros((1, 2)), k=4)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        knn.predict(np.zeros((1, 2)), k=0)
    with pytest.raises(ValueError, match="num_loops"):
        knn.predict(np.zeros((1, 2)), num_loops=3)
    with pytest.raises(ValueError, match="dists must have shape"):
        knn.predict_labels(np.zeros((2, 5)))


# ---------------------------------------------------------------------------
# SVM and softmax losses of a linear classifier
# ---------------------------------------------------------------------------

LOSSES = [(svm_loss_naive, svm_loss_vectorized), (softmax_loss_naive, softmax_loss_vectorized)]
LOSS_SHAPES = [(7, 5, 3), (20, 13, 10), (1, 4, 2)]  # (N, D, C)


def _linear_case(rng, N, D, C):
    W = rng.standard_normal((D, C)) * 0.5
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    return W, X, y


def test_svm_lecture_example():
    # Lecture notes: three images (cat, car, frog), scores listed per image. The notes
    # write examples as columns; here row i holds the scores of example i.
    scores = np.array([[3.2, 5.1, -1.7],    # cat image, label cat (0): loss 2.9
                       [1.3, 4.9, 2.0],     # car image, label car (1): loss 0
                       [2.2, 2.5, -3.1]])   # frog image, label frog (2): loss 12.9
    y = np.array([0, 1, 2])
    X = np.eye(3)  # X @ W = W, so W holds the scores
    for fn in (svm_loss_naive, svm_loss_vectorized):
        loss, _ = fn(scores, X, y, 0.0)
        assert loss == pytest.approx((2.9 + 0 + 12.9) / 3, abs=1e-12)
        assert round(loss, 2) == 5.27
        # Per-example losses, one example at a time.
        per_example = [fn(scores, X[i:i + 1], y[i:i + 1], 0.0)[0] for i in range(3)]
        np.testing.assert_allclose(per_example, [2.9, 0.0, 12.9], atol=1e-12)


def _svm_loss_reference(W, X, y, reg):
    scores = X @ W
    correct = scores[np.arange(len(y)), y][:, None]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(len(y)), y] = 0
    return margins.sum() / len(y) + reg * np.sum(W ** 2)


def _softmax_loss_reference(W, X, y, reg):
    scores = X @ W
    return np.mean(logsumexp(scores, axis=1) - scores[np.arange(len(y)), y]) + reg * np.sum(W ** 2)


@pytest.mark.parametrize("N, D, C", LOSS_SHAPES)
@pytest.mark.parametrize("pair, reference", [(LOSSES[0], _svm_loss_reference),
                                             (LOSSES[1], _softmax_loss_reference)])
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_linear_losses_value_and_numerical_gradient(pair, reference, N, D, C, reg):
    rng = np.random.default_rng(N * 100 + D + C)
    W, X, y = _linear_case(rng, N, D, C)
    expected = reference(W, X, y, reg)
    for fn in pair:
        W0, X0 = W.copy(), X.copy()
        loss, dW = fn(W, X, y, reg)
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(X, X0)
        assert loss == pytest.approx(expected, rel=1e-12, abs=1e-12)
        num = eval_numerical_gradient(lambda w, fn=fn: fn(w, X, y, reg)[0], W.copy(),
                                      verbose=False, h=1e-5)
        assert dW.shape == (D, C)
        # Centred differences at h = 1e-5 are good to ~1e-10 here (loss ~ 1, rounding
        # 1e-16 / h; softmax's curvature h^2); relative error only for entries not tiny.
        np.testing.assert_allclose(dW, num, rtol=1e-7, atol=1e-9, err_msg=fn.__name__)


@pytest.mark.parametrize("pair", LOSSES)
def test_naive_and_vectorized_agree(pair):
    rng = np.random.default_rng(11)
    W, X, y = _linear_case(rng, 50, 30, 10)
    loss_n, grad_n = pair[0](W, X, y, 0.05)
    loss_v, grad_v = pair[1](W, X, y, 0.05)
    assert loss_n == pytest.approx(loss_v, rel=1e-12)
    np.testing.assert_allclose(grad_n, grad_v, rtol=1e-10, atol=1e-12)


def test_softmax_initial_loss_is_log_c_and_stable_for_huge_scores():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((100, 20))
    y = rng.integers(0, 10, 100)
    for fn in (softmax_loss_naive, softmax_loss_vectorized):
        loss, _ = fn(np.zeros((20, 10)), X, y, 0.0)
        assert loss == pytest.approx(np.log(10), rel=1e-12)
        # Scores around 1e4 overflow exp without the max shift.
        W = rng.standard_normal((20, 10)) * 1e3
        loss, dW = fn(W, X, y, 0.0)
        assert np.isfinite(loss) and np.all(np.isfinite(dW))
        assert loss == pytest.approx(_softmax_loss_reference(W, X, y, 0.0), rel=1e-12)


def test_regularisation_term_and_gradient():
    # With zero data the loss is reg * sum(W^2) plus the data loss at zero scores.
    W = np.array([[1.0, -2.0], [0.5, 3.0]])
    X = np.zeros((3, 2))
    y = np.array([0, 1, 1])
    for fn in (svm_loss_naive, svm_loss_vectorized):
        loss, dW = fn(W, X, y, 0.1)
        assert loss == pytest.approx(1.0 + 0.1 * 14.25)  # each example: margin 1
        np.testing.assert_allclose(dW, 0.2 * W)
    for fn in (softmax_loss_naive, softmax_loss_vectorized):
        loss, dW = fn(W, X, y, 0.1)
        assert loss == pytest.approx(np.log(2) + 0.1 * 14.25)
        np.testing.assert_allclose(dW, 0.2 * W)


@pytest.mark.parametrize("fn", [f for pair in LOSSES for f in pair])
def test_linear_losses_bad_input(fn):
    W, X, y = np.zeros((4, 3)), np.zeros((5, 4)), np.zeros(5, dtype=int)
    with pytest.raises(ValueError, match=r"X must have shape \(N, D\) with D = W.shape\[0\] = 4"):
        fn(W, np.zeros((5, 6)), y, 0.0)
    with pytest.raises(ValueError, match=r"labels y must lie in \[0, C\) = \[0, 3\)"):
        fn(W, X, np.array([0, 1, 2, 3, 0]), 0.0)
    with pytest.raises(ValueError, match=r"y must have shape \(N,\) = \(5,\)"):
        fn(W, X, np.zeros(4, dtype=int), 0.0)
    with pytest.raises(ValueError, match=r"W must have shape \(D, C\)"):
        fn(np.zeros(4), X, y, 0.0)


# ---------------------------------------------------------------------------
# Linear classifiers trained with SGD
# ---------------------------------------------------------------------------


def _blobs(rng, N=300, D=10, C=3):
    centers = rng.standard_normal((C, D)) * 3
    y = rng.integers(0, C, N)
    return centers[y] + rng.standard_normal((N, D)), y


@pytest.mark.parametrize("cls", [LinearSVM, Softmax])
def test_linear_classifier_training_lowers_loss_and_fits(cls):
    rng = np.random.default_rng(0)
    X, y = _blobs(rng)
    clf = cls(seed=1)
    history = clf.train(X, y, learning_rate=1e-2, reg=1e-4, num_iters=300, batch_size=50)
    assert len(history) == 300
    assert np.mean(history[-20:]) < 0.5 * np.mean(history[:5])
    assert clf.W.shape == (10, 3)
    assert np.mean(clf.predict(X) == y) > 0.95


def test_linear_classifier_initial_weights_and_seed_reproducibility():
    rng = np.random.default_rng(0)
    X, y = _blobs(rng, N=40, D=6, C=4)
    clf = Softmax(seed=5)
    clf.train(X, y, num_iters=0)
    np.testing.assert_array_equal(clf.W, 0.001 * np.random.default_rng(5).standard_normal((6, 4)))
    a, b = Softmax(seed=3), Softmax()
    ha = a.train(X, y, num_iters=20, batch_size=8)
    hb = b.train(X, y, num_iters=20, batch_size=8, seed=3)
    assert ha == hb
    np.testing.assert_array_equal(a.W, b.W)


def test_linear_classifier_minibatch_sampling_with_replacement():
    # One SGD step from W = 0 with lr 1 equals -(gradient on the drawn minibatch).
    rng = np.random.default_rng(1)
    X, y = _blobs(rng, N=30, D=5, C=3)
    clf = LinearSVM(seed=9)
    clf.train(X, y, num_iters=0)
    W0 = clf.W.copy()
    clf.train(X, y, learning_rate=1.0, reg=0.0, num_iters=1, batch_size=40)  # batch > N is fine
    replay = np.random.default_rng(9)
    replay.standard_normal((5, 3))
    idx = replay.integers(0, 30, size=40)
    _, grad = svm_loss_vectorized(W0, X[idx], y[idx], 0.0)
    np.testing.assert_allclose(clf.W, W0 - grad, rtol=1e-12)


def test_linear_classifier_bad_input():
    clf = Softmax(seed=0)
    with pytest.raises(RuntimeError, match="train"):
        clf.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"y must have shape \(N,\) = \(4,\)"):
        clf.train(np.zeros((4, 3)), np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="batch_size"):
        clf.train(np.zeros((4, 3)), np.zeros(4, dtype=int), batch_size=0)
    clf.train(np.zeros((4, 3)), np.array([0, 1, 2, 1]), num_iters=1)
    with pytest.raises(ValueError, match=r"labels y must lie in \[0, C\) = \[0, 3\)"):
        clf.train(np.zeros((4, 3)), np.array([0, 1, 3, 1]), num_iters=1)
    with pytest.raises(ValueError, match=r"D = W.shape\[0\] = 3"):
        clf.predict(np.zeros((2, 4)))
    with pytest.raises(NotImplementedError):
        LinearClassifier().train(np.zeros((2, 2)), np.array([0, 1]), num_iters=1)
