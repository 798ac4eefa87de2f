"""Honest work scores full marks, equivalent shortcuts score nothing (issue 12), on the real specs.

Each honest variant is written the way students write CS231n solutions (helpers and constants in
cells of their own, a failing sanity line between two functions, CS231n's global reseed in
dropout, `x >= 0` in the ReLU, keepdims shapes, `np.linalg.norm`, the library's sandwiches and
`batchnorm_backward_alt` where the notebook gives them); it must pass every case of its checks,
and the public checks of its test cells too. Each shortcut reaches the answer through something
the exercise does not allow (scipy, another model of the library, a degenerate maxout or leaky
ReLU, a private helper of the fast layers); it must fail every case with a message naming it.
The verifier's own functions build the namespace and run the checks (see nbhelpers).
"""

import pytest
from nbhelpers import COURSE, exercise_source, failures, namespace, public_test_errors

# ----------------------------------------------------------------------------- honest variants

# Every assignment of the course (grading/source/<id>/), the one list of ids.
AIDS = COURSE.assignment_ids()

HELPERS_ABOVE = """
import math
import time

SQUARE = 2
EPSILON = np.finfo(float).eps * 0

def squared_distance(a, b):
    return np.sum((a - b) ** SQUARE)

time.sleep(60)            # "training" in a cell of the student's: the grader must not run it
plt.figure()
"""

TWO_LOOPS_WITH_HELPER = """
def compute_distances_two_loops(X_test, X_train):
    num_test, num_train = X_test.shape[0], X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            dists[i, j] = math.sqrt(squared_distance(X_test[i], X_train[j]) + EPSILON)
    return dists
"""

ONE_LOOP_NORM = """
def compute_distances_one_loop(X_test, X_train):
    dists = np.zeros((X_test.shape[0], X_train.shape[0]))
    for i in range(X_test.shape[0]):
        dists[i, :] = np.linalg.norm(X_train - X_test[i], axis=1)
    return dists
"""

CROSS_VALIDATE_WITH_SANITY_LINE = """
def fold_indices(num_train, num_folds):
    return np.array_split(np.arange(num_train), num_folds)

print(len(fold_indices(X_dev.shape[0], 5)))     # a quick look at data the grader never loads

def cross_validate_k(X_train, y_train, k_choices, num_folds):
    folds = fold_indices(X_train.shape[0], num_folds)
    accuracies = np.full((len(k_choices), num_folds), np.nan)
    for f, val in enumerate(folds):
        train = np.concatenate([folds[g] for g in range(num_folds) if g != f])
        dists = compute_distances_no_loops(X_train[val], X_train[train])
        for a, k in enumerate(k_choices):
            if k <= len(train):
                accuracies[a, f] = np.mean(predict_labels(dists, y_train[train], k) == y_train[val])
    return accuracies
"""

CROSS_VALIDATE_LIBRARY_KNN = """
def cross_validate_k(X_train, y_train, k_choices, num_folds):
    folds = np.array_split(np.arange(X_train.shape[0]), num_folds)
    accuracies = np.full((len(k_choices), num_folds), np.nan)
    for f, val in enumerate(folds):
        train = np.concatenate([folds[g] for g in range(num_folds) if g != f])
        knn = KNearestNeighbor()
        knn.train(X_train[train], y_train[train])
        dists = knn.compute_distances_no_loops(X_train[val])
        for a, k in enumerate(k_choices):
            if k <= len(train):
                accuracies[a, f] = np.mean(knn.predict_labels(dists, k=k) == y_train[val])
    return accuracies
"""

SVM_DELTA_ABOVE = "DELTA = 1.0\n"

SVM_NAIVE_WITH_DELTA = """
def svm_loss_naive(W, X, y, reg):
    dW = np.zeros(W.shape)
    num_classes, num_train = W.shape[1], X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + DELTA
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW
"""

RELU_GE = """
def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    dx, x = None, cache
    dx = dout * (x >= 0)
    return dx
"""

TWO_LAYER_SANDWICH = """
def two_layer_net_loss(params, X, y=None, reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    hidden, cache1 = affine_relu_forward(X, W1, b1)
    scores, cache2 = affine_forward(hidden, W2, b2)
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    loss += 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    grads = {}
    dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, cache2)
    _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, cache1)
    grads["W1"] += reg * W1
    grads["W2"] += reg * W2
    return loss, grads
"""

CONV_CS231N = """
def conv_forward_naive(x, w, b, conv_param):
    out = None
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param['stride'], conv_param['pad']
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), 'constant')
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache
"""

SPATIAL_BN_ALT = """
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    x_flat = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out_flat, cache = batchnorm_forward(x_flat, gamma, beta, bn_param)
    out = out_flat.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dout_flat = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    dx_flat, dgamma, dbeta = batchnorm_backward_alt(dout_flat, cache)
    dx = dx_flat.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, dgamma, dbeta
"""

CONVNET_OWN_LOOPS = """
def three_layer_convnet_loss(params, X, y=None, reg=0.0, conv_param=None, pool_param=None):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    filter_size = W1.shape[2]
    conv_param = conv_param or {"stride": 1, "pad": (filter_size - 1) // 2}
    pool_param = pool_param or {"pool_height": 2, "pool_width": 2, "stride": 2}
    conv, conv_cache = conv_forward_naive(X, W1, b1, conv_param)
    relu = np.maximum(conv, 0)
    pooled, pool_cache = max_pool_forward_naive(relu, pool_param)
    hidden, hidden_cache = affine_relu_forward(pooled, W2, b2)
    scores, scores_cache = affine_forward(hidden, W3, b3)
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    grads = {}
    dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
    dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, hidden_cache)
    drelu = max_pool_backward_naive(dpooled, pool_cache)
    _, grads["W1"], grads["b1"] = conv_backward_naive(drelu * (conv > 0), conv_cache)
    for k in ("W1", "W2", "W3"):
        loss += 0.5 * reg * np.sum(params[k] ** 2)
        grads[k] = grads[k] + reg * params[k]
    return loss, grads
"""

BATCHNORM_KEEPDIMS = """
def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    out, cache = None, None
    if mode == "train":
        mu = np.mean(x, axis=0, keepdims=True)
        var = np.var(x, axis=0, keepdims=True)
        x_hat = (x - mu) / np.sqrt(var + eps)
        out = gamma * x_hat + beta
        cache = (x, x_hat, mu, var, gamma, eps)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache
"""

BATCHNORM_BACKWARD_KEEPDIMS = """
def batchnorm_backward(dout, cache):
    x, x_hat, mu, var, gamma, eps = cache
    N = x.shape[0]
    dbeta = np.sum(dout, axis=0, keepdims=True)
    dgamma = np.sum(dout * x_hat, axis=0, keepdims=True)
    dx_hat = dout * gamma
    dvar = np.sum(dx_hat * (x - mu) * -0.5 * (var + eps) ** -1.5, axis=0)
    dmu = np.sum(-dx_hat / np.sqrt(var + eps), axis=0) + dvar * np.mean(-2 * (x - mu), axis=0)
    dx = dx_hat / np.sqrt(var + eps) + dvar * 2 * (x - mu) / N + dmu / N
    return dx, dgamma, dbeta
"""

DROPOUT_FORWARD_CS231N = """
def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    out = None
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    elif mode == "test":
        out = x
    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache
"""

DROPOUT_BACKWARD_CS231N = """
def dropout_backward(dout, cache):
    dropout_param, mask = cache
    mode = dropout_param["mode"]
    dx = None
    if mode == "train":
        dx = dout * mask
    elif mode == "test":
        dx = dout
    return dx
"""


def _fc_one_seed_for_all_layers():
    """The source's fc_net_loss giving every layer the same seed, as CS231n does."""
    source = exercise_source("06_batchnorm_dropout", "ex_fc_net_loss")
    line = 'layer_param["seed"] = (layer_param["seed"], i)'
    assert line in source
    return source.replace(line, "pass")


SOFTMAX_COPY_IN_PLACE = """
def softmax_loss(x, y):
    N = x.shape[0]
    x = x.copy()                                # in place, on a copy: the caller's x is untouched
    x -= np.max(x, axis=1, keepdims=True)
    probs = np.exp(x)
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    dx = probs
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx
"""

HONEST_CONVNET = "three-layer convnet from the student's own loops and the sandwiches"

# (name, assignment, {exercise: source}, {exercise: cell added above it}, graded checks)
HONEST = [
    ("helpers, imports and constants in a cell above, heavy work skipped", "01_knn",
     {"ex_two_loops": TWO_LOOPS_WITH_HELPER}, {"ex_two_loops": HELPERS_ABOVE}, ["test_two_loops"]),
    ("np.linalg.norm in the one-loop distance", "01_knn",
     {"ex_one_loop": ONE_LOOP_NORM}, {}, ["test_one_loop"]),
    ("a failing sanity line between two functions", "01_knn",
     {"ex_cross_validate": CROSS_VALIDATE_WITH_SANITY_LINE}, {}, ["test_cross_validate"]),
    ("the library's KNearestNeighbor in cross-validation", "01_knn",
     {"ex_cross_validate": CROSS_VALIDATE_LIBRARY_KNN}, {}, ["test_cross_validate"]),
    ("a constant defined in a cell above", "02_svm",
     {"ex_svm_naive": SVM_NAIVE_WITH_DELTA}, {"ex_svm_naive": SVM_DELTA_ABOVE}, ["test_svm_naive"]),
    ("ReLU backward with x >= 0", "04_two_layer_net", {"ex_relu": RELU_GE}, {}, ["test_relu"]),
    ("softmax_loss shifting a copy of x in place", "04_two_layer_net",
     {"ex_softmax_loss": SOFTMAX_COPY_IN_PLACE}, {}, ["test_softmax_loss"]),
    ("two-layer net with the affine_relu sandwiches", "04_two_layer_net",
     {"ex_two_layer_net": TWO_LAYER_SANDWICH}, {}, ["test_two_layer_net"]),
    ("CS231n conv forward (no stride check)", "05_cnn", {"ex_conv_forward": CONV_CS231N}, {},
     ["test_conv_forward"]),
    ("spatial batch norm with batchnorm_backward_alt", "05_cnn", {"ex_spatial_bn": SPATIAL_BN_ALT}, {},
     ["test_spatial_bn"]),
    (HONEST_CONVNET, "05_cnn",
     {"ex_three_layer_convnet": CONVNET_OWN_LOOPS}, {}, ["test_three_layer_convnet"]),
    ("batch norm with (1, D) running averages and gradients", "06_batchnorm_dropout",
     {"ex_batchnorm_forward": BATCHNORM_KEEPDIMS, "ex_batchnorm_backward": BATCHNORM_BACKWARD_KEEPDIMS}, {},
     ["test_batchnorm_forward", "test_batchnorm_backward"]),
    ("CS231n dropout: np.random.seed(seed) + np.random.rand", "06_batchnorm_dropout",
     {"ex_dropout_forward": DROPOUT_FORWARD_CS231N, "ex_dropout_backward": DROPOUT_BACKWARD_CS231N}, {},
     ["test_dropout_forward", "test_dropout_backward"]),
    ("fc_net_loss with CS231n dropout, one seed for every layer", "06_batchnorm_dropout",
     {"ex_dropout_forward": DROPOUT_FORWARD_CS231N, "ex_dropout_backward": DROPOUT_BACKWARD_CS231N,
      "ex_fc_net_loss": None}, {}, ["test_fc_net_loss"]),
]


def _running_mean_keepdims():
    """The source's batch norm, storing its running mean with shape (1, D) (its cache unchanged)."""
    return exercise_source("06_batchnorm_dropout", "ex_batchnorm_forward") + """
_batchnorm_forward = batchnorm_forward

def batchnorm_forward(x, gamma, beta, bn_param):
    out, cache = _batchnorm_forward(x, gamma, beta, bn_param)
    bn_param["running_mean"] = np.asarray(bn_param["running_mean"]).reshape(1, -1)
    return out, cache
"""


def _replacements(replace):
    special = {None: _fc_one_seed_for_all_layers, "keepdims running mean": _running_mean_keepdims}
    return {gid: special[src]() if src in special else src for gid, src in replace.items()}


@pytest.mark.parametrize(("name", "aid", "replace", "added", "checks"), HONEST, ids=[h[0] for h in HONEST])
def test_honest_variant_scores_full_marks(name, aid, replace, added, checks):
    notes = []
    ns = namespace(aid, _replacements(replace), added, notes=notes)
    for gid in checks:
        assert failures(aid, gid, ns) == [], gid


# The public checks of the test cells (as released: hidden tests removed) agree with the grader.
# (01 and 02's test cells need the notebook's data; the convnet's public gradient checks through
# naive loops take most of a minute.)
PUBLIC = [h for h in HONEST if h[1] not in ("01_knn", "02_svm") and h[2] != HONEST_CONVNET]


@pytest.mark.parametrize(("name", "aid", "replace", "added", "checks"), PUBLIC, ids=[h[0] for h in PUBLIC])
def test_honest_variant_passes_the_public_checks(name, aid, replace, added, checks):
    assert public_test_errors(aid, checks, _replacements(replace), added) == {}


def test_failing_statement_is_noted_and_later_definitions_kept():
    notes = []
    ns = namespace("01_knn", {"ex_cross_validate": CROSS_VALIDATE_WITH_SANITY_LINE}, notes=notes)
    assert "cross_validate_k" in ns
    assert any("ex_cross_validate, line 5: NameError" in note for note in notes), notes


def test_added_cell_runs_only_its_definitions():
    ns = namespace("01_knn", added={"ex_two_loops": HELPERS_ABOVE + "\nLOADED = np.load('x.npy')\n"})
    assert {"squared_distance", "SQUARE", "math", "EPSILON"} <= set(ns)
    assert "LOADED" not in ns            # a call that is not a small numpy/math constant


# ----------------------------------------------------------------------------- shortcuts

# (name, assignment, {exercise: source}, {exercise: cell added above it}, check, name in the message)
CHEATS = [
    ("scipy euclidean, imported in a cell above", "01_knn", {"ex_two_loops": """
def compute_distances_two_loops(X_test, X_train):
    dists = np.zeros((X_test.shape[0], X_train.shape[0]))
    for i in range(X_test.shape[0]):
        for j in range(X_train.shape[0]):
            dists[i, j] = euclidean(X_test[i], X_train[j])
    return dists
"""}, {"ex_two_loops": "from scipy.spatial.distance import euclidean\n"}, "test_two_loops",
     "scipy.spatial.distance.euclidean"),
    ("scipy cdist", "01_knn", {"ex_one_loop": """
from scipy.spatial.distance import cdist

def compute_distances_one_loop(X_test, X_train):
    return cdist(X_test, X_train)
"""}, {}, "test_one_loop", "scipy.spatial.distance.cdist"),
    ("scipy distance_matrix", "01_knn", {"ex_no_loops": """
from scipy.spatial import distance_matrix

def compute_distances_no_loops(X_test, X_train):
    return distance_matrix(X_test, X_train)
"""}, {}, "test_no_loops", "distance_matrix"),
    ("the library's KNearestNeighbor for a distance", "01_knn", {"ex_one_loop": """
def compute_distances_one_loop(X_test, X_train):
    knn = KNearestNeighbor()
    knn.train(X_train, np.zeros(len(X_train), dtype=int))
    return knn.compute_distances_one_loop(X_test)
"""}, {}, "test_one_loop", "KNearestNeighbor"),
    ("FullyConnectedNet for the two-layer net", "04_two_layer_net", {"ex_two_layer_net": """
def two_layer_net_loss(params, X, y=None, reg=0.0):
    D, H = params["W1"].shape
    net = FullyConnectedNet([H], input_dim=D, num_classes=params["W2"].shape[1], reg=reg)
    net.params = {k: v.copy() for k, v in params.items()}
    return net.loss(X, y)
"""}, {"ex_two_layer_net": "from cs231n_lib.classifiers.fc_net import FullyConnectedNet\n"},
     "test_two_layer_net", "FullyConnectedNet"),
    ("maxout with one piece for the affine layer", "04_two_layer_net", {"ex_affine_forward": """
def affine_forward(x, w, b):
    out, _ = maxout_forward(x, w[None], b[None])
    return out, (x, w, b)
"""}, {}, "test_affine_forward", "maxout_forward"),
    ("leaky ReLU with alpha 0 for the ReLU", "04_two_layer_net", {"ex_relu": """
def relu_forward(x):
    return leaky_relu_forward(x, alpha=0.0)[0], x


def relu_backward(dout, cache):
    return leaky_relu_backward(dout, (cache, 0.0))
"""}, {}, "test_relu", "leaky_relu_forward"),
    ("the fast conv layer for the loops", "05_cnn", {"ex_conv_forward": """
def conv_forward_naive(x, w, b, conv_param):
    return conv_forward_fast(x, w, b, conv_param)[0], (x, w, b, conv_param)
"""}, {}, "test_conv_forward", "conv_forward_fast"),
    ("a private helper of the fast pooling", "05_cnn", {"ex_pool_forward": """
from cs231n_lib.fast_pool import _max_along

def max_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H_out, W_out = 1 + (x.shape[2] - ph) // s, 1 + (x.shape[3] - pw) // s
    rows, _ = _max_along(x, 3, pw, s, W_out)
    out, _ = _max_along(rows, 2, ph, s, H_out)
    return out, (x, pool_param)
"""}, {}, "test_pool_forward", "_max_along"),
    ("the library's dropout", "06_batchnorm_dropout", {"ex_dropout_forward": """
def dropout_forward(x, dropout_param):
    return ref_dropout_forward(x, dropout_param)
"""}, {}, "test_dropout_forward", "dropout_forward"),
    ("FullyConnectedNet for fc_net_loss", "06_batchnorm_dropout", {"ex_fc_net_loss": """
def fc_net_loss(params, X, y=None, normalization=None, bn_params=None, dropout_param=None, reg=0.0):
    hidden = [params[f"W{i}"].shape[1] for i in range(1, sum(k[0] == "W" for k in params))]
    net = FullyConnectedNet(hidden, input_dim=X.shape[1], num_classes=params[f"W{len(hidden) + 1}"].shape[1],
                            normalization=normalization, reg=reg, dtype=np.float64)
    net.params = params
    return net.loss(X, y)
"""}, {}, "test_fc_net_loss", "FullyConnectedNet"),
    ("the library's RMSProp", "07_optimizers", {"ex_rmsprop": """
def rmsprop(w, dw, config=None):
    return optim.rmsprop(w, dw, config)
"""}, {}, "test_rmsprop", "cs231n_lib.optim.rmsprop"),
]


@pytest.mark.parametrize(("name", "aid", "replace", "added", "check", "called"), CHEATS,
                         ids=[c[0] for c in CHEATS])
def test_shortcut_scores_zero_naming_the_call(name, aid, replace, added, check, called):
    ns = namespace(aid, replace, added)
    messages = failures(aid, check, ns)
    assert messages, f"{check} does not catch: {name}"
    assert all(called in m and "does not allow" in m for m in messages), messages[0]


# ----------------------------------------------------------------------------- the real verifier

SANDBOXED = [
    ("01_knn", {"ex_two_loops": TWO_LOOPS_WITH_HELPER, "ex_one_loop": CHEATS[1][2]["ex_one_loop"],
                "ex_cross_validate": CROSS_VALIDATE_WITH_SANITY_LINE},
     {"ex_two_loops": HELPERS_ABOVE}, {"test_one_loop"}),
    ("06_batchnorm_dropout", {"ex_dropout_forward": DROPOUT_FORWARD_CS231N,
                              "ex_dropout_backward": DROPOUT_BACKWARD_CS231N, "ex_fc_net_loss": None,
                              "ex_batchnorm_forward": "keepdims running mean"}, {}, set()),
]


@pytest.mark.slow
@pytest.mark.parametrize(("aid", "replace", "added", "zero"), SANDBOXED, ids=[s[0] for s in SANDBOXED])
def test_sandboxed_verifier_agrees(aid, replace, added, zero, tmp_path):
    """The same variants through the real verifier (bubblewrap when it works here): honest cells
    score, the shortcut does not, and a (1, D) answer passes with its note."""
    from nbhelpers import COURSE, student_notebook

    from autograder.sandbox.bwrap import Sandbox, bwrap_status
    from autograder.sandbox.limits import Limits
    from autograder.verify.runner import run_verification
    from autograder.verify.spec import load_spec

    nb = student_notebook(aid, _replacements(replace), added)
    sandbox = Sandbox(enabled=bwrap_status() is None, limits=Limits(cell_timeout=20))
    result = run_verification(aid, COURSE.source_notebook(aid), nb, load_spec(COURSE.spec(aid)),
                              sandbox=sandbox, workdir=tmp_path)
    failed = {gid for gid, r in result.results.items() if not r.passed}
    assert failed == zero, {gid: result.results[gid].message for gid in failed}
    for gid in zero:
        assert "does not allow" in result.results[gid].message
    if aid == "06_batchnorm_dropout":
        assert "note: " in result.results["test_batchnorm_forward"].message


# ----------------------------------------------------------------------------- test cells

@pytest.mark.parametrize("aid", AIDS)
def test_no_released_test_cell_evaluates_to_a_value(aid):
    """nbgrader takes a test cell's number as partial credit: the last statement of every released
    test cell is not a bare expression, or the cell ends in ';'."""
    import ast

    from nbhelpers import released

    from autograder.notebook import is_autograded_test, nbgrader_meta

    shown = []
    for cell in released(aid).cells:
        if is_autograded_test(cell):
            body = ast.parse(cell.source).body
            if body and isinstance(body[-1], ast.Expr) and not cell.source.rstrip().endswith(";"):
                shown.append(nbgrader_meta(cell)["grade_id"])
    assert shown == []


def test_rule_is_stated_in_every_notebook():
    from nbhelpers import released

    for aid in AIDS:
        text = "\n".join(c.source for c in released(aid).cells if c.cell_type == "markdown")
        assert "**What your code may use.**" in text, aid
        assert "cells of your own *above* an" in " ".join(text.split()), aid


PUBLIC_CHEATS = [c for c in CHEATS if c[1] not in ("01_knn", "02_svm", "03_softmax")]   # no data needed


@pytest.mark.parametrize(("name", "aid", "replace", "added", "check", "called"), PUBLIC_CHEATS,
                         ids=[c[0] for c in PUBLIC_CHEATS])
def test_public_checks_warn_about_the_shortcut(name, aid, replace, added, check, called):
    errors = public_test_errors(aid, [check], replace, added)
    assert check in errors and "your code uses" in errors[check], errors


@pytest.mark.parametrize("aid", AIDS)
def test_public_rule_check_gives_the_specs_names(aid):
    """Each test cell's check_rule(...) allows exactly what the grader's Check.allowed does."""
    import ast

    from nbhelpers import COURSE, source

    from autograder.notebook import HIDDEN_RE, is_autograded_test, nbgrader_meta
    from autograder.verify.spec import load_spec

    spec = load_spec(COURSE.spec(aid))
    for cell in source(aid).cells:
        if not is_autograded_test(cell):
            continue
        calls = [node for node in ast.walk(ast.parse(HIDDEN_RE.sub("", cell.source)))
                 if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check_rule"]
        gid = nbgrader_meta(cell)["grade_id"]
        assert len(calls) == 1, gid
        allowed = {k.arg: ast.literal_eval(k.value) for k in calls[0].keywords}.get("allowed", ())
        assert tuple(allowed) == spec[gid].allowed, gid


def test_public_checks_do_not_depend_on_the_other_exercises():
    """A right batchnorm_backward_alt passes its public checks next to a wrong graph version
    (they compare with the library's, as the grader does)."""
    wrong = exercise_source("06_batchnorm_dropout", "ex_batchnorm_backward").replace(
        "dx = dx_centered + dmean / N", "dx = dx_centered")
    assert public_test_errors("06_batchnorm_dropout", ["test_batchnorm_backward_alt"],
                              {"ex_batchnorm_backward": wrong}) == {}


def test_public_rule_check_allows_what_an_allowed_module_defines():
    """An allowed module (the open-ended tasks' model library) allows its own classes and
    functions, as the grader's Watch does, but not a name it merely imports."""
    from autograder.verify.heldout import MODEL_LIBRARY
    from cs231n_lib.checks import CheckFailed, check_rule

    ns = {"__name__": "__main__"}
    exec("from cs231n_lib.classifiers.fc_net import TwoLayerNet\n"
         "from cs231n_lib.solver import Solver\n"
         "from cs231n_lib.data import get_cifar10_data\n"
         "def model(data):\n"
         "    return Solver(TwoLayerNet(), data)\n"
         "def peek(data):\n"
         "    return get_cifar10_data()\n", ns)
    check_rule("model", [ns["model"]], allowed=MODEL_LIBRARY)
    with pytest.raises(CheckFailed, match="get_cifar10_data"):
        check_rule("peek", [ns["peek"]], allowed=MODEL_LIBRARY)
    with pytest.raises(CheckFailed, match="TwoLayerNet"):
        check_rule("model", [ns["model"]], allowed=("cs231n_lib.solver",))


# ----------------------------------------------------------------------------- grader and public checks agree
# Each case is graded by the grader (every case of the check) and by the notebook's public checks
# (the released test cell), and both must give the verdict a fair human grader would: honest
# variants in CS231n's conventions pass both, each common mistake fails both, and the public
# check's FAIL block names the mistake.

GROUPNORM_BACKWARD_C_SHAPED = """
def spatial_groupnorm_backward(dout, cache):
    # CS231n 2018-2020's docstring: dgamma and dbeta of shape (C,)
    x_hat, std, gamma, G = cache
    N, C, H, W = dout.shape
    dbeta = dout.sum(axis=(0, 2, 3))
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3))
    g = (dout * gamma).reshape(N, G, -1)
    xh = x_hat.reshape(N, G, -1)
    dx = (g - g.mean(axis=2, keepdims=True) - xh * (g * xh).mean(axis=2, keepdims=True)) / std
    return dx.reshape(dout.shape), dgamma, dbeta
"""


def _fc_net_keepdims():
    """The source's fc_net_loss with the keepdims batch norm above (its own backward pass)."""
    source = exercise_source("06_batchnorm_dropout", "ex_fc_net_loss")
    line = "batchnorm_backward_alt(dout, norm_cache)"
    assert line in source
    return source.replace(line, "batchnorm_backward(dout, norm_cache)")


AGREE_HONEST = [
    ("group norm returning dgamma, dbeta of shape (C,)", "06_batchnorm_dropout",
     {"ex_spatial_groupnorm_backward": GROUPNORM_BACKWARD_C_SHAPED}, {}, ["test_spatial_groupnorm_backward"]),
    ("fc_net_loss on batch norm with (1, D) statistics and gradients", "06_batchnorm_dropout",
     {"ex_batchnorm_forward": BATCHNORM_KEEPDIMS, "ex_batchnorm_backward": BATCHNORM_BACKWARD_KEEPDIMS,
      "ex_fc_net_loss": "fc_net keepdims"}, {}, ["test_fc_net_loss"]),
]


def _agree_replacements(replace):
    return {gid: _fc_net_keepdims() if src == "fc_net keepdims" else src for gid, src in replace.items()}


@pytest.mark.parametrize(("name", "aid", "replace", "added", "checks"), AGREE_HONEST,
                         ids=[h[0] for h in AGREE_HONEST])
def test_accepted_shape_passes_grader_and_public_checks(name, aid, replace, added, checks):
    from autograder.verify.compare import Accepted
    from autograder.verify.runner import _case_message

    replace = _agree_replacements(replace)
    ns = namespace(aid, replace, added)
    for gid in checks:
        assert failures(aid, gid, ns) == [], gid
    assert public_test_errors(aid, checks, replace, added) == {}
    # ... and the grader says why it accepted the shape
    import copy

    import numpy as np
    from nbhelpers import COURSE

    from autograder.verify.spec import case_seed, load_spec, student_case
    from autograder.verify.worker import evaluate

    check = load_spec(COURSE.spec(aid))[checks[0]]
    cases = check.cases(np.random.default_rng(case_seed(aid, checks[0])))
    answers = evaluate(check.call, ns, [student_case(c) for c in copy.deepcopy(cases)], check.allowed,
                       mutable=check.mutable)
    verdicts = [_case_message(check, case, answer, check.expected(copy.deepcopy(case)))
                for case, answer in zip(cases, answers)]
    assert any(isinstance(v, Accepted) and "axes of length 1" in v for v in verdicts), verdicts


SOFTMAX_SHIFT_IN_PLACE = """
def softmax_loss(x, y):
    N = x.shape[0]
    x -= x.max(axis=1, keepdims=True)          # changes the caller's scores
    probs = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), y]).mean()
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    return loss, dx / N
"""

PREDICT_BY_SET_ORDER = """
def predict_labels(dists, y_train, k=1):
    y_pred = np.zeros(dists.shape[0], dtype=np.int64)
    for i in range(dists.shape[0]):
        closest_y = list(y_train[np.argsort(dists[i])[:k]])
        y_pred[i] = max(set(closest_y), key=closest_y.count)     # a tie goes to the set's first label
    return y_pred
"""

POOL_WINDOW_SWAPPED = """
def max_pool_forward_naive(x, pool_param):
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    H_out, W_out = 1 + (H - ph) // stride, 1 + (W - pw) // stride
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + pw, j * stride:j * stride + ph].max(axis=(2, 3))
    return out, (x, pool_param)
"""


def _halved_regulariser(aid, gid):
    """The source's naive loss with 0.5 * reg in the loss and reg * W in the gradient: consistent
    with itself (its gradient check passes), not with the notebook's loss."""
    source = exercise_source(aid, gid)
    for old, new in (("reg * np.sum(W * W)", "0.5 * reg * np.sum(W * W)"), ("2 * reg * W", "reg * W")):
        assert old in source, (gid, old)
        source = source.replace(old, new)
    return source


# Small stand-ins for the data 02/03's test cells read (their checks hold on any data).
DEV_DATA = ("_rng = np.random.default_rng(5)\nX_dev = _rng.standard_normal((40, 20))\n"
            "y_dev = _rng.integers(0, 10, size=40)\nnum_classes = 10\n"
            "example_scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])\n"
            "example_y = np.array([0, 1, 2])\n")

# (name, assignment, {exercise: source}, {exercise: cell added above it}, check,
#  text in the grader's message, text in the public check's FAIL block)
RELU_IN_PLACE = """
def relu_forward(x):
    cache = x.copy()
    x[x < 0] = 0                               # zeroes the caller's array
    return x, cache


def relu_backward(dout, cache):
    dout[cache <= 0] = 0                       # and the caller's upstream gradient
    return dout
"""

RMSPROP_SCALING_DW_IN_PLACE = """
def rmsprop(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    config["cache"] = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * dw ** 2
    dw /= np.sqrt(config["cache"]) + config["epsilon"]           # the caller's gradient
    return w - config["learning_rate"] * dw, config
"""

AGREE_WRONG = [
    ("RMSProp scaling the caller's dw in place", "07_optimizers", {"ex_rmsprop": RMSPROP_SCALING_DW_IN_PLACE}, {},
     "test_rmsprop", "changed its input dws in place", "changed its input dw in place"),
    ("ReLU zeroing its input in place", "04_two_layer_net", {"ex_relu": RELU_IN_PLACE}, {}, "test_relu",
     "in place", "relu_forward leaves its input unchanged: changed its input x in place"),
    ("softmax_loss shifting its input in place (x -= max)", "04_two_layer_net",
     {"ex_softmax_loss": SOFTMAX_SHIFT_IN_PLACE}, {}, "test_softmax_loss",
     "changed its input x in place", "softmax_loss leaves its inputs unchanged: changed its input x in place"),
    ("a vote tie broken by set order", "01_knn", {"ex_predict": PREDICT_BY_SET_ORDER}, {}, "test_predict",
     "entries differ", "smallest label"),
    ("pool_height and pool_width swapped", "05_cnn", {"ex_pool_forward": POOL_WINDOW_SWAPPED}, {},
     "test_pool_forward", "entries differ", "2x3 windows"),
    ("naive SVM loss with 0.5 * reg (and reg * W)", "02_svm",
     {"ex_svm_naive": ("halved", "ex_svm_naive")}, {"ex_svm_naive": DEV_DATA}, "test_svm_naive",
     "differ", "the regulariser has a factor 0.5"),
    ("naive softmax loss with 0.5 * reg (and reg * W)", "03_softmax",
     {"ex_softmax_naive": ("halved", "ex_softmax_naive")}, {"ex_softmax_naive": DEV_DATA}, "test_softmax_naive",
     "differ", "the regulariser has a factor 0.5"),
]


@pytest.mark.parametrize(("name", "aid", "replace", "added", "check", "graded", "public"), AGREE_WRONG,
                         ids=[w[0] for w in AGREE_WRONG])
def test_mistake_fails_grader_and_public_checks(name, aid, replace, added, check, graded, public):
    replace = {gid: _halved_regulariser(aid, src[1]) if isinstance(src, tuple) else src
               for gid, src in replace.items()}
    messages = failures(aid, check, namespace(aid, replace, added))
    assert messages and any(graded in m for m in messages), messages
    errors = public_test_errors(aid, [check], replace, added)
    assert check in errors and public in errors[check], errors


def test_right_answers_with_dev_stand_ins_pass_the_public_checks():
    """The stand-in data above is enough for 02/03's test cells: the source passes them."""
    assert public_test_errors("02_svm", ["test_svm_naive"], added={"ex_svm_naive": DEV_DATA}) == {}
    assert public_test_errors("03_softmax", ["test_softmax_naive"], added={"ex_softmax_naive": DEV_DATA}) == {}


@pytest.mark.slow
def test_sandboxed_verifier_checks_inputs_and_accepts_shapes(tmp_path):
    """Through the real verifier (bubblewrap when it works here): the changed input fails with
    its message, (C,) group-norm gradients pass with their note."""
    from nbhelpers import COURSE, student_notebook

    from autograder.sandbox.bwrap import Sandbox, bwrap_status
    from autograder.sandbox.limits import Limits
    from autograder.verify.runner import run_verification
    from autograder.verify.spec import load_spec

    sandbox = Sandbox(enabled=bwrap_status() is None, limits=Limits(cell_timeout=20))
    for aid, replace, gid, passed, text in [
            ("04_two_layer_net", {"ex_softmax_loss": SOFTMAX_SHIFT_IN_PLACE}, "test_softmax_loss", False,
             "changed its input x in place"),
            ("06_batchnorm_dropout", {"ex_spatial_groupnorm_backward": GROUPNORM_BACKWARD_C_SHAPED},
             "test_spatial_groupnorm_backward", True, "note: ")]:
        spec = load_spec(COURSE.spec(aid))
        result = run_verification(aid, COURSE.source_notebook(aid), student_notebook(aid, replace),
                                  {gid: spec[gid]}, sandbox=sandbox, workdir=tmp_path)
        assert result.results[gid].passed is passed and text in result.results[gid].message, \
            result.results[gid].message
