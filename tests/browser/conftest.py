"""Fixtures of the browser tests: Debian's chromium driven by playwright, the student's
JupyterLab as `make lab` starts it, and a folder for the screenshots they keep (the shared
pieces are in labhelpers.py).

Playwright cannot download its own browser here: it launches /usr/bin/chromium (installed by
`make test` through scripts/ensure_chromium.sh). Without it the tests skip, saying why.
Screenshots go to test-artifacts/browser/ (git-ignored), never into git.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from labhelpers import ARGS, CHROMIUM, REPO, Lab


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/browser/: the screenshots and pages the browser tests keep."""
    folder = REPO / "test-artifacts" / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser():
    """A headless chromium (Debian's) driven by playwright."""
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed at /usr/bin/chromium (make chromium installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (it is in the project's test extra: make setup)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def student_lab(tmp_path_factory):
    """JupyterLab as `make lab` starts it: work/ seeded from a copy of assignments/01_knn.ipynb
    by `python -m autograder workspace`, the student Jupyter config."""
    from autograder.course import Course
    from autograder.workspace import seed

    tmp = tmp_path_factory.mktemp("lab")
    (tmp / "assignments").mkdir()
    shutil.copyfile(REPO / "assignments" / "01_knn.ipynb", tmp / "assignments" / "01_knn.ipynb")
    seed(Course(root=REPO / "grading", assignments_dir=tmp / "assignments"), log=lambda *_: None)
    lab = Lab(tmp / "work", REPO / "jupyter" / "student", tmp / "server.log")
    yield lab
    lab.stop()
