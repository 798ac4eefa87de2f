"""Grading one submission: a plain dict in, a plain dict out, the same in this process,
in a process pool or on a Dask cluster. A task has one of two phases:

- "scores": the out-of-kernel verification (`verify/runner.py`) decides the scores. Nothing
  else runs: this is what the grades wait for.
- "run": real `nbgrader autograde` executes the notebook in a sandboxed kernel, in the task's
  own temporary folder with its own copy of what nbgrader needs (the source notebook with the
  hidden tests taken out and a private gradebook), for the feedback page (see
  `nbgrader_run.py`). It never changes a score.

Every scores result is built by `new_result`, every run result by `new_run`.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import time
from multiprocessing.util import Finalize
from pathlib import Path

import nbformat

from autograder.course import Course, nbgrader_config
from autograder.i18n.edition import grading_text, language
from autograder.notebook import Layout, layout, read_notebook, without_hidden_tests
from autograder.pipeline.nbgrader_run import run_step
from autograder.sandbox.bwrap import Sandbox, SandboxUnavailable
from autograder.sandbox.limits import Limits
from autograder.verify.cache import fonts_dir
from autograder.verify.cache import prepared as cached_prepare
from autograder.verify.runner import prepare, run_verification
from autograder.verify.spec import load_spec
from cs231n_lib.i18n import use

# What the grader's own failures say when the host's disk is full (the sandbox's is bounded).
HOST_TROUBLE = re.compile(r"disk is full|No space left on device|Errno 28|Disk quota exceeded", re.IGNORECASE)


def course_hash(course: Course, aid: str) -> str:
    """Hash of what decides grades for an assignment: the source notebook and its spec."""
    h = hashlib.sha256()
    for path in (course.source_notebook(aid), course.spec(aid)):
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()


def content_hash(notebook: str | None, reject: str | None, chash: str) -> str:
    """Hash of one submission's content together with the assignment's course hash."""
    return hashlib.sha256(f"{chash}\0{notebook}\0{reject}".encode()).hexdigest()


def new_result(task: dict, lay: Layout | None = None, status: str = "graded", reason: str = "",
               infrastructure: bool = False) -> dict:
    """The result of one task, every field present: zero points until the verification gives some.

    Inputs: task (see grade_submission); lay, the source notebook's layout (read when None);
    status, "graded" or "failed"; reason, why points were lost or the task failed;
    infrastructure, True when the failure is not the student's doing (the grader's error,
    a full disk, a worker that died): such a result is graded again by the next run.
    """
    if lay is None:
        lay = layout(read_notebook(Course(root=Path(task["course"])).source_notebook(task["assignment"])))
    return {"student": task["student"], "assignment": task["assignment"], "hash": task["hash"],
            "status": status, "reason": reason, "scores": {g: 0.0 for g in lay.tests},
            "max_scores": dict(lay.tests), "manual_max": dict(lay.manual), "checks": {}, "notes": [],
            "kernel_scores": {}, "autograded": None, "seconds": 0.0, "timings": {},
            "infrastructure": infrastructure}


def grade_submission(task: dict) -> dict:
    """Do one task (runs in a worker): its scores (task["phase"] "scores", the default) or its
    notebook run for feedback ("run"). Inputs and output are plain dicts.

    task: {"course", "assignment", "student", "notebook" (text or None), "reject",
    "hash", "course_hash", "sandboxed", "limits" (a Limits, the same object all the way to the
    kernel), "phase"}.
    Returns: score_submission's or run_submission's result.
    """
    return run_submission(task) if task.get("phase") == "run" else score_submission(task)


def score_submission(task: dict) -> dict:
    """The scores of one submission, from the verification alone.

    Returns: new_result's dict, with "scores" {grade_id: points}, "checks", "notes",
    "reason" (every reason points were lost, joined), "seconds" and "timings" filled in.
    """
    start, cpu_start = time.monotonic(), time.process_time()
    course = Course(root=Path(task["course"]))
    aid = task["assignment"]
    chash = task.get("course_hash") or course_hash(course, aid)
    lay = _assignment(course, aid, chash)[1]
    result = new_result(task, lay)
    reasons: list[str | None] = []
    student_nb, problem = _parse(task)
    # The edition the student worked in (metadata.cs231n.lang): the same checks and scores, the
    # reasons in the student's language (the feedback page shows them).
    result["lang"] = language(student_nb) if student_nb is not None else "en"
    if problem:
        result["status"] = "failed"
        reasons.append(problem)
    else:
        base = Path(tempfile.mkdtemp(prefix=f"grade-{aid}-"))
        try:
            limits = task["limits"]
            with use(result["lang"]):
                _verify(course, aid, student_nb, lay, Sandbox(enabled=task["sandboxed"], limits=limits),
                        limits, base, result, chash)
        except SandboxUnavailable:
            raise
        except Exception as exc:  # an infrastructure failure: still a row, with the reason
            result["status"] = "failed"
            result["infrastructure"] = True
            reasons.append(f"grading error: {type(exc).__name__}: {str(exc)[:300]}")
        finally:
            shutil.rmtree(base, ignore_errors=True)
    result["reason"] = "; ".join(dict.fromkeys(r for r in reasons if r))
    if HOST_TROUBLE.search(result["reason"]):  # the grader's disk, not the student's sandbox
        result["infrastructure"] = True
    result["seconds"] = time.monotonic() - start
    # CPU seconds: this grading process's (all its threads) and the verification workers'
    result["timings"]["cpu"] = time.process_time() - cpu_start + result["timings"].get("verification_cpu", 0.0)
    return result


def new_run(task: dict, state: str = "failed", reason: str = "", infrastructure: bool = False) -> dict:
    """The result of one notebook run for feedback, every field present.

    state: "done" (the notebook ran to its end; cells interrupted at their time limit are in
    "events"), "stopped" (the kernel died or was stopped at a cell: "events" says which and
    why; the cells before it kept their outputs) or "failed" (no executed notebook, reason says
    why); infrastructure: True when not the student's doing (the next plain autograde runs it
    again).
    """
    return {"phase": "run", "student": task["student"], "assignment": task["assignment"],
            "hash": task["hash"], "execution": {"hash": task["hash"], "state": state, "reason": reason,
                                                 "events": [], "infrastructure": infrastructure,
                                                 "seconds": 0.0},
            "kernel_scores": {}, "autograded": None}


def run_submission(task: dict) -> dict:
    """Execute one submission's notebook through real nbgrader in the sandbox, for its feedback page.

    Returns: new_run's dict with "autograded" (the executed notebook's text, or None),
    "kernel_scores" (nbgrader's in-kernel test results: shown, never counted) and "execution".
    """
    start = time.monotonic()
    run = new_run(task)
    execution = run["execution"]
    _, problem = _parse(task)
    if problem:
        execution["reason"] = f"not executed: {problem}"
        return run
    base = Path(tempfile.mkdtemp(prefix=f"grade-{task['assignment']}-"))
    try:
        _execute(Course(root=Path(task["course"])), task, task["limits"], base, run)
    except SandboxUnavailable:
        raise
    except Exception as exc:
        execution.update(state="failed", infrastructure=True,
                         reason=f"grading error: {type(exc).__name__}: {str(exc)[:300]}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if HOST_TROUBLE.search(execution["reason"]):
        execution["infrastructure"] = True
    execution["seconds"] = time.monotonic() - start
    return run


def _parse(task: dict) -> tuple[nbformat.NotebookNode | None, str | None]:
    """(the submitted notebook, None) or (None, why it cannot be graded)."""
    if task.get("reject") or task.get("notebook") is None:
        return None, task.get("reject") or "no notebook"
    try:
        nb = nbformat.reads(task["notebook"], as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no cells")
    except Exception as exc:
        return None, f"not a valid notebook: {str(exc)[:200]}"
    return nb, None


_TEMPLATES: dict[tuple[str, str], Path] = {}


def _copy_kernel_source(course: Course, target: Course, aid: str) -> None:
    """Copy the assignment's source folder into `target` with the hidden tests taken out.

    nbgrader autograde puts the source's test cells back into the submission before running it
    in the student's kernel; with this copy they come back without their hidden part, so no
    student code (an IPython hook, `In[...]`, a later cell printing history) can see or print them.
    """
    shutil.copytree(course.source_notebook(aid).parent, target.source_notebook(aid).parent)
    nbformat.write(without_hidden_tests(read_notebook(course.source_notebook(aid))),
                   str(target.source_notebook(aid)))


def _template_gradebook(course: Course, aid: str, chash: str) -> Path:
    """A gradebook holding only this assignment, made once per process (nbgrader generate_assignment)."""
    key = (str(course.root), aid + chash)
    if key in _TEMPLATES and _TEMPLATES[key].exists():
        return _TEMPLATES[key]
    from nbgrader.apps import NbGraderAPI

    base = Path(tempfile.mkdtemp(prefix=f"cs231n-template-{aid}-"))
    # removed when this process exits, a pool's worker process included (atexit is not run there)
    Finalize(None, shutil.rmtree, args=(str(base),), kwargs={"ignore_errors": True}, exitpriority=0)
    tmpl = Course(root=base / "course")
    _copy_kernel_source(course, tmpl, aid)
    config = nbgrader_config(course)
    config.CourseDirectory.root = str(tmpl.root)
    config.CourseDirectory.db_url = tmpl.db_url
    result = NbGraderAPI(config=config).generate_assignment(aid, force=True, create=True)
    if not result.get("success"):
        raise RuntimeError(f"nbgrader generate_assignment {aid} failed: {(result.get('log') or '')[-2000:]}")
    _TEMPLATES[key] = tmpl.gradebook
    return tmpl.gradebook


def _kernel_problem(out: dict) -> str | None:
    """A short reason from nbgrader's log when nbgrader itself did not finish normally."""
    if out.get("success"):
        return None
    log = (out.get("log") or "") + (out.get("error") or "")
    last = [line for line in log.splitlines() if "ERROR" in line or "Error" in line][-1:]
    return "nbgrader autograde failed" + (f": {last[0].strip()[:300]}" if last else "")


def explain(events: list[dict]) -> str:
    """What happened to a notebook run, one part per event: "cell 38 (solver.train()) ran past ..."."""
    parts = []
    for e in events:
        cell = f"cell {e['cell']}" + (f" ({e['first_line']})" if e.get("first_line") else "")
        if e["kind"] != "died":
            parts.append(f"{cell} {e['detail']}")
        elif e["cell"] < 1:
            parts.append(f"the notebook {e['detail']} before any cell ran")
        else:
            parts.append(f"{cell}: the notebook {e['detail']} while it ran; the cells after it did not run")
    return "; ".join(parts)


def _execute(course: Course, task: dict, limits: Limits, base: Path, run: dict) -> None:
    """Run the notebook through real nbgrader autograde in a private course under `base`.

    Fills run["kernel_scores"], ["autograded"] and ["execution"] (state, events, reason).
    """
    aid, student = task["assignment"], task["student"]
    execution = run["execution"]
    priv = Course(root=base / "course")
    _copy_kernel_source(course, priv, aid)
    shutil.copy(_template_gradebook(course, aid, task.get("course_hash", "")), priv.gradebook)
    sub_dir = priv.root / "submitted" / student / aid
    sub_dir.mkdir(parents=True)
    (sub_dir / f"{aid}.ipynb").write_text(grading_text(task["notebook"]))
    kernel_dir = base / "kernel"
    kernel_dir.mkdir()
    step = {"course": str(priv.root), "config_course": str(course.root), "assignment": aid,
            "student": student, "kernel_workdir": str(kernel_dir), "sandboxed": task["sandboxed"],
            "limits": limits}
    out = run_step(step, limits.submission_timeout)
    run["kernel_scores"] = out["kernel_scores"]
    executed = priv.root / "autograded" / student / aid / f"{aid}.ipynb"
    if executed.exists():
        run["autograded"] = executed.read_text()
    events = out.get("events", [])
    execution["events"] = events
    died = [e for e in events if e["kind"] == "died"]
    problem = _kernel_problem(out)
    if run["autograded"] is None:
        execution.update(state="failed", infrastructure=not died,
                         reason=explain(died) or problem or "nbgrader wrote no executed notebook")
    else:
        execution["state"] = "stopped" if died else "done"
        execution["reason"] = "; ".join(r for r in (explain(events), problem if not died else None) if r)
    execution["infrastructure"] = execution["infrastructure"] or any(e["infrastructure"] for e in events)


_ASSIGNMENTS: dict[tuple[str, str, str], tuple] = {}


def _assignment(course: Course, aid: str, chash: str) -> tuple:
    """(source notebook, its layout, the spec's checks, their cases and expected answers, a
    folder for their shared case files), made once per grading process for one content of the
    assignment (`course_hash`); the expected answers come from the course's cache
    (`verify/cache.py`) when another process computed them already."""
    key = (str(course.root), aid, chash)
    if key not in _ASSIGNMENTS:
        source = read_notebook(course.source_notebook(aid))
        checks = load_spec(course.spec(aid))
        if len(_ASSIGNMENTS) >= 3:  # a batch sends them in order; each may hold a dataset
            shutil.rmtree(_ASSIGNMENTS.pop(next(iter(_ASSIGNMENTS)))[4], ignore_errors=True)
        shared = Path(tempfile.mkdtemp(prefix=f"cs231n-cases-{aid}-"))
        # removed when this process exits, a pool's worker process included (atexit is not run there)
        Finalize(None, shutil.rmtree, args=(str(shared),), kwargs={"ignore_errors": True}, exitpriority=0)
        _ASSIGNMENTS[key] = (source, layout(source), checks, cached_prepare(course.root, aid, checks, prepare),
                             shared)
    return _ASSIGNMENTS[key]


def _verify(course: Course, aid: str, student_nb, lay: Layout, sandbox: Sandbox, limits: Limits,
            base: Path, result: dict, chash: str = "") -> None:
    """Score the exercises out of the kernel; fills result["scores"], ["checks"], ["notes"]."""
    t0 = time.monotonic()
    source, _, checks, prepared, shared = _assignment(course, aid, chash) if chash else (
        read_notebook(course.source_notebook(aid)), None, load_spec(course.spec(aid)), None, None)
    verification = run_verification(aid, source, student_nb, checks, sandbox, workdir=base,
                                    build_timeout=limits.cell_timeout + 60, prepared=prepared,
                                    shared_cases=shared, fonts_dir=fonts_dir(course.root))
    result["timings"]["verification"] = time.monotonic() - t0
    result["timings"]["verification_cpu"] = verification.cpu_seconds
    for gid, res in verification.results.items():
        result["checks"][gid] = res.as_dict()
        if gid in result["scores"] and res.passed:
            result["scores"][gid] = float(lay.tests[gid])
    result["notes"] = verification.notes
    result["verifier_output"] = verification.output[-5000:]
