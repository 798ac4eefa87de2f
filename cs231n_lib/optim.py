"""First-order update rules and learning-rate schedules.

Every update rule has the interface

    next_w, config = update(w, dw, config=None)

- w: current weights (any shape); dw: gradient of the loss with respect to w (same shape)
- config: dict of hyperparameters (learning rate, momentum, ...) and state (velocity,
  moment estimates, ...) carried from one call to the next; None means all defaults.

Neither w nor dw is modified: next_w is a new array, and state arrays in config are
replaced by new arrays, never written in place. For compatibility with CS231n code that
reads ``config["m"]`` after ``adam(w, dw, config=config)``, the config dict itself is
updated (missing defaults and the new state are stored in it) and returned. A key that
the rule does not know is an error (ValueError), so a misspelt hyperparameter is not
silently ignored.

Defaults follow CS231n: learning_rate 1e-2 (1e-3 for Adam), momentum 0.9,
decay_rate 0.99, beta1 0.9, beta2 0.999, epsilon 1e-8.
"""

import math
from numbers import Real

import numpy as np

# Each rule's hyperparameters with their defaults, and the names of its state arrays
# (shaped like w, zeros until the first step).
_SPECS = {
    "sgd": ({"learning_rate": 1e-2}, ()),
    "sgd_momentum": ({"learning_rate": 1e-2, "momentum": 0.9}, ("velocity",)),
    "nesterov": ({"learning_rate": 1e-2, "momentum": 0.9}, ("velocity",)),
    "adagrad": ({"learning_rate": 1e-2, "epsilon": 1e-8}, ("cache",)),
    "rmsprop": ({"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}, ("cache",)),
    "adam": ({"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, ("m", "v")),
}
_COUNTERS = {"adam": ("t",)}  # integer state


def config_keys(rule):
    """The config keys the update rule called `rule` accepts (a frozenset of names)."""
    defaults, state = _SPECS[rule]
    return frozenset(defaults) | frozenset(state) | frozenset(_COUNTERS.get(rule, ()))


def _prepare(rule, w, dw, config):
    """Check the arguments of an update rule; fill in defaults and zero state.

    Inputs:
    - rule: name of the rule (a key of _SPECS)
    - w, dw: weights and gradient (same shape)
    - config: the caller's dict or None

    Returns:
    - w, dw as arrays, and the config dict (the caller's object, or a new one)
    """
    defaults, state = _SPECS[rule]
    w, dw = np.asarray(w), np.asarray(dw)
    if dw.shape != w.shape:
        raise ValueError(f"{rule}: dw must have the shape of w {w.shape}, got {dw.shape}")
    if config is None:
        config = {}
    elif not isinstance(config, dict):
        raise ValueError(f"{rule}: config must be a dict or None, got {type(config).__name__}")
    allowed = config_keys(rule)
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ValueError(
            f"{rule}: unknown config key(s) {unknown}; {rule} accepts {sorted(allowed)}"
        )
    for key, value in defaults.items():
        config.setdefault(key, value)
        if isinstance(config[key], bool) or not isinstance(config[key], Real) or config[key] < 0:
            raise ValueError(f"{rule}: config[{key!r}] must be a non-negative number, got {config[key]!r}")
    for key in state:
        if key not in config:
            config[key] = np.zeros_like(w)
        elif np.shape(config[key]) != w.shape:
            raise ValueError(
                f"{rule}: config[{key!r}] must have the shape of w {w.shape}, "
                f"got {np.shape(config[key])}"
            )
    return w, dw, config


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: w - learning_rate * dw.

    config:
    - learning_rate: scalar, default 1e-2

    Returns:
    - next_w: array shaped like w
    - config: the config dict
    """
    w, dw, config = _prepare("sgd", w, dw, config)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum: v = momentum * v - learning_rate * dw; next_w = w + v.

    config:
    - learning_rate: scalar, default 1e-2
    - momentum: scalar in [0, 1), default 0.9 (0 gives plain SGD)
    - velocity: array shaped like w, default zeros; the new velocity is stored here

    Returns:
    - next_w: array shaped like w
    - config: the config dict
    """
    w, dw, config = _prepare("sgd_momentum", w, dw, config)
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def nesterov(w, dw, config=None):
    """Nesterov momentum in the change-of-variables form, with dw taken at w.

    v_prev = v; v = momentum * v - learning_rate * dw;
    next_w = w - momentum * v_prev + (1 + momentum) * v

    (w here is the "looked-ahead" parameter vector, so the gradient is evaluated
    where the update is applied, as with plain momentum.)

    config:
    - learning_rate: scalar, default 1e-2
    - momentum: scalar in [0, 1), default 0.9
    - velocity: array shaped like w, default zeros; the new velocity is stored here

    Returns:
    - next_w: array shaped like w
    - config: the config dict
    """
    w, dw, config = _prepare("nesterov", w, dw, config)
    mu = config["momentum"]
    v_prev = config["velocity"]
    v = mu * v_prev - config["learning_rate"] * dw
    config["velocity"] = v
    return w - mu * v_prev + (1 + mu) * v, config


def adagrad(w, dw, config=None):
    """Adagrad: per-parameter step sizes shrinking with the sum of squared gradients.

    cache = cache + dw**2; next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)

    config:
    - learning_rate: scalar, default 1e-2
    - epsilon: small scalar avoiding division by zero, default 1e-8
    - cache: array shaped like w, default zeros; the new sum is stored here

    Returns:
    - next_w: array shaped like w
    - config: the config dict
    """
    w, dw, config = _prepare("adagrad", w, dw, config)
    cache = config["cache"] + dw * dw
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def rmsprop(w, dw, config=None):
    """RMSProp: like Adagrad with a leaky (moving-average) cache of squared gradients.

    cache = decay_rate * cache + (1 - decay_rate) * dw**2;
    next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)

    config:
    - learning_rate: scalar, default 1e-2
    - decay_rate: scalar in [0, 1), default 0.99
    - epsilon: small scalar avoiding division by zero, default 1e-8
    - cache: array shaped like w, default zeros; the new average is stored here

    Returns:
    - next_w: array shaped like w
    - config: the config dict
    """
    w, dw, config = _prepare("rmsprop", w, dw, config)
    decay = config["decay_rate"]
    cache = decay * config["cache"] + (1 - decay) * (dw * dw)
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def adam(w, dw, config=None):
    """Adam: moving averages of the gradient and its square, with bias correction.

    t = t + 1 (before use, so the first step has t = 1);
    m = beta1 * m + (1 - beta1) * dw;  v = beta2 * v + (1 - beta2) * dw**2;
    m_hat = m / (1 - beta1**t);  v_hat = v / (1 - beta2**t);
    next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    config:
    - learning_rate: scalar, default 1e-3
    - beta1: decay of the first moment, default 0.9
    - beta2: decay of the second moment, default 0.999
    - epsilon: small scalar avoiding division by zero, default 1e-8
    - m, v: moment estimates shaped like w, default zeros
    - t: number of steps taken so far, default 0

    Returns:
    - next_w: array shaped like w
    - config: the config dict
    """
    w, dw, config = _prepare("adam", w, dw, config)
    t = config.get("t", 0)
    if isinstance(t, bool) or not isinstance(t, int | np.integer) or t < 0:
        raise ValueError(f"adam: config['t'] must be a non-negative integer, got {t!r}")
    t = int(t) + 1
    beta1, beta2 = config["beta1"], config["beta2"]
    m = beta1 * config["m"] + (1 - beta1) * dw
    v = beta2 * config["v"] + (1 - beta2) * (dw * dw)
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    config["m"], config["v"], config["t"] = m, v, t
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


UPDATE_RULES = {
    "sgd": sgd,
    "sgd_momentum": sgd_momentum,
    "nesterov": nesterov,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adam": adam,
}


def get_update_rule(name):
    """The update rule called `name` (one of UPDATE_RULES); ValueError for any other name."""
    if name not in UPDATE_RULES:
        raise ValueError(f"update_rule must be one of {sorted(UPDATE_RULES)} or a callable, got {name!r}")
    return UPDATE_RULES[name]


# ---------------------------------------------------------------------------
# Learning-rate schedules: lr as a function of the epoch or iteration
# ---------------------------------------------------------------------------


def _check_schedule(lr0, step, step_name):
    if isinstance(lr0, bool) or not isinstance(lr0, Real) or lr0 < 0:
        raise ValueError(f"lr0 must be a non-negative number, got {lr0!r}")
    if isinstance(step, bool) or not isinstance(step, Real) or step < 0:
        raise ValueError(f"{step_name} must be a non-negative number, got {step!r}")


def step_decay(lr0, epoch, drop=0.5, every=10):
    """Step decay: multiply the rate by `drop` every `every` epochs.

    lr = lr0 * drop ** floor(epoch / every)

    Inputs:
    - lr0: initial learning rate
    - epoch: epochs completed (0, 1, ...)
    - drop: factor applied at each step, in (0, 1]
    - every: epochs between steps (positive)

    Returns:
    - lr: float
    """
    _check_schedule(lr0, epoch, "epoch")
    if not 0 < drop <= 1:
        raise ValueError(f"drop must lie in (0, 1], got {drop!r}")
    if not every > 0:
        raise ValueError(f"every must be positive, got {every!r}")
    return float(lr0 * drop ** math.floor(epoch / every))


def exponential_decay(lr0, t, k):
    """Exponential decay: lr = lr0 * exp(-k * t).

    Inputs:
    - lr0: initial learning rate
    - t: iteration or epoch number
    - k: decay rate (non-negative)

    Returns:
    - lr: float
    """
    _check_schedule(lr0, t, "t")
    if k < 0:
        raise ValueError(f"k must be non-negative, got {k!r}")
    return float(lr0 * math.exp(-k * t))


def inverse_time_decay(lr0, t, k):
    """1/t decay: lr = lr0 / (1 + k * t).

    Inputs:
    - lr0: initial learning rate
    - t: iteration or epoch number
    - k: decay rate (non-negative)

    Returns:
    - lr: float
    """
    _check_schedule(lr0, t, "t")
    if k < 0:
        raise ValueError(f"k must be non-negative, got {k!r}")
    return float(lr0 / (1 + k * t))
