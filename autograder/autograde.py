"""Running a batch: grade every collected submission (serially, in a process pool or on a
Dask cluster) and merge each result into the gradebook as it arrives.
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
from autograder.pipeline.gradebook import ensure_assignment, is_done, merge
from autograder.pipeline.submission import content_hash, course_hash, grade_submission, new_result
from autograder.sandbox.bwrap import SandboxUnavailable, bwrap_status
from autograder.sandbox.limits import Limits
from cs231n_lib.atomic import write_atomically


@dataclass
class Summary:
    """What a batch did: graded, failed (with reasons), flagged for the instructor, skipped, seconds."""

    graded: list[tuple[str, str, float, float]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    flagged: list[tuple[str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [f"graded {len(self.graded)}, failed {len(self.failed)}, skipped (unchanged) {self.skipped}, "
               f"in {self.seconds:.1f} s"]
        for student, aid, why in self.failed:
            out.append(f"  FAILED {student} {aid}: {why}")
        for student, aid, why in self.flagged:
            out.append(f"  FLAGGED {student} {aid} (graded; for you to look at): {why}")
        for p in self.problems:
            out.append(f"  NOT GRADED {p}")
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


def autograde(course: Course, ids: list[str], student: str | None = None, zips: Path | None = None,
              workers: int = 1, scheduler: str | None = None, unsandboxed: bool = False,
              limits: Limits | None = None, force: bool = False, execute: bool = True,
              progress: bool = True, log=print) -> Summary:
    """Grade all collected submissions of `ids` and merge them into the course gradebook.

    Inputs: course; ids, assignment ids; student, only this student; zips, a folder of
    <student>_<id>.zip; workers, processes on this machine; scheduler, a Dask scheduler
    address (then workers is ignored); unsandboxed, allow grading without bwrap; limits;
    force, regrade unchanged submissions; execute, run the notebook through nbgrader
    (False: verification only). Returns: a Summary. Raises SandboxUnavailable when no
    sandbox works and unsandboxed is False.
    """
    from tqdm import tqdm

    start = time.monotonic()
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
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
    common = {"sandboxed": status is None, "limits": limits or Limits(), "execute": execute}
    tasks = _tasks(course, ids, subs, force, common, summary)
    bar = tqdm(total=len(tasks), desc="autograde", unit="submission", disable=not progress or not tasks)

    def done(result: dict) -> None:
        _record_merge(course, summary, result)
        bar.set_postfix_str(f"{result['student']} {result['assignment']}", refresh=False)
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
    summary.seconds = time.monotonic() - start
    return summary


def _tasks(course: Course, ids: list[str], subs: list[Submission], force: bool, common: dict,
           summary: Summary) -> list[dict]:
    """One task dict per submission that needs grading; zipped notebooks are copied to submitted/."""
    hashes = {aid: course_hash(course, aid) for aid in ids}
    tasks = []
    for sub in subs:
        h = content_hash(sub.notebook, sub.reject, hashes[sub.assignment])
        if not force and is_done(course, h, sub.student, sub.assignment):
            summary.skipped += 1
            continue
        if sub.notebook is not None and not sub.origin.startswith(str(course.root / "submitted")):
            target = course.root / "submitted" / sub.student / sub.assignment / f"{sub.assignment}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, sub.notebook)
        tasks.append({"course": str(course.root), "assignment": sub.assignment, "student": sub.student,
                      "notebook": sub.notebook, "reject": sub.reject, "hash": h,
                      "course_hash": hashes[sub.assignment], **common})
    return tasks


def _safe_grade(task: dict) -> dict:
    try:
        return grade_submission(task)
    except Exception as exc:
        return new_result(task, status="failed", reason=f"grading error: {type(exc).__name__}: {str(exc)[:300]}",
                          infrastructure=True)


def _task_key(task: dict) -> str:
    return f"{task['student']}/{task['assignment']}/{task['hash'][:16]}"


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
                            result = new_result(task, status="failed", reason=f"worker error: {exc!r}"[:300],
                                                infrastructure=True)
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
                            done(new_result(remaining.pop(key), status="failed", infrastructure=True,
                                            reason="the grading worker processes keep dying"))
                    elif alone or len(running & remaining.keys()) == 1:
                        for key in (alone[:1] if alone else running & remaining.keys()):
                            done(new_result(remaining.pop(key), status="failed", infrastructure=True,
                                            reason="the grading worker process died while grading this "
                                                   "submission"))
                    else:
                        suspects |= running & remaining.keys()


def _run_dask(tasks: list[dict], scheduler: str, done) -> None:
    from dask.distributed import Client, as_completed

    with Client(scheduler, timeout="30s") as client:
        futures = client.map(_safe_grade, tasks, pure=False, key=[f"grade-{t['student']}-{t['assignment']}-"
                                                                   f"{t['hash'][:12]}" for t in tasks])
        by_key = {f.key: t for f, t in zip(futures, tasks)}
        for fut in as_completed(futures):
            try:
                result = fut.result()
            except Exception as exc:
                result = new_result(by_key[fut.key], status="failed", reason=f"dask task failed: {exc!r}"[:300],
                                    infrastructure=True)
            done(result)
