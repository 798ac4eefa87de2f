"""The instructor self-check's batch (tests/grader/test_course.py::test_instructor_selfcheck),
run in the background from the start of the test session.

The batch copies grading/ outside the repository and drives the command line from a folder
outside the repository: release, then autograde a complete and a blank student of every
notebook (every English source notebook and every Chinese release executes top to bottom),
then score a Chinese complete student (--scores-only). That is about five minutes of
subprocesses on two cores, which need nothing from the rest of the suite; the pytest process
mostly keeps one core busy, so tests/conftest.py starts this batch with the session (when the
self-check is selected) and runs the test last, where it waits for the batch and checks it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import nbformat

from autograder.course import Course
from autograder.demo import simulated_students
from autograder.i18n.edition import ZH
from autograder.i18n.glossary import glossary_dir
from autograder.i18n.report import translated_ids
from autograder.notebook import read_notebook
from autograder.sandbox.bwrap import bwrap_status

CLI_TIMEOUT = 3600  # seconds for one command of the batch


class SelfcheckBatch:
    """The batch in `folder` (elsewhere/grading, elsewhere/assignments, somewhere/), run by a
    thread: `start()`, then `wait()` for the graded course (re-raises what went wrong);
    `stop()` ends a command still running (a session that ends early)."""

    def __init__(self, folder: Path, repo_course: Course | None = None):
        self.repo_course = repo_course or Course()
        self.ids = self.repo_course.assignment_ids()
        self.course = Course(root=folder / "elsewhere" / "grading", assignments_dir=folder / "elsewhere" / "assignments")
        self.cwd = folder / "somewhere"
        # The environment as the session starts: tests that run meanwhile may monkeypatch
        # os.environ (CIFAR10_DIR, LANG, ...), and the commands must not see that.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}
        self.chinese: list[str] = []
        self.error: BaseException | None = None
        self._proc: subprocess.Popen | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="selfcheck-batch", daemon=True)

    def start(self) -> SelfcheckBatch:
        self._thread.start()
        return self

    def wait(self) -> Course:
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.course

    def stop(self) -> None:
        self._stopped = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the command and the kernels it started
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            if self.ids:
                self._steps()
        except BaseException as exc:  # handed to the test by wait()
            self.error = exc

    def _steps(self) -> None:
        repo, course = self.repo_course, self.course
        (course.root / "verify").mkdir(parents=True)
        shutil.copy(repo.root / "nbgrader_config.py", course.root / "nbgrader_config.py")
        shutil.copytree(glossary_dir(repo.root), glossary_dir(course.root))
        for aid in self.ids:
            shutil.copytree(repo.source_notebook(aid).parent, course.source_notebook(aid).parent)
            shutil.copy(repo.spec(aid), course.spec(aid))
        self.cwd.mkdir(parents=True)
        self._cli("release", "--course", str(course.root))
        self.chinese = [aid for aid in self.ids if aid in translated_ids(glossary_dir(course.root))]
        zh_students = {}
        for aid in self.ids:
            source = read_notebook(course.source_notebook(aid))
            students = simulated_students(source, read_notebook(course.released(aid)))
            if aid in self.chinese:
                zh_students[aid] = simulated_students(source, read_notebook(course.released(aid, ZH)))
                students["blank"] = zh_students[aid]["blank"]
            for name in ("complete", "blank"):
                self._write(students[name], name, aid)
        sandbox = ["--unsandboxed"] if bwrap_status() is not None else []
        self._cli("autograde", "--course", str(course.root), "--workers", "2", "--cell-timeout", "300",
                  "--submission-timeout", "1800", *sandbox)
        for aid in self.chinese:
            self._write(zh_students[aid]["complete"], "complete_zh", aid)
        self._cli("autograde", "--course", str(course.root), "--workers", "2", "--scores-only",
                  "--student", "complete_zh", *sandbox)

    def _write(self, nb, student: str, aid: str) -> None:
        path = self.course.root / "submitted" / student / aid / f"{aid}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))

    def _cli(self, *args: str) -> None:
        """Run `python -m autograder ARGS` in the batch's cwd with the session's starting
        environment (no course variables inherited); fail on a non-zero exit."""
        if self._stopped:
            raise RuntimeError("the self-check batch was stopped")
        self._proc = subprocess.Popen([sys.executable, "-m", "autograder", *args], cwd=self.cwd, env=self.env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      start_new_session=True)
        try:
            out, err = self._proc.communicate(timeout=CLI_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, signal.SIGKILL)
            out, err = self._proc.communicate()
        assert self._proc.returncode == 0, (args, out[-3000:], err[-3000:])
