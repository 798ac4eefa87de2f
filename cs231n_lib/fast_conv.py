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

- Never all of cols at once: the columns of a block of images are copied into a buffer of
  about _BLOCK_BYTES, so they are still in cache when the matrix product reads them. The
  buffer has one more row, all ones, and the product is with [w | b]: the bias rides along
  ([w | b] @ [cols; 1] = w @ cols + b) and the output is written directly in (N, F, H'*W').
  The backward pass rebuilds each block's columns instead of keeping them from the forward
  pass; the row of ones gives db together with dw.
- Stride 1 (cache["path"] == "stride1"): the backward pass works on a grid of H' rows of
  W_pad = W + 2p positions (output position (i, j) is entry i * W_pad + j; the last
  WW - 1 positions of each row are extra). On that grid the input seen by kernel offset
  (kh, kw) is the contiguous run of the flattened padded image that starts at
  kh * W_pad + kw, so columns are copied as long runs, and the B images of a block sit side
  by side: dw and the column gradients are one matrix product each. dout is zero on the
  extra positions, so they add nothing to dw and db, and their column gradients are zero
  (for finite x and w; an inf or NaN may give NaN where the loops give inf). col2im uses
  those zeros too: the gradient of the padded image at kh * W_pad + t gets, for each kw,
  column gradient (kh, kw) at position t - kw; reading row (kh, kw) of the column gradients
  shifted back by kw is a strided view whose reads outside an image's positions fall on
  zeros, so one reduction over kw and one add per kh do the whole col2im.
- Stride > 1 (cache["path"] == "strided"): col2im is one add per kernel offset into a
  strided window of dx_pad, as in the plain version, a block at a time.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cs231n_lib import _validate
from cs231n_lib._row_copy import copy_rows

# Columns are built and used a block of images at a time, in a buffer of about this size,
# so that they are still in cache when the matrix products read them. The stride-1
# backward pass, which also keeps dout's block and adds its column gradients back with two
# calls per kernel row, gains from blocks about twice as large (measured: 8 MB was best).
_BLOCK_BYTES = 4 << 20
_STRIDE1_BLOCK_BYTES = 8 << 20


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
      W + 2 * pad)), "w", "conv_param", "x_shape", "block" (the number of images whose
      columns were built at a time) and "path" ("stride1" or "strided", the backward pass
      to take)
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
        "path": "stride1" if stride == 1 else "strided",
    }
    return out.reshape(N, F, H_out, W_out), cache


def conv_backward_fast(dout, cache):
    """Backward pass of conv_forward_fast, a block of images at a time.

    Each block's columns (with their row of ones) are rebuilt; dout @ cols^T gives dw and,
    from the row of ones, db; the column gradients w^T @ dout are added back into dx
    (col2im), on the stride-1 grid or strided windows (see the module docstring).

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
    if cache["path"] == "stride1":
        _conv_backward_stride1(dout, x_pad, w_rows_t, dx_pad, dw_b)
    else:
        _conv_backward_strided(dout, x_pad, w.shape, w_rows_t, stride, cache["block"], dx_pad, dw_b)
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
        copy_rows(target, fields)
    else:
        np.copyto(target, fields)
    return cols


# ---------------------------------------------------------------------------
# Backward pass, stride 1: on the grid of H' rows of W_pad positions
# ---------------------------------------------------------------------------


def _stride1_block(N, K, F, L, dtype):
    """Images per block of the stride-1 backward pass: as many as fit in _STRIDE1_BLOCK_BYTES
    with their columns (K + 1 rows) and their dout (F rows) on the grid of L = H' * W_pad
    positions; at least 1."""
    return max(1, min(N, _STRIDE1_BLOCK_BYTES // ((K + 1 + F) * L * dtype.itemsize)))


def _stride1_buffers(F, K, B, H_out, W_out, W_pad, dtype):
    """Buffers of the stride-1 backward pass for a block of B images.

    Returns a tuple of:
    - cols: (K + 1, B, H' * W_pad) for the columns on the grid (rows 0..K-1); the last
      WW - 1 = W_pad - W' positions of each image are zero, row K is all ones
    - g: (F, B, H' * W_pad) for dout on the grid, zero on the extra positions
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


def _conv_backward_stride1(dout, x_pad, w_rows_t, dx_pad, dw_b):
    """Stride-1 backward pass, two matrix products per block of images (see the module docstring).

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
    block = _stride1_block(N, K, F, L, dtype)
    buffers = _stride1_buffers(F, K, block, H_out, W_out, W_pad, dtype)
    summed_buffer = np.empty(C * block * L, dtype=dtype)
    x_flat = x_pad.reshape(N, C, H_pad * W_pad)
    dx_flat = dx_pad.reshape(N, C, H_pad * W_pad)
    for start in range(0, N, block):
        stop = min(N, start + block)
        B = stop - start
        if B == block:
            cols, g, g_rows = buffers
        else:  # the last, smaller block
            cols, g, g_rows = _stride1_buffers(F, K, B, H_out, W_out, W_pad, dtype)
        _stride1_im2col(x_flat[start:stop], HH, WW, W_pad, cols[:K])
        for i in range(B):  # image by image: faster than one transposing copy
            copy_rows(g_rows[:, i], dout[start + i])
        g2, cols2 = g.reshape(F, B * L), cols.reshape(K + 1, B * L)
        dw_b += g2 @ cols2.T
        # Column gradients overwrite the columns (zero on the extra positions, as the
        # columns must be there for the next block); the row of ones stays.
        dcols = np.matmul(w_rows_t, g2, out=cols2[:K])  # rows (c, kh, kw), B * L long
        summed = summed_buffer[:C * B * L].reshape(C, B * L)
        _stride1_col2im(dcols, HH, WW, W_pad, summed, dx_flat[start:stop].transpose(1, 0, 2))


def _stride1_im2col(x_flat, HH, WW, W_pad, cols):
    """Copy the columns of a block of images onto the stride-1 grid.

    Inputs:
    - x_flat: padded images, flattened, shape (B, C, H_pad * W_pad)
    - HH, WW: filter size; W_pad: padded width
    - cols: (C*HH*WW, B, L), L = H' * W_pad; row (c, kh, kw) of image b gets the run of
      x_flat[b, c] from kh * W_pad + kw; the last WW - 1 positions are left as they are
    """
    B, C = x_flat.shape[:2]
    L = cols.shape[2]
    run = L - (WW - 1)  # from the first to the last real position of an image
    sn, sc, s = x_flat.strides
    runs = as_strided(x_flat, shape=(C, HH, WW, B, run), strides=(sc, W_pad * s, s, sn, s),
                      writeable=False)
    np.copyto(cols.reshape(C, HH, WW, B, L)[..., :run], runs)


def _stride1_col2im(dcols, HH, WW, W_pad, summed, dx_block):
    """Add column gradients on the stride-1 grid back into the padded images' gradient.

    Inputs:
    - dcols: (C*HH*WW, B * L) column gradients, zero on the extra positions of the grid
    - HH, WW: filter size; W_pad: padded width
    - summed: scratch of shape (C, B * L)
    - dx_block: (C, B, H_pad * W_pad) view of the block's gradient, added to
    """
    C, B = dx_block.shape[:2]
    L = dcols.shape[1] // B
    row, item = dcols.strides
    for kh in range(HH):
        # Row (c, kh, kw) read kw entries early: position t of the view is column gradient
        # (kh, kw) at t - kw. Reads before an image's first position land on the extra
        # positions (zeros) of the image, or row, just before it in memory.
        shifted = as_strided(dcols[kh * WW:], shape=(C, WW, B * L),
                             strides=(HH * WW * row, row - item, item), writeable=False)
        np.add.reduce(shifted, axis=1, out=summed)
        dx_block[:, :, kh * W_pad:kh * W_pad + L] += summed.reshape(C, B, L)


# ---------------------------------------------------------------------------
# Backward pass, stride > 1
# ---------------------------------------------------------------------------


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
