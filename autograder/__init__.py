"""Autograder for the course: nbgrader course tools, sandboxed out-of-kernel verification.

The command line is `python -m autograder <command>` (see `__main__.py`). One module per
command at the top: `release`, `autograde`, `feedback` (with `feedback_html`), `grades`,
`submit`, `selfcheck`, `demo`, `workspace`; beside them `course` (where the course's
files are) and `notebook` (reading nbgrader cells), which every part uses. The parts:
`pipeline/` (grading submissions into the gradebook), `verify/` (the verification
engine and the spec API notebook authors import: `autograder.verify.spec`) and
`sandbox/` (isolation and limits). docs/grading.md has the table of every file.
"""
