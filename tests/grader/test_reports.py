"""`feedback` and `grades` write every report they can and list the ones they could not.

The results are written as a batch would leave them (result.json beside the executed
notebook), without grading anything: one good, one whose executed notebook nbconvert
would refuse (a stream output without text, as a broken notebook run can leave: the page is
written with a note in its place).
"""

import json
from pathlib import Path

from graderhelpers import AID, copy_course

from autograder.course import Course
from autograder.feedback import feedback
from autograder.grades import grade_rows, grades
from autograder.pipeline.submission import new_result


def _course_with_results(tmp_path: Path) -> Course:
    course = copy_course(tmp_path)
    for student, output in (("ada", {"output_type": "stream", "name": "stdout", "text": "PASS\n"}),
                            ("bob", {"output_type": "stream", "name": "stdout"})):
        task = {"course": str(course.root), "assignment": AID, "student": student, "hash": student}
        result = new_result(task)
        result["scores"]["test_affine"] = 2.0
        folder = course.root / "autograded" / student / AID
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps(result))
        cell = {"cell_type": "code", "id": "c1", "metadata": {}, "source": "print('PASS')",
                "execution_count": 1, "outputs": [output]}
        (folder / f"{AID}.ipynb").write_text(json.dumps(
            {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}))
    return course


def test_feedback_writes_every_report_it_can_and_lists_the_rest(tmp_path):
    course = _course_with_results(tmp_path)
    blocked = course.root / "feedback" / "ada" / AID / f"{AID}.html"
    blocked.mkdir(parents=True)  # ada's page cannot be written: a folder is in its place
    failed, logged = [], []
    paths = feedback(course, [AID], log=logged.append, failed=failed)
    assert paths == [course.root / "feedback" / "bob" / AID / f"{AID}.html"]
    page = paths[0].read_text()
    assert "Autograded score: 2 / 3" in page and "broke the notebook format" in page
    assert len(failed) == 1 and failed[0].startswith(f"ada {AID}: IsADirectoryError"), failed
    assert "could not write 1 report(s):" in logged and f"  {failed[0]}" in logged


def test_grades_writes_every_file_it_can_and_lists_the_rest(tmp_path):
    course = _course_with_results(tmp_path)
    out = tmp_path / "g.csv"
    (tmp_path / "g_by_student.csv").mkdir()      # the second file cannot be written
    failed, logged = [], []
    grades(course, [AID], out=out, log=logged.append, failed=failed)
    lines = out.read_text().splitlines()
    assert [line.split(",")[:3] for line in lines[1:]] == [["ada", AID, "2.0"], ["bob", AID, "2.0"]]
    assert len(failed) == 1 and failed[0].startswith(f"{tmp_path / 'g_by_student.csv'}: not written")
    assert f"  {failed[0]}" in logged


def test_grades_say_which_failures_are_not_the_students_doing(tmp_path):
    course = _course_with_results(tmp_path)
    path = course.root / "autograded" / "bob" / AID / "result.json"
    result = json.loads(path.read_text())
    path.write_text(json.dumps({**result, "status": "failed", "infrastructure": True,
                                "reason": "the grading worker process died while grading this submission"}))
    header, rows = grade_rows(course, [AID])
    reasons = {r["student"]: (r["status"], r["reason"]) for r in rows}
    assert reasons["ada"] == ("graded", "")
    assert reasons["bob"] == ("failed", "the grading worker process died while grading this submission"
                                        " [not the student's doing: the next make autograde grades it again]")
