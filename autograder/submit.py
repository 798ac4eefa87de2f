"""`submit` (student side): validate the student's notebook and zip it as submissions/<student>_<id>.zip.

The notebook is work/<id>.ipynb or, for the Chinese edition, work/zh/<id>.ipynb (`chosen_notebook`);
what `submit` says is in the notebook's language, and so is what its checks print (the kernel that
runs it gets $CS231N_LANG, see cs231n_lib.i18n).
"""

from __future__ import annotations

import getpass
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from autograder.course import Course, ensure_venv_on_path
from autograder.i18n.edition import EN_STUB, ZH_STUB, is_unanswered, language, normalise_lang
from autograder.i18n.execute import VALIDATOR_PREPROCESSORS
from autograder.i18n.messages import _
from autograder.notebook import read_notebook
from autograder.release import edited_since_release
from autograder.verify.precheck import grader_findings
from cs231n_lib.atomic import atomic_path
from cs231n_lib.i18n import Messages, use

_LIB = Messages("cs231n_lib")  # the checks' own markers (FAIL, NOT DONE), in either language

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def student_name(given: str | None = None) -> str:
    """The student id: STUDENT=, else git config user.name, else $USER; sanitised to [a-z0-9_.-]."""
    name = given
    if not name:
        try:
            name = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            name = ""
    if not name:
        name = os.environ.get("USER") or getpass.getuser()
    clean = re.sub(r"[^a-z0-9_.-]+", "_", name.strip().lower()).strip("_.-")[:64]
    if not clean:
        raise ValueError(f"STUDENT={given!r}: no usable student name (letters, digits, _ . -)")
    return clean


def unanswered(nb) -> list[str]:
    """grade_ids of written questions still reading the answer stub (of either edition)."""
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if is_unanswered(c)]


def chosen_notebook(course: Course, assignment: str, lang: str | None = None, log=print) -> Path:
    """The notebook the student worked on: work/<id>.ipynb or work/zh/<id>.ipynb.

    With `lang` ("en" or "zh"), that edition's copy. Otherwise the one copy in work/; when both
    editions have one, the one edited since its release (the more recently saved if both were),
    and one line names the other. With no copy in work/, assignments/<id>.ipynb (as released).
    Raises ValueError when the edition asked for has no notebook.
    """
    if lang:
        lang = normalise_lang(lang)
        path = course.own_copy(assignment, lang)
        if not path.exists():
            released = course.released(assignment, lang)
            if not released.exists():
                raise ValueError(f"ASSIGNMENT={assignment}: no notebook {path} (run make lab"
                                 f"{' LANG=zh' if lang != 'en' else ''} first)")
            path = released
        return path
    copies = [p for p in (course.own_copy(assignment, "en"), course.own_copy(assignment, "zh")) if p.exists()]
    if len(copies) == 2:
        edited = [p for p in copies if edited_since_release(p)] or copies
        path = max(edited, key=lambda p: p.stat().st_mtime)
        other = copies[1 - copies.index(path)]
        log(_("You have both editions: handing in {path} (the one you saved last); "
              "for the other, run make submit ASSIGNMENT={aid} LANG={lang}."
              ).format(path=path, aid=assignment, lang="zh" if "zh" in other.parent.name else "en"))
        return path
    if copies:
        return copies[0]
    return course.student_notebook(assignment)


def headline(error: str) -> str:
    """The line that names a failing cell's problem: a check's FAIL line, an exercise's NOT DONE
    line, else the error's last line."""
    lines = [line.strip() for line in _ANSI_RE.sub("", error).strip().splitlines() if line.strip()]
    markers = tuple(f"{m} " for m in _LIB.every("FAIL") + _LIB.every("NOT DONE"))
    for line in lines:
        if line.startswith(markers):
            return line
    last = lines[-1] if lines else ""
    if last.rstrip(":") == "NotImplementedError":
        return _("NotImplementedError (an exercise it uses is not done yet)")
    return last


def progress_hook(total: int, log=print, every: float = 10.0):
    """An nbclient on_cell_complete hook telling the student how far the run has got.

    On a terminal one line is rewritten in place; otherwise a line is logged every `every` s.
    """
    start = time.monotonic()
    last = [0.0]
    tty = sys.stdout.isatty()

    def hook(cell=None, cell_index=0, **_kwargs):
        seconds = time.monotonic() - start
        text = _("  running your notebook: cell {cell} of {total}, {seconds:.0f} s").format(
            cell=cell_index + 1, total=total, seconds=seconds)
        if tty:
            print("\r" + text, end="", flush=True)
        elif seconds - last[0] >= every:
            last[0] = seconds
            log(text)

    return hook


def submit(course: Course, assignment: str, student: str | None = None, out_dir: Path | None = None,
           validate: bool = True, log=print, lang: str | None = None) -> Path:
    """Validate the student's notebook, warn about what fails or is missing, write the zip. Returns its path.

    lang: the edition to hand in ("en" or "zh"; default: chosen_notebook's choice).
    """
    path = chosen_notebook(course, assignment, lang, log=log)
    if not path.exists():
        raise ValueError(f"ASSIGNMENT={assignment}: no notebook {path}")
    nb = read_notebook(path)
    with use(language(nb)):
        return _submit(course, assignment, path, nb, student_name(student), out_dir, validate, log)


def _submit(course: Course, assignment: str, path: Path, nb, name: str, out_dir: Path | None,
            validate: bool, log) -> Path:
    """submit's work on the chosen notebook, in its language: the check, then always the zip."""
    log(_("Checking {path}").format(path=path))
    if validate:
        try:
            _validate(course, assignment, path, nb, log)
        except Exception as exc:  # a busy machine, a dying kernel: warn, and hand in all the same
            if sys.stdout.isatty():
                print()
            reason = " ".join(f"{type(exc).__name__}: {_ANSI_RE.sub('', str(exc))}".split())
            log(_("WARNING: the check of your notebook could not finish ({reason}); "
                  "it is handed in as it is, and the grader runs it on its own.").format(reason=reason[:160]))
    for gid in unanswered(nb):
        log(_("WARNING: written question {gid} is unanswered (still reads YOUR ANSWER HERE)").format(gid=gid))
    out_dir = out_dir or course.assignments_dir.parent / "submissions"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}_{assignment}.zip"
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(path, arcname=f"{assignment}.ipynb")
    log(_("Wrote {target}: hand this file in.").format(target=target))
    return target


def _validate(course: Course, assignment: str, path: Path, nb, log) -> None:
    """Run the notebook as nbgrader's Validator does and log one line per problem the grader would see.

    Raises whatever the run raises (a cell or IOPub timeout, a dead kernel): submit warns and zips.
    """
    from nbgrader.validator import Validator
    from traitlets.config import Config

    ensure_venv_on_path()
    # The kernel nbgrader starts to run the notebook talks to it over local TCP, and
    # recent ipykernels warn about that on the terminal; to a student that reads like
    # something is wrong with their work. Only errors from that kernel are shown.
    log(_("Running your notebook top to bottom, as the grader will (up to two minutes)..."))
    hook = progress_hook(len(nb.cells), log=log)
    # nbgrader raises on an IOPub timeout, 4 s by default: too short for a busy machine.
    quiet = Config({"Execute": {"extra_arguments": ["--IPKernelApp.log_level=ERROR"],
                                "on_cell_complete": hook, "iopub_timeout": 60}})
    validator = Validator(config=quiet)
    # The kernel prints its checks in the notebook's language (cs231n_lib.i18n).
    validator.preprocessors = VALIDATOR_PREPROCESSORS
    validator.ignore_checksums = False
    results = validator.validate(str(path))
    if sys.stdout.isatty():
        print()
    for cell in results.get("type_changed", []):
        log(_("WARNING: a graded cell changed type ({old} -> {new}): "
              "restore it from the released notebook").format(old=cell["old_type"], new=cell["new_type"]))
    for cell in results.get("changed", []):
        log(_("WARNING: a locked test cell was edited; it will be replaced when grading:\n  {source}"
              ).format(source=cell["source"][:100]))
    # Unanswered written questions also come back as failures; they are reported once, below.
    failed = [c for c in results.get("failed", [])
              if c["source"].strip() not in (EN_STUB, ZH_STUB)]
    # Test cells often start alike: name each by its grade_id, found by its source
    # (which nbgrader hands back without trailing whitespace).
    grade_ids = {c.source.strip(): c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    # The grader's own checks decide what is reported as failing (a public check that fails
    # where the grader's pass is not reported; a rule broken is, with the grader's message).
    findings = grader_findings(course, assignment, nb)
    for gid, message in (findings or {}).items():
        log(_("WARNING: the grader would score {gid} 0: {message}").format(gid=gid, message=message))
    reported = 0
    for cell in failed:
        first = cell["source"].splitlines()[0] if cell["source"] else ""
        gid = grade_ids.get(cell["source"].strip())
        if findings is not None and gid is not None and gid not in findings:
            continue
        reported += 1
        named = (_("{gid} (starting {first!r})").format(gid=gid, first=first[:60]) if gid
                 else _("starting {first!r}").format(first=first[:70]))
        error = cell.get("raw_error") or cell.get("error") or ""
        log(_("WARNING: failing test cell {named}: {headline}").format(
            named=named, headline=headline(error)[:200]))
    if not reported and not findings and not results.get("changed") and not results.get("type_changed"):
        log(_("All public tests pass."))
