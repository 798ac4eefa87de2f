"""Verification worker: runs INSIDE the sandbox, with the student's code. Trusts nothing it returns.

    python -m autograder.verify.worker JOBDIR

JOBDIR/job.json holds the setup cells, the student's exercise cells, the checks to
run (`call` strings), the dotted names to forbid and the paths to guard (`guard.py`: opening
one from the student's code scores every check 0); JOBDIR/cases_<i>.npz the plain inputs (or
those of job.json's `cases_dir`, a folder the sandbox binds read-only). The grader drives it
over stdin/stdout with one line per message:
before each of the student's cells the worker writes `cell <k>` and waits for `go` (the
grader looks at the process tree's limits between cells), it answers `ready` once the
namespace is built, then for each line `run <i>`
writes JOBDIR/result_<i>.npz (a list with one {"value": ...} or {"error": "..."} per
case) and answers `done <i>`. The student's own prints go to JOBDIR/output.log.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.util
import json
import os
import signal
import sys
import traceback
import types
from typing import TYPE_CHECKING

from autograder.i18n.messages import _
from autograder.verify.stubs import stub_message

if TYPE_CHECKING:
    from autograder.verify.guard import DatasetGuard

MAX_MESSAGE = 400


class CellTimeout(Exception):
    """Raised by the alarm when one exercise cell runs longer than its limit."""


class ForbiddenCallError(RuntimeError):
    """The student called the library's own reference for the function being graded."""


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _make_stub(name: str):
    """A function that raises ForbiddenCallError (compiled as notebook-like code, so the rule's
    profile hook lets the call through and the student reads this message)."""
    holder: dict = {"__cs231n_forbidden__": ForbiddenCallError}
    message = stub_message(name)
    exec(compile(f"def stub(*args, **kwargs):\n    raise __cs231n_forbidden__({message!r})\n",
                 "<forbidden>", "exec"), holder)
    stub = holder["stub"]
    stub.__name__ = name.rsplit(".", 1)[-1]
    return stub


def forbid(dotted: str) -> None:
    """Replace the object at a dotted path by a stub that raises ForbiddenCallError.

    Inputs: dotted, e.g. "cs231n_lib.layers.affine_forward" or
    "cs231n_lib.classifiers.k_nearest_neighbor.KNearestNeighbor.compute_distances_two_loops".
    The original function's code object is replaced too, so aliases imported earlier call the stub.
    """
    parts = dotted.split(".")
    module = None
    for i in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        attrs = parts[i:]
        break
    if module is None or not attrs:
        raise ValueError(f"forbidden name {dotted!r} does not name an attribute of a module")
    parent = module
    for attr in attrs[:-1]:
        parent = getattr(parent, attr)
    original = getattr(parent, attrs[-1])
    stub = _make_stub(dotted)
    target = original.__func__ if isinstance(original, (staticmethod, classmethod)) else original
    if isinstance(target, types.FunctionType) and not target.__code__.co_freevars:
        message = stub_message(dotted)
        holder: dict = {}
        exec(compile(f"def _stub(*args, **kwargs):\n    raise __cs231n_forbidden__({message!r})\n",
                     "<forbidden>", "exec"), holder)
        target.__globals__["__cs231n_forbidden__"] = ForbiddenCallError
        target.__code__ = holder["_stub"].__code__.replace(co_name=target.__code__.co_name)
        target.__defaults__ = None
        target.__kwdefaults__ = None
    setattr(parent, attrs[-1], stub)


def forbid_all(names) -> list[str]:
    """forbid() each dotted name: now when its top-level package is imported already, else as
    soon as the module that holds it is imported (a worker that never imports scikit-learn
    does not pay its second of import time to stub sklearn's load_digits).

    Returns: notes on the names that could not be forbidden (a package that does not exist,
    an attribute its module does not have); a name forbidden later adds its note to the same
    list if that fails.
    """
    notes, later = [], []
    for dotted in names:
        top = dotted.split(".")[0]
        try:
            if top in sys.modules:
                forbid(dotted)
            elif importlib.util.find_spec(top) is None:
                raise ModuleNotFoundError(f"no module named {top!r}")
            else:
                later.append(dotted)
        except Exception as exc:
            notes.append(f"could not forbid {dotted}: {_short(exc)}")
    if later:
        sys.meta_path.insert(0, _ForbidOnImport(later, notes))
    return notes


class _ForbidOnImport(importlib.abc.MetaPathFinder):
    """Calls forbid(dotted) for each pending name once the module that holds it is imported.

    Only the imports of the pending names' prefixes (sklearn, sklearn.datasets, ...) are
    watched: their loader runs the module as usual, then the names it now resolves are
    stubbed, before the import statement that asked for it gets the module.
    """

    def __init__(self, names, notes: list[str]):
        self.pending = set(names)
        self.notes = notes

    def find_spec(self, fullname, path, target=None):
        if not any(d.startswith(fullname + ".") for d in self.pending):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _ThenForbid(spec.loader, fullname, self)
                return spec
        return None

    def settle(self, fullname: str) -> None:
        """Forbid the pending names that module `fullname`, just run, now resolves."""
        for dotted in sorted(d for d in self.pending if d.startswith(fullname + ".")):
            target = sys.modules.get(fullname)
            for attr in dotted[len(fullname) + 1:].split("."):
                target = getattr(target, attr, None)
            if target is not None and not isinstance(target, types.ModuleType):
                self.pending.discard(dotted)
                try:
                    forbid(dotted)
                except Exception as exc:   # as forbid_all does: a note, not an error in the import
                    self.notes.append(f"could not forbid {dotted}: {_short(exc)}")


class _ThenForbid:
    """A module loader that runs the wrapped one, then settles the pending forbidden names;
    everything else (resources, get_code, ...) is the wrapped loader's."""

    def __init__(self, loader, fullname: str, finder: _ForbidOnImport):
        self._loader, self._fullname, self._finder = loader, fullname, finder

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._finder.settle(self._fullname)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _Alarm:
    """A soft time limit: CellTimeout is raised in the running code when it expires."""

    def __init__(self, timeout: float, label: str):
        self.timeout, self.label = timeout, label

    def __enter__(self):
        def on_alarm(signum, frame):
            raise CellTimeout(f"{self.label} ran longer than {self.timeout:g} s")
        self.old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, self.timeout)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)
        return False


_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# A constant may call numpy and math functions on small literal arguments (np.log(10),
# np.array([1, 3, 5])), never draw data (np.random) or build large arrays.
_CONSTANT_CALL_ROOTS = {"np", "numpy", "math"}
_CONSTANT_CALL_MAX_INT = 4096


def _cheap_call(call: ast.Call) -> bool:
    parts, root = [], call.func
    while isinstance(root, ast.Attribute):
        parts.append(root.attr)
        root = root.value
    if not (parts and isinstance(root, ast.Name) and root.id in _CONSTANT_CALL_ROOTS
            and "random" not in parts):
        return False
    return all(abs(n.value) <= _CONSTANT_CALL_MAX_INT for n in ast.walk(call)
               if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)))


def _is_constant(node: ast.AST) -> bool:
    """A cheap expression: literals, names, attributes, arithmetic, containers, small numpy/math
    calls, or a lambda (its body runs only when called)."""
    if isinstance(node, ast.Lambda):
        return True
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
                            ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
        if isinstance(sub, ast.Call) and not _cheap_call(sub):
            return False
    return True


def _is_definition(stmt: ast.stmt) -> bool:
    """What an added cell contributes: imports, functions, classes and constants (NAME = value)."""
    if isinstance(stmt, _DEFINITIONS):
        return True
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        names = all(isinstance(t, ast.Name) or isinstance(t, (ast.Tuple, ast.List))
                    and all(isinstance(e, ast.Name) for e in t.elts) for t in targets)
        return names and stmt.value is not None and _is_constant(stmt.value)
    return False


def _statements(source: str, label: str) -> list[ast.Module]:
    """The cell's top-level statements, each as its own module (line numbers kept)."""
    tree = ast.parse(_strip_magics(source), label, "exec")
    return [ast.Module(body=[stmt], type_ignores=[]) for stmt in tree.body]


def _run_cell(source: str, ns: dict, timeout: float, label: str,
              definitions_only: bool = False) -> list[str]:
    """Execute one cell in ns, statement by statement; return a message per statement that failed.

    A statement that raises is reported and the next one runs, so a failing sanity check
    between two functions does not lose the second. definitions_only: run only imports,
    functions, classes and constants (an added cell: its training runs and plots are skipped).
    When the cell runs out of time, its remaining definitions still run.
    """
    try:
        statements = _statements(source, label)
    except SyntaxError as exc:
        return [f"{label}: {_short(exc)}"]
    errors: list[str] = []
    pending = list(statements)
    while pending:
        try:
            with _Alarm(timeout, label):
                while pending:
                    stmt = pending.pop(0)
                    if definitions_only and not _is_definition(stmt.body[0]):
                        continue
                    try:
                        exec(compile(stmt, label, "exec"), ns)
                    except CellTimeout:
                        raise
                    except BaseException as exc:  # noqa: B036 - the student's code may raise anything
                        errors.append(_("{label}, line {line}: {error}").format(
                            label=label, line=stmt.body[0].lineno, error=_short(exc)))
        except CellTimeout as exc:
            errors.append(f"{label}: {_short(exc)}")
            definitions_only, timeout = True, min(timeout, 10.0)
    return errors


def _strip_magics(source: str) -> str:
    """Comment out IPython magics and shell escapes (lines starting with % or !)."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append("#" + line if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines)


def _redirect_output(jobdir: str):
    """Keep stdin/stdout for the protocol (duplicated), send the student's prints to output.log.

    Returns: (protocol input, protocol output) file objects.
    """
    proto_in = os.fdopen(os.dup(0), "r")
    proto_out = os.fdopen(os.dup(1), "w")
    log_fd = os.open(os.path.join(jobdir, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    sys.stdout = open(1, "w", closefd=False, buffering=1)
    sys.stderr = open(2, "w", closefd=False, buffering=1)
    return proto_in, proto_out


def build_namespace(setup: list[str], exercises: list[dict], cell_timeout: float,
                    skip: set[int] = frozenset(), on_cell=None) -> tuple[dict, list[str]]:
    """The student's namespace: the setup cells, then the student's cells, in notebook order.

    Inputs: setup, cell sources; exercises, [{"grade_id", "source", "kind"}] with kind
    "exercise" (every statement runs) or "added" (only its definitions run; the default is
    "exercise"); cell_timeout, seconds per cell; skip, indices left out (they stopped the
    process before); on_cell(k), called before cell k runs.
    Returns: (namespace, notes on the setup and exercise cells' statements that raised).
    """
    notes = []
    ns: dict = {"__name__": "__main__"}
    for i, source in enumerate(setup):
        notes += _run_cell(source, ns, cell_timeout, _("setup cell {n}").format(n=i + 1))
    for k, cell in enumerate(exercises):
        added = cell.get("kind") == "added"
        label = cell["grade_id"] if added else _("exercise cell {gid}").format(gid=cell["grade_id"])
        if k in skip:
            notes.append(_("{label} skipped: it stopped the process").format(label=label))
            continue
        if on_cell is not None:
            on_cell(k)
        errors = _run_cell(cell["source"], ns, cell_timeout, label, definitions_only=added)
        # Other cells' definitions often read data the verifier never loads (X_train = data[...]):
        # only what fails in exercise cells is worth a note.
        notes += [] if added else errors
    return ns, notes


CHANGED_INPUT = "changed its input"


def changed_inputs(before: dict, case: dict, mutable: tuple[str, ...] = ()) -> str | None:
    """A message when the call changed one of the case's inputs (other than `mutable` ones) in
    place, else None. `before` is a deep copy of `case` taken before the call (compared as the
    public checks' `check_unchanged` compares: `cs231n_lib.checks.difference`)."""
    from cs231n_lib.checks import difference

    for name, value in before.items():
        if name in mutable:
            continue
        why = difference(value, case[name])
        if why:
            where = f"{name}{why.split(':')[0]}" if why.startswith("[") else name
            detail = why.split(": ", 1)[1] if why.startswith("[") else why
            return _("{changed} {where} in place ({detail}): the caller's data must stay as it was; "
                     "compute into a new array (x = x - m, not x -= m) or work on a copy").format(
                         changed=_("changed its input"), where=where, detail=detail)
    return None


def evaluate(call: str, ns: dict, cases: list[dict], allowed: tuple[str, ...] = (),
             guard: DatasetGuard | None = None, mutable: tuple[str, ...] = ()) -> list[dict]:
    """One {"value": ...} or {"error": "..."} per case: `call` evaluated in ns with the case's names.

    numpy's global random state is reseeded before each case, so code that draws from it
    gives the same answer for every student. Each case runs under `rules.Watch(allowed)`: a
    call outside numpy, the standard library, the notebook's cells and `allowed` makes the
    case an error naming that call and the rule. Once `guard` has seen a hidden file opened
    (in a cell or in the call), every case is an error saying so. A case whose inputs (other
    than the `mutable` ones) the call changed in place is an error saying which
    (`changed_inputs`).
    """
    import copy

    import numpy as np

    from autograder.verify.rules import Watch

    try:
        code = compile(ast.parse(call, mode="eval"), "<check>", "eval")
    except SyntaxError as exc:
        return [{"error": f"bad call expression: {_short(exc)}"} for _case in cases]
    results = []
    for case in cases:
        np.random.seed(0)
        watch = Watch(allowed)
        before = copy.deepcopy(case)
        try:
            with watch:
                result = {"value": eval(code, ns, dict(case))}
        except BaseException as exc:  # noqa: B036 - the student's code may raise anything
            result = {"error": _short(exc)}
        if guard is not None and guard.read is not None:
            result = {"error": guard.message}
        elif watch.violation:
            result = {"error": watch.violation}
        elif "value" in result:
            changed = changed_inputs(before, case, mutable)
            if changed:
                result = {"error": changed}
        results.append(result)
    return results


def _save_results(path: str, results: list[dict]) -> None:
    """Write the answers as plain values; an answer that is not plain becomes an error."""
    from autograder.verify.plain import NotPlainError, save_plain

    try:
        save_plain(path, results)
        return
    except NotPlainError:
        pass
    except Exception as exc:
        save_plain(path, [{"error": _("returned a value that could not be read: {error}").format(
            error=_short(exc))} for _result in results])
        return
    safe = []
    for r in results:
        try:
            save_plain(path, [r])
            safe.append(r)
        except NotPlainError as exc:
            safe.append({"error": f"returned something that is not a plain value ({exc})"})
        except Exception as exc:
            safe.append({"error": f"returned a value that could not be read: {_short(exc)}"})
    save_plain(path, safe)


def main(jobdir: str) -> int:
    """Build the namespace, then answer `run <i>` requests until stdin closes."""
    proto_in, proto_out = _redirect_output(jobdir)
    os.chdir(jobdir)
    with open(os.path.join(jobdir, "job.json")) as f:
        job = json.load(f)
    import numpy as np

    from autograder.verify.plain import load_plain

    np.random.seed(0)
    notes = forbid_all(job["forbidden"])

    from autograder.verify.guard import DatasetGuard

    guard = DatasetGuard(job["hidden"])

    def announce(k: int) -> None:
        guard.arm()                       # the setup cells are the course's; the student's start here
        proto_out.write(f"cell {k}\n")
        proto_out.flush()
        if proto_in.readline().strip() != "go":   # the grader has looked at the tree: go on
            os._exit(4)
    skip = {int(k) for k in sys.argv[2].split(",") if k} if len(sys.argv) > 2 else set()
    ns, cell_notes = build_namespace(job["setup"], job["exercises"], job["cell_timeout"], skip, announce)
    guard.arm()
    proto_out.write(json.dumps({"ready": True, "notes": notes + cell_notes}) + "\n")
    proto_out.flush()

    for line in proto_in:
        parts = line.split()
        if len(parts) != 2 or parts[0] != "run":
            break
        index = int(parts[1])
        cases = load_plain(os.path.join(job.get("cases_dir") or jobdir, f"cases_{index}.npz"))
        check = job["checks"][index]
        results = evaluate(check["call"], ns, cases, tuple(check.get("allowed", ())), guard,
                           tuple(check.get("mutable", ())))
        _save_results(os.path.join(jobdir, f"result_{index}.npz"), results)
        proto_out.write(f"done {index}\n")
        proto_out.flush()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1]))
    except BaseException:
        traceback.print_exc()
        os._exit(3)
