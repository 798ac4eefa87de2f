"""The grading pipeline behind `python -m autograder autograde` (autograde.py runs the batch).

`collect` finds submissions (`submitted/` folders and hand-in zips); `submission` does one task
of one (`grade_submission`: its scores by the verification, or its notebook run for feedback);
`nbgrader_run` is the real `nbgrader autograde` step in a private course; `gradebook` merges
each result into nbgrader's gradebook and `autograded/<student>/<id>/result.json`.
"""
