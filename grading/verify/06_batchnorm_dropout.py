"""Verification spec of 06_batchnorm_dropout (see docs/authoring.md): one Check per autograded test cell.

Expected answers come from the library's layers and FullyConnectedNet. The cases are seeded
random shapes plus the edge cases the notebook's text promises to handle: a batch of one
example, one feature, missing running averages (zeros), custom momentum and eps, several
train steps followed by test mode, p = 1 and a tiny keep probability in dropout, the input left
unchanged, a network without hidden layers, and dropout combined with each normalisation.
"""

import copy

import numpy as np

from autograder.verify.compare import Accepted
from autograder.verify.heldout import heldout_check
from autograder.verify.spec import Check, allclose
from cs231n_lib import layers
from cs231n_lib.checks import equivalent_shape
from cs231n_lib.classifiers.fc_net import FullyConnectedNet

L = "cs231n_lib.layers"
# Batch norm, layer norm and dropout use numpy only (every normalisation of the library can stand
# in for another: layer norm of x.T is batch norm of x). The network may use the library's layers
# (the notebook imports them), never FullyConnectedNet or the affine-norm-ReLU sandwich.
FC_ALLOWED = tuple(f"{L}.{name}" for name in (
    "affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
    "layernorm_forward", "layernorm_backward", "dropout_forward", "dropout_backward",
)) + ("cs231n_lib.layer_utils.affine_relu_forward", "cs231n_lib.layer_utils.affine_relu_backward")
# Backward passes sum over the batch: allow rounding relative to the size of the gradients.
GRAD_COMPARE = allclose(rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------ batch norm forward

def _bn_forward_cases(rng):
    """Several train steps then test mode; defaults, custom momentum/eps, given running stats."""
    cases = []
    for N, D, steps, extra in [
        (1, 4, 1, {}),                                      # one example: variance 0, out = beta
        (2, 3, 3, {"momentum": 0.5}),
        (50, 7, 4, {"eps": 1e-3}),
        (7, 100, 2, {"momentum": 0.99, "eps": 1e-4}),
        (20, 1, 3, {}),                                     # one feature
        (16, 5, 2, "given"),                                # running averages given
    ]:
        offset, scale = rng.standard_normal(D) * 5, np.exp(rng.standard_normal(D))
        xs = [offset + scale * rng.standard_normal((N, D)) for _ in range(steps)]
        bn_param = {"mode": "train"}
        if extra == "given":
            bn_param.update(running_mean=rng.standard_normal(D), running_var=rng.random(D) + 0.5)
        else:
            bn_param.update(extra)
        cases.append({"xs": xs, "x_test": offset + scale * rng.standard_normal((3, D)),
                      "gamma": rng.standard_normal(D), "beta": rng.standard_normal(D),
                      "bn_param": bn_param})
    # Large common offset: a one-pass variance formula would lose digits here.
    D = 6
    cases.append({"xs": [1e3 + rng.standard_normal((30, D)) for _ in range(2)],
                  "x_test": 1e3 + rng.standard_normal((4, D)), "gamma": np.ones(D),
                  "beta": np.zeros(D), "bn_param": {"mode": "train"}})
    return cases


BN_FORWARD_CALL = (
    "(lambda xs, x_test, gamma, beta, bn_param: "
    "[batchnorm_forward(x, gamma, beta, bn_param)[0] for x in xs] + "
    "[bn_param['running_mean'], bn_param['running_var'], "
    "batchnorm_forward(x_test, gamma, beta, dict(bn_param, mode='test'))[0]])"
    "(xs, x_test, gamma, beta, bn_param)"
)


def _bn_forward_expected(case):
    bn_param = copy.deepcopy(case["bn_param"])
    outs = [layers.batchnorm_forward(x, case["gamma"], case["beta"], bn_param)[0] for x in case["xs"]]
    test = layers.batchnorm_forward(case["x_test"], case["gamma"], case["beta"], dict(bn_param, mode="test"))[0]
    return [*outs, bn_param["running_mean"], bn_param["running_var"], test]


# ------------------------------------------------------------------ batch norm backward

def _bn_backward_cases(rng):
    cases = []
    for N, D in [(1, 3), (2, 5), (4, 4), (10, 1), (50, 30), (64, 8)]:
        cases.append({"x": rng.standard_normal((N, D)) * 3 - 2, "gamma": rng.standard_normal(D),
                      "beta": rng.standard_normal(D), "dout": rng.standard_normal((N, D)),
                      "bn_param": {"mode": "train", "eps": 1e-5}})
    return cases


def _bn_backward_expected(case):
    _, cache = layers.batchnorm_forward(case["x"], case["gamma"], case["beta"], dict(case["bn_param"]))
    return layers.batchnorm_backward(case["dout"], cache)


# ------------------------------------------------------------------ layer norm

def _ln_cases(rng):
    cases = []
    for N, D, eps in [(1, 1, 1e-5), (1, 6, 1e-5), (3, 7, 1e-3), (5, 1, 1e-5), (40, 20, 1e-5), (8, 300, 1e-5)]:
        cases.append({"x": rng.standard_normal((N, D)) * 4 + rng.standard_normal((N, 1)) * 10,
                      "gamma": rng.standard_normal(D), "beta": rng.standard_normal(D),
                      "dout": rng.standard_normal((N, D)), "ln_param": {"eps": eps}})
    return cases


def _ln_forward_expected(case):
    return layers.layernorm_forward(case["x"], case["gamma"], case["beta"], dict(case["ln_param"]))[0]


def _ln_backward_expected(case):
    _, cache = layers.layernorm_forward(case["x"], case["gamma"], case["beta"], dict(case["ln_param"]))
    return layers.layernorm_backward(case["dout"], cache)


# ------------------------------------------------------------------ dropout
# Dropout is graded by its properties, so that any way of drawing the mask is right (CS231n's
# np.random.seed(seed) + np.random.rand, a Generator, ...): each unit is 0 or x / p, about a
# fraction p is kept, the same seed gives the same mask, test mode is the identity, and the
# backward pass uses the forward pass's mask.

KEPT_SIGMAS = 6.0      # a correct dropout leaves this band with probability ~1e-9


def _dropout_cases(rng):
    cases = []
    for shape, p, mode in [((5,), 0.5, "train"), ((3, 4), 0.3, "train"), ((2, 3, 4, 5), 0.8, "train"),
                           ((1, 1), 1.0, "train"), ((7, 11), 0.05, "train"), ((50, 40), 0.5, "train"),
                           ((200, 100), 0.3, "train"), ((100, 300), 0.9, "train"),
                           ((6, 2), 0.4, "test"), ((2, 2, 2), 1.0, "test")]:
        x = rng.standard_normal(shape)
        x[np.abs(x) < 0.1] = 1.0            # no unit near 0, so kept and dropped units differ
        cases.append({"x": x, "dout": rng.standard_normal(shape),
                      "dropout_param": {"p": p, "mode": mode, "seed": int(rng.integers(0, 10_000))}})
    return cases


def _as_array(value, shape, what):
    """value as a float array of `shape`, or a message."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None, f"{what}: expected an array of shape {shape}, got {type(value).__name__}"
    if arr.shape != shape:
        return None, f"{what}: expected shape {shape}, got shape {arr.shape}"
    return arr, None


def _dropout_problem(case, out):
    """None when out is a valid inverted-dropout output of case's x, else what is wrong."""
    x, p, mode = case["x"], case["dropout_param"]["p"], case["dropout_param"]["mode"]
    out, msg = _as_array(out, x.shape, "out")
    if msg:
        return msg, None
    if mode == "test":
        return (None if np.array_equal(out, x) else "test mode must return x unchanged"), None
    kept = out != 0
    if not np.allclose(out[kept], x[kept] / p, rtol=1e-12, atol=0):
        return f"each unit must be 0 or x / p (p = {p}); some kept units are not divided by p", None
    n, k = x.size, int(kept.sum())
    band = KEPT_SIGMAS * np.sqrt(n * p * (1 - p)) + 0.5
    if abs(k - n * p) > band:
        return (f"{k} of {n} units kept with p = {p}: expected about {n * p:.0f} (a correct dropout "
                f"keeps between {max(0, n * p - band):.0f} and {min(n, n * p + band):.0f} "
                "except with negligible probability); p is the probability of keeping a unit"), None
    return None, kept


def _compare_dropout_forward(case, got, expected):
    """got = (out, out with the same seed again, x after the calls)."""
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return "expected (out, cache) from dropout_forward"
    msg, _ = _dropout_problem(case, got[0])
    if msg:
        return msg
    again, msg = _as_array(got[1], case["x"].shape, "out")
    if msg or not np.array_equal(again, np.asarray(got[0], dtype=np.float64)):
        return "the same dropout_param['seed'] must give the same mask (two calls gave different outputs)"
    x_after, msg = _as_array(got[2], case["x"].shape, "x")
    if msg or not np.array_equal(x_after, case["x"]):
        return "dropout_forward must leave its input x unchanged"
    return None


def _compare_dropout_backward(case, got, expected):
    """got = (out of the forward pass, dx from its cache): dx = dout where kept / p, 0 where dropped."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "malformed answer"
    msg, kept = _dropout_problem(case, got[0])
    if msg:
        return f"the forward pass is wrong, so the backward pass cannot be checked: {msg}"
    dx, msg = _as_array(got[1], case["x"].shape, "dx")
    if msg:
        return msg
    dout, p = case["dout"], case["dropout_param"]["p"]
    want = dout if kept is None else np.where(kept, dout / p, 0.0)
    return ALLCLOSE_EXACT(case, dx, want)


ALLCLOSE_EXACT = allclose(rtol=1e-12, atol=1e-12)
DROPOUT_FORWARD_CALL = ("(dropout_forward(x, dict(dropout_param))[0], "
                        "dropout_forward(x, dict(dropout_param))[0], x)")
DROPOUT_BACKWARD_CALL = ("(lambda r, dout: (r[0], dropout_backward(dout, r[1])))"
                         "(dropout_forward(x, dict(dropout_param)), dout)")


# ------------------------------------------------------------------ fc_net_loss
# Without dropout the loss, gradients and scores are compared with the library's
# FullyConnectedNet. With dropout the masks are the student's choice (any seeding): test-mode
# scores are compared, the same seed must give the same loss, and the gradients must match
# centred differences of the student's own loss (same seed, so the same masks) at a few entries.

FD_STEP = 1e-5
FD_ENTRIES = 6


def _fc_cases(rng):
    cases = []
    for hidden, normalization, keep, reg, N in [
        ([], None, None, 0.3, 4),                 # no hidden layer: a softmax classifier
        ([12], None, None, 0.0, 5),
        ([10, 8], None, 0.5, 0.7, 6),
        ([7], "batchnorm", None, 0.0, 8),
        ([9, 6, 5], "batchnorm", 0.6, 1.5, 10),
        ([8, 8], "layernorm", None, 0.2, 1),      # layer norm works with one example
        ([6, 5, 4], "layernorm", 0.8, 0.0, 7),
        ([20], None, 0.3, 0.1, 12),
    ]:
        D, C = int(rng.integers(3, 20)), int(rng.integers(2, 8))
        net = FullyConnectedNet(hidden, input_dim=D, num_classes=C, normalization=normalization,
                                weight_scale=0.3, dtype=np.float64, seed=int(rng.integers(0, 1000)))
        params = {k: v + 0.1 * rng.standard_normal(v.shape) if k.startswith(("gamma", "beta")) else v
                  for k, v in net.params.items()}
        names = sorted(params)
        fd_names, fd_deltas = [], []
        for _ in range(FD_ENTRIES):
            name = names[int(rng.integers(0, len(names)))]
            delta = np.zeros_like(params[name])
            delta.flat[int(rng.integers(0, delta.size))] = FD_STEP
            fd_names.append(name)
            fd_deltas.append(delta)
        cases.append({
            "params": params, "X": rng.standard_normal((N, D)), "y": rng.integers(0, C, size=N),
            "normalization": normalization,
            "bn_params": [{} for _ in hidden] if normalization else None,
            "dropout_param": {"p": keep, "seed": int(rng.integers(0, 1000))} if keep else None,
            "reg": reg, "fd_names": fd_names, "fd_deltas": fd_deltas,
        })
    return cases


# (test-mode scores with fresh bn_params, (train (loss, grads), test scores after it on the same
# bn_params), train (loss, grads) again, centred differences of the loss at the fd entries)
_FC_NAMES = "params, X, y, normalization, bn_params, dropout_param, reg, fd_names, fd_deltas"
FC_CALL = (
    f"(lambda {_FC_NAMES}: (lambda bn, run: ("
    "run(params, None, bn()), (lambda b: (run(params, y, b), run(params, None, b)))(bn()), "
    "run(params, y, bn()), "
    "[(run({**params, k: params[k] + E}, y, bn())[0] - run({**params, k: params[k] - E}, y, bn())[0]) "
    f"/ (2 * {FD_STEP!r}) for k, E in zip(fd_names, fd_deltas)]))"
    "(lambda: None if bn_params is None else [dict(b) for b in bn_params], "
    "lambda P, yy, b: fc_net_loss(P, X, yy, normalization=normalization, bn_params=b, "
    "dropout_param=None if dropout_param is None else dict(dropout_param), reg=reg)))"
    f"({_FC_NAMES})"
)


def _fc_net(case, keep):
    params = case["params"]
    num_layers = sum(1 for k in params if k.startswith("W"))
    dims = [params["W1"].shape[0]] + [params[f"W{i}"].shape[1] for i in range(1, num_layers + 1)]
    net = FullyConnectedNet(dims[1:-1], input_dim=dims[0], num_classes=dims[-1],
                            normalization=case["normalization"], reg=case["reg"],
                            dropout_keep_ratio=keep, dtype=np.float64)
    net.params = {k: v.copy() for k, v in params.items()}
    return net


def _fc_expected(case):
    dropout = case["dropout_param"]
    fresh_scores = _fc_net(case, dropout["p"] if dropout else 1).loss(case["X"])
    if dropout:     # the loss without dropout, which a loss with dropout must not equal
        return fresh_scores, None, _fc_net(case, 1).loss(case["X"], case["y"])[0]
    net = _fc_net(case, 1)
    loss, grads = net.loss(case["X"], case["y"])
    return fresh_scores, ((loss, grads), net.loss(case["X"]))


FC_COMPARE = allclose(rtol=1e-6, atol=1e-8)
FD_COMPARE = allclose(rtol=1e-4, atol=1e-7)


def _failed(msg):
    """A compare's message is a failure unless it is None or an acceptance with a note."""
    return msg is not None and not isinstance(msg, Accepted)


def _compare_fc(case, got, expected):
    """Scores, (loss, grads) and the centred differences of the student's own loss; a shape the
    course accepts ((1, D) for (D,)) passes with its note, as in every other check."""
    if not isinstance(got, (tuple, list)) or len(got) != 4:
        return "malformed answer"
    fresh, trained, again, numeric = got
    notes = []
    msg = FC_COMPARE(case, fresh, expected[0])
    if _failed(msg):
        return f"scores in test mode (y is None): {msg}"
    notes.append(msg)
    if expected[1] is not None:
        msg = FC_COMPARE(case, trained, expected[1])
        if _failed(msg):
            return f"(loss, grads) and then the test-mode scores: {msg}"
        notes.append(msg)
    first = trained[0] if isinstance(trained, (tuple, list)) and trained else None
    if not (isinstance(first, (tuple, list)) and len(first) == 2 and isinstance(first[1], dict)):
        return "with y given, fc_net_loss must return (loss, grads)"
    if _failed(allclose(rtol=1e-12, atol=1e-12)(case, again, first)):
        return "the same dropout_param['seed'] must give the same loss (two calls differed)"
    if expected[1] is None and not allclose(rtol=1e-9, atol=0)(case, first[0], expected[2]):
        return ("dropout_param is given but the loss is the loss without dropout: in train mode, "
                "apply dropout after each hidden layer's ReLU")
    grads = first[1]
    for k, (name, delta) in enumerate(zip(case["fd_names"], case["fd_deltas"])):
        index = np.unravel_index(int(np.argmax(delta)), delta.shape)
        grad = np.asarray(grads.get(name, np.nan), dtype=np.float64)
        if grad.shape != delta.shape:
            if not equivalent_shape(grad.shape, delta.shape):
                return f"grads[{name!r}]: expected shape {delta.shape}, got shape {grad.shape}"
            notes.append(f"grads[{name!r}] has shape {grad.shape} where {delta.shape} was expected; "
                         "the values are right and only axes of length 1 differ, but prefer the "
                         "expected shape")
            grad = grad.reshape(delta.shape)
        msg = FD_COMPARE(case, float(grad[index]), float(np.asarray(numeric[k])))
        if msg:
            return (f"grads[{name!r}] at {tuple(int(i) for i in index)} disagrees with the centred "
                    f"difference of your own loss: {msg}")
    notes = [n for n in notes if n]
    return Accepted(notes[0]) if notes else None


CHECKS = {
    "test_batchnorm_forward": Check(
        call=BN_FORWARD_CALL,
        mutable=("bn_param",),          # batch norm stores its running averages in it
        cases=_bn_forward_cases,
        expected=_bn_forward_expected,
        compare=allclose(rtol=1e-6, atol=1e-8),
    ),
    "test_batchnorm_backward": Check(
        call="batchnorm_backward(dout, batchnorm_forward(x, gamma, beta, bn_param)[1])",
        mutable=("bn_param",),          # batch norm stores its running averages in it
        cases=_bn_backward_cases,
        expected=_bn_backward_expected,
        compare=GRAD_COMPARE,
    ),
    "test_batchnorm_backward_alt": Check(
        call="batchnorm_backward_alt(dout, batchnorm_forward(x, gamma, beta, bn_param)[1])",
        mutable=("bn_param",),          # batch norm stores its running averages in it
        cases=_bn_backward_cases,
        expected=_bn_backward_expected,
        compare=GRAD_COMPARE,
    ),
    "test_layernorm_forward": Check(
        call="layernorm_forward(x, gamma, beta, ln_param)[0]",
        cases=_ln_cases,
        expected=_ln_forward_expected,
        compare=allclose(rtol=1e-6, atol=1e-8),
    ),
    "test_layernorm_backward": Check(
        call="layernorm_backward(dout, layernorm_forward(x, gamma, beta, ln_param)[1])",
        cases=_ln_cases,
        expected=_ln_backward_expected,
        compare=GRAD_COMPARE,
    ),
    "test_dropout_forward": Check(
        call=DROPOUT_FORWARD_CALL,
        cases=_dropout_cases,
        expected=lambda case: None,
        compare=_compare_dropout_forward,
    ),
    "test_dropout_backward": Check(
        call=DROPOUT_BACKWARD_CALL,
        cases=_dropout_cases,
        expected=lambda case: None,
        compare=_compare_dropout_backward,
    ),
    "test_fc_net_loss": Check(
        call=FC_CALL,
        cases=_fc_cases,
        expected=_fc_expected,
        compare=_compare_fc,
        allowed=FC_ALLOWED,
        timeout=60,
    ),
}


# ------------------------------------------------------------------ spatial group norm (part 7)

def _gn_cases(rng):
    """Seeded shapes from one value per group up to many; G = 1 (layer norm), G = C (instance
    norm) and in between; a custom eps; a large common offset."""
    cases = []
    for (N, C, H, W), G, eps in [((1, 2, 1, 1), 1, 1e-5), ((2, 4, 3, 3), 1, 1e-5), ((2, 4, 3, 3), 4, 1e-5),
                                 ((3, 6, 5, 4), 3, 1e-3), ((1, 8, 2, 5), 2, 1e-5), ((4, 6, 1, 7), 2, 1e-5)]:
        cases.append({"x": rng.standard_normal((N, C, H, W)) * 3 + rng.standard_normal((N, C, 1, 1)) * 2,
                      "gamma": rng.standard_normal((1, C, 1, 1)), "beta": rng.standard_normal((1, C, 1, 1)),
                      "dout": rng.standard_normal((N, C, H, W)), "G": G, "gn_param": {"eps": eps}})
    cases.append({"x": 1e3 + rng.standard_normal((2, 4, 4, 4)), "gamma": np.ones((1, 4, 1, 1)),
                  "beta": np.zeros((1, 4, 1, 1)), "dout": rng.standard_normal((2, 4, 4, 4)), "G": 2,
                  "gn_param": {}})
    return cases


def _gn_forward_expected(case):
    return layers.spatial_groupnorm_forward(case["x"], case["gamma"], case["beta"], case["G"],
                                            dict(case["gn_param"]))[0]


def _gn_backward_expected(case):
    _, cache = layers.spatial_groupnorm_forward(case["x"], case["gamma"], case["beta"], case["G"],
                                                dict(case["gn_param"]))
    return layers.spatial_groupnorm_backward(case["dout"], cache)


CHECKS.update({
    "test_spatial_groupnorm_forward": Check(
        call="spatial_groupnorm_forward(x, gamma, beta, int(G), gn_param)[0]",
        cases=_gn_cases,
        expected=_gn_forward_expected,
        compare=allclose(rtol=1e-6, atol=1e-8),
    ),
    "test_spatial_groupnorm_backward": Check(
        call="spatial_groupnorm_backward(dout, spatial_groupnorm_forward(x, gamma, beta, int(G), gn_param)[1])",
        cases=_gn_cases,
        expected=_gn_backward_expected,
        compare=GRAD_COMPARE,
    ),
})


# ------------------------------------------------------------------ open-ended task (held-out data)

CHECKS["test_best_model"] = heldout_check(
    targets={"cifar10": 0.32, "embedded": 0.35},
)
