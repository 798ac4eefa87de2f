"""Sandwich layers: common stacks of layers as one forward/backward pair.

Each cache is the tuple of its parts' caches, in forward order. The convolutional
sandwiches use the fast numpy conv and pool from ``cs231n_lib.fast_layers``.
"""

from cs231n_lib.fast_layers import (
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from cs231n_lib.layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
    relu_backward,
    relu_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)


def affine_relu_forward(x, w, b):
    """Affine layer followed by a ReLU.

    Inputs:
    - x: input of shape (N, d_1, ..., d_k)
    - w: weights of shape (D, M)
    - b: biases of shape (M,)

    Returns a tuple of:
    - out: output of shape (N, M)
    - cache: (fc_cache, relu_cache)
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward pass of affine_relu_forward.

    Inputs:
    - dout: upstream gradient of shape (N, M)
    - cache: (fc_cache, relu_cache)

    Returns a tuple of:
    - dx: shape (N, d_1, ..., d_k); dw: shape (D, M); db: shape (M,)
    """
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


_NORMALIZATIONS = (None, "batchnorm", "layernorm")


def affine_norm_relu_forward(x, w, b, gamma, beta, norm_param, normalization=None):
    """Affine layer, optional batch or layer normalization, then ReLU.

    Inputs:
    - x: input of shape (N, d_1, ..., d_k)
    - w: weights of shape (D, M)
    - b: biases of shape (M,)
    - gamma, beta: scale and shift of shape (M,) (ignored when normalization is None)
    - norm_param: bn_param for "batchnorm" or ln_param for "layernorm" (ignored for None)
    - normalization: None, "batchnorm" or "layernorm"

    Returns a tuple of:
    - out: output of shape (N, M)
    - cache: (normalization, fc_cache, norm_cache, relu_cache); norm_cache is None when
      normalization is None
    """
    if normalization not in _NORMALIZATIONS:
        raise ValueError(
            f"normalization must be one of {_NORMALIZATIONS}, got {normalization!r}"
        )
    a, fc_cache = affine_forward(x, w, b)
    norm_cache = None
    if normalization == "batchnorm":
        a, norm_cache = batchnorm_forward(a, gamma, beta, norm_param)
    elif normalization == "layernorm":
        a, norm_cache = layernorm_forward(a, gamma, beta, norm_param)
    out, relu_cache = relu_forward(a)
    return out, (normalization, fc_cache, norm_cache, relu_cache)


def affine_norm_relu_backward(dout, cache):
    """Backward pass of affine_norm_relu_forward.

    Inputs:
    - dout: upstream gradient of shape (N, M)
    - cache: from affine_norm_relu_forward

    Returns a tuple of:
    - dx: shape (N, d_1, ..., d_k); dw: shape (D, M); db: shape (M,)
    - dgamma, dbeta: shape (M,), or None when normalization is None
    """
    normalization, fc_cache, norm_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    dgamma = dbeta = None
    if normalization == "batchnorm":
        da, dgamma, dbeta = batchnorm_backward_alt(da, norm_cache)
    elif normalization == "layernorm":
        da, dgamma, dbeta = layernorm_backward(da, norm_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


def conv_relu_forward(x, w, b, conv_param):
    """Convolution followed by a ReLU.

    Inputs:
    - x: input of shape (N, C, H, W)
    - w: filters of shape (F, C, HH, WW)
    - b: biases of shape (F,)
    - conv_param: dict with "stride" and "pad"

    Returns a tuple of:
    - out: output of shape (N, F, H', W')
    - cache: (conv_cache, relu_cache)
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache):
    """Backward pass of conv_relu_forward.

    Inputs:
    - dout: upstream gradient of shape (N, F, H', W')
    - cache: (conv_cache, relu_cache)

    Returns a tuple of:
    - dx: shape (N, C, H, W); dw: shape (F, C, HH, WW); db: shape (F,)
    """
    conv_cache, relu_cache = cache
    return conv_backward_fast(relu_backward(dout, relu_cache), conv_cache)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convolution, ReLU, then max pooling.

    Inputs:
    - x: input of shape (N, C, H, W)
    - w: filters of shape (F, C, HH, WW)
    - b: biases of shape (F,)
    - conv_param: dict with "stride" and "pad"
    - pool_param: dict with "pool_height", "pool_width" and "stride"

    Returns a tuple of:
    - out: output of shape (N, F, H'', W'')
    - cache: (conv_cache, relu_cache, pool_cache)
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    """Backward pass of conv_relu_pool_forward.

    Inputs:
    - dout: upstream gradient of shape (N, F, H'', W'')
    - cache: (conv_cache, relu_cache, pool_cache)

    Returns a tuple of:
    - dx: shape (N, C, H, W); dw: shape (F, C, HH, WW); db: shape (F,)
    """
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_fast(dout, pool_cache)
    return conv_backward_fast(relu_backward(ds, relu_cache), conv_cache)


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    """Convolution, spatial batch normalization, then ReLU.

    Inputs:
    - x: input of shape (N, C, H, W)
    - w: filters of shape (F, C, HH, WW)
    - b: biases of shape (F,)
    - gamma, beta: scale and shift of shape (F,)
    - conv_param: dict with "stride" and "pad"
    - bn_param: as for spatial_batchnorm_forward

    Returns a tuple of:
    - out: output of shape (N, F, H', W')
    - cache: (conv_cache, bn_cache, relu_cache)
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    an, bn_cache = spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, (conv_cache, bn_cache, relu_cache)


def conv_bn_relu_backward(dout, cache):
    """Backward pass of conv_bn_relu_forward.

    Inputs:
    - dout: upstream gradient of shape (N, F, H', W')
    - cache: (conv_cache, bn_cache, relu_cache)

    Returns a tuple of:
    - dx: shape (N, C, H, W); dw: shape (F, C, HH, WW); db: shape (F,)
    - dgamma, dbeta: shape (F,)
    """
    conv_cache, bn_cache, relu_cache = cache
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = spatial_batchnorm_backward(dan, bn_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache)
    return dx, dw, db, dgamma, dbeta
