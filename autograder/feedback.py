"""`feedback`: one HTML report per student and assignment, grading/feedback/<student>/<id>/<id>.html.

The report is the executed notebook (hidden tests taken out) with a score table in front.
A Chinese submission's report is in Chinese (headings, table, reasons), with the Chinese text
back in the locked cells nbgrader restored from the English source.
Scores come first and do not wait for the notebook run: until the run is done (or when it
failed), the page shows the submitted notebook without outputs and says why; a run that
stopped at a cell shows every output before it and says where and why it stopped.
"""

from __future__ import annotations

import html
from pathlib import Path

import nbformat

from autograder.course import Course, list_problems
from autograder.i18n.edition import ZH, language, restore_chinese
from autograder.i18n.messages import _
from autograder.notebook import drop_malformed_outputs, read_notebook, without_hidden_tests
from autograder.pipeline.gradebook import autograded_scores, graded_results, manual_scores
from cs231n_lib.i18n import use


def _summary_cell(result: dict, manual: dict, state: str) -> nbformat.NotebookNode:
    e = html.escape
    scores = autograded_scores(result, manual)  # the instructor's changes in the formgrader count
    got = sum(scores.values())
    total = sum(result["max_scores"].values())
    rows = []
    for gid, points in result["max_scores"].items():
        check = result["checks"].get(gid, {})
        msg = check.get("message", _("not verified"))
        verdict = _("PASS") if check.get("passed") else _("FAIL")
        if manual.get(gid) is not None:
            msg += " " + _("(score changed by the instructor from {before:g})").format(
                before=result["scores"].get(gid, 0))
        rows.append(f"<tr><td><code>{e(gid)}</code></td><td>{scores[gid]:g} / {points:g}</td>"
                    f"<td>{e(verdict)}</td><td>{e(msg)}</td></tr>")
    for gid, points in result.get("manual_max", {}).items():
        score = manual.get(gid)
        shown = _("to be graded by the instructor") if score is None else f"{score:g} / {points:g}"
        written = _("written")
        rows.append(f"<tr><td><code>{e(gid)}</code></td><td>{e(shown)}</td><td>{e(written)}</td><td></td></tr>")
    notes = "".join(f"<li>{e(n)}</li>" for n in result.get("notes", []))
    note = _("Note:")
    reason = f"<p><b>{e(note)}</b> {e(result['reason'])}</p>" if result.get("reason") else ""
    ran = _("Your notebook as the grader ran it:")
    run = f"<p><b>{e(ran)}</b> {e(state)}</p>"
    head = "".join(f"<th>{e(h)}</th>" for h in (_("test"), _("points"), _("result"), _("details")))
    while_running = _("While running your cells:")
    title = _("Feedback: {assignment} — {student}").format(assignment=result["assignment"],
                                                           student=result["student"])
    score = _("Autograded score: {got:g} / {total:g}").format(got=got, total=total)
    how = _(". Scores come from checks run outside your notebook on fresh inputs; the notebook "
            "below shows what your own run printed.")
    text = (f"<h1>{e(title)}</h1><p><b>{e(score)}</b>{e(how)}</p>"
            f"{reason}{run}<table><tr>{head}</tr>"
            f"{''.join(rows)}</table>" + (f"<p>{e(while_running)}</p><ul>{notes}</ul>" if notes else ""))
    return nbformat.v4.new_markdown_cell(text)


def run_state(result: dict, course: Course | None = None) -> tuple[bool, str]:
    """(True when the page shows the executed notebook, what the page says about the notebook run).

    A result from before scores came first (no "execution") shows its executed notebook if
    there is one in `course`.
    """
    execution = result.get("execution")
    if "execution" not in result and course is not None and _executed(course, result).exists():
        return True, _("below, with its outputs.")
    if not execution or execution.get("hash") != result.get("hash"):
        return False, _("not run yet (the scores above are final; the next make autograde runs it, and this "
                        "page then shows its outputs). Below: the notebook as submitted, without outputs.")
    why = execution.get("reason", "")
    then = (" " + _("This is not your doing: the next make autograde runs it again.")
            if execution.get("infrastructure") else "")
    if execution.get("state") == "failed":
        return False, _("it could not be run: {why}.").format(why=why) + then + " " + _(
            "Below: the notebook as submitted, without outputs.")
    if execution.get("state") == "stopped":
        return True, _("below, with the outputs of every cell that ran; it stopped: {why}.").format(why=why) + then
    if why:
        return True, _("below, with its outputs; {why}.").format(why=why) + then
    return True, _("below, with its outputs.") + then


def report_html(exporter, result: dict, nb, manual: dict, state: str | None = None) -> str:
    """One feedback page: the score table, then the executed notebook `nb` (changed in place).

    Inputs: exporter, feedback_html.exporter(); result, a graded result (gradebook.graded_results);
    manual, {grade_id: manual score or None}; state, what to say about the notebook run
    (run_state). Returns: the HTML text.
    """
    with use(result.get("lang") or language(nb)):
        state = state if state is not None else run_state(result)[1]
        nb.cells.insert(0, _summary_cell(result, manual, state))
    body, _resources = exporter.from_notebook_node(nb)
    return body


def feedback(course: Course, ids: list[str], student: str | None = None, log=print,
             failed: list[str] | None = None) -> list[Path]:
    """Write grading/feedback/<student>/<id>/<id>.html for every graded submission. Returns the paths.

    A report that cannot be written (nbconvert refuses the notebook, a full disk) does not stop
    the others: it is logged and, when `failed` is a list, added to it as "<student> <id>: why".
    """
    from autograder.feedback_html import exporter as feedback_exporter

    exporter = feedback_exporter()
    paths, problems = [], []
    for result in graded_results(course, ids, student):
        aid, who = result["assignment"], result["student"]
        try:
            paths.append(_write_report(course, exporter, result))
        except Exception as exc:
            problems.append(f"{who} {aid}: {type(exc).__name__}: {str(exc)[:200]}")
    log(f"wrote {len(paths)} feedback report(s) under {course.root / 'feedback'}")
    unexecuted = [f"{r['student']} {r['assignment']}: {run_state(r, course)[1].split(' Below:')[0]}"
                  for r in graded_results(course, ids, student) if not run_state(r, course)[0]]
    if unexecuted:
        log(f"{len(unexecuted)} report(s) show the submitted notebook without outputs (no executed notebook):")
        for line in unexecuted:
            log(f"  {line}")
    list_problems(problems, f"could not write {len(problems)} report(s):", log, failed)
    return paths


def _executed(course: Course, result: dict) -> Path:
    aid = result["assignment"]
    return course.root / "autograded" / result["student"] / aid / f"{aid}.ipynb"


def _write_report(course: Course, exporter, result: dict) -> Path:
    """One report: the score table, then the executed notebook. Returns its path."""
    aid, who = result["assignment"], result["student"]
    executed = _executed(course, result)
    submitted = course.root / "submitted" / who / aid / f"{aid}.ipynb"
    shows_run = run_state(result, course)[0]
    use_executed = shows_run and executed.exists()
    try:
        # Notebooks graded before the kernel ran without hidden tests may still hold them.
        nb = without_hidden_tests(read_notebook(executed if use_executed else submitted))
    except Exception:
        nb = nbformat.v4.new_notebook()
    if (result.get("lang") or language(nb)) == ZH:
        restore_chinese(nb, read_notebook(course.source_notebook(aid)))
    with use(result.get("lang") or language(nb)):
        drop_malformed_outputs(nb, _("[the grader: an output of this cell broke the notebook format "
                                     "and is not shown]"))
    if not use_executed:  # what the student's own run left is not what the grader saw
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
    with use(result.get("lang") or language(nb)):  # what the page says in the student's language
        state = run_state(result, course)[1]
    body = report_html(exporter, result, nb, manual_scores(course, aid, who), state)
    out = course.root / "feedback" / who / aid / f"{aid}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body)
    return out
