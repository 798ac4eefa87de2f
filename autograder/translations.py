"""`translations` (translators and authors): the Chinese text of the source notebooks.

    python -m autograder translations [check] [--assignment 01_knn]     report what is missing or wrong
    python -m autograder translations get  --assignment 01_knn --cell ID    print a cell's Chinese
    python -m autograder translations set  --assignment 01_knn --cell ID --file zh.md   (- = stdin)
    python -m autograder translations stamp --assignment 01_knn --cell ID  its English changed, the Chinese still fits
    python -m autograder translations side-by-side --assignment 01_knn [--out review.md]
    python -m autograder translations preview --assignment 01_knn [--out DIR]   the Chinese edition, as HTML

The format is described in docs/translating.md and autograder/i18n/source.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from autograder.course import Course
from autograder.i18n import source as zh
from autograder.i18n.glossary import glossary_dir, load_glossary
from autograder.i18n.report import counts, notebook_findings, side_by_side
from autograder.notebook import read_notebook
from cs231n_lib.atomic import atomic_path

ACTIONS = ("check", "get", "set", "stamp", "side-by-side", "preview")


def write_source(path: Path, nb) -> None:
    """Write a source notebook back (nbformat's own layout, which the repository's files use)."""
    nbformat.validate(nb)
    with atomic_path(Path(path)) as tmp:
        nbformat.write(nb, str(tmp))


def check(course: Course, ids: list[str], log=print) -> int:
    """Print each notebook's state and findings. Returns the number of findings."""
    glossary = load_glossary(glossary_dir(course.root))
    total = 0
    for aid in ids:
        path = course.source_notebook(aid)
        nb = read_notebook(path)
        c = counts(nb)
        findings = notebook_findings(nb, aid, glossary, path=path)
        log(f"{aid}: {sum(c.values())} cells to translate: {c[zh.OK]} ok, {c[zh.MISSING]} missing, "
            f"{c[zh.STALE]} stale; {len(findings)} finding(s)")
        for f in findings:
            log(f"  {f.cell_id}  {f.kind}: {f.message}")
        total += len(findings)
    return total


def _read_text(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    path = Path(file)
    if not path.is_file():
        raise ValueError(f"--file {file}: no such file")
    return path.read_text(encoding="utf-8")


def run(course: Course, action: str, assignment: str | None, cell_id: str | None = None,
        file: str | None = None, out: str | None = None, log=print) -> int:
    """One `translations` action. Returns the exit code (check: 1 when there are findings)."""
    if action not in ACTIONS:
        raise ValueError(f"action {action!r}: expected one of {', '.join(ACTIONS)}")
    if action == "check":
        return 1 if check(course, course.select(assignment), log=log) else 0
    if not assignment:
        raise ValueError(f"translations {action} needs --assignment (e.g. --assignment 01_knn)")
    aid = course.select(assignment)[0]
    path = course.source_notebook(aid)
    nb = read_notebook(path)
    if action == "side-by-side":
        text = side_by_side(nb, aid)
        if out:
            Path(out).write_text(text, encoding="utf-8")
            log(f"wrote {out}")
        else:
            sys.stdout.write(text)
        return 0
    if action == "preview":
        from autograder.i18n.preview import preview

        for written in preview(course, aid, Path(out) if out else None):
            log(f"wrote {written}")
        return 0
    if not cell_id:
        raise ValueError(f"translations {action} needs --cell (a cell id; side-by-side lists them)")
    cell = zh.find_cell(nb, cell_id)
    if action == "get":
        text = zh.zh_source(cell)
        if text is None:
            log(f"{aid} {cell_id}: no Chinese text yet")
            return 1
        sys.stdout.write(text + "\n")
        return 0
    if action == "set":
        if not file:
            raise ValueError("translations set needs --file (a UTF-8 markdown file, or - for stdin)")
        zh.set_translation(cell, _read_text(file))
    else:  # stamp
        zh.stamp(cell)
    write_source(path, nb)
    log(f"{aid} {cell_id}: {'saved' if action == 'set' else 'marked current'}")
    glossary = load_glossary(glossary_dir(course.root))
    from autograder.i18n.report import cell_findings

    problems = cell_findings(glossary, zh.cell_source(cell), zh.zh_source(cell))
    for kind, message in problems:
        log(f"  {kind}: {message}")
    return 0
