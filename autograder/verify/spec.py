"""The spec API a notebook author imports: `Check`, `allclose`, `equal`.

A spec file `grading/verify/<id>.py` defines `CHECKS = {grade_id: Check(...)}`, one per
autograded test cell of the notebook. `load_spec` imports such a file; `case_seed` gives
each check the same random cases for every student (a `secret` check's seed also needs the
course's held-out key, which `load_spec` gives it: verify/secret.py).
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from autograder.verify.compare import Compare, allclose, equal
from autograder.verify.secret import course_key

__all__ = ["Check", "SpecError", "allclose", "case_seed", "equal", "load_spec", "student_case"]


class SpecError(ValueError):
    """A verification spec is wrong (the author's mistake, not the student's)."""

@dataclass(frozen=True)
class Check:
    """How one autograded test cell is scored.

    call: a Python expression evaluated in the student's namespace with the case's names bound,
      e.g. "compute_distances_two_loops(X_test, X_train)".
    cases: rng -> list of dicts of plain inputs (arrays, numbers, strings, nested lists/tuples/dicts).
      Keys starting with "_" stay in the grader (answers drawn with the case, for expected and
      compare): they are never sent to the student's process (`student_case`).
    expected: case -> the right answer (computed in the grader with the library's reference).
    compare: (case, got, expected) -> None if right, else a message. Default allclose(1e-7, 1e-9).
    allowed: the whitelist: dotted names of the functions and classes (from the course library or
      any package other than numpy and the standard library) the exercise may call, e.g.
      ("cs231n_lib.layers.affine_forward",). Calling anything else outside numpy, the standard
      library and the notebook's cells scores the case 0 (see autograder/verify/rules.py).
    forbidden: dotted names also stubbed out (raise) in the student's process (rarely needed:
      `allowed` already rules out every name it does not list).
    timeout: seconds for all cases together.
    secret: draw the cases from the course's held-out key instead of the public seed (images no
      student can know before grading: the open-ended tasks, heldout.py).
    hidden: files and folders hidden from the sandbox while this check runs (the datasets behind
      a held-out check); code of the student's that opens one scores the check 0 (verify/guard.py).
    mutable: names of the case's inputs the call may change (CS231n's `bn_param` and optimizer
      `config` dicts, meant to be updated; an optimizer's `w` updated in place). Every other input
      (arrays and containers, at any depth) is compared before and after each case: code that
      changes the caller's data (`x -= x.max(...)` on the argument) scores that case 0.
    key: the course's held-out key, set by `load_spec` for a secret check (never by an author).
    """

    call: str
    cases: Callable[[np.random.Generator], list[dict]]
    expected: Callable[[dict], Any]
    compare: Compare = field(default_factory=allclose)
    allowed: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    timeout: float = 30.0
    secret: bool = False
    hidden: tuple[str, ...] = ()
    mutable: tuple[str, ...] = ()
    key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.call, str):
            raise ValueError(f"call must be a string expression, got {type(self.call).__name__}")
        try:
            compile(self.call, "<call>", "eval")
        except SyntaxError as exc:
            raise ValueError(f"call must be a Python expression, got {self.call!r}: {exc}") from None
        for name in ("cases", "expected", "compare"):
            if not callable(getattr(self, name)):
                raise ValueError(f"{name} must be callable")
        for name, what in (("allowed", "dotted names"), ("forbidden", "dotted names"), ("hidden", "paths"),
                           ("mutable", "input names")):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(f, str) for f in value):
                raise ValueError(f"{name} must be a tuple of {what}, got {value!r}")
        if not (isinstance(self.timeout, (int, float)) and self.timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout!r}")


def load_spec(path: str | Path) -> dict[str, Check]:
    """Import a spec file and return its CHECKS dict. Raises SpecError when malformed.

    A spec file lives in `<course>/verify/`: its secret checks get the course's held-out key
    (`<course>/heldout.key`, made on first use).
    """
    path = Path(path)
    if not path.exists():
        raise SpecError(f"no verification spec {path}")
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    spec = importlib.util.spec_from_file_location(f"_cs231n_verify_{path.stem}_{digest}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    checks = getattr(module, "CHECKS", None)
    if not isinstance(checks, dict) or not all(isinstance(c, Check) for c in checks.values()):
        raise SpecError(f"{path} must define CHECKS = {{grade_id: Check(...)}}")
    if any(c.secret for c in checks.values()):
        key = course_key(path.resolve().parent.parent)
        checks = {gid: replace(c, key=key) if c.secret else c for gid, c in checks.items()}
    return checks


def case_seed(assignment: str, grade_id: str, key: bytes | None = None) -> int:
    """The fixed seed for one check's cases (the same for every student and every run).

    Without a key it is public (anyone can compute it); with the course's held-out key it is
    an HMAC that nobody without the key can compute.
    """
    text = f"{assignment}/{grade_id}".encode()
    digest = hashlib.sha256(text).digest() if key is None else hmac.new(key, text, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "little")


def student_case(case: dict) -> dict:
    """What of a case the student's process receives: every key but those starting with "_"."""
    return {k: v for k, v in case.items() if not k.startswith("_")}
