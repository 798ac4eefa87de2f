"""What the grader tests share: the fixture course (grader_fixtures/) and its one assignment.

`grader_fixtures/course/` is a one-assignment nbgrader course (`00_fixture`: an affine layer
and a label count) with its verify spec; `grader_fixtures/adversarial/` holds one submission
per trick (see docs/grading.md). Tests grade copies, never the fixtures themselves.
"""

import shutil
from pathlib import Path

from autograder.course import Course

FIXTURES = Path(__file__).resolve().parent / "grader_fixtures"
AID = "00_fixture"


def copy_course(folder: Path) -> Course:
    """A fresh copy of the fixture course in folder/grading, released into folder/assignments."""
    shutil.copytree(FIXTURES / "course", folder / "grading")
    return Course(root=folder / "grading", assignments_dir=folder / "assignments")
