"""Notebooks 04_two_layer_net and 05_cnn: structure, teaching content, worked examples, and
verification specs that pass the source solutions and catch the usual mistakes.

The course tests (tests/grader/test_course.py) check leaks, up-to-date releases and the sandboxed
instructor self-check. Here the specs are evaluated in-process (fast, no sandbox, no stubs)
against the source notebook's exercise cells, and against wrong versions that must fail.
"""

import numpy as np
import pytest
from nbhelpers import (
    COURSE,
    appended,
    check_structure,
    check_teaching,
    code_cell,
    exercise_source,
    failures,
    namespace,
    source,
)
from nbhelpers import (
    released as released_nb,
)

from autograder.notebook import is_manual
from autograder.verify.spec import load_spec

IDS = ("04_two_layer_net", "05_cnn")

# Ideas from the course notes each released notebook must teach (regexes on its markdown).
TEACHING = {
    "04_two_layer_net": [
        r"\(x \+ y\)\\,z", r"x = -2", r"y = 5", r"z = -4", r"-12", r"sigmoid", r"1 - \\sigma\(t\)",
        r"distributor", r"router", r"switcher", r"adder", r"upstream", r"Jacobian", r"4096",
        r"cache", r"tanh", r"leaky ReLU", r"ELU", r"maxout", r"saturat", r"zero-centred",
        r"dead ReLU", r"overfit", r"[Tt]oo low", r"`nan`", r"log space", r"[Cc]oarse, then fine",
        r"3 times its initial loss", r"48 %", r"test set",
        r"1986", r"2006", r"restricted Boltzmann machine", r"2012", r"AlexNet", r"4-2-1",
        r"[Ee]rror sharing", r"x \\in \\mathbb\{R\}\^\{20\}", r"\$W\$ is \$8 \\times 20\$",
        r"J = \\max\(0,\\; 1 \+ s_c - s\)", r"corrupted window", r"\*\*neurons\*\*", r"\*\*weights\*\*",
        r"\*\*biases\*\*", r"26 learnable parameters", r"41 parameters", r"168 weights",
    ],
    "05_cnn": [
        r"\(W - F \+ 2P\)/S \+ 1", r"7 \\times 7", r"does not fit", r"[Zz]ero padding",
        r"76 parameters", r"\*\*760\*\*", r"1 × 1", r"[Mm]ax pooling", r"[Aa]verage pooling",
        r"CONV → RELU → POOL → FC", r"im2col", r"speed-up", r"[Ss]patial batch norm", r"Adam",
        r"40 % training accuracy", r"flips", r"crops", r"colour jitter", r"filters",
        r"28 \\times 28 \\times 6", r"power of two", r"F = 5, S = 2", r"[Ff]ractional max pooling",
    ],
}


@pytest.mark.parametrize("aid", IDS)
def test_structure(aid):
    check_structure(aid)
    exercises = [c for c in source(aid).cells if c.cell_type == "code" and "### BEGIN SOLUTION" in c.source]
    assert all(c.source.lstrip().startswith("def ") for c in exercises), "exercises define top-level functions"


@pytest.mark.parametrize("aid", IDS)
def test_release_teaches_the_course_notes(aid):
    check_teaching(aid, TEACHING[aid])
    assert sum(is_manual(c) for c in released_nb(aid).cells) == 3


@pytest.mark.parametrize("aid", IDS)
def test_source_solutions_pass_every_case(aid):
    ns = namespace(aid)
    for gid in load_spec(COURSE.spec(aid)):
        assert failures(aid, gid, ns) == [], gid


def test_backprop_worked_examples():
    """The numbers the 04 teaching text quotes: f = (x + y) z and the sigmoid neuron."""
    x, y, z = -2.0, 5.0, -4.0
    q = x + y
    assert (q, q * z) == (3.0, -12.0)
    assert (z, z, q) == (-4.0, -4.0, 3.0)               # df/dx, df/dy, df/dz
    w, xs = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0])
    s = 1 / (1 + np.exp(-(w[0] * xs[0] + w[1] * xs[1] + w[2])))
    local = (1 - s) * s
    np.testing.assert_allclose(np.round([xs[0] * local, xs[1] * local, local], 2), [-0.2, -0.39, 0.2])
    np.testing.assert_allclose(np.round(w[:2] * local, 2), [0.39, -0.59])



def test_opening_has_the_generated_points_table_and_no_patch_notes():
    """04's points table is generated at release from the marker; no "Added ..." notes remain."""
    nb = source("04_two_layer_net")
    assert "<!-- points-table -->" in nb.cells[0].source
    assert "| points |" not in nb.cells[0].source
    assert not any(c.source.lstrip().startswith(("*Added", "*Added to this notebook")) for c in nb.cells)


def test_error_sharing_worked_example():
    """The 4-2-1 network's five steps, the numbers 04's text quotes, by the chain rule in full."""
    x = np.array([1.0, 2.0, -1.0, 3.0])
    W1 = np.array([[1.0, -1.0, 1.0, 0.5], [0.5, 0.25, 0.0, 0.0]])
    b1, W2 = np.array([0.5, 0.0]), np.array([2.0, -1.0])
    z = W1 @ x + b1
    assert z[0] == 0.0 and z[1] == 1.0
    sigma = 1 / (1 + np.exp(-z))
    delta = sigma * (1 - sigma) * W2                    # ds/dz, sigma'(0) = 0.25
    assert delta[0] == 0.5 and delta[0] * x[3] == 1.5

    def score(W):
        return W2 @ (1 / (1 + np.exp(-(W @ x + b1))))

    h, E = 1e-6, np.zeros_like(W1)
    E[0, 3] = h
    assert abs((score(W1 + E) - score(W1 - E)) / (2 * h) - 1.5) < 1e-8
    assert score(W1) == pytest.approx(1 - 1 / (1 + np.exp(-1.0)), abs=1e-12)


def test_window_classifier_and_network_sizes():
    """CS224n's window classifier and the networks whose sizes 04 quotes, counted from the parameter
    arrays of the library's FullyConnectedNet (one bias per neuron) and by hand where the score has none."""
    from cs231n_lib.classifiers.fc_net import FullyConnectedNet

    def arrays(sizes):
        params = FullyConnectedNet(sizes[1:-1], input_dim=sizes[0], num_classes=sizes[-1], seed=0).params
        return (sum(v.size for k, v in params.items() if k.startswith("b")),
                sum(v.size for k, v in params.items() if k.startswith("W")))

    assert arrays([3, 4, 2]) == (6, 20) and 20 + 6 == 26
    assert arrays([3, 4, 4, 1]) == (9, 32) and 32 + 9 == 41
    assert arrays([3072, 50, 10]) == (60, 154_100)
    assert arrays([3072, 100, 10]) == (110, 308_200) and arrays([3072, 10]) == (10, 30_720)
    assert round((308_200 + 110) / (30_720 + 10)) == 10                       # "ten times the parameters"
    # CS224n: no bias on the score, so one bias fewer than the neurons.
    assert arrays([4, 2, 1]) == (3, 10) and arrays([20, 8, 1]) == (9, 168)
    assert 5 * 4 == 20                                                         # 5 words of 4 numbers
    # The window cell, with the solution's score_gradients and with the library's layers instead.
    cell = code_cell(source("04_two_layer_net"), "true_window = ").source
    solved = dict(namespace("04_two_layer_net"))

    def not_written(*args):
        raise NotImplementedError()

    results = []
    for score_gradients in (solved["score_gradients"], not_written):
        ns = dict(solved, score_gradients=score_gradients)
        exec(cell, ns)
        assert ns["x_true"].shape == (20,) and ns["W_win"].shape == (8, 20) and ns["U_win"].shape == (8,)
        assert ns["J"] > 0 and np.abs(ns["dW_J"] - ns["numeric"]).max() < 1e-8
        results.append(ns["dW_J"])
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-15)


def test_conv_worked_examples():
    """The sizes and parameter counts 05's text works out, from the reference conv_layer_size."""
    ns = {}
    exec(exercise_source("05_cnn", "ex_conv_layer_size"), ns)
    size = ns["conv_layer_size"]
    assert size((32, 32, 3), 6, 5, 1, 0) == ((28, 28, 6), 456)           # six 5x5 filters: 28x28x6
    assert size((32, 32, 3), 10, 5, 1, 2) == ((32, 32, 10), 760)         # 76 parameters per filter
    assert size((56, 56, 64), 32, 1, 1, 0) == ((56, 56, 32), 2080)       # thirty-two 1x1 filters
    assert [size((7, 7, 1), 1, 3, s, 0)[0] for s in (1, 2, 3)] == [(5, 5, 1), (3, 3, 1), None]
    assert size((7, 7, 1), 1, 3, 3, 1)[0] == (3, 3, 1)
    for F, P in [(3, 1), (5, 2), (7, 3)]:                                # P = (F - 1) / 2 keeps the size
        assert size((32, 32, 3), 8, F, 1, P)[0] == (32, 32, 8)
    # F = 5, S = 2: no P fits a 32-wide input, every P fits a 31- or 33-wide one.
    assert all(size((32, 32, 3), 8, 5, 2, P)[0] is None for P in range(6))
    assert all(size((W, W, 3), 8, 5, 2, P)[0] is not None for W in (31, 33) for P in range(6))


def test_rounding_down_f5_s2_as_the_text_says():
    """05: rounding down F = 5, S = 2 on 32 wide: P = 0 leaves out the image's last column, P >= 1
    only padding, P = 2 gives 16; the demo cell prints the same with the library refusing each."""
    import contextlib
    import io

    from cs231n_lib.fast_layers import conv_forward_fast

    for P in range(4):
        n = (32 + 2 * P - 5) // 2 + 1
        reached = 2 * (n - 1) + 5 - 1          # last padded column a window reads
        assert (reached < P + 31) == (P == 0)  # image columns are P .. P + 31
    assert (32 + 2 * 2 - 5) // 2 + 1 == 16
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code_cell(source("05_cnn"), "def conv_size_and_params").source,
             {"np": np, "conv_forward_fast": conv_forward_fast})
    text = out.getvalue()
    assert "output 28 x 28 x 6, parameters 456" in text and "output 32 x 32 x 10, parameters 760" in text
    assert "P = 0 on 32x32: refused; rounding down would give 14 x 14 and leave out 1 image column(s) and row(s)" in text
    assert "P = 2 on 32x32: refused; rounding down would give 16 x 16 and leave out only padding" in text
    assert "F = 5, S = 2, P = 2 on 31x31: output 16 x 16 x 1" in text


MISTAKES = [
    ("04_two_layer_net", "ex_affine_forward", "test_affine_forward", "bias forgotten", """
def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w, (x, w, b)
"""),
    ("04_two_layer_net", "ex_affine_backward", "test_affine_backward", "dx left flattened", """
def affine_backward(dout, cache):
    x, w, b = cache
    return dout @ w.T, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
"""),
    ("04_two_layer_net", "ex_affine_backward", "test_affine_backward", "db averaged", """
def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.mean(axis=0)
"""),
    ("04_two_layer_net", "ex_relu", "test_relu", "gradient 1 for negative x", """
def relu_backward(dout, cache):
    return dout * (cache != 0)
"""),
    ("04_two_layer_net", "ex_softmax_loss", "test_softmax_loss", "no max shift: overflow", """
def softmax_loss(x, y):
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    N = x.shape[0]
    loss = -np.log(p[np.arange(N), y]).mean()
    p[np.arange(N), y] -= 1
    return loss, p / N
"""),
    ("04_two_layer_net", "ex_svm_loss", "test_svm_loss", "correct class counted", """
def svm_loss(x, y):
    N = x.shape[0]
    m = np.maximum(0, x - x[np.arange(N), y][:, None] + 1)
    dx = (m > 0).astype(float)
    dx[np.arange(N), y] -= dx.sum(axis=1)
    return m.sum() / N, dx / N
"""),
    ("04_two_layer_net", "ex_two_layer_net", "test_two_layer_net", "no factor 1/2 on the penalty", """
_right = two_layer_net_loss
def two_layer_net_loss(params, X, y=None, reg=0.0):
    if y is None:
        return _right(params, X)
    loss, grads = _right(params, X, y, 2 * reg)
    return loss, grads
"""),
    ("04_two_layer_net", "ex_two_layer_net", "test_two_layer_net", "biases regularised", """
_right = two_layer_net_loss
def two_layer_net_loss(params, X, y=None, reg=0.0):
    if y is None:
        return _right(params, X)
    loss, grads = _right(params, X, y, reg)
    for k in ("b1", "b2"):
        loss += 0.5 * reg * np.sum(params[k] ** 2)
        grads[k] = grads[k] + reg * params[k]
    return loss, grads
"""),
    ("04_two_layer_net", "ex_score_gradients", "test_score_gradients", "sigmoid' taken as sigma(z)", """
def score_gradients(x, W, b, U):
    a = 1 / (1 + np.exp(-(W @ x + b)))
    return float(U @ a), np.outer(a * U, x), a * U, a
"""),
    ("04_two_layer_net", "ex_score_gradients", "test_score_gradients", "dW transposed (x delta^T)", """
def score_gradients(x, W, b, U):
    a = 1 / (1 + np.exp(-(W @ x + b)))
    delta = a * (1 - a) * U
    return float(U @ a), np.outer(x, delta).reshape(W.shape), delta, a
"""),
    ("04_two_layer_net", "ex_score_gradients", "test_score_gradients", "dU = U", """
def score_gradients(x, W, b, U):
    a = 1 / (1 + np.exp(-(W @ x + b)))
    delta = a * (1 - a) * U
    return float(U @ a), np.outer(delta, x), delta, U
"""),
    ("04_two_layer_net", "ex_count_parameters", "test_count_parameters", "inputs counted as neurons", """
def count_parameters(layer_sizes):
    weights = sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
    return sum(layer_sizes), weights, sum(layer_sizes[1:])
"""),
    ("04_two_layer_net", "ex_count_parameters", "test_count_parameters", "weights as one product", """
def count_parameters(layer_sizes):
    return sum(layer_sizes[1:]), int(np.prod(layer_sizes)), sum(layer_sizes[1:])
"""),
    ("04_two_layer_net", "ex_count_parameters", "test_count_parameters", "no bias on the scores", """
def count_parameters(layer_sizes):
    weights = sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
    return sum(layer_sizes[1:]), weights, sum(layer_sizes[1:-1])
"""),
    ("05_cnn", "ex_conv_layer_size", "test_conv_layer_size", "rounds down where the stride does not fit", """
def conv_layer_size(input_shape, num_filters, filter_size, stride, pad):
    W1, H1, D1 = input_shape
    W2, H2 = ((n - filter_size + 2 * pad) // stride + 1 for n in (W1, H1))
    return (W2, H2, num_filters), num_filters * (filter_size * filter_size * D1 + 1)
"""),
    ("05_cnn", "ex_conv_layer_size", "test_conv_layer_size", "biases not counted", """
_right = conv_layer_size
def conv_layer_size(input_shape, num_filters, filter_size, stride, pad):
    shape, params = _right(input_shape, num_filters, filter_size, stride, pad)
    return shape, params - num_filters
"""),
    ("05_cnn", "ex_conv_layer_size", "test_conv_layer_size", "filters one channel deep", """
_right = conv_layer_size
def conv_layer_size(input_shape, num_filters, filter_size, stride, pad):
    shape, _ = _right(input_shape, num_filters, filter_size, stride, pad)
    return shape, num_filters * (filter_size * filter_size + 1)
"""),
    ("05_cnn", "ex_conv_layer_size", "test_conv_layer_size", "a filter larger than the input fits", """
_right = conv_layer_size
def conv_layer_size(input_shape, num_filters, filter_size, stride, pad):
    W1, H1, _ = input_shape
    shape, params = _right(input_shape, num_filters, filter_size, stride, pad)
    if shape is None and all((n - filter_size + 2 * pad) % stride == 0 for n in (W1, H1)):
        shape = tuple((n - filter_size + 2 * pad) // stride + 1 for n in (W1, H1)) + (num_filters,)
    return shape, params
"""),
    ("05_cnn", "ex_conv_forward", "test_conv_forward", "padding ignored", """
_right = conv_forward_naive
def conv_forward_naive(x, w, b, conv_param):
    out, _ = _right(x, w, b, {"stride": conv_param["stride"], "pad": 0}) if (
        x.shape[2] - w.shape[2]) % conv_param["stride"] == 0 and (
        x.shape[3] - w.shape[3]) % conv_param["stride"] == 0 else _right(x, w, b, conv_param)
    return out, (x, w, b, conv_param)
"""),
    ("05_cnn", "ex_conv_forward", "test_conv_forward", "filter flipped (true convolution)", """
_right = conv_forward_naive
def conv_forward_naive(x, w, b, conv_param):
    return _right(x, w[:, :, ::-1, ::-1].copy(), b, conv_param)
"""),
    ("05_cnn", "ex_conv_backward", "test_conv_backward", "overlapping windows overwrite dx", """
def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(x.shape[0]):
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                win = (n, slice(None), slice(i * s, i * s + HH), slice(j * s, j * s + WW))
                dxp[win] = np.tensordot(dout[n, :, i, j], w, axes=1)
                dw += dout[n, :, i, j][:, None, None, None] * xp[win]
    return dxp[:, :, p:p + x.shape[2], p:p + x.shape[3]], dw, dout.sum(axis=(0, 2, 3))
"""),
    ("05_cnn", "ex_pool_backward", "test_pool_backward", "gradient spread over the window", """
def max_pool_backward_naive(dout, cache):
    x, pp = cache
    ph, pw, s = pp["pool_height"], pp["pool_width"], pp["stride"]
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i:i + 1, j:j + 1] / (ph * pw)
    return dx
"""),
    ("05_cnn", "ex_spatial_bn", "test_spatial_bn", "normalised per (C, H, W) feature", """
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    out, cache = batchnorm_forward(x.reshape(N, -1), np.repeat(gamma, H * W), np.repeat(beta, H * W),
                                   {k: v for k, v in bn_param.items() if not k.startswith("running")})
    bn_param["running_mean"] = out.reshape(N, C, -1).mean(axis=(0, 2))
    bn_param["running_var"] = out.reshape(N, C, -1).var(axis=(0, 2))
    return out.reshape(x.shape), (cache, C)
"""),
    ("05_cnn", "ex_three_layer_convnet", "test_three_layer_convnet", "W1 not regularised", """
_right = three_layer_convnet_loss
def three_layer_convnet_loss(params, X, y=None, reg=0.0, conv_param=None, pool_param=None):
    if y is None:
        return _right(params, X, None, reg, conv_param, pool_param)
    loss, grads = _right(params, X, y, reg, conv_param, pool_param)
    loss -= 0.5 * reg * np.sum(params["W1"] ** 2)
    grads["W1"] = grads["W1"] - reg * params["W1"]
    return loss, grads
"""),
]


@pytest.mark.parametrize("aid, exercise, gid, why, wrong", MISTAKES, ids=[m[3] for m in MISTAKES])
def test_spec_catches_mistake(aid, exercise, gid, why, wrong):
    assert failures(aid, gid, namespace(aid, appended(aid, exercise, wrong))), f"{gid} does not catch: {why}"
