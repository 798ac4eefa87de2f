"""Fast convolution and max pooling in pure numpy (no compiled extension).

Same contract and results as the naive loops in ``cs231n_lib.layers`` (to rounding),
on every stride, pad and shape those accept:

- Convolution uses im2col a block of images at a time: a strided view of the padded
  input lists every receptive field; a copy turns a block of it into columns of shape
  (B, C*HH*WW + 1, H'*W') in a buffer that stays in cache (the last row is all ones, so the
  bias rides along in the product), and a batched matrix product with [w | b] writes the
  output directly in (N, F, H'*W') layout. Nothing of size N*C*HH*WW*H'*W' is kept: the
  backward pass rebuilds the columns block by block for dw (and db, from the row of ones)
  and scatters the column gradients back (col2im) with one add per kernel offset. With
  stride 1 it works on a "wide" grid where every kernel offset is one contiguous run of
  the flattened padded image, and each block needs just two matrix products.
- Max pooling is separable: a window's maximum is the maximum over its rows of the
  row maxima. Each axis is reduced with one strided slice per window offset (copied to
  contiguous memory first where numpy is faster on that), and the index of the winning
  offset is kept for the backward pass. Ties go to the first
  maximum in row-major order within the window, as in ``max_pool_backward_naive``.
  (If x holds NaN the forward result is NaN as in the naive version; where the
  gradient of such a window goes is unspecified.)
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cs231n_lib import _validate


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


# Columns are built and used a block of images at a time, in a buffer of about this size,
# so that they are still in cache when the matrix products read them. The stride-1
# backward pass, which also keeps dout's block and adds its column gradients back with two
# calls per kernel row, gains from blocks about twice as large (measured: 8 MB was best).
_BLOCK_BYTES = 4 << 20
_WIDE_BLOCK_BYTES = 8 << 20
# Max pooling goes through the batch a block of images at a time, about this many bytes of
# input each, so that the copies and temporaries of a block are still in cache when the
# next step reads them.
_POOL_BLOCK_BYTES = 2 << 20


def _column_buffer(N, K, P, dtype):
    """Buffer (B, K + 1, P) for the columns of B images, its last row all ones.

    B is as many images as fit in _BLOCK_BYTES (at least 1, at most N). The row of ones
    carries the bias through the matrix product: [w | b] @ [cols; 1] = w @ cols + b.
    """
    block = max(1, min(N, _BLOCK_BYTES // ((K + 1) * P * dtype.itemsize)))
    cols = np.empty((block, K + 1, P), dtype=dtype)
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
    fields = _receptive_fields(x_pad, HH, WW, stride, H_out, W_out)  # (B, C, HH, WW, H', W')
    target = cols[:, :-1].reshape(B, C, HH, WW, H_out, W_out)
    if fields.strides[-1] == fields.itemsize:  # stride 1, x_pad's rows contiguous
        _copy_rows(target, fields)
    else:
        np.copyto(target, fields)
    return cols


def _rows_as_items(a):
    """View of `a` with each row (along its last, contiguous axis) as one opaque item.

    Copying short rows entry by entry costs numpy a loop setup per row; as items of
    a.shape[-1] * a.itemsize bytes, a whole block of rows is one loop. Shape a.shape[:-1].
    """
    return a.view(np.dtype((np.void, a.shape[-1] * a.itemsize)))[..., 0]


def _copy_rows(target, source):
    """np.copyto(target, source) for arrays of one shape whose last axis is contiguous in
    both, each row copied as a single item (see _rows_as_items)."""
    np.copyto(_rows_as_items(target), _rows_as_items(source))


def conv_forward_fast(x, w, b, conv_param):
    """Convolutional layer via im2col and a batched matrix product, a block of images at a time.

    Inputs:
    - x: input of shape (N, C, H, W)
    - w: filters of shape (F, C, HH, WW)
    - b: biases of shape (F,)
    - conv_param: dict with "stride" and "pad", as for conv_forward_naive

    Returns a tuple of:
    - out: output of shape (N, F, H', W'), H' = 1 + (H + 2 * pad - HH) // stride, likewise W';
      dtype is the common dtype of x, w and b (float32 inputs give float32)
    - cache: dict with "x_pad" (the padded input in that dtype, shape (N, C, H + 2 * pad,
      W + 2 * pad)), "w", "conv_param", "x_shape" and "block", the number of images whose
      columns (block, C*HH*WW + 1, H'*W') were built at a time; the backward pass rebuilds
      the columns block by block instead of keeping all N of them
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
    w_b = np.empty((F, K + 1), dtype=dtype)  # [w | b]
    w_b[:, :K] = w.reshape(F, K)
    w_b[:, K] = b

    cols = _column_buffer(N, K, P, dtype)
    block = cols.shape[0]
    out = np.empty((N, F, P), dtype=dtype)
    for start in range(0, N, block):
        stop = min(N, start + block)
        block_cols = _im2col(x_pad[start:stop], HH, WW, stride, H_out, W_out, cols[:stop - start])
        np.matmul(w_b, block_cols, out=out[start:stop])  # (B, F, H'*W'), one GEMM per image
    cache = {
        "x_pad": x_pad, "w": w, "conv_param": conv_param, "x_shape": x.shape, "block": block,
        "path": "rows" if stride == 1 else "strided",
    }
    return out.reshape(N, F, H_out, W_out), cache


def _wide_buffers(F, K, B, H_out, W_out, W_pad, dtype):
    """Buffers of the stride-1 backward pass for a block of B images (see _conv_backward_rows).

    Returns a tuple of:
    - cols: (K + 1, B, H' * W_pad) for the columns on the wide grid (rows 0..K-1); the last
      WW - 1 = W_pad - W' positions of each image are zero, row K is all ones
    - g: (F, B, H' * W_pad) for dout on the wide grid, zero on the extra positions
    - g_rows: writeable view of g's real positions, shape (F, B, H', W')
    Only what must be zero is zeroed: the rest is written for every block.
    """
    L = H_out * W_pad
    cols = np.empty((K + 1, B, L), dtype=dtype)
    cols[:K, :, L - (W_pad - W_out):] = 0
    cols[K] = 1
    g = np.empty((F, B, L), dtype=dtype)
    g_grid = g.reshape(F, B, H_out, W_pad)
    g_grid[..., W_out:] = 0
    return cols, g, g_grid[..., :W_out]


def _wide_block(N, K, F, L, dtype):
    """Images per block of the stride-1 backward pass: as many as fit in _WIDE_BLOCK_BYTES
    with their columns (K + 1 rows) and their dout (F rows) on the wide grid of L
    positions; at least 1."""
    return max(1, min(N, _WIDE_BLOCK_BYTES // ((K + 1 + F) * L * dtype.itemsize)))


def _conv_backward_rows(dout, x_pad, w_rows_t, dx_pad, dw_b):
    """Stride-1 backward pass on the "wide" grid, two matrix products per block of images.

    The wide grid has H' rows of W_pad positions: output position (i, j) is entry
    i * W_pad + j, and the last W_pad - W' = WW - 1 positions of each row are extra. On that
    grid, the input seen by kernel offset (kh, kw) is the contiguous run of the flattened
    padded image that starts at kh * W_pad + kw, so the columns are copied as long runs.
    The B images of a block sit side by side, L = H' * W_pad positions each: dw and the
    column gradients are one matrix product each. dout is zero on the extra positions, so
    the columns there add nothing to dw and db and the column gradients there are zero
    (for finite x and w; an inf or NaN may give NaN where the loops give inf).

    col2im uses those zeros too. The gradient of the padded image at kh * W_pad + t gets,
    for each kw, column gradient (kh, kw) at position t - kw. Rows of the column gradients
    are L * B long, so reading row (kh, kw) shifted back by kw is a view with a row step of
    B * L - 1 entries; where t - kw falls outside an image's L positions the view reads the
    extra positions of that image or the one before, which are zero. One reduction over kw
    and one add per kh do the whole col2im (2 * HH calls per block instead of HH * WW).

    Inputs:
    - dout: (N, F, H', W'); x_pad: (N, C, H_pad, W_pad)
    - w_rows_t: (C*HH*WW, F), the filters as rows, transposed; HH = H_pad - H' + 1 and
      WW = W_pad - W' + 1 for stride 1
    - dx_pad: zeros of x_pad's shape; receives the gradient with respect to x_pad
    - dw_b: zeros of shape (F, C*HH*WW + 1); receives [dw | db]
    """
    N, F, H_out, W_out = dout.shape
    C, H_pad, W_pad = x_pad.shape[1:]
    HH, WW = H_pad - H_out + 1, W_pad - W_out + 1
    K = w_rows_t.shape[0]
    dtype = dx_pad.dtype
    dout = np.ascontiguousarray(dout, dtype=dtype)  # rows are copied as items below
    L = H_out * W_pad
    run = L - (WW - 1)  # from the first to the last real position of an image
    block = _wide_block(N, K, F, L, dtype)
    buffers = _wide_buffers(F, K, block, H_out, W_out, W_pad, dtype)
    summed_buffer = np.empty(C * block * L, dtype=dtype)
    x_flat = x_pad.reshape(N, C, H_pad * W_pad)
    dx_flat = dx_pad.reshape(N, C, H_pad * W_pad)
    sn, sc, s = x_flat.strides
    for start in range(0, N, block):
        stop = min(N, start + block)
        B = stop - start
        if B == block:
            cols, g, g_rows = buffers
        else:  # the last, smaller block
            cols, g, g_rows = _wide_buffers(F, K, B, H_out, W_out, W_pad, dtype)
        runs = as_strided(x_flat[start:], shape=(C, HH, WW, B, run),
                          strides=(sc, W_pad * s, s, sn, s), writeable=False)
        np.copyto(cols[:K].reshape(C, HH, WW, B, L)[..., :run], runs)
        for i in range(B):  # image by image: faster than one transposing copy
            _copy_rows(g_rows[:, i], dout[start + i])
        g2, cols2 = g.reshape(F, B * L), cols.reshape(K + 1, B * L)
        dw_b += g2 @ cols2.T
        # Column gradients overwrite the columns (zero on the extra positions, as the
        # columns must be there for the next block); the row of ones stays.
        dcols = np.matmul(w_rows_t, g2, out=cols2[:K])  # rows (c, kh, kw), B * L long
        row, item = dcols.strides
        summed = summed_buffer[:C * B * L].reshape(C, B, L)
        dx_block = dx_flat[start:stop].transpose(1, 0, 2)  # (C, B, H_pad * W_pad)
        for kh in range(HH):
            shifted = as_strided(dcols[kh * WW:], shape=(C, WW, B * L),
                                 strides=(HH * WW * row, row - item, item), writeable=False)
            np.add.reduce(shifted, axis=1, out=summed.reshape(C, B * L))
            dx_block[:, :, kh * W_pad:kh * W_pad + L] += summed


def _conv_backward_strided(dout, x_pad, w_shape, w_rows_t, stride, block, dx_pad, dw_b):
    """Backward pass for stride > 1, block by block: the columns are rebuilt as in the
    forward pass, dout @ cols^T gives [dw | db] and w^T @ dout, added back into strided
    windows of dx_pad (one add per kernel offset), gives dx_pad.

    Inputs:
    - dout: (N, F, H', W'); x_pad: (N, C, H_pad, W_pad); w_shape: (F, C, HH, WW)
    - w_rows_t: (C*HH*WW, F), the filters as rows, transposed
    - stride: the convolution's stride; block: images per block, as in the forward pass
    - dx_pad: zeros of x_pad's shape; receives the gradient with respect to x_pad
    - dw_b: zeros of shape (F, C*HH*WW + 1); receives [dw | db]
    """
    N, F, H_out, W_out = dout.shape
    _, C, HH, WW = w_shape
    K, P = C * HH * WW, H_out * W_out
    dtype = dx_pad.dtype
    dout3 = np.ascontiguousarray(dout, dtype=dtype).reshape(N, F, P)
    cols = _column_buffer(block, K, P, dtype)
    dw_parts = np.empty((block, F, K + 1), dtype=dtype)
    rows_end, cols_end = stride * (H_out - 1) + 1, stride * (W_out - 1) + 1
    for start in range(0, N, block):
        stop = min(N, start + block)
        B = stop - start
        block_dout = dout3[start:stop]
        block_cols = _im2col(x_pad[start:stop], HH, WW, stride, H_out, W_out, cols[:B])
        parts = np.matmul(block_dout, block_cols.transpose(0, 2, 1), out=dw_parts[:B])
        dw_b += parts.sum(axis=0)
        # Column gradients overwrite the columns; the row of ones stays.
        block_dcols = np.matmul(w_rows_t, block_dout, out=block_cols[:, :K])
        block_dcols = block_dcols.reshape(B, C, HH, WW, H_out, W_out)
        dx_block = dx_pad[start:stop]
        for kh in range(HH):
            for kw in range(WW):
                target = dx_block[:, :, kh:kh + rows_end:stride, kw:kw + cols_end:stride]
                target += block_dcols[:, :, kh, kw]


def conv_backward_fast(dout, cache):
    """Backward pass of conv_forward_fast, a block of images at a time.

    Each block's columns (with their row of ones) are rebuilt rather than kept from the
    forward pass; dout @ cols^T gives dw and, from the row of ones, db. The column gradients
    w^T @ dout are then added back into dx (col2im):

    - path "rows" (stride 1): on a "wide" grid of H' rows of W + 2 * pad positions, where
      each kernel offset reads one contiguous run of the flattened padded image, with all
      the images of a block in one matrix product and one reduction plus one add per
      kernel row (see _conv_backward_rows);
    - path "strided" (stride > 1): one add per kernel offset into a strided window of dx.

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
    F, K = w.shape[0], w[0].size
    w_rows_t = w.astype(dtype, copy=False).reshape(F, K).T
    dx_pad = np.zeros(x_pad.shape, dtype=dtype)
    dw_b = np.zeros((F, K + 1), dtype=dtype)  # [dw | db]
    if cache["path"] == "rows":
        _conv_backward_rows(dout, x_pad, w_rows_t, dx_pad, dw_b)
    else:
        _conv_backward_strided(dout, x_pad, w.shape, w_rows_t, stride, cache["block"], dx_pad, dw_b)
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W] if pad else dx_pad
    return dx, dw_b[:, :K].reshape(w.shape), dw_b[:, K].copy()


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
    best, owned = _gathered(x[_axis_slice(axis, 0, stride, count)], axis)
    offset = None
    if window > 2:
        offset = np.zeros(best.shape, dtype=np.uint8 if window < 256 else np.int16)
    for k in range(1, window):
        candidate, _ = _gathered(x[_axis_slice(axis, k, stride, count)], axis)
        better = np.greater(candidate, best)
        if window == 2:
            offset = better
        else:
            offset[better] = k
        best = np.maximum(best, candidate, out=best if owned else None)
        owned = True
    if not owned:
        best = best.copy()
    return best, offset


def _gathered(view, axis):
    """A slice of _max_along's input, copied to contiguous memory when numpy is faster on that.

    numpy's np.maximum is several times slower on strided views than on contiguous arrays
    (np.greater much less so), and it sets up its loop once per row of a view whose rows
    are not adjacent (stride > 1 along the height). Copying first pays off: along the
    width, a plain copy of the strided columns; along the height, whole rows copied as
    single items (see _copy_rows).

    Returns a tuple of:
    - the slice, or a contiguous copy of it
    - whether it is a copy (a copy may be written to, the view may not)
    """
    item = view.itemsize
    if axis == 3 and view.strides[3] != item:
        return np.ascontiguousarray(view), True
    if axis == 2 and view.strides[3] == item and view.strides[2] != view.shape[3] * item:
        rows = np.empty(view.shape, dtype=view.dtype)
        _copy_rows(rows, view)
        return rows, True
    return view, False


def _gradient_buffer(shape, dtype, tiled):
    """Array for a pooling gradient: every entry is written when the windows tile the input
    (tiled), so it need not be zeroed; otherwise the windows' gradients are added into zeros."""
    return np.empty(shape, dtype=dtype) if tiled else np.zeros(shape, dtype=dtype)


def _max_along_backward(dbest, offset, axis, window, stride, length, tiled, out=None):
    """Route the gradient of _max_along back to the winning entries.

    Inputs:
    - dbest: gradient with respect to best
    - offset: from _max_along
    - axis, window, stride: as for _max_along
    - length: length of the input along `axis`
    - tiled: True when stride == window and the windows cover the axis exactly, so each
      input entry belongs to exactly one window (slices are assigned, not accumulated)
    - out: optional array to write into, of the input's shape (zeros unless tiled)

    Returns:
    - d: gradient with respect to the input of _max_along (out, when given)
    """
    shape = list(dbest.shape)
    shape[axis] = length
    count = dbest.shape[axis]
    d = out if out is not None else _gradient_buffer(shape, dbest.dtype, tiled)
    if window == 1:  # windows of one entry never overlap
        d[_axis_slice(axis, 0, stride, count)] = dbest
        return d
    if window == 2 and tiled:
        # Both offsets are written once: dbest * offset for offset 1, the rest for offset 0.
        second, first = d[_axis_slice(axis, 1, stride, count)], d[_axis_slice(axis, 0, stride, count)]
        if axis == 2 and d.strides[3] == d.itemsize:
            # Along the height, compute contiguously and copy whole rows as single items.
            part = np.multiply(dbest, offset, dtype=d.dtype)
            _copy_rows(second, part)
            _copy_rows(first, np.subtract(dbest, part, out=part))
            return d
        np.multiply(dbest, offset, out=second)
        np.subtract(dbest, second, out=first)
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
    - cache: dict with x's shape, pool_param, the winning offsets along each axis,
      "block" (images per block, see _POOL_BLOCK_BYTES) and "path": "tiled" when the
      windows tile the input exactly (stride equals the window on both axes: the backward
      pass assigns), else "strided" (it accumulates)
    """
    x = _validate.pool_args(x, pool_param, "max_pool_forward_fast")
    N, C, H, W = x.shape
    ph, pw = int(pool_param["pool_height"]), int(pool_param["pool_width"])
    stride = int(pool_param["stride"])
    H_out = 1 + (H - ph) // stride
    W_out = 1 + (W - pw) // stride
    block = _pool_block(x)
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    offsets = {}  # "col_offset", "row_offset": whole-batch arrays, made at the first block
    for start in range(0, N, block):
        stop = min(N, start + block)
        row_max, col_offset = _max_along(x[start:stop], 3, pw, stride, W_out)
        out[start:stop], row_offset = _max_along(row_max, 2, ph, stride, H_out)
        for name, part in (("col_offset", col_offset), ("row_offset", row_offset)):
            if part is None:  # a window of 1 along that axis
                continue
            if name not in offsets:
                offsets[name] = np.empty((N, *part.shape[1:]), dtype=part.dtype)
            offsets[name][start:stop] = part
    path = "tiled" if stride == ph == pw else "strided"
    cache = {
        "x_shape": x.shape, "pool_param": pool_param, "path": path, "block": block,
        "col_offset": offsets.get("col_offset"), "row_offset": offsets.get("row_offset"),
    }
    return out, cache


def _pool_block(x):
    """Images per block of max pooling: as many as fit in _POOL_BLOCK_BYTES; at least 1."""
    per_image = max(1, x[0].nbytes) if x.shape[0] else 1
    return max(1, min(x.shape[0], _POOL_BLOCK_BYTES // per_image))


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
    N, _, H, W = cache["x_shape"]
    tiled = cache["path"] == "tiled"
    dout = np.asarray(dout)
    dx = _gradient_buffer(cache["x_shape"], dout.dtype, tiled)
    block = cache["block"]
    rows, cols = cache["row_offset"], cache["col_offset"]
    for start in range(0, N, block):
        stop = min(N, start + block)
        drow = _max_along_backward(dout[start:stop], None if rows is None else rows[start:stop],
                                   2, ph, stride, H, tiled)
        _max_along_backward(drow, None if cols is None else cols[start:stop], 3, pw, stride, W, tiled,
                            out=dx[start:stop])
    return dx
