"""Notebook 06, part 7 (spatial group normalisation): its teaching text, the worked example, and
specs that catch the usual mistakes. The rest of notebook 06 is tested in test_notebooks_06_07.py."""

import numpy as np
import pytest
from nbhelpers import appended, check_teaching, code_cell, failures, namespace, source

AID = "06_batchnorm_dropout"
GROUPNORM_CHECKS = ("test_spatial_groupnorm_forward", "test_spatial_groupnorm_backward")


def test_release_teaches_group_norm():
    check_teaching(AID, [r"Group normalisation", r"Wu and He", r"instance normalisation",
                         r"x\.reshape\(N, G, -1\)", r"\(1, C, 1, 1\)", r"-1\.342"])


@pytest.mark.parametrize("gid", GROUPNORM_CHECKS)
def test_source_solutions_pass(gid):
    assert failures(AID, gid, namespace(AID)) == []


def test_worked_example():
    ns = namespace(AID)
    x = np.array([1.0, 3.0, 5.0, 7.0, 0.0, 10.0, 20.0, 30.0]).reshape(1, 4, 1, 2)
    out, _ = ns["spatial_groupnorm_forward"](x, np.ones((1, 4, 1, 1)), np.zeros((1, 4, 1, 1)), 2, {"eps": 0.0})
    np.testing.assert_allclose(out[0, :2].ravel(), [-1.342, -0.447, 0.447, 1.342], atol=5e-4)


def test_batch_size_demo_shows_group_norm_ignores_the_batch():
    ns = {"np": np}
    exec(code_cell(source(AID), "bn_outs, gn_outs").source, ns)
    assert np.std(ns["gn_outs"], axis=0).max() < 1e-12
    assert np.std(ns["bn_outs"], axis=0).mean() > 0.1


MISTAKES = [
    ("ex_spatial_groupnorm_forward", "test_spatial_groupnorm_forward", "groups over the batch, not per example", """
def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    N, C, H, W = x.shape
    g = x.reshape(N, G, C // G, H, W).transpose(1, 0, 2, 3, 4).reshape(G, -1)
    xh = (g - g.mean(axis=1, keepdims=True)) / np.sqrt(g.var(axis=1, keepdims=True) + gn_param.get("eps", 1e-5))
    xh = xh.reshape(G, N, C // G, H, W).transpose(1, 0, 2, 3, 4).reshape(x.shape)
    return gamma * xh + beta, None
"""),
    ("ex_spatial_groupnorm_forward", "test_spatial_groupnorm_forward", "channels interleaved into groups", """
def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    N, C, H, W = x.shape
    g = x.reshape(N, C // G, G, H, W).transpose(0, 2, 1, 3, 4).reshape(N, G, -1)
    xh = (g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, keepdims=True) + gn_param.get("eps", 1e-5))
    xh = xh.reshape(N, G, C // G, H, W).transpose(0, 2, 1, 3, 4).reshape(x.shape)
    return gamma * xh + beta, None
"""),
    ("ex_spatial_groupnorm_forward", "test_spatial_groupnorm_forward", "eps ignored", """
_right = spatial_groupnorm_forward
def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    return _right(x, gamma, beta, G, {})
"""),
    ("ex_spatial_groupnorm_backward", "test_spatial_groupnorm_backward", "dx without the x_hat term", """
def spatial_groupnorm_backward(dout, cache):
    x_hat, std, gamma, G = cache
    N = dout.shape[0]
    g = (dout * gamma).reshape(N, G, -1)
    dx = ((g - g.mean(axis=2, keepdims=True)) / std).reshape(dout.shape)
    return dx, (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True), dout.sum(axis=(0, 2, 3), keepdims=True)
"""),
    ("ex_spatial_groupnorm_backward", "test_spatial_groupnorm_backward", "dgamma summed over channels too", """
_right = spatial_groupnorm_backward
def spatial_groupnorm_backward(dout, cache):
    dx, dgamma, dbeta = _right(dout, cache)
    return dx, np.full_like(dgamma, dgamma.sum()), dbeta
"""),
]


@pytest.mark.parametrize("exercise, gid, why, wrong", MISTAKES, ids=[m[2] for m in MISTAKES])
def test_spec_catches_mistake(exercise, gid, why, wrong):
    assert failures(AID, gid, namespace(AID, appended(AID, exercise, wrong))), f"{gid} does not catch: {why}"
