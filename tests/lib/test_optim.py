"""Tests of cs231n_lib.optim: one step of every rule against the formulas, schedules, bad input."""

import math

import numpy as np
import pytest

from cs231n_lib import optim

N, D = 4, 5
W = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
DW = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
STATE = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)


def _scalar_step(rule, w, dw, cfg):
    """An independent scalar implementation of one step; returns (next_w, new state dict)."""
    lr = cfg["learning_rate"]
    if rule == "sgd":
        return w - lr * dw, {}
    if rule == "sgd_momentum":
        v = cfg["momentum"] * cfg["velocity"] - lr * dw
        return w + v, {"velocity": v}
    if rule == "nesterov":
        # Lookahead form: the gradient at w + mu*v, written in the variable w~ = w + mu*v.
        mu, v_prev = cfg["momentum"], cfg["velocity"]
        v = mu * v_prev - lr * dw
        return w + v + mu * (v - v_prev), {"velocity": v}
    if rule == "adagrad":
        cache = cfg["cache"] + dw ** 2
        return w - lr * dw / (math.sqrt(cache) + cfg["epsilon"]), {"cache": cache}
    if rule == "rmsprop":
        cache = cfg["decay_rate"] * cfg["cache"] + (1 - cfg["decay_rate"]) * dw ** 2
        return w - lr * dw / (math.sqrt(cache) + cfg["epsilon"]), {"cache": cache}
    if rule == "adam":
        t = cfg["t"] + 1
        m = cfg["beta1"] * cfg["m"] + (1 - cfg["beta1"]) * dw
        v = cfg["beta2"] * cfg["v"] + (1 - cfg["beta2"]) * dw ** 2
        step = lr * (m / (1 - cfg["beta1"] ** t)) / (math.sqrt(v / (1 - cfg["beta2"] ** t)) + cfg["epsilon"])
        return w - step, {"m": m, "v": v, "t": t}
    raise AssertionError(rule)


CASES = {  # rule -> config given to the rule (state arrays shaped like W)
    "sgd": {"learning_rate": 0.05},
    "sgd_momentum": {"learning_rate": 1e-3, "velocity": STATE},
    "nesterov": {"learning_rate": 1e-3, "momentum": 0.8, "velocity": STATE},
    "adagrad": {"learning_rate": 1e-2, "cache": STATE},
    "rmsprop": {"learning_rate": 1e-2, "cache": STATE},
    "adam": {"learning_rate": 1e-2, "m": STATE, "v": np.linspace(0.7, 0.5, num=N * D).reshape(N, D),
             "t": 5},
}
DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "nesterov": {"learning_rate": 1e-2, "momentum": 0.9},
    "adagrad": {"learning_rate": 1e-2, "epsilon": 1e-8},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}


@pytest.mark.parametrize("rule", list(CASES))
def test_one_step_matches_scalar_formula(rule):
    update = optim.UPDATE_RULES[rule]
    config = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in CASES[rule].items()}
    given = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in config.items()}
    w, dw = W.copy(), DW.copy()
    next_w, returned = update(w, dw, config=config)
    assert returned is config  # CS231n code reads the new state from the dict it passed
    np.testing.assert_array_equal(w, W)  # nothing modified in place
    np.testing.assert_array_equal(dw, DW)
    for k, v in given.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(CASES[rule][k], v)
    full = {**DEFAULTS[rule], **given}
    for idx in np.ndindex(N, D):
        scalar_cfg = {k: (v[idx] if isinstance(v, np.ndarray) else v) for k, v in full.items()}
        expected_w, expected_state = _scalar_step(rule, W[idx], DW[idx], scalar_cfg)
        assert next_w[idx] == pytest.approx(expected_w, rel=1e-13, abs=1e-15)
        for key, value in expected_state.items():
            got = config[key] if key == "t" else config[key][idx]
            assert got == pytest.approx(value, rel=1e-13, abs=1e-15)


def test_hand_computed_entries():
    # sgd_momentum, first entry: v = 0.9 * 0.6 - 1e-3 * (-0.6) = 0.5406; w = -0.4 + 0.5406.
    next_w, config = optim.sgd_momentum(W, DW, {"learning_rate": 1e-3, "velocity": STATE})
    assert next_w[0, 0] == pytest.approx(0.1406, abs=1e-15)
    assert config["velocity"][0, 0] == pytest.approx(0.5406, abs=1e-15)
    # last entry: v = 0.9 * 0.9 - 1e-3 * 0.4 = 0.8096; w = 0.6 + 0.8096.
    assert next_w[-1, -1] == pytest.approx(1.4096, abs=1e-15)
    # rmsprop, first entry: cache = 0.99 * 0.6 + 0.01 * 0.36 = 0.5976;
    # w = -0.4 + 1e-2 * 0.6 / sqrt(0.5976) = -0.392238488...
    next_w, config = optim.rmsprop(W, DW, {"learning_rate": 1e-2, "cache": STATE})
    assert config["cache"][0, 0] == pytest.approx(0.5976, abs=1e-15)
    assert next_w[0, 0] == pytest.approx(-0.39223849, abs=1e-8)
    # adam, first entry with t = 5 -> 6: m = 0.9*0.6 + 0.1*(-0.6) = 0.48,
    # v = 0.999*0.7 + 0.001*0.36 = 0.69966; step = 1e-2 * (0.48/(1-0.9^6)) / sqrt(0.69966/(1-0.999^6)).
    cfg = {"learning_rate": 1e-2, "m": STATE, "v": CASES["adam"]["v"], "t": 5}
    next_w, config = optim.adam(W, DW, cfg)
    assert config["t"] == 6
    assert config["m"][0, 0] == pytest.approx(0.48, abs=1e-15)
    assert config["v"][0, 0] == pytest.approx(0.69966, abs=1e-15)
    assert next_w[0, 0] == pytest.approx(-0.40094747, abs=1e-8)


@pytest.mark.parametrize("rule", list(CASES))
def test_defaults_and_state_initialised(rule):
    update = optim.UPDATE_RULES[rule]
    next_w, config = update(W, DW)
    for key, value in DEFAULTS[rule].items():
        assert config[key] == value
    assert set(config) == optim.config_keys(rule)
    # A second step continues from the stored state and matches the scalar formula.
    state_before = dict(config)
    next2, _ = update(next_w, DW, config)
    expected, _ = _scalar_step(rule, next_w[1, 2], DW[1, 2],
                               {k: (v[1, 2] if isinstance(v, np.ndarray) else v)
                                for k, v in state_before.items()})
    assert next2[1, 2] == pytest.approx(expected, rel=1e-13)


def test_adam_first_step_is_learning_rate_times_sign():
    # With t incremented before use, bias correction makes the first step lr * dw/|dw|.
    dw = np.array([3.0, -0.02, 1e-3])
    next_w, config = optim.adam(np.zeros(3), dw, {"learning_rate": 0.1, "epsilon": 0.0})
    np.testing.assert_allclose(next_w, -0.1 * np.sign(dw), rtol=1e-12)
    assert config["t"] == 1


def test_float32_weights_stay_float32():
    w = W.astype(np.float32)
    for update in optim.UPDATE_RULES.values():
        next_w, _ = update(w, DW.astype(np.float32))
        assert next_w.dtype == np.float32


def test_momentum_zero_is_sgd_and_nesterov_reduces_to_momentum_when_mu_zero():
    a, _ = optim.sgd(W, DW, {"learning_rate": 0.3})
    b, _ = optim.sgd_momentum(W, DW, {"learning_rate": 0.3, "momentum": 0.0})
    c, _ = optim.nesterov(W, DW, {"learning_rate": 0.3, "momentum": 0.0})
    np.testing.assert_allclose(a, b, rtol=1e-15)
    np.testing.assert_allclose(a, c, rtol=1e-15)


def test_rules_minimise_a_quadratic():
    # f(w) = 0.5 * sum(a * w^2) with different curvatures; every rule gets close to 0.
    a = np.array([1.0, 10.0, 0.1])
    configs = {"sgd": {"learning_rate": 0.1}, "sgd_momentum": {"learning_rate": 0.02},
               "nesterov": {"learning_rate": 0.02}, "adagrad": {"learning_rate": 0.5},
               "rmsprop": {"learning_rate": 0.01}, "adam": {"learning_rate": 0.05}}
    for rule, cfg in configs.items():
        w, config = np.array([1.0, -1.0, 2.0]), dict(cfg)
        start = 0.5 * np.sum(a * w * w)
        for _ in range(500):
            w, config = optim.UPDATE_RULES[rule](w, a * w, config)
        assert 0.5 * np.sum(a * w * w) < 0.05 * start, rule


@pytest.mark.parametrize("rule", list(CASES))
def test_bad_config(rule):
    update = optim.UPDATE_RULES[rule]
    with pytest.raises(ValueError, match=r"unknown config key\(s\) \['learning_rat'\]"):
        update(W, DW, {"learning_rat": 1e-3})
    with pytest.raises(ValueError, match="learning_rate"):
        update(W, DW, {"learning_rate": -1.0})
    with pytest.raises(ValueError, match=r"dw must have the shape of w \(4, 5\)"):
        update(W, DW[:2])
    with pytest.raises(ValueError, match="config must be a dict"):
        update(W, DW, [("learning_rate", 1e-3)])
    state = [k for k in optim.config_keys(rule) if k not in DEFAULTS[rule] and k != "t"]
    for key in state:
        with pytest.raises(ValueError, match=f"config\\['{key}'\\] must have the shape of w"):
            update(W, DW, {key: np.zeros(3)})


def test_get_update_rule():
    assert optim.get_update_rule("adam") is optim.adam
    with pytest.raises(ValueError, match="update_rule must be one of"):
        optim.get_update_rule("adamw")


def test_schedules():
    assert optim.step_decay(0.1, 0, drop=0.5, every=10) == 0.1
    assert optim.step_decay(0.1, 9, drop=0.5, every=10) == 0.1
    assert optim.step_decay(0.1, 10, drop=0.5, every=10) == pytest.approx(0.05)
    assert optim.step_decay(0.1, 25, drop=0.1, every=10) == pytest.approx(1e-3)
    assert optim.exponential_decay(0.1, 0, 0.5) == 0.1
    assert optim.exponential_decay(0.1, 2, 0.5) == pytest.approx(0.1 / math.e)
    assert optim.inverse_time_decay(0.1, 0, 0.5) == 0.1
    assert optim.inverse_time_decay(0.1, 4, 0.5) == pytest.approx(0.1 / 3)
    with pytest.raises(ValueError, match="drop"):
        optim.step_decay(0.1, 1, drop=1.5)
    with pytest.raises(ValueError, match="every"):
        optim.step_decay(0.1, 1, every=0)
    with pytest.raises(ValueError, match="lr0"):
        optim.exponential_decay(-1.0, 1, 0.1)
    with pytest.raises(ValueError, match="t must be"):
        optim.inverse_time_decay(0.1, -1, 0.1)
    with pytest.raises(ValueError, match="k must be"):
        optim.inverse_time_decay(0.1, 1, -0.1)
