"""Notebooks 06_batchnorm_dropout and 07_optimizers: structure, teaching content, worked examples,
and verification specs that pass the source solutions and catch the usual mistakes.

The course tests (tests/grader/test_course.py) execute the notebooks and run the sandboxed instructor
self-check. Here the specs are evaluated in-process (fast, no sandbox, no stubs) against the
source notebook's own exercise cells, and against mutated copies that must fail.
"""

import re

import numpy as np
import pytest
from nbhelpers import (
    COURSE,
    check_structure,
    check_teaching,
    code_cell,
    exercise_source,
    failures,
    namespace,
    source,
)

from autograder.notebook import HIDDEN_RE, is_autograded_test, nbgrader_meta
from autograder.verify.spec import load_spec
from cs231n_lib import layers, optim

IDS = [aid for aid in ("06_batchnorm_dropout", "07_optimizers") if COURSE.source_notebook(aid).exists()]

# Ideas from the course notes each released notebook must teach (regexes on its markdown).
TEACHING = {
    "06_batchnorm_dropout": [
        r"zero-centring", r"per-channel mean", r"mean image", r"PCA", r"whiten", r"rarely used",
        r"symmetry", r"\\mathcal\{N\}\(0, 0\.01\^2\)", r"saturat", r"Xavier", r"\bHe\b",
        r"running\s+averages", r"before the non-linearity", r"recover|undoing the normalisation",
        r"[Ll]ayer normalisation", r"inverted dropout", r"ensemble", r"probability of \*\*keeping\*\*",
        r"logspace\(-4, 0, 20\)", r"500 examples", r"overfit a tiny one", r"3-layer and a 5-layer network",
        r"batches of 50 and of 5",
    ],
    "07_optimizers": [
        r"ill-conditioned", r"saddle point", r"high dimension", r"noisy", r"friction", r"0\.99",
        r"look-ahead", r"change of variables", r"AdaGrad", r"RMSProp", r"bias correction",
        r"beta_1 = 0\.9", r"0\.999", r"5 \\times 10\^\{-4\}", r"[Ss]tep decay", r"[Ee]xponential decay",
        r"1/t", r"Newton", r"L-BFGS", r"quasi-Newton", r"10\^\{-3\}", r"10\^\{-2\}",
        r"\\rho\\, v \+ \\nabla L\(w\)", r"\\tau / \\max\(t, \\tau\)", r"fan-in", r"Collobert",
        r"condition number", r"noisy",
    ],
}


@pytest.mark.parametrize("aid", IDS)
def test_structure(aid):
    check_structure(aid)
    kinds = ["test" if is_autograded_test(c) else "other" for c in source(aid).cells]
    assert "test test" not in " ".join(kinds), "one test cell per exercise"


@pytest.mark.parametrize("aid", IDS)
def test_release_teaches_the_course_notes(aid):
    check_teaching(aid, TEACHING[aid])


@pytest.mark.parametrize("aid", IDS)
def test_solutions_pass_every_check(aid):
    ns = namespace(aid)
    for gid in load_spec(COURSE.spec(aid)):
        assert failures(aid, gid, ns) == [], gid


# ---------------------------------------------------------------------------- 06 mistakes

def _mutant(aid, gid, old, new):
    source = exercise_source(aid, gid)
    assert old in source, f"{gid}: the solution no longer contains {old!r}"
    return {gid: source.replace(old, new)}


MISTAKES_06 = {
    "unbiased variance": ("test_batchnorm_forward", "ex_batchnorm_forward",
                          "sample_var = np.mean(x_centered ** 2, axis=0)",
                          "sample_var = np.var(x, axis=0, ddof=1) if N > 1 else np.zeros(D)"),
    "running averages not updated": ("test_batchnorm_forward", "ex_batchnorm_forward",
                                     "running_mean = momentum * running_mean + (1 - momentum) * sample_mean",
                                     "pass"),
    "momentum the wrong way round": ("test_batchnorm_forward", "ex_batchnorm_forward",
                                     "running_var = momentum * running_var + (1 - momentum) * sample_var",
                                     "running_var = (1 - momentum) * running_var + momentum * sample_var"),
    "test mode uses batch statistics": ("test_batchnorm_forward", "ex_batchnorm_forward",
                                        "x_hat = (x - running_mean) / np.sqrt(running_var + eps)",
                                        "x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)"),
    "graph backward misses the variance branch": ("test_batchnorm_backward", "ex_batchnorm_backward",
                                                  "dx_centered += 2 * x_centered * dvar / N", "pass"),
    "graph backward misses the mean branch": ("test_batchnorm_backward", "ex_batchnorm_backward",
                                              "dx = dx_centered + dmean / N", "dx = dx_centered"),
    "simplified backward forgets gamma": ("test_batchnorm_backward_alt", "ex_batchnorm_backward_alt",
                                          "g = dout * gamma", "g = dout"),
    "layer norm over the batch": ("test_layernorm_forward", "ex_layernorm_forward",
                                  "mean = x.mean(axis=1, keepdims=True)", "mean = x.mean(axis=0, keepdims=True)"),
    "layer norm backward over the batch": ("test_layernorm_backward", "ex_layernorm_backward",
                                           "g.mean(axis=1, keepdims=True)", "g.mean(axis=0, keepdims=True)"),
    "vanilla dropout (no 1/p)": ("test_dropout_forward", "ex_dropout_forward",
                                 "mask = (rng.random(x.shape) < p) / p", "mask = (rng.random(x.shape) < p) * 1.0"),
    "p taken as the drop probability": ("test_dropout_forward", "ex_dropout_forward",
                                        "mask = (rng.random(x.shape) < p) / p",
                                        "mask = (rng.random(x.shape) >= p) / (1 - p)"),
    "dropout modifies x in place": ("test_dropout_forward", "ex_dropout_forward",
                                    "out = x * mask", "x *= mask\n        out = x"),
    "dropout scales at test time": ("test_dropout_forward", "ex_dropout_forward",
                                    "out = x.copy()", "out = x * p"),
    "dropout backward ignores the mask": ("test_dropout_backward", "ex_dropout_backward",
                                          "dx = dout * mask", "dx = dout.copy()"),
    "network without regularisation": ("test_fc_net_loss", "ex_fc_net_loss",
                                       "loss += 0.5 * reg * np.sum(W * W)", "pass"),
    "network regularises without the 1/2": ("test_fc_net_loss", "ex_fc_net_loss",
                                            "loss += 0.5 * reg * np.sum(W * W)", "loss += reg * np.sum(W * W)"),
    "network forgets dropout in the backward pass": ("test_fc_net_loss", "ex_fc_net_loss",
                                                     "dout = dropout_backward(dout, drop_cache)", "pass"),
    "network without dropout": ("test_fc_net_loss", "ex_fc_net_loss",
                                "out, drop_cache = dropout_forward(out, layer_param)",
                                "out, drop_cache = dropout_forward(out, {**layer_param, \"mode\": \"test\"})"),
}


@pytest.mark.skipif("06_batchnorm_dropout" not in IDS, reason="06 not written yet")
def test_06_worked_examples():
    # Batch norm on x = [[1, 2], [3, 6], [5, 10]] with gamma (1, 2), beta (0, -1).
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    bn_param = {"mode": "train"}
    out, _ = layers.batchnorm_forward(x, np.array([1.0, 2.0]), np.array([0.0, -1.0]), bn_param)
    np.testing.assert_allclose(out, [[-1.22, -3.45], [0.0, -1.0], [1.22, 1.45]], atol=5e-3)
    np.testing.assert_allclose(bn_param["running_mean"], [0.3, 0.6], rtol=1e-12)
    # Layer norm: both rows of [[1, 2, 3], [10, 20, 30]] become (-1.22, 0, 1.22).
    out, _ = layers.layernorm_forward(np.array([[1.0, 2, 3], [10, 20, 30]]), np.ones(3), np.zeros(3), {})
    np.testing.assert_allclose(out, [[-1.22, 0, 1.22]] * 2, atol=5e-3)
    # Initialisation: with n = 500 and Var(w) = 1e-4 the variance shrinks by 0.05 per layer.
    assert 500 * 1e-4 == pytest.approx(0.05) and 0.05 ** 5 == pytest.approx(3.1e-7, rel=0.01)
    # Dropout with p = 0.5: x = (2, 4, 6, 8), mask (1, 0, 1, 0) gives (4, 0, 12, 0).
    np.testing.assert_array_equal(np.array([2.0, 4, 6, 8]) * np.array([1, 0, 1, 0]) / 0.5, [4, 0, 12, 0])


@pytest.mark.skipif("06_batchnorm_dropout" not in IDS, reason="06 not written yet")
def test_06_opening_leaves_the_points_table_to_the_release():
    # The table is generated from the nbgrader metadata at release; no hand-written table or patch notes.
    cells = source("06_batchnorm_dropout").cells
    assert "<!-- points-table -->" in cells[0].source and "| points |" not in cells[0].source
    assert not [c.source[:40] for c in cells if c.cell_type == "markdown" and re.search(r"\*Added\b", c.source)]


@pytest.mark.skipif("06_batchnorm_dropout" not in IDS, reason="06 not written yet")
def test_06_initialisation_claims():
    # Part 1's histograms, with the notebook's own network (10 layers of 500 units, 500 unit-variance inputs).
    from cs231n_lib.weight_init import gaussian, he, xavier

    ns = {"np": np}
    exec(code_cell(source("06_batchnorm_dropout"), "def layer_activations").source, ns)
    rng, tanh, relu = ns["rng"], ns["tanh"], ns["relu"]
    stds = {name: np.array([a.std() for a in ns["layer_activations"](init, f)]) for name, init, f in [
        ("small", lambda n, m: gaussian(n, m, weight_scale=0.01, rng=rng), tanh),
        ("large", lambda n, m: gaussian(n, m, weight_scale=1.0, rng=rng), tanh),
        ("xavier tanh", lambda n, m: xavier(n, m, rng=rng), tanh),
        ("he relu", lambda n, m: he(n, m, rng=rng), relu),
        ("xavier relu", lambda n, m: xavier(n, m, rng=rng), relu)]}
    # N(0, 0.01^2), tanh: "from layer 4 on, essentially every activation is 0"
    assert stds["small"][3:].max() < 0.01
    # N(0, 1), tanh: "every layer is saturated, the activations pile up at -1 and +1"
    large = ns["layer_activations"](lambda n, m: gaussian(n, m, weight_scale=1.0, rng=rng), tanh)
    assert min(np.mean(np.abs(a) > 0.9) for a in large) > 0.9
    # Xavier, tanh: "the standard deviation decreases only slowly"; He, ReLU: "the same in every layer"
    assert 0.2 < stds["xavier tanh"][-1] < stds["xavier tanh"][0]
    assert stds["he relu"].max() / stds["he relu"].min() < 1.5
    # Xavier, ReLU: "shrink ... by a factor sqrt 2 per layer"
    ratios = stds["xavier relu"][1:] / stds["xavier relu"][:-1]
    np.testing.assert_allclose(ratios, 1 / np.sqrt(2), rtol=0.1)


def test_06_saturating_derivatives_round_to_zero_beyond_19():
    # Question 1's model answer: 1 - tanh(x)^2 is positive in exact arithmetic, 0 in float64 beyond |x| ~ 19.
    assert 1 - np.tanh(18.5) ** 2 > 0 and 1 - np.tanh(19.5) ** 2 == 0


# ---------------------------------------------------------------------------- 07 mistakes

MISTAKES_07 = {
    "momentum adds the gradient": ("test_sgd_momentum", "ex_sgd_momentum",
                                   'v = config["momentum"] * v - config["learning_rate"] * dw',
                                   'v = config["momentum"] * v + config["learning_rate"] * dw'),
    "momentum steps before updating the velocity": ("test_sgd_momentum", "ex_sgd_momentum",
                                                    "next_w = w + v", "next_w = w + config.get('velocity', 0 * w)"),
    "nesterov is plain momentum": ("test_nesterov", "ex_nesterov",
                                   'next_w = w - config["momentum"] * v_prev + (1 + config["momentum"]) * v',
                                   "next_w = w + v"),
    "nesterov drops the old velocity term": ("test_nesterov", "ex_nesterov",
                                             'next_w = w - config["momentum"] * v_prev + (1 + config["momentum"]) * v',
                                             'next_w = w + (1 + config["momentum"]) * v'),
    "adagrad forgets the square root": ("test_adagrad", "ex_adagrad",
                                        'dw / (np.sqrt(cache) + config["epsilon"])',
                                        'dw / (cache + config["epsilon"])'),
    "adagrad epsilon inside the root": ("test_adagrad", "ex_adagrad",
                                        'dw / (np.sqrt(cache) + config["epsilon"])',
                                        'dw / np.sqrt(cache + config["epsilon"])'),
    "rmsprop without the (1 - decay)": ("test_rmsprop", "ex_rmsprop",
                                        "cache = decay * cache + (1 - decay) * dw * dw",
                                        "cache = decay * cache + dw * dw"),
    "adam without bias correction": ("test_adam", "ex_adam",
                                     "m_hat = m / (1 - beta1 ** t)", "m_hat = m"),
    "adam increments t after use": ("test_adam", "ex_adam", "    t = t + 1\n", "    t = t + 0\n"),
    "adam without the squared gradient": ("test_adam", "ex_adam",
                                          "v = beta2 * v + (1 - beta2) * dw * dw",
                                          "v = beta2 * v + (1 - beta2) * np.abs(dw)"),
}


MISTAKES = [(aid, name) for aid, table in (("06_batchnorm_dropout", MISTAKES_06), ("07_optimizers", MISTAKES_07))
            if aid in IDS for name in sorted(table)]


@pytest.mark.parametrize(("aid", "mistake"), MISTAKES)
def test_spec_catches_mistake(aid, mistake):
    check_id, gid, old, new = (MISTAKES_06 if aid.startswith("06") else MISTAKES_07)[mistake]
    ns = namespace(aid, _mutant(aid, gid, old, new))
    assert failures(aid, check_id, ns), f"{check_id} does not catch: {mistake}"


def _public_arrays(aid, gid):
    """{name: array} of the hard-coded `expected_*` arrays in the public part of a test cell."""
    public = HIDDEN_RE.sub("", next(c.source for c in source(aid).cells
                                    if nbgrader_meta(c).get("grade_id") == gid))
    ns = {"np": np}
    for block in re.findall(r"^(expected_\w+ = np\.array\(\[.*?\]\))$", public, flags=re.M | re.S):
        exec(block, ns)
    return {k: v for k, v in ns.items() if k.startswith("expected_")}


@pytest.mark.skipif("07_optimizers" not in IDS, reason="07 not written yet")
def test_07_hard_coded_values_match_the_library():
    N, D = 3, 4
    w = np.linspace(-0.5, 0.6, num=N * D).reshape(N, D)
    dw = np.linspace(-0.8, 0.3, num=N * D).reshape(N, D)
    runs = {
        "test_sgd_momentum": (optim.sgd_momentum, {"velocity": np.linspace(0.2, 0.7, N * D).reshape(N, D)}, "velocity"),
        "test_nesterov": (optim.nesterov, {"velocity": np.linspace(0.2, 0.7, N * D).reshape(N, D)}, "velocity"),
        "test_adagrad": (optim.adagrad, {"cache": np.linspace(0.1, 0.5, N * D).reshape(N, D)}, "cache"),
        "test_rmsprop": (optim.rmsprop, {"cache": np.linspace(0.1, 0.5, N * D).reshape(N, D)}, "cache"),
    }
    for gid, (rule, state, key) in runs.items():
        arrays = _public_arrays("07_optimizers", gid)
        next_w, config = rule(w, dw, {"learning_rate": 1e-2, **state})
        np.testing.assert_allclose(arrays["expected_next_w"], next_w, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(arrays[f"expected_{key}"], config[key], rtol=1e-8, atol=1e-10)
    arrays = _public_arrays("07_optimizers", "test_adam")
    next_w, config = optim.adam(w, dw, {"learning_rate": 1e-3, "t": 5,
                                        "m": np.linspace(0.3, 0.8, N * D).reshape(N, D),
                                        "v": np.linspace(0.5, 0.9, N * D).reshape(N, D)})
    for name, value in (("next_w", next_w), ("m", config["m"]), ("v", config["v"])):
        np.testing.assert_allclose(arrays[f"expected_{name}"], value, rtol=1e-8, atol=1e-12)
    assert config["t"] == 6


@pytest.mark.skipif("07_optimizers" not in IDS, reason="07 not written yet")
def test_07_momentum_forms_agree_until_the_rate_changes():
    # Part 1: the notebook's cell runs both forms on the valley 0.5 (w1^2 + 100 w2^2).
    def valley(w):
        return 0.5 * (w[0] ** 2 + 100 * w[1] ** 2), np.array([1.0, 100.0]) * w

    ns = {"np": np, "valley": valley, "print": lambda *args: None}
    exec(code_cell(source("07_optimizers"), "def momentum_both_forms").source, ns)
    rates = [5e-3] * 25 + [2.5e-3] * 25
    form1, form2 = ns["momentum_both_forms"]([5e-3] * 50)
    np.testing.assert_allclose(form1, form2, rtol=0, atol=1e-12)
    w, config, reference = np.array([-9.0, 1.5]), {"momentum": 0.9}, [np.array([-9.0, 1.5])]
    for lr in rates:                           # the second form is the library's sgd_momentum
        config["learning_rate"] = lr
        w, config = optim.sgd_momentum(w, valley(w)[1], config)
        reference.append(w)
    halved1, halved2 = ns["momentum_both_forms"](rates)
    np.testing.assert_allclose(halved2, reference, rtol=1e-12, atol=1e-12)
    # The first form's step just after the change is half the step it would have taken at the old rate.
    step = np.linalg.norm(halved1[26] - halved1[25])
    assert step == pytest.approx(0.5 * np.linalg.norm(form1[26] - form1[25]), rel=1e-12)
    assert step < np.linalg.norm(halved2[26] - halved2[25])


@pytest.mark.skipif("07_optimizers" not in IDS, reason="07 not written yet")
def test_07_adam_steps_shrink_with_noise_not_with_time():
    # The cell before question 4: Adam's average step over steps 901-1000 is the learning rate for a
    # gradient always 1 or always 0.001, and "several times smaller" with noise.
    ns = {"np": np, "optim": optim, "print": lambda *args: None}
    exec(code_cell(source("07_optimizers"), "adam_late_steps").source, ns)
    steps = ns["adam_late_steps"]
    assert steps["always 1"] == pytest.approx(1e-2, rel=1e-6)
    assert steps["always 0.001"] == pytest.approx(1e-2, rel=1e-4)
    assert steps["1 + noise (std 3)"] < 3e-3 and steps["noise alone (std 1)"] < 3e-3
