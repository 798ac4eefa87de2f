"""Fast max pooling in pure numpy: separable, one strided slice per window offset.

What it computes, in plain numpy (windows ph x pw, stride s, H' = 1 + (H - ph) // s,
likewise W'): a window's maximum is the maximum over its rows of the row maxima, so each
axis is reduced on its own,

    row_max = functools.reduce(np.maximum, [x[:, :, :, j:j + s * W_out:s] for j in range(pw)])
    out = functools.reduce(np.maximum, [row_max[:, :, i:i + s * H_out:s] for i in range(ph)])

and the backward pass sends each window's gradient to its first maximum in row-major order
(as np.argmax in max_pool_backward_naive):

    windows = np.stack([x[:, :, i:i + s * H_out:s, j:j + s * W_out:s]
                        for i in range(ph) for j in range(pw)])
    first = windows.argmax(axis=0)
    dx = np.zeros_like(x)
    for k in range(ph * pw):
        i, j = divmod(k, pw)
        dx[:, :, i:i + s * H_out:s, j:j + s * W_out:s] += dout * (first == k)

How it is made fast:

- The forward pass keeps, for each axis, the offset within the window of the first maximum
  (a bool for windows of 2), not the windows: the first maximum along the width of the row
  that holds the first maximum along the height is the row-major first maximum.
- numpy's np.maximum is several times slower on strided views than on contiguous arrays,
  so slices are copied to contiguous memory first where that pays (see _gathered).
- The batch goes a block of about _POOL_BLOCK_BYTES of images at a time, so each block's
  copies and temporaries are still in cache for the next step.
- When the windows tile the input (stride equal to both window sizes; cache["path"] ==
  "tiled"), each input entry belongs to one window: the gradient is assigned, not added,
  and dx need not be zeroed first; otherwise ("strided") it is added into zeros.

If x holds NaN the forward result is NaN as in the naive version; where the gradient of
such a window goes is unspecified.
"""

import numpy as np

from cs231n_lib import _validate
from cs231n_lib._row_copy import copy_rows

# Max pooling goes through the batch a block of images at a time, about this many bytes of
# input each, so that the copies and temporaries of a block are still in cache when the
# next step reads them.
_POOL_BLOCK_BYTES = 2 << 20


def max_pool_forward_fast(x, pool_param):
    """Max pooling, separable over the width then the height.

    Inputs:
    - x: input of shape (N, C, H, W)
    - pool_param: dict with "pool_height", "pool_width" and "stride", as for
      max_pool_forward_naive

    Returns a tuple of:
    - out: output of shape (N, C, H', W'), same dtype as x
    - cache: dict with "x_shape", "pool_param", the winning offsets along each axis
      ("col_offset", "row_offset"; None for a window of 1), "block" (images per block) and
      "path": "tiled" when the windows tile the input exactly (the backward pass assigns),
      else "strided" (it adds)
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


def _pool_block(x):
    """Images per block of max pooling: as many as fit in _POOL_BLOCK_BYTES; at least 1."""
    per_image = max(1, x[0].nbytes) if x.shape[0] else 1
    return max(1, min(x.shape[0], _POOL_BLOCK_BYTES // per_image))


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
      (bool for a window of 2, uint8 or int16 otherwise; None for a window of 1)
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
    single items (see cs231n_lib._row_copy).

    Returns a tuple of:
    - the slice, or a contiguous copy of it
    - whether it is a copy (a copy may be written to, the view may not)
    """
    item = view.itemsize
    if axis == 3 and view.strides[3] != item:
        return np.ascontiguousarray(view), True
    if axis == 2 and view.strides[3] == item and view.strides[2] != view.shape[3] * item:
        rows = np.empty(view.shape, dtype=view.dtype)
        copy_rows(rows, view)
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
            copy_rows(second, part)
            copy_rows(first, np.subtract(dbest, part, out=part))
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
