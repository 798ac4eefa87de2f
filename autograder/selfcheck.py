"""`selfcheck`: what a notebook author runs before committing a source notebook.

1. every autograded test cell has a Check and every Check names an autograded test cell;
2. the source notebook executes top to bottom (nbclient, its own folder as cwd);
3. the source's own solutions pass every Check (out of kernel, sandboxed when possible);
4. the blanked notebook (solutions replaced as nbgrader does) fails every Check.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import time
from pathlib import Path

from autograder.course import Course
from autograder.notebook import blank_solutions, is_exercise, layout, nbgrader_meta, read_notebook
from autograder.sandbox.bwrap import Sandbox, bwrap_status
from autograder.verify.runner import run_verification
from autograder.verify.spec import SpecError, load_spec


def spec_problems(course: Course, assignment: str) -> list[str]:
    """Mismatches between the source notebook's autograded test cells and the spec's CHECKS."""
    lay = layout(read_notebook(course.source_notebook(assignment)))
    try:
        checks = load_spec(course.spec(assignment))
    except SpecError as exc:
        return [str(exc)]
    problems = [f"autograded test cell {gid!r} has no Check in {course.spec(assignment)}"
                for gid in lay.tests if gid not in checks]
    problems += [f"Check {gid!r} names no autograded test cell of the source notebook"
                 for gid in checks if gid not in lay.tests]
    return problems


def execute_notebook(path: Path, timeout: float = 600) -> tuple[float, str | None]:
    """Run a notebook top to bottom in a temporary copy of its folder.

    Returns: (seconds, None) on success or (seconds, message naming the failing cell).
    """
    import nbclient
    from nbclient.exceptions import CellExecutionError

    nb = read_notebook(path)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="selfcheck-") as tmp:
        for item in path.parent.iterdir():
            if item.is_file() and item != path:
                shutil.copy(item, tmp)
        # Cells tagged raises-exception (so that Run All goes on for students) do not stop
        # nbclient; with the solutions in, no cell may raise, so every error output counts.
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                         allow_errors=True, resources={"metadata": {"path": tmp}})
        try:
            client.execute()
        except CellExecutionError as exc:
            return time.monotonic() - start, str(exc).strip().splitlines()[-1][:500]
        except Exception as exc:  # timeouts, dead kernels
            return time.monotonic() - start, f"{type(exc).__name__}: {str(exc)[:300]}"
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                where = nbgrader_meta(cell).get("grade_id") or cell.source.splitlines()[0][:60]
                return time.monotonic() - start, f"{where}: {out.ename}: {out.evalue}"[:500]
    return time.monotonic() - start, None


def selfcheck(course: Course, assignment: str, execute: bool = True, log=print) -> bool:
    """Run the four checks above for one assignment, printing a line per finding. Returns: all good."""
    ok = True
    src_path = course.source_notebook(assignment)
    if not src_path.exists():
        log(f"FAIL {assignment}: no source notebook {src_path}")
        return False
    problems = spec_problems(course, assignment)
    for p in problems:
        log(f"FAIL spec: {p}")
    ok &= not problems
    if not problems:
        log(f"ok   spec: every autograded test cell of {assignment} has a Check")
    if execute:
        seconds, err = execute_notebook(src_path)
        if err:
            log(f"FAIL execute: {src_path} stops: {err} ({seconds:.0f} s)")
            ok = False
        else:
            log(f"ok   execute: {src_path.name} runs top to bottom in {seconds:.1f} s")
    try:
        checks = load_spec(course.spec(assignment))
    except SpecError:
        return False
    sandbox = Sandbox(enabled=bwrap_status() is None)
    src = read_notebook(src_path)
    try:
        full = run_verification(assignment, src, src, checks, sandbox)
        blank_nb = copy.deepcopy(src)
        for cell in blank_nb.cells:
            if is_exercise(cell):
                cell.source = blank_solutions(cell.source)
        blank = run_verification(assignment, src, blank_nb, checks, sandbox)
    except SpecError as exc:
        log(f"FAIL spec: {exc}")
        return False
    for note in full.notes:
        log(f"FAIL solutions: {note}")
        ok = False
    for gid, res in full.results.items():
        if res.passed:
            log(f"ok   solutions pass {gid} ({res.cases_total} cases, {res.seconds:.2f} s)")
        else:
            log(f"FAIL solutions fail {gid}: {res.message}")
            ok = False
    for gid, res in blank.results.items():
        if res.passed:
            log(f"FAIL blank notebook passes {gid}: the check cannot fail")
            ok = False
    if not any(r.passed for r in blank.results.values()):
        log(f"ok   blank notebook fails all {len(blank.results)} checks")
    if not sandbox.enabled:
        log(f"note: verification ran unsandboxed ({bwrap_status()})")
    log(("PASS " if ok else "FAIL ") + assignment)
    return ok
