"""Where things live in the nbgrader course (grading/) and the released notebooks (assignments/).

The course folder is `--course`, else $AUTOGRADER_COURSE, else `grading/` of the checkout
the command runs in (the current folder or the nearest parent holding `grading/source/`).
It never depends on where the autograder package is installed, so a copy of the course
anywhere on disk is graded the same way.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ID_RE = re.compile(r"^[0-9]{2}_[a-z0-9_]+$")


def checkout_dir(start: Path | None = None) -> Path:
    """The checkout a command runs in: the nearest folder from `start` (default: the current
    folder) upwards that holds grading/source/; the current folder when none does."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "grading" / "source").is_dir():
            return folder
    return start


def default_course_root() -> Path:
    """$AUTOGRADER_COURSE when set, else grading/ of the current checkout."""
    env = os.environ.get("AUTOGRADER_COURSE")
    return Path(env).resolve() if env else checkout_dir() / "grading"


def default_assignments_dir() -> Path:
    """$AUTOGRADER_ASSIGNMENTS when set, else assignments/ of the current checkout."""
    env = os.environ.get("AUTOGRADER_ASSIGNMENTS")
    return Path(env).resolve() if env else checkout_dir() / "assignments"


@dataclass(frozen=True)
class Course:
    """The course folder (grading/) and the released-notebooks folder (assignments/)."""

    root: Path = field(default_factory=default_course_root)
    assignments_dir: Path = field(default_factory=default_assignments_dir)

    def source_notebook(self, assignment: str) -> Path:
        return self.root / "source" / assignment / f"{assignment}.ipynb"

    def spec(self, assignment: str) -> Path:
        return self.root / "verify" / f"{assignment}.py"

    def released(self, assignment: str, lang: str = "en") -> Path:
        """assignments/<id>.ipynb, or assignments/zh/<id>.ipynb for the Chinese edition (lang "zh-CN")."""
        return self.edition_dir(self.assignments_dir, lang) / f"{assignment}.ipynb"

    @property
    def work_dir(self) -> Path:
        """work/ beside assignments/: the students' own copies (git-ignored, never overwritten)."""
        return self.assignments_dir.parent / "work"

    def own_copy(self, assignment: str, lang: str = "en") -> Path:
        """work/<id>.ipynb, or work/zh/<id>.ipynb for the Chinese edition."""
        return self.edition_dir(self.work_dir, lang) / f"{assignment}.ipynb"

    @staticmethod
    def edition_dir(folder: Path, lang: str) -> Path:
        """`folder` for English, `folder`/zh for Chinese (both editions live side by side)."""
        return folder / "zh" if lang.lower().startswith("zh") else folder

    def student_notebook(self, assignment: str) -> Path:
        """The notebook a student works in: work/<id>.ipynb, else assignments/<id>.ipynb
        (English; `autograder.submit.chosen_notebook` picks between the two editions)."""
        own = self.own_copy(assignment)
        return own if own.exists() else self.released(assignment)

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.gradebook}"

    def assignment_ids(self) -> list[str]:
        """The assignments present in source/ (folders holding <id>/<id>.ipynb), sorted."""
        base = self.root / "source"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir()
                      if p.is_dir() and ID_RE.match(p.name) and (p / f"{p.name}.ipynb").exists())

    def select(self, assignment: str | None) -> list[str]:
        """The assignment ids to work on: one (checked to exist) or all."""
        ids = self.assignment_ids()
        if assignment:
            if assignment not in ids:
                raise ValueError(f"--assignment {assignment!r}: no {self.source_notebook(assignment)} "
                                 f"(known: {', '.join(ids) or 'none'})")
            return [assignment]
        return ids


def list_problems(problems: list[str], heading: str, log, failed: list[str] | None) -> None:
    """Log what a command could not do, under `heading`, and add it to `failed` when a list.

    For the commands that go on past a failure (feedback, grades) and list them at the end.
    """
    if problems:
        log(heading)
        for line in problems:
            log(f"  {line}")
    if failed is not None:
        failed.extend(problems)


def ensure_venv_on_path() -> None:
    """Put this interpreter's bin/ first on PATH (nbgrader runs `alembic` from PATH for new gradebooks)."""
    bindir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[0] != bindir:
        os.environ["PATH"] = os.pathsep.join([bindir, *parts])


def nbgrader_config(course: Course, db_url: str | None = None):
    """The course's nbgrader Config (its nbgrader_config.py when present), rooted at course.root.

    Inputs: course; db_url, a gradebook other than the course's (a worker's private copy).
    Returns: a traitlets Config.
    """
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    ensure_venv_on_path()
    path = course.root / "nbgrader_config.py"
    config = Config()
    if path.exists():
        config.merge(PyFileConfigLoader(path.name, path=str(path.parent)).load_config())
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.db_url = db_url or course.db_url
    return config
