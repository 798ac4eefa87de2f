"""Benchmark: the fast conv and max pool layers against PyTorch's CPU layers and this machine.

    python -m bench conv

Measured side by side in one process, as ratios:

- convolution forward+backward (dx, dw, db) against PyTorch's (torch.nn.functional.conv2d
  and .backward() with gradients for input, weight and bias), when torch is installed
  (`pip install torch==2.13.0`, the CPU build: see README, "Benchmarks"); targets: at least
  1.0x PyTorch's speed in float32 and 1.5x in float64 on every shape;
- the same work against a square matrix product (GEMM) of the same dtype (the conv's
  3 * 2*N*F*C*HH*WW*H'*W' useful operations per second over the GEMM's, column /GEMM) and
  against the naive loops (timed on one image, scaled to the batch); column "need" is the
  /GEMM our layer would have to reach to meet its target against torch (torch's own rate over
  the GEMM's, times the target): a layer built on matrix products, which also copies its
  columns, cannot reach 1.0 there, so a "need" near or above 1 means the target is beyond
  numpy and BLAS on this machine (torch runs oneDNN's compiled convolution kernels in
  float32); column "ceiling" is torch's time over the time of the layer's matrix products
  alone (forward, dw and the column gradients, made as the layer makes them, on columns
  built beforehand, one block of each pass's own size, scaled to the batch): the best ratio
  the layer could reach if building its columns and col2im cost nothing;
- max pooling forward+backward against one np.copy of its input (target: at most 3x in
  float32), and against PyTorch's max_pool2d; "pass/copy" is the cheapest numpy step of
  pooling (one np.maximum of the pairs along the width) against the same copy.

PyTorch runs with as many threads as numpy's BLAS, and the fast layers use that many (see
cs231n_lib/_parallel.py). The times behind a ratio are taken in turn (ours, torch, ours, ...;
cs231n_lib.timing.best_times), because a shared machine's speed drifts by a factor of two
within seconds. When BLAS has more than one thread, everything is measured again on one
thread, in CPU time: on a busy machine a thread waits for a core, which wall time counts and
CPU time does not, so the one-thread ratios are the ones to trust there.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
from threadpoolctl import threadpool_limits

from bench.machine import describe
from cs231n_lib import fast_conv as FC
from cs231n_lib import fast_layers as FL
from cs231n_lib import layers as L
from cs231n_lib._parallel import blas_threads
from cs231n_lib.timing import best_times

CONV_CASES = [  # (label, N, C, F, H = W, filter size, pad); stride 1
    ("N=100 3->32 32x32 f7 p3", 100, 3, 32, 32, 7, 3),
    ("N=100 3->32 32x32 f3 p1", 100, 3, 32, 32, 3, 1),
    ("N=50 32->64 16x16 f3 p1", 50, 32, 64, 16, 3, 1),
    ("05 convnet, embedded: N=50 3->16 f5", 50, 3, 16, 32, 5, 2),  # ThreeLayerConvNet's conv
    ("05 convnet, CIFAR-10: N=50 3->32 f7", 50, 3, 32, 32, 7, 3),  # (05_cnn, batch 50)
]
POOL_CASES = [  # (label, input shape); 2x2 windows, stride 2
    ("(100, 32, 32, 32)", (100, 32, 32, 32)),
    ("05 convnet, embedded (50, 16, 32, 32)", (50, 16, 32, 32)),
    ("05 convnet, CIFAR-10 (50, 32, 32, 32)", (50, 32, 32, 32)),
]
POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}
DTYPES = (np.float32, np.float64)
TARGET = {"float32": 1.0, "float64": 1.5}  # torch time / our time, convolution
POOL_TARGET = 3.0  # (forward + backward) / copy, float32
REPEATS = 7


def import_torch():
    """torch, or None when it is not installed (the course never needs it)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def square_gemm_rate(dtype, rng, clock):
    """Operations per second of a 1024^3 matrix product in `dtype`."""
    a = rng.standard_normal((1024, 1024)).astype(dtype)
    b = rng.standard_normal((1024, 1024)).astype(dtype)
    return 2 * 1024 ** 3 / best_times({"gemm": lambda: a @ b}, repeats=5, clock=clock)["gemm"]


def naive_seconds(case, rng):
    """Seconds of the naive loops' forward+backward on one float64 image, times the batch."""
    _, N, C, F, H, k, pad = case
    x, w, b = rng.standard_normal((1, C, H, H)), rng.standard_normal((F, C, k, k)), rng.standard_normal(F)
    start = time.perf_counter()
    out, cache = L.conv_forward_naive(x, w, b, {"stride": 1, "pad": pad})
    L.conv_backward_naive(np.ones_like(out), cache)
    return (time.perf_counter() - start) * N


def products_calls(x, w, b, dout, cache):
    """The conv layer's matrix products alone, as conv_forward_fast and the stride-1 backward
    pass make them, each on one block of images of its own size (the forward pass's
    cache["block"], the backward pass's _BACKWARD_BLOCK_BYTES) whose columns are built once
    here: {name: (call, batch / block)}."""
    N, F = x.shape[0], w.shape[0]
    K, (H_out, W_out) = w[0].size, dout.shape[2:]
    P = H_out * W_out
    B_fwd = cache["block"]
    B_bwd = FC._block(N, K + 1, P, x.dtype, FC._BACKWARD_BLOCK_BYTES)   # at most B_fwd
    cols = FC._im2col(cache["x_pad"][:B_fwd], w.shape[2], w.shape[3], 1, H_out, W_out,
                      FC._column_buffer(B_fwd, K, P, x.dtype))
    w_b = np.concatenate([w.reshape(F, K), b[:, None]], axis=1)
    w_rows_t = np.ascontiguousarray(w.reshape(F, K).T)
    block_dout = np.ascontiguousarray(dout[:B_bwd])
    out3, parts = np.empty((B_fwd, F, P), x.dtype), np.empty((B_bwd, K + 1, F), x.dtype)
    dcols = np.empty((B_bwd, H_out, K, W_out), x.dtype)

    def forward():
        FC._matmul_in_chunks(w_b, cols, out3, FC._OUTPUT_CHUNK)

    def backward():
        FC._matmul_row_chunks(cols[:B_bwd], block_dout.reshape(B_bwd, F, P).transpose(0, 2, 1), parts,
                              FC._DW_ROW_CHUNK)                                      # [dw | db]
        np.matmul(w_rows_t, block_dout.transpose(0, 2, 1, 3), out=dcols)          # by output rows

    return {"products fwd": (forward, N / B_fwd), "products bwd": (backward, N / B_bwd)}


def conv_row(case, dtype, rng, torch, clock):
    """Times of one case in one dtype: ours forward, backward, torch forward+backward."""
    _, N, C, F, H, k, pad = case
    conv_param = {"stride": 1, "pad": pad}
    x = rng.standard_normal((N, C, H, H)).astype(dtype)
    w = (rng.standard_normal((F, C, k, k)) * 0.1).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    out, cache = FL.conv_forward_fast(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape).astype(dtype)
    products = products_calls(x, w, b, dout, cache)
    calls = {"fwd": lambda: FL.conv_forward_fast(x, w, b, conv_param),
             "bwd": lambda: FL.conv_backward_fast(dout, cache),
             **{name: call for name, (call, _) in products.items()}}
    if torch is not None:
        tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        tdout = torch.from_numpy(dout)

        def torch_fwd_bwd():
            tx.grad = tw.grad = tb.grad = None
            torch.nn.functional.conv2d(tx, tw, tb, stride=1, padding=pad).backward(tdout)

        calls["torch"] = torch_fwd_bwd
    for fn in calls.values():
        fn()  # warm up (allocations, threads)
    times = best_times(calls, repeats=REPEATS, clock=clock)
    times["products"] = sum(times[name] * scale for name, (_, scale) in products.items())
    return times


def pool_row(shape, dtype, rng, torch, clock):
    """Times of max pooling on one shape in one dtype, with np.copy of the input."""
    x = rng.standard_normal(shape).astype(dtype)
    out, cache = FL.max_pool_forward_fast(x, POOL_PARAM)
    dout = rng.standard_normal(out.shape).astype(dtype)
    calls = {"copy": lambda: np.copy(x),
             "pass": lambda: np.maximum(x[..., 0::2], x[..., 1::2]),  # the cheapest step
             "fwd": lambda: FL.max_pool_forward_fast(x, POOL_PARAM),
             "bwd": lambda: FL.max_pool_backward_fast(dout, cache)}
    if torch is not None:
        tx, tdout = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dout)

        def torch_fwd_bwd():
            tx.grad = None
            torch.nn.functional.max_pool2d(tx, 2, 2).backward(tdout)

        calls["torch"] = torch_fwd_bwd
    for fn in calls.values():
        fn()
    return best_times(calls, repeats=3 * REPEATS, clock=clock)


def conv_table(rng, torch, clock, naive):
    """Print the convolution table; returns the number of rows below their target."""
    gemm = {np.dtype(dt).name: square_gemm_rate(dt, rng, clock) for dt in DTYPES}
    print("square GEMM 1024^3: " + ", ".join(f"{name} {rate / 1e9:.0f} GFLOP/s"
                                             for name, rate in gemm.items()))
    print(f"{'conv fwd+bwd (stride 1)':<37}{'dtype':<8}{'fwd ms':>7}{'bwd ms':>8}{'torch ms':>9}"
          f"{'torch/ours':>11}{'ceiling':>8}{'/GEMM':>6}{'need':>6}{'x naive':>8}")
    below = 0
    for case in CONV_CASES:
        label, N, C, F, H, k, _ = case
        flops = 3 * 2 * N * F * C * k * k * H * H  # forward, dx and dw
        for dt in DTYPES:
            name = np.dtype(dt).name
            t = conv_row(case, dt, rng, torch, clock)
            ours = t["fwd"] + t["bwd"]
            line = (f"{label:<37}{name:<8}{t['fwd'] * 1e3:>7.1f}{t['bwd'] * 1e3:>8.1f}")
            if torch is not None:
                ratio = t["torch"] / ours
                verdict = "ok" if ratio >= TARGET[name] else f"BELOW {TARGET[name]:g}"
                below += ratio < TARGET[name]
                line += f"{t['torch'] * 1e3:>9.1f}{ratio:>11.2f}{t['torch'] / t['products']:>8.2f}"
                need = f"{flops / t['torch'] * TARGET[name] / gemm[name]:>6.2f}"
            else:
                verdict = ""
                line += f"{'-':>9}{'-':>11}{'-':>8}"
                need = f"{'-':>6}"
            line += f"{flops / ours / gemm[name]:>6.2f}{need}{naive[label] / ours:>8.0f}  {verdict}"
            print(line, flush=True)
    return below


def pool_table(rng, torch, clock):
    """Print the max pooling table; returns the number of float32 rows above the target.

    "pass/copy" is one np.maximum of the pairs along the width against the copy: the cheapest
    numpy step that pooling must take (the forward and backward passes take several such).
    """
    print(f"{'max pool 2x2 stride 2, fwd+bwd':<40}{'dtype':<8}{'copy ms':>8}{'fwd ms':>7}{'bwd ms':>7}"
          f"{'/copy':>6}{'pass/copy':>10}{'torch ms':>9}{'torch/ours':>11}")
    above = 0
    for label, shape in POOL_CASES:
        for dt in DTYPES:
            name = np.dtype(dt).name
            t = pool_row(shape, dt, rng, torch, clock)
            ratio = (t["fwd"] + t["bwd"]) / t["copy"]
            verdict = ""
            if dt == np.float32:
                verdict = "ok" if ratio <= POOL_TARGET else f"ABOVE {POOL_TARGET:g}"
                above += ratio > POOL_TARGET
            torch_cols = (f"{t['torch'] * 1e3:>9.2f}{t['torch'] / (t['fwd'] + t['bwd']):>11.2f}"
                          if torch is not None else f"{'-':>9}{'-':>11}")
            print(f"{label:<40}{name:<8}{t['copy'] * 1e3:>8.2f}{t['fwd'] * 1e3:>7.2f}"
                  f"{t['bwd'] * 1e3:>7.2f}{ratio:>6.2f}{t['pass'] / t['copy']:>10.2f}{torch_cols}"
                  f"  {verdict}", flush=True)
    return above


@contextlib.contextmanager
def threads(count, torch):
    """numpy's BLAS (hence the fast layers) and torch on `count` threads, then as before."""
    saved = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(count, user_api="blas"):
        if torch is not None:
            torch.set_num_threads(count)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(saved)


def main():
    torch = import_torch()
    rng = np.random.default_rng(0)
    count = blas_threads()
    with threads(count, torch):
        for line in describe(torch):
            print(line)
    if torch is None:
        print("PyTorch is not installed, so there is no side-by-side ratio; for it: "
              "pip install torch==2.13.0 (the CPU build, see README). The other ratios follow.")
    naive = {case[0]: naive_seconds(case, rng) for case in CONV_CASES}
    print("naive loops: forward+backward timed on one float64 image, times the batch")
    passes = [(count, time.perf_counter, "wall time")]
    if count > 1:
        passes.append((1, time.process_time, "CPU time"))
    for n, clock, what in passes:
        print(f"\n--- {n} thread{'s' if n > 1 else ''} for numpy's BLAS, the fast layers"
              f"{' and torch' if torch is not None else ''}; best of {REPEATS} interleaved runs, "
              f"{what} ---")
        with threads(n, torch):
            below = conv_table(rng, torch, clock, naive)
            above = pool_table(rng, torch, clock)
        if torch is not None:
            print(f"targets: conv torch/ours >= {TARGET['float32']:g} in float32 and >= "
                  f"{TARGET['float64']:g} in float64 ({below} below); max pool float32 "
                  f"(fwd+bwd)/copy <= {POOL_TARGET:g} ({above} above)")
        else:
            print(f"target: max pool float32 (fwd+bwd)/copy <= {POOL_TARGET:g} ({above} above)")


if __name__ == "__main__":
    main()
