"""Out-of-kernel verification: score one student notebook against its assignment's spec.

For one student notebook, `run_verification` builds the student's namespace in a fresh
(sandboxed) process -- the source notebook's `verify-setup` cells, then the student's
exercise cells, run by `autograder.verify.worker` -- evaluates each check's `call` on the cases,
receives plain arrays back (see `plain.py`) and compares them here with `expected(case)`,
in the grader's own process and numpy. The spec API itself is in `spec.py`. Checks that forbid
or hide different things run in different processes.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any

import numpy as np

from autograder.i18n.messages import _
from autograder.notebook import layout, read_notebook, student_code_cells
from autograder.sandbox.bwrap import Sandbox, sandbox_env
from autograder.sandbox.watchdog import stat_fields, tree_pids
from autograder.verify.compare import Accepted, Flagged
from autograder.verify.plain import NotPlainError, load_plain, save_plain
from autograder.verify.rules import broke_the_rule
from autograder.verify.spec import Check, SpecError, case_seed, student_case
from autograder.verify.stubs import forbidden_mounts
from autograder.verify.worker import CHANGED_INPUT
from cs231n_lib.checks import describe
from cs231n_lib.i18n import ENV_VAR, language

MAX_STUDENT_TEXT = 400
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class CheckResult:
    """The outcome of one Check for one student; `flag`, a note for the instructor only."""

    grade_id: str
    passed: bool
    message: str
    cases_passed: int = 0
    cases_total: int = 0
    seconds: float = 0.0
    flag: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Verification:
    """All checks of one assignment for one student, plus notes (cells that raised, processes that died)."""

    results: dict[str, CheckResult]
    notes: list[str]
    output: str = ""
    cpu_seconds: float = 0.0   # CPU time of the worker processes (read before each was stopped)

    def as_dict(self) -> dict:
        return {"results": {k: v.as_dict() for k, v in self.results.items()},
                "notes": list(self.notes), "output": self.output}


@dataclass
class _Prepared:
    """One check with its cases and the grader's expected answers."""

    grade_id: str
    check: Check
    cases: list
    expected: list


def _clip(text: str, n: int = MAX_STUDENT_TEXT) -> str:
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else "?" for ch in str(text))
    return text if len(text) <= n else text[: n - 3] + "..."


def _case_label(case: dict) -> str:
    parts = []
    for k, v in student_case(case).items():
        parts.append(_("{name}: shape {shape}").format(name=k, shape=v.shape) if isinstance(v, np.ndarray)
                     else f"{k}={describe(v)[:40]}")
    return ", ".join(parts)


class _WorkerProcess:
    """The grader's end of one sandboxed `autograder.verify.worker` process, driven over pipes.

    Its protocol lines are read in bounded pieces (the student's code can write to that pipe):
    a line longer than MAX_LINE is discarded as it arrives and stands for a protocol error.
    A TreeWatchdog keeps the whole-tree limits; `death()` names the one that stopped it.
    """

    MAX_LINE = 64 * 1024

    def __init__(self, jobdir: Path, sandbox: Sandbox, extra_ro: tuple = (), skip: tuple = (),
                 fonts_dir: str | None = None):
        _prime_matplotlib(jobdir, fonts_dir)
        argv = [sys.executable, "-m", "autograder.verify.worker", str(jobdir), ",".join(map(str, skip))]
        # the worker writes its messages (the rule's, its notes) in the student's language
        sandbox = replace(sandbox, env={**sandbox.env, ENV_VAR: language()})
        cmd = sandbox.command(argv, jobdir, extra_ro=extra_ro)
        env = None
        if not sandbox.enabled:
            env = {**os.environ, **sandbox_env(jobdir, sandbox.limits.blas_threads), **sandbox.env}
            env.pop("NBGRADER_EXECUTION", None)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, cwd=jobdir, env=env,
                                     start_new_session=True)
        self.watchdog = sandbox.watch(self.proc.pid, (jobdir,))
        self.lines: queue.Queue = queue.Queue(maxsize=64)  # at most 64 lines of MAX_LINE wait here
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            self._read_lines()
        except (OSError, ValueError):
            pass
        self.lines.put(None)

    def _read_lines(self) -> None:
        while True:
            piece = self.proc.stdout.readline(self.MAX_LINE)
            if not piece:
                break
            if not piece.endswith(b"\n") and len(piece) >= self.MAX_LINE:
                while piece and not piece.endswith(b"\n"):  # drop the rest of an overlong line
                    piece = self.proc.stdout.readline(self.MAX_LINE)
                piece = b"(an overlong line)\n"
            self.lines.put(piece.decode("utf-8", errors="replace"))

    def wait_line(self, timeout: float) -> str | None:
        """The next protocol line, None at EOF, "timeout" when none came in time."""
        try:
            return self.lines.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return "timeout"

    def send(self, text: str) -> bool:
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def death(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        self.watchdog.stop()
        if self.watchdog.reason:
            return f"was stopped: it {self.watchdog.reason}"
        if code < 0:
            return f"was killed by signal {signal.Signals(-code).name}"
        return f"exited with code {code}"

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the worker's process tree so far, its finished children's
        included, from /proc (0 for what already ended unwaited)."""
        total = 0
        for pid in tree_pids(self.proc.pid):
            fields = stat_fields(pid)
            try:
                total += sum(int(x) for x in fields[11:15])   # utime stime cutime cstime
            except (TypeError, ValueError):
                continue
        return total / _CLOCK_TICKS

    def kill(self) -> None:
        self.watchdog.stop()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 5
        while self.reader.is_alive() and time.monotonic() < deadline:  # let the reader reach EOF
            try:
                self.lines.get(timeout=0.2)
            except queue.Empty:
                pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


@functools.cache
def _font_list(folder: str | None = None) -> Path | None:
    """matplotlib's font list (the fontlist-*.json its font manager writes to MPLCONFIGDIR),
    made by a plain `import matplotlib.font_manager` in `folder` (kept there for every grading
    process: the course's cache), or in a temporary folder of this process when None; None when
    that fails. Every worker's MPLCONFIGDIR (its job folder's .matplotlib) starts with a copy,
    so its `import matplotlib.pyplot` does not scan the system's fonts again."""
    if folder is not None:
        found = sorted(Path(folder).glob("fontlist-*.json"))
        if found:
            return found[0]
        try:
            Path(folder).mkdir(parents=True, exist_ok=True, mode=0o700)
            work = Path(tempfile.mkdtemp(prefix=".fonts-", dir=folder))
        except OSError:
            return _font_list(None)
    else:
        work = Path(tempfile.mkdtemp(prefix="cs231n-mplconfig-"))
        Finalize(None, shutil.rmtree, args=(str(work),), kwargs={"ignore_errors": True}, exitpriority=0)
    env = {**os.environ, "MPLCONFIGDIR": str(work), "MPLBACKEND": "Agg"}
    try:
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, timeout=120,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        made = next(iter(sorted(work.glob("fontlist-*.json"))), None)
        if folder is None or made is None:
            return made
        os.replace(made, Path(folder) / made.name)     # atomic: another process may do the same
        return Path(folder) / made.name
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        if folder is not None:
            shutil.rmtree(work, ignore_errors=True)


def _prime_matplotlib(jobdir: Path, fonts_dir: str | None) -> None:
    """Copy the grader's font list into the worker's matplotlib folder (see `_font_list`)."""
    fonts = _font_list(fonts_dir)
    if fonts is None:
        return
    target = jobdir / ".matplotlib"
    try:
        target.mkdir(exist_ok=True)
        shutil.copyfile(fonts, target / fonts.name)
    except OSError:
        pass


def prepare(assignment: str, checks: dict[str, Check]) -> list[_Prepared]:
    """Each check's cases (seeded per check) and expected answers; SpecError when the spec raises.

    The same for every submission of an assignment: a grading process may compute it once.
    A secret check is seeded with its held-out key (from load_spec); one without a key (built
    by hand, not loaded from a course) gets a fresh random key, never the public seed.
    """
    prepared = []
    for gid, check in checks.items():
        key = (check.key or secrets.token_bytes(32)) if check.secret else None
        rng = np.random.default_rng(case_seed(assignment, gid, key))
        try:
            cases = list(check.cases(rng))
            expected = [check.expected(dict(c)) for c in cases]
        except Exception as exc:
            raise SpecError(f"{assignment} check {gid}: the spec's cases/expected raised {exc!r}") from exc
        prepared.append(_Prepared(gid, check, cases, expected))
    return prepared


def run_verification(assignment: str, source_nb: str | Path | Any, student_nb: str | Path | Any,
                     checks: dict[str, Check], sandbox: Sandbox | None = None,
                     workdir: str | Path | None = None, build_timeout: float = 120.0,
                     prepared: list | None = None, shared_cases: str | Path | None = None,
                     fonts_dir: str | Path | None = None) -> Verification:
    """Score one student notebook against the checks of one assignment.

    Inputs: assignment id (seeds the cases); source_nb and student_nb, notebook paths or nodes;
    checks, {grade_id: Check} (from load_spec); sandbox (default: bwrap, which must work);
    workdir, a folder for the job files (default: a fresh temporary folder, removed after);
    build_timeout, seconds for the setup and exercise cells to run; prepared, what
    `prepare(assignment, checks)` returned for these checks (computed here when None);
    shared_cases, a folder of the grader's where the case files of these `prepared` checks are
    written once and then bound read-only into every sandbox that needs them (a grading
    process grading many submissions of one assignment), instead of a copy in every job folder;
    fonts_dir, where matplotlib's font list the workers start with is kept (`_font_list`).
    Returns: a Verification with one CheckResult per check, in the spec's order.
    Raises SpecError when the spec itself fails (a case generator or expected() raises).
    """
    sandbox = sandbox or Sandbox()
    src = source_nb if hasattr(source_nb, "cells") else read_notebook(source_nb)
    stu = student_nb if hasattr(student_nb, "cells") else read_notebook(student_nb)
    lay = layout(src)
    exercises = student_code_cells(stu, lay.exercises)
    notes: list[str] = []
    if not any(c["kind"] == "exercise" for c in exercises) and lay.exercises:
        notes.append("no exercise cells found in the submission")
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[_Prepared]] = {}
    for item in prepared if prepared is not None else prepare(assignment, checks):
        key = (tuple(sorted(item.check.forbidden)), tuple(sorted(item.check.hidden)))
        groups.setdefault(key, []).append(item)

    results: dict[str, CheckResult] = {}
    outputs = []
    cpu = [0.0]
    with tempfile.TemporaryDirectory(prefix="verify-", dir=workdir) as tmp:
        for gi, ((forbidden, hidden), items) in enumerate(groups.items()):
            jobdir = Path(tmp) / f"group{gi}"
            jobdir.mkdir()
            cases_dir = (_shared_cases(Path(shared_cases) / f"group{gi}", assignment, items)
                         if shared_cases is not None and sandbox.enabled else None)
            _write_job(jobdir, assignment, lay.setup, exercises, forbidden, hidden, items, sandbox, cases_dir)
            mounts = ((cases_dir, cases_dir),) if cases_dir is not None else ()
            if (forbidden or hidden) and sandbox.enabled:
                (Path(tmp) / f"stubs{gi}").mkdir()
                mounts += forbidden_mounts(forbidden, Path(tmp) / f"stubs{gi}")
                mounts += _hiding_mounts(hidden, Path(tmp) / f"stubs{gi}")
            _run_group(jobdir, items, sandbox, build_timeout, results, notes, mounts,
                       str(fonts_dir) if fonts_dir is not None else None, cpu)
            log = jobdir / "output.log"
            if log.exists():
                with open(log, errors="replace") as f:
                    outputs.append(f.read(20_000))
    ordered = {gid: results[gid] for gid in checks}
    return Verification(ordered, notes, _clip("".join(outputs), 20_000), cpu[0])


def _hiding_mounts(hidden: tuple[str, ...], where: Path) -> tuple[tuple[Path, Path], ...]:
    """Read-only bind mounts that hide each existing hidden path: an empty folder over a
    folder, an empty file over a file."""
    mounts = []
    for k, path in enumerate(Path(p).resolve() for p in hidden):
        if path.is_dir():
            (where / f"hidden{k}").mkdir()
            mounts.append((where / f"hidden{k}", path))
        elif path.exists():
            (where / f"hidden{k}").touch()
            mounts.append((where / f"hidden{k}", path))
    return tuple(mounts)


def _write_job(jobdir: Path, assignment: str, setup: list, exercises: list, forbidden: tuple,
               hidden: tuple, items: list[_Prepared], sandbox: Sandbox, cases_dir: Path | None = None) -> None:
    """job.json and cases_<i>.npz (what of each case the student's process may see): everything
    the worker reads. The case files go to jobdir, unless `cases_dir` holds them already."""
    job = {"setup": setup, "exercises": exercises, "forbidden": list(forbidden), "hidden": list(hidden),
           "cell_timeout": sandbox.limits.cell_timeout,
           "checks": [{"grade_id": it.grade_id, "call": it.check.call, "allowed": list(it.check.allowed),
                       "mutable": list(it.check.mutable)} for it in items]}
    if cases_dir is not None:
        job["cases_dir"] = str(cases_dir)
    (jobdir / "job.json").write_text(json.dumps(job))
    if cases_dir is None:
        _write_cases(jobdir, assignment, items)


def _write_cases(folder: Path, assignment: str, items: list[_Prepared]) -> None:
    for i, it in enumerate(items):
        try:
            save_plain(folder / f"cases_{i}.npz", [student_case(c) for c in it.cases])
        except NotPlainError as exc:
            raise SpecError(f"{assignment} check {it.grade_id}: cases must be plain values ({exc})") from None


def _shared_cases(folder: Path, assignment: str, items: list[_Prepared]) -> Path:
    """`folder` holding the case files of `items` (written the first time, then reused), read-only.

    Written into a temporary sibling and renamed into place, so a reader (another thread of a
    Dask worker) sees the whole folder or none; the sandbox binds it read-only.
    """
    folder = folder.resolve()
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        _write_cases(tmp, assignment, items)
        for path in tmp.iterdir():
            path.chmod(0o444)
        try:
            tmp.rename(folder)
        except OSError:       # another thread wrote it first
            pass
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _wait_ready(worker: _WorkerProcess, build_timeout: float) -> tuple[str | None, int | None]:
    """Follow the worker's `cell <i>` lines until it is ready, dies or runs out of time.

    Each `cell <i>` line and the ready line mean that the cell before has ended: the watchdog
    looks at the tree then (a disk flood that ended at its own OSError is caught even when the
    watchdog's timed looks would come too late), and only then is the worker told to `go` on.
    A tree over a limit is killed there and the cell that ended is the one that stopped it.

    Returns: (the last line: the ready JSON, None at EOF or "timeout"; the cell it was running).
    """
    deadline = time.monotonic() + build_timeout
    current = None
    while True:
        line = worker.wait_line(deadline - time.monotonic())
        if line is None or line == "timeout":
            return line, current
        if worker.watchdog.enforce() is not None:
            return None, current
        if not line.startswith("cell "):
            return line, current
        try:
            current = int(line.split()[1])
        except (IndexError, ValueError):
            current = None
        if not worker.send("go\n"):
            return None, current


def _run_group(jobdir: Path, items: list[_Prepared], sandbox: Sandbox, build_timeout: float,
               results: dict[str, CheckResult], notes: list[str], mounts: tuple = (),
               fonts_dir: str | None = None, cpu: list | None = None) -> None:
    """Run the checks of one forbidden-group, restarting the worker after a timeout or a crash;
    each worker's CPU time is added to cpu[0].

    A process that dies while running an exercise cell (os._exit, a segfault) is restarted
    without that cell, so it costs what that cell defines and nothing else.
    """
    pending = list(range(len(items)))
    skip: list[int] = []
    while pending:
        worker = _WorkerProcess(jobdir, sandbox, extra_ro=mounts, skip=tuple(skip), fonts_dir=fonts_dir)
        try:
            line, current = _wait_ready(worker, build_timeout)
            if line is None and current is not None and current not in skip:
                note = _("exercise cell {n} stopped the process ({why}); graded without it").format(
                    n=current + 1, why=worker.death())
                if note not in notes:   # each forbidden-group's worker meets the same cell
                    notes.append(note)
                skip.append(current)
                _remove_student_files(jobdir)  # what that cell wrote would stop the next process too
                continue
            if line is None or line == "timeout":
                why = (_("running your cells took longer than {seconds:g} s").format(seconds=build_timeout)
                       if line else _("the verification process {died} while running your cells").format(
                           died=worker.death()))
                for i in pending:
                    results[items[i].grade_id] = CheckResult(items[i].grade_id, False, why, 0,
                                                             len(items[i].cases))
                notes.append(why)
                return
            _add_notes(line, notes)
            _run_pending(worker, jobdir, items, pending, results)
        finally:
            if cpu is not None:
                cpu[0] += worker.cpu_seconds()
            worker.kill()


def _remove_student_files(jobdir: Path) -> None:
    """Remove what the student's code wrote into the worker's folder (everything but the job
    and its cases), so a flood of files counts against the cell that wrote them only."""
    for path in jobdir.iterdir():
        if path.name == "job.json" or path.name.startswith("cases_") or path.name == "output.log":
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _add_notes(ready_line: str, notes: list[str]) -> None:
    """The worker's notes about the student's cells (cells that raised), each once."""
    try:
        ready = json.loads(ready_line)
        for note in ready.get("notes", [])[:20]:
            if _clip(note) not in notes:
                notes.append(_clip(note))
    except (ValueError, AttributeError):
        pass


def _run_pending(worker: _WorkerProcess, jobdir: Path, items: list[_Prepared], pending: list[int],
                 results: dict[str, CheckResult]) -> None:
    """Ask the worker for each pending check in turn; stop at the first timeout or death."""
    while pending:
        i = pending.pop(0)
        it = items[i]
        start = time.monotonic()
        reply = worker.wait_line(it.check.timeout) if worker.send(f"run {i}\n") else None
        seconds = time.monotonic() - start
        if reply == "timeout":
            results[it.grade_id] = CheckResult(it.grade_id, False,
                                               _("took longer than {seconds:g} s (time limit)").format(
                                                   seconds=it.check.timeout),
                                               0, len(it.cases), seconds)
            return
        if reply is None or reply.strip() != f"done {i}":
            results[it.grade_id] = CheckResult(it.grade_id, False,
                                               _("the verification process {died}").format(
                                                   died=worker.death()),
                                               0, len(it.cases), seconds)
            return
        results[it.grade_id] = _score(jobdir / f"result_{i}.npz", it, seconds)


def _score(path: Path, it: _Prepared, seconds: float) -> CheckResult:
    """Compare the plain answers in `path` with the expected values, case by case."""
    gid, cases = it.grade_id, it.cases
    try:
        answers = load_plain(path)
    except NotPlainError as exc:
        return CheckResult(gid, False, _("the answer could not be read: {why}").format(why=exc), 0,
                           len(cases), seconds)
    if not isinstance(answers, list) or len(answers) != len(cases):
        return CheckResult(gid, False, _("the answer file is malformed"), 0, len(cases), seconds)
    passed, first, note, flag = 0, None, None, ""
    for k, (case, answer, want) in enumerate(zip(cases, answers, it.expected)):
        msg = _case_message(it.check, case, answer, want)
        if isinstance(msg, Flagged):
            passed += 1
            flag = flag or _clip(msg)
        elif msg is None or isinstance(msg, Accepted):
            passed += 1
            note = note or msg
        elif first is None:
            first = _("case {k} of {n} ({case}): {why}").format(
                k=k + 1, n=len(cases), case=_case_label(case), why=_clip(msg, 600))
    ok = passed == len(cases)
    message = _("all {n} cases pass").format(n=len(cases)) if ok else first
    if ok and note:
        message += _(" (note: {note})").format(note=_clip(note))
    return CheckResult(gid, ok, message, passed, len(cases), seconds, flag if ok else "")


def _case_message(check: Check, case: dict, answer: Any, want: Any) -> str | None:
    """None when one case's answer is right, else why not."""
    if not isinstance(answer, dict) or not ({"value"} == set(answer) or {"error"} == set(answer)):
        return _("malformed answer")
    if "error" in answer:
        error = str(answer["error"]).strip()
        if broke_the_rule(error) or error.startswith((CHANGED_INPUT, _("changed its input"))):
            return _clip(error, 600)
        if error.rstrip(":") == "NotImplementedError":
            return _("raised NotImplementedError: the function is not written yet "
                     "(its YOUR CODE HERE is still there)")
        if error.endswith(":"):  # an exception raised without a message
            return _("raised {error} (with no message)").format(error=_clip(error.rstrip(":")))
        return _("raised {error}").format(error=_clip(error))
    try:
        return check.compare(case, answer["value"], want)
    except Exception as exc:  # a comparison must never crash the grader
        return _("could not be compared: {error}").format(error=_clip(repr(exc)))
