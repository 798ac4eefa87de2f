"""One submission can never cost another a grade: real batches on the fixture course with one
hostile submission each beside honest ones (real nbgrader, the real sandbox), then a rerun.

Each hostile notebook is the honest one with a flood added to its `count_labels` exercise
cell, so both the kernel and the verification process meet it. The limits are small so a
flood is stopped in a second or two.
"""

import json
import os
import signal
import tempfile
from pathlib import Path

import nbformat
import pytest
from graderhelpers import AID, FIXTURES, copy_course

from autograder import autograde as batch
from autograder.autograde import autograde
from autograder.course import Course
from autograder.grades import reason
from autograder.pipeline.gradebook import merge
from autograder.sandbox.bwrap import bwrap_status
from autograder.sandbox.limits import Limits
from autograder.sandbox.watchdog import TreeWatchdog

HONEST = FIXTURES / "adversarial" / "honest.ipynb"
LIMITS = Limits(memory_bytes=1024 * 2**20, processes=32, disk_bytes=256 * 2**20, output_bytes=2**20,
                cell_timeout=30, submission_timeout=240)
FULL = {"test_affine": 2.0, "test_count": 1.0}
UNSANDBOXED = bwrap_status() is not None

pytestmark = pytest.mark.slow

# What each hostile submission adds to its count_labels cell.
FLOODS = {
    # four children of 300 MiB each: every process is under the limit, the tree is not
    "memory-flood": "import subprocess, sys, time\n"
                    "hogs = [subprocess.Popen([sys.executable, '-c', "
                    "\"b = b'x' * (300 * 2**20); import time; time.sleep(60)\"]) for _ in range(4)]\n"
                    "time.sleep(60)\n",
    # 16 MiB files into the working folder and /tmp until stopped (1.25 GiB in all); unless it is
    # stopped first, it ends in about half a second with an OSError when the 256 MiB /tmp is full
    "disk-flood": "import os, time\nchunk = b'x' * 2**20\n"
                  "for i in range(40):\n"
                  "    for folder in ('.', '/tmp'):\n"
                  "        with open(os.path.join(folder, f'fill{i}'), 'wb') as f:\n"
                  "            for _ in range(16):\n"
                  "                f.write(chunk)\n"
                  "time.sleep(60)\n",
    # 5 MiB in 128 KiB flushed prints, then one 8 MiB print (larger than a message may be)
    "output-flood": "for _ in range(40):\n"
                    "    print('x' * 2**17, flush=True)\n"
                    "print('y' * (8 * 2**20), flush=True)\n",
    # 80 processes at once
    "process-flood": "import subprocess, time\n"
                     "sleepers = [subprocess.Popen(['sleep', '60']) for _ in range(80)]\n"
                     "time.sleep(60)\n",
}


def _submit(course: Course, student: str, flood: str = "") -> None:
    nb = nbformat.read(str(HONEST), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex_count":
            cell.source += "\n" + flood
    target = course.root / "submitted" / student / AID / f"{AID}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))


def _result(course: Course, student: str) -> dict:
    return json.loads((course.root / "autograded" / student / AID / "result.json").read_text())


@pytest.fixture(scope="module", params=sorted(FLOODS))
def flooded(request, tmp_path_factory):
    """A batch of two honest submissions and one flood, two workers."""
    course = copy_course(tmp_path_factory.mktemp(request.param))
    _submit(course, "honest-a")
    _submit(course, "honest-b")
    _submit(course, request.param, FLOODS[request.param])
    summary = autograde(course, [AID], workers=2, unsandboxed=UNSANDBOXED, limits=LIMITS, progress=False)
    return request.param, course, summary


def test_a_flood_costs_only_its_own_submission(flooded):
    name, course, summary = flooded
    assert sorted(s for s, _, got, _ in summary.graded if got == 3.0) == sorted(
        ["honest-a", "honest-b"] + (["output-flood"] if name == "output-flood" else [])), summary.lines()
    assert not summary.failed, summary.lines()
    for student in ("honest-a", "honest-b"):
        honest = _result(course, student)
        assert honest["scores"] == FULL and honest["reason"] == "" and not honest["infrastructure"]
    hostile = _result(course, name)
    assert not hostile["infrastructure"], hostile["reason"]
    why = {"memory-flood": "used more than 1024 MiB of memory", "disk-flood": "wrote more than 256 MiB to disk",
           "process-flood": "started more than 32 processes"}
    limit = {"memory-flood": "memory", "disk-flood": "disk", "process-flood": "processes"}
    if name in why:
        # the kernel was stopped (the reason says which limit), and the verification process
        # too when it ran the same cell: that exercise scores 0, the other one its points
        # the feedback run stopped at the flooding cell, its limit named, the outputs before it kept
        assert len(hostile["execution"]["events"]) == 1, hostile["execution"]
        [event] = hostile["execution"]["events"]
        assert (event["kind"], event["cell"], event["limit"]) == ("died", 8, limit[name])
        assert why[name] in event["detail"] and why[name] in reason(hostile), hostile["execution"]
        executed = nbformat.read(str(course.root / "autograded" / name / AID / f"{AID}.ipynb"), as_version=4)
        printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
        assert "PASS affine_forward" in printed and "PASS count_labels" not in printed
        assert hostile["scores"] == {"test_affine": 2.0, "test_count": 0.0}, (hostile["checks"], hostile["notes"])
        assert any(why[name] in note for note in hostile["notes"]), hostile["notes"]


def test_a_cell_that_ends_over_the_disk_limit_is_the_one_that_stopped_the_notebook(course, monkeypatch):
    # The disk flood ends at once at its OSError (the bounded /tmp is full), and the notebook
    # ends a moment later: on a loaded machine the watchdog's next look (every 0.2 s) may come
    # when the kernel and its /tmp are gone. Here the watchdog never looks on its own, so only
    # its look at the end of each cell can stop the kernel: the run names the flooding cell.
    _submit(course, "disk-flood", FLOODS["disk-flood"])
    first = autograde(course, [AID], unsandboxed=UNSANDBOXED, limits=LIMITS, scores_only=True, progress=False)
    assert [g[0] for g in first.graded] == ["disk-flood"], first.lines()
    monkeypatch.setattr(TreeWatchdog, "_watch", lambda self: None)   # grading in this process (one worker)
    autograde(course, [AID], unsandboxed=UNSANDBOXED, limits=LIMITS, feedback_only=True, progress=False)
    execution = _result(course, "disk-flood")["execution"]
    assert [(e["kind"], e["cell"], e["limit"]) for e in execution["events"]] == [("died", 8, "disk")], execution
    assert "wrote more than 256 MiB to disk" in execution["reason"] and not execution["infrastructure"]
    executed = nbformat.read(str(course.root / "autograded" / "disk-flood" / AID / f"{AID}.ipynb"), as_version=4)
    flooding = executed.cells[7]
    if not UNSANDBOXED:   # it ended by itself, at the full /tmp (the host's /tmp has room: a cell time limit ends it)
        assert any(o.get("ename") == "OSError" for o in flooding.outputs), flooding.outputs
    assert "the cells after it did not run" in "".join(o.get("text", "") for o in flooding.outputs)
    assert executed.cells[8].outputs == []                                 # test_count did not run


def test_an_exercise_cell_that_ends_over_the_disk_limit_is_the_one_the_verifier_charges(course, monkeypatch):
    # In the verification half: a cell that writes 300 MiB (two files, each under the size
    # limit of one file) and ends; the worker goes on to its checks. With the watchdog's timed
    # looks off, only its look between cells (when the worker announces the next cell, or is
    # ready) can stop the worker: the flooding exercise scores 0 with the limit named, the other
    # keeps its points.
    monkeypatch.setattr(TreeWatchdog, "_watch", lambda self: None)   # grading in this process (one worker)
    _submit(course, "disk-flood", "for i in range(2):\n"
                                  "    with open(f'fill{i}', 'wb') as f:\n"
                                  "        f.write(b'x' * (150 * 2**20))\n")
    autograde(course, [AID], unsandboxed=UNSANDBOXED, limits=LIMITS, scores_only=True, progress=False)
    hostile = _result(course, "disk-flood")
    assert hostile["scores"] == {"test_affine": 2.0, "test_count": 0.0}, (hostile["checks"], hostile["notes"])
    assert any("wrote more than 256 MiB to disk" in note and "graded without it" in note
               for note in hostile["notes"]), hostile["notes"]


def test_output_beyond_the_cap_is_dropped_with_a_note(flooded):
    name, course, _ = flooded
    if name != "output-flood":
        pytest.skip("the output flood's batch only")
    hostile = _result(course, name)
    assert hostile["scores"] == FULL, hostile["checks"]
    executed = (course.root / "autograded" / name / AID / f"{AID}.ipynb").read_text()
    assert len(executed) < LIMITS.output_bytes + 2**20   # 13 MiB printed, about 1 MiB kept
    assert "[output beyond the 1 MiB kept per notebook was dropped by the grader]" in executed  # small prints
    assert "[an output larger than 1 MiB was refused by the grader" in executed              # the 8 MiB one
    assert "PASS count_labels" in executed                  # later cells ran and kept their output


def test_a_rerun_skips_every_genuine_result(flooded):
    _, course, _ = flooded
    summary = autograde(course, [AID], unsandboxed=UNSANDBOXED, limits=LIMITS, progress=False)
    assert summary.skipped == 3 and not summary.graded and not summary.failed


def _die_grading_one(task: dict) -> dict:
    """The grading function of a pool's worker, except that grading `worker-death` kills the worker."""
    if task["student"] == "worker-death":
        os.kill(os.getpid(), signal.SIGKILL)
    return batch.grade_submission(task)


def test_a_dead_worker_costs_one_submission_and_the_rerun_regrades_it(course, tmp_path, monkeypatch):
    for student in ("honest-a", "worker-death", "honest-b"):
        _submit(course, student)
    # the pool's workers import this module and run _die_grading_one in place of _safe_grade
    monkeypatch.setattr(batch, "_safe_grade", _die_grading_one)
    before = set(Path(tempfile.gettempdir()).glob(f"grade-{AID}-*"))
    summary = autograde(course, [AID], workers=2, unsandboxed=UNSANDBOXED, limits=LIMITS, progress=False)
    # the workers that were killed mid-grading leave no working folder of these students behind
    left = [p for p in set(Path(tempfile.gettempdir()).glob(f"grade-{AID}-*")) - before
            if {"honest-a", "honest-b", "worker-death"} & {s.name for s in p.glob("course/submitted/*")}]
    assert left == []
    assert sorted(s for s, _, got, _ in summary.graded if got == 3.0) == ["honest-a", "honest-b"], summary.lines()
    assert [(s, "the grading worker process died" in why) for s, _, why in summary.failed] == [
        ("worker-death", True)], summary.lines()
    dead = _result(course, "worker-death")
    assert dead["infrastructure"] and dead["status"] == "failed"

    monkeypatch.undo()
    rerun = autograde(course, [AID], unsandboxed=UNSANDBOXED, limits=LIMITS, progress=False)
    assert rerun.skipped == 2 and [g[:3] for g in rerun.graded] == [("worker-death", AID, 3.0)]
    assert not _result(course, "worker-death")["infrastructure"]

    # a later infrastructure failure of the same notebook never replaces its grade
    failure = {**_result(course, "honest-a"), "status": "failed", "infrastructure": True,
               "scores": {"test_affine": 0.0, "test_count": 0.0}, "reason": "grading error: disk full"}
    assert merge(course, failure) is False
    assert _result(course, "honest-a")["scores"] == FULL
