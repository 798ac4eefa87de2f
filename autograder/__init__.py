"""Autograder for the course: nbgrader course tools, sandboxed out-of-kernel verification.

The command line is `python -m autograder <command>` (see `__main__.py`);
notebook authors import `Check`, `allclose` and `equal` from `autograder.verify`.
"""
