"""One submission through real `nbgrader autograde`, in a private course copy.

`run_step(step)` runs in the grading worker's own process (nbgrader is imported once per
worker); the student's code runs only in the sandboxed kernel. A watchdog kills the
kernel's sandbox when the whole notebook exceeds its wall-clock limit, so nbgrader
returns with the cells that had run. For debugging:
python -m autograder.pipeline.nbgrader_run STEP.json WALL_SECONDS prints run_step's result as JSON.

step: {"course": private course root, "config_course": the real course root,
"assignment", "student", "kernel_workdir", "sandboxed", "limits": a Limits}; in STEP.json,
"limits" holds the Limits fields.
The private course holds the source notebook and a private gradebook; the kernel
(SandboxedKernelManager) sees neither.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path


def run_step(step: dict, wall_timeout: float) -> dict:
    """Autograde one submission in the private course `step["course"]`.

    Returns: {"success": nbgrader's verdict, "log" and "error": the tails of its log and error
    text, "kernel_scores": {grade_id: nbgrader's auto_score}, "wall_timeout": True when the
    watchdog stopped the notebook at `wall_timeout` seconds, "limit": the whole-tree limit
    (memory, processes, disk) that stopped the kernel, or None}.
    """
    import threading

    from nbgrader.apps import NbGraderAPI

    from autograder.course import Course
    from autograder.sandbox.kernel import kill_kernels, limit_reason, run_events

    course = Course(root=Path(step["course"]))
    config = _config(step, course)
    api = NbGraderAPI(config=config)
    timed_out = threading.Event()

    def on_timeout() -> None:
        timed_out.set()
        kill_kernels(step["kernel_workdir"], f"ran past the {wall_timeout:g} s limit per submission")
    watchdog = threading.Timer(wall_timeout, on_timeout)
    watchdog.daemon = True
    watchdog.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy autoflush warnings
            result = api.autograde(step["assignment"], step["student"], force=True, create=True)
    finally:
        watchdog.cancel()
        kill_kernels(step["kernel_workdir"])
    scores = _kernel_scores(course, step)
    return {"success": bool(result.get("success")), "log": (result.get("log") or "")[-6000:],
            "error": (result.get("error") or "")[-3000:], "kernel_scores": scores,
            "wall_timeout": timed_out.is_set(), "limit": limit_reason(step["kernel_workdir"]),
            "events": run_events(step["kernel_workdir"])}


def _config(step: dict, course):
    """nbgrader's Config for one step: the course's own settings, the private course and
    gradebook, the sandboxed kernel with the step's limits in place of nbgrader's Execute."""
    from nbgrader.converters import Autograde

    from autograder.course import Course, nbgrader_config
    from autograder.sandbox.kernel import SandboxedExecute

    config = nbgrader_config(Course(root=Path(step["config_course"])))
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.db_url = course.db_url
    defaults = Autograde().autograde_preprocessors
    config.Autograde.autograde_preprocessors = [
        SandboxedExecute if p.__name__ == "Execute" else p for p in defaults]
    config.Autograde.create_student = True
    limits = step["limits"]
    config.Execute.timeout = int(limits.cell_timeout)
    config.Execute.interrupt_on_timeout = True
    config.Execute.raise_on_iopub_timeout = False  # output lost to the size cap: later cells still run
    config.SandboxedKernelManager.workdir = step["kernel_workdir"]
    config.SandboxedKernelManager.sandboxed = bool(step["sandboxed"])
    config.SandboxedKernelManager.limits = limits
    config.SandboxedExecute.limits = limits
    return config


def _kernel_scores(course, step: dict) -> dict:
    """{grade_id: nbgrader's auto_score} of the step's submission in the private gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    try:
        with Gradebook(course.db_url) as gb:
            sub = gb.find_submission_notebook(step["assignment"], step["assignment"], step["student"])
            for grade in sub.grades:
                scores[grade.name] = grade.auto_score
    except MissingEntry:
        pass
    return scores


if __name__ == "__main__":
    from autograder.sandbox.limits import Limits

    step = json.loads(Path(sys.argv[1]).read_text())
    step["limits"] = Limits(**step.get("limits", {}))
    print(json.dumps(run_step(step, float(sys.argv[2]))))
