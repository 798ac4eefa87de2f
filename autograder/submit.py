"""`submit` (student side): validate assignments/<id>.ipynb and zip it as submissions/<student>_<id>.zip."""

from __future__ import annotations

import getpass
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from autograder.course import Course, ensure_venv_on_path
from autograder.notebook import is_manual, read_notebook
from autograder.verify.precheck import grader_findings
from cs231n_lib.atomic import atomic_path

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def student_name(given: str | None = None) -> str:
    """The student id: STUDENT=, else git config user.name, else $USER; sanitised to [a-z0-9_.-]."""
    name = given
    if not name:
        try:
            name = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            name = ""
    if not name:
        name = os.environ.get("USER") or getpass.getuser()
    clean = re.sub(r"[^a-z0-9_.-]+", "_", name.strip().lower()).strip("_.-")[:64]
    if not clean:
        raise ValueError(f"STUDENT={given!r}: no usable student name (letters, digits, _ . -)")
    return clean


def unanswered(nb) -> list[str]:
    """grade_ids of written questions still reading YOUR ANSWER HERE."""
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if is_manual(c) and c.cell_type == "markdown" and "YOUR ANSWER HERE" in c.source]


def headline(error: str) -> str:
    """The line that names a failing cell's problem: a check's FAIL line, an exercise's NOT DONE
    line, else the error's last line."""
    lines = [line.strip() for line in _ANSI_RE.sub("", error).strip().splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("FAIL ", "NOT DONE ")):
            return line
    last = lines[-1] if lines else ""
    if last.rstrip(":") == "NotImplementedError":
        return "NotImplementedError (an exercise it uses is not done yet)"
    return last


def progress_hook(total: int, log=print, every: float = 10.0):
    """An nbclient on_cell_complete hook telling the student how far the run has got.

    On a terminal one line is rewritten in place; otherwise a line is logged every `every` s.
    """
    start = time.monotonic()
    last = [0.0]
    tty = sys.stdout.isatty()

    def hook(cell=None, cell_index=0, **_):
        seconds = time.monotonic() - start
        text = f"  running your notebook: cell {cell_index + 1} of {total}, {seconds:.0f} s"
        if tty:
            print("\r" + text, end="", flush=True)
        elif seconds - last[0] >= every:
            last[0] = seconds
            log(text)

    return hook


def submit(course: Course, assignment: str, student: str | None = None, out_dir: Path | None = None,
           validate: bool = True, log=print) -> Path:
    """Validate the student's notebook, warn about what fails or is missing, write the zip. Returns its path."""
    from nbgrader.validator import Validator
    from traitlets.config import Config

    path = course.student_notebook(assignment)
    if not path.exists():
        raise ValueError(f"ASSIGNMENT={assignment}: no notebook {path}")
    name = student_name(student)
    nb = read_notebook(path)
    log(f"Checking {path}")
    if validate:
        ensure_venv_on_path()
        # The kernel nbgrader starts to run the notebook talks to it over local TCP, and
        # recent ipykernels warn about that on the terminal; to a student that reads like
        # something is wrong with their work. Only errors from that kernel are shown.
        log("Running your notebook top to bottom, as the grader will (up to two minutes)...")
        hook = progress_hook(len(nb.cells), log=log)
        quiet = Config({"Execute": {"extra_arguments": ["--IPKernelApp.log_level=ERROR"],
                                    "on_cell_complete": hook}})
        validator = Validator(config=quiet)
        validator.ignore_checksums = False
        results = validator.validate(str(path))
        if sys.stdout.isatty():
            print()
        for cell in results.get("type_changed", []):
            log(f"WARNING: a graded cell changed type ({cell['old_type']} -> {cell['new_type']}): "
                "restore it from the released notebook")
        for cell in results.get("changed", []):
            log(f"WARNING: a locked test cell was edited; it will be replaced when grading:\n  {cell['source'][:100]}")
        # Unanswered written questions also come back as failures; they are reported once, below.
        failed = [c for c in results.get("failed", []) if "YOUR ANSWER HERE" not in c["source"]]
        # Test cells often start alike: name each by its grade_id, found by its source
        # (which nbgrader hands back without trailing whitespace).
        grade_ids = {c.source.strip(): c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
        # The grader's own checks decide what is reported as failing (a public check that fails
        # where the grader's pass is not reported; a rule broken is, with the grader's message).
        findings = grader_findings(course, assignment, nb)
        for gid, message in (findings or {}).items():
            log(f"WARNING: the grader would score {gid} 0: {message}")
        reported = 0
        for cell in failed:
            first = cell["source"].splitlines()[0] if cell["source"] else ""
            gid = grade_ids.get(cell["source"].strip())
            if findings is not None and gid is not None and gid not in findings:
                continue
            reported += 1
            named = f"{gid} (starting {first[:60]!r})" if gid else f"starting {first[:70]!r}"
            error = cell.get("raw_error") or cell.get("error") or ""
            log(f"WARNING: failing test cell {named}: {headline(error)[:200]}")
        if not reported and not findings and not results.get("changed") and not results.get("type_changed"):
            log("All public tests pass.")
    for gid in unanswered(nb):
        log(f"WARNING: written question {gid} is unanswered (still reads YOUR ANSWER HERE)")
    out_dir = out_dir or course.assignments_dir.parent / "submissions"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}_{assignment}.zip"
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(path, arcname=f"{assignment}.ipynb")
    log(f"Wrote {target}: hand this file in.")
    return target
