"""Verification spec of 07_optimizers (see docs/authoring.md): one Check per autograded test cell.

Each update rule is run for several steps, feeding the config it returns into the next call,
from config=None (the CS231n defaults, zero state) or from a given config with non-default
hyperparameters and non-zero state. The result compared is the final weights and the final
config (hyperparameters and state), against the library's reference rules in cs231n_lib.optim.
Edge cases: a single weight, 4-d weights, a zero gradient, huge and tiny gradients (the adaptive
rules are scale-invariant), momentum 0, the inputs left unchanged.
"""

import copy

from autograder.verify.spec import Check, allclose
from cs231n_lib import optim

# Every rule uses numpy only: any of the library's rules could be assembled into another one
# (momentum from Nesterov's velocity, RMSProp from Adam with beta1 = 0, ...).
# Hyperparameter variants (besides the defaults) and non-zero state for each rule.
VARIANTS = {
    "sgd_momentum": [{"learning_rate": 0.05, "momentum": 0.5}, {"learning_rate": 0.1, "momentum": 0.0},
                     {"learning_rate": 1e-3, "momentum": 0.99}],
    "nesterov": [{"learning_rate": 0.05, "momentum": 0.5}, {"learning_rate": 0.1, "momentum": 0.0},
                 {"learning_rate": 1e-3, "momentum": 0.99}],
    "adagrad": [{"learning_rate": 0.5, "epsilon": 1e-8}, {"learning_rate": 1e-3, "epsilon": 1e-4}],
    "rmsprop": [{"learning_rate": 0.05, "decay_rate": 0.9}, {"learning_rate": 1e-3, "decay_rate": 0.999,
                                                             "epsilon": 1e-6}],
    "adam": [{"learning_rate": 0.01, "beta1": 0.5, "beta2": 0.9}, {"learning_rate": 1e-4, "epsilon": 1e-6}],
}
STATE = {"sgd_momentum": ("velocity",), "nesterov": ("velocity",), "adagrad": ("cache",),
         "rmsprop": ("cache",), "adam": ("m", "v")}


def _cases_for(rule):
    def cases(rng):
        out = []
        shapes = [(1,), (7,), (3, 4), (2, 3, 2, 2)]
        for k, shape in enumerate(shapes):
            scale = [1.0, 1e3, 1e-3, 1.0][k]
            out.append({"w": rng.standard_normal(shape), "config": None,
                        "dws": scale * rng.standard_normal((int(rng.integers(1, 5)), *shape))})
        for variant in VARIANTS[rule]:
            shape = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
            config = dict(variant)
            for name in STATE[rule]:
                state = rng.standard_normal(shape)
                config[name] = state ** 2 if name in ("cache", "v") else state  # squared sums are >= 0
            if rule == "adam":
                config["t"] = int(rng.integers(0, 50))
            dws = rng.standard_normal((4, *shape))
            dws[1, 0] = 0.0                                  # a zero gradient entry
            out.append({"w": rng.standard_normal(shape), "config": config, "dws": dws})
        return out
    return cases


def _call(rule):
    # Run the rule over the gradients in dws, feeding each returned config into the next call;
    # return the last (next_w, config) and w itself (which must be unchanged).
    return (f"(lambda s, dws: [s := {rule}(s[0], dw, s[1]) for dw in dws][-1])((w, config), dws) "
            f"+ (w,)")


def _expected_for(rule):
    reference = getattr(optim, rule)

    def expected(case):
        w, config = case["w"], copy.deepcopy(case["config"])
        original = w.copy()
        for dw in case["dws"]:
            w, config = reference(w, dw, config)
        return w, config, original
    return expected


def _check(rule):
    return Check(call=_call(rule), cases=_cases_for(rule), expected=_expected_for(rule),
                 compare=allclose(rtol=1e-7, atol=1e-12), mutable=("config",))   # CS231n updates it


CHECKS = {f"test_{rule}": _check(rule) for rule in ("sgd_momentum", "nesterov", "adagrad", "rmsprop", "adam")}
