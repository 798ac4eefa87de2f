"""`autograde`: grade every collected submission, in parallel, and merge into the gradebook.

Each submission is one task (`grade_submission`, a plain dict in and out, so it runs the
same in this process, in a process pool or on a Dask cluster). A task works in its own
temporary folder with its own copy of what nbgrader needs (the source notebook and a
private gradebook): real `nbgrader autograde` executes the notebook in a sandboxed kernel
(for the student's outputs and feedback), then the out-of-kernel verification decides the
scores. Only this process writes grading/gradebook.db, one transaction per submission,
and writes grading/autograded/<student>/<id>/result.json last: a batch that stops is
resumed by skipping submissions whose result.json matches their content hash.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from cs231n_lib.grader._nbgrader_step import run_step
from cs231n_lib.grader.course import Course, nbgrader_config, write_atomically
from cs231n_lib.grader.nbtools import layout, read_notebook, without_hidden_tests
from cs231n_lib.grader.sandbox import Limits, Sandbox, SandboxUnavailable, bwrap_status

STUDENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_ZIP_MEMBERS = 50
MAX_ZIP_RATIO = 200


# ----------------------------------------------------------------------------- collecting

@dataclass
class Submission:
    """One student's notebook for one assignment (or why it cannot be graded)."""

    student: str
    assignment: str
    origin: str
    notebook: str | None = None
    reject: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.student, self.assignment


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with zf.open(info) as f:
        data = f.read(MAX_NOTEBOOK_BYTES + 1)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"{info.filename} is larger than {MAX_NOTEBOOK_BYTES} bytes")
    return data


def read_zip(path: Path, assignment: str) -> tuple[str | None, str | None]:
    """The notebook text inside a hand-in zip, or a reason to reject it.

    Accepts exactly one `<assignment>.ipynb` (at the top or in one folder). Rejects absolute
    or `..` member paths, too many members, and archives whose uncompressed size is too big
    or too compressed (zip bombs). Nothing is extracted to disk.
    Returns: (text, None) or (None, reason).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:
                return None, f"rejected zip: {len(infos)} files (at most {MAX_ZIP_MEMBERS})"
            for info in infos:
                name = info.filename
                parts = name.replace("\\", "/").split("/")
                if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name):
                    return None, f"rejected zip: unsafe path {name!r} (path traversal)"
                if info.file_size > MAX_NOTEBOOK_BYTES or (
                        info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO
                        and info.file_size > 2**20):
                    return None, f"rejected zip: {name!r} expands to {info.file_size} bytes (zip bomb?)"
            total = sum(i.file_size for i in infos)
            if total > 4 * MAX_NOTEBOOK_BYTES:
                return None, f"rejected zip: {total} bytes uncompressed in all"
            wanted = [i for i in infos if i.filename.replace("\\", "/").split("/")[-1] == f"{assignment}.ipynb"
                      and len(i.filename.replace("\\", "/").strip("/").split("/")) <= 2]
            if len(wanted) != 1:
                return None, f"rejected zip: expected one {assignment}.ipynb inside, found {len(wanted)}"
            data = _read_member(zf, wanted[0])
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError) as exc:
        return None, f"rejected zip: {exc}"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, "rejected zip: the notebook is not UTF-8 text"


def collect(course: Course, ids: list[str], student: str | None = None,
            zips: Path | None = None) -> tuple[list[Submission], list[str]]:
    """All submissions to grade: grading/submitted/<student>/<id>/<id>.ipynb and <zips>/<student>_<id>.zip.

    A zip replaces the same student's submitted/ notebook. Returns: (submissions sorted by
    assignment then student, problems that could not be tied to a student and assignment).
    """
    found: dict[tuple[str, str], Submission] = {}
    problems: list[str] = []
    sub_root = course.root / "submitted"
    if sub_root.is_dir():
        for sdir in sorted(sub_root.iterdir()):
            if not sdir.is_dir() or (student and sdir.name != student):
                continue
            for aid in ids:
                path = sdir / aid / f"{aid}.ipynb"
                if not path.exists():
                    continue
                if not STUDENT_RE.match(sdir.name):
                    problems.append(f"{path}: student folder name {sdir.name!r} is not a valid student id")
                    continue
                sub = Submission(sdir.name, aid, str(path))
                if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                    sub.reject = f"notebook larger than {MAX_NOTEBOOK_BYTES} bytes"
                else:
                    sub.notebook = path.read_text(encoding="utf-8", errors="replace")
                found[sub.key] = sub
    if zips is not None:
        zips = Path(zips)
        if not zips.is_dir():
            raise ValueError(f"--zips {zips}: not a folder")
        for path in sorted(zips.glob("*.zip")):
            match = next(((path.name[: -len(f"_{aid}.zip")], aid) for aid in ids
                          if path.name.endswith(f"_{aid}.zip")), None)
            if match is None:
                problems.append(f"{path.name}: not named <student>_<assignment>.zip for a known assignment")
                continue
            name, aid = match
            if not STUDENT_RE.match(name):
                problems.append(f"{path.name}: {name!r} is not a valid student id")
                continue
            if student and name != student:
                continue
            text, reason = read_zip(path, aid)
            found[(name, aid)] = Submission(name, aid, str(path), text, reason)
    subs = sorted(found.values(), key=lambda s: (s.assignment, s.student))
    return subs, problems


# ----------------------------------------------------------------------------- one task

def course_hash(course: Course, aid: str) -> str:
    """Hash of what decides grades for an assignment: the source notebook and its spec."""
    h = hashlib.sha256()
    for path in (course.source_notebook(aid), course.spec(aid)):
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()


def content_hash(notebook: str | None, reject: str | None, chash: str) -> str:
    """Hash of one submission's content together with the assignment's course hash."""
    return hashlib.sha256(f"{chash}\0{notebook}\0{reject}".encode()).hexdigest()


_TEMPLATES: dict[tuple[str, str], Path] = {}


def _copy_kernel_source(course: Course, target: Course, aid: str) -> None:
    """Copy the assignment's source folder into `target` with the hidden tests taken out.

    nbgrader autograde puts the source's test cells back into the submission before running it
    in the student's kernel; with this copy they come back without their hidden part, so no
    student code (an IPython hook, `In[...]`, a later cell printing history) can see or print them.
    """
    shutil.copytree(course.source_notebook(aid).parent, target.source_notebook(aid).parent)
    nbformat.write(without_hidden_tests(read_notebook(course.source_notebook(aid))),
                   str(target.source_notebook(aid)))


def _template_gradebook(course: Course, aid: str, chash: str) -> Path:
    """A gradebook holding only this assignment, made once per process (nbgrader generate_assignment)."""
    key = (str(course.root), aid + chash)
    if key in _TEMPLATES and _TEMPLATES[key].exists():
        return _TEMPLATES[key]
    from nbgrader.apps import NbGraderAPI

    base = Path(tempfile.mkdtemp(prefix=f"cs231n-template-{aid}-"))
    tmpl = Course(root=base / "course")
    _copy_kernel_source(course, tmpl, aid)
    config = nbgrader_config(course)
    config.CourseDirectory.root = str(tmpl.root)
    config.CourseDirectory.db_url = tmpl.db_url
    result = NbGraderAPI(config=config).generate_assignment(aid, force=True, create=True)
    if not result.get("success"):
        raise RuntimeError(f"nbgrader generate_assignment {aid} failed: {(result.get('log') or '')[-2000:]}")
    _TEMPLATES[key] = tmpl.gradebook
    return tmpl.gradebook


def _kernel_problem(out: dict) -> str | None:
    """A short reason from nbgrader's log when the notebook did not execute normally."""
    log = (out.get("log") or "") + (out.get("error") or "")
    if "DeadKernelError" in log or "Kernel died" in log or "kernel died" in log.lower():
        return "the kernel died while running the notebook (cells after that did not run)"
    if "CellTimeoutError" in log or "Timeout waiting for execute reply" in log:
        return "a notebook cell ran longer than the per-cell limit and was interrupted"
    if not out.get("success"):
        last = [line for line in log.splitlines() if "ERROR" in line or "Error" in line][-1:]
        return "nbgrader autograde failed" + (f": {last[0].strip()[:300]}" if last else "")
    return None


def grade_submission(task: dict) -> dict:
    """Grade one submission (runs in a worker). Inputs and output are plain dicts.

    task: {"course", "assignment", "student", "notebook" (text or None), "reject",
    "hash", "sandboxed", "limits" (Limits fields), "execute" (run nbgrader, default True)}.
    Returns: {"student", "assignment", "hash", "status" ("graded" or "failed"), "reason",
    "scores" {grade_id: points}, "max_scores", "checks", "notes", "kernel_scores",
    "autograded" (the executed notebook's text or None), "seconds", "timings"}.
    """
    start = time.monotonic()
    course = Course(root=Path(task["course"]))
    aid, student = task["assignment"], task["student"]
    limits = Limits(**task.get("limits", {}))
    source_nb = read_notebook(course.source_notebook(aid))
    lay = layout(source_nb)
    result = {"student": student, "assignment": aid, "hash": task["hash"], "status": "graded",
              "reason": "", "scores": {gid: 0.0 for gid in lay.tests}, "max_scores": dict(lay.tests),
              "manual_max": dict(lay.manual), "checks": {}, "notes": [], "kernel_scores": {},
              "autograded": None, "timings": {}}
    reasons = []

    def finish() -> dict:
        result["reason"] = "; ".join(dict.fromkeys(r for r in reasons if r))
        result["seconds"] = time.monotonic() - start
        return result

    if task.get("reject") or task.get("notebook") is None:
        result["status"] = "failed"
        reasons.append(task.get("reject") or "no notebook")
        return finish()
    try:
        student_nb = nbformat.reads(task["notebook"], as_version=4)
        if not isinstance(student_nb.get("cells"), list):
            raise ValueError("no cells")
    except Exception as exc:
        result["status"] = "failed"
        reasons.append(f"not a valid notebook: {str(exc)[:200]}")
        return finish()

    sandbox = Sandbox(enabled=task["sandboxed"], limits=limits)
    base = Path(tempfile.mkdtemp(prefix=f"grade-{aid}-"))
    try:
        if task.get("execute", True):
            t0 = time.monotonic()
            priv = Course(root=base / "course")
            _copy_kernel_source(course, priv, aid)
            shutil.copy(_template_gradebook(course, aid, task.get("course_hash", "")), priv.gradebook)
            sub_dir = priv.root / "submitted" / student / aid
            sub_dir.mkdir(parents=True)
            (sub_dir / f"{aid}.ipynb").write_text(task["notebook"])
            kernel_dir = base / "kernel"
            kernel_dir.mkdir()
            step = {"course": str(priv.root), "config_course": str(course.root), "assignment": aid,
                    "student": student, "kernel_workdir": str(kernel_dir), "sandboxed": task["sandboxed"],
                    "memory_bytes": limits.memory_bytes, "file_bytes": limits.file_bytes,
                    "cell_timeout": limits.cell_timeout}
            out = run_step(step, limits.submission_timeout)
            result["kernel_scores"] = out["kernel_scores"]
            if out.get("wall_timeout"):
                reasons.append(f"the notebook was stopped at the {limits.submission_timeout:g} s limit "
                               "per submission (cells after that did not run)")
            else:
                reasons.append(_kernel_problem(out))
            executed = priv.root / "autograded" / student / aid / f"{aid}.ipynb"
            if executed.exists():
                result["autograded"] = executed.read_text()
            result["timings"]["notebook"] = time.monotonic() - t0

        from cs231n_lib.grader.verify import load_spec, run_verification

        t0 = time.monotonic()
        verification = run_verification(aid, source_nb, student_nb, load_spec(course.spec(aid)),
                                        sandbox, workdir=base, build_timeout=limits.cell_timeout + 60)
        result["timings"]["verification"] = time.monotonic() - t0
        for gid, res in verification.results.items():
            result["checks"][gid] = res.as_dict()
            if gid in result["scores"] and res.passed:
                result["scores"][gid] = float(lay.tests[gid])
        result["notes"] = verification.notes
        result["verifier_output"] = verification.output[-5000:]
    except SandboxUnavailable:
        raise
    except Exception as exc:  # an infrastructure failure: still a row, with the reason
        result["status"] = "failed"
        reasons.append(f"grading error: {type(exc).__name__}: {str(exc)[:300]}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return finish()


# ----------------------------------------------------------------------------- the writer

def result_path(course: Course, student: str, aid: str) -> Path:
    return course.root / "autograded" / student / aid / "result.json"


def is_done(course: Course, sub_hash: str, student: str, aid: str) -> bool:
    """True when this exact content was graded already and its result was merged."""
    path = result_path(course, student, aid)
    if not path.exists():
        return False
    try:
        return json.loads(path.read_text()).get("hash") == sub_hash
    except (OSError, ValueError):
        return False


def ensure_assignment(course: Course, aid: str) -> None:
    """Make sure the course gradebook knows the assignment (nbgrader generate_assignment)."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.apps import NbGraderAPI

    with Gradebook(course.db_url) as gb:
        try:
            gb.find_assignment(aid)
            return
        except MissingEntry:
            pass
    result = NbGraderAPI(config=nbgrader_config(course)).generate_assignment(aid, force=True, create=True)
    if not result.get("success"):
        raise RuntimeError(f"nbgrader generate_assignment {aid} failed: {(result.get('log') or '')[-2000:]}")


def merge(course: Course, result: dict) -> None:
    """Write one result into the gradebook (one transaction) and its files under autograded/.

    The autograded cells get the verification's points as auto_score; written answers keep
    any manual score and are flagged needs_manual_grade until the instructor grades them.
    """
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    aid, student = result["assignment"], result["student"]
    with warnings.catch_warnings(), Gradebook(course.db_url) as gb:
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy autoflush warnings
        try:
            gb.update_or_create_student(student)
            try:
                gb.find_submission(aid, student)
            except MissingEntry:
                gb.add_submission(aid, student)
            nb = gb.find_submission_notebook(aid, aid, student)
            for grade in nb.grades:
                if grade.name in result["scores"]:
                    grade.auto_score = float(result["scores"][grade.name])
                    grade.needs_manual_grade = False
                elif grade.name in result.get("manual_max", {}):
                    grade.auto_score = None
                    grade.needs_manual_grade = grade.manual_score is None
            gb.db.commit()
        except Exception:
            gb.db.rollback()
            raise
    folder = result_path(course, student, aid).parent
    folder.mkdir(parents=True, exist_ok=True)
    if result.get("autograded"):
        write_atomically(folder / f"{aid}.ipynb", result["autograded"])
    record = {k: v for k, v in result.items() if k != "autograded"}
    write_atomically(folder / "result.json", json.dumps(record, indent=1, sort_keys=True))


# ----------------------------------------------------------------------------- the batch

@dataclass
class Summary:
    """What a batch did: graded, failed (with reasons), skipped, seconds."""

    graded: list[tuple[str, str, float, float]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [f"graded {len(self.graded)}, failed {len(self.failed)}, skipped (unchanged) {self.skipped}, "
               f"in {self.seconds:.1f} s"]
        for student, aid, why in self.failed:
            out.append(f"  FAILED {student} {aid}: {why}")
        for p in self.problems:
            out.append(f"  NOT GRADED {p}")
        return out


def _record_merge(course: Course, summary: Summary, result: dict) -> None:
    merge(course, result)
    if result["status"] == "graded":
        summary.graded.append((result["student"], result["assignment"], sum(result["scores"].values()),
                               sum(result["max_scores"].values())))
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
    limits = limits or Limits()
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
                      "course_hash": hashes[sub.assignment], "sandboxed": status is None,
                      "limits": asdict(limits), "execute": execute})
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


def _failed_result(task: dict, why: str) -> dict:
    source_nb = read_notebook(Course(root=Path(task["course"])).source_notebook(task["assignment"]))
    lay = layout(source_nb)
    return {"student": task["student"], "assignment": task["assignment"], "hash": task["hash"],
            "status": "failed", "reason": why, "scores": {g: 0.0 for g in lay.tests},
            "max_scores": dict(lay.tests), "manual_max": dict(lay.manual), "checks": {}, "notes": [],
            "kernel_scores": {}, "autograded": None, "seconds": 0.0, "timings": {}}


def _safe_grade(task: dict) -> dict:
    try:
        return grade_submission(task)
    except Exception as exc:
        return _failed_result(task, f"grading error: {type(exc).__name__}: {str(exc)[:300]}")


def _run_pool(tasks: list[dict], workers: int, done) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("forkserver")
    remaining = {id(t): t for t in tasks}
    while remaining:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {pool.submit(_safe_grade, t): t for t in remaining.values()}
            try:
                for fut in as_completed(futures):
                    task = futures[fut]
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        raise
                    except Exception as exc:
                        result = _failed_result(task, f"worker error: {exc!r}"[:300])
                    remaining.pop(id(task), None)
                    done(result)
            except BrokenProcessPool:
                # a worker process died (should not happen: student code runs in subprocesses);
                # the submissions it held are graded again in a fresh pool, one failure each at most
                for fut, task in futures.items():
                    if not fut.done() and id(task) in remaining:
                        continue
                    if fut.done() and fut.exception() is not None and id(task) in remaining:
                        remaining.pop(id(task))
                        done(_failed_result(task, "the grading worker process died"))


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
                result = _failed_result(by_key[fut.key], f"dask task failed: {exc!r}"[:300])
            done(result)
