"""autograder.verify.heldout: the open-ended tasks' Check scores predictions on the test split, whose
labels are never part of a case, against the target of the dataset in use."""

import numpy as np
import pytest

from autograder.sandbox.bwrap import Sandbox, bwrap_status
from autograder.verify.heldout import DATA_FORBIDDEN, heldout_check
from autograder.verify.spec import Check

TARGETS = {"cifar10": 0.4, "embedded": 0.5}


@pytest.fixture(scope="module")
def check():
    return heldout_check(call="predict(data, X_test)", targets=TARGETS, load={"source": "embedded"}, max_train=300)


@pytest.fixture(scope="module")
def case_and_want(check):
    case = check.cases(np.random.default_rng(0))[0]
    return case, check.expected(case)


def test_cases_hold_no_test_labels(check, case_and_want):
    case, (y_test, target, source) = case_and_want
    assert isinstance(check, Check) and set(check.forbidden) == set(DATA_FORBIDDEN)
    assert set(case) == {"data", "X_test"} and set(case["data"]) == {"X_train", "y_train", "X_val", "y_val"}
    assert len(case["data"]["y_train"]) == 300 and len(case["X_test"]) == len(y_test)
    assert (target, source) == (0.5, "embedded")


def test_compare_scores_accuracy_against_the_target(check, case_and_want):
    case, want = case_and_want
    y_test = want[0]
    assert check.compare(case, y_test.copy(), want) is None
    half_right = y_test.copy()
    wrong = np.arange(len(y_test)) % 2 == 0
    half_right[wrong] = (y_test[wrong] + 1) % 10
    accuracy = np.mean(half_right == y_test)
    message = check.compare(case, half_right, want)
    assert (message is None) == (accuracy >= 0.5)
    assert "below the target 0.50" in check.compare(case, (y_test + 1) % 10, want)


@pytest.mark.parametrize("got, words", [(np.zeros(3, dtype=int), "one predicted label per test image"),
                                        (None, "one predicted label per test image")])
def test_compare_rejects_wrong_shapes(check, case_and_want, got, words):
    case, want = case_and_want
    assert words in check.compare(case, got, want)


LOOKUP_CHEAT = '''
class _Lookup:
    def loss(self, X):
        from cs231n_lib.data import get_cifar10_data
        d = get_cifar10_data()
        nearest = [int(np.argmin(((d["X_test"] - x) ** 2).sum(axis=(1, 2, 3)))) for x in X]
        return np.eye(10)[d["y_test"][nearest]]
def train_best_model(data):
    return _Lookup()
'''


@pytest.mark.slow
@pytest.mark.skipif(bwrap_status() is not None, reason="needs bubblewrap")
def test_sandbox_stops_reading_the_test_labels_through_the_library():
    """A model that looks the test images up in get_cifar10_data() scores nothing in the sandbox."""
    import copy

    from autograder.course import Course
    from autograder.notebook import nbgrader_meta, read_notebook
    from autograder.verify.runner import run_verification
    from autograder.verify.spec import load_spec

    course, aid = Course(), "04_two_layer_net"
    source = read_notebook(course.source_notebook(aid))
    student = copy.deepcopy(source)
    for cell in student.cells:
        if nbgrader_meta(cell).get("grade_id") == "ex_best_model":
            cell.source = LOOKUP_CHEAT
    checks = {"test_best_model": load_spec(course.spec(aid))["test_best_model"]}
    result = run_verification(aid, source, student, checks, Sandbox()).results["test_best_model"]
    assert not result.passed and "get_cifar10_data" in result.message
