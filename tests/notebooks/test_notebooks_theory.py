"""The cells issue 17 added to notebooks 01, 02, 04, 06 and 07: backprop theory, the max-margin
objective, Xavier uniform, Adam's step sizes and the extra written questions. Each notebook's own
test file covers the rest of it; here: the added teaching text, the numbers it quotes (recomputed
independently), the ||Wx||^2 spec against the source and against typical mistakes, and the
marking material of every added question."""

import re

import numpy as np
import pytest
from nbhelpers import appended, check_teaching, code_cell, failures, namespace, source

from autograder.notebook import is_manual, nbgrader_meta

ADDED_TEACHING = {
    "01_knn": [r"More questions", r"Rotate the coordinate axes", r"True or false", r"\*\*L1\*\*"],
    "02_svm": [r"J = \\max\(0,\\; 1 \+ s_c - s\)", r"CS224n", r"no loss of generality",
               r"regularise only the weights"],
    "04_two_layer_net": [r"\\lVert W x \\rVert\^2", r"2\\, q\\, x\^\\top", r"2\\, W\^\\top q",
                         r"error signal", r"\\delta\^\{\(k\)\} = f'", r"dx = dout @ w\.T",
                         r"hard tanh", r"softsign", r"1/36"],
    "06_batchnorm_dropout": [r"Glorot and Bengio", r"\\sqrt\{\\frac\{6\}\{n_\{in\} \+ n_\{out\}\}\}",
                             r"harmonic mean", r"never has a\s+zero gradient"],
    "07_optimizers": [r"always \$1\$"],
}

# grade_id of every added written question -> its points.
ADDED_QUESTIONS = {
    "01_knn": {"q_l1_preprocessing": 2, "q_knn_true_false": 2},
    "02_svm": {"q_margin_arbitrary": 1, "q_bias_regularisation": 1},
    "06_batchnorm_dropout": {"q_groupnorm_groups": 2, "q_norm_analogies": 2, "q_bn_weight_scale": 1,
                             "q_bn_batch_size": 1, "q_dropout_layer_size": 1, "q_deeper_overfits": 1,
                             "q_kill_gradients": 2},
    "07_optimizers": {"q_adam_shrink": 2},
}


@pytest.mark.parametrize("aid", sorted(ADDED_TEACHING))
def test_release_teaches_the_added_material(aid):
    check_teaching(aid, ADDED_TEACHING[aid])


@pytest.mark.parametrize("aid", sorted(ADDED_QUESTIONS))
def test_added_questions_have_prompt_answer_and_mark_scheme(aid):
    cells = {nbgrader_meta(c).get("grade_id"): c for c in source(aid).cells}
    for gid, points in ADDED_QUESTIONS[aid].items():
        answer, prompt = cells[gid], cells[f"{gid}_prompt"]
        assert is_manual(answer) and nbgrader_meta(answer)["points"] == points
        assert f"({points} point" in prompt.source and "**Mark scheme:**" in answer.source
        number = re.search(r"\*\*Question (\d+)\*\*", prompt.source).group(1)
        assert len(answer.source.split("**Mark scheme:**")[0].split()) > 40, f"{gid}: model answer too short"
        assert number, gid


@pytest.mark.parametrize("aid", sorted(ADDED_QUESTIONS))
def test_question_numbers_stay_in_order(aid):
    prompts = [c.source for c in source(aid).cells if c.cell_type == "markdown"]
    numbers = [int(m.group(1)) for p in prompts for m in [re.match(r"\*\*Question (\d+)\*\*", p)] if m]
    assert numbers == list(range(1, len(numbers) + 1)), numbers


def test_wx_norm_worked_example():
    W, x = np.array([[0.1, 0.5], [-0.3, 0.8]]), np.array([0.2, 0.4])
    q = W @ x
    np.testing.assert_allclose([q @ q], [0.116], atol=1e-12)
    np.testing.assert_allclose(2 * np.outer(q, x), [[0.088, 0.176], [0.104, 0.208]], atol=1e-12)
    np.testing.assert_allclose(2 * W.T @ q, [-0.112, 0.636], atol=1e-12)


def test_wx_norm_source_solution_passes():
    assert failures("04_two_layer_net", "test_wx_norm", namespace("04_two_layer_net")) == []


WX_MISTAKES = [
    ("gradient without the factor 2", """
def squared_norm_of_product(W, x):
    q = W @ x
    return float(q @ q), np.outer(q, x), W.T @ q
"""),
    ("dW transposed (x q^T)", """
def squared_norm_of_product(W, x):
    q = W @ x
    return float(q @ q), 2 * np.outer(x, q).reshape(W.shape), 2 * W.T @ q
"""),
    ("dx = 2 W q instead of 2 W^T q", """
def squared_norm_of_product(W, x):
    q = W @ x
    dx = 2 * (W @ q if W.shape[0] == W.shape[1] else W.T @ q)
    return float(q @ q), 2 * np.outer(q, x), dx
"""),
]


@pytest.mark.parametrize("why, wrong", WX_MISTAKES, ids=[m[0] for m in WX_MISTAKES])
def test_wx_norm_spec_catches_mistake(why, wrong):
    aid = "04_two_layer_net"
    assert failures(aid, "test_wx_norm", namespace(aid, appended(aid, "ex_wx_norm", wrong))), why


def test_error_signal_recursion_matches_the_layers():
    """The recursion the text states, in column-vector form, against the notebook's printout."""
    from cs231n_lib.layers import affine_backward, affine_forward, relu_backward, relu_forward

    rng = np.random.default_rng(1)
    x, W1, W2 = rng.standard_normal(4), rng.standard_normal((3, 4)), rng.standard_normal((2, 3))
    z2 = W1 @ x
    a2 = np.maximum(z2, 0)
    delta3 = rng.standard_normal(2)                   # dJ/dz3, z3 = W2 a2
    delta2 = (z2 > 0) * (W2.T @ delta3)
    hidden, c1 = affine_forward(x[None], W1.T, np.zeros(3))
    relu_out, c2 = relu_forward(hidden)
    _, c3 = affine_forward(relu_out, W2.T, np.zeros(2))
    d_relu, dW2_rows, _ = affine_backward(delta3[None], c3)
    _, dW1_rows, _ = affine_backward(relu_backward(d_relu, c2), c1)
    np.testing.assert_allclose(dW2_rows.T, np.outer(delta3, a2), rtol=1e-12)
    np.testing.assert_allclose(dW1_rows.T, np.outer(delta2, x), rtol=1e-12)
    assert "compare_error_signals()" in code_cell(source("04_two_layer_net"), "def compare_error_signals").source


def test_margin_scaling_claim():
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.arange(3)

    def loss(s, delta):
        m = np.maximum(0, s - s[y, y][:, None] + delta)
        m[y, y] = 0
        return m.sum(axis=1).mean()

    for delta in (2.0, 10.0):
        assert abs(loss(delta * scores, delta) - delta * loss(scores, 1.0)) < 1e-12


def test_xavier_uniform_variance():
    rng = np.random.default_rng(0)
    for fan_in, fan_out in [(500, 500), (3072, 100)]:
        limit = np.sqrt(6 / (fan_in + fan_out))
        W = rng.uniform(-limit, limit, size=(fan_in, fan_out))
        assert abs(W.var() / (2 / (fan_in + fan_out)) - 1) < 0.02


def test_adam_step_does_not_shrink_like_adagrad():
    from cs231n_lib import optim

    steps = {}
    for name in ("adagrad", "adam"):
        w, config = np.zeros(1), {"learning_rate": 1e-2}
        for t in range(1, 1001):
            next_w, config = getattr(optim, name)(w, np.ones(1), config)
            steps[name, t] = abs(next_w[0] - w[0])
            w = next_w
    assert abs(steps["adagrad", 1000] - 1e-2 / np.sqrt(1000)) < 1e-6
    assert abs(steps["adam", 1] - 1e-2) < 1e-6 and abs(steps["adam", 1000] - 1e-2) < 1e-6


SHORT_SECTIONS = {
    "04_two_layer_net": [r"\*\*PReLU\*\*", r"\*\*SELU\*\*", r"1\.0507", r"1\.6733"],
    "05_cnn": [r"[Ss]patial dropout", r"\(N, C, 1, 1\)"],
    "06_batchnorm_dropout": [r"\*\*DropConnect\*\*", r"\*\*Stochastic depth\*\*", r"p_\\ell = 1 - "],
    "07_optimizers": [r"Model ensembles", r"Polyak averaging", r"checkpoints"],
    "08_features": [r"[Tt]ransfer learning", r"10 labelled training images per class"],
}


@pytest.mark.parametrize("aid", sorted(SHORT_SECTIONS))
def test_short_sections_are_taught(aid):
    check_teaching(aid, SHORT_SECTIONS[aid])


def _run_cell(aid, text, ns=None):
    ns = {"np": np} if ns is None else ns
    exec(code_cell(source(aid), text).source, ns)
    return ns


def test_stochastic_depth_and_dropconnect_numbers():
    ns = _run_cell("06_batchnorm_dropout", "L_blocks, p_last")
    assert abs(ns["keep"].sum() - (54 - 0.5 * 55 / 2)) < 1e-9          # 40.25 blocks on average
    np.testing.assert_allclose(ns["masked"].mean(axis=0), ns["x_dc"] @ ns["W_dc"], atol=0.15)


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def test_selu_keeps_unit_variance():
    plt = _pyplot()
    grid = np.linspace(-5, 5, 401)
    ns = {"np": np, "plt": plt, "t": grid, "tanh_forward": None, "tanh_backward": None,
          "through": lambda *args: (np.tanh(grid), 1 - np.tanh(grid) ** 2)}
    _run_cell("04_two_layer_net", "SELU_LAMBDA, SELU_ALPHA", ns)
    plt.close("all")
    assert abs(ns["h"].mean()) < 0.05 and abs(ns["h"].std() - 1) < 0.05


def test_spatial_dropout_masks():
    plt = _pyplot()
    ns = _run_cell("05_cnn", "channel_mask = ", {"np": np, "plt": plt})
    plt.close("all")
    assert ns["channel_mask"].shape == (1, 8, 1, 1) and set(np.unique(ns["channel_mask"])) <= {0.0, 2.0}
    assert ns["unit_mask"].shape == (1, 8, 6, 6)
