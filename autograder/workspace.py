"""`workspace` (student side): work/<id>.ipynb, each student's own copy of assignments/<id>.ipynb.

work/ is git-ignored, so `git pull` of course updates never conflicts with a student's edits,
and nothing here ever overwrites a file in it: a copy is made once, when it is missing. When
the course's notebook changes after that, the copy is kept and one line says what to do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from autograder.course import ID_RE, Course
from autograder.notebook import read_notebook
from autograder.release import KERNELSPEC, RELEASE_KEY


def _release_of(path: Path) -> str | None:
    """The content hash recorded when the notebook at `path` was released (None if unknown)."""
    try:
        return read_notebook(path).metadata.get(RELEASE_KEY, {}).get("release")
    except Exception:
        return None


def _with_local_kernel(path: Path) -> None:
    """Give a fresh copy the kernel metadata JupyterLab writes on opening it with this Python's
    ipykernel, so that the notebook is not marked modified as soon as it opens."""
    try:
        from ipykernel.ipkernel import IPythonKernel
    except ImportError:
        return
    nb = read_notebook(path)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = dict(IPythonKernel.language_info)
    nbformat.write(nb, str(path))


def seed(course: Course, log=print) -> list[Path]:
    """Copy every assignments/<id>.ipynb missing from work/; report copies the course has updated.

    Returns: the notebooks in work/ for the released assignments.
    """
    work = course.work_dir
    work.mkdir(parents=True, exist_ok=True)
    released = sorted(p for p in course.assignments_dir.glob("*.ipynb") if ID_RE.match(p.stem))
    out, copied = [], []
    for src in released:
        own = work / src.name
        if not own.exists():
            shutil.copyfile(src, own)
            _with_local_kernel(own)
            copied.append(src.stem)
        elif _release_of(own) not in (None, _release_of(src)):
            log(f"{src} was updated by the course after you started {own}; your copy is kept. "
                f"To start again from the new version, rename yours and run make lab again.")
        out.append(own)
    if copied:
        log(f"Copied {', '.join(copied)} into {work}/: work there (course updates never touch it).")
    return out
