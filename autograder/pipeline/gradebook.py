"""The course gradebook: nbgrader's gradebook.db plus autograded/<student>/<id>/result.json.

Only the batch's own process writes here. A scores result (`merge`): one gradebook
transaction, then result.json; a notebook run for feedback (`merge_run`): the executed
notebook autograded/<student>/<id>/<id>.ipynb, then result.json's "execution" part (the
gradebook is not touched: scores never come from the run). result.json is written last
and holds the content hash: a batch that stops is resumed by skipping submissions whose
result.json matches their content hash (and, for the run, whose "execution" does), unless
that result is an infrastructure failure (not the student's doing: it is done again). An
infrastructure failure never replaces a genuine result of the same content.
"""

from __future__ import annotations

import json
from pathlib import Path

from autograder.course import Course, ensure_venv_on_path, nbgrader_config
from cs231n_lib.atomic import write_atomically


def result_path(course: Course, student: str, aid: str) -> Path:
    return course.root / "autograded" / student / aid / "result.json"


def _merged(course: Course, student: str, aid: str) -> dict | None:
    """The merged result.json of one submission, or None."""
    try:
        return json.loads(result_path(course, student, aid).read_text())
    except (OSError, ValueError):
        return None


def is_done(course: Course, sub_hash: str, student: str, aid: str) -> bool:
    """True when this exact content was graded already, genuinely (not an infrastructure failure)."""
    merged = _merged(course, student, aid)
    return bool(merged) and merged.get("hash") == sub_hash and not merged.get("infrastructure")


def run_done(course: Course, sub_hash: str, student: str, aid: str) -> bool:
    """True when this exact content's notebook run for feedback is done, genuinely."""
    execution = (_merged(course, student, aid) or {}).get("execution") or {}
    return execution.get("hash") == sub_hash and not execution.get("infrastructure")


def scored(course: Course, sub_hash: str, student: str, aid: str) -> bool:
    """True when result.json holds scores for this exact content (a failed grading included)."""
    return (_merged(course, student, aid) or {}).get("hash") == sub_hash


def open_gradebook(course: Course):
    """nbgrader's Gradebook on the course's gradebook.db (created, with `alembic` from this venv, if new)."""
    from nbgrader.api import Gradebook

    ensure_venv_on_path()
    return Gradebook(course.db_url)


def ensure_assignment(course: Course, aid: str) -> None:
    """Make sure the course gradebook knows the assignment (nbgrader generate_assignment)."""
    from nbgrader.api import MissingEntry
    from nbgrader.apps import NbGraderAPI

    with open_gradebook(course) as gb:
        try:
            gb.find_assignment(aid)
            return
        except MissingEntry:
            pass
    result = NbGraderAPI(config=nbgrader_config(course)).generate_assignment(aid, force=True, create=True)
    if not result.get("success"):
        raise RuntimeError(f"nbgrader generate_assignment {aid} failed: {(result.get('log') or '')[-2000:]}")


def merge(course: Course, result: dict) -> bool:
    """Write one result into the gradebook (one transaction) and its files under autograded/.

    The autograded cells get the verification's points as auto_score (an instructor's override,
    manual_score, is kept for the same content and cleared for new content); written answers
    keep any manual score and are flagged needs_manual_grade until the instructor grades them.
    An infrastructure failure for content that already has a genuine result changes nothing.
    Returns: False when the result was not merged for that reason, else True.
    """
    import warnings

    from nbgrader.api import MissingEntry

    aid, student = result["assignment"], result["student"]
    before = _merged(course, student, aid) or {}
    if result.get("infrastructure"):
        if before.get("hash") == result["hash"] and not before.get("infrastructure"):
            return False
    # An instructor's change to an autograded score (the formgrader's manual_score) judged
    # the content it was made for: it stays through a regrade of that content, not of new work.
    new_content = bool(before) and before.get("hash") != result["hash"]
    with warnings.catch_warnings(), open_gradebook(course) as gb:
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy autoflush warnings
        try:
            gb.update_or_create_student(student)
            try:
                gb.find_submission(aid, student)
            except MissingEntry:
                gb.add_submission(aid, student)
            nb = gb.find_submission_notebook(aid, aid, student)
            for grade in nb.grades:
                if grade.name in result["scores"]:
                    grade.auto_score = float(result["scores"][grade.name])
                    grade.needs_manual_grade = False
                    if new_content:
                        grade.manual_score = None
                elif grade.name in result.get("manual_max", {}):
                    grade.auto_score = None
                    grade.needs_manual_grade = grade.manual_score is None
            gb.db.commit()
        except Exception:
            gb.db.rollback()
            raise
    folder = result_path(course, student, aid).parent
    folder.mkdir(parents=True, exist_ok=True)
    record = {k: v for k, v in result.items() if k not in ("autograded", "phase")}
    execution = before.get("execution") or {}
    if execution.get("hash") == result["hash"]:  # the run of this very notebook is kept
        record["execution"], record["kernel_scores"] = execution, before.get("kernel_scores", {})
    else:  # not run yet; an executed notebook of other content must not be shown with these scores
        record.pop("execution", None)
        (folder / f"{aid}.ipynb").unlink(missing_ok=True)
    write_atomically(folder / "result.json", json.dumps(record, indent=1, sort_keys=True))
    return True


def merge_run(course: Course, run: dict) -> bool | None:
    """Keep one notebook run for feedback: the executed notebook, then result.json's "execution".

    Returns: None when result.json does not hold this content's scores yet (merge it after
    them), False when the run is an infrastructure failure and this content already has a
    genuine run (nothing changes), else True.
    """
    aid, student = run["assignment"], run["student"]
    result = _merged(course, student, aid)
    if not result or result.get("hash") != run["hash"]:
        return None
    before = result.get("execution") or {}
    if run["execution"]["infrastructure"] and before.get("hash") == run["hash"] and not before.get("infrastructure"):
        return False
    folder = result_path(course, student, aid).parent
    if run.get("autograded"):
        write_atomically(folder / f"{aid}.ipynb", run["autograded"])
    elif not before or before.get("hash") != run["hash"] or before.get("state") == "failed":
        (folder / f"{aid}.ipynb").unlink(missing_ok=True)
    result["execution"], result["kernel_scores"] = run["execution"], run["kernel_scores"]
    write_atomically(folder / "result.json", json.dumps(result, indent=1, sort_keys=True))
    return True


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


def manual_scores(course: Course, aid: str, student: str) -> dict[str, float | None]:
    from nbgrader.api import MissingEntry

    if not course.gradebook.exists():
        return {}
    with open_gradebook(course) as gb:
        try:
            nb = gb.find_submission_notebook(aid, aid, student)
        except MissingEntry:
            return {}
        return {g.name: g.manual_score for g in nb.grades}


def autograded_scores(result: dict, manual: dict) -> dict[str, float]:
    """Each autograded test's points: the verification's, unless the instructor changed the
    score in the formgrader (its manual_score in the gradebook), which then counts.

    result: a graded result; manual: manual_scores' {grade_id: manual score or None}.
    """
    return {gid: manual[gid] if manual.get(gid) is not None else result["scores"].get(gid, 0)
            for gid in result["max_scores"]}
