"""The verification's reasons in the student's language: a Chinese submission is scored inside a
use("zh") block (autograder/pipeline/submission.py), and the comparisons' and the runner's messages
come out in Chinese with the same numbers (the rule's messages: tests/grader/test_rules.py)."""

import numpy as np

from autograder.verify.runner import _case_message
from autograder.verify.spec import allclose, equal
from cs231n_lib.i18n import use


def test_the_verifications_reasons_in_chinese():
    """A Chinese submission is scored in a use("zh") block (pipeline/submission.py): its reasons
    (the feedback page's, make submit's warnings) come out in Chinese, with the same numbers."""
    e = np.arange(6.0).reshape(2, 3)
    g = e.copy()
    g[1, 2] += 0.5
    with use("zh"):
        worst = allclose(rtol=1e-7, atol=0)({}, g, e)
        shape = allclose()({}, e.T, e)
        first = equal()({}, np.array([1, 9, 3]), np.array([1, 2, 3]))
        keys = equal()({}, {"a": 1}, {"a": 1, "b": 2})
        stub = _case_message(None, {}, {"error": "NotImplementedError: "}, None)
        raised = _case_message(None, {}, {"error": "KeyError: "}, None)
    assert worst == ("结果：6 个元素中有 1 个不同；差得最多的元素（位置 (1, 2)）：得到 5.5，应为 5.0；"
                     "相对误差 4.76e-02（rtol=1e-07，atol=0）")
    assert shape == "结果：形状应为 (2, 3)，得到的形状是 (3, 2)"
    assert first == "结果：3 个元素中有 1 个不同；第一个不同的元素（位置 (1,)）：得到 9，应为 2"
    assert keys == "结果：缺少键 ['b']"
    assert stub == "抛出了 NotImplementedError：这个函数还没有写（它的 YOUR CODE HERE 还在）"
    assert raised == "抛出了 KeyError（没有附带信息）"
