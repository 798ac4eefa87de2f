"""Checks called by the notebooks' public tests: one PASS line, or an error a learner can read.

Every check prints one line when it passes, e.g.::

    PASS  distances (two loops): relative error 3.1e-13 <= 1e-07

and raises ``CheckFailed`` (an ``AssertionError``) otherwise, with a message that says what
was checked, what was expected and what came back: a shape mismatch, ``None`` ("did you
forget to return?"), nan values, the relative error, the worst entries with their index
(got vs expected), the Frobenius norm of the difference and an optional hint.

Each check returns a value the notebook can use (the relative error, the norm, the report).

In a notebook a failed check shows only its FAIL block (``CheckFailed._render_traceback_``),
and importing this module makes IPython show a ``NotImplementedError`` (an exercise still
holding its ``raise NotImplementedError()`` stub) as one ``NOT DONE`` line naming the function.
The cells still end in an error, so nbgrader and ``make submit`` count them as failing.

A failed check names the mistake when it recognises one: a check's ``mistakes`` (known wrong
answers, e.g. squared distances or a gradient without its 1/N), else an answer that is the expected
one times a constant (a missing 1/N, a factor 2 or 0.5 in the regulariser, a sign).

In a notebook, a cell that calls checks runs all of them and reports every failure: each failed
check is kept, the later checks still run (their PASS lines print), and the cell ends in one
``CheckFailed`` listing every FAIL block (if the cell's own code raises after a failed check, the
FAIL blocks come first, then that error). Outside IPython (the grader, scripts) a check raises at
once. See ``_install_cell_reporting``.

Checks:
- ``check_close(name, got, expected, tol=1e-7, hint=None, atol=0.0, mistakes=None)``: relative
  error; ``mistakes={hint: wrong answer or f(expected)}`` names a recognised common mistake
- ``check_equal(name, got, expected, hint=None)``: exact equality (labels, counts)
- ``check_shape(name, got, expected_shape, hint=None)``
- ``check_true(name, condition, message)``
- ``check_frobenius(name, got, expected, tol, hint=None, mistakes=None)``: ||got - expected||_F < tol
- ``check_scalar_near(name, got, expected, atol, hint=None)``: |got - expected| <= atol
- ``check_unchanged(name, function, *args, **kwargs)``: the function leaves its inputs as they were
- ``check_gradient(name, f, x_or_params, analytic, tol=1e-7, ...)``: centred differences
- ``check_layer_gradient(name, forward, inputs, dout, analytic, tol=1e-7, ...)``
- ``check_rule(name, functions, allowed=())``: the functions use only numpy, the standard
  library and the names the exercise gives (the grader's rule)
"""

import ast
import functools
import inspect
import pkgutil
import sys
import types
from collections.abc import Mapping
from numbers import Number

import numpy as np

from cs231n_lib import gradient_check as _gc
from cs231n_lib.i18n import Messages

_ = Messages("cs231n_lib").gettext

__all__ = [
    "CheckFailed",
    "check_close",
    "check_equal",
    "check_frobenius",
    "check_gradient",
    "check_layer_gradient",
    "check_rule",
    "check_scalar_near",
    "check_shape",
    "check_true",
    "check_unchanged",
]

_SHOW = 5  # worst entries listed in a failure message


class CheckFailed(AssertionError):
    """A public check failed; the message explains what was expected and what came back."""

    def _render_traceback_(self):
        """What IPython shows for a failed check: the FAIL block, no traceback through the library.

        The cell still ends in an error (nbgrader and `make submit` see it failed); only its
        display is short.
        """
        return str(self).splitlines()


def _not_written_yet(shell, etype, value, tb, tb_offset=None):
    """IPython handler for NotImplementedError: one line naming the function not written yet.

    The innermost frame of the traceback is the stub `raise NotImplementedError()` that
    nbgrader leaves in an exercise; its function is the one to write.
    """
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    name = tb.tb_frame.f_code.co_name if tb is not None else "<module>"
    extra = f" ({value})" if str(value) else ""
    if name.startswith("<"):  # raised at the top level of a cell: this cell is the exercise
        line = _("this exercise is not written yet{extra}: fill in its YOUR CODE HERE part")
    else:
        line = _("{name}() is not written yet{extra}: fill in its YOUR CODE HERE part, "
                 "run its cell, then this one")
    stb = [_("NOT DONE") + "  " + line.format(name=name, extra=extra)]
    shell._showtraceback(etype, value, stb)
    return stb


def _install_not_written_handler():
    """In IPython (a notebook), show an exercise not written yet as one line, not a traceback."""
    ipython = sys.modules.get("IPython")  # a kernel has it loaded; a plain process (the grader's
    if ipython is None:                   # verifier) would only pay for importing it
        return
    shell = ipython.get_ipython()
    if shell is not None and NotImplementedError not in getattr(shell, "custom_exceptions", ()):
        shell.set_custom_exc((NotImplementedError,), _not_written_yet)


_install_not_written_handler()


# ---------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------


# What a check prints is in the notebook's language (cs231n_lib.i18n): its own words from the
# cs231n_lib catalogue (`_`), and what the notebook wrote (a check's name and hint, check_true's
# message) from the notebooks catalogue, which `make messages` extracts from the source notebooks.
_notebook = Messages("notebooks").text
_n = Messages("cs231n_lib").ngettext


def _passed(name, detail=None):
    """Print the one PASS line."""
    name = _notebook(name)
    line = _("{name}: {text}").format(name=name, text=detail) if detail else name
    print(_("PASS") + "  " + line, flush=True)


def _fail(name, problem, hint=None, details=()):
    """Raise CheckFailed: 'FAIL  name: problem', detail lines, then the hint."""
    problem = _("{name}: {text}").format(name=_notebook(name), text=problem)
    lines = [_("FAIL") + "  " + problem, *details]
    if hint:
        lines.append(_("hint: {hint}").format(hint=_notebook(hint)))
    raise CheckFailed("\n".join(lines))


def describe(value):
    """A short description of a value for messages: its type, and its shape, length or value.

    Examples: "an array of shape (3, 4) and dtype float64", "a tuple of 2 items",
    "a dict of 1 item", "a float 2.5", "a str '1.0'", "None", "a function".
    Used by these checks and by the grader's comparisons, so a learner reads one wording.
    """
    if value is None:
        return "None"
    kind = type(value).__name__
    vowel = kind[0].lower() in "aeiou"  # "an int", "a float"
    if isinstance(value, np.ndarray):
        return _("an array of shape {shape} and dtype {dtype}").format(shape=value.shape, dtype=value.dtype)
    if isinstance(value, tuple | list | dict | set):
        n = len(value)
        return _n("a {kind} of {n} item", "a {kind} of {n} items", n).format(kind=kind, n=n)
    if isinstance(value, Number | str | bytes | np.generic):
        text = repr(value) if isinstance(value, str | bytes) else str(value)
        text = text if len(text) <= 40 else text[:37] + "..."
        return (_("an {kind} {value}") if vowel else _("a {kind} {value}")).format(kind=kind, value=text)
    return (_("an {kind}") if vowel else _("a {kind}")).format(kind=kind)


def _as_array(name, got, expected, hint, kind="numeric"):
    """Convert got and expected to arrays of one shape, failing clearly if got cannot be compared.

    Inputs:
    - got: the learner's answer; expected: the reference (trusted)
    - kind: "numeric" (float64 arrays) or "any" (arrays of any non-object dtype)

    Returns:
    - (got array, expected array), same shape
    """
    exp = np.asarray(expected) if kind == "any" else np.asarray(expected, dtype=np.float64)
    if got is None:
        _fail(name, _("got None, expected {want} — did you forget to return?").format(
            want=_describe_expected(exp)), hint)
    if isinstance(got, tuple) and len(got) and not isinstance(expected, tuple | list):
        _fail(name, _("got {got}, expected {want}").format(got=describe(got), want=_describe_expected(exp))
              + (_(" — did you return (out, cache) where only out was expected?")
                 if len(got) == 2 else ""), hint)
    if isinstance(got, str | bytes | dict | set) or callable(got):
        _fail(name, _("got {got}, expected {want}").format(got=describe(got), want=_describe_expected(exp)),
              hint)
    try:
        arr = np.asarray(got)
    except (ValueError, TypeError):
        _fail(name, _("got {got} that is not a regular array, expected {want}").format(
            got=describe(got), want=_describe_expected(exp)), hint)
    if arr.dtype == object or (kind == "numeric" and not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == bool)):
        _fail(name, _("got {got} of {dtype} values, expected {want}").format(
            got=describe(got), dtype=arr.dtype, want=_describe_expected(exp)), hint)
    if np.iscomplexobj(arr) and not np.iscomplexobj(exp):
        _fail(name, _("got complex numbers, expected real ones"), hint)
    if arr.shape != exp.shape:
        if kind != "numeric" or not equivalent_shape(arr.shape, exp.shape):
            _fail(name, _shape_problem(arr.shape, exp.shape), hint)
        _note_shape(name, arr.shape, exp.shape)
        arr = arr.reshape(exp.shape)
    if kind == "numeric":
        arr = arr.astype(np.float64)
    return arr, exp


def _broadcast_equivalent(got_shape, expected_shape):
    """True when the shapes differ only by leading axes of length 1, as (1, D) and (D,) do."""
    a, b = sorted((tuple(got_shape), tuple(expected_shape)), key=len)
    extra = len(b) - len(a)
    return extra > 0 and b[extra:] == a and all(d == 1 for d in b[:extra])


def _channel_vector(got_shape, expected_shape):
    """True when one shape is (C,) and the other holds the same C values with every other axis of
    length 1, as (C,) and (1, C, 1, 1) do (the per-channel gamma/beta and their gradients, which
    CS231n's docstrings of 2018-2020 give as (C,))."""
    a, b = sorted((tuple(got_shape), tuple(expected_shape)), key=len)
    return len(a) == 1 and b == (1, a[0], 1, 1)


def equivalent_shape(got_shape, expected_shape):
    """True when an answer of `got_shape` is accepted (with a note) where `expected_shape` was
    asked for: the same values, differing only by axes of length 1 in one of the layouts the
    course accepts: leading axes ((1, D) for (D,), which broadcasts the same way) and a per-channel
    vector ((C,) for (1, C, 1, 1) and back). The grader's comparisons (autograder.verify.compare)
    use this same rule, so the public checks and the grader accept the same shapes.

    Inputs: two shapes (tuples of ints). Returns: bool (False for equal shapes).
    """
    got_shape, expected_shape = tuple(got_shape), tuple(expected_shape)
    return got_shape != expected_shape and (_broadcast_equivalent(got_shape, expected_shape)
                                            or _channel_vector(got_shape, expected_shape))


def _note_shape(name, got_shape, expected_shape):
    """Print the note the grader gives too: right values, an accepted shape."""
    if not _broadcast_equivalent(got_shape, expected_shape):
        print(_("NOTE  {name}: shape {got} where {expected} was expected; it holds the same values, "
                "so it is compared (and graded) as right, but prefer {expected}: a {got} array does "
                "not broadcast like a {expected} one").format(
                    name=_notebook(name), got=tuple(got_shape), expected=tuple(expected_shape)), flush=True)
        return
    print(_("NOTE  {name}: shape {got} where {expected} was expected; it broadcasts the same way, "
            "so it is compared (and graded) as right, but prefer {expected}").format(
                name=_notebook(name), got=tuple(got_shape), expected=tuple(expected_shape)), flush=True)


def _describe_expected(exp):
    return _("a scalar") if exp.ndim == 0 else _("an array of shape {shape}").format(shape=exp.shape)


def _shape_problem(got_shape, expected_shape):
    """'shape mismatch: expected (3, 4), got (4, 3)' with a guess at the cause."""
    text = _("shape mismatch: expected shape {want}, got {got}").format(
        want=tuple(expected_shape), got=tuple(got_shape))
    got_shape, expected_shape = tuple(got_shape), tuple(expected_shape)
    if len(got_shape) > 1 and got_shape == expected_shape[::-1]:
        text += _(" (transposed?)")
    elif int(np.prod(got_shape)) == int(np.prod(expected_shape)) and got_shape != ():
        text += _(" (same number of entries: a reshape or a missing/extra axis?)")
    elif len(got_shape) == len(expected_shape) + 1 and 1 in got_shape:
        text += _(" (an extra axis of size 1? check keepdims / reshape)")
    return text


def _nan_problem(got, exp):
    """A message about nan/inf entries of got where expected is finite, or None."""
    bad = ~np.isfinite(got) & np.isfinite(exp)
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    kinds = "nan" if np.isnan(got[bad]).all() else "nan/inf"
    where = "" if got.ndim == 0 else _(" ({bad} of {n} entries, first at {first})").format(
        bad=int(bad.sum()), n=got.size, first=first)
    return _("got {kinds}{where} where a finite value was expected").format(kinds=kinds, where=where)


def _worst_lines(got, exp, score, label):
    """Table lines of the entries with the largest `score`: index, got, expected, score."""
    if got.ndim == 0:
        return ["  " + _("got {got:.8g}, expected {want:.8g}").format(got=got.item(), want=exp.item())]
    flat = np.argsort(-np.where(np.isnan(score), np.inf, score), axis=None, kind="stable")[:_SHOW]
    label = {"relative error": _("relative error"), "absolute difference": _("absolute difference")}.get(
        label, label)
    lines = ["  " + _("worst entries (index: got vs expected, {label}):").format(label=label)]
    for j in flat:
        ix = tuple(int(i) for i in np.unravel_index(j, got.shape))
        lines.append(f"    {ix}: {got[ix]:.8g} vs {exp[ix]:.8g}  ({score[ix]:.1e})")
    return lines


# ---------------------------------------------------------------------------
# Recognising common mistakes
# ---------------------------------------------------------------------------


def _validate_mistakes(mistakes):
    if mistakes is None:
        return {}
    if not isinstance(mistakes, Mapping) or not all(isinstance(k, str) for k in mistakes):
        raise ValueError(f"mistakes must be a dict {{hint: wrong answer or function of expected}}, "
                         f"got {describe(mistakes)}")
    return mistakes


def _recognise(got, exp, mistakes, close):
    """The hint of the first mistake in `mistakes` whose wrong answer matches got (`close(got,
    wrong)` is True), else a hint when got is the expected answer times a constant, else None.

    Inputs:
    - got, exp: float64 arrays of one shape, finite
    - mistakes: {hint: wrong answer (array-like) or function expected -> wrong answer}
    - close: close(got, wrong) -> bool, the check's own tolerance
    """
    for hint, wrong in mistakes.items():
        try:
            value = wrong(exp.copy()) if callable(wrong) else wrong
            value = np.asarray(value, dtype=np.float64)
        except Exception:  # noqa: BLE001 - a mistake that cannot be formed here is not this one
            continue
        if value.shape == got.shape and np.all(np.isfinite(value)) and close(got, value):
            return hint
    e2 = float(np.sum(exp * exp))
    if e2 == 0 or not np.all(np.isfinite(got)):
        return None
    factor = float(np.sum(got * exp)) / e2
    if abs(factor - 1) > 1e-3 and abs(factor) > 1e-12 and close(got, factor * exp):
        if abs(factor + 1) <= 1e-3:
            return _("your answer is minus the expected one: a sign error")
        return _("your answer is the expected one times {factor:.4g}: a missing or extra factor "
                 "(the 1/N average, the 2 or 0.5 of the regulariser, a square root?)").format(
                     factor=factor)
    return None


def _with_recognised(hint, recognised):
    """The hint to print: the recognised mistake first, then the check's own hint."""
    if not recognised:
        return hint
    recognised = _notebook(recognised)  # a notebook's mistakes= key, or the library's own words
    # _fail prints the first "hint:"; the check's own hint gets its own, both in the student's language
    return recognised + "\n" + _("hint: {hint}").format(hint=_notebook(hint)) if hint else recognised


# ---------------------------------------------------------------------------
# Value checks
# ---------------------------------------------------------------------------


def check_close(name, got, expected, tol=1e-7, hint=None, atol=0.0, mistakes=None):
    """Check that got matches expected to a relative error <= tol (CS231n's rel_error).

    Entries where both are nan, or both the same infinity, count as equal; entries with
    |got - expected| <= atol count as exact (default 0: purely relative).

    Inputs:
    - name: what is checked, printed in the PASS line and the failure message
    - got: the learner's number or array
    - expected: the reference number or array of the same shape
    - tol: largest relative error max |g - e| / max(1e-8, |g| + |e|) that passes
    - hint: printed after a failure message
    - atol: absolute tolerance per entry
    - mistakes: {hint: wrong answer, or a function expected -> wrong answer}: when got matches
      one (to the same tolerance) the failure names it, e.g. {"squared distances: take the
      square root": lambda e: e ** 2}. Without a match, an answer that is the expected one times
      a constant is named too.

    Returns:
    - float: the relative error
    """
    mistakes = _validate_mistakes(mistakes)
    g, e = _as_array(name, got, expected, hint)
    problem = _nan_problem(g, e)
    if problem:
        _fail(name, problem, hint)
    same = (g == e) | (np.isnan(g) & np.isnan(e))
    with np.errstate(invalid="ignore"):
        errors = np.where(same, 0.0, _gc._elementwise_rel_error(g, e))
    if atol > 0:
        errors = np.where(np.abs(g - e) <= atol, 0.0, errors)
    err = float(np.max(errors)) if errors.size else 0.0
    if not err <= tol:
        details = _worst_lines(g, e, errors, "relative error")
        if g.ndim > 0:
            finite = np.isfinite(g) & np.isfinite(e)
            details.append(f"  ||got - expected||_F = {np.linalg.norm((g - e)[finite]):.3e}, "
                           f"||expected||_F = {np.linalg.norm(e[finite]):.3e}")
        hint = _with_recognised(hint, _recognise(g, e, mistakes, lambda a, b: np.all(
            (a == b) | (np.abs(a - b) <= atol) | (_gc._elementwise_rel_error(a, b) <= tol))))
        _fail(name, _("relative error {err:.1e} > {tol:.3g}").format(err=err, tol=tol), hint, details)
    _passed(name, _("relative error {err:.1e} <= {tol:.3g}").format(err=err, tol=tol))
    return err


def check_equal(name, got, expected, hint=None):
    """Check exact equality, e.g. of predicted labels; reports how many entries differ.

    Inputs:
    - name: what is checked
    - got: the learner's array (or number)
    - expected: the reference of the same shape
    - hint: printed after a failure message

    Returns:
    - int: the number of entries compared (all equal)
    """
    g, e = _as_array(name, got, expected, hint, kind="any")
    differ = g != e
    if np.issubdtype(g.dtype, np.floating) and np.issubdtype(e.dtype, np.floating):
        differ &= ~(np.isnan(g) & np.isnan(e))
    count = int(np.sum(differ))
    if count:
        if g.ndim == 0:
            _fail(name, _("got {got}, expected {want}").format(got=repr(g.item()), want=repr(e.item())), hint)
        pos = np.argwhere(differ)[:_SHOW]
        details = ["  " + _("first mismatches (index: got vs expected):")]
        for p in pos:
            ix = tuple(int(i) for i in p)
            details.append(f"    {ix}: {g[ix].item()!r} vs {e[ix].item()!r}")
        _fail(name, _("{bad} of {n} entries differ ({percent:.1f}%)").format(
            bad=count, n=g.size, percent=100 * count / g.size), hint, details)
    _passed(name, _("all {n} entries equal").format(n=g.size) if g.ndim
            else _("equal to {value}").format(value=repr(e.item())))
    return int(g.size)


def check_shape(name, got, expected_shape, hint=None):
    """Check an array's shape; None in expected_shape matches any size along that axis.

    Inputs:
    - name: what is checked
    - got: an array (anything with .shape, or array-like)
    - expected_shape: tuple of ints or None
    - hint: printed after a failure message

    Returns:
    - tuple: got's shape
    """
    expected_shape = tuple(expected_shape)
    if got is None:
        _fail(name, _("got None, expected {want} — did you forget to return?").format(
            want=_("an array of shape {shape}").format(shape=expected_shape)), hint)
    if isinstance(got, tuple) and len(got) == 2 and not all(isinstance(v, Number) for v in got):
        _fail(name, _("got {got}, expected {want}").format(
            got=describe(got), want=_("an array of shape {shape}").format(shape=expected_shape))
              + _(" — did you return (out, cache) where only out was expected?"), hint)
    shape = tuple(got.shape) if hasattr(got, "shape") else np.shape(got)
    ok = len(shape) == len(expected_shape) and all(
        want is None or have == want for have, want in zip(shape, expected_shape))
    if not ok:
        if any(s is None for s in expected_shape):
            shown = "(" + ", ".join(_("any") if s is None else str(s) for s in expected_shape) + ")"
            _fail(name, _("shape mismatch: expected shape {want}, got {got}").format(want=shown, got=shape),
                  hint)
        _fail(name, _shape_problem(shape, expected_shape), hint)
    _passed(name, _("shape {shape}").format(shape=shape))
    return shape


def check_true(name, condition, message):
    """Check a condition; on failure the message says what should have held.

    Inputs:
    - name: what is checked
    - condition: a bool (or numpy bool / 0-d or size-1 array)
    - message: explanation shown when the condition is false

    Returns:
    - True
    """
    arr = np.asarray(condition)
    if arr.size != 1:
        raise ValueError(f"check_true: condition must be a single bool, got an array of shape "
                         f"{arr.shape} (use .all() or .any())")
    if not bool(arr.reshape(())):
        _fail(name, _notebook(message))
    _passed(name)
    return True


def check_frobenius(name, got, expected, tol, hint=None, mistakes=None):
    """Check that ||got - expected||_F < tol, e.g. to compare two implementations.

    Inputs:
    - name: what is checked
    - got, expected: arrays of one shape
    - tol: the norm of the difference must be below this
    - hint: printed after a failure message
    - mistakes: as in check_close (a wrong answer matches when its difference is below tol)

    Returns:
    - float: the Frobenius norm of the difference
    """
    mistakes = _validate_mistakes(mistakes)
    g, e = _as_array(name, got, expected, hint)
    problem = _nan_problem(g, e)
    if problem:
        _fail(name, problem, hint)
    diff = np.abs(g - e)
    norm = float(np.linalg.norm(diff))
    if not norm < tol:
        details = _worst_lines(g, e, diff, "absolute difference")
        details.append(f"  ||expected||_F = {np.linalg.norm(e):.3e}")
        hint = _with_recognised(hint, _recognise(g, e, mistakes,
                                                 lambda a, b: np.linalg.norm(a - b) < tol))
        _fail(name, _("differs from the expected values by {norm:.1e} (Frobenius norm of the difference); "
                      "expected < {tol:.3g}").format(norm=norm, tol=tol), hint, details)
    _passed(name, _("Frobenius norm of the difference {norm:.1e} < {tol:.3g}").format(norm=norm, tol=tol))
    return norm


def check_scalar_near(name, got, expected, atol, hint=None):
    """Check a scalar is within atol of expected, e.g. the loss at initialisation ~ log(10).

    Inputs:
    - name: what is checked
    - got: the learner's number (a Python number or 0-d array)
    - expected: the reference number
    - atol: largest |got - expected| that passes
    - hint: printed after a failure message

    Returns:
    - float: got
    """
    if got is None:
        _fail(name, _("got None, expected {want} — did you forget to return?").format(
            want=_("a number near {value:.6g}").format(value=expected)), hint)
    arr = np.asarray(got) if not isinstance(got, tuple | str) else None
    if arr is None or arr.dtype == object or arr.ndim != 0 or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        _fail(name, _("got {got}, expected {want}").format(
            got=describe(got), want=_("a single number near {value:.6g}").format(value=expected)), hint)
    value = float(arr)
    if not abs(value - expected) <= atol:
        _fail(name, _("got {got:.6g}, expected {want:.6g} ± {atol:.3g} (off by {off:.3g})").format(
            got=value, want=expected, atol=atol, off=abs(value - expected)), hint)
    _passed(name, _("{value:.6g} is within {atol:.3g} of {expected:.6g}").format(
        value=value, atol=atol, expected=expected))
    return value


# ---------------------------------------------------------------------------
# Inputs left unchanged
# ---------------------------------------------------------------------------


def difference(before, after):
    """None when `after` equals `before` (arrays entry by entry, with their shape and dtype, and
    dicts, lists and tuples at any depth), else where and how it changed, e.g. "its values changed
    (by up to 2.5)" or "['w']: its keys changed". The grader's verifier compares a case's inputs
    before and after the call with this too, so both fail the same code."""
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray) or after.shape != before.shape or after.dtype != before.dtype:
            return "its shape or type changed"
        if np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"):
            return None
        with np.errstate(all="ignore"):
            worst = np.nanmax(np.abs(after.astype(np.float64) - before)) if before.dtype.kind in "biuf" else None
        return "its values changed" + (f" (by up to {worst:.3g})" if worst is not None else "")
    if isinstance(before, dict):
        if not isinstance(after, dict) or set(before) != set(after):
            return "its keys changed"
        for k in before:
            why = difference(before[k], after[k])
            if why:
                return f"[{k!r}]: {why}"
        return None
    if isinstance(before, (list, tuple)):
        if type(after) is not type(before) or len(after) != len(before):
            return "its length changed"
        for i, (b, a) in enumerate(zip(before, after)):
            why = difference(b, a)
            if why:
                return f"[{i}]: {why}"
        return None
    try:
        return None if bool(before == after) else "its value changed"
    except Exception:  # noqa: BLE001 - an object that cannot be compared is taken as unchanged
        return None


def check_unchanged(name, function, *args, **kwargs):
    """Call function(*args, **kwargs) and check that it leaves every argument as it was (the
    grader checks every exercise's inputs the same way: code that changes the caller's array, as
    `x -= x.max(...)` or `x[x < 0] = 0` on an argument do, loses the points).

    Inputs:
    - name: what is checked
    - function: the learner's function
    - args, kwargs: its arguments (arrays, numbers, dicts, lists)

    Returns:
    - what the function returned
    """
    import copy

    before = copy.deepcopy((args, kwargs))
    result = function(*args, **kwargs)
    try:
        params = list(inspect.signature(function).bind(*args, **kwargs).arguments)[:len(args)]
    except (TypeError, ValueError):
        params = []
    labels = params + [f"#{i + 1}" for i in range(len(params), len(args))]
    named = [(label, b, a) for label, b, a in zip(labels, before[0], args)]
    named += [(key, before[1][key], kwargs[key]) for key in kwargs]
    for label, old, new in named:
        why = difference(old, new)
        if why:
            _fail(name, _("changed its input {label} in place: {why}").format(label=label, why=why),
                  _("compute into a new array (x = x - m, not x -= m; np.maximum(x, 0), not "
                    "x[x < 0] = 0) or work on a copy"))
    _passed(name, _("leaves its inputs unchanged"))
    return result


# ---------------------------------------------------------------------------
# Gradient checks
# ---------------------------------------------------------------------------


def _check_analytic(name, analytic, shapes, hint, what):
    """Fail clearly when the learner's gradients are None, missing or of the wrong shape.

    Returns: analytic, with any gradient of a broadcast-equivalent shape ((1, D) for (D,))
    reshaped to the expected shape (and a note printed).
    """
    reshaped = dict(analytic) if isinstance(analytic, Mapping) else analytic
    for key, shape in shapes.items():
        label = what(key)
        grad = analytic.get(key) if isinstance(analytic, Mapping) else None
        if isinstance(analytic, Mapping) and key not in analytic:
            _fail(name, _("no gradient for {key} (got gradients for {keys})").format(
                key=repr(key), keys=sorted(analytic)), hint)
        if grad is None:
            _fail(name, _("{label} is None — did you forget to return it?").format(label=label), hint)
        arr = np.asarray(grad) if not isinstance(grad, tuple) else None
        if arr is None or arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            _fail(name, _("{label} is {got}, expected {want}").format(
                label=label, got=describe(grad), want=_("an array of shape {shape}").format(shape=shape)), hint)
        if arr.shape != shape:
            if not equivalent_shape(arr.shape, shape):
                _fail(name, f"{label}: " + _shape_problem(arr.shape, shape), hint)
            _note_shape(f"{name}, {label}", arr.shape, shape)
            reshaped[key] = arr.reshape(shape)
    return reshaped


def _report_result(name, report, tol, hint):
    if not report.passed:
        _fail(name, _("max relative error {err:.1e} > {tol:.3g}").format(err=report.max_rel_error, tol=tol),
              hint, ["", str(report)])
    per = ", ".join(f"{k} {v:.1e}" for k, v in report.rel_errors.items())
    detail = _("max relative error {err:.1e} <= {tol:.3g}").format(err=report.max_rel_error, tol=tol)
    if len(report.params) > 1:
        detail += f" ({per})"
    _passed(name, detail)
    return report


def check_gradient(name, f, x_or_params, analytic, tol=1e-7, h=1e-5, num_checks=None, seed=0,
                   hint=None, atol=0.0, ignore_kinks=False):
    """Check analytic gradients against centred differences (see gradient_check.check_gradients).

    Inputs:
    - name: what is checked
    - f: with an array x, f(x) -> scalar loss (e.g. ``lambda W: svm_loss_naive(W, X, y, 0.0)[0]``);
      with a dict of params, f() -> scalar loss (e.g. ``lambda: model.loss(X, y)[0]``)
    - x_or_params: the float64 array x, or {name: float64 array} (perturbed and restored)
    - analytic: the learner's gradient: an array of x's shape, or {name: array}
    - tol: largest relative error that passes
    - h: step of the centred differences
    - num_checks: None checks every entry; an int that many random entries per parameter
    - seed: chooses the random entries
    - hint: printed after a failure message
    - atol: entries with |analytic - numeric| <= atol count as exact
    - ignore_kinks: do not count entries where a ReLU or max switches within h

    Returns:
    - GradCheckReport
    """
    if not isinstance(x_or_params, np.ndarray | Mapping):
        raise ValueError(f"x_or_params must be a numpy array or a dict of arrays, "
                         f"got {describe(x_or_params)}")
    if isinstance(x_or_params, np.ndarray):
        analytic = np.asarray(_check_analytic(name, {"x": analytic}, {"x": x_or_params.shape}, hint,
                                              lambda key: _("the analytic gradient"))["x"])
    else:
        shapes = {k: np.shape(v) for k, v in x_or_params.items()}
        analytic = _check_analytic(name, analytic, shapes, hint,
                                   lambda key: _("the gradient of {key}").format(key=repr(key)))
    report = _gc.check_gradients(f, x_or_params, analytic, h=h, threshold=tol,
                                 num_checks=num_checks, seed=seed, atol=atol,
                                 ignore_kinks=ignore_kinks)
    return _report_result(name, report, tol, hint)


def check_layer_gradient(name, forward, inputs, dout, analytic, tol=1e-7, h=1e-5,
                         num_checks=None, seed=0, hint=None, atol=0.0, ignore_kinks=False):
    """Check a layer's backward pass against centred differences of sum(forward(**inputs) * dout).

    Inputs:
    - name: what is checked
    - forward: forward(**inputs) -> out or (out, cache)
    - inputs: {argument name: value} (copied, never modified)
    - dout: upstream gradient of out's shape
    - analytic: {argument name: the learner's gradient}, e.g. {"x": dx, "w": dw, "b": db}
    - tol, h, num_checks, seed, hint, atol, ignore_kinks: as in check_gradient

    Returns:
    - GradCheckReport
    """
    if not isinstance(analytic, Mapping):
        raise ValueError(f"analytic must be a dict {{input name: gradient}}, got {describe(analytic)}")
    if not isinstance(inputs, Mapping):
        raise ValueError(f"inputs must be a dict of forward's arguments, got {describe(inputs)}")
    shapes = {k: np.shape(inputs[k]) for k in analytic if k in inputs}
    analytic = _check_analytic(name, analytic, shapes, hint, lambda key: f"d{key}")
    report = _gc.check_gradients(forward, inputs, analytic, h=h, threshold=tol,
                                 num_checks=num_checks, seed=seed, atol=atol,
                                 ignore_kinks=ignore_kinks, dout=dout)
    return _report_result(name, report, tol, hint)


# ---------------------------------------------------------------------------
# The rule for what exercise code may use
# ---------------------------------------------------------------------------

def resolve_name(dotted):
    """The object a dotted name ("cs231n_lib.layers.affine_forward") refers to
    (``pkgutil.resolve_name``). Raises ValueError naming ``dotted`` when it names nothing.
    (The grader's rule watcher resolves its allowed names with this too.)"""
    if not isinstance(dotted, str):
        raise ValueError(f"allowed names are dotted strings such as "
                         f"'cs231n_lib.layers.affine_forward', got {dotted!r}")
    try:
        return pkgutil.resolve_name(dotted)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"allowed name {dotted!r} does not name a module attribute") from exc


def _origin(obj):
    """'notebook', 'ok' (numpy, the standard library, data) or the dotted name of anything else."""
    if isinstance(obj, types.ModuleType):
        module, name = obj.__name__, obj.__name__
    elif isinstance(obj, type | types.FunctionType | types.BuiltinFunctionType):
        module = getattr(obj, "__module__", None) or "builtins"
        name = f"{module}.{getattr(obj, '__qualname__', obj.__name__)}"
    else:
        return "ok"
    top = module.split(".")[0]
    if top == "__main__":
        return "notebook"
    return "ok" if top in ("numpy", "builtins") or top in sys.stdlib_module_names else name


def _names(code):
    """Every global or attribute name a code object (and the code nested in it) refers to."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def check_rule(name, functions, allowed=()):
    """Check that functions, and the notebook's own helpers they use, refer to nothing but numpy,
    the standard library and the allowed names: the rule the grader enforces (it scores an
    exercise 0 when its code calls anything else, e.g. scipy or another function of cs231n_lib).

    Inputs:
    - name: what is checked
    - functions: the exercise's functions (or classes), e.g. [compute_distances_one_loop]
    - allowed: dotted names the exercise may use, e.g. ("cs231n_lib.layers.affine_forward",); a
      module's name allows the functions and classes it defines

    Returns:
    - the sorted names of the notebook's own functions that were looked at
    """
    given = {id(resolve_name(dotted)) for dotted in allowed}
    # An allowed module allows what it defines (as the grader does), not what it imports.
    modules = {obj.__name__ for obj in map(resolve_name, allowed) if isinstance(obj, types.ModuleType)}
    todo, seen, found = list(functions), set(), []
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, type):
            todo += [v for v in vars(obj).values() if isinstance(v, types.FunctionType)]
            continue
        if not isinstance(obj, types.FunctionType):
            continue
        for ref in sorted(_names(obj.__code__)):
            if ref not in obj.__globals__:
                continue
            value = obj.__globals__[ref]
            origin = _origin(value)
            if id(value) in given or origin == "ok" or getattr(value, "__module__", None) in modules:
                continue
            if origin == "notebook":
                todo.append(value)
            elif origin not in found:
                found.append(origin)
    if found:
        used = ", ".join(found)
        _fail(name, _("your code uses {used}: exercise code may use numpy, Python's standard library "
                      "and, from any other package or the course library, only the names the "
                      "notebook gives for the exercise").format(used=used),
              _("write it with numpy (see 'What your code may use' at the top of the notebook)"))
    _passed(name, _("uses only numpy, the standard library and the names the exercise gives"))
    return sorted(f.__name__ for f in functions)


# ---------------------------------------------------------------------------
# A check cell reports every failure
# ---------------------------------------------------------------------------


_FULL_BLOCKS = 3  # FAIL blocks a cell's error shows in full; the others by their FAIL line


class _Cell:
    """The failures of the check cell running now (collecting only inside a transformed cell)."""

    collecting = False
    failures: list = []


def _collectable(check):
    """check, which in a collecting cell records its failure and returns None instead of raising."""
    @functools.wraps(check)
    def run(*args, **kwargs):
        if not _Cell.collecting:
            return check(*args, **kwargs)
        try:
            return check(*args, **kwargs)
        except CheckFailed as exc:
            _Cell.failures.append(str(exc))
            return None
    return run


for _check in __all__[1:]:
    globals()[_check] = _collectable(globals()[_check])


def _begin_cell():
    """Called first in a transformed check cell: start collecting its failures."""
    _Cell.collecting, _Cell.failures = True, []


def _nothing_failed():
    """In a transformed cell stopped by an error: True (and stop collecting) when no check had
    failed, so that the error shows as it would have without the transformation."""
    if _Cell.failures:
        return False
    _Cell.collecting = False
    return True


def _end_cell(error=None):
    """Called last in a transformed check cell (or with the error that stopped it after a check
    had failed): stop collecting and raise one CheckFailed with every FAIL block, followed by the
    error that stopped the cell, if any."""
    failures, _Cell.collecting, _Cell.failures = _Cell.failures, False, []
    if len(failures) > _FULL_BLOCKS + 1:   # short: the first blocks in full, then one line each
        failures = failures[:_FULL_BLOCKS] + ["\n".join(f.splitlines()[0] for f in failures[_FULL_BLOCKS:])]
    if error is not None:
        failures.append(_("The rest of this cell did not run: {error}").format(
            error=f"{type(error).__name__}: {error}".rstrip(": ")))
    if failures:
        raise CheckFailed("\n\n".join(failures)) from None


def _reset_cell(*args):
    """IPython pre_run_cell hook: nothing is collected outside a transformed cell."""
    _Cell.collecting, _Cell.failures = False, []


_CELL_TEMPLATE = """
__cs231n_checks = __import__('cs231n_lib.checks', fromlist=['_begin_cell'])
__cs231n_checks._begin_cell()
try:
    pass
except Exception as __cs231n_error:
    if __cs231n_checks._nothing_failed():
        raise
    __cs231n_checks._end_cell(__cs231n_error)
__cs231n_checks._end_cell()
"""


class _ReportEveryFailure(ast.NodeTransformer):
    """IPython AST transformer for cells that call a check: run the whole cell, then fail once.

    The cell's statements run inside `_CELL_TEMPLATE`'s try: every check runs (a failure is
    kept, see `_collectable`) and the cell ends in one CheckFailed listing each FAIL block. An
    error of the cell's own code after a failed check is added to that list; without a failed
    check it shows as usual. Cells without a check call are left alone (their last expression
    is still displayed).
    """

    def visit_Module(self, node):
        calls = {n.func.id for n in ast.walk(node)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        if not node.body or not calls & set(__all__[1:]):
            return node
        body = ast.parse(_CELL_TEMPLATE).body
        body[2].body = node.body
        node.body = body
        return ast.fix_missing_locations(node)


def _install_cell_reporting():
    """In IPython (a notebook), make every check cell report all its failures (see above)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return
    shell = ipython.get_ipython()
    if shell is None or any(isinstance(t, _ReportEveryFailure) for t in shell.ast_transformers):
        return
    shell.ast_transformers.append(_ReportEveryFailure())
    shell.events.register("pre_run_cell", _reset_cell)


_install_cell_reporting()
