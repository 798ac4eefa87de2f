"""Multiclass SVM loss of a linear classifier, with loops and vectorised.

Scores are X @ W; W has one column per class. With margin delta = 1 the loss is

    L = 1/N sum_i sum_{j != y_i} max(0, s_ij - s_iy_i + 1) + reg * sum(W * W)

and the regularisation gradient is 2 * reg * W.
"""

import numpy as np

from cs231n_lib._validate import linear_inputs
from cs231n_lib.layers import svm_loss


def svm_loss_naive(W, X, y, reg):
    """Multiclass SVM loss and gradient, with explicit loops over examples and classes.

    Inputs:
    - W: weights of shape (D, C)
    - X: a minibatch of data of shape (N, D)
    - y: labels of shape (N,), y[i] = c means X[i] has label c, 0 <= c < C
    - reg: regularisation strength (float)

    Returns a tuple of:
    - loss: scalar
    - dW: gradient of the loss with respect to W, shape (D, C)
    """
    W, X, y = linear_inputs(W, X, y)
    N, C = X.shape[0], W.shape[1]
    dW = np.zeros(W.shape, dtype=np.result_type(W.dtype, X.dtype, np.float64))
    loss = 0.0
    for i in range(N):
        scores = X[i] @ W
        correct = scores[y[i]]
        for j in range(C):
            if j == y[i]:
                continue
            margin = scores[j] - correct + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / N + reg * np.sum(W * W)
    dW = dW / N + 2 * reg * W
    return float(loss), dW


def svm_loss_vectorized(W, X, y, reg):
    """Multiclass SVM loss and gradient, without loops.

    Inputs and outputs are the same as svm_loss_naive.
    """
    W, X, y = linear_inputs(W, X, y)
    scores = X @ W  # (N, C)
    data_loss, dscores = svm_loss(scores, y)
    loss = data_loss + reg * np.sum(W * W)
    dW = X.T @ dscores + 2 * reg * W
    return float(loss), dW
