"""Plots for the assignments: image grids, decision regions, weights and filters, training
curves, histograms.

Every ``show_*`` / ``plot_*`` helper returns a matplotlib Figure and never calls
``plt.show()``. The figure is closed in pyplot before it is returned, so it is displayed
exactly once: leave it as the last expression of a notebook cell (or ``display(fig)``),
or save it with ``fig.savefig(path)``.

``visualize_grid`` keeps CS231n's name and contract and returns an image array.
"""

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap


def _finish(fig):
    """Lay out the figure and detach it from pyplot (shown once when displayed); return it."""
    fig.tight_layout()
    plt.close(fig)
    return fig


def _as_hwc(X, name="X"):
    """Images as (N, H, W, C) with C in {1, 3}; accepts (N, H, W), (N, H, W, C), (N, C, H, W)."""
    X = np.asarray(X)
    if X.ndim == 3:
        return X[..., None]
    if X.ndim == 4:
        if X.shape[-1] in (1, 3):
            return X
        if X.shape[1] in (1, 3):
            return X.transpose(0, 2, 3, 1)
    raise ValueError(f"{name} must have shape (N, H, W), (N, H, W, C) or (N, C, H, W) with C in "
                     f"{{1, 3}}, got {X.shape}")


def _to_unit_range(images):
    """Scale images (N, H, W, C) for display in [0, 1].

    Pixel data already in [0, 255] is divided by 255 (colours stay comparable across
    images); anything else (e.g. mean-subtracted data) is min-max scaled per image.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.size and images.min() >= 0 and images.max() <= 255:
        return images / 255.0
    low = images.min(axis=(1, 2, 3), keepdims=True)
    high = images.max(axis=(1, 2, 3), keepdims=True)
    return (images - low) / np.maximum(high - low, 1e-12)


def _imshow(ax, image):
    """Show one (H, W, C) image in [0, 1] without axes."""
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(np.clip(image, 0, 1))
    ax.axis("off")


def visualize_grid(Xs, ubound=255.0, padding=1):
    """Tile a batch of images into one image, each rescaled to [0, ubound] (CS231n's helper).

    Inputs:
    - Xs: images of shape (N, H, W, C)
    - ubound: the largest value of the output
    - padding: pixels of zeros between neighbouring images

    Returns:
    - grid: array of shape (G * (H + padding) - padding, G * (W + padding) - padding, C)
      with G = ceil(sqrt(N)); unused cells are zero
    """
    Xs = np.asarray(Xs)
    if Xs.ndim != 4:
        raise ValueError(f"Xs must have shape (N, H, W, C), got {Xs.shape}")
    if isinstance(padding, bool) or not isinstance(padding, int | np.integer) or padding < 0:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
    N, H, W, C = Xs.shape
    G = max(1, math.ceil(math.sqrt(N)))
    grid = np.zeros((G * (H + padding) - padding, G * (W + padding) - padding, C))
    for n in range(N):
        row, col = divmod(n, G)
        img = Xs[n].astype(np.float64)
        low, high = img.min(), img.max()
        y0, x0 = row * (H + padding), col * (W + padding)
        grid[y0:y0 + H, x0:x0 + W] = ubound * (img - low) / max(high - low, 1e-12)
    return grid


def show_samples(X, y, class_names, per_class=7, rng=None):
    """A grid of random training images: one column per class, per_class rows.

    Inputs:
    - X: images of shape (N, H, W, C), (N, H, W) or (N, C, H, W)
    - y: labels of shape (N,), integers indexing class_names
    - class_names: list of C names (column titles)
    - per_class: images shown per class (fewer if a class has fewer)
    - rng: numpy Generator or seed choosing the images (None: the first ones of each class)

    Returns:
    - matplotlib Figure
    """
    images = _as_hwc(X)
    y = np.asarray(y)
    if y.shape != (images.shape[0],):
        raise ValueError(f"y must have shape (N,) = ({images.shape[0]},), got {y.shape}")
    per_class = int(per_class)
    if per_class < 1:
        raise ValueError(f"per_class must be a positive integer, got {per_class}")
    if rng is not None and not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    C = len(class_names)
    fig = plt.figure(figsize=(1.2 * C, 1.2 * per_class))
    axes = fig.subplots(per_class, C, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for c, name in enumerate(class_names):
        idx = np.flatnonzero(y == c)
        if rng is not None:
            idx = rng.permutation(idx)
        idx = idx[:per_class]
        shown = _to_unit_range(images[idx]) if len(idx) else []
        for row, image in enumerate(shown):
            _imshow(axes[row, c], image)
        axes[0, c].set_title(str(name), fontsize=9)
    return _finish(fig)


def plot_decision_regions(X, y, regions, extent):
    """Labelled points in the plane over the classes a classifier predicts, one panel per map.

    Inputs:
    - X: (N, 2) points
    - y: (N,) integer labels in 0 ... 9 (one colour each: matplotlib's tab10)
    - regions: dict title -> (R, S) integer array, the class predicted on an R x S grid of
      points spread evenly over the rectangle `extent`: row 0 at y = ymin, column 0 at
      x = xmin (as np.meshgrid(np.linspace(xmin, xmax, S), np.linspace(ymin, ymax, R)) gives)
    - extent: (xmin, xmax, ymin, ymax), the rectangle the grids cover

    Returns:
    - matplotlib Figure, the maps side by side in the order of `regions`
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2), got {X.shape}")
    y = np.asarray(y)
    if y.shape != (X.shape[0],) or (y.size and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() > 9)):
        raise ValueError(f"y must hold {X.shape[0]} integer labels in 0 ... 9, got shape {y.shape}, "
                         f"dtype {y.dtype}")
    if not isinstance(regions, Mapping) or not regions:
        raise ValueError("regions must be a non-empty dict title -> (R, S) array of labels")
    xmin, xmax, ymin, ymax = (float(v) for v in extent)
    if not (xmin < xmax and ymin < ymax):
        raise ValueError(f"extent must be (xmin, xmax, ymin, ymax) with xmin < xmax and ymin < ymax, "
                         f"got {tuple(extent)}")
    maps = {title: np.asarray(labels) for title, labels in regions.items()}
    for title, labels in maps.items():
        if labels.ndim != 2 or min(labels.shape) < 2 or labels.dtype.kind not in "iu":
            raise ValueError(f"regions[{title!r}] must be an (R, S) integer array with R, S >= 2, "
                             f"got shape {labels.shape}, dtype {labels.dtype}")
    colours = np.array(plt.get_cmap("tab10").colors)
    light = ListedColormap(0.45 * colours + 0.55)   # the same hues, paler
    fig = plt.figure(figsize=(3.6 * len(maps), 3.6))
    axes = fig.subplots(1, len(maps), squeeze=False)[0]
    for ax, (title, labels) in zip(axes, maps.items()):
        # Each grid value is drawn as a square centred on its grid point.
        dx, dy = (xmax - xmin) / (labels.shape[1] - 1), (ymax - ymin) / (labels.shape[0] - 1)
        ax.imshow(labels, origin="lower", cmap=light, vmin=-0.5, vmax=9.5, interpolation="nearest",
                  extent=(xmin - dx / 2, xmax + dx / 2, ymin - dy / 2, ymax + dy / 2))
        ax.scatter(X[:, 0], X[:, 1], c=colours[y], edgecolors="k", linewidths=0.6, s=24)
        ax.set_title(str(title))
        ax.set_xticks([])
        ax.set_yticks([])
    return _finish(fig)


def show_filters(weights, image_shape=None, padding=1, title=None):
    """Show learned weights as a grid of small images (conv filters or first-layer weights).

    Inputs:
    - weights: conv filters of shape (F, C, HH, WW), or affine weights of shape (D, M)
      whose columns are images of image_shape (rows flattened in (H, W, C) order, as the
      flattened data)
    - image_shape: (H, W, C) for affine weights, e.g. (32, 32, 3)
    - padding: pixels between filters
    - title: optional figure title

    Returns:
    - matplotlib Figure
    """
    weights = np.asarray(weights)
    if weights.ndim == 4:
        tiles = weights.transpose(0, 2, 3, 1)  # (F, HH, WW, C)
    elif weights.ndim == 2:
        if image_shape is None or int(np.prod(image_shape)) != weights.shape[0]:
            raise ValueError(f"affine weights (D, M) need image_shape with H * W * C = D = "
                             f"{weights.shape[0]}, got image_shape={image_shape!r}")
        tiles = weights.T.reshape(weights.shape[1], *image_shape)
    else:
        raise ValueError(f"weights must have shape (F, C, HH, WW) or (D, M), got {weights.shape}")
    grid = visualize_grid(tiles, ubound=1.0, padding=padding)
    fig = plt.figure(figsize=(5, 5))
    ax = fig.add_subplot()
    _imshow(ax, grid)
    if title:
        ax.set_title(title)
    return _finish(fig)



def show_filter_rows(rows, image_shape, num_filters=10):
    """Show the first few templates of several versions of affine weights, one row per version.

    E.g. {"initial": W1_init, "trained": W1, "change": W1 - W1_init}: column j shows hidden
    unit j's template in every row. Each tile is rescaled to [0, 1] on its own.

    Inputs:
    - rows: dict {row title: affine weights of shape (D, M)}, every array of the same shape,
      whose columns are images of image_shape (flattened in (H, W, C) order)
    - image_shape: (H, W, C) with H * W * C = D
    - num_filters: how many templates (the first ones) each row shows, at most M

    Returns:
    - matplotlib Figure with len(rows) * num_filters axes
    """
    if not isinstance(rows, Mapping) or not rows:
        raise ValueError(f"rows must be a non-empty dict {{title: (D, M) array}}, got {rows!r:.80}")
    arrays = {str(title): np.asarray(w) for title, w in rows.items()}
    shape = next(iter(arrays.values())).shape
    if len(shape) != 2 or any(w.shape != shape for w in arrays.values()):
        raise ValueError(f"rows must hold (D, M) arrays of one shape, got shapes "
                         f"{[w.shape for w in arrays.values()]}")
    if image_shape is None or int(np.prod(image_shape)) != shape[0]:
        raise ValueError(f"image_shape must be (H, W, C) with H * W * C = D = {shape[0]}, "
                         f"got {image_shape!r}")
    if isinstance(num_filters, bool) or not isinstance(num_filters, int | np.integer) or not (
            1 <= num_filters <= shape[1]):
        raise ValueError(f"num_filters must be an integer from 1 to M = {shape[1]}, got {num_filters!r}")
    fig = plt.figure(figsize=(1.1 * num_filters, 1.25 * len(arrays)))
    axes = fig.subplots(len(arrays), num_filters, squeeze=False)
    for axes_row, (title, w) in zip(axes, arrays.items()):
        tiles = w[:, :num_filters].T.reshape(num_filters, *image_shape)
        low = tiles.min(axis=(1, 2, 3), keepdims=True)
        high = tiles.max(axis=(1, 2, 3), keepdims=True)
        for ax, tile in zip(axes_row, (tiles - low) / np.maximum(high - low, 1e-12)):
            _imshow(ax, tile)
        axes_row[0].set_title(title, fontsize=9, loc="left")
    return _finish(fig)

def show_class_templates(W, class_names, image_shape=(32, 32, 3)):
    """Show each column of a linear classifier's weights as an image (its class template).

    Inputs:
    - W: weights of shape (D, C), or (D + 1, C) with a bias row last (the bias trick),
      D = H * W * C_in
    - class_names: C names
    - image_shape: (H, W, C_in) of the flattened images

    Returns:
    - matplotlib Figure
    """
    W = np.asarray(W)
    D = int(np.prod(image_shape))
    if W.ndim != 2 or W.shape[0] not in (D, D + 1) or W.shape[1] != len(class_names):
        raise ValueError(f"W must have shape (D, C) or (D + 1, C) with D = {D} and "
                         f"C = {len(class_names)}, got {W.shape}")
    templates = W[:D].T.reshape(len(class_names), *image_shape)
    low, high = templates.min(), templates.max()
    templates = (templates - low) / max(high - low, 1e-12)  # one scale for all classes
    fig = plt.figure(figsize=(1.4 * len(class_names), 1.8))
    axes = fig.subplots(1, len(class_names), squeeze=False)[0]
    for ax, template, name in zip(axes, templates, class_names):
        _imshow(ax, template)
        ax.set_title(str(name), fontsize=9)
    return _finish(fig)


def _histories(source):
    """{"loss_history", "train_acc_history", "val_acc_history"} from a Solver or a dict."""
    keys = ("loss_history", "train_acc_history", "val_acc_history")
    if isinstance(source, Mapping):
        if "loss_history" not in source:
            raise ValueError(f"a history dict must hold {list(keys)}, got keys {sorted(source)}")
        return {k: list(source.get(k, [])) for k in keys}
    if not hasattr(source, "loss_history"):
        raise ValueError(f"expected a Solver or a dict of histories, got {type(source).__name__}")
    return {k: list(getattr(source, k, [])) for k in keys}


def plot_training(runs, smooth=None):
    """Loss per iteration and train/validation accuracy per epoch.

    Inputs:
    - runs: a Solver (or a dict with "loss_history", "train_acc_history",
      "val_acc_history"), or a dict {label: Solver or history dict} to compare runs
      (e.g. one per update rule)
    - smooth: optional window (iterations) of a moving average drawn over the raw loss,
      each average drawn at the centre of its window

    Returns:
    - matplotlib Figure with two axes: loss and accuracy
    """
    if isinstance(runs, Mapping) and "loss_history" not in runs:
        labelled = {str(label): _histories(run) for label, run in runs.items()}
    else:
        labelled = {None: _histories(runs)}
    fig = plt.figure(figsize=(11, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    for label, h in labelled.items():
        loss = np.asarray(h["loss_history"], dtype=float)
        line = ax_loss.plot(loss, ".", markersize=2, alpha=0.4 if smooth else 1.0,
                            label=None if smooth else label)[0]
        if smooth and len(loss) >= smooth:
            # Centred: the average of iterations t - smooth // 2 ... is drawn at t, so it does not lag.
            avg = np.convolve(loss, np.ones(smooth) / smooth, mode="valid")
            ax_loss.plot(np.arange(len(avg)) + (smooth - 1) / 2, avg, color=line.get_color(), label=label)
        prefix = "" if label is None else f"{label} "
        epochs = np.arange(len(h["train_acc_history"]))
        ax_acc.plot(epochs, h["train_acc_history"], "-o", markersize=3, label=f"{prefix}train",
                    color=line.get_color())
        ax_acc.plot(np.arange(len(h["val_acc_history"])), h["val_acc_history"], "--s",
                    markersize=3, label=f"{prefix}val", color=line.get_color())
    ax_loss.set(title="Training loss", xlabel="Iteration", ylabel="Loss")
    ax_acc.set(title="Accuracy", xlabel="Check (first iteration, then each epoch)",
               ylabel="Accuracy")
    if any(label is not None for label in labelled):
        ax_loss.legend(fontsize=8)
    ax_acc.legend(fontsize=8)
    return _finish(fig)


def plot_activation_histograms(activations, labels=None, bins=30):
    """One histogram per layer of the values of its activations, with mean and std.

    All panels share one x-axis (the range of all layers' values), so a layer whose
    values collapse towards 0 shows as a narrow spike next to the wider ones.

    Inputs:
    - activations: list of arrays, one per layer (any shapes)
    - labels: optional list of titles, one per layer
    - bins: number of histogram bins

    Returns:
    - matplotlib Figure with one axis per layer
    """
    activations = [np.asarray(a, dtype=np.float64).ravel() for a in activations]
    if not activations:
        raise ValueError("activations must hold at least one array")
    if labels is not None and len(labels) != len(activations):
        raise ValueError(f"labels must have one entry per layer ({len(activations)}), got {len(labels)}")
    L = len(activations)
    cols = min(L, 5)
    rows = math.ceil(L / cols)
    fig = plt.figure(figsize=(3 * cols, 2.6 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[L:]:
        ax.axis("off")
    low = min((float(v.min()) for v in activations if v.size), default=0.0)
    high = max((float(v.max()) for v in activations if v.size), default=0.0)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, bins + 1)
    for i, (ax, values) in enumerate(zip(axes, activations)):
        ax.hist(values, bins=edges)
        ax.set_xlim(low, high)
        name = labels[i] if labels is not None else f"layer {i + 1}"
        ax.set_title(f"{name}\nmean {values.mean():.3g}, std {values.std():.3g}", fontsize=9)
    return _finish(fig)


def plot_hyperparam_search(results, best=None):
    """Scatter of a learning-rate / regularisation search, coloured by accuracy.

    Inputs:
    - results: dict {(learning_rate, reg): (train_accuracy, val_accuracy)}; a trial
      that diverged has NaN accuracies and is drawn as a red cross, not as a colour
    - best: optional (learning_rate, reg) to mark

    Returns:
    - matplotlib Figure with two axes (training and validation accuracy), log scales
    """
    if not results:
        raise ValueError("results must hold at least one (learning_rate, reg) entry")
    keys = list(results)
    lrs = np.array([k[0] for k in keys], dtype=float)
    regs = np.array([k[1] for k in keys], dtype=float)
    accs = np.array([results[k] for k in keys], dtype=float)
    if accs.ndim != 2 or accs.shape[1] != 2:
        raise ValueError("results values must be (train_accuracy, val_accuracy) pairs")
    fig = plt.figure(figsize=(11, 4))
    for j, (ax, title) in enumerate(zip(fig.subplots(1, 2), ("Training accuracy", "Validation accuracy"))):
        ok = np.isfinite(accs[:, j])
        points = ax.scatter(lrs[ok], regs[ok], c=accs[ok, j], s=80, cmap="viridis", marker="s")
        if not ok.all():
            ax.scatter(lrs[~ok], regs[~ok], s=60, color="red", marker="x", label="diverged")
            ax.legend(fontsize=8)
        ax.set_xscale("log" if np.all(lrs > 0) else "linear")
        ax.set_yscale("log" if np.all(regs > 0) else "linear")
        if best is not None:
            ax.scatter([best[0]], [best[1]], s=200, facecolors="none", edgecolors="red")
        ax.set(title=title, xlabel="learning rate", ylabel="regularisation strength")
        fig.colorbar(points, ax=ax)
    return _finish(fig)
