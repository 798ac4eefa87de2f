"""Hand-made image features: a hue histogram and a histogram of oriented gradients (HOG).

Reference versions of the exercises of notebook 08_features. Each feature function maps one
image of shape (H, W, 3) (or (H, W) for HOG) to a 1-D vector; `extract_features` applies a list
of them to every image of a batch and concatenates the results.
"""

import numpy as np

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
