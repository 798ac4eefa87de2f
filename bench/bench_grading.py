"""Time to final scores: our two-phase grading against today's pipeline and plain nbgrader.

    python -m bench grading                               # N=4 complete students per notebook, all eight
    BENCH_GRADING_N=2 BENCH_GRADING_ASSIGNMENTS=01_knn,05_cnn python -m bench grading

On the same simulated complete students (`autograder.demo.simulated_students`), in one run:

- ours, time to scores (phase 1, `autograde --scores-only`, WORKERS=2, the default of a 2-core
  machine) per submission per core = the wall time until the last score was merged x workers /
  submissions; measured twice, each on a fresh copy of the course (no expected-answers cache):
  - at a class-like N (`BENCH_GRADING_N` students per notebook, default 4): what an
    assignment costs once per run (its cases and expected answers, the pool's processes, the
    shared case files) is spread over N submissions, as over a class (at 300 students it is
    spread further still, so this figure is an upper bound);
  - at N=1 (one student per notebook): every per-assignment cost is a per-submission cost.
- today's pipeline (before scores came first): every submission's kernel run, then its
  verification, before its score: per submission per core, the sum of both tasks' times
  (our feedback run of each notebook's first student, phase 2 of the same pipeline, and its
  verification at N=1; our dispatch and merge are not even counted).
- plain serial `nbgrader autograde` (unsandboxed, its own in-kernel tests) on the first student
  of each notebook: its time is the notebook's execution, the same for every student.
- a bare verification: the same checks in a child forked from this process (numpy, the library
  and the spec imported, the cases and expected answers computed before the clock starts: at
  class scale they are computed once per assignment; no sandbox, no new interpreter, no
  gradebook), one at a time. Our overhead per submission is our time to scores per submission
  per core minus this. Both are wall-clock times, stretched by a busy machine; the CPU
  seconds per submission (ours: each task's grading process and its sandboxed workers, from
  result.json's timings; bare: the forked child's) are printed beside them, whatever the load. (Two bare verifications at once are no fairer twin of our two workers:
  they train the same held-out model at the same moment, while our workers mix heavy and light
  submissions; on a busy machine they measured twice one alone.)

Scores must be identical: ours (every submission), the in-kernel tests' and plain nbgrader's
(asserted), except the held-out tasks', which only the grader's verification can score (its
images are the grader's). The table prints ratios, the machine (CPU, cores, BLAS and its
threads) and the load average at start and end. Every BLAS here uses one thread (as the
grader's sandboxes do), so a busy machine's spinning threads do not decide the result.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.course import Course, ensure_venv_on_path, nbgrader_config
from autograder.demo import simulated_students
from autograder.notebook import layout, read_notebook, student_code_cells
from autograder.sandbox.bwrap import bwrap_status
from autograder.sandbox.limits import Limits
from autograder.verify.spec import load_spec

WORKERS = 2


def machine() -> str:
    """CPU model, cores, numpy's BLAS and its thread count, Python."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    blas = "unknown BLAS"
    with contextlib.suppress(Exception):
        import numpy  # noqa: F401  (loads its BLAS, which threadpoolctl then finds)
        from threadpoolctl import threadpool_info

        libs = [f"{i['internal_api']} {i.get('version') or ''} ({i['num_threads']} thread(s))".replace("  ", " ")
                for i in threadpool_info() if i.get("user_api") == "blas"]
        blas = ", ".join(libs) or blas
    return f"{model}, {os.cpu_count()} cores, BLAS {blas}, Python {platform.python_version()}"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _setup(tmp: Path, ids: list[str], n: int) -> Course:
    """A course in tmp with the assignments `ids`, released, and n complete students of each."""
    from autograder.release import release

    real = Course()
    course = Course(root=tmp / "grading", assignments_dir=tmp / "assignments")
    (course.root / "verify").mkdir(parents=True)
    shutil.copy(real.root / "nbgrader_config.py", course.root / "nbgrader_config.py")
    for aid in ids:
        shutil.copytree(real.source_notebook(aid).parent, course.source_notebook(aid).parent)
        shutil.copy(real.spec(aid), course.spec(aid))
    release(course, ids, log=lambda *_: None)
    for aid in ids:
        complete = simulated_students(read_notebook(course.source_notebook(aid)),
                                      read_notebook(course.released(aid)))["complete"]
        for i in range(n):
            path = course.root / "submitted" / f"s{i:02d}" / aid / f"{aid}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(complete, str(path))
    return course


def bare_verification(course: Course, aid: str, student: str = "s00") -> tuple[float, dict[str, bool], float]:
    """(seconds, {grade_id: passed}, CPU seconds) of the verification of one submission, bare
    and in process.

    The spec's cases and expected answers are computed first, in this process (once per
    assignment, as at class scale); then a child forked from it verifies the submission (numpy,
    the library, the spec and the cases in memory, no data loaded by the notebook yet; less
    than one of our grading processes pays, which starts a new interpreter per
    forbidden-group): each forbidden-group's namespace and checks in a forked grandchild (the
    worker's own functions; no sandbox, no job files, no gradebook), then the comparisons.
    """
    from autograder.verify import runner
    from autograder.verify.spec import load_spec

    prepared = runner.prepare(aid, load_spec(course.spec(aid)))
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        code = 1
        try:
            outcome = _bare(course, aid, student, prepared)
            os.write(write_fd, json.dumps(outcome).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        data = f.read()
    _, _, usage = os.wait4(pid, 0)   # the child's CPU time, its grandchildren's included
    seconds, passed = json.loads(data)
    return seconds, passed, usage.ru_utime + usage.ru_stime


def _bare(course: Course, aid: str, student: str, prepared: list) -> tuple[float, dict[str, bool]]:
    from autograder.verify import runner, worker

    start = time.perf_counter()
    lay = layout(read_notebook(course.source_notebook(aid)))
    exercises = student_code_cells(read_notebook(course.root / "submitted" / student / aid / f"{aid}.ipynb"),
                                   lay.exercises)
    groups: dict[tuple, list] = {}
    for item in prepared:
        groups.setdefault(tuple(sorted(item.check.forbidden)), []).append(item)
    passed = {}
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp:
        for gi, (forbidden, items) in enumerate(groups.items()):
            folder = Path(tmp) / f"g{gi}"
            folder.mkdir()
            pid = os.fork()
            if pid == 0:  # build the namespace and answer every check of the group
                code = 1
                try:
                    for dotted in forbidden:
                        worker.forbid(dotted)
                    ns, _ = worker.build_namespace(lay.setup, exercises, 600.0)
                    for i, it in enumerate(items):
                        answers = worker.evaluate(it.check.call, ns, it.cases, tuple(it.check.allowed),
                                                  None, tuple(it.check.mutable))
                        worker._save_results(str(folder / f"result_{i}.npz"), answers)
                    code = 0
                finally:
                    os._exit(code)
            os.waitpid(pid, 0)
            for i, it in enumerate(items):
                passed[it.grade_id] = runner._score(folder / f"result_{i}.npz", it, 0.0).passed
    return time.perf_counter() - start, passed


def plain_nbgrader(course: Course, ids: list[str], n: int) -> tuple[float, dict]:
    """(seconds, {(student, id): {grade_id: score}}) of serial `nbgrader autograde`, unsandboxed."""
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI

    ensure_venv_on_path()
    config = nbgrader_config(course)
    # nbgrader's defaults give up on a busy machine (IOPub output not there within 4 s, a cell
    # over 30 s): an instructor there would raise them, as our pipeline's limits are.
    config.Execute.iopub_timeout = 120
    config.Execute.timeout = 3600
    api = NbGraderAPI(config=config)
    start = time.perf_counter()
    for aid in ids:
        for i in range(n):
            result = api.autograde(aid, f"s{i:02d}", force=True, create=True)
            assert result["success"], (aid, (result.get("log") or "")[-2000:])
    seconds = time.perf_counter() - start
    scores = {}
    with Gradebook(course.db_url) as gb:
        for aid in ids:
            for i in range(n):
                nb = gb.find_submission_notebook(aid, aid, f"s{i:02d}")
                scores[(f"s{i:02d}", aid)] = {g.name: g.auto_score for g in nb.grades if g.max_score_gradecell}
    return seconds, scores


@contextlib.contextmanager
def quiet_stderr(path: Path):
    """Send this process's stderr (file descriptor 2, inherited by kernels) to `path`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def ours(course: Course, ids: list[str], student: str | None = None, phase: str = "scores"):
    """Our autograde of every submission ("scores": phase 1 only; "run": the feedback runs only,
    of submissions already scored): (summary, {(student, id): result.json})."""
    from multiprocessing import forkserver

    from autograder.autograde import autograde

    # Each run starts as `make autograde` does, without the pool's server of an earlier run.
    with contextlib.suppress(Exception):
        forkserver._forkserver._stop()
    summary = autograde(course, ids, student=student, workers=WORKERS, unsandboxed=bwrap_status() is not None,
                        limits=Limits(cell_timeout=600, submission_timeout=3600), force=phase == "scores",
                        scores_only=phase == "scores", feedback_only=phase == "run", progress=False)
    assert not summary.failed and not summary.problems, summary.lines()
    results = {}
    for path in (course.root / "autograded").glob("*/*/result.json"):
        r = json.loads(path.read_text())
        results[(r["student"], r["assignment"])] = r
    return summary, results


def _copy_course(course: Course, target: Path, students: int) -> Course:
    """A copy of `course` (released, with the submissions of its first `students` students)
    under `target` (made before any grading: its gradebook knows the assignments only)."""
    copy = Course(root=target, assignments_dir=course.assignments_dir)
    shutil.copytree(course.root, copy.root, ignore=shutil.ignore_patterns("autograded", ".cache"))
    for folder in (copy.root / "submitted").iterdir():
        if int(folder.name[1:]) >= students:
            shutil.rmtree(folder)
    return copy


def main() -> None:
    from threadpoolctl import threadpool_limits

    n = int(os.environ.get("BENCH_GRADING_N", "4"))
    wanted = os.environ.get("BENCH_GRADING_ASSIGNMENTS", "")
    ids = [a for a in Course().assignment_ids() if not wanted or a in wanted.split(",")]
    if n < 1 or not ids:
        raise SystemExit(f"BENCH_GRADING_N must be >= 1 (got {n}) and BENCH_GRADING_ASSIGNMENTS must name "
                         f"assignments of {Course().assignment_ids()} (got {wanted!r})")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # the plain nbgrader kernels this process starts
    threadpool_limits(1)
    print(f"machine: {machine()}")
    print(f"load average at start: {load()}")
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course = _setup(Path(tmp), ids, n)
        one = _copy_course(course, Path(tmp) / "one", 1)
        plain_course = _copy_course(course, Path(tmp) / "plain", 1)
        held = {aid: {g for g, c in load_spec(course.spec(aid)).items() if c.secret} for aid in ids}

        one_summary, one_results = ours(one, ids)
        print(f"ours at N=1 done (load {load()}): " + one_summary.lines()[0], flush=True)
        summary, results = ours(course, ids)
        print(f"ours at N={n} done (load {load()}): " + summary.lines()[0], flush=True)
        assert len(results) == len(ids) * n and len(one_results) == len(ids), (len(results), len(one_results))
        for (student, aid), r in sorted({**results, **{("one/" + k[0], k[1]): v for k, v in one_results.items()}}.items()):
            got = {g: float(v) for g, v in r["scores"].items()}
            assert got == {g: float(v) for g, v in r["max_scores"].items()}, (student, aid, r["checks"])
        run_summary, runs = ours(course, ids, student="s00", phase="run")
        print(f"feedback runs of s00 done (load {load()}): " + run_summary.lines()[-1], flush=True)
        for aid in ids:
            r = runs[("s00", aid)]
            assert r["execution"]["state"] == "done" and not r["execution"]["events"], (aid, r["execution"])
            # nbgrader's own test results (written answers, 0 until graded by hand, left out)
            kernel = {g: float(v) for g, v in r["kernel_scores"].items() if g in r["max_scores"]}
            assert {g: float(v) for g, v in r["scores"].items() if g not in held[aid]} == {
                g: v for g, v in kernel.items() if g not in held[aid]}, (aid, r["kernel_scores"])
        bare = {aid: bare_verification(course, aid) for aid in ids}
        for aid in ids:
            assert all(bare[aid][1].values()), (aid, bare[aid][1])
        print(f"bare verifications done (load {load()}); now plain nbgrader", flush=True)
        with quiet_stderr(Path(tmp) / "plain-stderr.log"):
            t_plain, plain_scores = plain_nbgrader(plain_course, ids, 1)
        for aid in ids:
            r = results[("s00", aid)]
            assert {g: float(v) for g, v in r["scores"].items() if g not in held[aid]} == {
                g: float(v) for g, v in plain_scores[("s00", aid)].items()
                if g in r["max_scores"] and g not in held[aid]}, aid

        subs = len(ids) * n
        scores_core = summary.scores_seconds * WORKERS / subs
        scores_one = one_summary.scores_seconds * WORKERS / len(ids)
        today = sum(one_results[("s00", aid)]["seconds"] + runs[("s00", aid)]["execution"]["seconds"]
                    for aid in ids) / len(ids)
        plain = t_plain / len(ids)
        bare_mean = sum(b[0] for b in bare.values()) / len(bare)
        print(f"{subs} complete submissions ({n} per notebook: {', '.join(ids)}), WORKERS={WORKERS}; "
              "scores identical (ours = in-kernel tests = plain nbgrader = full marks)")
        print(f"{'per submission per core':<62} {'seconds':>8} {'ours is':>9}")
        print(f"{f'ours: time to final scores (phase 1), N={n}':<62} {scores_core:>8.2f} {'':>9}")
        print(f"{'ours: time to final scores (phase 1), N=1':<62} {scores_one:>8.2f} "
              f"{scores_one / scores_core:>8.1f}x")
        print(f"{'today: kernel run + verification before the score':<62} {today:>8.2f} "
              f"{today / scores_core:>8.1f}x")
        print(f"{'plain serial nbgrader autograde':<62} {plain:>8.2f} {plain / scores_core:>8.1f}x")
        print(f"{'bare in-process verification':<62} {bare_mean:>8.2f}")
        print(f"overhead per submission (ours - bare): N={n}: {scores_core - bare_mean:.2f} s (target < 1 s); "
              f"N=1: {scores_one - bare_mean:.2f} s")
        ours_cpu = sum(r["timings"]["cpu"] for r in results.values()) / subs
        bare_cpu = sum(b[2] for b in bare.values()) / len(bare)
        print(f"CPU seconds per submission (whatever the load): ours {ours_cpu:.2f} (the grading process and "
              f"its sandboxed workers; not the batch's own process), bare {bare_cpu:.2f}, "
              f"difference {ours_cpu - bare_cpu:.2f}")
        print(f"time to scores {summary.scores_seconds:.1f} s for {subs} submissions, "
              f"{one_summary.scores_seconds:.1f} s for {len(ids)} (wall)")
        # our verify s: the task's time in the grading process, its per-process costs included
        print(f"{'notebook':<22} {'bare verify s':>13} {'our verify s':>13} {'bare CPU s':>11} {'our CPU s':>10} "
              f"{'kernel run s':>13}")
        for aid in ids:
            mine = [r for (s, a), r in results.items() if a == aid]
            print(f"{aid:<22} {bare[aid][0]:>13.2f} {sum(r['seconds'] for r in mine) / len(mine):>13.2f} "
                  f"{bare[aid][2]:>11.2f} {sum(r['timings']['cpu'] for r in mine) / len(mine):>10.2f} "
                  f"{runs[('s00', aid)]['execution']['seconds']:>13.2f}")
    print(f"load average at end: {load()}")


if __name__ == "__main__":
    main()
