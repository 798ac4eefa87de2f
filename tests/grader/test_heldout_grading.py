"""Notebook 04's open-ended task graded by the real grader (`autograde`, sandboxed verification) on
the embedded dataset and on the real CIFAR-10 subset: the reference solution scores its 3 points,
unflagged; a replayed label list, a lookup by image hash, reading a dataset file and calling a
loader score 0 with a message saying why; a model much better on held-out than on validation
images scores and is flagged in the batch summary and grades.csv.

The notebook is not executed by nbgrader here (`scores_only=True`): the scores come from the
verification alone (docs/grading.md), which is what these submissions attack.
"""

import copy
import csv
import hashlib
import json
import shutil
from pathlib import Path

import cifar_fixtures as fx
import nbformat
import numpy as np
import pytest

from autograder.autograde import autograde
from autograder.course import Course
from autograder.grades import grades
from autograder.notebook import nbgrader_meta, read_notebook
from autograder.sandbox.bwrap import bwrap_status
from autograder.sandbox.limits import Limits
from cs231n_lib.data import get_cifar10_data, layout_images, load_cifar10

AID = "04_two_layer_net"
GID = "test_best_model"
REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bwrap_status() is not None, reason=f"needs bubblewrap: {bwrap_status()}")]

REPLAY = '''
LABELS = {labels}
class _Replay:
    def loss(self, X):
        return np.eye(10)[np.resize(np.array(LABELS), len(X))]
def train_best_model(data):
    return _Replay()
'''

LOOKUP = '''
import hashlib
TABLE = {table}
class _Lookup:
    def loss(self, X):
        keys = [hashlib.sha1(np.ascontiguousarray(x).tobytes()).hexdigest() for x in X]
        return np.eye(10)[[TABLE.get(k, 0) for k in keys]]
def train_best_model(data):
    return _Lookup()
'''

READ_DIGITS = '''
import glob
import sys
def train_best_model(data):
    path = glob.glob(sys.prefix + "/lib/python*/site-packages/sklearn/datasets/data/digits.csv.gz")[0]
    digits = np.loadtxt(path, delimiter=",")           # templates of every digit, with labels
    raise RuntimeError(f"read {len(digits)} digits")
'''

READ_BATCH = '''
import os
import pickle
with open(os.path.join(os.environ["CIFAR10_DIR"], "test_batch"), "rb") as f:
    BATCH = pickle.load(f, encoding="latin1")        # every test label, held-out ones too
def train_best_model(data):
    raise RuntimeError("this one only reads")
'''

LOADER = '''
class _Loader:
    def loss(self, X):
        from cs231n_lib.data import get_cifar10_data
        return np.eye(10)[get_cifar10_data()["y_test"][:len(X)]]
def train_best_model(data):
    return _Loader()
'''

SABOTAGED = '''
_honest = train_best_model
def train_best_model(data):
    model = _honest(data)
    wrong = {x.tobytes(): (y + 1) % 10 for x, y in zip(data["X_val"], data["y_val"])}
    class _WrongOnValidation:
        def loss(self, X):
            scores = model.loss(X)
            for i, x in enumerate(X):
                if x.tobytes() in wrong:
                    scores[i] = np.eye(10)[wrong[x.tobytes()]]
            return scores
    return _WrongOnValidation()
'''


def _course(tmp: Path) -> Course:
    """A course with notebook 04 alone, copied from the repository's."""
    root = tmp / "grading"
    (root / "verify").mkdir(parents=True)
    shutil.copy(REPO / "grading" / "nbgrader_config.py", root)
    shutil.copy(REPO / "grading" / "verify" / f"{AID}.py", root / "verify")
    shutil.copytree(REPO / "grading" / "source" / AID, root / "source" / AID)
    return Course(root=root, assignments_dir=tmp / "assignments")


def _submit(course: Course, student: str, code: str | None, keep: bool = False) -> None:
    """The source notebook (the reference) with the open-ended cell replaced by (or, with keep,
    followed by) `code`, handed in by `student`."""
    nb = copy.deepcopy(read_notebook(course.source_notebook(AID)))
    for cell in nb.cells:
        if code is not None and nbgrader_meta(cell).get("grade_id") == "ex_best_model":
            cell.source = cell.source + "\n" + code if keep else code
    target = course.root / "submitted" / student / AID / f"{AID}.ipynb"
    target.parent.mkdir(parents=True)
    nbformat.write(nb, str(target))


def _table(images: np.ndarray, labels: np.ndarray) -> dict:
    return {hashlib.sha1(np.ascontiguousarray(x).tobytes()).hexdigest(): int(y) for x, y in zip(images, labels)}


def _grade(course: Course) -> tuple:
    summary = autograde(course, [AID], scores_only=True, progress=False,
                        limits=Limits(memory_bytes=4 * 2**30, submission_timeout=900))
    results = {p.parent.parent.name: json.loads(p.read_text())
               for p in (course.root / "autograded").glob(f"*/{AID}/result.json")}
    return summary, results


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("embedded")
    mp = pytest.MonkeyPatch()
    mp.setenv("CIFAR10_DIR", str(tmp / "absent"))          # the grader falls back to the embedded data
    try:
        course = _course(tmp)
        d = get_cifar10_data(source="embedded")
        _submit(course, "honest", None)
        _submit(course, "replay", REPLAY.format(labels=d["y_test"].tolist()))
        _submit(course, "lookup", LOOKUP.format(table=_table(d["X_test"], d["y_test"])))
        _submit(course, "reads-digits", READ_DIGITS)
        _submit(course, "loader", LOADER)
        _submit(course, "sabotaged", SABOTAGED, keep=True)
        summary, results = _grade(course)
        grades(course, [AID], log=lambda *_: None)
        yield course, summary, results
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def cifar10(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cifar10")
    root = fx.extracted_subset(tmp_path_factory)
    mp = pytest.MonkeyPatch()
    mp.setenv("CIFAR10_DIR", str(root))
    try:
        course = _course(tmp)
        d = get_cifar10_data(source="cifar10")
        _, _, X_all, y_all, _ = load_cifar10(root, dtype=np.uint8)   # all 600, held-out ones too
        _submit(course, "honest", None)
        _submit(course, "replay", REPLAY.format(labels=d["y_test"].tolist()))
        _submit(course, "lookup", LOOKUP.format(table=_table(layout_images(X_all, d["mean_image"]), y_all)))
        _submit(course, "reads-batch", READ_BATCH)
        summary, results = _grade(course)
        yield course, summary, results
    finally:
        mp.undo()


def _check(results, student):
    result = results[student]
    return result["scores"][GID], result["checks"][GID]


@pytest.mark.parametrize("dataset", ["embedded", "cifar10"])
def test_reference_scores_unflagged(request, dataset):
    _, summary, results = request.getfixturevalue(dataset)
    points, check = _check(results, "honest")
    assert points == 3 and check["passed"] and check["flag"] == "", check
    assert not any(s == "honest" for s, _, _ in summary.flagged)


@pytest.mark.parametrize("dataset, student, words", [
    ("embedded", "replay", "the notebook's own test labels y_test, in order"),
    ("embedded", "lookup", "looks images up"),
    ("embedded", "reads-digits", "digits.csv.gz, a file of the course's datasets"),
    ("embedded", "loader", "get_cifar10_data reads the course's datasets"),
    ("cifar10", "replay", "the notebook's own test labels y_test, in order"),
    ("cifar10", "lookup", "looks images up"),            # its table holds the held-out images too
    ("cifar10", "reads-batch", "test_batch, a file of the course's datasets"),
])
def test_cheats_score_0_saying_why(request, dataset, student, words):
    _, _, results = request.getfixturevalue(dataset)
    points, check = _check(results, student)
    assert points == 0 and not check["passed"] and words in check["message"], check["message"]
    assert results[student]["scores"]["test_affine_forward"] > 0        # the rest is graded as usual


def test_far_above_validation_is_flagged(embedded):
    course, summary, results = embedded
    points, check = _check(results, "sabotaged")
    assert points == 3 and "above the validation accuracy 0.000" in check["flag"], check
    assert "above the validation" not in check["message"]                 # for the instructor only
    assert [(s, a) for s, a, _ in summary.flagged] == [("sabotaged", AID)]
    assert any(line.startswith(f"  FLAGGED sabotaged {AID}") for line in summary.lines())
    with open(course.root / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert rows["sabotaged"]["flags"].startswith(f"{GID}: held-out accuracy")
    assert rows["honest"]["flags"] == ""
