"""Weight initialisation: scales, shapes, explicit generators."""

import numpy as np
import pytest

from cs231n_lib import weight_init as WI


def test_affine_scales():
    fan_in, fan_out = 400, 300
    for init, std in [(lambda rng: WI.gaussian(fan_in, fan_out, 0.05, rng), 0.05),
                      (lambda rng: WI.xavier(fan_in, fan_out, rng), 1 / np.sqrt(fan_in)),
                      (lambda rng: WI.he(fan_in, fan_out, rng), np.sqrt(2 / fan_in))]:
        w = init(np.random.default_rng(0))
        assert w.shape == (fan_in, fan_out)
        # The sample std of 120000 Gaussian draws lies within 1% of the true std.
        assert abs(w.std() / std - 1) < 0.01
        assert abs(w.mean()) < 4 * std / np.sqrt(w.size)
        np.testing.assert_array_equal(w, init(np.random.default_rng(0)))


def test_conv_fan_in_is_c_hh_ww():
    assert WI.fan_in_of((32, 3, 7, 7)) == 147
    assert WI.fan_in_of((100, 10)) == 100
    w = WI.he(rng=np.random.default_rng(1), shape=(64, 32, 3, 3), dtype=np.float32)
    assert w.shape == (64, 32, 3, 3) and w.dtype == np.float32
    assert abs(w.std() / np.sqrt(2 / 288) - 1) < 0.01


def test_bad_arguments():
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        WI.xavier(3, 4, rng=None)
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        WI.gaussian(3, 4, 0.1, np.random.RandomState(0))
    with pytest.raises(ValueError, match=r"shape must be \(D, M\) or \(F, C, HH, WW\)"):
        WI.he(rng=np.random.default_rng(0), shape=(3, 4, 5))
    with pytest.raises(ValueError, match="give fan_in and fan_out, or shape"):
        WI.he(rng=np.random.default_rng(0))
