"""Fast convolution in pure numpy: im2col and matrix products, a block of images at a time.

What it computes, in plain numpy (stride s, pad p, H' = 1 + (H + 2p - HH) // s, likewise W'):

    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = np.stack([x_pad[:, :, i:i + s * H_out:s, j:j + s * W_out:s]     # (N, C, H', W') each
                     for i in range(HH) for j in range(WW)], axis=2)
    cols = cols.reshape(N, C * HH * WW, H_out * W_out)                     # im2col
    out = (w.reshape(F, -1) @ cols + b[:, None]).reshape(N, F, H_out, W_out)

    dout3 = dout.reshape(N, F, H_out * W_out)
    dw = (dout3 @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    db = dout.sum(axis=(0, 2, 3))
    dcols = (w.reshape(F, -1).T @ dout3).reshape(N, C, HH, WW, H_out, W_out)
    dx_pad = np.zeros_like(x_pad)
    for i in range(HH):                                                    # col2im
        for j in range(WW):
            dx_pad[:, :, i:i + s * H_out:s, j:j + s * W_out:s] += dcols[:, :, i, j]
    dx = dx_pad[:, :, p:p + H, p:p + W]

How it is made fast, with the same results (to rounding) on every stride, pad and shape:

- Threads: the batch is split into one chunk of images per thread of numpy's BLAS, and each
  thread does everything for its chunk with BLAS on one thread (cs231n_lib._parallel): the
  copies run in parallel too, and nothing waits until the end (the backward pass then adds
  the chunks' dw).
- Never all of cols at once: the columns of a block of images are copied into a buffer of
  about _BLOCK_BYTES, so they are still in cache when the matrix product reads them, and
  no large array is allocated (first touches of fresh memory cost as much as the copies).
  The buffer has one more row, all ones, and the product is with [w | b]: the bias rides
  along ([w | b] @ [cols; 1] = w @ cols + b) and the output is written directly in
  (N, F, H'*W'). The backward pass rebuilds each block's columns, in smaller blocks of
  about _BACKWARD_BLOCK_BYTES (it keeps more buffers per image), and the row of ones gives
  db together with dw (dout @ [cols; 1]^T = [dw | db]).
- Matrix products with the filters go in chunks of a few dozen output positions: OpenBLAS
  multiplies matrices that small without repacking them first (_OUTPUT_CHUNK).
- Stride 1 (cache["path"] == "stride1"): the column gradients w^T @ dout are written, one
  output row at a time, onto a grid of H' rows of W_pad = W + 2p positions (output
  position (i, j) is entry i * W_pad + j; the last WW - 1 positions of each row are extra
  and stay zero). On that grid, col2im needs no scatter:
  the gradient of the flattened padded image at kh * W_pad + t gets, for each kw, column
  gradient (kh, kw) at position t - kw; reading row (kh, kw) shifted back by kw is a
  strided view whose reads outside an image's positions fall on zeros, so one reduction
  over kw (placing each kh's sum kh rows down) and one over kh do the whole col2im. The
  B images of a block sit side by side on the grid. (For an inf or NaN in x or w, a NaN
  may appear where the loops give inf.)
- Stride > 1 (cache["path"] == "strided"): col2im is one add per kernel offset into a
  strided window of dx_pad, as in the plain version, a block at a time.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cs231n_lib import _validate
from cs231n_lib._parallel import map_chunks
from cs231n_lib._row_copy import copy_rows

# Columns are built and used a block of images at a time, in a buffer of about this size
# per thread, so that they are still in cache when the matrix products read them.
_BLOCK_BYTES = 1 << 20
# The backward pass keeps more buffers per image (the column gradients, the grid), so its
# blocks are smaller: side by side with blocks of _BLOCK_BYTES on one thread, its time was
# 1.2 times shorter on 05_cnn's embedded conv in float32 (N=50, 3->16, 5x5), 1.1 times on
# N=100, 3->32, 3x3 and the same (within 5 %) on the benchmark's other shapes.
_BACKWARD_BLOCK_BYTES = 256 << 10
# The products with the filters are made on chunks of this many output positions (columns):
# OpenBLAS multiplies such small matrices without first copying them into its own layout,
# measured 1.2 to 1.5 times faster in float32 than whole images on the benchmark's shapes
# (bench/bench_conv.py; up to 1.2 times in float64). The column gradients, w^T @ dout, go
# by output rows in the stride-1 backward pass (see _backward_stride1) and otherwise by
# chunks that keep C*HH*WW x F x chunk near _DCOLS_CHUNK_WORK multiply-adds.
_OUTPUT_CHUNK = 32
_DCOLS_CHUNK_WORK = 6e5
# dw^T = [cols; 1] @ dout^T is made on chunks of this many rows of the columns (up to 1.3
# times faster than whole images in float32, likewise measured).
_DW_ROW_CHUNK = 16


def conv_forward_fast(x, w, b, conv_param):
    """Convolutional layer via im2col and matrix products, a block of images at a time.

    Inputs:
    - x: input of shape (N, C, H, W)
    - w: filters of shape (F, C, HH, WW)
    - b: biases of shape (F,)
    - conv_param: dict with "stride" and "pad", as for conv_forward_naive

    Returns a tuple of:
    - out: output of shape (N, F, H', W'), H' = 1 + (H + 2 * pad - HH) // stride, likewise W';
      dtype is the common dtype of x, w and b (float32 inputs give float32)
    - cache: dict with "x_pad" (the padded input in that dtype, shape (N, C, H + 2 * pad,
      W + 2 * pad)), "w", "conv_param", "x_shape", "block" (the number of images whose
      columns the forward pass built at a time; the backward pass, with more buffers per
      image, takes smaller blocks: _BACKWARD_BLOCK_BYTES) and "path" ("stride1" or
      "strided", the backward pass to take)
    """
    x, w, b = _validate.conv_args(x, w, b, conv_param, "conv_forward_fast")
    N, _, H, W = x.shape
    F, C, HH, WW = w.shape
    stride, pad = int(conv_param["stride"]), int(conv_param["pad"])
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    dtype = np.result_type(x, w, b)
    K, P = C * HH * WW, H_out * W_out
    x_pad = _pad(x.astype(dtype, copy=False), pad)
    # [w | b], stored transposed: the matrix products take it with BLAS's transpose flag,
    # measured faster than the plain product for these shapes in OpenBLAS
    w_b_t = np.empty((K + 1, F), dtype=dtype)
    w_b_t[:K] = w.reshape(F, K).T
    w_b_t[K] = b
    w_b = w_b_t.T
    block = _block(N, K + 1, P, dtype, _BLOCK_BYTES)
    out = np.empty((N, F, P), dtype=dtype)

    def forward(start, stop):
        cols = _column_buffer(min(block, stop - start), K, P, dtype)
        for first in range(start, stop, block):
            last = min(stop, first + block)
            block_cols = _im2col(x_pad[first:last], HH, WW, stride, H_out, W_out, cols[:last - first])
            _matmul_in_chunks(w_b, block_cols, out[first:last], _OUTPUT_CHUNK)  # (B, F, H'*W')

    map_chunks(forward, N, work=2 * N * F * (K + 1) * P)
    cache = {
        "x_pad": x_pad, "w": w, "conv_param": conv_param, "x_shape": x.shape, "block": block,
        "path": "stride1" if stride == 1 else "strided",
    }
    return out.reshape(N, F, H_out, W_out), cache


def conv_backward_fast(dout, cache):
    """Backward pass of conv_forward_fast, a block of images at a time.

    Each block's columns (with their row of ones) are rebuilt, in blocks of about
    _BACKWARD_BLOCK_BYTES of columns; [cols; 1] @ dout^T gives dw and, from the row of
    ones, db; the column gradients w^T @ dout go back into dx (col2im), on the stride-1
    grid or strided windows (see the module docstring).

    Inputs:
    - dout: upstream gradient of shape (N, F, H', W')
    - cache: from conv_forward_fast

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W)
    - dw: gradient with respect to w, shape (F, C, HH, WW)
    - db: gradient with respect to b, shape (F,)
    """
    x_pad, w, conv_param = cache["x_pad"], cache["w"], cache["conv_param"]
    stride, pad = int(conv_param["stride"]), int(conv_param["pad"])
    H, W = cache["x_shape"][2:]
    dout = np.asarray(dout)
    dtype = np.result_type(dout, x_pad)
    N, F = dout.shape[:2]
    K = w[0].size
    dout = np.ascontiguousarray(dout, dtype=dtype)  # reshaped and sliced into views below
    w_rows_t = w.astype(dtype, copy=False).reshape(F, K).T
    # The stride-1 pass writes every entry of dx_pad; the strided one adds into zeros.
    stride1 = cache["path"] == "stride1"
    dx_pad = (np.empty if stride1 else np.zeros)(x_pad.shape, dtype=dtype)
    backward = _backward_stride1 if stride1 else _backward_strided
    block = _block(N, K + 1, dout[0, 0].size, dtype, _BACKWARD_BLOCK_BYTES)
    parts = map_chunks(
        lambda start, stop: backward(dout, x_pad, w.shape, w_rows_t, stride, block,
                                     dx_pad, start, stop),
        N, work=4 * dout.size * (K + 1))
    dw_b = (parts[0] if len(parts) == 1 else np.sum(parts, axis=0)).T  # [dw | db]
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W] if pad else dx_pad
    return dx, dw_b[:, :K].reshape(w.shape), dw_b[:, K].copy()


# ---------------------------------------------------------------------------
# im2col, a block of images at a time
# ---------------------------------------------------------------------------


def _pad(x, pad):
    """x (N, C, H, W) with `pad` zeros on each side of H and W (x itself when pad == 0)."""
    if pad == 0:
        return x
    N, C, H, W = x.shape
    x_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
    x_pad[:, :, pad:pad + H, pad:pad + W] = x
    return x_pad


def _block(N, rows, P, dtype, budget):
    """Images per block: as many as fit `rows` x P entries each in `budget` bytes; 1 to N."""
    return max(1, min(N, budget // (rows * P * dtype.itemsize)))


def _column_buffer(B, K, P, dtype):
    """Buffer (B, K + 1, P) for the columns of B images, its last row all ones.

    The row of ones carries the bias through the matrix product: [w | b] @ [cols; 1] =
    w @ cols + b, and gives db in the backward pass.
    """
    cols = np.empty((B, K + 1, P), dtype=dtype)
    cols[:, K] = 1
    return cols


def _im2col(x_pad, HH, WW, stride, H_out, W_out, cols):
    """Copy every receptive field of a block of images into the first C*HH*WW rows of cols.

    Inputs:
    - x_pad: padded inputs of shape (B, C, H + 2 * pad, W + 2 * pad)
    - HH, WW, stride, H_out, W_out: filter size, step and output size
    - cols: buffer of shape (B, C*HH*WW + 1, H'*W'); column (i, j) of image b gets the
      receptive field of output position (i, j); the last row is left as it is

    Returns:
    - cols
    """
    B, C = x_pad.shape[:2]
    sn, sc, sh, sw = x_pad.strides
    fields = as_strided(x_pad, shape=(B, C, HH, WW, H_out, W_out),
                        strides=(sn, sc, sh, sw, sh * stride, sw * stride), writeable=False)
    target = cols[:, :-1].reshape(B, C, HH, WW, H_out, W_out)
    if stride == 1 and sw == x_pad.itemsize:  # rows of W' entries, contiguous in x_pad
        copy_rows(target, fields)
    else:
        np.copyto(target, fields)
    return cols


def _matmul_in_chunks(a, b, out, chunk):
    """out = a @ b, image by image, on chunks of `chunk` columns (the last may be shorter).

    Inputs:
    - a: (M, K)
    - b: (B, K, n), its last axis contiguous
    - out: (B, M, n), its last axis contiguous; receives the product
    - chunk: columns per matrix product

    Returns:
    - out
    """
    n = b.shape[-1]
    full = n // chunk * chunk
    if full:
        split = (b.shape[0], -1, full // chunk, chunk)
        np.matmul(a, b[..., :full].reshape(split).transpose(0, 2, 1, 3),
                  out=out[..., :full].reshape(split).transpose(0, 2, 1, 3))
    if full < n:
        np.matmul(a, b[..., full:], out=out[..., full:])
    return out


def _matmul_row_chunks(a, b, out, chunk):
    """out = a @ b, image by image, on chunks of `chunk` rows of a (the last may be shorter).

    Inputs:
    - a: (B, m, k), its last axis contiguous
    - b: (B, k, n)
    - out: (B, m, n), its last axis contiguous; receives the product
    - chunk: rows of a per matrix product

    Returns:
    - out
    """
    m = a.shape[1]
    full = m // chunk * chunk
    if full:
        B = a.shape[0]
        np.matmul(a[:, :full].reshape(B, full // chunk, chunk, -1), b[:, None],
                  out=out[:, :full].reshape(B, full // chunk, chunk, -1))
    if full < m:
        np.matmul(a[:, full:], b, out=out[:, full:])
    return out


def _dcols_chunk(K, F):
    """Columns per product of the column gradients, (K, F) @ (F, chunk): a power of two from
    32 such that K * F * chunk is about _DCOLS_CHUNK_WORK."""
    return 1 << max(5, int(np.log2(_DCOLS_CHUNK_WORK / (K * F))))


# ---------------------------------------------------------------------------
# Backward pass, stride 1: column gradients on the grid of H' rows of W_pad positions
# ---------------------------------------------------------------------------


def _backward_stride1(dout, x_pad, w_shape, w_rows_t, stride, block, dx_pad, start, stop):
    """Stride-1 backward pass of images start..stop-1 (see the module docstring).

    Inputs:
    - dout: (N, F, H', W'), contiguous; x_pad: (N, C, H_pad, W_pad); w_shape: (F, C, HH, WW)
    - w_rows_t: (C*HH*WW, F), the filters as rows, transposed
    - stride: 1; block: images per block
    - dx_pad: array of x_pad's shape; these images' gradient is written into it

    Returns:
    - [dw | db]^T of these images, shape (C*HH*WW + 1, F)
    """
    _, F, H_out, W_out = dout.shape
    _, C, HH, WW = w_shape
    H_pad, W_pad = x_pad.shape[2:]
    K, P, L = C * HH * WW, H_out * W_out, H_out * W_pad
    dtype = dx_pad.dtype
    block = min(block, stop - start)
    cols = _column_buffer(block, K, P, dtype)
    parts = np.empty((block, K + 1, F), dtype=dtype)
    dcols = np.zeros((K, block * L), dtype=dtype)  # extra positions of the grid stay 0
    placed_rows = np.zeros((C, HH, block, H_pad * W_pad), dtype=dtype)
    dout3 = dout.reshape(-1, F, P)
    dx_flat = dx_pad.reshape(dx_pad.shape[0], C, H_pad * W_pad)
    dw_b_t = np.zeros((K + 1, F), dtype=dtype)
    for first in range(start, stop, block):
        last = min(stop, first + block)
        B = last - first
        block_cols = _im2col(x_pad[first:last], HH, WW, 1, H_out, W_out, cols[:B])
        # [dw | db]^T = [cols; 1] @ dout^T (faster than dout @ [cols; 1]^T), image by image
        _matmul_row_chunks(block_cols, dout3[first:last].transpose(0, 2, 1), parts[:B], _DW_ROW_CHUNK)
        for i in range(B):
            dw_b_t += parts[i]
        if B < block:  # the last, smaller block: its own grid, zero on the extra positions
            dcols = np.zeros((K, B * L), dtype=dtype)
        # Column gradients w^T @ dout, one output row (W' positions) at a time, written
        # straight onto the grid: (B, H', K, W') views of (K, B, H', W_pad) and dout.
        grid_rows = dcols.reshape(K, B, H_out, W_pad)[..., :W_out].transpose(1, 2, 0, 3)
        np.matmul(w_rows_t, dout[first:last].transpose(0, 2, 1, 3), out=grid_rows)
        _grid_col2im(dcols, HH, WW, W_pad, placed_rows, dx_flat[first:last].transpose(1, 0, 2))
    return dw_b_t


def _grid_col2im(dcols, HH, WW, W_pad, placed_rows, dx_block):
    """Put column gradients on the stride-1 grid back into the padded images' gradient.

    Two reductions: over kw, the column gradients (kh, kw) read kw positions early (position
    t of the view is column gradient (kh, kw) at t - kw; reads before an image's first
    position land on the extra positions, zeros, of the image or row just before it in
    memory), written for each kh at offset kh * W_pad of a zeroed image-sized row; then over
    kh, the sum of those rows is the gradient of the padded image.

    Inputs:
    - dcols: (C*HH*WW, B * L) column gradients, contiguous, zero on the extra positions
    - HH, WW: filter size; W_pad: padded width
    - placed_rows: scratch of shape (C, HH, B0, H_pad * W_pad) with B0 >= B, zero except
      where this function writes (the same entries for every block)
    - dx_block: (C, B, H_pad * W_pad) view of the block's gradient, written
    """
    C, B, S = dx_block.shape
    L = dcols.shape[1] // B
    row, item = dcols.strides
    shifted = as_strided(dcols, shape=(C, HH, WW, B, L),
                         strides=(HH * WW * row, WW * row, row - item, L * item, item), writeable=False)
    sc, skh, sb, st = placed_rows.strides
    placed = as_strided(placed_rows, shape=(C, HH, B, L), strides=(sc, skh + W_pad * st, sb, st))
    np.add.reduce(shifted, axis=2, out=placed)
    np.add.reduce(placed_rows[:, :, :B], axis=1, out=dx_block)


# ---------------------------------------------------------------------------
# Backward pass, stride > 1
# ---------------------------------------------------------------------------


def _backward_strided(dout, x_pad, w_shape, w_rows_t, stride, block, dx_pad, start, stop):
    """Backward pass for stride > 1 of images start..stop-1, block by block: the columns
    are rebuilt as in the forward pass, dout @ cols^T gives [dw | db] and w^T @ dout,
    added back into strided windows of dx_pad (one add per kernel offset), gives dx_pad.

    Inputs and returns: as for _backward_stride1, with any stride.
    """
    _, F, H_out, W_out = dout.shape
    _, C, HH, WW = w_shape
    K, P = C * HH * WW, H_out * W_out
    dtype = dx_pad.dtype
    block = min(block, stop - start)
    dout3 = dout.reshape(-1, F, P)
    cols = _column_buffer(block, K, P, dtype)
    parts = np.empty((block, K + 1, F), dtype=dtype)
    rows_end, cols_end = stride * (H_out - 1) + 1, stride * (W_out - 1) + 1
    dw_b_t = np.zeros((K + 1, F), dtype=dtype)
    for first in range(start, stop, block):
        last = min(stop, first + block)
        B = last - first
        block_dout = dout3[first:last]
        block_cols = _im2col(x_pad[first:last], HH, WW, stride, H_out, W_out, cols[:B])
        _matmul_row_chunks(block_cols, block_dout.transpose(0, 2, 1), parts[:B], _DW_ROW_CHUNK)
        dw_b_t += parts[:B].sum(axis=0)
        # Column gradients overwrite the columns; the row of ones stays.
        block_dcols = _matmul_in_chunks(w_rows_t, block_dout, block_cols[:, :K], _dcols_chunk(K, F))
        block_dcols = block_dcols.reshape(B, C, HH, WW, H_out, W_out)
        dx_block = dx_pad[first:last]
        for kh in range(HH):
            for kw in range(WW):
                target = dx_block[:, :, kh:kh + rows_end:stride, kw:kw + cols_end:stride]
                target += block_dcols[:, :, kh, kw]
    return dw_b_t
