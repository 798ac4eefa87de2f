"""`demo`: release the notebooks, grade three simulated students per assignment, print the grades.

Everything happens in demo/: the simulated course demo/grading/ (a copy of grading/'s sources
and specs) released into demo/assignments/, so neither the real gradebook nor assignments/
(nor a student's edits) is touched. The students: complete (the source solutions), blank
(the released notebook) and half (the first half of the exercise cells solved), plus, for each
notebook with a Chinese edition (i18n/translated.txt), a Chinese student, zh_half: the Chinese
release with the same half solved, who must score exactly what half scores.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import nbformat

from autograder.course import Course
from autograder.i18n.edition import ZH
from autograder.i18n.glossary import glossary_dir
from autograder.i18n.report import translated_ids
from autograder.notebook import is_exercise, nbgrader_meta, read_notebook
from autograder.sandbox.bwrap import bwrap_status

# What one simulated submission costs one core on a quiet 2-core machine, on average over the
# eight notebooks' three students: its scores (the verification; 04, 05 and 06 train the
# open-ended model once per assignment: the expected answers are cached) and its notebook run
# for feedback (the notebooks' own Run All times). Measured by `make demo` on a fresh clone at
# load 2: 32 submissions scored after 31 s and run after 459 s on 2 workers. A busy machine
# takes several times as long. Used for the estimate printed first.
SCORES_SECONDS_PER_SUBMISSION = 2
RUN_SECONDS_PER_SUBMISSION = 27
MARKER_RE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)


def simulated_students(source_nb, released_nb) -> dict[str, nbformat.NotebookNode]:
    """{"complete", "blank", "half"}: the released notebook with none, all or half the exercises solved."""
    solutions = {nbgrader_meta(c)["grade_id"]: MARKER_RE.sub("", c.source)
                 for c in source_nb.cells if is_exercise(c)}
    order = [nbgrader_meta(c)["grade_id"] for c in released_nb.cells if is_exercise(c)]
    out = {}
    for name, solved in (("complete", set(order)), ("blank", set()), ("half", set(order[: len(order) // 2]))):
        nb = nbformat.reads(nbformat.writes(released_nb), as_version=4)
        for cell in nb.cells:
            gid = nbgrader_meta(cell).get("grade_id")
            if is_exercise(cell) and gid in solved:
                cell.source = solutions[gid]
        out[name] = nb
    return out


def demo(ids: list[str] | None = None, workers: int = 2, course: Course | None = None,
         out_root: Path | None = None, log=print) -> int:
    """Run the whole loop; returns 0 when every complete student scores full marks and blanks score 0."""
    from autograder.autograde import autograde
    from autograder.feedback import feedback
    from autograder.grades import grade_rows, grades
    from autograder.release import release

    course = course or Course()
    ids = ids or course.assignment_ids()
    if not ids:
        log(f"no assignments in {course.root / 'source'} yet: nothing to demonstrate")
        return 0
    root = (out_root or course.root.parent / "demo") / "grading"
    for old in (root, root.parent / "assignments"):
        if old.exists():
            shutil.rmtree(old)
    # The demo releases into demo/assignments/: the real assignments/ (and any student's
    # edits in it) is never written.
    demo_course = Course(root=root, assignments_dir=root.parent / "assignments")
    (root / "verify").mkdir(parents=True)
    if (course.root / "nbgrader_config.py").exists():
        shutil.copy(course.root / "nbgrader_config.py", root / "nbgrader_config.py")
    for aid in ids:
        shutil.copytree(course.source_notebook(aid).parent, demo_course.source_notebook(aid).parent)
        shutil.copy(course.spec(aid), demo_course.spec(aid))
    if glossary_dir(course.root).is_dir():  # which notebooks have a Chinese edition
        shutil.copytree(glossary_dir(course.root), glossary_dir(demo_course.root), dirs_exist_ok=True)
    chinese = [aid for aid in ids if aid in translated_ids(glossary_dir(demo_course.root))]
    n = len(ids) * 3 + len(chinese)
    cores = max(1, min(workers, n))
    to_scores = math.ceil(n * SCORES_SECONDS_PER_SUBMISSION / cores / 60)
    to_runs = math.ceil(n * (SCORES_SECONDS_PER_SUBMISSION + RUN_SECONDS_PER_SUBMISSION) / cores / 60)
    log(f"demo: {n} simulated submissions on {workers} worker(s); expect the scores after about {to_scores} "
        f"minute(s) and every feedback run after about {to_runs} (~{SCORES_SECONDS_PER_SUBMISSION} s and "
        f"~{RUN_SECONDS_PER_SUBMISSION} s per submission per core). Working in {root.parent}/")
    log(f"== release: {', '.join(ids)} (into {demo_course.assignments_dir})")
    release(demo_course, ids, log=log)
    for aid in ids:
        students = simulated_students(read_notebook(demo_course.source_notebook(aid)),
                                      read_notebook(demo_course.released(aid)))
        if aid in chinese:
            students["zh_half"] = simulated_students(read_notebook(demo_course.source_notebook(aid)),
                                                     read_notebook(demo_course.released(aid, ZH)))["half"]
        for name, nb in students.items():
            path = root / "submitted" / f"demo_{name}" / aid / f"{aid}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(path))
    log(f"== Chinese edition: a Chinese student (demo_zh_half) for {', '.join(chinese)}" if chinese else
        "== Chinese edition: no notebook is listed in i18n/translated.txt yet, so no Chinese student")
    status = bwrap_status()
    if status:
        log(f"NOTE: no sandbox here ({status}); the demo grades its own solutions unsandboxed")
    log(f"== autograde ({n} submissions, {workers} workers): scores first, then the notebook runs")
    summary = autograde(demo_course, ids, workers=workers, unsandboxed=status is not None)
    log("\n".join(summary.lines()))
    log(f"time to final scores: {summary.scores_seconds:.0f} s; every feedback run done after {summary.seconds:.0f} s")
    log("== feedback")
    paths = feedback(demo_course, ids, log=log)
    log("== grades")
    grades(demo_course, ids, log=log)
    for p in paths:
        log(f"  {p}")
    _, rows = grade_rows(demo_course, ids)
    ok = all((r["autograded_score"] == r["autograded_max"]) if r["student"] == "demo_complete" else
             (r["autograded_score"] == 0 if r["student"] == "demo_blank" else True) for r in rows)
    score = {(r["student"], r["assignment"]): r["autograded_score"] for r in rows}
    same = all(score.get(("demo_zh_half", aid)) == score.get(("demo_half", aid)) for aid in chinese)
    for aid in chinese:
        page = root / "feedback" / "demo_zh_half" / aid / f"{aid}.html"
        log(f"  {aid}: Chinese student {score.get(('demo_zh_half', aid))} points, English half "
            f"{score.get(('demo_half', aid))}; Chinese feedback page: {page}")
    log("demo: " + ("complete students score full marks, blank students zero"
                    + (", Chinese students exactly as the English ones" if chinese else "")
                    if ok and same else "UNEXPECTED SCORES (see the table)"))
    return 0 if ok and same else 1
