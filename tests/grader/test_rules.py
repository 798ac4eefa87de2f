"""The whitelist rule (autograder/verify/rules.py): what exercise code may call while a check runs."""

import sys

import numpy as np
import pytest

from autograder.verify.rules import Watch
from autograder.verify.worker import evaluate

STUDENT = '''
import collections
import math

from cs231n_lib.classifiers.fc_net import FullyConnectedNet
from cs231n_lib.layers import affine_forward, relu_forward
from scipy.spatial.distance import _distance_wrap, cdist


def numpy_and_stdlib(x):
    total = collections.Counter([1, 1, 2]).most_common(1)[0][0] + math.sqrt(4.0)
    return np.linalg.norm(x) + np.sum(x) + total


def layer_then_relu(x, w, b):
    return relu_forward(affine_forward(x, w, b)[0])[0]


def scipy_distances(x):
    return cdist(x, x)


def compiled_scipy(x):
    out = np.zeros((x.shape[0], x.shape[0]))
    _distance_wrap.cdist_euclidean_double_wrap(x, x, out)
    return out


def another_model(x):
    return FullyConnectedNet([3], input_dim=x.shape[1], num_classes=2).loss(x)


def import_inside(x):
    import fractions
    return float(fractions.Fraction(1, 3)) + x.sum()


def switch_off_the_hook(x):
    sys.setprofile(None)
    return cdist(x, x)
'''


@pytest.fixture(scope="module")
def ns():
    namespace = {"__name__": "__main__", "np": np, "sys": sys}
    exec(compile(STUDENT, "exercise cell ex_student", "exec"), namespace)
    return namespace


def _violation(ns, call, allowed=()):
    with Watch(allowed) as watch:
        try:
            eval(call, ns, {"x": np.ones((4, 3)), "w": np.ones((3, 2)), "b": np.zeros(2)})
        except Exception:
            pass
    return watch.violation


@pytest.mark.parametrize("call", ["numpy_and_stdlib(x)", "import_inside(x)"])
def test_numpy_and_the_standard_library_are_always_allowed(ns, call):
    assert _violation(ns, call) is None


def test_allowed_names_and_what_they_call_pass(ns):
    allowed = ("cs231n_lib.layers.affine_forward", "cs231n_lib.layers.relu_forward")
    assert _violation(ns, "layer_then_relu(x, w, b)", allowed) is None
    message = _violation(ns, "layer_then_relu(x, w, b)", allowed[:1])
    assert message.startswith("your code called cs231n_lib.layers.relu_forward, which this exercise "
                              "does not allow") and "(here: affine_forward)" in message


def test_a_chinese_submission_reads_the_rule_in_chinese_and_still_scores_it_as_the_rule(ns):
    """The worker writes a violation in the student's language ($CS231N_LANG, from the grader);
    the grader still tells it from an exception (it is not "raised ...")."""
    from autograder.verify.rules import broke_the_rule
    from autograder.verify.runner import _case_message
    from cs231n_lib.i18n import use

    allowed = ("cs231n_lib.layers.affine_forward",)
    with use("zh"):
        message = _violation(ns, "layer_then_relu(x, w, b)", allowed)
        assert _case_message(None, {}, {"error": message}, None) == message
        assert broke_the_rule(message) and not broke_the_rule("ValueError: your code")
    assert message == ("你的代码调用了 cs231n_lib.layers.relu_forward，而这个练习不允许这样做：练习代码可以使用 "
                       "numpy 和 Python 标准库；其他包或课程库中的，只能用笔记本为该练习给出的名字（这里给出的是："
                       "affine_forward）")
    english = _violation(ns, "layer_then_relu(x, w, b)", allowed)
    assert broke_the_rule(english) and _case_message(None, {}, {"error": english}, None) == english


@pytest.mark.parametrize(("call", "named"), [
    ("scipy_distances(x)", "scipy.spatial.distance.cdist"),
    ("compiled_scipy(x)", "cdist_euclidean_double_wrap"),
    ("another_model(x)", "cs231n_lib.classifiers.fc_net.FullyConnectedNet.__init__"),
    ("switch_off_the_hook(x)", "profile hook"),
])
def test_other_routes_are_named(ns, call, named):
    message = _violation(ns, call)
    assert message and named in message, message


def test_evaluate_turns_a_violation_into_an_error_even_when_the_answer_is_right(ns):
    results = evaluate("scipy_distances(x)", ns, [{"x": np.eye(2)}])
    assert list(results[0]) == ["error"] and "scipy.spatial.distance.cdist" in results[0]["error"]
    assert evaluate("numpy_and_stdlib(x)", ns, [{"x": np.eye(2)}])[0]["value"] == pytest.approx(np.sqrt(2) + 5)


def test_a_module_written_and_imported_by_the_student_is_a_route(ns, tmp_path, monkeypatch):
    (tmp_path / "sneaky.py").write_text("from scipy.spatial.distance import cdist\nimport numpy as np\n"
                                        "RESULT = cdist(np.ones((2, 2)), np.ones((2, 2)))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    exec("def sneaky(x):\n    import sneaky\n    return sneaky.RESULT\n", ns)
    assert "sneaky.<module>" in _violation(ns, "sneaky(x)")


def test_watch_keeps_no_object_alive():
    """Methods bound to an object (an array's reshape) are cached by type and name, so a long
    run under the watch does not keep every array it touched: one did, 10 GB for a convnet."""
    import gc
    import weakref

    watch = Watch(())
    with watch:
        a = np.ones(3)
        a.reshape(3, 1)
        alive = weakref.ref(a)
        del a
    gc.collect()
    assert alive() is None


def test_an_allowed_name_that_names_nothing_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="'cs231n_lib.layers.affine_fwd' does not name a module attribute"):
        Watch(("cs231n_lib.layers.affine_forward", "cs231n_lib.layers.affine_fwd"))


def test_the_fast_layers_threads_do_not_break_the_rule():
    # The fast layers split big batches over threads (cs231n_lib/_parallel.py); under the
    # watch they stay on the calling thread, where the allowed caller is seen. A training
    # step of the open-ended task's convnet on 50 images (far above the parallel threshold).
    from autograder.verify.heldout import MODEL_LIBRARY
    from cs231n_lib.classifiers.cnn import ThreeLayerConvNet

    model = ThreeLayerConvNet(seed=0)
    X = np.random.default_rng(0).standard_normal((50, 3, 32, 32)).astype(np.float32)
    with Watch(MODEL_LIBRARY) as watch:
        model.loss(X, np.zeros(50, dtype=int))
    assert watch.violation is None
