"""Where things live in the nbgrader course (grading/) and in the repository."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cs231n_lib.grader.sandbox import REPO_DIR

ID_RE = re.compile(r"^[0-9]{2}_[a-z0-9_]+$")


@dataclass(frozen=True)
class Course:
    """The course folder (grading/) and the released-notebooks folder (assignments/)."""

    root: Path = REPO_DIR / "grading"
    assignments_dir: Path = REPO_DIR / "assignments"

    def source_notebook(self, assignment: str) -> Path:
        return self.root / "source" / assignment / f"{assignment}.ipynb"

    def spec(self, assignment: str) -> Path:
        return self.root / "verify" / f"{assignment}.py"

    def released(self, assignment: str) -> Path:
        return self.assignments_dir / f"{assignment}.ipynb"

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
