"""autograder.verify.heldout: the open-ended tasks are scored on images whose labels no loader gives
a notebook (the embedded test digits drawn again; CIFAR-10's held-out test images, mirrored), drawn
from the course's secret key, mixed with the notebook's own test images and validation split; a
replayed label list, a lookup and a dataset read score 0 saying why, an accuracy far above the
validation accuracy is flagged. The submissions through the real grader are in test_heldout_grading.py."""

import subprocess
import sys
import textwrap
import threading

import cifar_fixtures as fx
import numpy as np
import pytest

from autograder.verify.compare import Flagged
from autograder.verify.heldout import (
    CANARY,
    DATA_FORBIDDEN,
    FAR_ABOVE,
    HELDOUT,
    HELDOUT_RENDERS,
    NUM_CANARIES,
    VALIDATION,
    dataset_files,
    heldout_check,
)
from autograder.verify.secret import KEY_FILE, HeldoutKeyError, course_key
from autograder.verify.spec import Check, case_seed, load_spec, student_case
from cs231n_lib.data import get_cifar10_data, load_cifar10

TARGETS = {"cifar10": 0.4, "embedded": 0.5}
N_TEST = 60                    # the fixture's test batch: 30 for the splits, the last 30 held out


@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory):
    """A small CIFAR-10 in the official format (random images, 100 per training batch)."""
    return fx.write_dir(tmp_path_factory.mktemp("c") / fx.DIRNAME,
                        fx.batch_files(fx.make_batches(100, N_TEST, seed=3)))


@pytest.fixture(scope="module")
def check():
    return heldout_check(call="predict(data, X_test)", targets=TARGETS, load={"source": "embedded"}, max_train=300)


@pytest.fixture(scope="module")
def case_and_want(check):
    case = check.cases(np.random.default_rng(0))[0]
    return case, check.expected(case)


def _perfect(want):
    """The right label of every image, as a model that knew them would answer."""
    return want[0].copy()


def test_the_student_sees_no_label(check, case_and_want):
    case, (y, part, target, source, y_public) = case_and_want
    assert isinstance(check, Check) and set(check.forbidden) == set(DATA_FORBIDDEN) and check.secret
    assert set(student_case(case)) == {"data", "X_test"} and set(case["data"]) == {"X_train", "y_train", "X_val", "y_val"}
    assert len(case["data"]["y_train"]) == 300 and len(case["X_test"]) == len(y) == len(part)
    assert np.bincount(part).tolist() == [HELDOUT_RENDERS * 296, NUM_CANARIES, 450]
    assert (target, source) == (0.5, "embedded")


def test_embedded_heldout_images_are_new_drawings(case_and_want):
    """No held-out image is an image of the notebook's splits; the canaries and the validation
    images are the notebook's own (test split and validation split)."""
    case, (y, part, *_) = case_and_want
    d = get_cifar10_data(source="embedded")
    X = case["X_test"]
    seen = {x.tobytes(): label for split in ("train", "val", "test")
            for x, label in zip(d[f"X_{split}"], d[f"y_{split}"])}
    assert not any(x.tobytes() in seen for x in X[part == HELDOUT])
    for p in (CANARY, VALIDATION):
        assert [seen[x.tobytes()] for x in X[part == p]] == y[part == p].tolist()
    assert np.array_equal(np.bincount(y[part == HELDOUT]), HELDOUT_RENDERS * np.bincount(d["y_test"]))


def test_cifar10_heldout_images_are_the_kept_ones_mirrored(cifar_dir):
    load = {"source": "cifar10", "root": str(cifar_dir)}
    check = heldout_check(targets=TARGETS, load=load)
    case = check.cases(np.random.default_rng(1))[0]
    y, part = case["_y"], case["_part"]
    d = get_cifar10_data(**load)
    _, _, X_test, y_test, _ = load_cifar10(cifar_dir)
    held = X_test[N_TEST // 2:]                                  # what get_cifar10_data never returns
    X = case["X_test"][part == HELDOUT] + d["mean_image"]        # back to pixels
    assert len(X) == N_TEST // 2
    for x, label in zip(X, y[part == HELDOUT]):
        distance = np.abs(held - x[:, ::-1]).max(axis=(1, 2, 3))  # mirrored back
        k = int(np.argmin(distance))
        assert distance[k] <= 1 + 1e-9 and y_test[N_TEST // 2 + k] == label
        assert not np.array_equal(x, held[k]) and not np.array_equal(x[:, ::-1], held[k])
    order = [int(np.argmin(np.abs(held - x[:, ::-1]).max(axis=(1, 2, 3)))) for x in X]
    assert sorted(order) == list(range(N_TEST // 2)) and order != sorted(order)


def test_same_key_same_images_other_key_other_images(check):
    key_a, key_b = b"a" * 32, b"b" * 32
    first, again, other = (check.cases(np.random.default_rng(case_seed("04", "t", k)))[0]
                           for k in (key_a, key_a, key_b))
    assert np.array_equal(first["X_test"], again["X_test"]) and np.array_equal(first["_y"], again["_y"])
    assert not np.array_equal(first["X_test"][:50], other["X_test"][:50])
    assert case_seed("04", "t", key_a) != case_seed("04", "t") != case_seed("04", "t", key_b)


def test_an_honest_answer_passes_and_a_weak_one_says_by_how_much(check, case_and_want):
    case, want = case_and_want
    y, part = want[0], want[1]
    assert check.compare(case, _perfect(want), want) is None
    half = np.where(np.arange(len(y)) % 2 == 0, (y + 1) % 10, y)
    accuracy = np.mean(half[part == HELDOUT] == y[part == HELDOUT])
    assert (check.compare(case, half, want) is None) == (accuracy >= 0.5)
    message = check.compare(case, (y + 1) % 10, want)
    assert "accuracy on the held-out images 0.000 is below the target 0.50" in message
    assert "validation accuracy 0.000" in message


def test_a_replayed_label_list_scores_0_saying_why(check, case_and_want):
    case, want = case_and_want
    y_public = want[4]
    for replay in (y_public.copy(), np.resize(y_public, len(want[0])), y_public.tolist()):
        message = check.compare(case, replay, want)
        assert "the notebook's own test labels y_test, in order" in message and "replayed" in message


def test_a_lookup_scores_0_saying_why(check, case_and_want):
    """Right on the notebook's own test images (a table of them), chance elsewhere."""
    case, want = case_and_want
    y, part = want[0], want[1]
    lookup = np.where(part == CANARY, y, 0)
    message = check.compare(case, lookup, want)
    assert f"right ({NUM_CANARIES} of {NUM_CANARIES})" in message and "looks images up" in message
    # a model good on both is no lookup
    assert check.compare(case, np.where(part == CANARY, y, _perfect(want)), want) is None


def _validation_wrong(y, part, share):
    """Right labels, but a share of the validation images wrong."""
    pred, val = y.copy(), np.flatnonzero(part == VALIDATION)
    wrong = val[:round(len(val) * share)]
    pred[wrong] = (y[wrong] + 1) % 10
    return pred


def test_far_above_validation_is_flagged_not_failed(check, case_and_want):
    case, want = case_and_want
    y, part = want[0], want[1]
    verdict = check.compare(case, _validation_wrong(y, part, 1.0), want)
    assert isinstance(verdict, Flagged) and "above the validation accuracy 0.000" in verdict
    assert isinstance(check.compare(case, _validation_wrong(y, part, FAR_ABOVE + 0.02), want), Flagged)
    assert check.compare(case, _validation_wrong(y, part, FAR_ABOVE - 0.02), want) is None


@pytest.mark.parametrize("got, words", [(np.zeros(3, dtype=int), "one predicted label per image"),
                                        (None, "got None"), (np.zeros((10, 10)), "got an array of shape (10, 10)")])
def test_wrong_shapes_are_named(check, case_and_want, got, words):
    case, want = case_and_want
    assert words in check.compare(case, got, want)


def test_hidden_paths_are_the_datasets(cifar_dir):
    hidden = dataset_files({"root": str(cifar_dir)})
    assert hidden[0] == str(cifar_dir.resolve())
    assert any(p.endswith("digits.csv.gz") for p in hidden) and any(p.endswith("china.jpg") for p in hidden)


# --------------------------------------------------------------------------- the course's key

def test_key_is_made_once_private_and_kept(tmp_path):
    key = course_key(tmp_path)
    path = tmp_path / KEY_FILE
    assert len(key) == 32 and path.stat().st_mode & 0o777 == 0o600
    assert course_key(tmp_path) == key and len(path.read_text().strip()) == 64
    other = tmp_path / "other"
    other.mkdir()
    assert course_key(other) != key


def test_processes_racing_to_make_the_key_agree(tmp_path):
    keys, threads = [], [threading.Thread(target=lambda: keys.append(course_key(tmp_path))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]          # no temporary file left


@pytest.mark.parametrize("text, needle", [("zz" * 32, "not a held-out key"), ("ab" * 8, "64 hex digits")])
def test_a_damaged_key_is_named(tmp_path, text, needle):
    (tmp_path / KEY_FILE).write_text(text)
    with pytest.raises(HeldoutKeyError) as info:
        course_key(tmp_path)
    assert str(tmp_path / KEY_FILE) in str(info.value) and needle in str(info.value)
    assert "regrade with --force" in str(info.value)


def test_load_spec_gives_secret_checks_the_course_key(tmp_path):
    (tmp_path / "verify").mkdir()
    spec = tmp_path / "verify" / "01_x.py"
    spec.write_text(textwrap.dedent('''
        from autograder.verify.spec import Check
        CHECKS = {"open": Check(call="f()", cases=lambda rng: [{}], expected=lambda c: 1),
                  "held": Check(call="f()", cases=lambda rng: [{}], expected=lambda c: 1, secret=True)}
    '''))
    checks = load_spec(spec)
    assert checks["open"].key is None and checks["held"].key == course_key(tmp_path)
    assert checks["held"].key.hex() not in repr(checks["held"]) and repr(checks["held"].key) not in repr(checks["held"])


# --------------------------------------------------------------------------- the dataset guard

GUARD_SCRIPT = '''
import os, subprocess, sys
from autograder.verify.guard import DatasetGuard
hidden, other = sys.argv[1], sys.argv[2]
guard = DatasetGuard([hidden])
open(os.path.join(hidden, "test_batch"), "rb").close()    # before arming: the course's setup
print(guard.read)
guard.arm()
open(other).close()
os.listdir(hidden)
print(guard.read)
{attempt}
print(guard.read)
print(guard.message)
'''


@pytest.mark.parametrize("attempt", [
    'open(os.path.join(hidden, "test_batch"), "rb").close()',
    'import numpy as np; np.fromfile(os.path.join(hidden, "test_batch"), dtype=np.uint8)',
    'os.symlink(os.path.join(hidden, "test_batch"), "link"); os.close(os.open("link", os.O_RDONLY))',
    'subprocess.run(["cat", os.path.join(hidden, "test_batch")], capture_output=True)',
    'os.system("cat " + os.path.join(hidden, "test_batch") + " > /dev/null")',
])
def test_guard_sees_every_route_to_a_hidden_file(tmp_path, attempt):
    """In a process of its own: an audit hook cannot be removed from pytest's."""
    hidden = tmp_path / "cifar"
    hidden.mkdir()
    (hidden / "test_batch").write_bytes(b"x")
    other = tmp_path / "notes.txt"
    other.write_text("mine")
    script = GUARD_SCRIPT.replace("{attempt}", attempt)
    out = subprocess.run([sys.executable, "-c", script, str(hidden), str(other)], capture_output=True,
                         text=True, cwd=tmp_path, timeout=60)
    lines = out.stdout.splitlines()
    assert out.returncode == 0, out.stderr
    assert lines[:2] == ["None", "None"], lines                  # setup reads and other files are fine
    assert lines[2].endswith("test_batch") and lines[3].startswith("your code opened ")
    assert "reading the dataset files scores 0" in lines[3]
