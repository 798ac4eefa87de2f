"""Fixtures of the grader tests (the shared constants and helpers are in graderhelpers.py)."""

import pytest
from graderhelpers import copy_course

from autograder.course import Course


@pytest.fixture
def course(tmp_path) -> Course:
    """A fresh copy of the fixture course (graderhelpers.copy_course) in this test's tmp_path."""
    return copy_course(tmp_path)
