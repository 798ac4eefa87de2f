"""`grades`: grading/grades.csv (one row per student and assignment) and
grading/grades_by_student.csv (one row per student, for an LMS import), plus a printed table."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from autograder.course import Course, list_problems, write_atomically
from autograder.gradebook import graded_results, manual_scores
from autograder.notebook import layout, read_notebook

# Added to the reason of a failure that is not the student's doing.
INFRASTRUCTURE_NOTE = " [not the student's doing: the next make autograde grades it again]"


def grade_rows(course: Course, ids: list[str], student: str | None = None,
               failed: list[str] | None = None) -> tuple[list[str], list[dict]]:
    """One row per student and assignment: totals, status, reason and per-question points.

    A row whose manual scores cannot be read (a gradebook without that submission, say) is
    still written, its written answers counted as not graded yet, and is listed in `failed`
    (when a list); an assignment whose source notebook cannot be read has no question columns.
    """
    problems = failed if failed is not None else []
    questions: list[str] = []
    for aid in ids:
        try:
            lay = layout(read_notebook(course.source_notebook(aid)))
        except Exception as exc:
            problems.append(f"{aid}: its questions are not listed ({type(exc).__name__}: {str(exc)[:200]})")
            continue
        questions += [q for q in [*lay.tests, *lay.manual] if q not in questions]
    rows = []
    for r in graded_results(course, ids, student):
        try:
            manual = manual_scores(course, r["assignment"], r["student"])
        except Exception as exc:
            manual = {}
            problems.append(f"{r['student']} {r['assignment']}: written answers' scores not read "
                            f"({type(exc).__name__}: {str(exc)[:200]})")
        auto = sum(r["scores"].values())
        manual_done = {g: manual.get(g) for g in r.get("manual_max", {})}
        row = {"student": r["student"], "assignment": r["assignment"],
               "score": auto + sum(v for v in manual_done.values() if v is not None),
               "max_score": sum(r["max_scores"].values()) + sum(r.get("manual_max", {}).values()),
               "autograded_score": auto, "autograded_max": sum(r["max_scores"].values()),
               "needs_manual_grade": any(v is None for v in manual_done.values()),
               "status": r["status"], "reason": r.get("reason", "") + (INFRASTRUCTURE_NOTE if r.get("infrastructure") else "")}
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
           log=print, failed: list[str] | None = None) -> Path:
    """Write the grades CSVs and print a table. Returns the path of the first.

    - `out` (default grading/grades.csv): one row per student and assignment (grade_rows)
    - the same name with `_by_student` (grading/grades_by_student.csv): one row per student,
      a column per assignment, the total and the maximum (student_rows)

    What cannot be written or read does not stop the rest: it is logged and, when `failed`
    is a list, added to it.
    """
    problems: list[str] = []
    header, rows = grade_rows(course, ids, student, failed=problems)
    out = Path(out or course.root / "grades.csv")
    by_student = out.with_name(f"{out.stem}_by_student{out.suffix}")
    student_header, per_student = student_rows(rows, ids)
    log(format_table(rows))
    for path, head, body, what in ((out, header, rows, "rows"), (by_student, student_header, per_student, "students")):
        try:
            _write_csv(path, head, body)
            log(f"wrote {path} ({len(body)} {what})")
        except Exception as exc:
            problems.append(f"{path}: not written ({type(exc).__name__}: {str(exc)[:200]})")
    list_problems(problems, f"could not do {len(problems)} thing(s):", log, failed)
    return out


def format_table(rows: list[dict]) -> str:
    """A plain-text grade table: student, assignment, autograded score, status/reason."""
    lines = [f"{'student':<18} {'assignment':<22} {'autograded':>11}  status"]
    for r in rows:
        score = f"{r['autograded_score']:g}/{r['autograded_max']:g}"
        status = r["status"] + (f" ({r['reason'][:70]})" if r["reason"] else "")
        lines.append(f"{r['student']:<18} {r['assignment']:<22} {score:>11}  {status}")
    return "\n".join(lines)
