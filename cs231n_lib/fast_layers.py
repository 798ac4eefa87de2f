"""Fast convolution and max pooling in pure numpy (no compiled extension): the public names.

Same contract and results as the naive loops in ``cs231n_lib.layers`` (to rounding), on
every stride, pad and shape those accept, in the inputs' dtype (float32 in, float32 out).
The algorithms, each with a plain numpy version of what it computes, are explained in
``cs231n_lib.fast_conv`` (im2col and matrix products, a block of images at a time) and
``cs231n_lib.fast_pool`` (separable max pooling). Both split a large batch over as many
threads as numpy's BLAS uses (``cs231n_lib._parallel``; OPENBLAS_NUM_THREADS=1 makes them
single-threaded).

- ``conv_forward_fast(x, w, b, conv_param) -> (out, cache)``, ``conv_backward_fast(dout, cache)
  -> (dx, dw, db)``; CS231n's names ``conv_forward_im2col`` / ``conv_forward_strides`` and
  ``conv_backward_im2col`` / ``conv_backward_strides`` are the same functions
- ``max_pool_forward_fast(x, pool_param) -> (out, cache)``, ``max_pool_backward_fast(dout,
  cache) -> dx``
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cs231n_lib.fast_conv import conv_backward_fast, conv_forward_fast
from cs231n_lib.fast_pool import max_pool_backward_fast, max_pool_forward_fast

# CS231n names for the same layer.
conv_forward_im2col = conv_forward_fast
conv_backward_im2col = conv_backward_fast
conv_forward_strides = conv_forward_fast
conv_backward_strides = conv_backward_fast

__all__ = [
    "conv_backward_fast",
    "conv_backward_im2col",
    "conv_backward_strides",
    "conv_forward_fast",
    "conv_forward_im2col",
    "conv_forward_strides",
    "max_pool_backward_fast",
    "max_pool_forward_fast",
    # Names `from cs231n_lib.fast_layers import *` has always given, as CS231n's does.
    "as_strided",
    "np",
]
