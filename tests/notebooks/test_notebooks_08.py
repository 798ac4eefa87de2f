"""Notebook 08_features: structure, teaching content, the HOG worked examples, and specs that catch
the usual mistakes (see test_notebooks_01_03.py for how the helpers are used)."""

import numpy as np
import pytest
from nbhelpers import (
    COURSE,
    appended,
    check_structure,
    check_teaching,
    failures,
    namespace,
    source,
)

from autograder.verify.spec import load_spec

AID = "08_features"

TEACHING = [r"hand-made features", r"HSV", r"hue", r"colour histogram", r"oriented gradients",
            r"Dalal", r"\[-1, 0, 1\]", r"unsigned", r"8 \\times 8", r"9\s+bins", r"144", r"154",
            r"standardise", r"\*\*training\*\* set", r"block", r"0\.0837", r"a quarter of the way",
            r"bag of words", r"k-means", r"\*\*visual words\*\*"]


def test_structure():
    check_structure(AID)


def test_release_teaches_the_course_notes():
    check_teaching(AID, TEACHING)


def test_source_solutions_pass_every_case():
    ns = namespace(AID)
    for gid in load_spec(COURSE.spec(AID)):
        assert failures(AID, gid, ns) == [], gid


def test_worked_examples():
    """The numbers the notebook's text and public tests quote."""
    ns = namespace(AID)
    hue = ns["rgb_to_hue"](np.array([[[255.0, 128.0, 0.0]]]))[0, 0]
    assert abs(hue - 0.0837) < 5e-5
    assert round(hue / (1 / 3), 2) == 0.25 and round(hue / (1 / 6), 2) == 0.50   # "a quarter ... half-way"
    feature = ns["hog_feature"](np.zeros((32, 32, 3)))
    assert feature.shape == (144,)


def test_opening_holds_the_generated_points_table():
    first = source(AID).cells[0].source
    assert "<!-- points-table -->" in first.splitlines() and "| part |" not in first


def _hog_variant(gx_line, gy_line, full_turn):
    """A wrong hog_feature: the given gradient lines, orientations modulo `full_turn` degrees."""
    return f"""
def hog_feature(im, cell_size=8, num_bins=9):
    im = np.asarray(im, dtype=float)
    gray = rgb2gray(im) if im.ndim == 3 else im
    H, W = gray.shape
    gx, gy = np.zeros((H, W)), np.zeros((H, W))
    {gx_line}
    {gy_line}
    ang = np.degrees(np.arctan2(gy, gx)) % {full_turn}
    k = np.minimum((ang // ({full_turn} / num_bins)).astype(int), num_bins - 1)
    votes = np.zeros((H, W, num_bins))
    votes[np.arange(H)[:, None], np.arange(W), k] = np.hypot(gx, gy)
    return votes.reshape(H // cell_size, cell_size, W // cell_size, cell_size, num_bins).mean(axis=(1, 3)).ravel()
"""


MISTAKES = [
    ("ex_rgb_to_hue", "test_rgb_to_hue", "hue not wrapped into [0, 1)", """
_right = rgb_to_hue
def rgb_to_hue(im, xmax=255):
    rgb = np.asarray(im, dtype=float) / xmax
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    M, m = rgb.max(axis=-1), rgb.min(axis=-1)
    d = np.where(M > m, M - m, 1.0)
    h = np.where(M == r, (g - b) / d, np.where(M == g, (b - r) / d + 2, (r - g) / d + 4)) / 6
    return np.where(M > m, h, 0.0)
"""),
    ("ex_rgb_to_hue", "test_rgb_to_hue", "grey pixels give nan", """
def rgb_to_hue(im, xmax=255):
    rgb = np.asarray(im, dtype=float) / xmax
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    M, m = rgb.max(axis=-1), rgb.min(axis=-1)
    d = M - m
    with np.errstate(all="ignore"):
        h = np.where(M == r, ((g - b) / d) % 6, np.where(M == g, (b - r) / d + 2, (r - g) / d + 4))
    return (h / 6) % 1.0
"""),
    ("ex_rgb_to_hue", "test_rgb_to_hue", "green and blue sectors swapped", """
def rgb_to_hue(im, xmax=255):
    rgb = np.asarray(im, dtype=float) / xmax
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    M, m = rgb.max(axis=-1), rgb.min(axis=-1)
    d = np.where(M > m, M - m, 1.0)
    h = np.where(M == r, ((g - b) / d) % 6, np.where(M == g, (b - r) / d + 4, (r - g) / d + 2))
    return np.where(M > m, h / 6, 0.0) % 1.0
"""),
    ("ex_color_histogram", "test_color_histogram", "hue not scaled by xmax", """
def color_histogram_hsv(im, nbin=10, xmin=0, xmax=255, normalized=True):
    counts, _ = np.histogram(rgb_to_hue(im, xmax), bins=np.linspace(xmin, xmax, nbin + 1))
    return counts / counts.size if normalized else counts.astype(float)
"""),
    ("ex_color_histogram", "test_color_histogram", "nbin edges instead of nbin + 1", """
def color_histogram_hsv(im, nbin=10, xmin=0, xmax=255, normalized=True):
    hue = rgb_to_hue(im, xmax) * xmax
    counts, _ = np.histogram(hue, bins=np.linspace(xmin, xmax, nbin))
    return counts / hue.size if normalized else counts.astype(float)
"""),
    ("ex_color_histogram", "test_color_histogram", "normalized ignored", """
_right = color_histogram_hsv
def color_histogram_hsv(im, nbin=10, xmin=0, xmax=255, normalized=True):
    return _right(im, nbin, xmin, xmax, True)
"""),
    ("ex_hog", "test_hog", "forward differences (np.diff) instead of centred",
     _hog_variant("gx[:, :-1] = np.diff(gray, axis=1)", "gy[:-1, :] = np.diff(gray, axis=0)", 180)),
    ("ex_hog", "test_hog", "signed orientations over 360 degrees",
     _hog_variant("gx[:, 1:-1] = gray[:, 2:] - gray[:, :-2]", "gy[1:-1, :] = gray[2:, :] - gray[:-2, :]", 360)),
    ("ex_hog", "test_hog", "summed instead of averaged over the cell", """
_right = hog_feature
def hog_feature(im, cell_size=8, num_bins=9):
    return _right(im, cell_size, num_bins) * cell_size ** 2
"""),
    ("ex_hog", "test_hog", "cells flattened column by column", """
_right = hog_feature
def hog_feature(im, cell_size=8, num_bins=9):
    H, W = np.shape(im)[:2]
    f = _right(im, cell_size, num_bins).reshape(H // cell_size, W // cell_size, num_bins)
    return f.transpose(1, 0, 2).ravel()
"""),
]


@pytest.mark.parametrize("exercise, gid, why, wrong", MISTAKES, ids=[m[2] for m in MISTAKES])
def test_spec_catches_mistake(exercise, gid, why, wrong):
    assert failures(AID, gid, namespace(AID, appended(AID, exercise, wrong))), f"{gid} does not catch: {why}"
