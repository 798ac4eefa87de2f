"""Scores first, then the notebook runs for feedback: real batches on the fixture course (real
nbgrader, the real sandbox when bubblewrap works).

Each submission is the honest one with one cell changed or added, so the cell that stops the
run is known: a kernel that exits, one that crashes (SIGSEGV), a cell that never ends (its
time limit), each followed by cells whose outputs show whether they ran.
"""

import json

import nbformat
import pytest
from graderhelpers import AID, FIXTURES, copy_course

from autograder.__main__ import main
from autograder.autograde import autograde
from autograder.course import Course
from autograder.feedback import feedback
from autograder.grades import grade_rows
from autograder.notebook import clip_words, first_line
from autograder.sandbox.bwrap import bwrap_status
from autograder.sandbox.limits import Limits

HONEST = FIXTURES / "adversarial" / "honest.ipynb"
LIMITS = Limits(memory_bytes=2 * 2**30, cell_timeout=10, submission_timeout=240)
UNSANDBOXED = bwrap_status() is not None
FULL = {"test_affine": 2.0, "test_count": 1.0}

# A code cell added after the count_labels exercise cell (the 8th cell): it becomes cell 9.
ADDED = {
    "exits": "import os\nos._exit(7)",
    "crashes": "import ctypes\nctypes.string_at(0)",
    "never-ends": "while True:\n    pass",
    # 6 s of work while three busy processes share its one core: well over the 10 s limit on
    # the clock, under it in the cell's own time (the time it did not wait for the processor)
    "slowed": "import os, subprocess, sys, time\n"
              "os.sched_setaffinity(0, {0})\n"
              "hog = 'import os\\nos.sched_setaffinity(0, {0})\\nwhile True:\\n    pass'\n"
              "hogs = [subprocess.Popen([sys.executable, '-c', hog]) for _ in range(3)]\n"
              "work, clock = time.process_time(), time.time()\n"
              "while time.process_time() - work < 6:\n"
              "    pass\n"
              "for h in hogs:\n"
              "    h.kill()\n"
              "print(f'slowed: {time.time() - clock:.0f} s on the clock')",
}


def _submit(course: Course, student: str, added: str | None = None) -> None:
    nb = nbformat.read(str(HONEST), as_version=4)
    if added is not None:
        at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "ex_count")
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(added))
    target = course.root / "submitted" / student / AID / f"{AID}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))


def _result(course: Course, student: str) -> dict:
    return json.loads((course.root / "autograded" / student / AID / "result.json").read_text())


def _executed(course: Course, student: str):
    return nbformat.read(str(course.root / "autograded" / student / AID / f"{AID}.ipynb"), as_version=4)


def _text(cell) -> str:
    return "".join(o.get("text", "") + "".join(o.get("traceback", [])) for o in cell.get("outputs", []))


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("runs"))
    _submit(course, "honest")
    for student, cell in ADDED.items():
        _submit(course, student, cell)
    summary = autograde(course, [AID], workers=2, unsandboxed=UNSANDBOXED, limits=LIMITS, progress=False)
    return course, summary


@pytest.mark.slow
def test_scores_come_from_the_verification_before_any_run(batch):
    course, summary = batch
    assert not summary.failed and len(summary.graded) == 5, summary.lines()
    assert 0 < summary.scores_seconds <= summary.seconds
    for student in ["honest", *ADDED]:
        assert _result(course, student)["scores"] == FULL   # the added cells never reach the verifier
    assert summary.lines()[0].startswith("scores: graded 5, failed 0")
    assert {r[0]: r[2] for r in summary.runs} == {"honest": "done", "exits": "stopped", "crashes": "stopped",
                                                  "never-ends": "done", "slowed": "done"}


@pytest.mark.slow
@pytest.mark.parametrize("student, limit, detail", [
    ("exits", "exit", "exited with code 7"),
    ("crashes", "signal", "was killed by signal SIGSEGV"),
])
def test_a_death_is_explained_and_keeps_the_earlier_outputs(batch, student, limit, detail):
    course, _ = batch
    execution = _result(course, student)["execution"]
    assert execution["state"] == "stopped" and not execution["infrastructure"]
    [event] = execution["events"]
    assert (event["kind"], event["cell"], event["limit"]) == ("died", 9, limit)
    assert event["first_line"] == first_line(ADDED[student]) and detail in event["detail"]
    reason = f"cell 9 ({first_line(ADDED[student])}): the notebook {event['detail']} while it ran"
    assert execution["reason"].startswith(reason)
    rows = {r["student"]: r for r in grade_rows(course, [AID])[1]}
    assert reason in rows[student]["reason"] and "not the student's doing" not in rows[student]["reason"]
    cells = _executed(course, student).cells
    assert "PASS" in _text(cells[5])                           # test_affine, before it, kept its output
    assert "the cells after it did not run" in _text(cells[8])  # the cell that stopped it says so
    assert _text(cells[9]) == ""                               # test_count did not run
    page = feedback(course, [AID], student=student, log=lambda *_: None)[0].read_text()
    assert "with the outputs of every cell that ran; it stopped: cell 9" in page


@pytest.mark.slow
def test_a_cell_over_its_time_limit_is_interrupted_and_the_next_cells_run(batch):
    course, _ = batch
    execution = _result(course, "never-ends")["execution"]
    [event] = execution["events"]
    assert (event["kind"], event["cell"], event["limit"]) == ("interrupted", 9, "time")
    assert execution["state"] == "done" and not execution["infrastructure"]
    assert event["own_seconds"] >= 10 and event["seconds"] >= event["own_seconds"]   # its own time
    cells = _executed(course, "never-ends").cells
    assert "ran past the 10 s limit per cell and was interrupted" in _text(cells[8])
    assert "PASS" in _text(cells[9])   # test_count ran after it, in the same kernel


@pytest.mark.slow
def test_scores_only_then_the_runs_alone_then_force(tmp_path, capsys):
    course = copy_course(tmp_path)
    _submit(course, "honest")
    first = autograde(course, [AID], unsandboxed=UNSANDBOXED, limits=LIMITS, scores_only=True, progress=False)
    assert len(first.graded) == 1 and first.runs == [] and first.runs_pending == 1
    result = _result(course, "honest")
    assert result["scores"] == FULL and "execution" not in result
    logged = []
    page = feedback(course, [AID], log=logged.append)[0].read_text()
    assert "not run yet (the scores above are final" in page
    assert "1 report(s) show the submitted notebook without outputs (no executed notebook):" in logged

    runs = autograde(course, [AID], unsandboxed=UNSANDBOXED, limits=LIMITS, feedback_only=True, progress=False)
    assert runs.graded == [] and runs.skipped == 1 and [r[2] for r in runs.runs] == ["done"]
    assert _result(course, "honest")["execution"]["state"] == "done"
    page = feedback(course, [AID], log=lambda *_: None)[0].read_text()
    assert "below, with its outputs." in page and "PASS" in page

    # a run that was not the student's doing is done again by the next plain autograde, alone
    path = course.root / "autograded" / "honest" / AID / "result.json"
    result = json.loads(path.read_text())
    result["execution"]["infrastructure"] = True
    path.write_text(json.dumps(result))
    again = autograde(course, [AID], unsandboxed=UNSANDBOXED, limits=LIMITS, progress=False)
    assert again.skipped == 1 and again.graded == [] and [r[2] for r in again.runs] == ["done"]
    assert not _result(course, "honest")["execution"]["infrastructure"]
    nothing = autograde(course, [AID], unsandboxed=UNSANDBOXED, limits=LIMITS, progress=False)
    assert nothing.skipped == 1 and nothing.runs_skipped == 1 and nothing.runs == []

    # make autograde FORCE=1 STUDENT=honest: both phases again, on request
    capsys.readouterr()
    argv = ["autograde", "--course", str(course.root), "--student", "honest", "--force", "--scores-only"]
    assert main(argv + (["--unsandboxed"] if UNSANDBOXED else [])) == 0
    assert "scores: graded 1, failed 0, skipped (unchanged) 0" in capsys.readouterr().out


def test_reasons_are_cut_at_a_word():
    text = "cell 38 (solver.train()): the notebook used more than 6144 MiB of memory (all its processes together)"
    for width in range(12, len(text)):
        cut = clip_words(text, width)
        assert len(cut) <= width and cut.endswith("...")
        assert text.startswith(cut[:-3]) and text[len(cut) - 3] in " ,;:)"  # the next character ends a word
    assert clip_words(text, len(text)) == text
    assert first_line("\n\n   x = 1  \ny = 2") == "x = 1"


def test_make_autograde_passes_force_and_the_phase_options():
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("make") is None:
        pytest.skip("no make here")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(["make", "-n", "autograde", "FORCE=1", "STUDENT=ada", "ASSIGNMENT=01_knn",
                          "SCORES_ONLY=1", "BLAS_THREADS=2"], cwd=root, capture_output=True, text=True).stdout
    line = next(line for line in out.splitlines() if "-m autograder autograde" in line)
    for option in ("--force", "--student ada", "--assignment 01_knn", "--scores-only", "--blas-threads 2"):
        assert option in line, line


@pytest.mark.slow
def test_a_cell_slowed_by_a_busy_machine_is_not_stopped(batch):
    course, _ = batch
    execution = _result(course, "slowed")["execution"]
    printed = _text(_executed(course, "slowed").cells[8])
    assert int(printed.split()[1]) > LIMITS.cell_timeout, printed   # the premise: over the limit on the clock
    assert execution["events"] == [] and execution["reason"] == "" and execution["state"] == "done"
    assert "PASS" in _text(_executed(course, "slowed").cells[9])


@pytest.mark.parametrize("stop_reason, status, sandboxed, limit, words, not_students", [
    ("used more than 6144 MiB of memory (all its processes together)", -9, True, "memory", "6144 MiB", False),
    ("started more than 64 processes at once", -9, True, "processes", "64 processes", False),
    ("wrote more than 1024 MiB to disk (its working folder and /tmp)", -9, True, "disk", "1024 MiB to disk", False),
    ("ran past the 1200 s limit per submission", -9, True, "time", "1200 s limit per submission", False),
    (None, 128 + 11, True, "signal", "killed by signal SIGSEGV", False),
    (None, -9, True, "signal", "from outside the sandbox by signal SIGKILL", True),
    (None, -11, False, "signal", "killed by signal SIGSEGV", False),
    (None, 3, True, "exit", "exited with code 3", False),
    (None, None, True, "unknown", "stopped answering", True),
])
def test_why_a_kernel_died(stop_reason, status, sandboxed, limit, words, not_students):
    from autograder.sandbox.kernel import death_cause

    got_limit, detail, infrastructure = death_cause(stop_reason, status, sandboxed)
    assert (got_limit, infrastructure) == (limit, not_students) and words in detail
