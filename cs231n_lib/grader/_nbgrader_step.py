"""One submission through real `nbgrader autograde`, in a private course copy (run as a subprocess).

    python -m cs231n_lib.grader._nbgrader_step STEP.json

STEP.json: {"course": private course root, "config_course": the real course root,
"assignment", "student", "kernel_workdir", "sandboxed", "memory_bytes", "file_bytes",
"cell_timeout"}. Writes STEP.json's "out" file: {"success", "log", "kernel_scores"}.
The private course holds the source notebook and a private gradebook; the kernel
(SandboxedKernelManager) sees neither.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(step_file: str) -> int:
    step = json.loads(Path(step_file).read_text())
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.apps import NbGraderAPI
    from nbgrader.converters import Autograde

    from cs231n_lib.grader.course import Course, nbgrader_config
    from cs231n_lib.grader.kernel import SandboxedExecute

    course = Course(root=Path(step["course"]))
    config = nbgrader_config(Course(root=Path(step["config_course"])))
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.db_url = course.db_url
    defaults = Autograde().autograde_preprocessors
    config.Autograde.autograde_preprocessors = [
        SandboxedExecute if p.__name__ == "Execute" else p for p in defaults]
    config.Autograde.create_student = True
    config.Execute.timeout = int(step["cell_timeout"])
    config.Execute.interrupt_on_timeout = True
    config.SandboxedKernelManager.workdir = step["kernel_workdir"]
    config.SandboxedKernelManager.sandboxed = bool(step["sandboxed"])
    config.SandboxedKernelManager.memory_bytes = int(step["memory_bytes"])
    config.SandboxedKernelManager.file_bytes = int(step["file_bytes"])

    api = NbGraderAPI(config=config)
    result = api.autograde(step["assignment"], step["student"], force=True, create=True)
    scores = {}
    try:
        with Gradebook(course.db_url) as gb:
            sub = gb.find_submission_notebook(step["assignment"], step["assignment"], step["student"])
            for grade in sub.grades:
                scores[grade.name] = grade.auto_score
    except MissingEntry:
        pass
    out = {"success": bool(result.get("success")), "log": (result.get("log") or "")[-6000:],
           "error": (result.get("error") or "")[-3000:], "kernel_scores": scores}
    Path(step["out"]).write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
