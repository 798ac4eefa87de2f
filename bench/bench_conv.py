"""Benchmark: fast conv and max pool against this machine's matmul rate and memory pass.

    python -m bench conv

Every figure is measured in the same run, and the times that form a ratio are taken in
turn (forward, backward, forward, ...) so that they see the same machine speed. Conv rates are useful FLOPs
2*N*F*C*HH*WW*H'*W' per second, reported as a ratio to (a) a square GEMM of the same
dtype and (b) the GEMM the conv reduces to, (F, C*HH*WW) @ (C*HH*WW, N*H'*W'), timed on
its own. The naive loops are timed on a slice of the batch and scaled per image.
Max pool is compared with one pass over the same input: np.copy and np.sum, and with a
single np.maximum of each window's top and bottom rows (the first step of any separable
pool in numpy).
"""

import time

import numpy as np

from cs231n_lib import fast_layers as FL
from cs231n_lib import layers as L

CONV_CASES = [  # (label, N, C, F, H, filter, pad)
    ("N=100 3->32 32x32 f7 p3", 100, 3, 32, 32, 7, 3),
    ("N=100 3->32 32x32 f3 p1", 100, 3, 32, 32, 3, 1),
    ("N=50 32->64 16x16 f3 p1", 50, 32, 64, 16, 3, 1),
]
NAIVE_IMAGES = 1  # images the naive loops run on, scaled to the full batch


def best_time(fn, repeat=5, min_total=0.3):
    """Best wall time of fn() over at least `repeat` calls and about `min_total` seconds."""
    fn()  # warm up (allocations, BLAS threads)
    times, start = [], time.perf_counter()
    while len(times) < repeat or time.perf_counter() - start < min_total:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 50:
            break
    return min(times)


def best_times(fns, rounds=15, min_total=0.5):
    """Best wall time of each function, calling them in turn (fn0, fn1, ..., fn0, ...).

    Interleaving means the times compared in a ratio come from the same stretch of the
    run: on a shared machine, speed can drift by a factor of 2 over a few seconds.
    """
    for fn in fns:
        fn()  # warm up
    times, start = [[] for _ in fns], time.perf_counter()
    while len(times[0]) < rounds or time.perf_counter() - start < min_total:
        for fn, seen in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            seen.append(time.perf_counter() - t0)
        if len(times[0]) >= 50:
            break
    return [min(seen) for seen in times]


def gemm_rate(m, k, n, dtype, rng):
    """FLOP/s of an (m, k) @ (k, n) product in `dtype`."""
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    return 2 * m * k * n / best_time(lambda: a @ b)


def conv_rows(rng):
    """One row per (case, dtype) with the conv timings and ratios."""
    rows = []
    square = {dt: gemm_rate(1536, 1536, 1536, dt, rng) for dt in (np.float64, np.float32)}
    for dt, rate in square.items():
        print(f"square GEMM 1536^3 {np.dtype(dt).name}: {rate / 1e9:.1f} GFLOP/s")
    for label, N, C, F, H, k, pad in CONV_CASES:
        conv_param = {"stride": 1, "pad": pad}
        x64 = rng.standard_normal((N, C, H, H))
        w64 = rng.standard_normal((F, C, k, k)) * 0.1
        b64 = rng.standard_normal(F)
        H_out = 1 + (H + 2 * pad - k)
        flops = 2 * N * F * C * k * k * H_out * H_out

        xs, ws, bs = x64[:NAIVE_IMAGES], w64, b64
        t0 = time.perf_counter()
        out_naive, cache_naive = L.conv_forward_naive(xs, ws, bs, conv_param)
        naive_fwd = (time.perf_counter() - t0) * N / NAIVE_IMAGES
        t0 = time.perf_counter()
        L.conv_backward_naive(np.ones_like(out_naive), cache_naive)
        naive_bwd = (time.perf_counter() - t0) * N / NAIVE_IMAGES

        for dt in (np.float64, np.float32):
            x, w, b = x64.astype(dt), w64.astype(dt), b64.astype(dt)
            out, cache = FL.conv_forward_fast(x, w, b, conv_param)
            dout = rng.standard_normal(out.shape).astype(dt)
            fwd, bwd = best_times([
                lambda x=x, w=w, b=b, p=conv_param: FL.conv_forward_fast(x, w, b, p),
                lambda dout=dout, cache=cache: FL.conv_backward_fast(dout, cache),
            ])
            shape_rate = gemm_rate(F, C * k * k, N * H_out * H_out, dt, rng)
            rows.append((label, np.dtype(dt).name, fwd, bwd, flops / fwd, flops / fwd / square[dt],
                         flops / fwd / shape_rate, bwd / fwd, naive_fwd / fwd, naive_bwd / bwd))
    return rows


def pool_rows(rng):
    """One row per dtype with the 2x2 stride-2 max pool timings against one memory pass."""
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    rows = []
    for dt in (np.float64, np.float32):
        x = rng.standard_normal((100, 32, 32, 32)).astype(dt)
        out, cache = FL.max_pool_forward_fast(x, pool_param)
        dout = rng.standard_normal(out.shape).astype(dt)
        pairs = x.reshape(100, 32, 16, 2, 32)  # the top and bottom row of each window
        copy, total, one_max, fwd, bwd = best_times([
            lambda x=x: np.copy(x),
            lambda x=x: x.sum(),
            lambda pairs=pairs: np.maximum(pairs[:, :, :, 0], pairs[:, :, :, 1]),
            lambda x=x: FL.max_pool_forward_fast(x, pool_param),
            lambda dout=dout, cache=cache: FL.max_pool_backward_fast(dout, cache),
        ])
        rows.append((np.dtype(dt).name, copy, total, one_max, fwd, bwd))
    return rows


def main():
    rng = np.random.default_rng(0)
    print(f"naive loops timed on {NAIVE_IMAGES} image(s) and scaled to the batch size")
    rows = conv_rows(rng)
    print()
    print(f"{'conv case':<26}{'dtype':<9}{'fwd ms':>8}{'bwd ms':>8}{'GFLOP/s':>9}"
          f"{'/sq GEMM':>9}{'/same GEMM':>11}{'bwd/fwd':>8}{'x naive f':>10}{'x naive b':>10}")
    for label, dt, fwd, bwd, rate, r_sq, r_shape, ratio, sf, sb in rows:
        print(f"{label:<26}{dt:<9}{fwd * 1e3:>8.1f}{bwd * 1e3:>8.1f}{rate / 1e9:>9.1f}"
              f"{r_sq:>9.2f}{r_shape:>11.2f}{ratio:>8.2f}{sf:>10.0f}{sb:>10.0f}")
    print("targets: fwd >= 0.40 of the matmul rate, bwd/fwd <= 2.5, > 200x the naive loops")
    print()
    print(f"{'max pool 2x2/2 (100,32,32,32)':<30}{'copy ms':>8}{'sum ms':>8}{'1 max ms':>9}"
          f"{'fwd ms':>8}{'bwd ms':>8}{'1max/copy':>10}{'fwd/copy':>9}{'bwd/copy':>9}")
    for dt, copy, total, one_max, fwd, bwd in pool_rows(rng):
        print(f"{dt:<30}{copy * 1e3:>8.2f}{total * 1e3:>8.2f}{one_max * 1e3:>9.2f}{fwd * 1e3:>8.2f}"
              f"{bwd * 1e3:>8.2f}{one_max / copy:>10.2f}{fwd / copy:>9.2f}{bwd / copy:>9.2f}")
    print("target: within 3x of one pass (np.copy)")
    print("1 max: a single np.maximum of each window's top and bottom rows, half of the forward's")
    print("values and none of its bookkeeping; what numpy itself takes for one pass over these views")


if __name__ == "__main__":
    main()
