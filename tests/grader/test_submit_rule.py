"""`make submit` warns about exactly the checks the grader would fail, with the grader's message."""

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.release import release

FIXTURES = Path(__file__).resolve().parent / "grader_fixtures"
AID = "00_fixture"

pytestmark = pytest.mark.slow


def test_submit_reports_what_the_grader_fails(tmp_path):
    from autograder.submit import submit

    shutil.copytree(FIXTURES / "course", tmp_path / "grading")
    course = Course(root=tmp_path / "grading", assignments_dir=tmp_path / "assignments")
    release(course, [AID], log=lambda *_: None)
    # Counts right (its public test passes in the kernel), but with scipy: the grader scores it 0.
    nb = nbformat.read(FIXTURES / "adversarial" / "scipy_route.ipynb", as_version=4)
    nbformat.write(nb, str(course.released(AID)))
    logged = []
    submit(course, AID, student="ada", out_dir=tmp_path / "out", log=logged.append)
    warnings = [line for line in logged if line.startswith("WARNING") and "written question" not in line]
    assert len(warnings) == 1, logged
    assert warnings[0].startswith("WARNING: the grader would score test_count 0: ")
    assert "scipy.ndimage" in warnings[0] and "does not allow" in warnings[0]
