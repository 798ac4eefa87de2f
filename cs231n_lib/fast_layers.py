"""Fast convolution and max pooling in pure numpy (no compiled extension).

Same contract and results as the naive loops in ``cs231n_lib.layers`` (to rounding),
on every stride, pad and shape those accept:

- Convolution uses im2col: a strided view of the padded input lists every receptive
  field; one contiguous copy turns it into columns of shape (N, C*HH*WW, H'*W'), and a
  batched matrix product with the filters gives the output directly in (N, F, H', W')
  layout. The backward pass uses the same columns for dw; the column gradients are
  computed a block of images at a time (a buffer that stays in cache) and scattered back
  (col2im) with one strided add per kernel offset (HH*WW adds per block).
- Max pooling is separable: a window's maximum is the maximum over its rows of the
  row maxima. Each axis is reduced with one strided slice per window offset, and the
  index of the winning offset is kept for the backward pass. Ties go to the first
  maximum in row-major order within the window, as in ``max_pool_backward_naive``.
  (If x holds NaN the forward result is NaN as in the naive version; where the
  gradient of such a window goes is unspecified.)
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cs231n_lib.layers import _conv_geometry, _pool_geometry


def _receptive_fields(x_pad, HH, WW, stride, H_out, W_out):
    """Read-only view of every receptive field of x_pad, shape (N, C, HH, WW, H', W').

    Inputs:
    - x_pad: padded input of shape (N, C, H + 2 * pad, W + 2 * pad)
    - HH, WW: filter height and width
    - stride: step between receptive fields
    - H_out, W_out: number of fields along the height and width
    """
    N, C = x_pad.shape[:2]
    sn, sc, sh, sw = x_pad.strides
    return as_strided(
        x_pad,
        shape=(N, C, HH, WW, H_out, W_out),
        strides=(sn, sc, sh, sw, sh * stride, sw * stride),
        writeable=False,
    )


def _pad(x, pad):
    """x (N, C, H, W) with `pad` zeros on each side of H and W (x itself when pad == 0)."""
    if pad == 0:
        return x
    N, C, H, W = x.shape
    x_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
    x_pad[:, :, pad:pad + H, pad:pad + W] = x
    return x_pad


# Column gradients are produced a block of images at a time in a buffer of about this size.
_BLOCK_BYTES = 4 << 20


def conv_forward_fast(x, w, b, conv_param):
    """Convolutional layer via im2col and a batched matrix product.

    Inputs:
    - x: input of shape (N, C, H, W)
    - w: filters of shape (F, C, HH, WW)
    - b: biases of shape (F,)
    - conv_param: dict with "stride" and "pad", as for conv_forward_naive

    Returns a tuple of:
    - out: output of shape (N, F, H', W'), H' = 1 + (H + 2 * pad - HH) // stride, likewise W';
      dtype is the common dtype of x, w and b (float32 inputs give float32)
    - cache: (x, w, b, conv_param, x_cols) where x_cols, shape (N, C*HH*WW, H'*W'), holds
      the receptive fields as columns
    """
    x, w, b = np.asarray(x), np.asarray(w), np.asarray(b)
    stride, pad, H_out, W_out = _conv_geometry(x, w, b, conv_param, "conv_forward_fast")
    dtype = np.result_type(x, w, b)
    N = x.shape[0]
    F, C, HH, WW = w.shape
    x_pad = _pad(x.astype(dtype, copy=False), pad)
    fields = _receptive_fields(x_pad, HH, WW, stride, H_out, W_out)
    x_cols = np.ascontiguousarray(fields).reshape(N, C * HH * WW, H_out * W_out)
    w_rows = w.astype(dtype, copy=False).reshape(F, C * HH * WW)
    out = np.matmul(w_rows, x_cols)  # (N, F, H' * W'), one GEMM per image
    out += b.astype(dtype, copy=False)[:, None]
    return out.reshape(N, F, H_out, W_out), (x, w, b, conv_param, x_cols)


def conv_backward_fast(dout, cache):
    """Backward pass of conv_forward_fast.

    Inputs:
    - dout: upstream gradient of shape (N, F, H', W')
    - cache: (x, w, b, conv_param, x_cols) from conv_forward_fast

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W)
    - dw: gradient with respect to w, shape (F, C, HH, WW)
    - db: gradient with respect to b, shape (F,)
    """
    x, w, _, conv_param, x_cols = cache
    stride, pad = int(conv_param["stride"]), int(conv_param["pad"])
    N, F, H_out, W_out = dout.shape
    _, C, HH, WW = w.shape
    H, W = x.shape[2:]
    dtype = np.result_type(dout, x_cols)
    dout3 = np.ascontiguousarray(dout, dtype=dtype).reshape(N, F, H_out * W_out)

    db = dout3.sum(axis=(0, 2))
    dw = np.matmul(dout3, x_cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    w_rows_t = w.astype(dtype, copy=False).reshape(F, C * HH * WW).T

    # Column gradients, a block of images at a time into one reused buffer that stays in
    # cache, then col2im: every kernel offset (kh, kw) adds its slice of the block to a
    # strided window of dx_pad.
    dx_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=dtype)
    rows_end, cols_end = stride * (H_out - 1) + 1, stride * (W_out - 1) + 1
    block = max(1, min(N, _BLOCK_BYTES // (C * HH * WW * H_out * W_out * dtype.itemsize)))
    buffer = np.empty((block, C * HH * WW, H_out * W_out), dtype=dtype)
    for start in range(0, N, block):
        stop = min(N, start + block)
        dcols = np.matmul(w_rows_t, dout3[start:stop], out=buffer[:stop - start])
        dcols = dcols.reshape(stop - start, C, HH, WW, H_out, W_out)
        dx_block = dx_pad[start:stop]
        for kh in range(HH):
            for kw in range(WW):
                target = dx_block[:, :, kh:kh + rows_end:stride, kw:kw + cols_end:stride]
                target += dcols[:, :, kh, kw]
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W] if pad else dx_pad
    return dx, dw, db


# CS231n names for the same layer.
conv_forward_im2col = conv_forward_fast
conv_backward_im2col = conv_backward_fast
conv_forward_strides = conv_forward_fast
conv_backward_strides = conv_backward_fast


def _axis_slice(axis, start, step, count):
    """Index selecting `count` entries start, start + step, ... along `axis` of a 4-D array."""
    index = [slice(None)] * 4
    index[axis] = slice(start, start + step * (count - 1) + 1, step)
    return tuple(index)


def _max_along(x, axis, window, stride, count):
    """Sliding maximum along one axis and the offset of the first maximum.

    Inputs:
    - x: array with 4 dimensions
    - axis: the axis to reduce (2 for the height, 3 for the width)
    - window, stride, count: window length, step and number of windows along the axis

    Returns a tuple of:
    - best: the maxima, x's shape with `count` entries along `axis`
    - offset: the offset within the window of the first maximum, same shape as best
      (bool for a window of 2, uint8 or int16 otherwise)
    """
    best = x[_axis_slice(axis, 0, stride, count)]
    offset = None
    if window > 2:
        offset = np.zeros(best.shape, dtype=np.uint8 if window < 256 else np.int16)
    for k in range(1, window):
        candidate = x[_axis_slice(axis, k, stride, count)]
        better = np.greater(candidate, best)
        if window == 2:
            offset = better
        else:
            offset[better] = k
        best = np.maximum(best, candidate, out=None if k == 1 else best)
    if window == 1:
        best = best.copy()
    return best, offset


def _max_along_backward(dbest, offset, axis, window, stride, length, tiled):
    """Route the gradient of _max_along back to the winning entries.

    Inputs:
    - dbest: gradient with respect to best
    - offset: from _max_along
    - axis, window, stride: as for _max_along
    - length: length of the input along `axis`
    - tiled: True when stride == window and the windows cover the axis exactly, so each
      input entry belongs to exactly one window (slices are assigned, not accumulated)

    Returns:
    - d: gradient with respect to the input of _max_along
    """
    shape = list(dbest.shape)
    shape[axis] = length
    count = dbest.shape[axis]
    d = np.empty(shape, dtype=dbest.dtype) if tiled else np.zeros(shape, dtype=dbest.dtype)
    if window == 1:  # windows of one entry never overlap
        d[_axis_slice(axis, 0, stride, count)] = dbest
        return d
    if window == 2 and tiled:
        # Both offsets are written once: dbest * offset for offset 1, the rest for offset 0.
        second = d[_axis_slice(axis, 1, stride, count)]
        np.multiply(dbest, offset, out=second)
        np.subtract(dbest, second, out=d[_axis_slice(axis, 0, stride, count)])
        return d
    for k in range(window):
        wins = offset if window == 2 and k == 1 else (~offset if window == 2 else offset == k)
        target = d[_axis_slice(axis, k, stride, count)]
        if tiled:
            np.multiply(dbest, wins, out=target)
        else:
            target += dbest * wins
    return d


def max_pool_forward_fast(x, pool_param):
    """Max pooling, separable over the width then the height.

    Inputs:
    - x: input of shape (N, C, H, W)
    - pool_param: dict with "pool_height", "pool_width" and "stride", as for
      max_pool_forward_naive

    Returns a tuple of:
    - out: output of shape (N, C, H', W'), same dtype as x
    - cache: dict with x's shape, pool_param, the winning offsets along each axis and
      "path": "tiled" when the windows tile the input exactly (stride equals the window
      on both axes: the backward pass assigns), else "strided" (it accumulates)
    """
    x = np.asarray(x)
    ph, pw, stride, H_out, W_out = _pool_geometry(x, pool_param, "max_pool_forward_fast")
    row_max, col_offset = _max_along(x, 3, pw, stride, W_out)
    out, row_offset = _max_along(row_max, 2, ph, stride, H_out)
    path = "tiled" if stride == ph == pw else "strided"
    cache = {
        "x_shape": x.shape, "pool_param": pool_param, "path": path,
        "col_offset": col_offset, "row_offset": row_offset,
    }
    return out, cache


def max_pool_backward_fast(dout, cache):
    """Backward pass of max_pool_forward_fast: each window's gradient goes to its first maximum.

    Inputs:
    - dout: upstream gradient of shape (N, C, H', W')
    - cache: from max_pool_forward_fast

    Returns:
    - dx: gradient with respect to x, shape (N, C, H, W)
    """
    pool_param = cache["pool_param"]
    ph, pw = int(pool_param["pool_height"]), int(pool_param["pool_width"])
    stride = int(pool_param["stride"])
    _, _, H, W = cache["x_shape"]
    tiled = cache["path"] == "tiled"
    drow = _max_along_backward(np.asarray(dout), cache["row_offset"], 2, ph, stride, H, tiled)
    return _max_along_backward(drow, cache["col_offset"], 3, pw, stride, W, tiled)
