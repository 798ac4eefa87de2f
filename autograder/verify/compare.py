"""Comparisons a verify spec uses to score answers: `allclose` and `equal`.

Each returns compare(case, got, expected) -> None when right, else a one-line message naming
where the answer differs (nested tuples, lists and dicts are walked; arrays are compared
entry by entry and the worst entry is quoted).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.i18n.messages import _
from cs231n_lib.checks import describe, equivalent_shape

Compare = Callable[[dict, Any, Any], "str | None"]


class Accepted(str):
    """A compare's verdict "right, with a note" (e.g. a (1, D) array where (D,) was expected)."""


class Flagged(Accepted):
    """A compare's verdict "right, but for the instructor to look at": the case scores, and the
    note goes to the batch summary and grades.csv, not to the student's message."""



def _numeric(x: Any) -> np.ndarray | None:
    """x as a numeric ndarray when it is a number, a numeric array or a list of numbers, else None."""
    if isinstance(x, (bool, int, float, complex, np.ndarray, np.generic)):
        arr = np.asarray(x)
    elif isinstance(x, (list, tuple)):
        try:
            arr = np.asarray(x)
        except (ValueError, TypeError):
            return None
    else:
        return None
    return arr if arr.dtype.kind in "biufc" else None


def _walk(got: Any, expected: Any, leaf: Callable[[Any, Any, str], str | None], where: str) -> str | None:
    """Compare nested structures: tuples/lists by position, dicts by key, arrays/numbers by `leaf`."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return _("{where}: expected a dict, got {got}").format(where=where or _("result"), got=describe(got))
        missing = [k for k in expected if k not in got]
        if missing:
            return _("{where}: missing keys {keys}").format(where=where or _("result"), keys=missing[:5])
        for k in expected:
            msg = _walk(got[k], expected[k], leaf, f"{where}[{k!r}]")
            if msg:
                return msg
        return None
    if isinstance(expected, (tuple, list)) and _numeric(expected) is None or (
            isinstance(expected, tuple)):
        if not isinstance(got, (tuple, list)):
            return _("{where}: expected a {kind} of length {n}, got {got}").format(
                where=where or _("result"), kind=type(expected).__name__, n=len(expected), got=describe(got))
        if len(got) != len(expected):
            return _("{where}: expected length {n}, got length {m}").format(
                where=where or _("result"), n=len(expected), m=len(got))
        for i, (g, e) in enumerate(zip(got, expected)):
            msg = _walk(g, e, leaf, f"{where}[{i}]")
            if msg:
                return msg
        return None
    if isinstance(expected, str) or expected is None:
        if got != expected or type(got) is not type(expected):
            return _("{where}: expected {want}, got {got}").format(
                where=where or _("result"), want=repr(expected), got=describe(got))
        return None
    return leaf(got, expected, where or _("result"))


def _array_pair(got: Any, expected: Any, where: str,
                notes: list | None = None) -> tuple[np.ndarray | None, np.ndarray, str | None]:
    """got and expected as arrays of one shape, or a message. A shape the course accepts for the
    expected one ((1, D) for (D,), (C,) for (1, C, 1, 1): cs231n_lib.checks.equivalent_shape) is
    reshaped and noted in `notes`, when given."""
    e = np.asarray(expected)
    g = _numeric(got)
    if g is None:
        return None, e, _("{where}: expected {want}, got {got}").format(where=where, want=describe(e), got=describe(got))
    if g.shape != e.shape:
        # the public checks accept the same shapes (cs231n_lib.checks.equivalent_shape)
        if notes is None or not equivalent_shape(g.shape, e.shape):
            return None, e, _("{where}: expected shape {want}, got shape {got}").format(
                where=where, want=e.shape, got=g.shape)
        notes.append(_("{where} has shape {got} where {want} was expected; the values are right and "
                       "only axes of length 1 differ, but prefer the expected shape").format(
                           where=where, got=g.shape, want=e.shape))
        g = g.reshape(e.shape)
    return g, e, None


def _verdict(message: str | None, notes: list) -> str | None:
    """The walk's message, or Accepted(the first note) when right with notes, or None."""
    if message is None and notes:
        return Accepted(notes[0])
    return message


def allclose(rtol: float = 1e-7, atol: float = 1e-9) -> Compare:
    """Compare numbers/arrays (nested in tuples, lists, dicts) with |got - expected| <= atol + rtol*|expected|.

    Inputs: rtol, atol (non-negative floats). Returns: compare(case, got, expected) -> None or a
    message naming the shape, the worst entry (index, got, expected) and the relative error.
    """
    if not (rtol >= 0 and atol >= 0):
        raise ValueError(f"rtol and atol must be non-negative, got rtol={rtol}, atol={atol}")

    def leaf(got: Any, expected: Any, where: str, notes: list) -> str | None:
        g, e, msg = _array_pair(got, expected, where, notes)
        if msg:
            return msg
        g = g.astype(np.complex128 if g.dtype.kind == "c" or e.dtype.kind == "c" else np.float64)
        e = e.astype(g.dtype)
        ok = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        if ok.all():
            return None
        with np.errstate(invalid="ignore", over="ignore"):
            err = np.where(ok, 0.0, np.abs(g - e))
        err = np.nan_to_num(err, nan=np.inf)
        idx = np.unravel_index(int(np.argmax(err)), e.shape) if e.ndim else ()
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            rel = float(np.max(np.abs(g - e)) / max(np.max(np.abs(g)) + np.max(np.abs(e)), 1e-300))
        at = _(" at index {index}").format(index=tuple(int(i) for i in idx)) if e.ndim else ""
        return _("{where}: {bad} of {n} entries differ; worst{at}: got {got}, expected {want}; "
                 "relative error {rel:.2e} (rtol={rtol:g}, atol={atol:g})").format(
                     where=where, bad=int((~ok).sum()), n=ok.size, at=at, got=repr(g[idx].item()),
                     want=repr(e[idx].item()), rel=rel, rtol=rtol, atol=atol)

    def compare(case: dict, got: Any, expected: Any) -> str | None:
        notes: list = []
        return _verdict(_walk(got, expected, lambda g, e, w: leaf(g, e, w, notes), ""), notes)
    compare.__name__ = f"allclose(rtol={rtol:g}, atol={atol:g})"
    return compare


def equal() -> Compare:
    """Exact comparison (labels, counts, shapes), nested in tuples, lists and dicts.

    Returns: compare(case, got, expected) -> None or a message with the first differing entry.
    """
    def leaf(got: Any, expected: Any, where: str) -> str | None:
        g, e, msg = _array_pair(got, expected, where)
        if msg:
            return msg
        same = g == e
        if np.all(same):
            return None
        idx = np.unravel_index(int(np.argmin(same)), e.shape) if e.ndim else ()
        at = _(" at index {index}").format(index=tuple(int(i) for i in idx)) if e.ndim else ""
        return _("{where}: {bad} of {n} entries differ; first{at}: got {got}, expected {want}").format(
            where=where, bad=int((~np.asarray(same)).sum()), n=e.size, at=at, got=repr(g[idx].item()),
            want=repr(e[idx].item()))

    def compare(case: dict, got: Any, expected: Any) -> str | None:
        return _walk(got, expected, leaf, "")
    compare.__name__ = "equal()"
    return compare
