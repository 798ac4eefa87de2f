"""Out-of-kernel verification: the specs notebook authors write, and the runner that scores them.

A spec file `grading/verify/<id>.py` defines `CHECKS = {grade_id: Check(...)}`, one
per autograded test cell. For one student notebook, `run_verification` builds the
student's namespace in a fresh (sandboxed) process -- the source notebook's
`verify-setup` cells, then the student's exercise cells -- evaluates each check's
`call` on the cases, receives plain arrays back (see `plain.py`) and compares them
here with `expected(case)`, in the grader's own process and numpy.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cs231n_lib.grader.nbtools import layout, read_notebook, student_exercise_cells
from cs231n_lib.grader.plain import NotPlainError, load_plain, save_plain
from cs231n_lib.grader.sandbox import Sandbox

Compare = Callable[[dict, Any, Any], "str | None"]
MAX_STUDENT_TEXT = 400


class SpecError(ValueError):
    """A verification spec is wrong (the author's mistake, not the student's)."""


# ----------------------------------------------------------------------------- comparisons

def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"array of shape {x.shape} and dtype {x.dtype}"
    if isinstance(x, (list, tuple, dict)):
        return f"{type(x).__name__} of length {len(x)}"
    return f"{type(x).__name__} {x!r}"[:120]


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
            return f"{where or 'result'}: expected a dict, got {_describe(got)}"
        missing = [k for k in expected if k not in got]
        if missing:
            return f"{where or 'result'}: missing keys {missing[:5]}"
        for k in expected:
            msg = _walk(got[k], expected[k], leaf, f"{where}[{k!r}]")
            if msg:
                return msg
        return None
    if isinstance(expected, (tuple, list)) and _numeric(expected) is None or (
            isinstance(expected, tuple)):
        if not isinstance(got, (tuple, list)):
            return f"{where or 'result'}: expected a {type(expected).__name__} of length {len(expected)}, got {_describe(got)}"
        if len(got) != len(expected):
            return f"{where or 'result'}: expected length {len(expected)}, got length {len(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            msg = _walk(g, e, leaf, f"{where}[{i}]")
            if msg:
                return msg
        return None
    if isinstance(expected, str) or expected is None:
        if got != expected or type(got) is not type(expected):
            return f"{where or 'result'}: expected {expected!r}, got {_describe(got)}"
        return None
    return leaf(got, expected, where or "result")


def _array_pair(got: Any, expected: Any, where: str) -> tuple[np.ndarray | None, np.ndarray, str | None]:
    e = np.asarray(expected)
    g = _numeric(got)
    if g is None:
        return None, e, f"{where}: expected {_describe(e)}, got {_describe(got)}"
    if g.shape != e.shape:
        return None, e, f"{where}: expected shape {e.shape}, got shape {g.shape}"
    return g, e, None


def allclose(rtol: float = 1e-7, atol: float = 1e-9) -> Compare:
    """Compare numbers/arrays (nested in tuples, lists, dicts) with |got - expected| <= atol + rtol*|expected|.

    Inputs: rtol, atol (non-negative floats). Returns: compare(case, got, expected) -> None or a
    message naming the shape, the worst entry (index, got, expected) and the relative error.
    """
    if not (rtol >= 0 and atol >= 0):
        raise ValueError(f"rtol and atol must be non-negative, got rtol={rtol}, atol={atol}")

    def leaf(got: Any, expected: Any, where: str) -> str | None:
        g, e, msg = _array_pair(got, expected, where)
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
        at = f" at index {tuple(int(i) for i in idx)}" if e.ndim else ""
        return (f"{where}: {int((~ok).sum())} of {ok.size} entries differ; worst{at}: "
                f"got {g[idx].item()!r}, expected {e[idx].item()!r}; relative error {rel:.2e} "
                f"(rtol={rtol:g}, atol={atol:g})")

    def compare(case: dict, got: Any, expected: Any) -> str | None:
        return _walk(got, expected, leaf, "")
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
        at = f" at index {tuple(int(i) for i in idx)}" if e.ndim else ""
        return (f"{where}: {int((~np.asarray(same)).sum())} of {e.size} entries differ; first{at}: "
                f"got {g[idx].item()!r}, expected {e[idx].item()!r}")

    def compare(case: dict, got: Any, expected: Any) -> str | None:
        return _walk(got, expected, leaf, "")
    compare.__name__ = "equal()"
    return compare


# ----------------------------------------------------------------------------- the spec

@dataclass(frozen=True)
class Check:
    """How one autograded test cell is scored.

    call: a Python expression evaluated in the student's namespace with the case's names bound,
      e.g. "compute_distances_two_loops(X_test, X_train)".
    cases: rng -> list of dicts of plain inputs (arrays, numbers, strings, nested lists/tuples/dicts).
    expected: case -> the right answer (computed in the grader with the library's reference).
    compare: (case, got, expected) -> None if right, else a message. Default allclose(1e-7, 1e-9).
    forbidden: dotted names stubbed out (raise) in the student's process, e.g.
      "cs231n_lib.layers.affine_forward".
    timeout: seconds for all cases together.
    """

    call: str
    cases: Callable[[np.random.Generator], list[dict]]
    expected: Callable[[dict], Any]
    compare: Compare = field(default_factory=allclose)
    forbidden: tuple[str, ...] = ()
    timeout: float = 30.0

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
        if isinstance(self.forbidden, str) or not all(isinstance(f, str) for f in self.forbidden):
            raise ValueError(f"forbidden must be a tuple of dotted names, got {self.forbidden!r}")
        if not (isinstance(self.timeout, (int, float)) and self.timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout!r}")


def load_spec(path: str | Path) -> dict[str, Check]:
    """Import a spec file and return its CHECKS dict. Raises SpecError when malformed."""
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
    return checks


def case_seed(assignment: str, grade_id: str) -> int:
    """The fixed seed for one check's cases (the same for every student and every run)."""
    return int.from_bytes(hashlib.sha256(f"{assignment}/{grade_id}".encode()).digest()[:8], "little")


# ----------------------------------------------------------------------------- running

@dataclass
class CheckResult:
    """The outcome of one Check for one student."""

    grade_id: str
    passed: bool
    message: str
    cases_passed: int = 0
    cases_total: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Verification:
    """All checks of one assignment for one student, plus notes (cells that raised, processes that died)."""

    results: dict[str, CheckResult]
    notes: list[str]
    output: str = ""

    def as_dict(self) -> dict:
        return {"results": {k: v.as_dict() for k, v in self.results.items()},
                "notes": list(self.notes), "output": self.output}


def _clip(text: str, n: int = MAX_STUDENT_TEXT) -> str:
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else "?" for ch in str(text))
    return text if len(text) <= n else text[: n - 3] + "..."


def _case_label(case: dict) -> str:
    parts = []
    for k, v in case.items():
        parts.append(f"{k}: shape {v.shape}" if isinstance(v, np.ndarray) else f"{k}={_describe(v)[:40]}")
    return ", ".join(parts)


def _module_of(dotted: str) -> tuple[Path, list[str]] | None:
    """(source file of the module, attribute path inside it) for a dotted name, or None."""
    import importlib.util as iu

    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            spec = iu.find_spec(".".join(parts[:i]))
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            return Path(spec.origin), parts[i:]
    return None


def stub_functions(text: str, targets: dict[str, list[str]]) -> str:
    """Module source with each target function's body replaced by `raise RuntimeError(...)`.

    Inputs: text, Python source; targets, {dotted name: attribute path in the module}
    (["func"] or ["Class", "method"]). Returns: the new source (unparsed from the AST).
    """
    import ast

    tree = ast.parse(text)
    for dotted, attrs in targets.items():
        body, node = tree.body, None
        for name in attrs:
            node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                            ast.ClassDef)) and n.name == name), None)
            if node is None:
                break
            body = node.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            message = f"{dotted} is the library's reference for the function you are asked to write"
            node.body = [ast.Raise(exc=ast.Call(func=ast.Name("RuntimeError", ast.Load()),
                                                args=[ast.Constant(message)], keywords=[]), cause=None)]
    return ast.unparse(ast.fix_missing_locations(tree))


def _forbidden_mounts(forbidden: tuple[str, ...], where: Path) -> tuple[tuple[Path, Path], ...]:
    """Read-only bind mounts replacing the forbidden functions' modules by stubbed copies.

    The module's __pycache__ is hidden too, so its compiled original cannot be read either.
    """
    by_module: dict[Path, dict[str, list[str]]] = {}
    for dotted in forbidden:
        found = _module_of(dotted)
        if found:
            by_module.setdefault(found[0], {})[dotted] = found[1]
    mounts = []
    for k, (path, targets) in enumerate(by_module.items()):
        stub = where / f"stub{k}_{path.name}"
        stub.write_text(stub_functions(path.read_text(), targets))
        mounts.append((stub, path))
        cache = path.parent / "__pycache__"
        if cache.is_dir():
            empty = where / f"empty{k}"
            empty.mkdir(exist_ok=True)
            mounts.append((empty, cache))
    return tuple(mounts)


class _Worker:
    """One sandboxed worker process serving `run <i>` requests over pipes."""

    def __init__(self, jobdir: Path, sandbox: Sandbox, extra_ro: tuple = (), skip: tuple = ()):
        argv = [sys.executable, "-m", "cs231n_lib.grader._worker", str(jobdir), ",".join(map(str, skip))]
        cmd = sandbox.command(argv, jobdir, extra_ro=extra_ro)
        env = None
        if not sandbox.enabled:
            from cs231n_lib.grader.sandbox import sandbox_env
            env = {**os.environ, **sandbox_env(jobdir)}
            env.pop("NBGRADER_EXECUTION", None)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, cwd=jobdir, env=env,
                                     start_new_session=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line[:100_000])
        self.lines.put(None)

    def wait_line(self, timeout: float) -> str | None:
        """The next protocol line, None at EOF; raises queue.Empty on timeout."""
        return self.lines.get(timeout=timeout)

    def send(self, text: str) -> bool:
        try:
            self.proc.stdin.write(text)
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def death(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        if code < 0:
            return f"was killed by signal {signal.Signals(-code).name}"
        return f"exited with code {code}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


def run_verification(assignment: str, source_nb: str | Path | Any, student_nb: str | Path | Any,
                     checks: dict[str, Check], sandbox: Sandbox | None = None,
                     workdir: str | Path | None = None, build_timeout: float = 120.0) -> Verification:
    """Score one student notebook against the checks of one assignment.

    Inputs: assignment id (seeds the cases); source_nb and student_nb, notebook paths or nodes;
    checks, {grade_id: Check} (from load_spec); sandbox (default: bwrap, which must work);
    workdir, a folder for the job files (default: a fresh temporary folder, removed after);
    build_timeout, seconds for the setup and exercise cells to run.
    Returns: a Verification with one CheckResult per check, in the spec's order.
    Raises SpecError when the spec itself fails (a case generator or expected() raises).
    """
    sandbox = sandbox or Sandbox()
    src = source_nb if hasattr(source_nb, "cells") else read_notebook(source_nb)
    stu = student_nb if hasattr(student_nb, "cells") else read_notebook(student_nb)
    lay = layout(src)
    exercises = student_exercise_cells(stu, lay.exercises)
    notes: list[str] = []
    if not exercises and lay.exercises:
        notes.append("no exercise cells found in the submission")

    with tempfile.TemporaryDirectory(prefix="verify-", dir=workdir) as tmp:
        tmp = Path(tmp)
        prepared = []
        for gid, check in checks.items():
            rng = np.random.default_rng(case_seed(assignment, gid))
            try:
                cases = list(check.cases(rng))
                expected = [check.expected(dict(c)) for c in cases]
            except Exception as exc:
                raise SpecError(f"{assignment} check {gid}: the spec's cases/expected raised {exc!r}") from exc
            prepared.append((gid, check, cases, expected))

        for gi in range(len(prepared)):
            (tmp / f"stubs{gi}").mkdir()
        groups: dict[tuple[str, ...], list] = {}
        for item in prepared:
            groups.setdefault(tuple(sorted(item[1].forbidden)), []).append(item)

        results: dict[str, CheckResult] = {}
        outputs = []
        for gi, (forbidden, items) in enumerate(groups.items()):
            jobdir = tmp / f"group{gi}"
            jobdir.mkdir()
            job = {"setup": lay.setup, "exercises": exercises, "forbidden": list(forbidden),
                   "cell_timeout": sandbox.limits.cell_timeout,
                   "checks": [{"grade_id": gid, "call": check.call} for gid, check, _, _ in items]}
            (jobdir / "job.json").write_text(json.dumps(job))
            for i, (gid, _, cases, _) in enumerate(items):
                try:
                    save_plain(jobdir / f"cases_{i}.npz", cases)
                except NotPlainError as exc:
                    raise SpecError(f"{assignment} check {gid}: cases must be plain values ({exc})") from None
            mounts = _forbidden_mounts(forbidden, tmp / f"stubs{gi}") if forbidden and sandbox.enabled else ()
            _run_group(jobdir, items, sandbox, build_timeout, results, notes, mounts)
            log = jobdir / "output.log"
            if log.exists():
                with open(log, errors="replace") as f:
                    outputs.append(f.read(20_000))
        ordered = {gid: results[gid] for gid in checks}
        return Verification(ordered, notes, _clip("".join(outputs), 20_000))


def _run_group(jobdir: Path, items: list, sandbox: Sandbox, build_timeout: float,
               results: dict[str, CheckResult], notes: list[str], mounts: tuple = ()) -> None:
    """Run the checks of one forbidden-group, restarting the worker after a timeout or a crash.

    A process that dies while running an exercise cell (os._exit, a segfault) is restarted
    without that cell, so it costs what that cell defines and nothing else.
    """
    pending = list(range(len(items)))
    skip: list[int] = []
    while pending:
        worker = _Worker(jobdir, sandbox, extra_ro=mounts, skip=tuple(skip))
        try:
            deadline = time.monotonic() + build_timeout
            current, line = None, None
            while True:
                try:
                    line = worker.wait_line(max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    line = "timeout"
                if line is None or line == "timeout" or not line.startswith("cell "):
                    break
                try:
                    current = int(line.split()[1])
                except (IndexError, ValueError):
                    current = None
            if line is None and current is not None and current not in skip:
                notes.append(f"exercise cell {current + 1} stopped the process ({worker.death()}); "
                             "graded without it")
                skip.append(current)
                continue
            if line is None or line == "timeout":
                why = (f"running your cells took longer than {build_timeout:g} s" if line
                       else f"the verification process {worker.death()} while running your cells")
                for i in pending:
                    results[items[i][0]] = CheckResult(items[i][0], False, why, 0, len(items[i][2]))
                notes.append(why)
                return
            try:
                ready = json.loads(line)
                for note in ready.get("notes", [])[:20]:
                    if _clip(note) not in notes:
                        notes.append(_clip(note))
            except (ValueError, AttributeError):
                pass
            while pending:
                i = pending.pop(0)
                gid, check, cases, expected = items[i]
                start = time.monotonic()
                answered = worker.send(f"run {i}\n")
                reply = None
                if answered:
                    try:
                        reply = worker.wait_line(check.timeout)
                    except queue.Empty:
                        reply = "timeout"
                seconds = time.monotonic() - start
                if reply == "timeout":
                    results[gid] = CheckResult(gid, False, f"took longer than {check.timeout:g} s (time limit)",
                                               0, len(cases), seconds)
                    break
                if reply is None or reply.strip() != f"done {i}":
                    results[gid] = CheckResult(gid, False, f"the verification process {worker.death()}",
                                               0, len(cases), seconds)
                    break
                results[gid] = _score(jobdir / f"result_{i}.npz", gid, check, cases, expected, seconds)
        finally:
            worker.kill()


def _score(path: Path, gid: str, check: Check, cases: list, expected: list, seconds: float) -> CheckResult:
    """Compare the plain answers in `path` with the expected values, case by case."""
    try:
        answers = load_plain(path)
    except NotPlainError as exc:
        return CheckResult(gid, False, f"the answer could not be read: {exc}", 0, len(cases), seconds)
    if not isinstance(answers, list) or len(answers) != len(cases):
        return CheckResult(gid, False, "the answer file is malformed", 0, len(cases), seconds)
    passed, first = 0, None
    for k, (case, answer, want) in enumerate(zip(cases, answers, expected)):
        if not isinstance(answer, dict) or not ({"value"} == set(answer) or {"error"} == set(answer)):
            msg = "malformed answer"
        elif "error" in answer:
            msg = f"raised {_clip(str(answer['error']))}"
        else:
            try:
                msg = check.compare(case, answer["value"], want)
            except Exception as exc:  # a comparison must never crash the grader
                msg = f"could not be compared: {_clip(repr(exc))}"
        if msg is None:
            passed += 1
        elif first is None:
            first = f"case {k + 1} of {len(cases)} ({_case_label(case)}): {_clip(msg, 600)}"
    ok = passed == len(cases)
    message = f"all {len(cases)} cases pass" if ok else first
    return CheckResult(gid, ok, message, passed, len(cases), seconds)
