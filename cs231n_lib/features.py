"""Hand-made image features: a hue histogram, a histogram of oriented gradients (HOG) and a
bag of visual words.

Reference versions of the exercises of notebook 08_features, and the bag of words it shows.
Each feature function maps one image of shape (H, W, 3) (or (H, W) for HOG) to a 1-D vector;
`extract_features` applies a list of them to every image of a batch and concatenates the
results.
"""

import numpy as np

from cs231n_lib._validate import as_2d, positive_int

# ITU-R BT.601 luma weights: how bright each of red, green and blue looks to the eye.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


def rgb_to_hue(im, xmax=255.0):
    """Hue of every pixel, as a fraction of a full turn of the colour wheel.

    Inputs:
    - im: (H, W, 3) array of red, green, blue values in [0, xmax].
    - xmax: the largest possible channel value.

    Returns:
    - hue: (H, W) array in [0, 1): 0 red, 1/3 green, 2/3 blue; 0 for grey pixels
      (equal channels), whose hue is undefined.
    """
    rgb = np.asarray(im, dtype=np.float64) / xmax
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    top, bottom = rgb.max(axis=-1), rgb.min(axis=-1)
    spread = top - bottom
    safe = np.where(spread > 0, spread, 1.0)
    # Six sectors of 60 degrees; within the one of the largest channel, the position is the
    # difference of the other two, as a fraction of the spread.
    hue = np.where(top == r, ((g - b) / safe) % 6.0,
                   np.where(top == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0))
    hue = np.where(spread > 0, hue / 6.0, 0.0)
    return hue % 1.0


def color_histogram_hsv(im, nbin=10, xmin=0, xmax=255, normalized=True):
    """Histogram of the hue of an image's pixels.

    Inputs:
    - im: (H, W, 3) array of red, green, blue values in [0, xmax].
    - nbin: number of equal-width bins.
    - xmin, xmax: the hue (a fraction of a turn, see `rgb_to_hue`) is scaled to [0, xmax) and
      binned over [xmin, xmax] with `nbin` equal bins (edges np.linspace(xmin, xmax, nbin + 1),
      the last bin closed on the right, as np.histogram does).
    - normalized: divide the counts by the number of pixels (the bins then sum to 1 when every
      hue lies in [xmin, xmax]).

    Returns:
    - hist: (nbin,) float array.
    """
    hue = rgb_to_hue(im, xmax) * xmax
    edges = np.linspace(xmin, xmax, nbin + 1)
    counts, _ = np.histogram(hue, bins=edges)
    counts = counts.astype(np.float64)
    return counts / hue.size if normalized else counts


def rgb2gray(im):
    """Grey level (luma) of an (H, W, 3) image: the weighted sum of its channels, (H, W)."""
    return np.asarray(im, dtype=np.float64) @ LUMA_WEIGHTS


def image_gradients(gray):
    """Centred differences [-1, 0, 1] of a grey image, zero on the border.

    Inputs:
    - gray: (H, W) array.

    Returns a tuple of:
    - gx: (H, W), gray[i, j + 1] - gray[i, j - 1] (zero in the first and last column).
    - gy: (H, W), gray[i + 1, j] - gray[i - 1, j] (zero in the first and last row).
    """
    gx = np.zeros(gray.shape)
    gy = np.zeros(gray.shape)
    gx[:, 1:-1] = gray[:, 2:] - gray[:, :-2]
    gy[1:-1, :] = gray[2:, :] - gray[:-2, :]
    return gx, gy


def hog_feature(im, cell_size=8, num_bins=9):
    """Histogram of oriented gradients of one image (no block normalisation).

    The image is turned grey (`rgb2gray`) if it has three channels; its gradients are centred
    differences (`image_gradients`). Each pixel votes with its gradient magnitude
    sqrt(gx^2 + gy^2) for the bin of its unsigned orientation atan2(gy, gx) in degrees modulo
    180: bin k covers [k, k + 1) * 180 / num_bins. The votes of each cell_size x cell_size cell
    are averaged (summed and divided by cell_size^2).

    Inputs:
    - im: (H, W, 3) or (H, W) array, H and W multiples of cell_size.
    - cell_size: side of a square cell, in pixels.
    - num_bins: number of orientation bins over [0, 180) degrees.

    Returns:
    - feature: ((H // cell_size) * (W // cell_size) * num_bins,) array, the histograms of the
      cells in row-major order (cell row, then cell column, then orientation bin).
    """
    im = np.asarray(im, dtype=np.float64)
    gray = rgb2gray(im) if im.ndim == 3 else im
    H, W = gray.shape
    if H % cell_size or W % cell_size:
        raise ValueError(f"hog_feature: image size {H}x{W} is not a multiple of the cell size {cell_size}")
    gx, gy = image_gradients(gray)
    magnitude = np.hypot(gx, gy)
    angle = np.rad2deg(np.arctan2(gy, gx)) % 180.0
    bins = np.minimum((angle * (num_bins / 180.0)).astype(int), num_bins - 1)
    votes = np.zeros((H, W, num_bins))
    np.put_along_axis(votes, bins[..., None], magnitude[..., None], axis=2)
    cells = votes.reshape(H // cell_size, cell_size, W // cell_size, cell_size, num_bins)
    return cells.mean(axis=(1, 3)).ravel()


# Added to each patch's variance before dividing by its square root (squared grey levels): a
# nearly flat patch stays near 0 instead of having its noise blown up to unit size.
PATCH_VARIANCE_FLOOR = 10.0


def image_patches(im, patch_size=8, stride=4):
    """The square patches of one image, each flattened and normalised for a bag of words.

    Each patch has its mean subtracted and is divided by sqrt(its variance + 10): what is left
    is its pattern (an edge, a corner, a change of colour), not its brightness or contrast.

    Inputs:
    - im: (H, W, C) image, or (H, W) grey image.
    - patch_size: side of a square patch, in pixels (at most H and W).
    - stride: pixels between the top-left corners of neighbouring patches.

    Returns:
    - patches: (P, patch_size * patch_size * C) array, one patch per row, its pixels in
      (row, column, channel) order; the patches start at every stride-th row and column,
      P = (1 + (H - patch_size) // stride) * (1 + (W - patch_size) // stride), row-major.
    """
    im = np.asarray(im, dtype=np.float64)
    if im.ndim == 2:
        im = im[..., None]
    if im.ndim != 3:
        raise ValueError(f"image_patches: im must have shape (H, W, C) or (H, W), got {im.shape}")
    patch_size, stride = positive_int(patch_size, "patch_size"), positive_int(stride, "stride")
    if patch_size > min(im.shape[:2]):
        raise ValueError(f"image_patches: patch_size {patch_size} is larger than the image {im.shape[:2]}")
    windows = np.lib.stride_tricks.sliding_window_view(im, (patch_size, patch_size), axis=(0, 1))
    windows = windows[::stride, ::stride]                      # (rows, columns, C, p, p)
    patches = windows.transpose(0, 1, 3, 4, 2).reshape(-1, patch_size * patch_size * im.shape[2])
    patches = patches - patches.mean(axis=1, keepdims=True)
    return patches / np.sqrt(patches.var(axis=1, keepdims=True) + PATCH_VARIANCE_FLOOR)


def nearest_centre(X, centres):
    """Index of the nearest centre (squared Euclidean distance) of every point; ties: the first.

    Inputs:
    - X: (N, D) points.
    - centres: (K, D) centres.

    Returns:
    - index: (N,) int array with values in [0, K).
    """
    # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, and ||x||^2 is the same for every centre.
    return np.argmin(np.sum(centres * centres, axis=1) - 2.0 * (X @ centres.T), axis=1)


def kmeans(X, num_clusters, num_iters=10, seed=0):
    """Cluster centres by k-means (Lloyd's algorithm).

    Starts from num_clusters different points of X chosen at random, then repeats: give every
    point to its nearest centre, move every centre to the mean of its points (a centre left
    without points stays where it is).

    Inputs:
    - X: (N, D) points, N >= num_clusters.
    - num_clusters: K, the number of centres.
    - num_iters: rounds of assignment and update.
    - seed: int or numpy Generator that chooses the starting points.

    Returns:
    - centres: (K, D) float array.
    """
    X = as_2d(X, "X", "(N, D)").astype(np.float64, copy=False)
    K = positive_int(num_clusters, "num_clusters")
    if K > X.shape[0]:
        raise ValueError(f"kmeans: num_clusters = {K} is more than the {X.shape[0]} points of X")
    rng = np.random.default_rng(seed)
    centres = X[rng.choice(X.shape[0], size=K, replace=False)].copy()
    for _ in range(num_iters):
        assignment = nearest_centre(X, centres)
        members = np.zeros((X.shape[0], K))
        members[np.arange(X.shape[0]), assignment] = 1.0
        counts = members.sum(axis=0)
        kept = counts > 0
        centres[kept] = (members.T @ X)[kept] / counts[kept, None]
    return centres


def bag_of_words(im, codebook, patch_size=8, stride=4):
    """Histogram of the visual words of one image: the share of its patches nearest each word.

    Inputs:
    - im: (H, W, C) image, or (H, W) grey image.
    - codebook: (K, patch_size * patch_size * C) visual words, e.g. k-means centres of
      `image_patches` of training images.
    - patch_size, stride: those of `image_patches` (the ones the codebook was made from).

    Returns:
    - hist: (K,) float array of fractions, summing to 1.
    """
    patches = image_patches(im, patch_size, stride)
    codebook = as_2d(codebook, "codebook", "(K, patch_size * patch_size * C)")
    if codebook.shape[1] != patches.shape[1]:
        raise ValueError(f"bag_of_words: codebook words have {codebook.shape[1]} numbers, the image's "
                         f"{patch_size}x{patch_size} patches {patches.shape[1]}")
    words = nearest_centre(patches, codebook)
    return np.bincount(words, minlength=codebook.shape[0]) / patches.shape[0]


def extract_features(imgs, feature_fns, verbose=False):
    """Apply feature functions to every image and concatenate their outputs.

    Inputs:
    - imgs: (N, H, W, C) array of images.
    - feature_fns: list of functions, each mapping one (H, W, C) image to a 1-D array.
    - verbose: print progress every 1000 images.

    Returns:
    - features: (N, F) float array, F the sum of the feature functions' output sizes; row i
      holds the outputs of feature_fns[0], feature_fns[1], ... on imgs[i], in that order.
    """
    imgs = np.asarray(imgs)
    if not feature_fns:
        raise ValueError("extract_features: feature_fns is empty")
    rows = []
    for i, im in enumerate(imgs):
        rows.append(np.concatenate([np.ravel(fn(im)) for fn in feature_fns]).astype(np.float64))
        if verbose and (i + 1) % 1000 == 0:
            print(f"extracted features of {i + 1} / {len(imgs)} images")
    if not rows:  # no images: run the functions on a blank one to learn F
        blank = np.zeros(imgs.shape[1:])
        return np.zeros((0, sum(np.size(fn(blank)) for fn in feature_fns)))
    return np.stack(rows)
