"""The gradebook on a fresh course, which results a rerun skips, and temporary folders.

The fixture course is copied without a gradebook, as a fresh clone has it before any release.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from graderhelpers import AID, copy_course

from autograder.pipeline.gradebook import ensure_assignment, is_done, result_path


def test_a_fresh_course_gets_its_gradebook_without_the_venv_on_path(tmp_path, monkeypatch):
    # `make autograde` before any `make release`: nbgrader creates gradebook.db with `alembic`,
    # which is only in the venv's bin/, not on a plain PATH
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert shutil.which("alembic") is None
    course = copy_course(tmp_path)
    assert not course.gradebook.exists()
    ensure_assignment(course, AID)
    assert course.gradebook.exists()


def test_a_rerun_skips_only_genuine_results_of_unchanged_content(course, tmp_path):
    path = result_path(course, "ada", AID)
    path.parent.mkdir(parents=True)
    assert not is_done(course, "h1", "ada", AID)
    for infrastructure, same_hash, skipped in ((False, True, True), (False, False, False),
                                               (True, True, False), (True, False, False)):
        path.write_text(json.dumps({"hash": "h1" if same_hash else "h0", "status": "failed",
                                    "infrastructure": infrastructure}))
        assert is_done(course, "h1", "ada", AID) is skipped, (infrastructure, same_hash)


TEMPLATE_IN_A_POOL = """
import multiprocessing, sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from autograder.course import Course
from autograder.pipeline.submission import _template_gradebook

def make(root):
    return str(_template_gradebook(Course(root=Path(root)), "00_fixture", "x"))

if __name__ == "__main__":
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
        print(pool.submit(make, sys.argv[1]).result())
    print(make(sys.argv[1]))
"""


def test_template_gradebooks_are_removed_when_their_process_ends(tmp_path):
    # one made in a pool's worker process (which never runs atexit), one in the main process
    course = copy_course(tmp_path)
    script = tmp_path / "template.py"
    script.write_text(TEMPLATE_IN_A_POOL)
    proc = subprocess.run([sys.executable, str(script), str(course.root)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    made = [Path(line) for line in proc.stdout.split()]
    assert len(made) == 2 and all(p.name == "gradebook.db" and "cs231n-template-" in str(p) for p in made)
    assert [p.parent.parent for p in made if p.parent.parent.exists()] == []


def test_an_instructors_override_counts_for_its_content_only(tmp_path):
    # The formgrader saves a changed autograded score as the grade's manual_score.
    from autograder.grades import grade_rows
    from autograder.pipeline.gradebook import merge, open_gradebook

    course = copy_course(tmp_path)
    ensure_assignment(course, AID)

    def result(content):
        return {"student": "ada", "assignment": AID, "hash": content, "status": "graded", "reason": "",
                "scores": {"test_affine": 2.0, "test_count": 1.0},
                "max_scores": {"test_affine": 2, "test_count": 1}, "manual_max": {"q_reshape": 1},
                "checks": {}, "notes": []}

    def override(points):
        with open_gradebook(course) as gb:
            nb = gb.find_submission_notebook(AID, AID, "ada")
            next(g for g in nb.grades if g.name == "test_affine").manual_score = points
            gb.db.commit()

    merge(course, result("h1"))
    override(0.5)
    assert grade_rows(course, [AID])[1][0]["autograded_score"] == 1.5
    merge(course, result("h1"))  # the same content graded again (FORCE=1): the override stays
    row = grade_rows(course, [AID])[1][0]
    assert row["autograded_score"] == 1.5 and row["overrides"] == "test_affine: 2 -> 0.5"
    merge(course, result("h2"))  # new work: the verification's points again
    row = grade_rows(course, [AID])[1][0]
    assert row["autograded_score"] == 3 and row["overrides"] == ""
