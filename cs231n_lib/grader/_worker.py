"""Verification worker: runs INSIDE the sandbox, with the student's code. Trusts nothing it returns.

    python -m cs231n_lib.grader._worker JOBDIR

JOBDIR/job.json holds the setup cells, the student's exercise cells, the checks to
run (`call` strings) and the dotted names to forbid; JOBDIR/cases_<i>.npz the plain
inputs. The grader drives it over stdin/stdout with one line per message:
the worker answers `ready` once the namespace is built, then for each line `run <i>`
writes JOBDIR/result_<i>.npz (a list with one {"value": ...} or {"error": "..."} per
case) and answers `done <i>`. The student's own prints go to JOBDIR/output.log.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import signal
import sys
import traceback
import types

MAX_MESSAGE = 400


class CellTimeout(Exception):
    """Raised by the alarm when one exercise cell runs longer than its limit."""


class ForbiddenCallError(RuntimeError):
    """The student called the library's own reference for the function being graded."""


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _make_stub(name: str):
    def stub(*args, **kwargs):
        raise ForbiddenCallError(
            f"{name} is the library's reference for the function you are asked to write; "
            "it cannot be used to answer this exercise")
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
        message = (f"{dotted} is the library's reference for the function you are asked to "
                   "write; it cannot be used to answer this exercise")
        holder: dict = {}
        exec(compile(f"def _stub(*args, **kwargs):\n    raise __cs231n_forbidden__({message!r})\n",
                     "<forbidden>", "exec"), holder)
        target.__globals__["__cs231n_forbidden__"] = ForbiddenCallError
        target.__code__ = holder["_stub"].__code__.replace(co_name=target.__code__.co_name)
        target.__defaults__ = None
        target.__kwdefaults__ = None
    setattr(parent, attrs[-1], stub)


def _run_cell(source: str, ns: dict, timeout: float, label: str) -> str | None:
    """Execute one cell's source in ns under a soft alarm; return an error message or None."""
    def on_alarm(signum, frame):
        raise CellTimeout(f"{label} ran longer than {timeout:g} s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        code = compile(_strip_magics(source), label, "exec")
        exec(code, ns)
        return None
    except BaseException as exc:  # noqa: B036 - the student's code may raise anything
        return f"{label}: {_short(exc)}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _strip_magics(source: str) -> str:
    """Comment out IPython magics and shell escapes (lines starting with % or !)."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append("#" + line if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines)


def main(jobdir: str) -> int:
    """Build the namespace, then answer `run <i>` requests until stdin closes."""
    proto_in = os.fdopen(os.dup(0), "r")
    proto_out = os.fdopen(os.dup(1), "w")
    log_fd = os.open(os.path.join(jobdir, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    sys.stdout = open(1, "w", closefd=False, buffering=1)
    sys.stderr = open(2, "w", closefd=False, buffering=1)
    os.chdir(jobdir)

    with open(os.path.join(jobdir, "job.json")) as f:
        job = json.load(f)
    import numpy as np

    from cs231n_lib.grader.plain import NotPlainError, load_plain, save_plain

    np.random.seed(0)
    notes = []
    for dotted in job["forbidden"]:
        try:
            forbid(dotted)
        except Exception as exc:
            notes.append(f"could not forbid {dotted}: {_short(exc)}")
    ns: dict = {"__name__": "__main__"}
    for i, source in enumerate(job["setup"]):
        err = _run_cell(source, ns, job["cell_timeout"], f"setup cell {i + 1}")
        if err:
            notes.append(err)
    skip = {int(k) for k in sys.argv[2].split(",") if k} if len(sys.argv) > 2 else set()
    for k, cell in enumerate(job["exercises"]):
        if k in skip:
            notes.append(f"exercise cell {cell['grade_id']} skipped: it stopped the process")
            continue
        proto_out.write(f"cell {k}\n")
        proto_out.flush()
        err = _run_cell(cell["source"], ns, job["cell_timeout"], f"exercise cell {cell['grade_id']}")
        if err:
            notes.append(err)
    proto_out.write(json.dumps({"ready": True, "notes": notes}) + "\n")
    proto_out.flush()

    for line in proto_in:
        parts = line.split()
        if len(parts) != 2 or parts[0] != "run":
            break
        index = int(parts[1])
        check = job["checks"][index]
        cases = load_plain(os.path.join(jobdir, f"cases_{index}.npz"))
        try:
            code = compile(ast.parse(check["call"], mode="eval"), f"<check {check['grade_id']}>", "eval")
        except SyntaxError as exc:
            code, compile_error = None, _short(exc)
        results = []
        for case in cases:
            if code is None:
                results.append({"error": f"bad call expression: {compile_error}"})
                continue
            np.random.seed(0)
            try:
                value = eval(code, ns, dict(case))
            except BaseException as exc:  # noqa: B036
                results.append({"error": _short(exc)})
                continue
            results.append({"value": value})
        path = os.path.join(jobdir, f"result_{index}.npz")
        try:
            save_plain(path, results)
        except NotPlainError:
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
        except Exception as exc:
            save_plain(path, [{"error": f"returned a value that could not be read: {_short(exc)}"}
                              for _ in results])
        proto_out.write(f"done {index}\n")
        proto_out.flush()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1]))
    except BaseException:
        traceback.print_exc()
        os._exit(3)
