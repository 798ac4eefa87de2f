"""Numerical gradient checking: the CS231n helpers and a checker that returns a report.

The CS231n helpers keep their names, arguments and printing:

- ``eval_numerical_gradient(f, x, verbose=True, h=1e-5)``: centred differences of a scalar f(x)
- ``eval_numerical_gradient_array(f, x, df, h=1e-5)``: gradient of sum(f(x) * df) w.r.t. x
- ``grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None)``: random entries
- ``rel_error(x, y)``: max |x - y| / max(1e-8, |x| + |y|)

The report-returning checker ``check_gradients(f, params, analytic, ...)`` takes a loss of
several named parameters, e.g. ``check_gradients(lambda: model.loss(X, y)[0], model.params,
grads)``, or, given the upstream gradient ``dout``, a layer's forward function, e.g.
``check_gradients(affine_forward, {"x": x, "w": w, "b": b}, {"x": dx, "w": dw, "b": db},
dout=dout)``. (The notebooks' ``check_layer_gradient``, which prints PASS or raises, lives in
``cs231n_lib.checks``, which builds on this module.)

It returns a ``GradCheckReport``: per-parameter maximum relative error, the worst entries
(index, analytic and numerical values side by side), pass or fail against a threshold and,
when a failure has a recognisable shape, a hint: a wrong sign, a constant factor, a
transposed matrix, a missing regularization term -- or no bug at all: a kink (a ReLU or max
switching within h, seen as one-sided differences that disagree; ``ignore_kinks=True`` skips
them) or errors at the level of floating-point rounding. ``str(report)`` is a table;
``report.raise_if_failed()`` raises ``GradientCheckError``.

Centred differences perturb the arrays in place (that is how a closure such as
``lambda: model.loss(X, y)[0]`` sees the change) and always put the original value back,
also when the function raises. They need float64: checking a float32 or float16 array warns
with ``PrecisionWarning``.
"""

import unicodedata
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from cs231n_lib.i18n import Messages

_ = Messages("cs231n_lib").gettext  # the report in the notebook's language (cs231n_lib.i18n)
_n = Messages("cs231n_lib").ngettext

__all__ = [
    "GradCheckReport",
    "GradientCheckError",
    "ParamCheck",
    "PrecisionWarning",
    "check_gradients",
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "grad_check_sparse",
    "rel_error",
]

_FLOOR = 1e-8  # denominator floor of the relative error, as in CS231n


class PrecisionWarning(UserWarning):
    """Centred differences asked of an array with less than float64 precision."""


class GradientCheckError(AssertionError):
    """A gradient check failed; the message is the report's table."""


# ---------------------------------------------------------------------------
# Relative error
# ---------------------------------------------------------------------------


def rel_error(x, y):
    """Largest elementwise relative error between two arrays (or numbers), as in CS231n.

    Inputs:
    - x, y: arrays of the same shape (or numbers)

    Returns:
    - float: max over entries of |x - y| / max(1e-8, |x| + |y|); 0.0 for empty arrays,
      nan if any entry is nan
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"rel_error: x and y must have the same shape, got {x.shape} and {y.shape}")
    if x.size == 0:
        return 0.0
    return float(np.max(_elementwise_rel_error(x, y)))


def _elementwise_rel_error(x, y):
    """|x - y| / max(1e-8, |x| + |y|) entry by entry (float64 arrays of one shape)."""
    with np.errstate(invalid="ignore"):
        return np.abs(x - y) / np.maximum(_FLOOR, np.abs(x) + np.abs(y))


# ---------------------------------------------------------------------------
# Perturbation core
# ---------------------------------------------------------------------------


def _require_perturbable(x, name):
    """Raise ValueError unless x is a writeable real floating-point ndarray; warn below float64."""
    if not isinstance(x, np.ndarray):
        raise ValueError(
            f"{name} must be a numpy array (it is perturbed in place), got {type(x).__name__}"
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"{name} must be a floating-point array to be perturbed by h, got dtype {x.dtype}"
        )
    if not x.flags.writeable:
        raise ValueError(f"{name} is read-only; centred differences perturb it in place")
    if np.finfo(x.dtype).bits < 64:
        warnings.warn(
            f"{name} has dtype {x.dtype}: centred differences lose most of their digits below "
            f"float64 precision, so the numerical gradient is unreliable; cast to float64 "
            f"(e.g. x.astype(np.float64)) before checking gradients",
            PrecisionWarning,
            stacklevel=3,
        )


def _perturbed(x, ix, h, evaluate):
    """Evaluate at x[ix] + h and x[ix] - h; x[ix] is restored exactly, also if evaluate raises.

    Inputs:
    - x: array perturbed in place
    - ix: index tuple of one entry
    - h: step
    - evaluate: callable () -> value, read after each perturbation

    Returns:
    - (value at x[ix] + h, value at x[ix] - h)
    """
    old = x[ix].copy()
    try:
        x[ix] = old + h
        plus = evaluate()
        x[ix] = old - h
        minus = evaluate()
    finally:
        x[ix] = old
    return plus, minus


def _scalar(value, who):
    """Convert a function's return value to float, with a clear error if it is not a scalar."""
    if isinstance(value, tuple):
        raise ValueError(
            f"{who} returned a tuple of {len(value)} items, expected a scalar loss; "
            f"pass a function that returns only the loss, e.g. lambda: model.loss(X, y)[0]"
        )
    arr = np.asarray(value)
    if arr.size != 1 or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(
            f"{who} must return a scalar, got {type(value).__name__} of shape {arr.shape}"
        )
    return float(arr.reshape(()))


def _output_array(value, who):
    """A layer's output as a float64 copy; (out, cache) tuples give out."""
    if isinstance(value, tuple):
        if len(value) == 0:
            raise ValueError(f"{who} returned an empty tuple, expected an array")
        value = value[0]
    return np.array(value, dtype=np.float64, copy=True)


# ---------------------------------------------------------------------------
# CS231n helpers
# ---------------------------------------------------------------------------


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Numerical gradient of a scalar function by centred differences, as in CS231n.

    Each entry of x is perturbed in place by +h and -h and restored afterwards.

    Inputs:
    - f: callable f(x) -> scalar
    - x: float array of any shape, the point to evaluate the gradient at
    - verbose: print each index and its gradient, one line per entry
    - h: step of the centred difference

    Returns:
    - grad: float64 array of the shape of x, (f(x + h e_i) - f(x - h e_i)) / (2h)
    """
    _require_perturbable(x, "x")
    grad = np.zeros(x.shape, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        plus, minus = _perturbed(x, ix, h, lambda: _scalar(f(x), "f"))
        grad[ix] = (plus - minus) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numerical gradient of sum(f(x) * df) with respect to x, for an array-valued f.

    Inputs:
    - f: callable f(x) -> array of the shape of df (or (out, cache); out is used)
    - x: float array of any shape, perturbed in place and restored
    - df: upstream gradient, same shape as f(x)
    - h: step of the centred difference

    Returns:
    - grad: float64 array of the shape of x
    """
    _require_perturbable(x, "x")
    df = np.asarray(df, dtype=np.float64)
    grad = np.zeros(x.shape, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        plus, minus = _perturbed(x, ix, h, lambda: _output_array(f(x), "f"))
        if plus.shape != df.shape:
            raise ValueError(f"df has shape {df.shape} but f(x) returned shape {plus.shape}")
        grad[ix] = np.sum((plus - minus) * df) / (2 * h)
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None):
    """Compare the analytic gradient with centred differences at random entries, as in CS231n.

    Prints one line per entry: ``numerical: ... analytic: ..., relative error: ...``.
    Entries are drawn with replacement from ``numpy.random.default_rng(seed)`` (the global
    generator is never used); pass a seed for reproducible entries.

    Inputs:
    - f: callable f(x) -> scalar
    - x: float array, perturbed in place and restored
    - analytic_grad: array of the shape of x
    - num_checks: number of random entries
    - h: step of the centred difference
    - seed: int, numpy Generator or None

    Returns:
    - rel_errors: float64 array (num_checks,), the relative error of each checked entry
    """
    _require_perturbable(x, "x")
    analytic_grad = np.asarray(analytic_grad, dtype=np.float64)
    if analytic_grad.shape != x.shape:
        raise ValueError(
            f"analytic_grad must have the shape of x {x.shape}, got {analytic_grad.shape}"
        )
    rng = np.random.default_rng(seed)
    errors = np.zeros(num_checks)
    for k in range(num_checks):
        ix = tuple(int(rng.integers(m)) for m in x.shape)
        plus, minus = _perturbed(x, ix, h, lambda: _scalar(f(x), "f"))
        grad_numerical = (plus - minus) / (2 * h)
        grad_analytic = float(analytic_grad[ix])
        errors[k] = _elementwise_rel_error(np.float64(grad_numerical), np.float64(grad_analytic))
        print(
            f"numerical: {grad_numerical:f} analytic: {grad_analytic:f}, "
            f"relative error: {errors[k]:e}"
        )
    return errors


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


@dataclass
class ParamCheck:
    """The checked entries of one parameter.

    Attributes:
    - name: parameter name (a key of params / inputs)
    - shape: the parameter's shape
    - indices: int array (K, ndim), the checked entries
    - analytic, numeric: float64 arrays (K,), gradients at those entries
    - rel_errors: float64 array (K,), |a - n| / max(1e-8, |a| + |n|), 0 where |a - n| <= atol
    - kinks: bool array (K,), entries where the function looks non-differentiable within h
      (the one-sided differences disagree and the analytic gradient matches one side)
    - noise: estimated rounding error of a centred difference here (eps * |f| / h)
    - threshold: largest relative error that passes
    - ignore_kinks: kink entries do not count towards max_rel_error and passed
    - hint: a likely cause when the failure has a recognisable pattern, else None
    """

    name: str
    shape: tuple
    indices: np.ndarray
    analytic: np.ndarray
    numeric: np.ndarray
    rel_errors: np.ndarray
    kinks: np.ndarray
    noise: float
    threshold: float
    ignore_kinks: bool = False
    hint: str | None = None

    @property
    def num_checked(self):
        """Number of entries compared."""
        return len(self.rel_errors)

    @property
    def num_kinks(self):
        """Number of checked entries that look like kinks."""
        return int(np.sum(self.kinks))

    @property
    def size(self):
        """Number of entries of the parameter."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def _counted(self):
        return ~self.kinks if self.ignore_kinks else np.ones(self.num_checked, bool)

    @property
    def max_rel_error(self):
        """Largest relative error over the counted entries (nan if any is nan)."""
        errors = self.rel_errors[self._counted]
        return float(np.max(errors)) if errors.size else 0.0

    @property
    def max_abs_error(self):
        """Largest |analytic - numeric| over the counted entries."""
        diff = np.abs(self.analytic - self.numeric)[self._counted]
        return float(np.max(diff)) if diff.size else 0.0

    @property
    def passed(self):
        """True when every counted entry's relative error is <= threshold (nan fails)."""
        return bool(self.max_rel_error <= self.threshold)

    def worst(self, k=5):
        """The k checked entries with the largest relative errors (nan first).

        Returns:
        - list of (index tuple, analytic, numeric, relative error, looks like a kink), worst first
        """
        key = np.where(np.isnan(self.rel_errors), np.inf, self.rel_errors)
        order = np.argsort(-key, kind="stable")[:k]
        return [
            (tuple(int(i) for i in self.indices[j]), float(self.analytic[j]),
             float(self.numeric[j]), float(self.rel_errors[j]), bool(self.kinks[j]))
            for j in order
        ]


@dataclass
class GradCheckReport:
    """Result of a gradient check over one or more named parameters.

    Attributes:
    - params: {name: ParamCheck}, in the order they were checked
    - threshold: largest relative error that passes
    - h: step of the centred differences
    """

    params: dict[str, ParamCheck] = field(default_factory=dict)
    threshold: float = 1e-7
    h: float = 1e-5

    @property
    def passed(self):
        """True when every parameter passed."""
        return all(p.passed for p in self.params.values())

    @property
    def max_rel_error(self):
        """Largest relative error over all parameters (nan if any is nan)."""
        errors = [p.max_rel_error for p in self.params.values()]
        if not errors:
            return 0.0
        return float(np.max(errors))

    @property
    def rel_errors(self):
        """{name: max relative error} per parameter."""
        return {name: p.max_rel_error for name, p in self.params.items()}

    @property
    def failed(self):
        """Names of the parameters that failed."""
        return [name for name, p in self.params.items() if not p.passed]

    def __getitem__(self, name):
        return self.params[name]

    def summary(self):
        """One line: passed/FAILED, the largest relative error and the per-parameter errors."""
        per = ", ".join(f"{n} {p.max_rel_error:.1e}" for n, p in self.params.items())
        checked = sum(p.num_checked for p in self.params.values())
        summary = (_("gradient check passed: max relative error {err:.1e} (threshold {tol:.3g}; {per}; "
                     "{checked} checked)") if self.passed else
                   _("gradient check FAILED: max relative error {err:.1e} (threshold {tol:.3g}; {per}; "
                     "{checked} checked)"))
        return summary.format(err=self.max_rel_error, tol=self.threshold, per=per,
                              checked=_n("{n} entry", "{n} entries", checked).format(n=int(checked)))

    def __str__(self):
        lines = [self.summary(), ""]
        rows = [(_("param"), _("shape"), _("checked"), _("max rel error"), _("max abs error"), _("kinks"),
                 _("result"))]
        for name, p in self.params.items():
            kinks = str(p.num_kinks) + (_(" (ignored)") if p.ignore_kinks and p.num_kinks else "")
            rows.append((name, str(p.shape), f"{p.num_checked}/{p.size}",
                         f"{p.max_rel_error:.2e}", f"{p.max_abs_error:.2e}", kinks,
                         _("ok") if p.passed else _("FAIL")))
        lines += _table(rows)
        failing = [p for p in self.params.values() if not p.passed]
        shown = failing if failing else list(self.params.values())
        entries = [(_("param"), _("index"), _("analytic"), _("numeric"), _("rel error"), "")]
        for p in shown:
            for ix, a, n, e, kink in p.worst(5 if failing else 1):
                entries.append((p.name, str(ix), f"{a: .6e}", f"{n: .6e}", f"{e:.2e}",
                                _("kink?") if kink else ""))
        if len(entries) > 1:
            lines += ["", _("worst entries:") if failing else _("largest error per parameter:")]
            lines += _table(entries)
        hints = [_("hint ({name}): {hint}").format(name=p.name, hint=p.hint) for p in failing if p.hint]
        if hints:
            lines += [""] + hints
        return "\n".join(lines)

    def raise_if_failed(self):
        """Raise GradientCheckError with the table unless every parameter passed; else return self."""
        if not self.passed:
            raise GradientCheckError(str(self))
        return self


def _table(rows):
    """Left-aligned columns separated by two spaces (a Chinese character is two columns wide)."""
    widths = [max(_width(r[c]) for r in rows) for c in range(len(rows[0]))]
    return ["  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths)).rstrip()
            for row in rows]


def _width(text):
    """The columns `text` takes in a terminal or a notebook's monospaced output."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# ---------------------------------------------------------------------------
# Diagnosis of a failing parameter
# ---------------------------------------------------------------------------


def _diagnose(check, analytic_full, x):
    """A likely cause of a failed check, from the pattern of the errors, or None.

    Inputs:
    - check: the failed ParamCheck
    - analytic_full: float64 array, the full analytic gradient
    - x: the parameter's values (float64 copy)
    """
    indices, analytic, numeric = check.indices, check.analytic, check.numeric
    if not np.all(np.isfinite(analytic)):
        return _("the analytic gradient contains nan or inf")
    if not np.all(np.isfinite(numeric)):
        return _("the loss is nan or inf near this point (the numerical gradient is not finite)")
    bad = ~(check.rel_errors <= check.threshold)
    kink = check.kinks[bad]
    rounding = ~kink & (np.abs(analytic - numeric)[bad] <= 100 * check.noise)
    explained = []
    if kink.any():
        explained.append(_n(
            "kinks at {n} failing entry (a ReLU or max switching within h of this point: the "
            "one-sided differences disagree and the analytic gradient matches one side; not "
            "necessarily a bug: try a smaller h or weight_scale, fewer inputs, or ignore_kinks=True)",
            "kinks at {n} failing entries (a ReLU or max switching within h of this point: the "
            "one-sided differences disagree and the analytic gradient matches one side; not "
            "necessarily a bug: try a smaller h or weight_scale, fewer inputs, or ignore_kinks=True)",
            int(kink.sum())).format(n=int(kink.sum())))
    if rounding.any():
        explained.append(_n(
            "rounding at {n} failing entry (|analytic - numeric| within floating-point rounding, "
            "{noise:.1e} here): the gradients are tiny compared with the loss; use a looser "
            "threshold or atol={atol:.0e}",
            "rounding at {n} failing entries (|analytic - numeric| within floating-point rounding, "
            "{noise:.1e} here): the gradients are tiny compared with the loss; use a looser "
            "threshold or atol={atol:.0e}",
            int(rounding.sum())).format(n=int(rounding.sum()), noise=check.noise, atol=100 * check.noise))
    if explained and np.all(kink | rounding):
        return "; ".join(explained)
    cause = _bug_pattern(analytic, numeric, analytic_full, _gather(x, indices), indices)
    if cause is None and explained:
        return _("{explained} of the {bad} failing entries are explained by kinks (marked kink?) or "
                 "rounding; the others are not").format(explained=int(np.sum(kink | rounding)),
                                                       bad=int(bad.sum()))
    return cause


def _bug_pattern(analytic, numeric, analytic_full, values, indices):
    """The mistake that relates analytic to numeric at the checked entries, or None.

    Inputs:
    - analytic, numeric: the gradients at the checked entries, float64 (K,)
    - analytic_full: the full analytic gradient
    - values: the parameter's values at the checked entries (K,)
    - indices: the checked entries (K, ndim)
    """
    if np.max(np.abs(numeric)) == 0:
        return _("the loss does not change with this parameter, but the analytic gradient is not "
                 "zero (does f read these very arrays? pass the dict the loss uses, e.g. model.params)")
    if np.max(np.abs(analytic)) == 0:
        return _("the analytic gradient is all zeros at the checked entries (never filled in?)")
    close = 1e-5
    # analytic = c * numeric for a constant c
    c = float(np.dot(analytic, numeric) / np.dot(numeric, numeric))
    if abs(c - 1) > 1e-2 and rel_error(analytic, c * numeric) < close:
        if abs(c + 1) < close:
            return _("analytic = -numeric: the gradient has the wrong sign")
        return _("analytic = {c:.4g} x numeric: a constant factor is wrong (a missing 2, 1/N or reg?)"
                 ).format(c=c)
    # a transposed matrix gradient: analytic.T matches
    if analytic_full.ndim == 2 and analytic_full.shape[0] == analytic_full.shape[1]:
        transposed = _gather(analytic_full.T, indices)
        if rel_error(transposed, numeric) < close:
            return _("analytic.T matches the numerical gradient: the gradient is transposed")
    # the difference is proportional to the parameter itself: a regularization term
    diff = numeric - analytic
    if np.dot(values, values) > 0:
        k = float(np.dot(diff, values) / np.dot(values, values))
        if k != 0 and rel_error(diff, k * values) < 1e-4:
            return _("numeric - analytic = {k:.4g} x the parameter: the regularization term's "
                     "gradient is missing or has the wrong factor").format(k=k)
    return None


def _looks_like_kink(analytic, forward, backward, numeric):
    """Entries whose error is explained by a non-differentiable point within h.

    At a kink crossed on one side, the centred difference is the mean of the two one-sided
    differences and the analytic gradient equals the other side's, so |a - n| is half
    |forward - backward| and a sits on one side. At a smooth point forward - backward = h f''
    while a - n = O(h^2), so the ratio is tiny.
    """
    jump = np.abs(forward - backward)
    err = np.abs(analytic - numeric)
    side = np.minimum(np.abs(analytic - forward), np.abs(analytic - backward))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (jump > 0) & (np.abs(err / jump - 0.5) < 0.2) & (side < 0.2 * jump)


# ---------------------------------------------------------------------------
# Report-returning checkers
# ---------------------------------------------------------------------------


def _entries(shape, num_checks, rng):
    """Indices (K, ndim) to check: all entries, or num_checks distinct random ones."""
    size = int(np.prod(shape, dtype=np.int64))
    if num_checks is None or num_checks >= size:
        flat = np.arange(size)
    else:
        flat = np.sort(rng.choice(size, size=num_checks, replace=False))
    if len(shape) == 0:
        return np.zeros((len(flat), 0), dtype=np.int64)
    return np.stack(np.unravel_index(flat, shape), axis=1)


def _gather(arr, indices):
    """arr's entries at indices (K, ndim) as a float64 array (K,); works for 0-d arrays too."""
    if len(indices) == 0:
        return np.zeros(0)
    return np.asarray(arr[tuple(indices.T)] if arr.ndim else np.full(len(indices), arr[()]),
                      dtype=np.float64)


def _check_num_checks(num_checks):
    if num_checks is not None and (isinstance(num_checks, bool) or not isinstance(num_checks, int | np.integer) or num_checks < 1):
        raise ValueError(f"num_checks must be None (all entries) or a positive int, got {num_checks!r}")


def _run(names, arrays, analytic, evaluate, project, magnitude, opts):
    """Check each named array by centred differences.

    Inputs:
    - names: the keys of arrays to check; arrays: {name: float array perturbed in place}
    - analytic: {name: gradient}
    - evaluate: () -> value of the function (a float, or a layer's output array)
    - project: (value a, value b) -> float, the directional change (a - b) as a scalar
    - magnitude: value -> float, the size of the function's value (for the rounding estimate)
    - opts: dict of h, threshold, atol, num_checks, seed, ignore_kinks
    """
    h, num_checks = opts["h"], opts["num_checks"]
    _check_num_checks(num_checks)
    if not h > 0:
        raise ValueError(f"h must be positive, got {h!r}")
    rng = np.random.default_rng(opts["seed"])
    report = GradCheckReport(threshold=opts["threshold"], h=h)
    base = None
    for name in names:
        x = arrays[name]
        _require_perturbable(x, f"parameter {name!r}")
        if name not in analytic:
            raise ValueError(f"analytic has no gradient for {name!r} (it has {sorted(analytic)})")
        grad = np.asarray(analytic[name], dtype=np.float64)
        if grad.shape != x.shape:
            raise ValueError(f"analytic gradient of {name!r} has shape {grad.shape}, "
                             f"expected the parameter's shape {x.shape}")
        if base is None:
            base = evaluate()
            noise = np.finfo(np.float64).eps * magnitude(base) / h
        indices = _entries(x.shape, num_checks, rng)
        diffs = np.zeros((len(indices), 3))
        for k, ix in enumerate(indices):
            plus, minus = _perturbed(x, tuple(ix), h, evaluate)
            diffs[k] = project(plus, minus), project(plus, base), project(base, minus)
        numeric = diffs[:, 0] / (2 * h)
        forward, backward = diffs[:, 1] / h, diffs[:, 2] / h
        values = _gather(grad, indices)
        errors = _elementwise_rel_error(values, numeric)
        if opts["atol"] > 0:
            errors = np.where(np.abs(values - numeric) <= opts["atol"], 0.0, errors)
        kinks = _looks_like_kink(values, forward, backward, numeric) & (errors > opts["threshold"])
        check = ParamCheck(name=name, shape=tuple(x.shape), indices=indices, analytic=values,
                           numeric=numeric, rel_errors=errors, kinks=kinks, noise=float(noise),
                           threshold=opts["threshold"], ignore_kinks=opts["ignore_kinks"])
        if not check.passed and len(indices):
            check.hint = _diagnose(check, grad, np.asarray(x, dtype=np.float64))
        report.params[name] = check
    return report


def check_gradients(f, params, analytic, h=1e-5, threshold=1e-7, num_checks=None, seed=0,
                    atol=0.0, ignore_kinks=False, dout=None):
    """Compare analytic gradients with centred differences; return a report.

    Two kinds of function are checked:
    - a scalar loss (dout None). With a dict of params, f() -> scalar reads the arrays in
      params (e.g. ``lambda: model.loss(X, y)[0]`` with ``params=model.params``), which are
      perturbed in place, one entry at a time, and restored; analytic has a gradient for
      every parameter. With one array x, f(x) -> scalar (the CS231n convention).
    - a layer (dout given): f(**params) -> out or (out, cache) (the CS231n contract), checked
      through sum(out * dout); params are copied first (the caller's arrays never change) and
      only the inputs named in analytic are checked, e.g.
      ``check_gradients(affine_forward, {"x": x, "w": w, "b": b}, {"x": dx}, dout=dout)``.

    Inputs:
    - f: the loss or the layer's forward function, as above
    - params: {name: float array}, or a single float array (reported under the name "x")
    - analytic: {name: array of the parameter's shape}, or a single array when params is one
    - h: step of the centred differences
    - threshold: largest relative error that passes
    - num_checks: None checks every entry; an int checks that many distinct random entries per
      parameter (all of them when the parameter is smaller)
    - seed: int or numpy Generator choosing the random entries
    - atol: entries with |analytic - numeric| <= atol count as exact (for gradients that are
      zero in exact arithmetic, where the relative error of rounding noise means nothing)
    - ignore_kinks: do not count entries that look like kinks (a ReLU or max switching within
      h: the one-sided differences disagree and the analytic gradient matches one side);
      they are still listed in the report
    - dout: the layer's upstream gradient, of out's shape; None for a scalar loss

    Returns:
    - GradCheckReport (``.passed``, ``.max_rel_error``, ``str(report)``, ``.raise_if_failed()``)
    """
    opts = {"h": h, "threshold": threshold, "atol": atol, "num_checks": num_checks, "seed": seed,
            "ignore_kinks": ignore_kinks}
    if dout is not None:
        return _check_layer(f, params, analytic, dout, opts)
    if isinstance(params, np.ndarray):
        x = params
        return _run(["x"], {"x": x}, {"x": analytic}, lambda: _scalar(f(x), "f"),
                    lambda a, b: a - b, abs, opts)
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a dict of arrays or an array, got {type(params).__name__}")
    if not isinstance(analytic, Mapping):
        raise ValueError(f"analytic must be a dict of gradients like params, got {type(analytic).__name__}")
    return _run(list(params), params, analytic, lambda: _scalar(f(), "f"),
                lambda a, b: a - b, abs, opts)


def _check_layer(forward, inputs, analytic, dout, opts):
    """check_gradients of a layer: sum(forward(**inputs) * dout) on copies of the inputs."""
    if not isinstance(inputs, Mapping):
        raise ValueError(f"inputs must be a dict of forward's arguments, got {type(inputs).__name__}")
    if not isinstance(analytic, Mapping):
        raise ValueError(f"analytic must be a dict {{input name: gradient}}, got {type(analytic).__name__}")
    unknown = [k for k in analytic if k not in inputs]
    if unknown:
        raise ValueError(f"analytic names {unknown} that are not in inputs ({sorted(inputs)})")
    dout = np.asarray(dout, dtype=np.float64)
    args = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}
    out_shape = _output_array(forward(**args), "forward").shape
    if out_shape != dout.shape:
        raise ValueError(f"dout has shape {dout.shape} but forward returned shape {out_shape}")
    return _run(list(analytic), args, analytic,
                lambda: _output_array(forward(**args), "forward"),
                lambda a, b: float(np.sum((a - b) * dout)),
                lambda out: float(np.sum(np.abs(out * dout))), opts)
