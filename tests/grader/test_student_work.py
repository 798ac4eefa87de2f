"""No command destroys a student's edits: release keeps an edited notebook, `make lab`'s
work/ copies are never overwritten, the demo releases into its own folder; `make submit`
names each failing check by its headline."""

import json
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from graderhelpers import AID

from autograder.course import Course
from autograder.release import KERNELSPEC, edited_since_release, release
from autograder.submit import headline
from autograder.workspace import seed


@pytest.fixture
def course(course):
    """The fixture course (conftest.py), released."""
    release(course, [AID], log=lambda *_: None)
    return course


def _edit(path: Path, text: str) -> None:
    nb = nbformat.read(str(path), as_version=4)
    next(c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")).source = text
    nbformat.write(nb, str(path))


def _change_source(course: Course) -> None:
    """The instructor changes the notebook's first markdown cell."""
    src = course.source_notebook(AID)
    nb = nbformat.read(str(src), as_version=4)
    next(c for c in nb.cells if c.cell_type == "markdown").source += "\n\nA clarification."
    nbformat.write(nb, str(src))


@pytest.mark.slow  # each releases the fixture course (nbgrader, ~7 s)
def test_release_keeps_an_edited_notebook(course):
    target = course.released(AID)
    assert not edited_since_release(target)
    ran = nbformat.read(str(target), as_version=4)  # running cells is not editing
    for cell in ran.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [nbformat.v4.new_output("stream", text="hi")], 1
    nbformat.write(ran, str(target))
    assert not edited_since_release(target)

    _edit(target, "def count_labels(y, num_classes):\n    return 'my work'\n")
    assert edited_since_release(target)
    _change_source(course)
    logged = []
    release(course, [AID], log=logged.append)
    assert "'my work'" in target.read_text()
    new = target.with_name(f"{AID}.new.ipynb")
    assert "A clarification." in new.read_text()
    assert "kept as it is" in logged[0] and str(new) in logged[0] and "FORCE=1" in logged[0]

    release(course, [AID], log=logged.append, force=True)
    backups = list(target.parent.glob(f"{AID}.backup-*.ipynb"))
    assert len(backups) == 1 and "'my work'" in backups[0].read_text()
    assert "'my work'" not in target.read_text() and not edited_since_release(target)


@pytest.mark.slow  # each releases the fixture course (nbgrader, ~7 s)
def test_work_copies_are_made_once_and_never_overwritten(course):
    logged = []
    [own] = seed(course, log=logged.append)
    assert own == course.work_dir / f"{AID}.ipynb" and "Copied 00_fixture" in logged[0]
    nb = json.loads(own.read_text())
    assert nb["metadata"]["kernelspec"] == KERNELSPEC and "version" in nb["metadata"]["language_info"]

    _edit(own, "def count_labels(y, num_classes):\n    return 'my work'\n")
    _change_source(course)
    release(course, [AID], log=lambda *_: None)  # the course's notebook changes (git pull)
    logged.clear()
    seed(course, log=logged.append)
    assert "'my work'" in own.read_text()
    assert len(logged) == 1 and "updated by the course" in logged[0] and "kept" in logged[0]
    assert course.student_notebook(AID) == own


@pytest.mark.slow  # each releases the fixture course (nbgrader, ~7 s)
def test_demo_never_writes_assignments(course, tmp_path, monkeypatch):
    import autograder.autograde
    from autograder.demo import demo

    before = {p.name: p.read_bytes() for p in course.assignments_dir.iterdir()}
    _edit(course.released(AID), "def count_labels(y, num_classes):\n    return 'my work'\n")
    edited = course.released(AID).read_bytes()
    monkeypatch.setattr(autograder.autograde, "autograde",
                        lambda *a, **k: SimpleNamespace(lines=lambda: ["(not graded in this test)"],
                                                        scores_seconds=0.0, seconds=0.0))
    logged = []
    demo([AID], workers=1, course=course, out_root=tmp_path / "demo", log=logged.append)
    assert sorted(p.name for p in course.assignments_dir.iterdir()) == sorted(before)
    assert course.released(AID).read_bytes() == edited
    assert (tmp_path / "demo" / "assignments" / f"{AID}.ipynb").exists()
    assert "expect the scores after about" in logged[0]


def test_submit_names_a_failing_check_by_its_headline():
    fail = ("FAIL  compute_distances_two_loops on 2 test points: relative error 1.0e+00 > 1e-12\n"
            "  worst entries (index: got vs expected, relative error):\n"
            "    (0, 1): 0 vs 5  (1.0e+00)\n  ||got - expected||_F = 2.035e+01, ||expected||_F = 2.035e+01")
    assert headline(fail).startswith("FAIL  compute_distances_two_loops")
    assert headline("\x1b[31mNOT DONE  predict_labels() is not written yet\x1b[0m").startswith("NOT DONE")
    assert headline("Traceback ...\nNotImplementedError: ").startswith("NotImplementedError (an exercise")
    assert headline("Traceback ...\nValueError: bad shape") == "ValueError: bad shape"
