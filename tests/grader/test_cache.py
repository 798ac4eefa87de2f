"""The expected-answers cache (autograder/verify/cache.py) and the case files a grading process
shares between submissions (runner's `shared_cases`): reused only for the same course content,
rebuilt when corrupt, safe under concurrent graders, the same scores with and without them."""

import json
import multiprocessing
import os
import pickle
import time
from dataclasses import replace
from pathlib import Path

import nbformat
import numpy as np
import pytest
from graderhelpers import AID, FIXTURES

from autograder.pipeline import submission
from autograder.pipeline.submission import content_hash, course_hash, score_submission
from autograder.sandbox.bwrap import Sandbox, bwrap_status
from autograder.sandbox.limits import Limits
from autograder.verify import cache
from autograder.verify.runner import prepare, run_verification
from autograder.verify.spec import load_spec

HONEST = FIXTURES / "adversarial" / "honest.ipynb"
LIMITS = Limits(memory_bytes=3 * 2**30, cell_timeout=10, submission_timeout=300)
SANDBOXED = bwrap_status() is None


class Counting:
    """runner.prepare, counting its calls (how often the answers were really computed)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, aid, checks):
        self.calls += 1
        return prepare(aid, checks)


def _same(a, b) -> bool:
    """Exactly the same value: same types, same array dtypes and bits, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _same_prepared(xs, ys) -> bool:
    return [x.grade_id for x in xs] == [y.grade_id for y in ys] and all(
        _same(x.cases, y.cases) and _same(x.expected, y.expected) for x, y in zip(xs, ys))


def _cache_files(course):
    return sorted(cache.cache_dir(course.root).glob(f"{AID}-*.pickle"))


def test_answers_are_computed_once_and_read_back_exactly(course):
    checks = load_spec(course.spec(AID))
    compute = Counting()
    first = cache.prepared(course.root, AID, checks, compute)
    again = cache.prepared(course.root, AID, checks, compute)
    assert compute.calls == 1
    assert _same_prepared(first, prepare(AID, checks)) and _same_prepared(again, first)
    (path,) = _cache_files(course)
    assert path.stat().st_mode & 0o077 == 0, "the cache holds held-out answers: its owner's only"


def test_a_changed_spec_never_reuses_stale_answers(course):
    compute = Counting()
    old = cache.prepared(course.root, AID, load_spec(course.spec(AID)), compute)
    spec = course.spec(AID)
    # the reference answer of test_count changes: one more in every count
    spec.write_text(spec.read_text().replace("np.bincount(case[\"y\"], minlength=case[\"num_classes\"])",
                                             "np.bincount(case[\"y\"], minlength=case[\"num_classes\"]) + 1"))
    checks = load_spec(spec)
    new = cache.prepared(course.root, AID, checks, compute)
    assert compute.calls == 2
    count_old = next(p for p in old if p.grade_id == "test_count")
    count_new = next(p for p in new if p.grade_id == "test_count")
    assert all(np.array_equal(b, a + 1) for a, b in zip(count_old.expected, count_new.expected))
    assert len(_cache_files(course)) == 1, "the stale answers' file is removed"


def test_a_changed_source_notebook_library_dataset_or_key_changes_the_fingerprint(course, tmp_path,
                                                                                   monkeypatch):
    checks = load_spec(course.spec(AID))
    base = cache.fingerprint(course.root, AID, checks)
    assert cache.fingerprint(course.root, AID, checks) == base

    nb_path = course.source_notebook(AID)
    original = nb_path.read_bytes()
    nb = nbformat.read(str(nb_path), as_version=4)
    nb.cells[0].source += "\n"
    nbformat.write(nb, str(nb_path))
    assert cache.fingerprint(course.root, AID, checks) != base
    nb_path.write_bytes(original)

    monkeypatch.setattr(cache, "_code_digest", lambda: "another library")
    assert cache.fingerprint(course.root, AID, checks) != base
    monkeypatch.undo()

    cifar = tmp_path / "cifar"
    cifar.mkdir()
    (cifar / "test_batch").write_bytes(b"x" * 10)
    monkeypatch.setenv("CIFAR10_DIR", str(cifar))
    with_cifar = cache.fingerprint(course.root, AID, checks)
    assert with_cifar != base
    (cifar / "test_batch").write_bytes(b"x" * 11)
    assert cache.fingerprint(course.root, AID, checks) not in (base, with_cifar)
    monkeypatch.delenv("CIFAR10_DIR")

    secret = {**checks, "test_count": replace(checks["test_count"], secret=True, key=b"k" * 32)}
    other_key = {**checks, "test_count": replace(checks["test_count"], secret=True, key=b"j" * 32)}
    assert len({cache.fingerprint(course.root, AID, c) for c in (checks, secret, other_key)}) == 3
    assert cache.fingerprint(course.root, AID, checks) == base


def test_the_library_digest_covers_every_source_file(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "ref.py").write_text("def f(x):\n    return x\n")
    before = cache.package_digest(pkg)
    (pkg / "sub" / "ref.py").write_text("def f(x):\n    return x + 1\n")
    assert cache.package_digest(pkg) != before


def test_a_secret_check_without_the_course_key_is_never_cached(course):
    checks = load_spec(course.spec(AID))
    secret = {**checks, "test_count": replace(checks["test_count"], secret=True)}
    compute = Counting()
    cache.prepared(course.root, AID, secret, compute)
    cache.prepared(course.root, AID, secret, compute)
    assert compute.calls == 2 and not _cache_files(course)


@pytest.mark.parametrize("damage", ["half", "garbage", "other answers"])
def test_a_corrupt_or_half_written_file_is_rebuilt(course, damage):
    checks = load_spec(course.spec(AID))
    good = cache.prepared(course.root, AID, checks, Counting())
    (path,) = _cache_files(course)
    data = path.read_bytes()
    if damage == "half":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x80\x05not a pickle at all")
    else:  # a readable file whose content is not these checks' answers
        record = pickle.loads(data)
        record["checks"] = record["checks"][:1]
        path.write_bytes(pickle.dumps(record))
    compute = Counting()
    rebuilt = cache.prepared(course.root, AID, checks, compute)
    assert compute.calls == 1 and _same_prepared(rebuilt, good)
    again = Counting()
    cache.prepared(course.root, AID, checks, again)
    assert again.calls == 0, "the rebuilt file is read the next time"


def _slow_prepared(root: str, out: str) -> None:
    """In a child process: the cached answers, with a computation slow enough to overlap."""
    marker = Path(out + ".computed")

    def slow(aid, checks):
        marker.write_text("yes")
        time.sleep(1.5)
        return prepare(aid, checks)

    items = cache.prepared(root, AID, load_spec(Path(root) / "verify" / f"{AID}.py"), slow)
    Path(out).write_bytes(pickle.dumps([(i.grade_id, i.cases, i.expected) for i in items]))


def test_concurrent_graders_compute_once_and_agree(course, tmp_path):
    ctx = multiprocessing.get_context("fork")
    outs = [str(tmp_path / f"out{k}") for k in range(2)]
    procs = [ctx.Process(target=_slow_prepared, args=(str(course.root), out)) for out in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert sum(Path(out + ".computed").exists() for out in outs) == 1, "one process computed, the other read"
    a, b = (pickle.loads(Path(out).read_bytes()) for out in outs)
    assert _same(a, b)
    expected = [(i.grade_id, i.cases, i.expected) for i in prepare(AID, load_spec(course.spec(AID)))]
    assert _same(a, expected)


def _task(course, student: str, notebook: str) -> dict:
    chash = course_hash(course, AID)
    return {"course": str(course.root), "assignment": AID, "student": student, "notebook": notebook,
            "reject": None, "hash": content_hash(notebook, None, chash), "course_hash": chash,
            "sandboxed": SANDBOXED, "limits": LIMITS, "phase": "scores"}


def _score_in_child(course_root: str, student: str, notebook: str, out: str) -> None:
    from autograder.course import Course

    result = score_submission(_task(Course(root=Path(course_root)), student, notebook))
    Path(out).write_text(json.dumps(result))


@pytest.mark.slow
def test_two_concurrent_graders_share_the_cache(course, tmp_path):
    """Two grading processes on one course at once (a cold cache): both score full marks."""
    ctx = multiprocessing.get_context("forkserver")
    notebook = HONEST.read_text()
    outs = [str(tmp_path / f"r{k}.json") for k in range(2)]
    procs = [ctx.Process(target=_score_in_child, args=(str(course.root), f"s{k}", notebook, out))
             for k, out in enumerate(outs)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0
    for out in outs:
        result = json.loads(Path(out).read_text())
        assert result["status"] == "graded" and result["scores"] == result["max_scores"], result["checks"]
        # the workers' CPU time is counted (an interpreter start alone is more than 0.01 s)
        assert result["timings"]["cpu"] >= result["timings"]["verification_cpu"] > 0.01, result["timings"]
    assert len(_cache_files(course)) == 1


@pytest.mark.slow
def test_scores_are_identical_with_and_without_the_caches(course, monkeypatch):
    """The same checks, messages and scores: answers computed here, from a cold cache, from a warm
    one (with the shared case files), for an honest and a partly wrong submission."""
    notebook = HONEST.read_text()
    nb = nbformat.reads(notebook, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex_count":
            cell.source = "def count_labels(y, num_classes):\n    return np.bincount(y, minlength=num_classes)[:2]\n"
    wrong = nbformat.writes(nb)
    checks = load_spec(course.spec(AID))
    sandbox = Sandbox(enabled=SANDBOXED, limits=LIMITS)
    plain = {name: run_verification(AID, course.source_notebook(AID), nbformat.reads(text, as_version=4),
                                    checks, sandbox).as_dict()
             for name, text in (("honest", notebook), ("wrong", wrong))}
    assert plain["honest"]["results"]["test_count"]["passed"] and not plain["wrong"]["results"]["test_count"]["passed"]
    submission._ASSIGNMENTS.clear()
    for round_ in ("cold", "warm"):
        for name, text in (("honest", notebook), ("wrong", wrong)):
            result = score_submission(_task(course, name, text))
            got = {g: {k: v for k, v in c.items() if k != "seconds"} for g, c in result["checks"].items()}
            want = {g: {k: v for k, v in c.items() if k != "seconds"} for g, c in plain[name]["results"].items()}
            assert got == want, (round_, name)
        assert _cache_files(course)
    submission._ASSIGNMENTS.clear()


CHANGE_THE_CASES = '''
import json as _json, os as _os
_dir = _json.load(open("job.json")).get("cases_dir")
_tried = []
if _dir:
    for _name in _os.listdir(_dir):
        try:
            with open(_os.path.join(_dir, _name), "wb") as _f:
                _f.write(b"changed")
            _tried.append("wrote " + _name)
        except OSError as _exc:
            _tried.append(type(_exc).__name__)
        try:
            _os.remove(_os.path.join(_dir, _name))
            _tried.append("removed " + _name)
        except OSError as _exc:
            _tried.append(type(_exc).__name__)
print("TRIED", _tried)
'''


@pytest.mark.slow
@pytest.mark.skipif(not SANDBOXED, reason="the shared case files are bound read-only by the sandbox")
def test_a_submission_cannot_change_the_case_files_the_next_one_reads(course):
    """The case files a grading process shares between submissions are read-only in the sandbox:
    a submission that tries to overwrite or remove them changes nothing for the next one."""
    notebook = HONEST.read_text()
    nb = nbformat.reads(notebook, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex_count":
            cell.source += CHANGE_THE_CASES
    submission._ASSIGNMENTS.clear()
    try:
        first = score_submission(_task(course, "honest", notebook))
        attack = score_submission(_task(course, "attacker", nbformat.writes(nb)))
        after = score_submission(_task(course, "honest2", notebook))
        shared = submission._ASSIGNMENTS[(str(course.root), AID, course_hash(course, AID))][4]
        files = sorted(p.name for p in shared.rglob("cases_*.npz"))
    finally:
        submission._ASSIGNMENTS.clear()
    assert "TRIED" in attack["verifier_output"] and "wrote" not in attack["verifier_output"].split("TRIED")[1]
    assert "removed" not in attack["verifier_output"].split("TRIED")[1]
    assert first["scores"] == first["max_scores"] and after["scores"] == after["max_scores"], after["checks"]
    assert first["checks"].keys() == after["checks"].keys() and files, files
    assert os.access(shared, os.R_OK)
