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
  that holds the first maximum along the height is the row-major first maximum. The
  backward pass routes the gradient back along the height, then along the width.
- Every step is one numpy call on a whole block, writing straight into the output, the
  offsets or dx. A slice along the width (every s-th entry) is used as a strided view (one
  long loop with a fixed step, measured faster than a copy first); a slice along the
  height (every s-th row) is copied first when its rows are short (see _gathered).
- float32 windows of 2 along the width at stride 2: the offset of the maximum is
  best > x[..., 0::2], the first entries read as a contiguous copy made by one cast of
  the pairs as 64-bit words (_first_of_pairs), because numpy compares every other entry
  in a scalar loop but contiguous entries and casts with vector instructions.
- Threads: the batch is split into one chunk of images per thread of numpy's BLAS
  (cs231n_lib._parallel); numpy releases the GIL in these calls, so the chunks are pooled
  side by side. Each chunk goes a block of about _POOL_BLOCK_BYTES of images at a time,
  so a block's temporaries are still in cache for the next step.
- When the windows tile the input (stride equal to both window sizes; cache["path"] ==
  "tiled"), each input entry belongs to one window: the gradient is assigned, not added,
  and dx need not be zeroed first; otherwise ("strided") it is added into zeros.

If x holds NaN the forward result is NaN as in the naive version; where the gradient of
such a window goes is unspecified.
"""

import sys

import numpy as np

from cs231n_lib import _validate
from cs231n_lib._parallel import PASS_WORK, map_chunks
from cs231n_lib._row_copy import copy_rows

# Max pooling goes through a chunk of the batch a block of images at a time, about this many
# bytes of input each, so that the temporaries of a block are still in cache when the next
# step reads them.
_POOL_BLOCK_BYTES = 512 << 10


def max_pool_forward_fast(x, pool_param):
    """Max pooling, separable over the width then the height.

    Inputs:
    - x: input of shape (N, C, H, W)
    - pool_param: dict with "pool_height", "pool_width" and "stride", as for
      max_pool_forward_naive

    Returns a tuple of:
    - out: output of shape (N, C, H', W'), same dtype as x
    - cache: dict with "x_shape", "x_dtype", "pool_param", the winning offsets along each
      axis ("col_offset" of shape (N, C, H, W'), "row_offset" of shape (N, C, H', W'); bool
      for a window of 2, uint8 or int16 for larger ones, None for a window of 1), "block"
      (images per block) and "path": "tiled" when the windows tile the input exactly (the
      backward pass assigns), else "strided" (it adds)
    """
    x = _validate.pool_args(x, pool_param, "max_pool_forward_fast")
    N, C, H, W = x.shape
    ph, pw = int(pool_param["pool_height"]), int(pool_param["pool_width"])
    stride = int(pool_param["stride"])
    H_out = 1 + (H - ph) // stride
    W_out = 1 + (W - pw) // stride
    block = _pool_block(x)
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    col_offset = _offsets((N, C, H, W_out), pw)
    row_offset = _offsets((N, C, H_out, W_out), ph)

    def forward(start, stop):
        row_max = np.empty((min(block, stop - start), C, H, W_out), dtype=x.dtype)
        for first in range(start, stop, block):
            last = min(stop, first + block)
            cols = None if col_offset is None else col_offset[first:last]
            rows = None if row_offset is None else row_offset[first:last]
            _max_along(x[first:last], 3, pw, stride, W_out, row_max[:last - first], cols)
            _max_along(row_max[:last - first], 2, ph, stride, H_out, out[first:last], rows)

    map_chunks(forward, N, work=x.size * 4 * PASS_WORK)  # about 4 passes over x
    cache = {
        "x_shape": x.shape, "x_dtype": x.dtype, "pool_param": pool_param, "block": block,
        "path": "tiled" if stride == ph == pw else "strided",
        "col_offset": col_offset, "row_offset": row_offset,
    }
    return out, cache


def max_pool_backward_fast(dout, cache):
    """Backward pass of max_pool_forward_fast: each window's gradient goes to its first maximum.

    Inputs:
    - dout: upstream gradient of shape (N, C, H', W')
    - cache: from max_pool_forward_fast

    Returns:
    - dx: gradient with respect to x, shape (N, C, H, W), dtype of dout and x together
    """
    pool_param = cache["pool_param"]
    ph, pw = int(pool_param["pool_height"]), int(pool_param["pool_width"])
    stride = int(pool_param["stride"])
    N, C, H, W = cache["x_shape"]
    tiled = cache["path"] == "tiled"
    dout = np.asarray(dout)
    dtype = np.result_type(dout, cache["x_dtype"])
    W_out = dout.shape[3]
    dx = _gradient_buffer(cache["x_shape"], dtype, tiled)
    block = cache["block"]
    rows, cols = cache["row_offset"], cache["col_offset"]

    def backward(start, stop):
        drow = _gradient_buffer((min(block, stop - start), C, H, W_out), dtype, tiled)
        for first in range(start, stop, block):
            last = min(stop, first + block)
            d = drow[:last - first]
            if not tiled and first > start:
                d.fill(0)
            _max_along_backward(dout[first:last], None if rows is None else rows[first:last],
                                2, ph, stride, tiled, d)
            _max_along_backward(d, None if cols is None else cols[first:last],
                                3, pw, stride, tiled, dx[first:last])

    map_chunks(backward, N, work=dx.size * 4 * PASS_WORK)
    return dx


def _pool_block(x):
    """Images per block of max pooling: as many as fit in _POOL_BLOCK_BYTES; at least 1."""
    per_image = max(1, x[0].nbytes) if x.shape[0] else 1
    return max(1, min(x.shape[0], _POOL_BLOCK_BYTES // per_image))


def _offsets(shape, window):
    """Array for the offsets of the first maxima in windows of `window` entries along one axis:
    bool for 2 (True: the second entry), uint8 or int16 for more; None for a window of 1."""
    if window == 1:
        return None
    return np.empty(shape, dtype=bool if window == 2 else np.uint8 if window < 256 else np.int16)


def _axis_slice(axis, start, step, count):
    """Index selecting `count` entries start, start + step, ... along `axis` of a 4-D array."""
    index = [slice(None)] * 4
    index[axis] = slice(start, start + step * (count - 1) + 1, step)
    return tuple(index)


def _max_along(x, axis, window, stride, count, best=None, offset=None):
    """Sliding maximum along one axis, and the offset of the first maximum.

    Inputs:
    - x: array with 4 dimensions
    - axis: the axis to reduce (2 for the height, 3 for the width)
    - window, stride, count: window length, step and number of windows along the axis
    - best: optional array receiving the maxima, x's shape with `count` entries along `axis`
    - offset: optional array of best's shape receiving the offset within the window of the
      first maximum (as from _offsets)

    Returns a tuple of:
    - best: the maxima
    - offset: the offsets of the first maxima (bool for a window of 2, uint8 or int16 for
      more, None for a window of 1)
    """
    first = _gathered(x[_axis_slice(axis, 0, stride, count)])
    if best is None:
        best = np.empty(first.shape, dtype=x.dtype)
    if offset is None:
        offset = _offsets(first.shape, window)
    if window == 1:
        np.copyto(best, first)
        return best, None
    second = _gathered(x[_axis_slice(axis, 1, stride, count)])
    if window == 2:
        np.maximum(first, second, out=best)
        if axis == 3 and stride == 2 and _packs_pairs(x):
            # best > first exactly where second > first (NaN aside, see the module docstring)
            np.greater(best, _first_of_pairs(x), out=offset)
        else:
            np.greater(second, first, out=offset)  # strictly: on a tie the first entry wins
        return best, offset
    np.copyto(best, first)
    offset.fill(0)
    for k in range(1, window):
        candidate = _gathered(x[_axis_slice(axis, k, stride, count)])
        offset[np.greater(candidate, best)] = k
        np.maximum(best, candidate, out=best)
    return best, offset


def _packs_pairs(x):
    """Whether _first_of_pairs applies to a 4-D array: float32 entries, the last axis
    contiguous and of even length, on a little-endian machine."""
    return (x.dtype == np.float32 and x.strides[3] == 4 and x.shape[3] % 2 == 0
            and sys.byteorder == "little")


def _first_of_pairs(x):
    """The first entry of each pair along the last axis, x[..., 0::2], as a contiguous copy.

    Each pair of float32 entries is read as one 64-bit word, and the words are cast to 32
    bits: the cast keeps the low half, the first entry on a little-endian machine. numpy
    casts contiguous words with vector instructions, while its comparisons of every other
    entry are scalar loops: the cast and a contiguous comparison together were measured
    about 3x faster than the strided comparison.
    """
    words = x.view(np.uint64)
    first = np.empty(words.shape, dtype=np.uint32)
    np.copyto(first, words, casting="unsafe")
    return first.view(np.float32)


def _gathered(view):
    """A slice of _max_along's input, its rows copied together when they are not adjacent.

    A numpy call on a view whose rows (last axis) are contiguous but not adjacent, as every
    other row along the height, sets up its inner loop once per row, which dominates for
    rows of a few entries: copying the rows first, each as a single item
    (cs231n_lib._row_copy), and working on the copy was measured 1.5 to 2.5 times faster.
    A slice along the width (a fixed step) is one long loop and is used as it is.
    """
    if _rows_apart(view):
        rows = np.empty(view.shape, dtype=view.dtype)
        copy_rows(rows, view)
        return rows
    return view


def _rows_apart(view):
    """Whether a 4-D view's rows (last axis) are contiguous but not adjacent in memory."""
    item = view.itemsize
    return view.strides[3] == item and view.strides[2] != view.shape[3] * item and view.shape[2] > 1


def _gradient_buffer(shape, dtype, tiled):
    """Array for a pooling gradient: every entry is written when the windows tile the input
    (tiled), so it need not be zeroed; otherwise the windows' gradients are added into zeros."""
    return np.empty(shape, dtype=dtype) if tiled else np.zeros(shape, dtype=dtype)


def _max_along_backward(dbest, offset, axis, window, stride, tiled, d):
    """Route the gradient of _max_along back to the winning entries.

    Inputs:
    - dbest: gradient with respect to best
    - offset: from _max_along
    - axis, window, stride: as for _max_along
    - tiled: True when stride == window and the windows cover the axis exactly, so each
      input entry belongs to exactly one window (slices are assigned, not accumulated)
    - d: array of the input's shape (zeros unless tiled), receiving the gradient with
      respect to the input of _max_along
    """
    count = dbest.shape[axis]
    if window == 1:  # windows of one entry never overlap
        d[_axis_slice(axis, 0, stride, count)] = dbest
        return
    if window == 2 and tiled:
        # Both offsets are written once: dbest * offset for offset 1, the rest for offset 0.
        second, first = d[_axis_slice(axis, 1, stride, count)], d[_axis_slice(axis, 0, stride, count)]
        if _rows_apart(second):
            # Every other row: computed contiguously, then copied whole rows at a time.
            part = np.multiply(dbest, offset, dtype=d.dtype)
            copy_rows(second, part)
            copy_rows(first, np.subtract(dbest, part, out=part))
            return
        np.multiply(dbest, offset, out=second)
        np.subtract(dbest, second, out=first)
        return
    for k in range(window):
        wins = offset if window == 2 and k == 1 else (~offset if window == 2 else offset == k)
        target = d[_axis_slice(axis, k, stride, count)]
        if tiled:
            np.multiply(dbest, wins, out=target)
        else:
            target += dbest * wins
