"""Linear classifiers (scores = X @ W) trained by minibatch stochastic gradient descent."""

import numpy as np

from cs231n_lib._validate import as_2d, as_labels, nonnegative_int, positive_int
from cs231n_lib.classifiers.linear_svm import svm_loss_vectorized
from cs231n_lib.classifiers.softmax import softmax_loss_vectorized


class LinearClassifier:
    """Base class: SGD training and prediction; subclasses define loss().

    Inputs:
    - seed: seed of the numpy Generator (the attribute `rng`) that draws the initial
      weights and the minibatches; None for a fresh unpredictable stream

    Attributes:
    - W: weights of shape (D, C), None until the first train() call
    - rng: numpy.random.Generator
    """

    def __init__(self, seed=None):
        self.W = None
        self.rng = np.random.default_rng(seed)

    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200,
              verbose=False, seed=None):
        """Train with minibatch SGD; minibatches are sampled with replacement.

        On the first call W is drawn as 0.001 * N(0, 1) with C = max(y) + 1 classes;
        later calls continue from the current W.

        Inputs:
        - X: training data of shape (N, D)
        - y: training labels of shape (N,), integers in [0, C)
        - learning_rate: step size of each update
        - reg: regularisation strength
        - num_iters: number of SGD steps
        - batch_size: number of examples per step
        - verbose: print the loss every 100 iterations
        - seed: if given, replaces `rng` with np.random.default_rng(seed) first

        Returns:
        - loss_history: list of the minibatch loss at each iteration (length num_iters)
        """
        X = as_2d(X, "X", "(N, D)")
        num_train, dim = X.shape
        if num_train == 0:
            raise ValueError("X must hold at least one example, got shape (0, D)")
        num_iters = nonnegative_int(num_iters, "num_iters")
        batch_size = positive_int(batch_size, "batch_size")
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        if self.W is None:
            num_classes = int(as_labels(y, num_train, match="X").max()) + 1
            dtype = X.dtype if X.dtype.kind == "f" else np.float64
            self.W = (0.001 * self.rng.standard_normal((dim, num_classes))).astype(dtype)
        elif self.W.shape[0] != dim:
            raise ValueError(
                f"X must have shape (N, D) with D = W.shape[0] = {self.W.shape[0]}, "
                f"got X.shape = {X.shape}"
            )
        y = as_labels(y, num_train, self.W.shape[1], match="X")

        loss_history = []
        for it in range(num_iters):
            idx = self.rng.integers(0, num_train, size=batch_size)
            loss, grad = self.loss(X[idx], y[idx], reg)
            loss_history.append(loss)
            self.W = self.W - learning_rate * grad  # a new array: W is never updated in place
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:f}")
        return loss_history

    def predict(self, X):
        """Predict labels with the trained weights.

        Inputs:
        - X: data of shape (N, D)

        Returns:
        - y_pred: predicted labels of shape (N,), the class with the highest score
        """
        if self.W is None:
            raise RuntimeError("call train(X, y) before predict(X)")
        X = as_2d(X, "X", "(N, D)")
        if X.shape[1] != self.W.shape[0]:
            raise ValueError(
                f"X must have shape (N, D) with D = W.shape[0] = {self.W.shape[0]}, "
                f"got X.shape = {X.shape}"
            )
        return np.argmax(X @ self.W, axis=1)

    def loss(self, X_batch, y_batch, reg):
        """Loss and gradient on a minibatch; defined by the subclasses.

        Inputs:
        - X_batch: data of shape (N, D)
        - y_batch: labels of shape (N,)
        - reg: regularisation strength

        Returns a tuple of:
        - loss: scalar
        - dW: gradient with respect to self.W, shape (D, C)
        """
        raise NotImplementedError("LinearClassifier.loss is defined by LinearSVM and Softmax")


class LinearSVM(LinearClassifier):
    """Linear classifier with the multiclass SVM (hinge) loss."""

    def loss(self, X_batch, y_batch, reg):
        """Multiclass SVM loss and gradient (see svm_loss_vectorized)."""
        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """Linear classifier with the softmax (cross-entropy) loss."""

    def loss(self, X_batch, y_batch, reg):
        """Softmax loss and gradient (see softmax_loss_vectorized)."""
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)
