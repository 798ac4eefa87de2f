"""Tests of the models: numerical gradients (float64), loss values, modes, overfitting, bad input."""

import numpy as np
import pytest
from scipy.special import logsumexp

from cs231n_lib import optim
from cs231n_lib.classifiers.cnn import ThreeLayerConvNet
from cs231n_lib.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from cs231n_lib.gradient_check import check_gradients


def _gradient_report(model, X, y, threshold=1e-6, atol=1e-10):
    """Check every parameter's gradient of model.loss(X, y) against centred differences."""
    loss, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name in grads:
        assert grads[name].shape == model.params[name].shape, name
    return check_gradients(lambda: model.loss(X, y)[0], model.params, grads,
                           threshold=threshold, atol=atol)


def _softmax_loss_ref(scores, y):
    return float(np.mean(logsumexp(scores, axis=1) - scores[np.arange(len(y)), y]))


# ---------------------------------------------------------------------------
# TwoLayerNet
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("N, D, H, C, reg", [(3, 5, 50, 7, 0.0), (3, 5, 50, 7, 0.7), (6, 4, 9, 2, 0.1)])
def test_two_layer_net_gradients(N, D, H, C, reg):
    rng = np.random.default_rng(N + D + H + C)
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=1e-1, reg=reg, seed=1)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    _gradient_report(model, X, y).raise_if_failed()


def test_two_layer_net_scores_and_loss_against_formula():
    rng = np.random.default_rng(0)
    model = TwoLayerNet(input_dim=6, hidden_dim=8, num_classes=4, weight_scale=0.5, reg=0.3, seed=2)
    for name in ("b1", "b2"):
        model.params[name] = rng.standard_normal(model.params[name].shape)
    X = rng.standard_normal((5, 2, 3))  # flattened to (5, 6)
    y = rng.integers(0, 4, 5)
    p = model.params
    hidden = np.maximum(0, X.reshape(5, 6) @ p["W1"] + p["b1"])
    scores = hidden @ p["W2"] + p["b2"]
    np.testing.assert_allclose(model.loss(X), scores, rtol=1e-13)
    loss, _ = model.loss(X, y)
    expected = _softmax_loss_ref(scores, y) + 0.5 * 0.3 * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
    assert loss == pytest.approx(expected, rel=1e-12)


def test_two_layer_net_init():
    model = TwoLayerNet(input_dim=10, hidden_dim=7, num_classes=3, weight_scale=1e-2, seed=4)
    rng = np.random.default_rng(4)
    np.testing.assert_array_equal(model.params["W1"], 1e-2 * rng.standard_normal((10, 7)))
    np.testing.assert_array_equal(model.params["W2"], 1e-2 * rng.standard_normal((7, 3)))
    assert not model.params["b1"].any() and model.params["b1"].shape == (7,)
    assert not model.params["b2"].any() and model.params["b2"].shape == (3,)
    # Small weights: scores near zero, the loss is near log(C).
    X = np.random.default_rng(0).standard_normal((50, 10))
    loss, _ = model.loss(X, np.zeros(50, dtype=int))
    assert loss == pytest.approx(np.log(3), abs=1e-3)


# ---------------------------------------------------------------------------
# FullyConnectedNet
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("hidden_dims", [[], [9], [9, 7]])
@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.parametrize("reg", [0.0, 3.14])
def test_fc_net_gradients(hidden_dims, normalization, reg):
    rng = np.random.default_rng(len(hidden_dims) * 7 + int(reg))
    N, D, C = 2 if normalization != "batchnorm" else 4, 8, 5
    model = FullyConnectedNet(hidden_dims, input_dim=D, num_classes=C, reg=reg,
                              weight_scale=2e-1, dtype=np.float64, normalization=normalization,
                              seed=3)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    report = _gradient_report(model, X, y, threshold=1e-6)
    report.raise_if_failed()


@pytest.mark.parametrize("keep", [0.25, 0.5])
def test_fc_net_gradients_with_seeded_dropout(keep):
    rng = np.random.default_rng(5)
    model = FullyConnectedNet([9, 7], input_dim=8, num_classes=5, weight_scale=2e-1,
                              dtype=np.float64, dropout_keep_ratio=keep, seed=123)
    X = rng.standard_normal((3, 8))
    y = rng.integers(0, 5, 3)
    # Seeded dropout: the same masks at every call, so the loss is a fixed function.
    assert model.loss(X, y)[0] == model.loss(X, y)[0]
    _gradient_report(model, X, y).raise_if_failed()


def test_fc_net_structure_and_dtype():
    model = FullyConnectedNet([4, 5], input_dim=3, num_classes=2, normalization="batchnorm", seed=0)
    assert model.num_layers == 3
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {"W1": (3, 4), "b1": (4,), "gamma1": (4,), "beta1": (4,),
                      "W2": (4, 5), "b2": (5,), "gamma2": (5,), "beta2": (5,),
                      "W3": (5, 2), "b3": (2,)}
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert len(model.bn_params) == 2
    loss, grads = model.loss(np.ones((4, 3)), np.array([0, 1, 0, 1]))
    assert all(g.dtype == np.float32 for g in grads.values())
    assert np.all(model.params["gamma1"] == 1) and np.all(model.params["beta2"] == 0)
    # The same seed gives the same weights; CS231n's float32 default dtype.
    again = FullyConnectedNet([4, 5], input_dim=3, num_classes=2, normalization="batchnorm", seed=0)
    for k in model.params:
        np.testing.assert_array_equal(model.params[k], again.params[k])


def test_fc_net_loss_against_formula_without_normalization():
    rng = np.random.default_rng(1)
    model = FullyConnectedNet([6, 5], input_dim=4, num_classes=3, reg=0.2, weight_scale=0.4,
                              dtype=np.float64, seed=9)
    X, y = rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    p = model.params
    h1 = np.maximum(0, X @ p["W1"] + p["b1"])
    h2 = np.maximum(0, h1 @ p["W2"] + p["b2"])
    scores = h2 @ p["W3"] + p["b3"]
    np.testing.assert_allclose(model.loss(X), scores, rtol=1e-13)
    reg_term = 0.5 * 0.2 * sum(np.sum(p[f"W{i}"] ** 2) for i in (1, 2, 3))
    assert model.loss(X, y)[0] == pytest.approx(_softmax_loss_ref(scores, y) + reg_term, rel=1e-12)


def test_fc_net_batchnorm_train_and_test_modes():
    rng = np.random.default_rng(2)
    model = FullyConnectedNet([8], input_dim=5, num_classes=3, normalization="batchnorm",
                              dtype=np.float64, weight_scale=0.5, seed=1)
    X = rng.standard_normal((16, 5)) * 3 + 2
    y = rng.integers(0, 3, 16)
    model.loss(X, y)  # train mode: updates the running averages
    bn = model.bn_params[0]
    assert bn["mode"] == "train"
    a = X @ model.params["W1"] + model.params["b1"]
    np.testing.assert_allclose(bn["running_mean"], 0.1 * a.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn["running_var"], 0.1 * a.var(axis=0), rtol=1e-12)
    running = bn["running_mean"].copy()
    scores = model.loss(X)  # test mode: running averages used, not updated
    assert bn["mode"] == "test"
    np.testing.assert_array_equal(bn["running_mean"], running)
    a_hat = (a - bn["running_mean"]) / np.sqrt(bn["running_var"] + 1e-5)
    expected = np.maximum(0, a_hat) @ model.params["W2"] + model.params["b2"]
    np.testing.assert_allclose(scores, expected, rtol=1e-12)


def test_fc_net_dropout_modes():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((5, 6)), rng.integers(0, 4, 5)
    dropped = FullyConnectedNet([50, 50], input_dim=6, num_classes=4, dropout_keep_ratio=0.5,
                                dtype=np.float64, weight_scale=0.3, seed=7)
    plain = FullyConnectedNet([50, 50], input_dim=6, num_classes=4, dtype=np.float64,
                              weight_scale=0.3, seed=7)
    # Test mode: dropout is the identity, the scores equal those of the same net without it.
    np.testing.assert_allclose(dropped.loss(X), plain.loss(X), rtol=1e-14)
    assert dropped.dropout_param["mode"] == "test"
    # Train mode: dropout changes the loss; seeded masks differ between layers.
    assert dropped.loss(X, y)[0] != pytest.approx(plain.loss(X, y)[0])
    assert dropped._layer_dropout_param(1)["seed"] != dropped._layer_dropout_param(2)["seed"]
    # Unseeded dropout with an rng: fresh masks at every call.
    fresh = FullyConnectedNet([50], input_dim=6, num_classes=4, dropout_keep_ratio=0.5,
                              dtype=np.float64)
    fresh.dropout_param["rng"] = np.random.default_rng(0)
    assert fresh.loss(X, y)[0] != fresh.loss(X, y)[0]


def test_fc_net_initial_loss_near_log_c():
    rng = np.random.default_rng(4)
    model = FullyConnectedNet([50, 50], input_dim=20, num_classes=10, weight_scale=1e-3,
                              dtype=np.float64, seed=0)
    loss, _ = model.loss(rng.standard_normal((40, 20)), rng.integers(0, 10, 40))
    assert loss == pytest.approx(np.log(10), abs=1e-4)


# ---------------------------------------------------------------------------
# ThreeLayerConvNet
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("reg", [0.0, 0.5])
def test_three_layer_convnet_gradients(reg):
    rng = np.random.default_rng(6)
    model = ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=3, filter_size=3, hidden_dim=7,
                              num_classes=4, weight_scale=0.1, reg=reg, dtype=np.float64, seed=0)
    X = rng.standard_normal((2, 3, 8, 8))
    y = rng.integers(0, 4, 2)
    _gradient_report(model, X, y).raise_if_failed()


def test_three_layer_convnet_shapes_and_scores_against_naive_layers():
    from cs231n_lib import layers as L

    rng = np.random.default_rng(7)
    model = ThreeLayerConvNet(input_dim=(2, 6, 10), num_filters=4, filter_size=5, hidden_dim=9,
                              num_classes=3, weight_scale=0.2, reg=0.1, dtype=np.float64, seed=1)
    p = model.params
    assert p["W1"].shape == (4, 2, 5, 5) and p["W2"].shape == (4 * 3 * 5, 9)
    assert p["W3"].shape == (9, 3)
    X = rng.standard_normal((3, 2, 6, 10))
    conv, _ = L.conv_forward_naive(X, p["W1"], p["b1"], {"stride": 1, "pad": 2})
    pooled, _ = L.max_pool_forward_naive(np.maximum(conv, 0),
                                         {"pool_height": 2, "pool_width": 2, "stride": 2})
    hidden = np.maximum(0, pooled.reshape(3, -1) @ p["W2"] + p["b2"])
    scores = hidden @ p["W3"] + p["b3"]
    np.testing.assert_allclose(model.loss(X), scores, rtol=1e-12)
    y = np.array([0, 2, 1])
    reg_term = 0.05 * sum(np.sum(p[k] ** 2) for k in ("W1", "W2", "W3"))
    assert model.loss(X, y)[0] == pytest.approx(_softmax_loss_ref(scores, y) + reg_term, rel=1e-12)


def test_three_layer_convnet_default_float32():
    model = ThreeLayerConvNet(num_filters=2, hidden_dim=5, seed=0)
    assert all(v.dtype == np.float32 for v in model.params.values())
    X = np.random.default_rng(0).standard_normal((2, 3, 32, 32))
    loss, grads = model.loss(X, np.array([1, 2]))
    assert loss == pytest.approx(np.log(10), abs=1e-3)
    assert all(g.dtype == np.float32 for g in grads.values())


# ---------------------------------------------------------------------------
# Every model overfits a tiny batch
# ---------------------------------------------------------------------------


def _overfit(model, X, y, lr, steps):
    configs = {k: {"learning_rate": lr} for k in model.params}
    for _ in range(steps):
        _, grads = model.loss(X, y)
        for k in model.params:
            model.params[k], configs[k] = optim.adam(model.params[k], grads[k], configs[k])
    return np.mean(np.argmax(model.loss(X), axis=1) == y)


@pytest.mark.parametrize("make, shape", [
    (lambda: TwoLayerNet(input_dim=48, hidden_dim=30, num_classes=5, weight_scale=1e-2, seed=0), (48,)),
    (lambda: FullyConnectedNet([30, 30], input_dim=48, num_classes=5, seed=0), (48,)),
    (lambda: FullyConnectedNet([30, 30], input_dim=48, num_classes=5, normalization="batchnorm",
                               seed=0), (48,)),
    (lambda: FullyConnectedNet([30, 30], input_dim=48, num_classes=5, normalization="layernorm",
                               dropout_keep_ratio=0.8, seed=0), (48,)),
    (lambda: ThreeLayerConvNet(input_dim=(3, 4, 4), num_filters=8, filter_size=3, hidden_dim=30,
                               num_classes=5, weight_scale=1e-2, seed=0), (3, 4, 4)),
])
def test_models_overfit_twenty_examples(make, shape):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((20, *shape))
    y = rng.integers(0, 5, 20)
    assert _overfit(make(), X, y, lr=1e-2, steps=200) == 1.0


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def test_models_bad_input():
    with pytest.raises(ValueError, match="hidden_dim must be a positive integer"):
        TwoLayerNet(hidden_dim=0)
    with pytest.raises(ValueError, match="weight_scale"):
        TwoLayerNet(input_dim=3, weight_scale=-1.0)
    with pytest.raises(ValueError, match=r"hidden_dims\[1\]"):
        FullyConnectedNet([3, 0], input_dim=2)
    with pytest.raises(ValueError, match="normalization must be one of"):
        FullyConnectedNet([3], input_dim=2, normalization="groupnorm")
    with pytest.raises(ValueError, match="dropout_keep_ratio"):
        FullyConnectedNet([3], input_dim=2, dropout_keep_ratio=0.0)
    with pytest.raises(ValueError, match="dtype"):
        FullyConnectedNet([3], input_dim=2, dtype=np.int32)
    with pytest.raises(ValueError, match="filter_size must be odd"):
        ThreeLayerConvNet(filter_size=4)
    with pytest.raises(ValueError, match="even H and W"):
        ThreeLayerConvNet(input_dim=(3, 7, 8))
    with pytest.raises(ValueError, match=r"input_dim must be \(C, H, W\)"):
        ThreeLayerConvNet(input_dim=(32, 32))

    net = TwoLayerNet(input_dim=6, hidden_dim=4, num_classes=3, seed=0)
    with pytest.raises(ValueError, match="input_dim = 6"):
        net.loss(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"\[0, C\) = \[0, 3\)"):
        net.loss(np.zeros((2, 6)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"y must have shape \(N,\) = \(2,\)"):
        net.loss(np.zeros((2, 6)), np.array([0, 1, 2]))
    cnn = ThreeLayerConvNet(input_dim=(3, 4, 4), num_filters=2, filter_size=3, hidden_dim=3, seed=0)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 3, 4, 4\)"):
        cnn.loss(np.zeros((2, 4, 4, 3)))


def test_models_do_not_modify_inputs():
    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((4, 3, 4, 4)), np.array([0, 1, 2, 1])
    X0, y0 = X.copy(), y.copy()
    for model in (TwoLayerNet(input_dim=48, hidden_dim=5, num_classes=3, seed=0),
                  FullyConnectedNet([5], input_dim=48, num_classes=3, normalization="batchnorm",
                                    dropout_keep_ratio=0.5, dtype=np.float64, seed=0),
                  ThreeLayerConvNet(input_dim=(3, 4, 4), num_filters=2, filter_size=3,
                                    hidden_dim=5, num_classes=3, dtype=np.float64, seed=0)):
        params0 = {k: v.copy() for k, v in model.params.items()}
        model.loss(X, y)
        model.loss(X)
        np.testing.assert_array_equal(X, X0)
        np.testing.assert_array_equal(y, y0)
        for k in params0:
            np.testing.assert_array_equal(model.params[k], params0[k])
