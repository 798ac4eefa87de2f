"""Tests of cs231n_lib.vis: returned figures, grid layout, no pyplot leaks, bad input."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from cs231n_lib import vis


def _check_figure(fig, num_axes=None):
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == []  # closed in pyplot: displayed once, no leak
    if num_axes is not None:
        assert len(fig.axes) == num_axes
    fig.canvas.draw()  # renders without error


def test_visualize_grid_layout_and_scaling():
    rng = np.random.default_rng(0)
    Xs = rng.standard_normal((5, 2, 3, 3)) * 4 + 1
    grid = vis.visualize_grid(Xs, ubound=255.0, padding=1)
    assert grid.shape == (3 * 2 + 2, 3 * 3 + 2, 3)  # G = 3 cells per side, 2 paddings
    for n in range(5):
        row, col = divmod(n, 3)
        cell = grid[row * 3:row * 3 + 2, col * 4:col * 4 + 3]
        expected = 255 * (Xs[n] - Xs[n].min()) / (Xs[n].max() - Xs[n].min())
        np.testing.assert_allclose(cell, expected, rtol=1e-12, atol=1e-12)
    assert np.all(grid[2, :] == 0) and np.all(grid[:, 3] == 0)  # padding
    assert np.all(grid[6:, 8:] == 0)  # the unused sixth..ninth cells
    constant = vis.visualize_grid(np.ones((1, 2, 2, 1)))
    assert np.all(np.isfinite(constant))
    with pytest.raises(ValueError, match=r"Xs must have shape \(N, H, W, C\)"):
        vis.visualize_grid(np.zeros((2, 3, 3)))


def test_show_samples_layouts():
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 255, (30, 8, 8, 3))
    y = np.arange(30) % 3
    fig = vis.show_samples(X, y, ["a", "b", "c"], per_class=4, rng=0)
    _check_figure(fig, num_axes=12)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"]
    _check_figure(vis.show_samples(X.transpose(0, 3, 1, 2) - 128, y, ["a", "b", "c"], per_class=2))
    _check_figure(vis.show_samples(X[..., 0], y, ["a", "b", "c", "unused"], per_class=11))
    with pytest.raises(ValueError, match=r"y must have shape \(N,\) = \(30,\)"):
        vis.show_samples(X, y[:5], ["a"])
    with pytest.raises(ValueError, match="X must have shape"):
        vis.show_samples(np.zeros((3, 8, 8, 5)), np.zeros(3, dtype=int), ["a"])


def test_plot_decision_regions_draws_the_given_maps_under_the_points():
    X = np.array([[-1.0, -1.0], [1.0, 0.5], [0.2, 1.0]])
    y = np.array([0, 1, 2])
    xs, ys = np.linspace(-2, 2, 5), np.linspace(-1, 3, 3)       # 3 rows (y) x 5 columns (x)
    gx, gy = np.meshgrid(xs, ys)
    right = (gx > 0).astype(int)                                 # class 1 right of x = 0
    above = 2 * (gy > 1).astype(int)                             # class 2 above y = 1
    fig = vis.plot_decision_regions(X, y, {"right": right, "above": above}, extent=(-2, 2, -1, 3))
    _check_figure(fig, num_axes=2)
    assert [ax.get_title() for ax in fig.axes] == ["right", "above"]
    for ax, want in zip(fig.axes, (right, above)):
        image = ax.images[0]
        np.testing.assert_array_equal(image.get_array(), want)
        assert image.origin == "lower"
        # Squares centred on the grid points: half a grid step beyond the outer ones.
        np.testing.assert_allclose(image.get_extent(), [-2.5, 2.5, -2.0, 4.0])
        cmap = image.get_cmap()
        colours = [image.norm(c) for c in range(3)]
        assert len({tuple(cmap(v)) for v in colours}) == 3        # one colour per class
        np.testing.assert_allclose(ax.collections[0].get_offsets(), X)


def test_plot_decision_regions_rejects_bad_input():
    X, y, grid = np.zeros((3, 2)), np.array([0, 1, 2]), np.zeros((4, 4), dtype=int)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        vis.plot_decision_regions(np.zeros((3, 3)), y, {"a": grid}, (0, 1, 0, 1))
    with pytest.raises(ValueError, match="y must hold 3 integer labels in 0 ... 9"):
        vis.plot_decision_regions(X, np.array([0, 1, 10]), {"a": grid}, (0, 1, 0, 1))
    with pytest.raises(ValueError, match="y must hold 3 integer labels"):
        vis.plot_decision_regions(X, np.array([0.0, 1.0, 2.0]), {"a": grid}, (0, 1, 0, 1))
    with pytest.raises(ValueError, match="regions must be a non-empty dict"):
        vis.plot_decision_regions(X, y, {}, (0, 1, 0, 1))
    with pytest.raises(ValueError, match=r"regions\['a'\] must be an \(R, S\) integer array"):
        vis.plot_decision_regions(X, y, {"a": np.zeros(16, dtype=int)}, (0, 1, 0, 1))
    with pytest.raises(ValueError, match="extent must be"):
        vis.plot_decision_regions(X, y, {"a": grid}, (1, 0, 0, 1))
    assert plt.get_fignums() == []                              # nothing left open by the errors


def test_show_filters_and_class_templates():
    rng = np.random.default_rng(2)
    _check_figure(vis.show_filters(rng.standard_normal((32, 3, 7, 7)), title="conv1"), num_axes=1)
    _check_figure(vis.show_filters(rng.standard_normal((4 * 4 * 3, 10)), image_shape=(4, 4, 3)))
    with pytest.raises(ValueError, match="image_shape"):
        vis.show_filters(rng.standard_normal((50, 10)), image_shape=(4, 4, 3))
    names = [f"c{i}" for i in range(10)]
    _check_figure(vis.show_class_templates(rng.standard_normal((48, 10)), names, (4, 4, 3)), 10)
    _check_figure(vis.show_class_templates(rng.standard_normal((49, 10)), names, (4, 4, 3)), 10)
    with pytest.raises(ValueError, match=r"W must have shape \(D, C\)"):
        vis.show_class_templates(rng.standard_normal((47, 10)), names, (4, 4, 3))



def test_show_filter_rows_puts_each_unit_in_one_column():
    rng = np.random.default_rng(3)
    start = rng.standard_normal((4 * 4 * 3, 6))
    trained = start + np.linspace(0, 1, 48)[:, None]
    fig = vis.show_filter_rows({"initial": start, "trained": trained, "change": trained - start},
                               image_shape=(4, 4, 3), num_filters=4)
    _check_figure(fig, num_axes=12)
    assert [fig.axes[k].get_title(loc="left") for k in (0, 4, 8)] == ["initial", "trained", "change"]
    for row, w in enumerate((start, trained, trained - start)):
        for j in range(4):
            tile = w[:, j].reshape(4, 4, 3)
            expected = (tile - tile.min()) / (tile.max() - tile.min())
            np.testing.assert_allclose(fig.axes[4 * row + j].images[0].get_array(), expected, atol=1e-12)
    with pytest.raises(ValueError, match="rows must be a non-empty dict"):
        vis.show_filter_rows({}, image_shape=(4, 4, 3))
    with pytest.raises(ValueError, match="one shape"):
        vis.show_filter_rows({"a": start, "b": start[:, :5]}, image_shape=(4, 4, 3))
    with pytest.raises(ValueError, match="H \\* W \\* C = D = 48"):
        vis.show_filter_rows({"a": start}, image_shape=(4, 4, 1))
    with pytest.raises(ValueError, match="num_filters must be an integer from 1 to M = 6"):
        vis.show_filter_rows({"a": start}, image_shape=(4, 4, 3), num_filters=7)

def test_plot_training_from_solver_histories_and_comparisons():
    class FakeSolver:
        loss_history = list(np.linspace(2.3, 0.5, 40))
        train_acc_history = [0.1, 0.4, 0.6]
        val_acc_history = [0.1, 0.35, 0.5]

    fig = vis.plot_training(FakeSolver(), smooth=5)
    _check_figure(fig, num_axes=2)
    ax_loss, ax_acc = fig.axes
    np.testing.assert_allclose(ax_acc.lines[0].get_ydata(), [0.1, 0.4, 0.6])
    np.testing.assert_allclose(ax_acc.lines[1].get_ydata(), [0.1, 0.35, 0.5])
    history = {"loss_history": [1.0, 0.5], "train_acc_history": [0.2], "val_acc_history": [0.1]}
    fig = vis.plot_training({"sgd": history, "adam": FakeSolver()})
    _check_figure(fig, num_axes=2)
    labels = [line.get_label() for line in fig.axes[1].lines]
    assert labels == ["sgd train", "sgd val", "adam train", "adam val"]
    with pytest.raises(ValueError, match="expected a Solver"):
        vis.plot_training({"x": 3})


def test_plot_activation_histograms_and_hyperparam_search():
    rng = np.random.default_rng(3)
    acts = [np.tanh(rng.standard_normal((100, 20)) * s) for s in (0.1, 1, 10, 3, 2, 1)]
    fig = vis.plot_activation_histograms(acts)
    _check_figure(fig, num_axes=10)  # 2 rows of 5, the last 4 empty
    assert fig.axes[0].get_title().startswith("layer 1\nmean")
    _check_figure(vis.plot_activation_histograms(acts[:2], labels=["tanh 1", "tanh 2"]), 2)
    with pytest.raises(ValueError, match="labels must have one entry per layer"):
        vis.plot_activation_histograms(acts, labels=["a"])
    results = {(lr, reg): (rng.random(), rng.random()) for lr in (1e-7, 1e-6) for reg in (1e3, 1e4)}
    fig = vis.plot_hyperparam_search(results, best=(1e-6, 1e4))
    _check_figure(fig, num_axes=4)  # two scatter axes and their colour bars
    assert fig.axes[0].get_xscale() == "log"
    with pytest.raises(ValueError, match="at least one"):
        vis.plot_hyperparam_search({})


def test_smoothed_loss_is_centred_on_its_window():
    # A straight line is its own moving average: centred, the smooth curve lies on the raw points.
    history = {"loss_history": list(np.arange(30.0)), "train_acc_history": [0.1], "val_acc_history": [0.1]}
    fig = vis.plot_training(history, smooth=5)
    raw, smooth = fig.axes[0].lines[:2]
    np.testing.assert_allclose(smooth.get_xdata(), np.arange(26) + 2.0)
    np.testing.assert_allclose(smooth.get_ydata(), smooth.get_xdata())
    assert len(raw.get_ydata()) == 30


def test_activation_histograms_share_one_x_axis():
    rng = np.random.default_rng(4)
    acts = [rng.standard_normal(200) * s for s in (1.0, 0.01)]
    fig = vis.plot_activation_histograms(acts, bins=10)
    limits = [ax.get_xlim() for ax in fig.axes]
    assert limits[0] == limits[1]
    everything = np.concatenate(acts)
    np.testing.assert_allclose(limits[0], (everything.min(), everything.max()))
    # the collapsed layer fills one or two of the shared bins, not all of them
    assert sum(p.get_height() > 0 for p in fig.axes[1].patches) <= 2


def test_diverged_trials_are_drawn_as_crosses():
    results = {(1e-3, 1e-2): (0.5, 0.4), (1e-1, 1e-2): (np.nan, np.nan), (1e-4, 1e-1): (0.3, 0.3)}
    fig = vis.plot_hyperparam_search(results)
    ax = fig.axes[0]
    squares, crosses = ax.collections[:2]
    assert len(squares.get_offsets()) == 2 and len(crosses.get_offsets()) == 1
    np.testing.assert_allclose(crosses.get_offsets()[0], (1e-1, 1e-2))
    assert ax.get_legend().get_texts()[0].get_text() == "diverged"
