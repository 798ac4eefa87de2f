"""The open-ended tasks of notebooks 04, 05 and 06 (`train_best_model`, graded on held-out test
images by autograder.heldout): the reference solution reaches the target, weak or malformed
answers do not, and the released notebooks explain the grading."""

import pytest
from nbhelpers import appended, check_teaching, failures, namespace

IDS = ("04_two_layer_net", "05_cnn", "06_batchnorm_dropout")


@pytest.mark.parametrize("aid", IDS)
def test_release_explains_the_task(aid):
    check_teaching(aid, [r"Open-ended", r"train_best_model\(data\)", r"keeps to itself", r"at most its first\s+5000",
                         r"10 minutes"])


@pytest.mark.parametrize("aid", IDS)
def test_reference_solution_reaches_the_target(aid):
    assert failures(aid, "test_best_model", namespace(aid)) == []


WEAK = [
    ("an untrained model guesses", """
class _Untrained:
    def loss(self, X):
        return np.random.default_rng(0).standard_normal((len(X), 10))
def train_best_model(data):
    return _Untrained()
"""),
    ("one class for every image", """
class _OneClass:
    def loss(self, X):
        scores = np.zeros((len(X), 10))
        scores[:, 3] = 1
        return scores
def train_best_model(data):
    return _OneClass()
"""),
    ("scores for the validation images instead", """
_right = train_best_model
def train_best_model(data):
    model, X_val = _right(data), data["X_val"]
    class _Val:
        def loss(self, X):
            return model.loss(X_val)
    return _Val()
"""),
]


@pytest.mark.parametrize("why, wrong", WEAK, ids=[w[0] for w in WEAK])
def test_weak_answers_fail(why, wrong):
    aid = "04_two_layer_net"
    assert failures(aid, "test_best_model", namespace(aid, appended(aid, "ex_best_model", wrong))), why
