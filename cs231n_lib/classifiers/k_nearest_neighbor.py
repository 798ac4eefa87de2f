"""k-nearest-neighbour classifier with L2 (Euclidean) or L1 (Manhattan) distances.

The three distance methods compute the same matrix and exist to teach vectorisation:
two Python loops, one loop over the test points, and no loops. The L2 no-loop
version expands ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b, so its cost is one matrix
product; it works in place in the output matrix (no (num_test, num_train, D) array).
"""

import numpy as np

from cs231n_lib._validate import as_2d, as_labels, positive_int

METRICS = ("l2", "l1")

# The L1 no-loop version broadcasts blocks of test points against blocks of training
# points, sized so the (test block, train block, D) temporary stays near this many bytes
# (cache-sized: 1 MiB blocks run twice as fast as 32 MiB ones).
_L1_BLOCK_BYTES = 1 << 20


class KNearestNeighbor:
    """kNN classifier: memorise the training set, vote among the k closest training points.

    Inputs:
    - metric: "l2" (Euclidean distance, the default as in CS231n) or "l1" (sum of absolute
      differences)

    After train(X, y) the instance holds X_train (num_train, D) and y_train (num_train,).
    """

    def __init__(self, metric="l2"):
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        self.metric = metric
        self.X_train = None
        self.y_train = None

    def train(self, X, y):
        """Memorise the training data (kNN has no other training step).

        Inputs:
        - X: training data of shape (num_train, D)
        - y: training labels of shape (num_train,), non-negative integers
        """
        X = as_2d(X, "X", "(num_train, D)")
        y = as_labels(y, X.shape[0], match="X")
        if X.shape[0] == 0:
            raise ValueError("X must hold at least one training point, got shape (0, D)")
        self.X_train = X
        self.y_train = y

    def predict(self, X, k=1, num_loops=0):
        """Predict a label for each test point.

        Inputs:
        - X: test data of shape (num_test, D)
        - k: number of nearest neighbours that vote
        - num_loops: which distance implementation to use: 0, 1 or 2 Python loops

        Returns:
        - y_pred: predicted labels of shape (num_test,)
        """
        methods = {
            0: self.compute_distances_no_loops,
            1: self.compute_distances_one_loop,
            2: self.compute_distances_two_loops,
        }
        if num_loops not in methods:
            raise ValueError(f"num_loops must be 0, 1 or 2, got {num_loops!r}")
        return self.predict_labels(methods[num_loops](X), k=k)

    # -- distances ----------------------------------------------------------------------

    def _test_data(self, X):
        """Validate test data against the training data; return both as float arrays."""
        if self.X_train is None:
            raise RuntimeError("call train(X, y) before computing distances or predicting")
        X = as_2d(X, "X", "(num_test, D)")
        D = self.X_train.shape[1]
        if X.shape[1] != D:
            raise ValueError(
                f"X must have shape (num_test, D) with D = {D} as in the training data, "
                f"got X.shape = {X.shape}"
            )
        # Integer images (uint8) would wrap around when subtracted: compute in floats.
        dtype = np.result_type(X.dtype, self.X_train.dtype)
        if dtype.kind != "f":
            dtype = np.dtype(np.float64)
        return X.astype(dtype, copy=False), self.X_train.astype(dtype, copy=False)

    def compute_distances_two_loops(self, X):
        """Distances between each test and each training point, with a double loop.

        Inputs:
        - X: test data of shape (num_test, D)

        Returns:
        - dists: shape (num_test, num_train); dists[i, j] is the distance between the
          i-th test point and the j-th training point
        """
        X, X_train = self._test_data(X)
        dists = np.zeros((X.shape[0], X_train.shape[0]), dtype=X.dtype)
        for i in range(X.shape[0]):
            for j in range(X_train.shape[0]):
                diff = X[i] - X_train[j]
                if self.metric == "l2":
                    dists[i, j] = np.sqrt(np.sum(diff * diff))
                else:
                    dists[i, j] = np.sum(np.abs(diff))
        return dists

    def compute_distances_one_loop(self, X):
        """Distances between each test and each training point, looping over test points.

        Inputs:
        - X: test data of shape (num_test, D)

        Returns:
        - dists: shape (num_test, num_train)
        """
        X, X_train = self._test_data(X)
        dists = np.zeros((X.shape[0], X_train.shape[0]), dtype=X.dtype)
        for i in range(X.shape[0]):
            diff = X_train - X[i]  # (num_train, D), broadcast over the training points
            if self.metric == "l2":
                dists[i] = np.sqrt(np.sum(diff * diff, axis=1))
            else:
                dists[i] = np.sum(np.abs(diff), axis=1)
        return dists

    def compute_distances_no_loops(self, X):
        """Distances between each test and each training point, without Python loops.

        L2: ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b for all pairs at once, one matrix
        product, then in-place updates of that (num_test, num_train) matrix; tiny
        negative values left by rounding are clamped to 0 before the square root.
        Extra memory: the output matrix plus two vectors of squared norms.

        L1 has no such expansion: it broadcasts blocks of test points against blocks of
        training points, each (test block, train block, D) temporary kept near 1 MiB.

        Inputs:
        - X: test data of shape (num_test, D)

        Returns:
        - dists: shape (num_test, num_train)
        """
        X, X_train = self._test_data(X)
        if self.metric == "l1":
            return _l1_distances_blocked(X, X_train)
        test_sq = np.einsum("ij,ij->i", X, X)  # (num_test,) squared norms
        train_sq = np.einsum("ij,ij->i", X_train, X_train)  # (num_train,)
        dists = X @ X_train.T  # the one (num_test, num_train) allocation
        dists *= -2
        dists += test_sq[:, None]
        dists += train_sq[None, :]
        np.maximum(dists, 0, out=dists)
        np.sqrt(dists, out=dists)
        return dists

    # -- voting ---------------------------------------------------------------------------

    def predict_labels(self, dists, k=1):
        """Majority vote among the k nearest training points of each test point.

        Neighbours at equal distance are taken in training order (a stable sort); a tie
        in the vote goes to the smallest label.

        Inputs:
        - dists: distances of shape (num_test, num_train)
        - k: number of neighbours that vote, 1 <= k <= num_train

        Returns:
        - y_pred: predicted labels of shape (num_test,), same integer dtype as y_train
        """
        if self.y_train is None:
            raise RuntimeError("call train(X, y) before predicting")
        num_train = self.y_train.shape[0]
        dists = as_2d(dists, "dists", "(num_test, num_train)")
        if dists.shape[1] != num_train:
            raise ValueError(
                f"dists must have shape (num_test, num_train) with num_train = {num_train}, "
                f"got {dists.shape}"
            )
        k = positive_int(k, "k")
        if k > num_train:
            raise ValueError(f"k must be at most num_train = {num_train}, got {k}")
        num_test = dists.shape[0]
        nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]  # (num_test, k)
        closest_y = self.y_train[nearest]
        num_classes = int(self.y_train.max()) + 1
        # Count votes per (test point, class) with one bincount over flattened indices.
        flat = (np.arange(num_test)[:, None] * num_classes + closest_y).ravel()
        votes = np.bincount(flat, minlength=num_test * num_classes).reshape(num_test, num_classes)
        return np.argmax(votes, axis=1).astype(self.y_train.dtype)  # argmax: first (smallest) label


def _l1_distances_blocked(X, X_train):
    """Sum of absolute differences between all pairs, one block of pairs at a time.

    Inputs:
    - X: test data of shape (num_test, D)
    - X_train: training data of shape (num_train, D), same dtype as X

    Returns:
    - dists: shape (num_test, num_train)
    """
    num_test, D = X.shape
    num_train = X_train.shape[0]
    dists = np.empty((num_test, num_train), dtype=X.dtype)
    row_bytes = max(D * X.itemsize, 1)
    train_block = max(1, min(num_train, _L1_BLOCK_BYTES // row_bytes))
    test_block = max(1, _L1_BLOCK_BYTES // (train_block * row_bytes))
    for i in range(0, num_test, test_block):
        for j in range(0, num_train, train_block):
            diff = X[i:i + test_block, None, :] - X_train[None, j:j + train_block, :]
            np.abs(diff, out=diff)
            dists[i:i + test_block, j:j + train_block] = diff.sum(axis=2)
    return dists
