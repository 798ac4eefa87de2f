"""Tests of what cs231n_lib.checks prints in a Chinese notebook: PASS / FAIL / NOT DONE / NOTE and
the hint in Chinese (the cs231n_lib catalogue), and the notebooks' own names, hints and check_true
messages through the notebooks catalogue (literals and f-string templates).

Names and hints below are the notebooks' own (01_knn, 04, 07_optimizers); the expected Chinese is
written out here, not read from the catalogue. The real kernel of a Chinese notebook is tested in
tests/lib/test_i18n.py.
"""

import math
import re

import numpy as np
import pytest

from cs231n_lib.checks import (
    CheckFailed,
    check_close,
    check_equal,
    check_frobenius,
    check_gradient,
    check_layer_gradient,
    check_scalar_near,
    check_shape,
    check_true,
    resolve_name,
)
from cs231n_lib.i18n import use


def test_a_chinese_notebook_gets_the_pass_line_and_the_name_in_chinese(capsys):
    name = "compute_distances_two_loops on 2 test and 4 training points"
    with use("zh"):
        check_close(name, np.ones(3), np.ones(3))
        check_equal("predict_labels on the worked example with k=3", np.arange(3), np.arange(3))
        check_true("sgd_momentum: w is unchanged", True, "unused")
    assert capsys.readouterr().out.splitlines() == [
        "通过  compute_distances_two_loops（2 个测试点，4 个训练点）：相对误差 0.0e+00 <= 1e-07",
        "通过  predict_labels 在算例上的结果，k=3：全部 3 个元素都相等",
        "通过  sgd_momentum：w 没有被改变"]
    check_close(name, np.ones(3), np.ones(3))  # outside the block: the English notebook's line
    assert capsys.readouterr().out.startswith(f"PASS  {name}: relative error")


def test_every_kind_of_pass_line_is_chinese(capsys):
    """Each check's PASS line in a Chinese notebook: 通过, the name, then Chinese words only
    (numbers, shapes and the name of the Frobenius norm aside)."""
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((6, 4)), rng.standard_normal((4, 3))
    dW = X.T @ (X @ W) + 0.4 * W  # of sum((X W)^2) / 2 + 0.2 * sum(W^2)
    with use("zh"):
        check_close("x", np.ones(3), np.ones(3))
        check_equal("x", np.arange(3), np.arange(3))
        check_equal("x", 2, 2)
        check_shape("x", np.ones((2, 3)), (2, None))
        check_frobenius("x", np.ones(3), np.ones(3), 1e-9)
        check_scalar_near("x", 2.3, 2.30258, 0.01)
        check_gradient("x", lambda w: np.sum((X @ w) ** 2) / 2 + 0.2 * np.sum(w * w), W, dW, tol=1e-6)
        check_layer_gradient("x", lambda x, w: x @ w, {"x": np.ones((2, 3)), "w": np.ones((3, 2))},
                             np.ones((2, 2)), {"x": np.ones((2, 2)) @ np.ones((3, 2)).T,
                                               "w": np.ones((2, 3)).T @ np.ones((2, 2))}, tol=1e-6)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 and all(line.startswith("通过  x：") for line in lines), lines
    english = [line for line in lines if re.search(r"[A-Za-z]{2,}", line.replace("Frobenius", ""))]
    assert english == [], english


def test_a_chinese_fail_block_has_the_name_and_the_hint_in_chinese():
    with use("zh"), pytest.raises(CheckFailed) as info:
        check_close("no-loop distances vs the library's distances", np.zeros((2, 3)), np.ones((2, 3)),
                    hint="check the shapes of the three terms before they are added: "
                         "(num_test, 1), (1, num_train), (num_test, num_train)")
    lines = info.value._render_traceback_()
    assert lines[0].startswith("未通过  无循环的距离与课程库的距离一致：相对误差 1.0e+00 > 1e-07")
    assert lines[-1] == "提示：相加之前，先检查三项的形状：(num_test, 1)、(1, num_train)、(num_test, num_train)"
    with use("zh"), pytest.raises(CheckFailed) as info:  # check_true's message, an f-string of 07
        check_true("adam: t is 1 after the first step", False, "config['t'] is 0, expected 1")
    assert str(info.value) == "未通过  adam：第一步之后 t 为 1：config['t'] 是 0，应为 1"
    with use("zh"), pytest.raises(CheckFailed) as info:  # a text no notebook wrote stays as it is
        check_close("my own check", 1.0, 2.0, hint="my hint")
    assert str(info.value).splitlines()[0].startswith("未通过  my own check：相对误差")
    assert str(info.value).splitlines()[-1] == "提示：my hint"


def test_check_rule_and_not_done_in_chinese(capsys):
    from cs231n_lib.checks import _not_written_yet, check_rule
    def uses_math_only():
        return math.sqrt(4)

    def uses_the_library():
        return resolve_name("math.sqrt")

    def predict_labels():
        raise NotImplementedError()

    class Shell:
        def _showtraceback(self, etype, value, stb):
            self.shown = stb

    with use("zh"):
        check_rule("relu_forward / relu_backward", [uses_math_only])
        with pytest.raises(CheckFailed) as info:
            check_rule("relu_forward / relu_backward", [uses_the_library])
    assert capsys.readouterr().out == "通过  relu_forward / relu_backward：只用了 numpy、标准库和练习给出的名字\n"
    assert str(info.value).splitlines() == [
        "未通过  relu_forward / relu_backward：你的代码用到了 cs231n_lib.checks.resolve_name：练习代码可以"
        "使用 numpy 和 Python 标准库；其他包或课程库中的，只能用笔记本为该练习给出的名字",
        "提示：请用 numpy 来写（见笔记本开头的“你的代码可以用什么”）"]
    try:
        predict_labels()
    except NotImplementedError as exc:
        with use("zh"):
            stb = _not_written_yet(Shell(), type(exc), exc, exc.__traceback__)
    assert stb == ["未完成  predict_labels() 还没有写：请填写它的 YOUR CODE HERE 部分，"
                   "先运行它所在的单元格，再运行这一个"]


def test_the_note_on_an_accepted_shape_in_chinese(capsys):
    with use("zh"):
        check_close("affine_backward db", np.ones((1, 3)), np.ones(3))
    note, passed = capsys.readouterr().out.splitlines()
    assert note == ("注意  affine_backward 的 db：形状是 (1, 3)，而期望的是 (3,)；两者的广播方式相同，"
                    "所以仍按正确比较（并计分），但最好用 (3,)")
    assert passed == "通过  affine_backward 的 db：相对误差 0.0e+00 <= 1e-07"


def test_every_kind_of_fail_block_is_chinese():
    """What a failed check says, in a Chinese notebook: Chinese words around the values, code
    names and numbers (the words allowed below are code, types and values, not English prose)."""
    allowed = {"None", "return", "out", "cache", "keepdims", "reshape", "nan", "inf", "dtype",
               "float64", "str", "list", "tuple", "object", "grad", "vs"}
    quad = lambda w: float(np.sum(w ** 2))  # noqa: E731
    cases = [
        (check_close, ("x", None, np.ones(3))),
        (check_close, ("x", (np.ones(3), {}), np.ones(3))),
        (check_close, ("x", "1.0", 1.0)),
        (check_close, ("x", [[1, 2], [3]], np.ones(2))),
        (check_close, ("x", np.array(["a"], dtype=object), np.ones(1))),
        (check_close, ("x", np.ones(3) * 1j, np.ones(3))),
        (check_close, ("x", np.ones((3, 2)), np.ones((2, 3)))),
        (check_close, ("x", np.ones(6), np.ones((2, 3)))),
        (check_close, ("x", np.ones((2, 1, 3)), np.ones((2, 3)))),
        (check_close, ("x", np.array([1.0, np.nan]), np.ones(2))),
        (check_close, ("x", np.zeros(3), np.ones(3))),
        (check_close, ("x", 0.0, 1.0)),
        (check_equal, ("x", np.array([1, 9, 3]), np.array([1, 2, 3]))),
        (check_equal, ("x", 4, 3)),
        (check_shape, ("x", None, (2, 3))),
        (check_shape, ("x", (np.ones(2), {}), (2,))),
        (check_shape, ("x", np.ones((2, 4)), (2, None, 1))),
        (check_scalar_near, ("x", None, 2.3, 0.01)),
        (check_scalar_near, ("x", np.ones(2), 2.3, 0.01)),
        (check_scalar_near, ("x", 2.0, 2.3, 0.01)),
        (check_gradient, ("x", quad, np.ones(3), None)),
        (check_gradient, ("x", lambda: 0.0, {"W": np.ones(2), "b": np.ones(1)}, {"W": np.ones(2)})),
        (check_gradient, ("x", quad, np.ones(3), "grad")),
        (check_gradient, ("x", quad, np.ones(3), np.zeros(3))),
    ]
    english = []
    for check, args in cases:
        with use("zh"), pytest.raises(CheckFailed) as info:
            check(*args)
        lines = str(info.value).splitlines()
        assert lines[0].startswith("未通过  x："), lines
        details = lines[:lines.index("")] if "" in lines else lines  # not the gradient check's report
        for line in details:
            if line.startswith("  ||got - expected||_F"):  # a formula
                continue
            words = set(re.findall(r"[A-Za-z][A-Za-z0-9_]+", line)) - allowed
            if words:
                english.append((line, sorted(words)))
    assert english == [], english


def test_a_failed_gradient_check_reports_in_chinese_with_its_table_aligned():
    """The gradient checker's report (summary, table, diagnosis) in a Chinese notebook; a Chinese
    character takes two columns, so the table's columns still line up."""
    W = np.random.default_rng(0).standard_normal((3, 3))
    with use("zh"), pytest.raises(CheckFailed) as info:
        check_gradient("dW", lambda w: float(np.sum(w ** 2)), W, (2 * W).T)
    lines = str(info.value).splitlines()
    assert lines[0] == "未通过  dW：最大相对误差 1.0e+00 > 1e-07"
    assert lines[2].startswith("梯度检验未通过：最大相对误差 1.0e+00（阈值 1e-07；x 1.0e+00；检查了 9 个元素）")
    header, row = lines[4], lines[5]
    assert header.split() == ["参数", "形状", "已检查", "最大相对误差", "最大绝对误差", "拐点", "结果"]
    assert row.split()[-1] == "未通过"
    before = header[:header.index("形状")]  # "参数  ": two Chinese characters and two spaces
    assert len(before) + sum(ord(ch) > 0x2E80 for ch in before) == row.index("(3, 3)") == 6
    assert lines[-1] == "提示（x）：analytic.T 与数值梯度一致：梯度转置了"
