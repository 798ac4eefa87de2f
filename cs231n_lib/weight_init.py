"""Weight initialisation: small Gaussian, Xavier and He, with an explicit random generator.

Each function takes the weight shape as `fan_in, fan_out` for an affine layer, or a
full `shape` for any layer (conv filters (F, C, HH, WW) have fan_in = C * HH * WW).
"""

import numpy as np


def fan_in_of(shape):
    """Number of inputs feeding one output unit for a weight of `shape`.

    Inputs:
    - shape: (D, M) for an affine layer (fan_in = D), or (F, C, HH, WW) for conv filters
      (fan_in = C * HH * WW)

    Returns:
    - fan_in: int
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) == 2:
        return shape[0]
    if len(shape) == 4:
        return shape[1] * shape[2] * shape[3]
    raise ValueError(f"shape must be (D, M) or (F, C, HH, WW), got {shape}")


def _draw(shape, std, rng, dtype):
    """Gaussian weights of `shape` with standard deviation `std` from `rng`."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return (std * rng.standard_normal(shape)).astype(dtype, copy=False)


def _shape(fan_in, fan_out, shape):
    """The weight shape from either (fan_in, fan_out) or an explicit shape."""
    if shape is not None:
        return tuple(int(n) for n in shape)
    if fan_in is None or fan_out is None:
        raise ValueError("give fan_in and fan_out, or shape")
    return (int(fan_in), int(fan_out))


def gaussian(fan_in=None, fan_out=None, weight_scale=1e-2, rng=None, shape=None, dtype=np.float64):
    """Small random Gaussian weights: weight_scale * N(0, 1) (CS231n's default init).

    Inputs:
    - fan_in, fan_out: for an affine weight of shape (fan_in, fan_out)
    - weight_scale: standard deviation
    - rng: numpy.random.Generator (required)
    - shape: any weight shape, instead of fan_in and fan_out
    - dtype: dtype of the result

    Returns:
    - w: array of shape (fan_in, fan_out) or `shape`
    """
    return _draw(_shape(fan_in, fan_out, shape), weight_scale, rng, dtype)


def xavier(fan_in=None, fan_out=None, rng=None, shape=None, dtype=np.float64):
    """Xavier initialisation: N(0, 1) / sqrt(fan_in), keeping the output variance of a
    linear unit equal to its input variance.

    Inputs, Returns: as for gaussian (without weight_scale)
    """
    shape = _shape(fan_in, fan_out, shape)
    return _draw(shape, 1 / np.sqrt(fan_in_of(shape)), rng, dtype)


def he(fan_in=None, fan_out=None, rng=None, shape=None, dtype=np.float64):
    """He initialisation: N(0, 1) * sqrt(2 / fan_in), for layers followed by a ReLU.

    Inputs, Returns: as for gaussian (without weight_scale)
    """
    shape = _shape(fan_in, fan_out, shape)
    return _draw(shape, np.sqrt(2 / fan_in_of(shape)), rng, dtype)
