"""`feedback` (one HTML report per student and assignment) and `grades` (grading/grades.csv,
one row per student and assignment, and grading/grades_by_student.csv, one row per student)."""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path

import nbformat

from cs231n_lib.grader.course import Course, write_atomically
from cs231n_lib.grader.nbtools import layout, read_notebook, without_hidden_tests


def graded_results(course: Course, ids: list[str], student: str | None = None) -> list[dict]:
    """The merged results (autograded/<student>/<id>/result.json), sorted by assignment, student."""
    out = []
    base = course.root / "autograded"
    for aid in ids:
        for path in sorted(base.glob(f"*/{aid}/result.json")) if base.is_dir() else []:
            if student and path.parent.parent.name != student:
                continue
            try:
                out.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
    return sorted(out, key=lambda r: (r["assignment"], r["student"]))


def _manual_scores(course: Course, aid: str, student: str) -> dict[str, float | None]:
    from nbgrader.api import Gradebook, MissingEntry

    if not course.gradebook.exists():
        return {}
    with Gradebook(course.db_url) as gb:
        try:
            nb = gb.find_submission_notebook(aid, aid, student)
        except MissingEntry:
            return {}
        return {g.name: g.manual_score for g in nb.grades}


def _summary_cell(result: dict, manual: dict) -> nbformat.NotebookNode:
    e = html.escape
    got = sum(result["scores"].values())
    total = sum(result["max_scores"].values())
    rows = []
    for gid, points in result["max_scores"].items():
        check = result["checks"].get(gid, {})
        msg = check.get("message", "not verified")
        rows.append(f"<tr><td><code>{e(gid)}</code></td><td>{result['scores'].get(gid, 0):g} / {points:g}</td>"
                    f"<td>{'PASS' if check.get('passed') else 'FAIL'}</td><td>{e(msg)}</td></tr>")
    for gid, points in result.get("manual_max", {}).items():
        score = manual.get(gid)
        shown = "to be graded by the instructor" if score is None else f"{score:g} / {points:g}"
        rows.append(f"<tr><td><code>{e(gid)}</code></td><td>{e(shown)}</td><td>written</td><td></td></tr>")
    notes = "".join(f"<li>{e(n)}</li>" for n in result.get("notes", []))
    reason = f"<p><b>Note:</b> {e(result['reason'])}</p>" if result.get("reason") else ""
    text = (f"<h1>Feedback: {e(result['assignment'])} — {e(result['student'])}</h1>"
            f"<p><b>Autograded score: {got:g} / {total:g}</b>. Scores come from checks run outside "
            "your notebook on fresh inputs; the notebook below shows what your own run printed.</p>"
            f"{reason}<table><tr><th>test</th><th>points</th><th>result</th><th>details</th></tr>"
            f"{''.join(rows)}</table>" + (f"<p>While running your cells:</p><ul>{notes}</ul>" if notes else ""))
    return nbformat.v4.new_markdown_cell(text)


def feedback(course: Course, ids: list[str], student: str | None = None, log=print) -> list[Path]:
    """Write grading/feedback/<student>/<id>/<id>.html for every graded submission. Returns the paths."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", sanitize_html=True)
    paths = []
    for result in graded_results(course, ids, student):
        aid, who = result["assignment"], result["student"]
        executed = course.root / "autograded" / who / aid / f"{aid}.ipynb"
        submitted = course.root / "submitted" / who / aid / f"{aid}.ipynb"
        try:
            # Notebooks graded before the kernel ran without hidden tests may still hold them.
            nb = without_hidden_tests(read_notebook(executed if executed.exists() else submitted))
        except Exception:
            nb = nbformat.v4.new_notebook()
        nb.cells.insert(0, _summary_cell(result, _manual_scores(course, aid, who)))
        body, _ = exporter.from_notebook_node(nb)
        out = course.root / "feedback" / who / aid / f"{aid}.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(body)
        paths.append(out)
    log(f"wrote {len(paths)} feedback report(s) under {course.root / 'feedback'}")
    return paths


def grade_rows(course: Course, ids: list[str], student: str | None = None) -> tuple[list[str], list[dict]]:
    """One row per student and assignment: totals, status, reason and per-question points."""
    questions: list[str] = []
    for aid in ids:
        lay = layout(read_notebook(course.source_notebook(aid)))
        questions += [q for q in [*lay.tests, *lay.manual] if q not in questions]
    rows = []
    for r in graded_results(course, ids, student):
        manual = _manual_scores(course, r["assignment"], r["student"])
        auto = sum(r["scores"].values())
        manual_done = {g: manual.get(g) for g in r.get("manual_max", {})}
        row = {"student": r["student"], "assignment": r["assignment"],
               "score": auto + sum(v for v in manual_done.values() if v is not None),
               "max_score": sum(r["max_scores"].values()) + sum(r.get("manual_max", {}).values()),
               "autograded_score": auto, "autograded_max": sum(r["max_scores"].values()),
               "needs_manual_grade": any(v is None for v in manual_done.values()),
               "status": r["status"], "reason": r.get("reason", "")}
        for q in questions:
            row[q] = r["scores"].get(q, manual_done.get(q, ""))
            if row[q] is None:
                row[q] = ""
        rows.append(row)
    header = ["student", "assignment", "score", "max_score", "autograded_score", "autograded_max",
              "needs_manual_grade", "status", "reason", *questions]
    return header, rows


def student_rows(rows: list[dict], ids: list[str]) -> tuple[list[str], list[dict]]:
    """One row per student from grade_rows' rows: each assignment's score, then the totals.

    An assignment the student has no graded submission for is left blank and counts 0
    towards `total`; `max_total` counts every assignment listed (the spreadsheet an LMS
    imports). Assignments nobody has a graded submission for get no column.
    """
    maxima = {r["assignment"]: r["max_score"] for r in rows}
    columns = [aid for aid in ids if aid in maxima]
    by_student: dict[str, dict] = {}
    for r in rows:
        row = by_student.setdefault(r["student"], {"student": r["student"], **{a: "" for a in columns},
                                                   "needs_manual_grade": False})
        row[r["assignment"]] = r["score"]
        row["needs_manual_grade"] = row["needs_manual_grade"] or r["needs_manual_grade"]
    max_total = sum(maxima[a] for a in columns)
    out = []
    for name in sorted(by_student):
        row = by_student[name]
        row["total"] = sum(row[a] for a in columns if row[a] != "")
        row["max_total"] = max_total
        out.append(row)
    return ["student", *columns, "total", "max_total", "needs_manual_grade"], out


def _write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    """Write a CSV all at once: rendered in memory, then written atomically, so a failure
    never leaves a half-written grade file where the old one was."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(path, text.getvalue())


def grades(course: Course, ids: list[str], student: str | None = None, out: Path | None = None,
           log=print) -> Path:
    """Write the grades CSVs and print a table. Returns the path of the first.

    - `out` (default grading/grades.csv): one row per student and assignment (grade_rows)
    - the same name with `_by_student` (grading/grades_by_student.csv): one row per student,
      a column per assignment, the total and the maximum (student_rows)
    """
    header, rows = grade_rows(course, ids, student)
    out = Path(out or course.root / "grades.csv")
    _write_csv(out, header, rows)
    by_student = out.with_name(f"{out.stem}_by_student{out.suffix}")
    student_header, per_student = student_rows(rows, ids)
    _write_csv(by_student, student_header, per_student)
    log(format_table(rows))
    log(f"wrote {out} ({len(rows)} rows) and {by_student} ({len(per_student)} students)")
    return out


def format_table(rows: list[dict]) -> str:
    """A plain-text grade table: student, assignment, autograded score, status/reason."""
    lines = [f"{'student':<18} {'assignment':<22} {'autograded':>11}  status"]
    for r in rows:
        score = f"{r['autograded_score']:g}/{r['autograded_max']:g}"
        status = r["status"] + (f" ({r['reason'][:70]})" if r["reason"] else "")
        lines.append(f"{r['student']:<18} {r['assignment']:<22} {score:>11}  {status}")
    return "\n".join(lines)
