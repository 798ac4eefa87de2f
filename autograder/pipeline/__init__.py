"""The grading pipeline behind `python -m autograder autograde` (autograde.py runs the batch).

`collect` finds submissions (`submitted/` folders and hand-in zips); `submission` grades one
(`grade_submission`: the nbgrader run for feedback, then the verification for the scores);
`nbgrader_run` is the real `nbgrader autograde` step in a private course; `gradebook` merges
each result into nbgrader's gradebook and `autograded/<student>/<id>/result.json`.
"""
