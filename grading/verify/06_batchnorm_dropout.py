"""Verification spec of 06_batchnorm_dropout (see docs/authoring.md): one Check per autograded test cell.

Expected answers come from the library's layers and FullyConnectedNet. The cases are seeded
random shapes plus the edge cases the notebook's text promises to handle: a batch of one
example, one feature, missing running averages (zeros), custom momentum and eps, several
train steps followed by test mode, p = 1 and a tiny keep probability in dropout, the input left
unchanged, a network without hidden layers, and dropout combined with each normalisation.
"""

import copy

import numpy as np

from autograder.heldout import heldout_check
from autograder.spec import Check, allclose
from cs231n_lib import layers
from cs231n_lib.classifiers.fc_net import FullyConnectedNet

L = "cs231n_lib.layers"
# Every normalisation in the library can stand in for another one (layer norm of x.T is batch
# norm of x; spatial batch/group norm of a reshaped x are both), so all of them are stubbed out
# while any normalisation exercise is graded.
NORM_FORBIDDEN = tuple(f"{L}.{name}" for name in (
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
    "layernorm_forward", "layernorm_backward", "_standardize_backward",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "spatial_groupnorm_forward", "spatial_groupnorm_backward",
))
DROPOUT_FORBIDDEN = (f"{L}.dropout_forward", f"{L}.dropout_backward")
FC_FORBIDDEN = (
    "cs231n_lib.classifiers.fc_net.FullyConnectedNet.loss",
    "cs231n_lib.layer_utils.affine_norm_relu_forward",
    "cs231n_lib.layer_utils.affine_norm_relu_backward",
)
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

def _dropout_cases(rng):
    cases = []
    for shape, p, mode in [((5,), 0.5, "train"), ((3, 4), 0.3, "train"), ((2, 3, 4, 5), 0.8, "train"),
                           ((1, 1), 1.0, "train"), ((7, 11), 0.05, "train"), ((50, 40), 0.5, "train"),
                           ((6, 2), 0.4, "test"), ((2, 2, 2), 1.0, "test")]:
        cases.append({"x": rng.standard_normal(shape) + 1, "dout": rng.standard_normal(shape),
                      "dropout_param": {"p": p, "mode": mode, "seed": int(rng.integers(0, 10_000))}})
    return cases


def _dropout_forward_expected(case):
    # The input must come back unchanged.
    return layers.dropout_forward(case["x"], dict(case["dropout_param"]))[0], case["x"]


def _dropout_backward_expected(case):
    _, cache = layers.dropout_forward(case["x"], dict(case["dropout_param"]))
    return layers.dropout_backward(case["dout"], cache)


# ------------------------------------------------------------------ fc_net_loss

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
    ]:
        D, C = int(rng.integers(3, 20)), int(rng.integers(2, 8))
        net = FullyConnectedNet(hidden, input_dim=D, num_classes=C, normalization=normalization,
                                weight_scale=0.3, dtype=np.float64, seed=int(rng.integers(0, 1000)))
        params = {k: v + 0.1 * rng.standard_normal(v.shape) if k.startswith(("gamma", "beta")) else v
                  for k, v in net.params.items()}
        cases.append({
            "params": params, "X": rng.standard_normal((N, D)), "y": rng.integers(0, C, size=N),
            "normalization": normalization,
            "bn_params": [{} for _ in hidden] if normalization else None,
            "dropout_param": {"p": keep, "seed": int(rng.integers(0, 1000))} if keep else None,
            "reg": reg,
        })
    return cases


FC_CALL = (
    "(fc_net_loss(params, X, y, normalization=normalization, bn_params=bn_params, "
    "dropout_param=dropout_param, reg=reg), "
    "fc_net_loss(params, X, normalization=normalization, bn_params=bn_params, "
    "dropout_param=dropout_param, reg=reg))"
)


def _fc_expected(case):
    params = case["params"]
    num_layers = sum(1 for k in params if k.startswith("W"))
    dims = [params["W1"].shape[0]] + [params[f"W{i}"].shape[1] for i in range(1, num_layers + 1)]
    dropout = case["dropout_param"]
    net = FullyConnectedNet(dims[1:-1], input_dim=dims[0], num_classes=dims[-1],
                            normalization=case["normalization"], reg=case["reg"],
                            dropout_keep_ratio=dropout["p"] if dropout else 1, dtype=np.float64)
    net.params = {k: v.copy() for k, v in params.items()}
    if dropout:
        net.dropout_param = {"mode": "train", "p": dropout["p"], "seed": dropout["seed"]}
    loss, grads = net.loss(case["X"], case["y"])
    return (loss, grads), net.loss(case["X"])


CHECKS = {
    "test_batchnorm_forward": Check(
        call=BN_FORWARD_CALL,
        cases=_bn_forward_cases,
        expected=_bn_forward_expected,
        compare=allclose(rtol=1e-6, atol=1e-8),
        forbidden=NORM_FORBIDDEN,
    ),
    "test_batchnorm_backward": Check(
        call="batchnorm_backward(dout, batchnorm_forward(x, gamma, beta, bn_param)[1])",
        cases=_bn_backward_cases,
        expected=_bn_backward_expected,
        compare=GRAD_COMPARE,
        forbidden=NORM_FORBIDDEN,
    ),
    "test_batchnorm_backward_alt": Check(
        call="batchnorm_backward_alt(dout, batchnorm_forward(x, gamma, beta, bn_param)[1])",
        cases=_bn_backward_cases,
        expected=_bn_backward_expected,
        compare=GRAD_COMPARE,
        forbidden=NORM_FORBIDDEN,
    ),
    "test_layernorm_forward": Check(
        call="layernorm_forward(x, gamma, beta, ln_param)[0]",
        cases=_ln_cases,
        expected=_ln_forward_expected,
        compare=allclose(rtol=1e-6, atol=1e-8),
        forbidden=NORM_FORBIDDEN,
    ),
    "test_layernorm_backward": Check(
        call="layernorm_backward(dout, layernorm_forward(x, gamma, beta, ln_param)[1])",
        cases=_ln_cases,
        expected=_ln_backward_expected,
        compare=GRAD_COMPARE,
        forbidden=NORM_FORBIDDEN,
    ),
    "test_dropout_forward": Check(
        call="(dropout_forward(x, dropout_param)[0], x)",
        cases=_dropout_cases,
        expected=_dropout_forward_expected,
        compare=allclose(rtol=1e-12, atol=1e-12),
        forbidden=DROPOUT_FORBIDDEN,
    ),
    "test_dropout_backward": Check(
        call="dropout_backward(dout, dropout_forward(x, dropout_param)[1])",
        cases=_dropout_cases,
        expected=_dropout_backward_expected,
        compare=allclose(rtol=1e-12, atol=1e-12),
        forbidden=DROPOUT_FORBIDDEN,
    ),
    "test_fc_net_loss": Check(
        call=FC_CALL,
        cases=_fc_cases,
        expected=_fc_expected,
        compare=allclose(rtol=1e-6, atol=1e-8),
        forbidden=FC_FORBIDDEN,
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
        forbidden=NORM_FORBIDDEN,
    ),
    "test_spatial_groupnorm_backward": Check(
        call="spatial_groupnorm_backward(dout, spatial_groupnorm_forward(x, gamma, beta, int(G), gn_param)[1])",
        cases=_gn_cases,
        expected=_gn_backward_expected,
        compare=GRAD_COMPARE,
        forbidden=NORM_FORBIDDEN,
    ),
})


# ------------------------------------------------------------------ open-ended task (held-out data)

CHECKS["test_best_model"] = heldout_check(
    call="np.argmax(train_best_model(data).loss(X_test), axis=1)",
    targets={"cifar10": 0.32, "embedded": 0.93},
)
