"""`grades`: grading/grades.csv (one row per student and assignment), grading/grades_by_student.csv
(one row per student, for an LMS import) and grading/grades_by_question.csv (one row per student,
assignment and question), plus a printed table showing the written answers still to grade."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from autograder.course import Course, list_problems
from autograder.notebook import clip_words
from autograder.pipeline.gradebook import autograded_scores, graded_results, manual_scores
from cs231n_lib.atomic import write_atomically

# Added to the reason of a failure that is not the student's doing.
INFRASTRUCTURE_NOTE = " [not the student's doing: the next make autograde grades it again]"
RUN_INFRASTRUCTURE_NOTE = " [not the student's doing: the next make autograde runs it again]"


def reason(result: dict) -> str:
    """Why points were lost, then what happened to the notebook run for feedback (where it
    stopped and why, cells interrupted at their time limit), each marked when it is not the
    student's doing."""
    parts = [result.get("reason", "") + (INFRASTRUCTURE_NOTE if result.get("infrastructure") else "")]
    execution = result.get("execution") or {}
    if execution.get("hash") == result.get("hash") and execution.get("reason"):
        parts.append(f"notebook run: {execution['reason']}"
                     + (RUN_INFRASTRUCTURE_NOTE if execution.get("infrastructure") else ""))
    return "; ".join(p for p in parts if p)


def grade_rows(course: Course, ids: list[str], student: str | None = None,
               failed: list[str] | None = None) -> tuple[list[str], list[dict]]:
    """One row per student and assignment: totals, the written part (graded and pending), status
    and reason. Per-question points are in question_rows.

    A row whose written scores cannot be read (a gradebook without that submission, say) is
    still written, its written answers counted as not graded yet, and listed in `failed`.
    """
    rows = []
    for r, manual in _graded(course, ids, student, failed):
        auto = sum(autograded_scores(r, manual).values())
        written_max = r.get("manual_max", {})
        written = [manual.get(g) for g in written_max]
        pending = sum(v is None for v in written)
        rows.append({"student": r["student"], "assignment": r["assignment"],
                     "score": auto + sum(v for v in written if v is not None),
                     "max_score": sum(r["max_scores"].values()) + sum(written_max.values()),
                     "autograded_score": auto, "autograded_max": sum(r["max_scores"].values()),
                     "written_score": sum(v for v in written if v is not None),
                     "written_max": sum(written_max.values()), "written_pending": pending,
                     "needs_manual_grade": pending > 0, "status": r["status"],
                     "reason": reason(r),
                     "flags": flags(r), "overrides": overrides(r, manual)})
    header = ["student", "assignment", "score", "max_score", "autograded_score", "autograded_max",
              "written_score", "written_max", "written_pending", "needs_manual_grade", "status",
              "reason", "flags", "overrides"]
    return header, rows


def overrides(result: dict, manual: dict) -> str:
    """The formgrader's changes to autograded scores ("grade_id: 2 -> 1; ..."), for grades.csv."""
    return "; ".join(f"{gid}: {result['scores'].get(gid, 0):g} -> {manual[gid]:g}"
                     for gid in result["max_scores"] if manual.get(gid) is not None)


def flags(result: dict) -> str:
    """The instructor's flags of one result ("grade_id: note; ..."): checks that passed but are
    worth a look (a held-out accuracy far above the validation accuracy, verify/heldout.py)."""
    return "; ".join(f"{gid}: {c['flag']}" for gid, c in result.get("checks", {}).items() if c.get("flag"))


def question_rows(course: Course, ids: list[str], student: str | None = None,
                  failed: list[str] | None = None) -> tuple[list[str], list[dict]]:
    """One row per student, assignment and question (autograded test or written answer): its
    points, blank for a written answer not graded yet, and its maximum."""
    rows = []
    for r, manual in _graded(course, ids, student, failed):
        who = {"student": r["student"], "assignment": r["assignment"]}
        points = autograded_scores(r, manual)
        for gid, most in r["max_scores"].items():
            rows.append({**who, "question": gid, "kind": "autograded",
                         "points": points[gid], "max_points": most})
        for gid, most in r.get("manual_max", {}).items():
            points = manual.get(gid)
            rows.append({**who, "question": gid, "kind": "written",
                         "points": "" if points is None else points, "max_points": most})
    return ["student", "assignment", "question", "kind", "points", "max_points"], rows


def _graded(course: Course, ids: list[str], student: str | None, failed: list[str] | None = None):
    """(graded result, {written grade_id: manual score or None}) per student and assignment.

    Written scores that cannot be read count as not graded yet, and the problem goes to `failed`.
    """
    for r in graded_results(course, ids, student):
        try:
            manual = manual_scores(course, r["assignment"], r["student"])
        except Exception as exc:
            manual = {}
            if failed is not None and not any(p.startswith(f"{r['student']} {r['assignment']}:") for p in failed):
                failed.append(f"{r['student']} {r['assignment']}: written answers' scores not read "
                              f"({type(exc).__name__}: {str(exc)[:200]})")
        yield r, manual


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
    - the same name with `_by_question`: one row per student, assignment and question (question_rows)

    What cannot be written or read does not stop the rest: it is logged and, when `failed`
    is a list, added to it.
    """
    problems: list[str] = []
    header, rows = grade_rows(course, ids, student, failed=problems)
    out = Path(out or course.root / "grades.csv")
    by_student = out.with_name(f"{out.stem}_by_student{out.suffix}")
    by_question = out.with_name(f"{out.stem}_by_question{out.suffix}")
    log(format_table(rows))
    tables = ((out, (header, rows), "rows"), (by_student, student_rows(rows, ids), "students"),
              (by_question, question_rows(course, ids, student, problems), "questions"))
    for path, (head, body), what in tables:
        try:
            _write_csv(path, head, body)
            log(f"wrote {path} ({len(body)} {what})")
        except Exception as exc:
            problems.append(f"{path}: not written ({type(exc).__name__}: {str(exc)[:200]})")
    pending = sum(r["written_pending"] for r in rows)
    if pending:
        log(f"{pending} written answer(s) are not graded yet: grade them with make formgrader")
    list_problems(problems, f"could not do {len(problems)} thing(s):", log, failed)
    return out


def format_table(rows: list[dict]) -> str:
    """A plain-text grade table: student, assignment, autograded and written points, status."""
    lines = [f"{'student':<18} {'assignment':<22} {'autograded':>11} {'written':>22}  status"]
    for r in rows:
        score = f"{r['autograded_score']:g}/{r['autograded_max']:g}"
        written = f"{r['written_score']:g}/{r['written_max']:g}" if r["written_max"] else "-"
        if r["written_pending"]:
            written += f" ({r['written_pending']} pending)"
        status = r["status"] + (f" ({clip_words(r['reason'], 70)})" if r["reason"] else "")
        status += " [FLAGGED: see grades.csv]" if r.get("flags") else ""
        lines.append(f"{r['student']:<18} {r['assignment']:<22} {score:>11} {written:>22}  {status}")
    return "\n".join(lines)
