"""Fixtures of the browser tests: Debian's chromium driven by playwright, a JupyterLab server
started the way `make lab` starts it, and a folder for the screenshots they keep.

Playwright cannot download its own browser here: it launches /usr/bin/chromium (installed by
`make test` through scripts/ensure_chromium.sh). Without it the tests skip, saying why.
Screenshots go to test-artifacts/browser/ (git-ignored), never into git.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab: its URL, token, notebook folder and server log."""

    def __init__(self, folder: Path, config_dir: Path, log: Path):
        self.folder, self.token, self.port, self.log = folder, secrets.token_hex(16), _free_port(), log
        tmp = folder.parent
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir),
               "JUPYTERLAB_SETTINGS_DIR": str(tmp / "lab-settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "lab-workspaces"),
               "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "MPLBACKEND": ""}
        env.pop("MPLBACKEND")  # the students' kernel plots inline, as under `make lab`
        cmd = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
               f"--port={self.port}", "--ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
               "--LabApp.expose_app_in_browser=True", f"--notebook-dir={folder}"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log_file = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(cmd, cwd=folder, env=env, stdout=self._log_file,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(self.url("api/status"), timeout=2)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"jupyter lab did not start:\n{log.read_text()[-2000:]}") from None
                time.sleep(0.5)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


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
