"""Time to final scores: our two-phase grading against today's pipeline and plain nbgrader.

    python -m bench grading                               # one complete student per notebook, all eight
    BENCH_GRADING_N=2 BENCH_GRADING_ASSIGNMENTS=01_knn,05_cnn python -m bench grading

On the same simulated complete students (`autograder.demo.simulated_students`), in one run:

- ours: `autograde` with WORKERS=2 (the default of a 2-core machine): phase 1 scores every
  submission by the verification, phase 2 runs each notebook in the sandboxed kernel for its
  feedback page. Time to scores per submission per core = the wall time until the last score
  was merged x workers / submissions.
- today's pipeline (before scores came first): every submission's kernel run, then its
  verification, before its score: per submission per core, the sum of both phases' task times
  (the same kernel run and verification; our dispatch and merge are not even counted).
- plain serial `nbgrader autograde` (unsandboxed, its own in-kernel tests) on the same notebooks.
- a bare verification: the same checks in a child forked from this process (numpy, the library
  and the spec already imported; no sandbox, no new interpreter, no gradebook). Our overhead
  per submission is our time to scores per submission per core minus this.

Scores must be identical: ours, the in-kernel tests' and plain nbgrader's (asserted), except
the held-out tasks', which only the grader's verification can score (its images are the grader's). The table
prints ratios, the machine (CPU, cores, BLAS and its threads) and the load average at start
and end. Every BLAS here uses one thread (as the grader's sandboxes do), so a busy machine's
spinning threads do not decide the result.
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


def bare_verification(course: Course, aid: str, student: str = "s00") -> tuple[float, dict[str, bool]]:
    """(seconds, {grade_id: passed}) of the verification of one submission, bare and in process.

    In a child forked from this process (numpy, the library and the autograder already
    imported, no data loaded yet: as cold as one of our grading processes meeting its first
    submission of the assignment, less the new interpreter): the spec's cases and expected
    answers, then each forbidden-group's namespace and checks in a forked grandchild (the
    worker's own functions; no sandbox, no job files, no gradebook), then the comparisons.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        code = 1
        try:
            outcome = _bare(course, aid, student)
            os.write(write_fd, json.dumps(outcome).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    seconds, passed = json.loads(data)
    return seconds, passed


def _bare(course: Course, aid: str, student: str) -> tuple[float, dict[str, bool]]:
    from autograder.verify import runner, worker
    from autograder.verify.spec import load_spec

    start = time.perf_counter()
    checks = load_spec(course.spec(aid))
    lay = layout(read_notebook(course.source_notebook(aid)))
    exercises = student_code_cells(read_notebook(course.root / "submitted" / student / aid / f"{aid}.ipynb"),
                                   lay.exercises)
    groups: dict[tuple, list] = {}
    for item in runner.prepare(aid, checks):
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


def ours(course: Course, ids: list[str]):
    """Our autograde of every submission (both phases): (summary, {(student, id): result.json})."""
    from autograder.autograde import autograde

    summary = autograde(course, ids, workers=WORKERS, unsandboxed=bwrap_status() is not None,
                        limits=Limits(cell_timeout=600, submission_timeout=3600), force=True, progress=False)
    assert not summary.failed, summary.lines()
    results = {}
    for path in (course.root / "autograded").glob("*/*/result.json"):
        r = json.loads(path.read_text())
        results[(r["student"], r["assignment"])] = r
    return summary, results


def main() -> None:
    from threadpoolctl import threadpool_limits

    n = int(os.environ.get("BENCH_GRADING_N", "1"))
    wanted = os.environ.get("BENCH_GRADING_ASSIGNMENTS", "")
    ids = [a for a in Course().assignment_ids() if not wanted or a in wanted.split(",")]
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # the plain nbgrader kernels this process starts
    threadpool_limits(1)
    print(f"machine: {machine()}")
    print(f"load average at start: {load()}")
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course = _setup(Path(tmp), ids, n)
        plain_course = Course(root=Path(tmp) / "plain", assignments_dir=course.assignments_dir)
        shutil.copytree(course.root, plain_course.root)
        subs = len(ids) * n

        start = time.perf_counter()
        summary, results = ours(course, ids)
        wall = time.perf_counter() - start
        print(f"ours done ({wall:.0f} s, load {load()}); " + " | ".join(summary.lines()[:2]), flush=True)
        bare = {aid: bare_verification(course, aid) for aid in ids}
        # Held-out tasks are scored on images only the grader has: nbgrader's in-kernel tests
        # (ours and plain nbgrader's) cannot score them the same way, so they are left out
        # of those two comparisons (the verification must still give them full marks).
        held = {aid: {g for g, c in load_spec(course.spec(aid)).items() if c.secret} for aid in ids}
        for (student, aid), r in sorted(results.items()):
            got = {g: float(v) for g, v in r["scores"].items()}
            assert got == {g: float(v) for g, v in r["max_scores"].items()}, (student, aid, r["checks"])
            # nbgrader's own test results (written answers, 0 until graded by hand, left out)
            kernel = {g: float(v) for g, v in r["kernel_scores"].items() if g in r["max_scores"]}
            assert {g: v for g, v in got.items() if g not in held[aid]} == {
                g: v for g, v in kernel.items() if g not in held[aid]}, (student, aid, r["kernel_scores"])
            assert all(bare[aid][1].values()), (aid, bare[aid][1])
            assert r["execution"]["state"] == "done" and not r["execution"]["events"], (student, aid, r["execution"])
        subs = len(ids) * n
        early = summary.scores_seconds * WORKERS / subs
        early_today = sum(r["seconds"] + r["execution"]["seconds"] for r in results.values()) / subs
        early_bare = sum(b[0] for b in bare.values()) / len(bare)
        print(f"so far, per submission per core: ours {early:.2f} s, today {early_today:.2f} s "
              f"({early_today / early:.1f}x), bare {early_bare:.2f} s; now plain nbgrader", flush=True)
        with quiet_stderr(Path(tmp) / "plain-stderr.log"):
            t_plain, plain_scores = plain_nbgrader(plain_course, ids, n)
        for (student, aid), r in sorted(results.items()):
            assert {g: float(v) for g, v in r["scores"].items() if g not in held[aid]} == {
                g: float(v) for g, v in plain_scores[(student, aid)].items()
                if g in r["max_scores"] and g not in held[aid]}, (student, aid)

        scores_core = summary.scores_seconds * WORKERS / subs
        verify_sum = sum(r["seconds"] for r in results.values())
        run_sum = sum(r["execution"]["seconds"] for r in results.values())
        today = (verify_sum + run_sum) / subs
        plain = t_plain / subs
        bare_mean = sum(b[0] for b in bare.values()) / len(bare) if bare else 0.0
        print(f"{subs} complete submissions ({n} per notebook: {', '.join(ids)}), WORKERS={WORKERS}; "
              "scores identical (ours = in-kernel tests = plain nbgrader = full marks)")
        print(f"{'per submission per core':<58} {'seconds':>8} {'ours is':>9}")
        print(f"{'ours: time to final scores (phase 1)':<58} {scores_core:>8.2f} {'':>9}")
        print(f"{'today: kernel run + verification before the score':<58} {today:>8.2f} "
              f"{today / scores_core:>8.1f}x")
        print(f"{'plain serial nbgrader autograde':<58} {plain:>8.2f} {plain / scores_core:>8.1f}x")
        print(f"{'bare in-process verification':<58} {bare_mean:>8.2f}")
        print(f"overhead per submission (ours - bare): {scores_core - bare_mean:.2f} s (target < 1 s); "
              f"time to scores {summary.scores_seconds:.1f} s, to every feedback run {wall:.1f} s (wall)")
        print(f"{'notebook':<22} {'bare verify s':>13} {'our verify s':>13} {'kernel run s':>13}")
        for aid in ids:
            mine = [r for (s, a), r in results.items() if a == aid]
            print(f"{aid:<22} {bare[aid][0]:>13.2f} {sum(r['seconds'] for r in mine) / len(mine):>13.2f} "
                  f"{sum(r['execution']['seconds'] for r in mine) / len(mine):>13.2f}")
    print(f"load average at end: {load()}")


if __name__ == "__main__":
    main()
