"""Benchmark: kNN distance matrices against this machine's matmul rate, and their memory.

    python -m bench knn

5000 training and 500 test points of dimension 3072 (CIFAR-10 sized), float64, random.
The no-loop L2 version is one (500, 3072) @ (3072, 5000) product plus O(output) work;
its rate is useful FLOPs 2 * 500 * 5000 * 3072 per second, reported as a ratio to
(a) that same GEMM timed alone and (b) a square GEMM, both measured in this run.
Memory: the peak of numpy allocations during the call (tracemalloc), as a multiple of
the (500, 5000) output matrix (1.0 = nothing beyond the output itself).
The loop versions (and L1) are timed on a slice of the test points and scaled to 500.
"""

import time
import tracemalloc

import numpy as np

from bench.bench_conv import best_time, gemm_rate
from cs231n_lib.classifiers.k_nearest_neighbor import KNearestNeighbor

NUM_TRAIN, NUM_TEST, DIM = 5000, 500, 3072


def peak_memory(fn):
    """(result, peak bytes allocated by fn() above what was allocated before it)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, peak - before


def scaled_time(fn, X_test, rows):
    """Seconds of fn on the first `rows` test points, scaled to all of them."""
    t0 = time.perf_counter()
    fn(X_test[:rows])
    return (time.perf_counter() - t0) * X_test.shape[0] / rows


def main():
    rng = np.random.default_rng(0)
    X_train = rng.standard_normal((NUM_TRAIN, DIM)) * 60 + 120
    X_test = rng.standard_normal((NUM_TEST, DIM)) * 60 + 120
    y_train = rng.integers(0, 10, NUM_TRAIN)
    flops = 2 * NUM_TEST * NUM_TRAIN * DIM
    out_bytes = NUM_TEST * NUM_TRAIN * 8

    square = gemm_rate(1536, 1536, 1536, np.float64, rng)
    same = flops / best_time(lambda: X_test @ X_train.T)
    knn = KNearestNeighbor()
    knn.train(X_train, y_train)
    no_loops = best_time(lambda: knn.compute_distances_no_loops(X_test))
    dists, peak = peak_memory(lambda: knn.compute_distances_no_loops(X_test))
    rate = flops / no_loops

    print(f"square GEMM 1536^3 float64: {square / 1e9:.1f} GFLOP/s; "
          f"the same GEMM (500x3072 @ 3072x5000): {same / 1e9:.1f} GFLOP/s")
    print(f"{'L2 no loops':<24}{'ms':>9}{'GFLOP/s':>9}{'/same GEMM':>11}{'/sq GEMM':>9}"
          f"{'peak mem / output':>19}")
    print(f"{'500 x 5000 x 3072 f64':<24}{no_loops * 1e3:>9.1f}{rate / 1e9:>9.1f}"
          f"{rate / same:>11.2f}{rate / square:>9.2f}{peak / out_bytes:>19.2f}")
    print("targets: >= 0.50 of the matmul rate; memory a small multiple of the output "
          f"({out_bytes / 2**20:.0f} MiB)")

    one_loop = scaled_time(knn.compute_distances_one_loop, X_test, 10)
    two_loops = scaled_time(knn.compute_distances_two_loops, X_test, 1)
    l1 = KNearestNeighbor(metric="l1")
    l1.train(X_train, y_train)
    l1_no_loops = scaled_time(l1.compute_distances_no_loops, X_test, 25)
    predict = best_time(lambda: knn.predict_labels(dists, k=10), repeat=3)
    print()
    print(f"{'method (scaled to 500 test points)':<40}{'seconds':>9}{'x no loops':>12}")
    for label, seconds in (("L2 two loops (1 test point)", two_loops),
                           ("L2 one loop (10 test points)", one_loop),
                           ("L2 no loops", no_loops),
                           ("L1 no loops, blocked (25 test points)", l1_no_loops),
                           ("predict_labels k=10 (stable sort + vote)", predict)):
        print(f"{label:<40}{seconds:>9.3f}{seconds / no_loops:>12.1f}")


if __name__ == "__main__":
    main()
