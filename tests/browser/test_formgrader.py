"""The instructor's way to grade written answers, in a real browser: `make formgrader`'s
JupyterLab (instructor config, started in the course folder) lists the graded submission
without exchange errors, a written answer's score typed in the formgrader is saved in the
gradebook, and `make grades` counts it; so does an autograded test's score the instructor
changes there (grades.csv's `overrides` names it, the feedback page shows it).

The course is a temporary copy of the fixture course with one honest submission autograded.
A screenshot is kept in test-artifacts/browser/.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from labhelpers import REPO, Lab

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIXTURES = REPO / "tests" / "grader" / "grader_fixtures"
AID = "00_fixture"


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    from autograder.autograde import autograde
    from autograder.course import Course
    from autograder.release import release
    from autograder.sandbox.bwrap import bwrap_status
    from autograder.sandbox.limits import Limits

    tmp = tmp_path_factory.mktemp("formgrader")
    shutil.copytree(FIXTURES / "course", tmp / "grading")
    course = Course(root=tmp / "grading", assignments_dir=tmp / "assignments")
    release(course, [AID], log=lambda *_: None)
    target = course.root / "submitted" / "ada" / AID / f"{AID}.ipynb"
    target.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "adversarial" / "honest.ipynb", target)
    summary = autograde(course, [AID], unsandboxed=bwrap_status() is not None, progress=False,
                        limits=Limits(cell_timeout=30, submission_timeout=300))
    assert [g[:2] for g in summary.graded] == [("ada", AID)]
    return course


def test_formgrader_grades_a_written_answer_that_reaches_grades(browser, graded_course, artifacts):
    from nbgrader.api import Gradebook

    from autograder.feedback import feedback
    from autograder.grades import grade_rows

    course = graded_course
    with Gradebook(course.db_url) as gb:
        submission = gb.find_submission_notebook(AID, AID, "ada").id
    lab = Lab(Path(course.root), REPO / "jupyter" / "instructor", course.root.parent / "server.log")
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    try:
        page.goto(lab.url("lab"))  # logs in, as the link `make formgrader` prints does
        page.wait_for_selector(".jp-LabShell", timeout=60_000)
        page.goto(f"http://127.0.0.1:{lab.port}/formgrader/gradebook/{AID}/{AID}")
        page.wait_for_selector("text=Submission #1", timeout=30_000)
        page.screenshot(path=str(artifacts / "formgrader_submissions.png"))
        assert "exchange directory" not in page.inner_text("body")

        page.goto(f"http://127.0.0.1:{lab.port}/formgrader/submissions/{submission}/")
        score = page.locator("input.score#q_reshape")
        score.wait_for(timeout=30_000)
        score.scroll_into_view_if_needed()
        score.fill("1")
        score.press("Tab")
        # An autograded test's score changed by the instructor (2 of 2 points -> 0.5).
        override = page.locator("input.score#test_affine")
        override.scroll_into_view_if_needed()
        override.fill("0.5")
        override.press("Tab")
        time.sleep(2)  # the formgrader saves on change
        page.screenshot(path=str(artifacts / "formgrader_written_answer.png"))
    finally:
        page.close()
        lab.stop()
    assert "Unwritable directory" not in lab.log.read_text()
    _, rows = grade_rows(course, [AID])
    assert rows[0]["written_score"] == 1 and rows[0]["written_pending"] == 0
    # test_affine's 2 points became 0.5; test_count's 1 stands.
    assert rows[0]["autograded_score"] == 1.5 and rows[0]["overrides"] == "test_affine: 2 -> 0.5"
    assert rows[0]["score"] == 2.5
    feedback(course, [AID], log=lambda *_: None)
    page_text = (course.root / "feedback" / "ada" / AID / f"{AID}.html").read_text()
    assert "0.5 / 2" in page_text and "score changed by the instructor from 2" in page_text


def test_a_new_course_opens_in_the_formgrader_from_the_nbgrader_menu(browser, tmp_path, artifacts):
    """Before anything is graded (no gradebook yet), Nbgrader > Formgrader lists the course's
    assignments; the server reports no error (nbgrader creates the gradebook with alembic)."""
    shutil.copytree(FIXTURES / "course", tmp_path / "grading")
    lab = Lab(tmp_path / "grading", REPO / "jupyter" / "instructor", tmp_path / "server.log")
    page = browser.new_page(viewport={"width": 1300, "height": 800})
    try:
        page.goto(lab.url("lab") + "&reset")
        page.wait_for_selector(".jp-LabShell", timeout=60_000)
        page.click(".lm-MenuBar-itemLabel:has-text('Nbgrader')")
        page.click(".lm-Menu-itemLabel:has-text('Formgrader')")
        frame = page.frame_locator("iframe").first
        frame.locator(f"text={AID}").first.wait_for(timeout=60_000)
        page.screenshot(path=str(artifacts / "formgrader_new_course.png"))
    finally:
        page.close()
        lab.stop()
    errors = [line for line in lab.log.read_text().splitlines() if line.startswith(("[E", "[C"))
              and "received signal" not in line]
    assert errors == [], errors
