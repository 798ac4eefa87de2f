"""Fast conv/pool against the naive loops on many random strides, pads and shapes."""

import functools
import sys
import textwrap

import numpy as np
import pytest

from cs231n_lib import _parallel, fast_conv, fast_pool
from cs231n_lib import fast_layers as FL
from cs231n_lib import layers as L


def random_conv_case(rng):
    """Random (x, w, b, conv_param) that the naive layer accepts (often stride > 1 with pad)."""
    while True:
        N, C, F = rng.integers(1, 4, size=3)
        HH, WW = rng.integers(1, 6, size=2)
        stride, pad = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        H_out, W_out = rng.integers(1, 6, size=2)
        H = (H_out - 1) * stride + HH - 2 * pad
        W = (W_out - 1) * stride + WW - 2 * pad
        if H >= 1 and W >= 1:
            break
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((F, C, HH, WW))
    b = rng.standard_normal(F)
    return x, w, b, {"stride": stride, "pad": pad}


def random_pool_case(rng, ties):
    """Random (x, pool_param) that the naive layer accepts; with ties, x holds few distinct values."""
    ph, pw, stride = (int(v) for v in rng.integers(1, 5, size=3))
    H_out, W_out = rng.integers(1, 6, size=2)
    shape = (rng.integers(1, 4), rng.integers(1, 4), (H_out - 1) * stride + ph, (W_out - 1) * stride + pw)
    x = rng.integers(0, 3, size=shape).astype(float) if ties else rng.standard_normal(shape)
    return x, {"pool_height": ph, "pool_width": pw, "stride": stride}


@pytest.mark.parametrize("seed", range(8))
def test_conv_fast_matches_naive_on_random_geometry(seed):
    rng = np.random.default_rng(seed)
    for _ in range(25):
        x, w, b, conv_param = random_conv_case(rng)
        out_naive, cache_naive = L.conv_forward_naive(x, w, b, conv_param)
        out_fast, cache_fast = FL.conv_forward_fast(x, w, b, conv_param)
        np.testing.assert_allclose(out_fast, out_naive, rtol=1e-9, atol=1e-12, err_msg=str(conv_param))
        dout = rng.standard_normal(out_naive.shape)
        for fast, naive in zip(FL.conv_backward_fast(dout, cache_fast),
                               L.conv_backward_naive(dout, cache_naive)):
            assert fast.shape == naive.shape
            np.testing.assert_allclose(fast, naive, rtol=1e-9, atol=1e-12, err_msg=str(conv_param))


def blocks_of(monkeypatch, images):
    """Make the fast conv build its columns `images` images at a time (forward and backward)."""
    monkeypatch.setattr(fast_conv, "_block",
                        lambda N, rows, P, dtype, budget: max(1, min(N, images)))


def on_threads(monkeypatch, threads):
    """Make the fast layers split every batch into `threads` chunks, however small the work."""
    monkeypatch.setattr(_parallel, "blas_threads", lambda: threads)
    monkeypatch.setattr(_parallel, "MIN_PARALLEL_WORK", 0)


def assert_conv_matches_naive(x, w, b, conv_param, rng, **tolerance):
    """Fast forward and backward against the naive loops on one case; returns the fast cache."""
    tolerance = tolerance or {"rtol": 1e-9, "atol": 1e-12}
    out_naive, cache_naive = L.conv_forward_naive(x, w, b, conv_param)
    out_fast, cache_fast = FL.conv_forward_fast(x, w, b, conv_param)
    np.testing.assert_allclose(out_fast, out_naive, err_msg=f"out {conv_param} {x.shape}", **tolerance)
    dout = rng.standard_normal(out_naive.shape)
    for name, fast, naive in zip(("dx", "dw", "db"), FL.conv_backward_fast(dout, cache_fast),
                                 L.conv_backward_naive(dout, cache_naive)):
        assert fast.shape == naive.shape
        np.testing.assert_allclose(fast, naive, err_msg=f"{name} {conv_param} {x.shape}", **tolerance)
    return cache_fast


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threads, block", [(1, 1), (1, 2), (3, 2)])
def test_conv_fast_in_blocks_and_threads_matches_naive_on_random_geometry(monkeypatch, seed,
                                                                          threads, block):
    # The stride-1 backward lays the images of a block side by side and reads each row of
    # column gradients shifted back by kw, across image boundaries. 7 images in blocks of 1
    # or 2, on 1 thread or 3 (chunks of 2, 2 and 3, each with its own buffers and dw): the
    # last block of a chunk is smaller. Random geometry, heights and widths of 1 to 3 steps.
    rng = np.random.default_rng(50 + seed)
    on_threads(monkeypatch, threads)
    blocks_of(monkeypatch, block)
    for _ in range(8):
        x, w, b, conv_param = random_conv_case(rng)
        HH, WW = w.shape[2:]
        pad, stride = conv_param["pad"], conv_param["stride"]
        # The smallest height (width) the windows tile, plus 0 to 2 more steps.
        H, W = (k - 2 * pad + stride * (max(0, -((k - 2 * pad - 1) // stride)) + int(rng.integers(0, 3)))
                for k in (HH, WW))
        x = rng.standard_normal((7, x.shape[1], H, W))
        cache = assert_conv_matches_naive(x, w, b, conv_param, rng)
        assert cache["block"] == block
        assert cache["path"] == ("stride1" if stride == 1 else "strided")


def float32_bound(terms, magnitude):
    """How far a float32 sum of `terms` products may be from the exact sum: gamma_n times the
    sum of the products' magnitudes (the standard bound for any order of summation, with
    unit roundoff 2**-24), plus one rounding of the result."""
    u = 2.0 ** -24
    n = terms + 1
    return n * u / (1 - n * u) * magnitude


def assert_conv_close_to_exact(x, w, b, conv_param, rng, what):
    """Fast forward and backward in x's dtype against the loops in float64 on the same values.

    float64: to 1e-9 relative. float32 (out must be float32 too): within the rounding bound of
    float32 sums (float32_bound): out sums C*HH*WW products and the bias, dx at most F*HH*WW
    products, dw and db N*H'*W'; the loops in float64 are exact to about 1e-16 here.
    """
    out, cache = FL.conv_forward_fast(x, w, b, conv_param)
    exact, exact_cache = L.conv_forward_naive(*(a.astype(np.float64) for a in (x, w, b)), conv_param)
    dout = rng.standard_normal(out.shape).astype(x.dtype)
    got = (out, *FL.conv_backward_fast(dout, cache))
    want = (exact, *L.conv_backward_naive(dout.astype(np.float64), exact_cache))
    names = ("out", "dx", "dw", "db")
    if x.dtype == np.float64:
        for name, g, e in zip(names, got, want):
            np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12, err_msg=f"{name} {what}")
        return
    size, size_cache = L.conv_forward_naive(*(np.abs(a).astype(np.float64) for a in (x, w, b)),
                                            conv_param)
    sizes = (size, *L.conv_backward_naive(np.abs(dout).astype(np.float64), size_cache))
    F, C, HH, WW = w.shape
    terms = (C * HH * WW + 1, F * HH * WW, dout[:, 0].size, dout[:, 0].size)
    for name, g, e, magnitude, n in zip(names, got, want, sizes, terms):
        assert g.dtype == x.dtype, (name, what)
        assert np.all(np.abs(g - e) <= float32_bound(n, magnitude)), (name, what)


@pytest.mark.parametrize("seed", range(4))
def test_conv_fast_float32_is_within_float32_rounding_of_the_exact_result(monkeypatch, seed):
    # float32 in, float32 out, on random geometry, with threads and blocks on.
    rng = np.random.default_rng(90 + seed)
    on_threads(monkeypatch, 2)
    blocks_of(monkeypatch, 2)
    for _ in range(10):
        x, w, b, conv_param = random_conv_case(rng)
        x = rng.standard_normal((5, *x.shape[1:]))
        x, w, b = (a.astype(np.float32) for a in (x, w, b))
        assert_conv_close_to_exact(x, w, b, conv_param, rng, conv_param)


NAMED_CONV_CASES = {  # name: (x shape, w shape, stride, pad)
    "stride 2": ((3, 2, 9, 9), (4, 2, 3, 3), 2, 1),
    "odd sizes": ((3, 3, 7, 11), (5, 3, 3, 5), 1, 2),
    "C = 1": ((4, 1, 8, 8), (3, 1, 3, 3), 1, 1),
    "N = 1": ((1, 3, 6, 6), (2, 3, 3, 3), 1, 1),
    "non-square window": ((2, 3, 8, 9), (4, 3, 2, 5), 1, 0),
    "non-square window, stride 3": ((2, 2, 10, 7), (3, 2, 4, 1), 3, 0),
    "1x1 filters": ((2, 5, 4, 4), (3, 5, 1, 1), 1, 0),
}


@pytest.mark.parametrize("name", NAMED_CONV_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_fast_matches_naive_on_named_shapes(name, dtype):
    x_shape, w_shape, stride, pad = NAMED_CONV_CASES[name]
    rng = np.random.default_rng(13)
    x, w, b = (rng.standard_normal(shape).astype(dtype) for shape in (x_shape, w_shape, w_shape[:1]))
    assert_conv_close_to_exact(x, w, b, {"stride": stride, "pad": pad}, rng, name)


@pytest.mark.parametrize("pool_param", [
    {"pool_height": 3, "pool_width": 3, "stride": 2},   # windows overlap
    {"pool_height": 2, "pool_width": 3, "stride": 1},   # non-square, overlapping
    {"pool_height": 2, "pool_width": 2, "stride": 3},   # gaps: the windows do not tile
    {"pool_height": 1, "pool_width": 4, "stride": 4},   # a window of one row
], ids=["overlap 3x3/2", "2x3/1", "gaps 2x2/3", "1x4/4"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_max_pool_fast_matches_naive_on_named_windows(pool_param, dtype):
    rng = np.random.default_rng(14)
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    x = rng.integers(0, 4, size=(3, 2, ph + 3 * s, pw + 4 * s)).astype(dtype)  # many ties
    out, cache = FL.max_pool_forward_fast(x, pool_param)
    out_naive, cache_naive = L.max_pool_forward_naive(x, pool_param)
    np.testing.assert_array_equal(out, out_naive)
    dout = rng.integers(1, 5, size=out.shape).astype(dtype)  # small integers: sums are exact
    np.testing.assert_array_equal(FL.max_pool_backward_fast(dout, cache),
                                  L.max_pool_backward_naive(dout, cache_naive))


def test_conv_fast_backward_does_not_read_memory_it_did_not_write(monkeypatch):
    # Buffers from np.empty hold whatever was there before: make that NaN, so that any
    # entry the backward pass reads without having written (or zeroed) it shows up.
    empty = np.empty

    def poisoned_empty(shape, dtype=float, **kwargs):
        out = empty(shape, dtype=dtype, **kwargs)
        if np.issubdtype(out.dtype, np.floating):
            out.fill(np.nan)
        return out

    rng = np.random.default_rng(11)
    for block in (1, 2):  # with 5 images, blocks of 2 end with a smaller one
        blocks_of(monkeypatch, block)
        for stride, pad, k in [(1, 1, 3), (1, 0, 2), (1, 2, 5), (2, 1, 3)]:
            x, w, b = rng.standard_normal((5, 2, 7, 7)), rng.standard_normal((3, 2, k, k)), rng.standard_normal(3)
            with monkeypatch.context() as m:
                m.setattr(np, "empty", poisoned_empty)
                assert_conv_matches_naive(x, w, b, {"stride": stride, "pad": pad}, rng)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_fast_matches_naive_on_random_geometry_and_ties(seed, ties):
    rng = np.random.default_rng(100 + seed)
    for _ in range(25):
        x, pool_param = random_pool_case(rng, ties)
        out_naive, cache_naive = L.max_pool_forward_naive(x, pool_param)
        out_fast, cache_fast = FL.max_pool_forward_fast(x, pool_param)
        np.testing.assert_array_equal(out_fast, out_naive, err_msg=str(pool_param))
        dout = rng.standard_normal(out_naive.shape)
        np.testing.assert_allclose(FL.max_pool_backward_fast(dout, cache_fast),
                                   L.max_pool_backward_naive(dout, cache_naive),
                                   rtol=1e-12, atol=1e-14, err_msg=str(pool_param))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_max_pool_fast_in_blocks_and_threads_matches_naive(monkeypatch, seed, threads, dtype):
    # Pooling goes a block of images at a time, on chunks of the batch: 7 images on 1 or 3
    # threads (chunks of 2, 2 and 3), in blocks of 2. Maxima are exact in any dtype; where
    # windows overlap, float32 gradients are sums of a few dout values, within the float32
    # rounding bound of such sums (float32_bound) of the sums in float64.
    rng = np.random.default_rng(200 + seed)
    on_threads(monkeypatch, threads)
    for _ in range(15):
        x, pool_param = random_pool_case(rng, ties=bool(seed % 2))
        x = np.concatenate([x] * 7)[:7].astype(dtype)
        monkeypatch.setattr(fast_pool, "_POOL_BLOCK_BYTES", 2 * x[0].nbytes)
        out_naive, cache_naive = L.max_pool_forward_naive(x, pool_param)
        out_fast, cache_fast = FL.max_pool_forward_fast(x, pool_param)
        assert cache_fast["block"] == 2 and out_fast.dtype == dtype
        np.testing.assert_array_equal(out_fast, out_naive, err_msg=str(pool_param))
        dout = rng.standard_normal(out_naive.shape).astype(dtype)
        dx = FL.max_pool_backward_fast(dout, cache_fast)
        assert dx.dtype == dtype
        exact = L.max_pool_backward_naive(dout.astype(np.float64), cache_naive)
        if dtype == np.float64:
            np.testing.assert_allclose(dx, exact, rtol=1e-12, atol=1e-14, err_msg=str(pool_param))
        else:
            overlaps = -(-pool_param["pool_height"] // pool_param["stride"]) * \
                -(-pool_param["pool_width"] // pool_param["stride"])
            size = L.max_pool_backward_naive(np.abs(dout).astype(np.float64), cache_naive)
            assert np.all(np.abs(dx - exact) <= float32_bound(overlaps, size)), pool_param


def test_max_pool_fast_reports_its_path():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 8, 8))
    for pool_param, path in [({"pool_height": 2, "pool_width": 2, "stride": 2}, "tiled"),
                             ({"pool_height": 3, "pool_width": 3, "stride": 1}, "strided"),
                             ({"pool_height": 2, "pool_width": 2, "stride": 3}, "strided")]:
        out, cache = FL.max_pool_forward_fast(x, pool_param)
        assert cache["path"] == path
        np.testing.assert_array_equal(out, L.max_pool_forward_naive(x, pool_param)[0])


def test_max_pool_fast_ties_go_to_first_maximum_in_row_major_order():
    x = np.array([[[[1.0, 3.0, 3.0, 0.0],
                    [3.0, 2.0, 0.0, 0.0],
                    [5.0, 5.0, 7.0, 7.0],
                    [5.0, 5.0, 7.0, 7.0]]]])
    _, cache = FL.max_pool_forward_fast(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    dx = FL.max_pool_backward_fast(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    expected = np.array([[[[0, 1, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]]], dtype=float)
    np.testing.assert_array_equal(dx, expected)
    # A column tie below the first row's max, and a window whose max sits at the bottom right.
    x = np.array([[[[0.0, 9.0], [9.0, 0.0]]]])
    _, cache = FL.max_pool_forward_fast(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    np.testing.assert_array_equal(FL.max_pool_backward_fast(np.ones((1, 1, 1, 1)), cache),
                                  [[[[0.0, 1.0], [0.0, 0.0]]]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_layers_keep_dtype(dtype):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 6, 6)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    out, cache = FL.conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
    assert out.dtype == dtype
    for grad in FL.conv_backward_fast(out, cache):
        assert grad.dtype == dtype
    ref, _ = L.conv_forward_naive(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                                  {"stride": 1, "pad": 1})
    np.testing.assert_allclose(out, ref, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-4)
    pooled, pool_cache = FL.max_pool_forward_fast(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    assert pooled.dtype == dtype
    assert FL.max_pool_backward_fast(pooled, pool_cache).dtype == dtype


@pytest.mark.parametrize("stride, pad", [(1, 0), (1, 1), (2, 1)])
def test_conv_fast_takes_strided_views_and_mixed_dtypes(stride, pad):
    # x and dout as transposed views (no contiguous rows), dout in float32 against float64 x.
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 7, 7, 3)).transpose(0, 3, 2, 1)
    w, b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    conv_param = {"stride": stride, "pad": pad}
    out_naive, cache_naive = L.conv_forward_naive(np.ascontiguousarray(x), w, b, conv_param)
    out_fast, cache_fast = FL.conv_forward_fast(x, w, b, conv_param)
    np.testing.assert_allclose(out_fast, out_naive, rtol=1e-9, atol=1e-12)
    H_out = out_naive.shape[2]
    dout = rng.standard_normal((2, H_out, H_out, 4)).astype(np.float32).transpose(0, 3, 2, 1)
    grads = FL.conv_backward_fast(dout, cache_fast)
    for fast, naive in zip(grads, L.conv_backward_naive(dout.astype(np.float64), cache_naive)):
        assert fast.dtype == np.float64
        np.testing.assert_allclose(fast, naive, rtol=1e-9, atol=1e-12)


def test_fast_layers_leave_inputs_untouched():
    rng = np.random.default_rng(9)
    x, w, b = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)
    saved = [x.copy(), w.copy(), b.copy()]
    out, cache = FL.conv_forward_fast(x, w, b, {"stride": 2, "pad": 1})
    dout = rng.standard_normal(out.shape)
    dout_saved = dout.copy()
    FL.conv_backward_fast(dout, cache)
    out, cache = FL.max_pool_forward_fast(x, {"pool_height": 3, "pool_width": 3, "stride": 2})
    d = rng.standard_normal(out.shape)
    d_saved = d.copy()
    FL.max_pool_backward_fast(d, cache)
    for a, s in zip([x, w, b, dout, d], [*saved, dout_saved, d_saved]):
        np.testing.assert_array_equal(a, s)


def test_fast_layers_reject_the_same_bad_input_as_naive():
    x, w, b = np.zeros((1, 1, 7, 7)), np.zeros((1, 1, 3, 3)), np.zeros(1)
    with pytest.raises(ValueError, match=r"conv_forward_fast: along the height, \(N - F \+ 2P\)/S \+ 1 is not an integer"):
        FL.conv_forward_fast(x, w, b, {"stride": 3, "pad": 0})
    with pytest.raises(ValueError, match=r"with C = 1 channels of x"):
        FL.conv_forward_fast(x, np.zeros((1, 2, 3, 3)), b, {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match=r"max_pool_forward_fast: along the width"):
        FL.max_pool_forward_fast(np.zeros((1, 1, 4, 5)), {"pool_height": 2, "pool_width": 2, "stride": 2})


def test_cs231n_aliases_point_to_the_fast_layers():
    assert FL.conv_forward_im2col is FL.conv_forward_fast
    assert FL.conv_forward_strides is FL.conv_forward_fast
    assert FL.conv_backward_im2col is FL.conv_backward_fast
    assert FL.conv_backward_strides is FL.conv_backward_fast


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_max_pool_fast_2x2_ties_on_every_window_of_three_values(dtype):
    # All 3**4 windows with entries in {0, 1, 2}, side by side: every pattern of ties.
    windows = np.array(np.meshgrid(*[np.arange(3, dtype=dtype)] * 4, indexing="ij")).reshape(4, -1).T
    x = windows.reshape(1, 81, 2, 2).transpose(0, 2, 1, 3).reshape(1, 1, 2, 162)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out_fast, cache_fast = FL.max_pool_forward_fast(x, pool_param)
    out_naive, cache_naive = L.max_pool_forward_naive(x, pool_param)
    np.testing.assert_array_equal(out_fast, out_naive)
    dout = np.arange(1, 82, dtype=dtype).reshape(1, 1, 1, 81)
    dx = FL.max_pool_backward_fast(dout, cache_fast)
    assert dx.dtype == dtype
    np.testing.assert_array_equal(dx, L.max_pool_backward_naive(dout, cache_naive))


def pair_inputs():
    """float32 inputs of 2x2 pooling, as views of every kind the fast pool may get: their
    names and arrays."""
    rng = np.random.default_rng(31)
    values = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, 2.5], dtype=np.float32)
    x = rng.choice(values, size=(3, 4, 6, 8))  # many ties, signed zeros and infinities
    unaligned = np.empty(x.size + 1, dtype=np.float32)[1:].reshape(x.shape)  # 4 bytes off
    unaligned[...] = x
    return [("contiguous", x), ("every other channel", np.concatenate([x, x], axis=1)[:, ::2]),
            ("unaligned words", unaligned), ("transposed", np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)),
            ("big-endian", x.astype(">f4"))]


@pytest.mark.parametrize("name, x", pair_inputs())
def test_max_pool_fast_float32_pairs_match_naive(monkeypatch, name, x):
    # float32 2x2 windows compare the maxima with the pairs' first entries read as 64-bit
    # words (fast_pool._first_of_pairs) when the rows are contiguous in native byte order.
    calls = []
    first_of_pairs = fast_pool._first_of_pairs
    monkeypatch.setattr(fast_pool, "_first_of_pairs", lambda a: calls.append(a.shape) or first_of_pairs(a))
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = FL.max_pool_forward_fast(x, pool_param)
    out_naive, cache_naive = L.max_pool_forward_naive(x, pool_param)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out, out_naive)
    np.testing.assert_array_equal(np.signbit(out), np.signbit(out_naive))
    dout = np.arange(1, out.size + 1, dtype=np.float32).reshape(out.shape)
    np.testing.assert_array_equal(FL.max_pool_backward_fast(dout, cache),
                                  L.max_pool_backward_naive(dout, cache_naive))
    native = name not in ("transposed", "big-endian")
    assert bool(calls) == (native and sys.byteorder == "little"), name


def test_max_pool_fast_float32_pairs_keep_nan():
    x = np.arange(2 * 4 * 6, dtype=np.float32).reshape(1, 2, 4, 6)
    x[0, 0, 1, 0] = x[0, 1, 2, 5] = np.nan  # one NaN in each of two windows
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = FL.max_pool_forward_fast(x, pool_param)
    out_naive, cache_naive = L.max_pool_forward_naive(x, pool_param)
    np.testing.assert_array_equal(out, out_naive)  # NaN where the naive layer has NaN
    assert np.isnan(out).sum() == 2
    # The gradients of the other windows go where the naive layer sends them.
    dx = FL.max_pool_backward_fast(np.ones_like(out), cache)
    dx_naive = L.max_pool_backward_naive(np.ones_like(out), cache_naive)
    clean = np.repeat(np.repeat(~np.isnan(out), 2, axis=2), 2, axis=3)
    np.testing.assert_array_equal(dx[clean], dx_naive[clean])


def _plain_version(module):
    """The plain numpy code in a module docstring: its indented lines before "How it is made fast"."""
    text = module.__doc__.split("How it is made fast")[0]
    return textwrap.dedent("\n".join(line for line in text.splitlines() if line.startswith("    ")))


@pytest.mark.parametrize("seed", range(3))
def test_plain_versions_in_the_docstrings_compute_the_layers(seed):
    rng = np.random.default_rng(300 + seed)
    x, w, b, conv_param = random_conv_case(rng)
    out, cache = L.conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    ns = {"np": np, "x": x, "w": w, "b": b, "s": conv_param["stride"], "p": conv_param["pad"],
          "N": N, "C": C, "H": H, "W": W, "F": F, "HH": HH, "WW": WW,
          "H_out": out.shape[2], "W_out": out.shape[3], "dout": dout}
    exec(_plain_version(fast_conv), ns)
    np.testing.assert_allclose(ns["out"], out, rtol=1e-9, atol=1e-12)
    for name, naive in zip(("dx", "dw", "db"), L.conv_backward_naive(dout, cache)):
        np.testing.assert_allclose(ns[name], naive, rtol=1e-9, atol=1e-12, err_msg=name)

    x, pool_param = random_pool_case(rng, ties=True)
    out, cache = L.max_pool_forward_naive(x, pool_param)
    dout = rng.standard_normal(out.shape)
    ns = {"np": np, "functools": functools, "x": x, "s": pool_param["stride"],
          "ph": pool_param["pool_height"], "pw": pool_param["pool_width"],
          "H_out": out.shape[2], "W_out": out.shape[3], "dout": dout}
    exec(_plain_version(fast_pool), ns)
    np.testing.assert_array_equal(ns["out"], out)
    np.testing.assert_allclose(ns["dx"], L.max_pool_backward_naive(dout, cache), rtol=1e-12, atol=1e-14)


def test_conv_fast_backward_takes_its_own_smaller_blocks(monkeypatch):
    # The backward pass sizes its blocks on its own budget (_BACKWARD_BLOCK_BYTES): forward
    # in one block of 5 images, backward in blocks of 1, 2 (4 + 1: a smaller last block),
    # stride 1 and 2, with padding (7x5 images, 3x3 filters).
    rng = np.random.default_rng(23)
    x, w, b = (rng.standard_normal(shape) for shape in ((5, 3, 7, 5), (4, 3, 3, 3), (4,)))
    blocks = []

    def spy(backward):
        def recording(*args):
            blocks.append(args[5])  # the block argument
            return backward(*args)
        return recording

    for name in ("_backward_stride1", "_backward_strided"):
        monkeypatch.setattr(fast_conv, name, spy(getattr(fast_conv, name)))
    for images in (1, 2):
        for stride, positions in ((1, 7 * 5), (2, 4 * 3)):  # H' * W' at pad 1
            one_image = (3 * 9 + 1) * positions * 8  # bytes of one image's columns
            monkeypatch.setattr(fast_conv, "_BACKWARD_BLOCK_BYTES", images * one_image)
            blocks.clear()
            cache = assert_conv_matches_naive(x, w, b, {"stride": stride, "pad": 1}, rng)
            assert cache["block"] == 5
            assert blocks == [images], stride
