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


def _dying_notebook(course):
    """The released notebook with a cell that kills its kernel, as a crash or a busy machine's OOM killer would."""
    nb = nbformat.read(str(course.released(AID)), as_version=4)
    nb.cells.insert(1, nbformat.v4.new_code_cell("import os\nos._exit(9)"))
    nbformat.write(nb, str(course.released(AID)))


@pytest.mark.parametrize("fault", ["dead kernel", "iopub timeout"])
def test_submit_writes_the_zip_when_the_check_cannot_finish(tmp_path, monkeypatch, fault):
    import zipfile

    from autograder.submit import submit

    course = copy_course(tmp_path)
    release(course, [AID], log=lambda *_: None)
    if fault == "dead kernel":
        _dying_notebook(course)
    else:  # what nbclient raised on a busy machine: its IOPub wait timed out mid-run
        from nbclient.exceptions import CellTimeoutError
        from nbgrader.validator import Validator

        def timed_out(self, filename):
            raise CellTimeoutError("Timeout waiting for IOPub output")

        monkeypatch.setattr(Validator, "validate", timed_out)
    logged = []
    target = submit(course, AID, student="ada", out_dir=tmp_path / "out", log=logged.append)
    assert target.exists(), logged
    with zipfile.ZipFile(target) as zf:
        assert zf.read(f"{AID}.ipynb") == course.released(AID).read_bytes()
    warning = [line for line in logged if "could not finish" in line]
    assert len(warning) == 1, logged
    assert ("DeadKernelError" in warning[0]) if fault == "dead kernel" else ("CellTimeoutError" in warning[0])
    assert logged[-1].startswith("Wrote "), logged
