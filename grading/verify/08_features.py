"""Verification spec of 08_features (see docs/authoring.md): one Check per autograded test cell.

Hues are compared with matplotlib's rgb_to_hsv (an implementation independent of the course's);
colour histograms with np.histogram of those hues; HOG with the library's hog_feature. Cases:
random images of several sizes and value ranges, pure and grey colours, channels that tie, 2-D
and 3-D images, other cell sizes and bin counts. HOG cases use odd bin counts only: with an even
count, a vertical gradient (90 degrees, always present on the border) lies exactly on a bin edge,
where two correct ways of computing the bin index may round differently.
"""

import numpy as np
from matplotlib.colors import rgb_to_hsv

from autograder.verify.spec import Check, allclose
from cs231n_lib.features import hog_feature

FEATURES = "cs231n_lib.features"


def _hue(im, xmax):
    return rgb_to_hsv(np.asarray(im, dtype=np.float64) / xmax)[..., 0]


def _hue_cases(rng):
    cases = []
    for shape, xmax in [((1, 1, 3), 255.0), ((4, 6, 3), 255.0), ((32, 32, 3), 255.0), ((7, 3, 3), 1.0)]:
        cases.append({"im": rng.uniform(0, xmax, size=shape), "xmax": xmax})
    # Integer pixels in 0..3: many ties between the largest channels, and grey pixels.
    cases.append({"im": rng.integers(0, 4, size=(12, 12, 3)).astype(float), "xmax": 3.0})
    # 8-bit pixels as the notebook has them.
    cases.append({"im": rng.integers(0, 256, size=(32, 32, 3)).astype(float), "xmax": 255.0})
    pure = np.array([[[255, 0, 0], [255, 255, 0], [0, 255, 0], [0, 255, 255], [0, 0, 255],
                      [255, 0, 255], [0, 0, 0], [255, 255, 255], [10, 10, 10]]], dtype=float)
    cases.append({"im": pure, "xmax": 255.0})
    return cases


def _histogram_cases(rng):
    cases = []
    for shape, nbin, xmax, normalized in [((32, 32, 3), 10, 255.0, True), ((5, 9, 3), 7, 255.0, True),
                                          ((16, 16, 3), 3, 255.0, False), ((8, 8, 3), 13, 1.0, True),
                                          ((1, 1, 3), 1, 255.0, False)]:
        cases.append({"im": rng.uniform(0, xmax, size=shape), "nbin": nbin, "xmin": 0.0, "xmax": xmax,
                      "normalized": normalized})
    # Grey and pure colours: hues 0, 1/3 and 2/3 away from the edges of 4 bins.
    colours = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]], [[50, 50, 50], [0, 0, 0], [200, 0, 0]]],
                       dtype=float)
    cases.append({"im": colours, "nbin": 4, "xmin": 0.0, "xmax": 255.0, "normalized": True})
    cases.append({"im": np.full((6, 5, 3), 77.0), "nbin": 10, "xmin": 0.0, "xmax": 255.0, "normalized": True})
    return cases


def _histogram(case):
    hue = _hue(case["im"], case["xmax"]) * case["xmax"]
    counts, _ = np.histogram(hue, bins=np.linspace(case["xmin"], case["xmax"], case["nbin"] + 1))
    counts = counts.astype(np.float64)
    return counts / hue.size if case["normalized"] else counts


def _hog_cases(rng):
    cases = []
    for shape, cell_size, num_bins in [((32, 32, 3), 8, 9), ((16, 24), 4, 9), ((8, 8, 3), 8, 5),
                                       ((20, 10), 5, 7), ((6, 6), 3, 3), ((4, 4, 3), 2, 1)]:
        cases.append({"im": rng.uniform(0, 255, size=shape), "cell_size": cell_size, "num_bins": num_bins})
    # 8-bit pixels: many gradients exactly horizontal, vertical (bins 0 and 4) or zero.
    cases.append({"im": rng.integers(0, 256, size=(32, 32, 3)).astype(float), "cell_size": 8, "num_bins": 9})
    cases.append({"im": np.kron(rng.integers(0, 2, size=(4, 4)), np.ones((4, 4))) * 255.0, "cell_size": 8,
                  "num_bins": 9})
    return cases


CHECKS = {
    "test_rgb_to_hue": Check(
        call="rgb_to_hue(im, xmax)",
        cases=_hue_cases,
        expected=lambda case: _hue(case["im"], case["xmax"]),
        compare=allclose(rtol=1e-9, atol=1e-12),
        timeout=30,
    ),
    "test_color_histogram": Check(
        call="color_histogram_hsv(im, nbin=int(nbin), xmin=xmin, xmax=xmax, normalized=bool(normalized))",
        cases=_histogram_cases,
        expected=_histogram,
        compare=allclose(rtol=1e-12, atol=1e-15),
        timeout=30,
    ),
    "test_hog": Check(
        call="hog_feature(im, cell_size=int(cell_size), num_bins=int(num_bins))",
        cases=_hog_cases,
        expected=lambda case: hog_feature(case["im"], case["cell_size"], case["num_bins"]),
        compare=allclose(rtol=1e-9, atol=1e-12),
        allowed=("cs231n_lib.features.rgb2gray",),    # the grey conversion the notebook gives
        timeout=60,
    ),
}
