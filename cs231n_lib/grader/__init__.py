"""Autograder for the course: nbgrader course tools, sandboxed out-of-kernel verification.

The command line is `python -m cs231n_lib.grader <command>` (see `__main__.py`);
notebook authors import `Check`, `allclose` and `equal` from `cs231n_lib.grader.verify`.
"""
