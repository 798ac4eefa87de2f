"""`workspace` (student side): work/<id>.ipynb, each student's own copy of assignments/<id>.ipynb.

work/ is git-ignored, so `git pull` of course updates never conflicts with a student's edits,
and nothing here ever overwrites a file in it: a copy is made once, when it is missing. When
the course's notebook changes after that, the copy is kept and one line says what to do.

The Chinese edition (`make lab LANG=zh`) lives beside the English one: work/zh/<id>.ipynb,
copied from assignments/zh/<id>.ipynb. A notebook without a Chinese edition yet gets its
English copy in work/, and the student is told so.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from autograder.course import ID_RE, Course
from autograder.i18n.edition import ZH, normalise_lang
from autograder.i18n.messages import _
from autograder.notebook import read_notebook
from autograder.release import KERNELSPEC, RELEASE_KEY
from cs231n_lib.i18n import use


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


def seed(course: Course, lang: str = "en", log=print) -> list[Path]:
    """Copy every released notebook missing from work/ (from assignments/zh/ into work/zh/ for
    lang "zh"); report copies the course has updated.

    Returns: the student's notebooks of every released assignment, in the edition asked for
    where there is one.
    """
    lang = normalise_lang(lang)
    released = sorted(p.stem for p in course.assignments_dir.glob("*.ipynb") if ID_RE.match(p.stem))
    out, copied, english_only = [], [], []
    with use(lang):
        for aid in released:
            edition = lang if course.released(aid, lang).exists() else "en"
            if edition != lang:
                english_only.append(aid)
            src, own = course.released(aid, edition), course.own_copy(aid, edition)
            if not own.exists():
                own.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, own)
                _with_local_kernel(own)
                copied.append(own)
            elif _release_of(own) not in (None, _release_of(src)):
                log(_("{src} was updated by the course after you started {own}; your copy is kept. "
                      "To start again from the new version, rename yours and run make lab again."
                      ).format(src=src, own=own))
            out.append(own)
        if copied:
            folders = sorted({str(p.parent) for p in copied})
            log(_("Copied {names} into {folder}/: work there (course updates never touch it)."
                  ).format(names=", ".join(p.stem for p in copied), folder=", ".join(folders)))
        if english_only and lang == ZH:
            log(_("{names}: no Chinese edition yet, so the English one is in {folder}/."
                  ).format(names=", ".join(english_only), folder=course.work_dir))
    return out
