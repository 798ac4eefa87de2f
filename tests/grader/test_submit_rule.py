"""`make submit` warns about exactly the checks the grader would fail, with the grader's message."""


import nbformat
import pytest
from graderhelpers import AID, FIXTURES, copy_course

from autograder.release import release

pytestmark = pytest.mark.slow


def test_submit_reports_what_the_grader_fails(tmp_path):
    from autograder.submit import submit

    course = copy_course(tmp_path)
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
