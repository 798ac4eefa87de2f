"""The real course: releases leak nothing and are up to date; the instructor self-check (slow).

For every assignment in grading/source/: the source notebook autograded with its own solutions
scores full marks, and the released (blank) notebook runs through autograde without stopping
the batch and scores zero on every autograded cell. This is also what executes every notebook
top to bottom in CI.
"""

import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder.course import Course
from autograder.demo import simulated_students
from autograder.grades import grade_rows
from autograder.notebook import layout, read_notebook
from autograder.release import find_leaks, is_up_to_date, released_sources
from autograder.sandbox import bwrap_status

COURSE = Course()
IDS = COURSE.assignment_ids()
RELEASED = sorted(p.stem for p in COURSE.assignments_dir.glob("*.ipynb"))


@pytest.mark.parametrize("aid", RELEASED or [pytest.param("none", marks=pytest.mark.skip("no releases yet"))])
def test_release_leaks_nothing(aid):
    released = COURSE.released(aid).read_text()
    assert COURSE.source_notebook(aid).exists(), f"assignments/{aid}.ipynb has no source notebook"
    leaks = find_leaks(read_notebook(COURSE.source_notebook(aid)), released_sources(released))
    assert leaks == []
    nb = nbformat.reads(released, as_version=4)
    assert "Generated file" in nb.cells[0].source and f"grading/source/{aid}/{aid}.ipynb" in nb.cells[0].source
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


@pytest.mark.slow
@pytest.mark.parametrize("aid", IDS or [pytest.param("none", marks=pytest.mark.skip("no assignments yet"))])
def test_release_is_up_to_date(aid, tmp_path):
    assert is_up_to_date(COURSE, aid, tmp_path) is None


@pytest.mark.slow
@pytest.mark.skipif(not IDS, reason="no assignments in grading/source yet")
def test_instructor_selfcheck(tmp_path):
    """A copy of grading/ outside the repository, driven by the command line from a folder
    outside the repository: complete students score full marks, blank students zero."""
    course = Course(root=tmp_path / "elsewhere" / "grading", assignments_dir=tmp_path / "elsewhere" / "assignments")
    (course.root / "verify").mkdir(parents=True)
    shutil.copy(COURSE.root / "nbgrader_config.py", course.root / "nbgrader_config.py")
    for aid in IDS:
        shutil.copytree(COURSE.source_notebook(aid).parent, course.source_notebook(aid).parent)
        shutil.copy(COURSE.spec(aid), course.spec(aid))
    cwd = tmp_path / "somewhere"
    cwd.mkdir()
    _cli(cwd, "release", "--course", str(course.root))
    for aid in IDS:
        students = simulated_students(read_notebook(course.source_notebook(aid)),
                                      read_notebook(course.released(aid)))
        for name in ("complete", "blank"):
            path = course.root / "submitted" / name / aid / f"{aid}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(students[name], str(path))
    _cli(cwd, "autograde", "--course", str(course.root), "--workers", "2", "--cell-timeout", "300",
         "--submission-timeout", "1800", *(["--unsandboxed"] if bwrap_status() is not None else []))
    _, rows = grade_rows(course, IDS)
    got = {(r["student"], r["assignment"]): (r["autograded_score"], r["autograded_max"]) for r in rows}
    for aid in IDS:
        total = sum(layout(read_notebook(COURSE.source_notebook(aid))).tests.values())
        assert got[("complete", aid)] == (total, total), aid
        assert got[("blank", aid)] == (0.0, total), aid


def _cli(cwd, *args):
    """Run `python -m autograder ARGS` in `cwd` (no course variables inherited); fail on a non-zero exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}
    proc = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, (args, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc
