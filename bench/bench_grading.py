"""Grading throughput: plain serial nbgrader autograde vs our pipeline (sandbox + verification, WORKERS=2).

    python -m bench grading                      # 40 submissions of 01_knn (the fixture if absent)
    BENCH_GRADING_N=10 BENCH_GRADING_ASSIGNMENT=00_fixture python -m bench grading

Per-submission overhead is the pipeline's cost per submission (wall time x workers / N)
minus a bare nbclient execution of the same notebook.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.course import Course, ensure_venv_on_path, nbgrader_config
from autograder.demo import simulated_students
from autograder.notebook import read_notebook
from autograder.sandbox.bwrap import bwrap_status
from autograder.sandbox.limits import Limits

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "grader_fixtures" / "course"


def _setup(tmp: Path, aid: str, n: int) -> Course:
    real = Course() if Course().source_notebook(aid).exists() else Course(root=FIXTURE)
    course = Course(root=tmp / "grading", assignments_dir=tmp / "assignments")
    shutil.copytree(real.source_notebook(aid).parent, course.source_notebook(aid).parent)
    (course.root / "verify").mkdir(parents=True)
    shutil.copy(real.spec(aid), course.spec(aid))
    shutil.copy(Course().root / "nbgrader_config.py", course.root / "nbgrader_config.py")
    from autograder.release import release

    release(course, [aid], log=lambda *_: None)
    students = simulated_students(read_notebook(course.source_notebook(aid)), read_notebook(course.released(aid)))
    for i in range(n):
        path = course.root / "submitted" / f"s{i:03d}" / aid / f"{aid}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(students["complete"], str(path))
    return course


@contextlib.contextmanager
def stderr_into(path: Path):
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


def stderr_summary(path: Path) -> str:
    """One line on what the baseline runs wrote to stderr, most frequent line first."""
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if not lines:
        return "the baseline runs wrote nothing to stderr"
    line, count = collections.Counter(lines).most_common(1)[0]
    return (f"the baseline runs wrote {len(lines)} lines to stderr (not shown); most often, "
            f"{count} times: {line[:100]}{'...' if len(line) > 100 else ''}")


def bare_execution(course: Course, aid: str, repeats: int = 2) -> float:
    """Seconds for nbclient to execute one complete submission (best of `repeats`)."""
    import nbclient

    path = course.root / "submitted" / "s000" / aid / f"{aid}.ipynb"
    best = float("inf")
    for _ in range(repeats):
        nb = read_notebook(path)
        start = time.perf_counter()
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}}).execute()
        best = min(best, time.perf_counter() - start)
    return best


def plain_nbgrader(course: Course, aid: str, n: int) -> float:
    """Seconds for serial `nbgrader autograde` (no sandbox, no verification) of n submissions."""
    from nbgrader.apps import NbGraderAPI

    ensure_venv_on_path()
    api = NbGraderAPI(config=nbgrader_config(course))
    start = time.perf_counter()
    for i in range(n):
        result = api.autograde(aid, f"s{i:03d}", force=True, create=True)
        assert result["success"], result.get("log")
    return time.perf_counter() - start


def pipeline(course: Course, aid: str, workers: int) -> float:
    """Seconds for our autograde (sandboxed kernel + verification + gradebook merge)."""
    from autograder.autograde import autograde

    start = time.perf_counter()
    summary = autograde(course, [aid], workers=workers, unsandboxed=bwrap_status() is not None,
                        limits=Limits(cell_timeout=600), force=True, progress=False)
    assert not summary.failed, summary.lines()
    return time.perf_counter() - start


def main() -> None:
    n = int(os.environ.get("BENCH_GRADING_N", "40"))
    aid = os.environ.get("BENCH_GRADING_ASSIGNMENT") or (
        "01_knn" if Course().source_notebook("01_knn").exists() else "00_fixture")
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course = _setup(Path(tmp), aid, n)
        # Plain nbgrader starts its kernels over TCP; each one warns about it on stderr.
        noise = Path(tmp) / "baseline-stderr.log"
        with stderr_into(noise):
            t_exec = bare_execution(course, aid)
        rows = []
        plain_course = Course(root=Path(tmp) / "plain")
        shutil.copytree(course.root, plain_course.root)
        with stderr_into(noise):
            t_plain = plain_nbgrader(plain_course, aid, n)
        print(stderr_summary(noise))
        rows.append(("nbgrader autograde, serial, unsandboxed", 1, t_plain))
        rows.append(("ours: sandbox + verification, WORKERS=2", 2, pipeline(course, aid, 2)))
        print(f"assignment {aid}, {n} submissions, {os.cpu_count()} cores; "
              f"bare nbclient execution of one notebook: {t_exec:.2f} s")
        print(f"{'pipeline':<42} {'workers':>7} {'wall s':>8} {'s/sub (wall)':>13} {'overhead/sub':>13}")
        for name, workers, wall in rows:
            per = wall / n
            overhead = wall * workers / n - t_exec
            print(f"{name:<42} {workers:>7} {wall:>8.1f} {per:>13.2f} {overhead:>13.2f}")


if __name__ == "__main__":
    main()
