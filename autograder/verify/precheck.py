"""What the grader will say, before hand-in: `make submit` runs the verification on the notebook.

The checks, the whitelist rule and the cases are the grader's own (grading/verify/<id>.py), so
`make submit` warns about exactly the checks that would score 0, with the grader's message.
"""

from __future__ import annotations

from autograder.course import Course
from autograder.sandbox.bwrap import Sandbox, bwrap_status
from autograder.verify.runner import run_verification
from autograder.verify.spec import load_spec


def grader_findings(course: Course, assignment: str, nb) -> dict[str, str] | None:
    """{grade_id: the grader's message} for each check the notebook would fail (empty: none).

    Inputs: course; assignment id; nb, the student's notebook node. Runs sandboxed when
    bubblewrap works here, else as a plain process (it is the student's own code, on their own
    machine). Returns None when this checkout has no spec or source notebook for the assignment.
    """
    spec, source = course.spec(assignment), course.source_notebook(assignment)
    if not spec.exists() or not source.exists():
        return None
    sandbox = Sandbox(enabled=bwrap_status() is None)
    result = run_verification(assignment, source, nb, load_spec(spec), sandbox=sandbox)
    return {gid: r.message for gid, r in result.results.items() if not r.passed}
