"""Unit tests of the grader's pieces: plain values, comparisons, Check specs, stubs, zips, leaks, names."""

import zipfile

import numpy as np
import pytest

from autograder.pipeline.collect import read_zip
from autograder.release import find_leaks
from autograder.submit import student_name
from autograder.verify.plain import NotPlainError, load_plain, save_plain
from autograder.verify.spec import Check, allclose, equal
from autograder.verify.stubs import stub_functions


def test_plain_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    value = {"a": (rng.standard_normal((3, 4)), 2, 1.5, True, None, "text"),
             "b": [np.arange(5, dtype=np.int32), {"c": 1 + 2j}], "nan": float("nan")}
    save_plain(tmp_path / "v.npz", value)
    got = load_plain(tmp_path / "v.npz")
    assert isinstance(got["a"], tuple) and isinstance(got["b"], list)
    np.testing.assert_array_equal(got["a"][0], value["a"][0])
    assert got["a"][1:] == (2, 1.5, True, None, "text")
    assert got["b"][0].dtype == np.int32 and got["b"][1]["c"] == 1 + 2j and np.isnan(got["nan"])


@pytest.mark.parametrize("bad", [np.array([object()], dtype=object), object(), {1: 2}, np.array(["s"]),
                                 lambda: 0])
def test_plain_rejects_objects(tmp_path, bad):
    with pytest.raises(NotPlainError):
        save_plain(tmp_path / "v.npz", [bad])


def test_load_plain_rejects_pickles_and_lying_headers(tmp_path):
    np.savez(tmp_path / "p.npz", __tree__=np.array('{"t": "arr", "k": "a0"}'),
             a0=np.array([{"x": 1}], dtype=object))
    with pytest.raises(NotPlainError, match="object"):
        load_plain(tmp_path / "p.npz")
    # a header claiming 10**12 float64 entries over a few bytes of data is refused before allocating
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = (10**12,)
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(tmp_path / "h.npz", "w") as zf:
        zf.writestr("a0.npy", buf.getvalue() + b"\0" * 8)
        tree = io.BytesIO()
        np.save(tree, np.array('{"t": "arr", "k": "a0"}'))
        zf.writestr("__tree__.npy", tree.getvalue())
    with pytest.raises(NotPlainError, match="larger than its data"):
        load_plain(tmp_path / "h.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(NotPlainError):
        load_plain(tmp_path / "junk.npz")


def test_allclose_messages():
    cmp = allclose(rtol=1e-7, atol=0)
    e = np.arange(6.0).reshape(2, 3)
    assert cmp({}, e.copy(), e) is None
    assert cmp({}, e.tolist(), e) is None  # a list of numbers of the right shape is fine
    g = e.copy()
    g[1, 2] += 0.5
    msg = cmp({}, g, e)
    assert "1 of 6 entries differ" in msg and "(1, 2)" in msg and "5.5" in msg and "relative error" in msg
    assert "shape (2, 3)" in cmp({}, e.T, e)
    assert "expected a tuple" in cmp({}, e, (e, 1.0))
    assert cmp({}, (e, 1.0), (e, 1.0 + 1e-12)) is None
    assert "differ" in cmp({}, (e, 2.0), (e, 1.0))
    assert "expected an array" in cmp({}, "str", e)
    with pytest.raises(ValueError, match="rtol"):
        allclose(rtol=-1)


def test_equal_messages():
    cmp = equal()
    assert cmp({}, np.array([1, 2, 3]), np.array([1, 2, 3])) is None
    assert cmp({}, np.array([1.0, 2.0, 3.0]), np.array([1, 2, 3])) is None
    msg = cmp({}, np.array([1, 9, 3]), np.array([1, 2, 3]))
    assert "first at index (1,)" in msg and "got 9" in msg
    assert "missing keys" in cmp({}, {"a": 1}, {"a": 1, "b": 2})


def test_check_validates_its_arguments():
    ok = {"cases": lambda rng: [], "expected": lambda case: 0}
    with pytest.raises(ValueError, match="expression"):
        Check(call="x = f(1)", **ok)
    with pytest.raises(ValueError, match="forbidden"):
        Check(call="f(1)", forbidden="cs231n_lib.layers.affine_forward", **ok)
    with pytest.raises(ValueError, match="timeout"):
        Check(call="f(1)", timeout=0, **ok)
    assert Check(call="f(x)", **ok).compare({}, 1.0, 1.0) is None


def test_stub_functions_replaces_only_the_named_function():
    src = ("def f(x):\n    return x + 1\n\n"
           "class K:\n    def m(self):\n        return 2\n    def n(self):\n        return 3\n")
    ns = {}
    exec(stub_functions(src, {"mod.f": ["f"], "mod.K.m": ["K", "m"]}), ns)
    with pytest.raises(RuntimeError, match="mod.f"):
        ns["f"](1)
    with pytest.raises(RuntimeError, match="mod.K.m"):
        ns["K"]().m()
    assert ns["K"]().n() == 3


FORBID_LATER = """
import sys
from autograder.verify.worker import ForbiddenCallError, forbid_all

notes = forbid_all(["sklearn.datasets._base.load_digits", "cs231n_lib.data.read_batch",
                    "nosuchpackage.f", "cs231n_lib.data.no_such_name", "decimal.Decimal.sqrt"])
print("NOTES", notes)
print("IMPORTED", "sklearn" in sys.modules, "cs231n_lib.data" in sys.modules)
import decimal                                       # a C type: its method cannot be replaced
print("LATER", notes[2:], decimal.Decimal(4).sqrt())
from sklearn.datasets import load_digits            # the alias bound while sklearn imports
import sklearn.datasets._base as base
from cs231n_lib.data import read_batch
from sklearn.datasets import load_iris
for name, call in (("alias", load_digits), ("module", base.load_digits), ("ours", read_batch),
                   ("other", load_iris)):
    try:
        call()
        print(name, "RAN")
    except ForbiddenCallError:
        print(name, "FORBIDDEN")
"""


def test_forbidden_names_of_packages_not_imported_yet_are_stubbed_when_they_are():
    # The verification worker stubs the dataset loaders (sklearn's load_digits among them) before
    # the student's cells run; scikit-learn is imported only if the student's code imports it,
    # and whatever the way it is reached, the stub is what runs.
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", FORBID_LATER], capture_output=True, text=True,
                         timeout=120).stdout
    assert "IMPORTED False True" in out, out           # ours at once, scikit-learn not yet
    assert "could not forbid nosuchpackage.f: ModuleNotFoundError" in out, out
    assert "could not forbid cs231n_lib.data.no_such_name: AttributeError" in out, out
    # a name that fails when its package is imported: a note, and the import still works
    later = next(line for line in out.splitlines() if line.startswith("LATER"))
    assert later.startswith('LATER ["could not forbid decimal.Decimal.sqrt: TypeError') and later.endswith(" 2"), out
    assert "alias FORBIDDEN" in out and "module FORBIDDEN" in out and "ours FORBIDDEN" in out, out
    assert "other RAN" in out, out                     # the rest of the package is untouched


def test_read_zip(tmp_path):
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("01_knn/01_knn.ipynb", "{}")
    assert read_zip(good, "01_knn") == ("{}", None)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("/etc/01_knn.ipynb", "{}")
    assert "path traversal" in read_zip(evil, "01_knn")[1]
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr("a/01_knn.ipynb", "{}")
        zf.writestr("b/01_knn.ipynb", "{}")
    assert "found 2" in read_zip(two, "01_knn")[1]
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("01_knn.ipynb", b"\0" * (8 * 2**20))
    assert "zip bomb" in read_zip(bomb, "01_knn")[1]


def test_find_leaks():
    import nbformat

    source = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return secret_formula(x) * 2\n"
                                  "    ### END SOLUTION\n"),
        nbformat.v4.new_code_cell("assert f(1)\n### BEGIN HIDDEN TESTS\nassert f(2) == hidden_value_42\n"
                                  "### END HIDDEN TESTS\n")])
    clean = "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\nassert f(1)\n"
    assert find_leaks(source, clean) == []
    assert find_leaks(source, clean + "return secret_formula(x) * 2")
    assert find_leaks(source, clean + "assert f(2) == hidden_value_42")
    assert find_leaks(source, clean + "### END SOLUTION")


def test_student_name():
    assert student_name("Ada Lovelace") == "ada_lovelace"
    assert student_name("../../etc") == "etc"
    with pytest.raises(ValueError, match="STUDENT"):
        student_name("///")


def test_an_exception_without_message_still_explains_the_lost_points():
    from autograder.verify.runner import _case_message

    assert _case_message(None, {}, {"error": "NotImplementedError: "}, None) == (
        "raised NotImplementedError: the function is not written yet (its YOUR CODE HERE is still there)")
    assert _case_message(None, {}, {"error": "KeyError: "}, None) == "raised KeyError (with no message)"
    assert _case_message(None, {}, {"error": "ValueError: bad"}, None) == "raised ValueError: bad"


def test_a_call_that_changes_its_inputs_fails_the_case():
    """Every input of a case is compared before and after the call (arrays and containers at any
    depth), except those the check declares mutable (CS231n's bn_param / config dicts)."""
    from autograder.verify.runner import _case_message
    from autograder.verify.worker import evaluate

    ns: dict = {"np": np}
    exec("def shift(x):\n    x -= x.max()\n    return x.sum()\n"
         "def fresh(x):\n    return (x - x.max()).sum()\n"
         "def remember(x, param):\n    param['seen'] = x.copy()\n    return x.sum()\n"
         "def scale_inside(param):\n    param['w'] *= 2\n    return 0.0\n", ns)
    x = np.array([[1.0, 2.5], [0.0, -1.0]])
    [changed] = evaluate("shift(x)", ns, [{"x": x.copy()}])
    assert changed["error"].startswith("changed its input x in place") and "by up to 2.5" in changed["error"]
    assert evaluate("fresh(x)", ns, [{"x": x.copy()}]) == [{"value": 2.5 - 4 * 2.5}]
    [keys] = evaluate("remember(x, param)", ns, [{"x": x.copy(), "param": {"mode": "train"}}])
    assert "changed its input param in place (its keys changed)" in keys["error"]
    [nested] = evaluate("scale_inside(param)", ns, [{"param": {"w": x.copy()}}])
    assert "changed its input param['w'] in place" in nested["error"]
    [declared] = evaluate("remember(x, param)", ns, [{"x": x.copy(), "param": {}}], mutable=("param",))
    assert declared == {"value": 2.5}
    # the grader's message is the worker's, not "raised ..."
    check = Check(call="shift(x)", cases=lambda rng: [], expected=lambda case: 0.0)
    assert _case_message(check, {"x": x}, changed, 0.0).startswith("changed its input x in place")
    with pytest.raises(ValueError, match="mutable"):
        Check(call="f(x)", cases=lambda rng: [], expected=lambda case: 0, mutable="bn_param")


def test_allclose_accepts_the_shapes_the_public_checks_accept():
    from autograder.verify.compare import Accepted

    cmp = allclose()
    e = np.arange(1.0, 4.0).reshape(1, 3, 1, 1)
    for got in (e.ravel(), e.reshape(1, 3)):
        verdict = cmp({}, got, e if got.ndim == 1 else e.ravel())
        assert isinstance(verdict, Accepted) and "axes of length 1" in verdict
    assert "shape" in cmp({}, e.ravel().reshape(3, 1), e.ravel()) and not isinstance(
        cmp({}, e.ravel().reshape(3, 1), e.ravel()), Accepted)
