"""Softmax (cross-entropy) loss of a linear classifier, with loops and vectorised.

Scores are X @ W; W has one column per class. The loss is

    L = -1/N sum_i log(exp(s_iy_i) / sum_j exp(s_ij)) + reg * sum(W * W)

computed stably by subtracting each row's largest score before exponentiating
(softmax does not change when a constant is added to every score).
"""

import numpy as np

from cs231n_lib._validate import linear_inputs
from cs231n_lib.layers import softmax_loss


def softmax_loss_naive(W, X, y, reg):
    """Softmax loss and gradient, with an explicit loop over examples.

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
        scores = scores - np.max(scores)
        exp_scores = np.exp(scores)
        total = np.sum(exp_scores)
        loss += np.log(total) - scores[y[i]]
        for j in range(C):
            p_j = exp_scores[j] / total
            dW[:, j] += (p_j - (j == y[i])) * X[i]
    loss = loss / N + reg * np.sum(W * W)
    dW = dW / N + 2 * reg * W
    return float(loss), dW


def softmax_loss_vectorized(W, X, y, reg):
    """Softmax loss and gradient, without loops.

    Inputs and outputs are the same as softmax_loss_naive.
    """
    W, X, y = linear_inputs(W, X, y)
    scores = X @ W  # (N, C)
    data_loss, dscores = softmax_loss(scores, y)
    loss = data_loss + reg * np.sum(W * W)
    dW = X.T @ dscores + 2 * reg * W
    return float(loss), dW
