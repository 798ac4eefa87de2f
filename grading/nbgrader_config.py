# nbgrader course configuration: course_directory = this folder (grading/).
#   source/<id>/<id>.ipynb   source notebooks (solutions, hidden tests, points)
#   release/, submitted/, autograded/, feedback/, gradebook.db   nbgrader's standard folders
#   verify/<id>.py           out-of-kernel verification specs (not an assignment folder; never released)
# `python -m autograder ...` (the Makefile's release/autograde/feedback/grades targets)
# loads this file and adds its own settings (sandboxed kernel, private gradebooks per worker).
import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "cs231n-numpy"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "verify", "*.npz", "*.zip"]
c.CourseDirectory.include = ["*.ipynb"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"

# Student notebooks carry no outputs; the released notebook must not either.
c.ClearOutput.enabled = True

# Autograding (the kernel also runs in a bubblewrap sandbox, see docs/grading.md):
# a cell that runs longer than this is interrupted and the notebook goes on.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40
