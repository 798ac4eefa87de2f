"""Running a batch in two phases, serially, in a process pool or on a Dask cluster, each
result merged into the gradebook as it arrives:

1. scores: the verification of every submission (what the grades are made of);
2. feedback runs: real nbgrader executes each notebook in the sandboxed kernel, for the
   feedback page. It never changes a score.

Both phases share one queue of tasks on the same workers, scores first: the workers start
the first notebook runs as soon as the last verifications are handed out, and the scores are
final (gradebook and result.json) before the first run ends.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import Course
from autograder.grades import flags
from autograder.pipeline.collect import Submission, collect
from autograder.pipeline.gradebook import (
    ensure_assignment,
    is_done,
    merge,
    merge_run,
    run_done,
    scored,
)
from autograder.pipeline.submission import (
    content_hash,
    course_hash,
    grade_submission,
    new_result,
    new_run,
)
from autograder.sandbox.bwrap import SandboxUnavailable, bwrap_status
from autograder.sandbox.limits import Limits
from cs231n_lib.atomic import write_atomically


@dataclass
class Summary:
    """What a batch did: graded, failed (with reasons), flagged for the instructor, skipped, seconds;
    then the notebook runs.

    graded/failed/flagged/skipped are about scores; runs holds (student, id, state, reason,
    infrastructure) per notebook run for feedback; scores_seconds is the time to final scores.
    """

    graded: list[tuple[str, str, float, float]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    flagged: list[tuple[str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: int = 0
    seconds: float = 0.0
    scores_seconds: float = 0.0
    runs: list[tuple[str, str, str, str, bool]] = field(default_factory=list)
    runs_skipped: int = 0
    runs_pending: int = 0

    def lines(self) -> list[str]:
        out = [f"scores: graded {len(self.graded)}, failed {len(self.failed)}, skipped (unchanged) "
               f"{self.skipped}, final after {self.scores_seconds:.1f} s"]
        for student, aid, why in self.failed:
            out.append(f"  FAILED {student} {aid}: {why}")
        for student, aid, why in self.flagged:
            out.append(f"  FLAGGED {student} {aid} (graded; for you to look at): {why}")
        for p in self.problems:
            out.append(f"  NOT GRADED {p}")
        states = [r[2] for r in self.runs]
        out.append(f"feedback runs: {states.count('done')} ran to the end, {states.count('stopped')} stopped "
                   f"at a cell, {states.count('failed')} failed, skipped (unchanged) {self.runs_skipped}"
                   + (f", not run (--scores-only) {self.runs_pending}" if self.runs_pending else "")
                   + f"; all done after {self.seconds:.1f} s")
        for student, aid, state, why, infrastructure in self.runs:
            if why and (state != "done" or infrastructure):
                then = " [not the student's doing: the next run runs it again]" if infrastructure else ""
                out.append(f"  {state.upper()} {student} {aid}: {why}{then}")
        return out


def _record_merge(course: Course, summary: Summary, result: dict) -> None:
    who = (result["student"], result["assignment"])
    try:
        merged = merge(course, result)
    except Exception as exc:  # a full disk, a locked gradebook: nothing saved, so the next run grades it
        summary.failed.append((*who, f"the result could not be saved ({type(exc).__name__}: {str(exc)[:200]}); "
                                     "the next run grades it again"))
        return
    if result.get("infrastructure"):
        then = "the next run grades it again" if merged else "its earlier grade of the same notebook is kept"
        summary.failed.append((*who, f"{result['reason']} [not the student's doing: {then}]"))
    elif result["status"] == "graded":
        summary.graded.append((result["student"], result["assignment"], sum(result["scores"].values()),
                               sum(result["max_scores"].values())))
        if flags(result):
            summary.flagged.append((*who, flags(result)))
    else:
        summary.failed.append((result["student"], result["assignment"], result["reason"]))


def _record_run(course: Course, summary: Summary, run: dict) -> bool:
    """Merge one notebook run; False when its scores are not merged yet (try again later)."""
    execution = run["execution"]
    try:
        merged = merge_run(course, run)
    except Exception as exc:
        summary.runs.append((run["student"], run["assignment"], "failed",
                             f"the notebook run could not be saved ({type(exc).__name__}: {str(exc)[:200]})", True))
        return True
    if merged is None:
        return False
    reason = execution["reason"] if merged else f"{execution['reason']} (the earlier run is kept)"
    summary.runs.append((run["student"], run["assignment"], execution["state"], reason,
                         execution["infrastructure"]))
    return True


def autograde(course: Course, ids: list[str], student: str | None = None, zips: Path | None = None,
              workers: int = 1, scheduler: str | None = None, unsandboxed: bool = False,
              limits: Limits | None = None, force: bool = False, scores_only: bool = False,
              feedback_only: bool = False, progress: bool = True, log=print) -> Summary:
    """Score all collected submissions of `ids`, then run their notebooks for feedback.

    Inputs: course; ids, assignment ids; student, only this student; zips, a folder of
    <student>_<id>.zip; workers, processes on this machine; scheduler, a Dask scheduler
    address (then workers is ignored); unsandboxed, allow grading without bwrap; limits;
    force, score and run again submissions that did not change; scores_only, skip the
    notebook runs (a later plain run does them); feedback_only, only the notebook runs (of
    submissions whose scores are merged). Returns: a Summary. Raises SandboxUnavailable when
    no sandbox works and unsandboxed is False; ValueError for bad arguments.
    """
    from tqdm import tqdm

    start = time.monotonic()
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if scores_only and feedback_only:
        raise ValueError("scores_only and feedback_only exclude each other: pass at most one")
    status = bwrap_status()
    if status is not None and not unsandboxed:
        raise SandboxUnavailable(f"{status}. Refusing to run student code unsandboxed; "
                                 "pass --unsandboxed (make autograde UNSANDBOXED=1) to do it anyway.")
    if status is not None:
        log(f"WARNING: grading UNSANDBOXED ({status})")
    subs, problems = collect(course, ids, student, zips)
    summary = Summary(problems=problems)
    for aid in sorted({s.assignment for s in subs}):
        ensure_assignment(course, aid)
    common = {"sandboxed": status is None, "limits": limits or Limits()}
    tasks = _tasks(course, ids, subs, force, common, summary, scores_only, feedback_only)
    bar = tqdm(total=len(tasks), desc="autograde", unit="task", disable=not progress or not tasks)
    scores_left = sum(t["phase"] == "scores" for t in tasks)
    waiting: list[dict] = []  # runs that arrived before their submission's scores

    def done(result: dict) -> None:
        nonlocal scores_left
        if result.get("phase") == "run":
            if not _record_run(course, summary, result):
                waiting.append(result)
        else:
            _record_merge(course, summary, result)
            scores_left -= 1
            if scores_left == 0:
                summary.scores_seconds = time.monotonic() - start
            for run in [r for r in waiting if (r["student"], r["assignment"]) == (result["student"], result["assignment"])]:
                waiting.remove(run)
                if not _record_run(course, summary, run):
                    summary.runs.append((run["student"], run["assignment"], "failed",
                                         "its scores were not saved, so the run was not kept", True))
        bar.set_postfix_str(f"{result.get('phase', 'scores')} {result['student']} {result['assignment']}",
                            refresh=False)
        bar.update(1)

    try:
        if scheduler:
            _run_dask(tasks, scheduler, done)
        elif workers == 1 or len(tasks) <= 1:
            for task in tasks:
                done(_safe_grade(task))
        else:
            _run_pool(tasks, workers, done)
    finally:
        bar.close()
    for run in waiting:
        summary.runs.append((run["student"], run["assignment"], "failed",
                             "its scores were not saved, so the run was not kept", True))
    summary.seconds = time.monotonic() - start
    if not any(t["phase"] == "scores" for t in tasks):
        summary.scores_seconds = 0.0
    return summary


def _tasks(course: Course, ids: list[str], subs: list[Submission], force: bool, common: dict,
           summary: Summary, scores_only: bool = False, feedback_only: bool = False) -> list[dict]:
    """The tasks of a batch, every scores task before every run task; zipped notebooks are
    copied to submitted/."""
    hashes = {aid: course_hash(course, aid) for aid in ids}
    scores, runs = [], []
    for sub in subs:
        h = content_hash(sub.notebook, sub.reject, hashes[sub.assignment])
        task = {"course": str(course.root), "assignment": sub.assignment, "student": sub.student,
                "notebook": sub.notebook, "reject": sub.reject, "hash": h,
                "course_hash": hashes[sub.assignment], **common}
        queued = len(scores) + len(runs)
        if feedback_only or (not force and is_done(course, h, sub.student, sub.assignment)):
            summary.skipped += 1
        else:
            scores.append({**task, "phase": "scores"})
        runnable = sub.notebook is not None and not sub.reject
        if not runnable:
            pass
        elif not force and run_done(course, h, sub.student, sub.assignment):
            summary.runs_skipped += 1
        elif scores_only:
            summary.runs_pending += 1
        elif feedback_only and not scored(course, h, sub.student, sub.assignment):
            summary.problems.append(f"{sub.student} {sub.assignment}: no scores for this notebook yet, so no "
                                    "feedback run (run make autograde first)")
        else:
            runs.append({**task, "phase": "run"})
        if sub.notebook is not None and not sub.origin.startswith(str(course.root / "submitted")):
            target = course.root / "submitted" / sub.student / sub.assignment / f"{sub.assignment}.ipynb"
            if len(scores) + len(runs) > queued:  # graded or run now: from this zip
                target.parent.mkdir(parents=True, exist_ok=True)
                write_atomically(target, sub.notebook)
    return scores + runs


def _failure(task: dict, reason: str) -> dict:
    """The result of a task that failed for a reason that is not the student's doing."""
    if task.get("phase") == "run":
        return new_run(task, state="failed", reason=reason, infrastructure=True)
    return new_result(task, status="failed", reason=reason, infrastructure=True)


def _safe_grade(task: dict) -> dict:
    from threadpoolctl import threadpool_limits

    try:
        with threadpool_limits(task["limits"].blas_threads):  # the grader's own numpy, one per core too
            return grade_submission(task)
    except Exception as exc:
        return _failure(task, f"grading error: {type(exc).__name__}: {str(exc)[:300]}")


def _task_key(task: dict) -> str:
    return f"{task.get('phase', 'scores')}/{task['student']}/{task['assignment']}/{task['hash'][:16]}"


def _tracked_grade(task: dict, track_dir: str, grade) -> dict:
    """grade(task) in a pool's worker, leaving a file in track_dir that names the task while it runs.

    The worker's temporary folders go to track_dir/tmp-<pid>, so that those of a worker that
    dies are removed by the batch.
    """
    work = Path(track_dir) / f"tmp-{os.getpid()}"
    work.mkdir(exist_ok=True)
    tempfile.tempdir = str(work)
    marker = Path(track_dir) / f"{os.getpid()}-{hashlib.sha256(_task_key(task).encode()).hexdigest()[:16]}"
    marker.write_text(_task_key(task))
    try:
        return grade(task)
    finally:
        marker.unlink(missing_ok=True)


def _run_pool(tasks: list[dict], workers: int, done) -> None:
    """Grade `tasks` in a pool of `workers` processes, calling done(result) as each arrives.

    When a worker process dies (BrokenProcessPool), every submission not graded yet is graded
    again in a fresh pool. Those that were being graded when it died are suspects: each is
    then graded alone in a pool of its own, so a death costs only the submission that caused
    it (an infrastructure failure, graded again by the next run).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("forkserver")
    # The pool's processes fork from a server that has imported the grading code once.
    ctx.set_forkserver_preload(["autograder.pipeline.submission", "autograder.pipeline.nbgrader_run"])
    remaining = {_task_key(t): t for t in tasks}
    suspects: set[str] = set()
    blind_breaks = 0  # pools that broke with no submission in flight (the machinery itself fails)
    with tempfile.TemporaryDirectory(prefix="cs231n-pool-") as track_dir:
        while remaining:
            alone = [k for k in remaining if k in suspects]
            batch = [remaining[k] for k in remaining if k not in suspects] if not alone else [remaining[alone[0]]]
            size = 1 if alone else workers
            with ProcessPoolExecutor(max_workers=size, mp_context=ctx) as pool:
                futures = {pool.submit(_tracked_grade, t, track_dir, _safe_grade): t for t in batch}
                try:
                    for fut in as_completed(futures):
                        task = futures[fut]
                        try:
                            result = fut.result()
                        except BrokenProcessPool:
                            raise
                        except Exception as exc:
                            result = _failure(task, f"worker error: {exc!r}"[:300])
                        remaining.pop(_task_key(task), None)
                        done(result)
                except BrokenProcessPool:
                    running = {p.read_text() for p in Path(track_dir).iterdir() if p.is_file()}
                    for p in Path(track_dir).iterdir():  # the broken pool's workers are gone
                        if p.is_dir():
                            shutil.rmtree(p, ignore_errors=True)
                        else:
                            p.unlink(missing_ok=True)
                    blind_breaks = 0 if alone or running & remaining.keys() else blind_breaks + 1
                    if blind_breaks >= 3:
                        for key in list(remaining):
                            done(_failure(remaining.pop(key), "the grading worker processes keep dying"))
                    elif alone or len(running & remaining.keys()) == 1:
                        for key in (alone[:1] if alone else running & remaining.keys()):
                            done(_failure(remaining.pop(key), "the grading worker process died while "
                                                              "grading this submission"))
                    else:
                        suspects |= running & remaining.keys()


def _run_dask(tasks: list[dict], scheduler: str, done) -> None:
    from dask.distributed import Client, as_completed

    with Client(scheduler, timeout="30s") as client:
        futures = []
        for phase, priority in (("scores", 1), ("run", 0)):  # scores first, wherever they run
            batch = [t for t in tasks if t["phase"] == phase]
            if batch:
                futures += client.map(_safe_grade, batch, pure=False, priority=priority,
                                      key=[f"{phase}-{t['student']}-{t['assignment']}-{t['hash'][:12]}"
                                           for t in batch])
        by_key = {f.key: t for f, t in zip(futures, [t for p in ("scores", "run") for t in tasks
                                                     if t["phase"] == p])}
        for fut in as_completed(futures):
            try:
                result = fut.result()
            except Exception as exc:
                result = _failure(by_key[fut.key], f"dask task failed: {exc!r}"[:300])
            done(result)
