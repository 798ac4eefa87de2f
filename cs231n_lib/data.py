"""Loading CIFAR-10 and the embedded fallback dataset, and making the standard splits.

``get_cifar10_data()`` is what notebooks call: CIFAR-10 if ``make data`` was run,
otherwise the small embedded dataset (real handwritten digits drawn over patches of real
photographs, both bundled with scikit-learn; see ``cs231n_lib.embedded``) with a one-line notice.
It never returns the last ``num_heldout(N_test)`` images of CIFAR-10's test batch: the grader
keeps them to score the open-ended tasks on images the notebooks have not seen
(``autograder/verify/heldout.py``). ``load_cifar10`` and ``read_batch`` read the files as they are.

CIFAR-10's python batches are Python 2 cPickle files (protocol 2). Each is a
dict with keys ``batch_label``, ``labels``, ``data`` and ``filenames``; ``data``
is uint8 of shape (n, 3072), one image per row in channel-major order (1024
red, then 1024 green, then 1024 blue values, each 32 x 32 in row order).
Loaded with ``encoding="latin1"`` the keys are str; files converted by other
tools may carry bytes keys: both are accepted.
"""

import codecs
import os
import pickle
import sys
from pathlib import Path

import numpy as np

from cs231n_lib.embedded import embedded_arrays

__all__ = [
    "CIFAR10_CLASSES",
    "DIGIT_CLASSES",
    "TRAIN_BATCHES",
    "TEST_BATCH",
    "META_FILE",
    "CifarFormatError",
    "default_cifar10_dir",
    "read_batch",
    "read_meta",
    "check_cifar10_dir",
    "load_cifar10",
    "load_embedded",
    "get_cifar10_data",
    "num_heldout",
    "layout_images",
]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
DIGIT_CLASSES = ("zero", "one", "two", "three", "four",
                 "five", "six", "seven", "eight", "nine")
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META_FILE = "batches.meta"

IMAGE_SHAPE = (32, 32, 3)
_ROW_SIZE = 3 * 32 * 32

# At most this many CIFAR-10 test images are held out for grading (see num_heldout).
HELDOUT_MAX = 1000

# The standard CS231n split sizes, used when they fit the data.
_CS231N_SIZES = {"num_training": 49000, "num_validation": 1000, "num_test": 1000, "num_dev": 500}


class CifarFormatError(ValueError):
    """A file that should be a CIFAR-10 python batch is missing or malformed."""


# --------------------------------------------------------------------------- reading batches

def _numpy_reconstruct():
    core = getattr(np, "_core", None)  # numpy >= 2
    if core is None:  # pragma: no cover - numpy 1.x
        core = np.core
    return core.multiarray._reconstruct


def _numpy_frombuffer():
    core = getattr(np, "_core", None)
    if core is None:  # pragma: no cover - numpy 1.x
        core = np.core
    return core.numeric._frombuffer


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler that only builds plain containers and numpy arrays.

    A CIFAR-10 batch needs nothing else; refusing every other global means a
    tampered archive (from a mirror or a USB key) cannot run code when loaded.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
        ("numpy", "ndarray"): lambda: np.ndarray,
        ("numpy", "dtype"): lambda: np.dtype,
        # Files re-pickled by Python 3: bytes under protocol 2, arrays under protocol >= 4.
        ("_codecs", "encode"): lambda: codecs.encode,
        ("numpy.core.numeric", "_frombuffer"): _numpy_frombuffer,
        ("numpy._core.numeric", "_frombuffer"): _numpy_frombuffer,
    }

    def find_class(self, module, name):
        getter = self._ALLOWED.get((module, name))
        if getter is None:
            raise pickle.UnpicklingError(f"refers to {module}.{name}, which a CIFAR-10 batch never does")
        return getter()


def _unpickle(path):
    """Load one python-2 pickle with str keys. Raises CifarFormatError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CifarFormatError(f"{path}: file missing")
    try:
        with open(path, "rb") as f:
            obj = _BatchUnpickler(f, encoding="latin1").load()
    except Exception as exc:  # any unpickling failure means "not a CIFAR-10 batch"
        raise CifarFormatError(f"{path}: not a readable CIFAR-10 pickle ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict):
        raise CifarFormatError(f"{path}: expected a dict, found {type(obj).__name__}")
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}


def read_batch(path):
    """Read one CIFAR-10 python batch file and check its structure.

    Inputs:
    - path: a ``data_batch_i`` or ``test_batch`` file.

    Returns a tuple (X, y):
    - X: uint8 array of shape (n, 32, 32, 3)
    - y: int64 array of shape (n,), labels in 0..9

    Raises CifarFormatError (a ValueError) naming the file when it is missing or malformed.
    """
    d = _unpickle(path)
    missing = [k for k in ("data", "labels") if k not in d]
    if missing:
        raise CifarFormatError(f"{path}: missing key(s) {missing}; found {sorted(map(str, d))}")
    data = d["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != _ROW_SIZE:
        desc = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) \
            else type(data).__name__
        raise CifarFormatError(f"{path}: 'data' must be a uint8 array of shape (n, {_ROW_SIZE}), found {desc}")
    labels = _labels(path, d["labels"], data.shape[0])
    X = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(X), labels


def _labels(path, labels, n):
    """The (n,) int64 labels of a batch, checked as Python integers before any conversion.

    Checking before ``np.asarray(..., int64)`` matters: that call raises OverflowError
    for a huge integer and silently truncates 3.7 to 3.
    """
    if isinstance(labels, np.ndarray):
        if labels.dtype.kind not in "iu" or labels.ndim != 1:
            raise CifarFormatError(f"{path}: 'labels' must be a list of integers 0..9, found a "
                                   f"{labels.dtype} array of shape {labels.shape}")
        labels = labels.tolist()
    if not isinstance(labels, list | tuple):
        raise CifarFormatError(f"{path}: 'labels' must be a list of integers 0..9, found "
                               f"{type(labels).__name__}")
    bad = next((v for v in labels if isinstance(v, bool) or not isinstance(v, int)), None)
    if bad is not None:
        raise CifarFormatError(f"{path}: 'labels' must be integers 0..9, found {bad!r}")
    if len(labels) != n:
        raise CifarFormatError(f"{path}: {len(labels)} labels for {n} images")
    if labels and (min(labels) < 0 or max(labels) > 9):
        raise CifarFormatError(f"{path}: labels must be in 0..9, found {min(labels)}..{max(labels)}")
    return np.array(labels, dtype=np.int64)


def read_meta(path):
    """Read ``batches.meta`` and return its 10 class names (list of str)."""
    d = _unpickle(path)
    names = d.get("label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise CifarFormatError(f"{path}: 'label_names' must be a list of 10 class names")
    return [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names]


def check_cifar10_dir(root):
    """Check that ``root`` holds a complete, well-formed CIFAR-10 python dataset.

    Inputs:
    - root: a ``cifar-10-batches-py`` folder.

    Returns a dict with ``num_train`` and ``num_test`` image counts.
    Raises CifarFormatError (a ValueError) naming the first bad or missing file.
    """
    root = Path(root)
    if not root.is_dir():
        raise CifarFormatError(f"{root}: folder missing")
    read_meta(root / META_FILE)
    num_train = sum(read_batch(root / name)[1].size for name in TRAIN_BATCHES)
    num_test = read_batch(root / TEST_BATCH)[1].size
    return {"num_train": num_train, "num_test": num_test}


# --------------------------------------------------------------------------- loaders

# The repository root: a relative CIFAR10_DIR is taken from here, so that `make data`
# (run from the root) and the notebooks (run from assignments/) mean the same folder.
REPO_ROOT = Path(__file__).resolve().parent.parent


def default_cifar10_dir():
    """Where CIFAR-10 is looked for: ``$CIFAR10_DIR``, else ``<repo>/datasets/cifar-10-batches-py``.

    A relative ``$CIFAR10_DIR`` is relative to the repository root, whatever the
    working directory (the data step, tests and notebooks all agree).
    """
    env = os.environ.get("CIFAR10_DIR")
    if env:
        path = Path(env).expanduser()
        return path if path.is_absolute() else REPO_ROOT / path
    return REPO_ROOT / "datasets" / "cifar-10-batches-py"


def _as_float_dtype(dtype, name="dtype", allow_uint8=False):
    dt = np.dtype(dtype)
    if not (np.issubdtype(dt, np.floating) or (allow_uint8 and dt == np.uint8)):
        allowed = "a floating dtype" + (" or uint8" if allow_uint8 else "")
        raise ValueError(f"{name} must be {allowed}, got {dt}")
    return dt


def load_cifar10(root=None, dtype=np.float64):
    """Load the official CIFAR-10 python batches, like CS231n's ``load_CIFAR10``.

    Inputs:
    - root: the ``cifar-10-batches-py`` folder; None means ``default_cifar10_dir()``.
    - dtype: dtype of the images (float64 like CS231n; uint8 gives the raw bytes).

    Returns a tuple (X_train, y_train, X_test, y_test, class_names):
    - X_train: (N_train, 32, 32, 3) array of pixel values 0..255 (50000 images for CIFAR-10)
    - y_train: (N_train,) int64 labels in 0..9
    - X_test: (N_test, 32, 32, 3), y_test: (N_test,) (10000 images for CIFAR-10)
    - class_names: list of the 10 class names

    Raises FileNotFoundError when the folder is absent and CifarFormatError (a
    ValueError) naming the file when one is missing or malformed; both say to run ``make data``.
    """
    dt = _as_float_dtype(dtype, allow_uint8=True)
    root = default_cifar10_dir() if root is None else Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"CIFAR-10 not found in {root}; run `make data` to download it")
    try:
        class_names = read_meta(root / META_FILE)
        parts = [read_batch(root / name) for name in TRAIN_BATCHES]
        X_test, y_test = read_batch(root / TEST_BATCH)
    except CifarFormatError as exc:
        error = CifarFormatError(f"{exc}. The CIFAR-10 dataset in {root} is incomplete or "
                                 f"damaged: run `make data` to install it again")
        error.detail = str(exc)       # the bad file alone, for the fallback's notice
        raise error from None
    X_train = np.concatenate([X for X, _ in parts])
    y_train = np.concatenate([y for _, y in parts])
    return X_train.astype(dt, copy=False), y_train, X_test.astype(dt, copy=False), y_test, class_names


def load_embedded(dtype=np.float64):
    """Load the embedded dataset: real handwritten digits over real photo patches, CIFAR-10's layout.

    Built by ``cs231n_lib.embedded`` from data that ships inside scikit-learn (the UCI
    handwritten digits and two sample photographs), never downloaded: each digit enlarged to
    a random size, placed at a random position, painted in a random colour (leaning towards a
    colour of its class) over a random photo patch, plus noise. Within each class every sixth
    digit is a test image, drawn once; the others are drawn three times for the training set.
    Deterministic (a fixed seed).

    Inputs:
    - dtype: dtype of the images (float64 by default, uint8 for raw pixels).

    Returns a tuple (X_train, y_train, X_test, y_test, class_names) like ``load_cifar10``:
    - X_train: (4503, 32, 32, 3), y_train: (4503,) int64 in 0..9
    - X_test: (296, 32, 32, 3), y_test: (296,)
    - class_names: ["zero", "one", ..., "nine"]
    """
    dt = _as_float_dtype(dtype, allow_uint8=True)
    X_train, y_train, X_test, y_test = embedded_arrays()
    return (X_train.astype(dt), y_train.copy(), X_test.astype(dt), y_test.copy(),
            list(DIGIT_CLASSES))


# --------------------------------------------------------------------------- splits

class _Default(int):
    """An int that remembers it was left at its default (so sizes can be scaled to the data)."""

    def __repr__(self):
        return f"<default {int(self)}>"


_DEFAULT_TRAINING = _Default(49000)
_DEFAULT_VALIDATION = _Default(1000)
_DEFAULT_TEST = _Default(1000)
_DEFAULT_DEV = _Default(500)


def num_heldout(n_test):
    """How many images at the end of CIFAR-10's test batch are held out for grading.

    Half of the test batch, at most 1000: of CIFAR-10's 10000 test images the last 1000 (the
    notebooks keep CS231n's first 1000 as their test split), of a 600-image subset the last
    300. No split of ``get_cifar10_data`` includes them: the grader scores the open-ended tasks
    on them (mirrored, in an order of its own), so their labels never reach a notebook through
    the course's loader.

    Inputs:
    - n_test: number of images in the test batch.

    Returns: an int, 0 <= num_heldout(n_test) <= n_test // 2.
    """
    return min(HELDOUT_MAX, int(n_test) // 2)


def _default_sizes(n_train, n_test):
    """Split sizes used when left at default: CS231n's when they fit, else scaled to the data."""
    if n_train >= 50000 and n_test >= 1000:
        return dict(_CS231N_SIZES)
    num_validation = max(1, n_train // 10)
    return {"num_training": n_train - num_validation, "num_validation": num_validation,
            "num_test": min(1000, n_test), "num_dev": min(500, max(1, n_train // 10))}


def _check_size(name, value):
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def get_cifar10_data(num_training=_DEFAULT_TRAINING, num_validation=_DEFAULT_VALIDATION,
                     num_test=_DEFAULT_TEST, num_dev=_DEFAULT_DEV, subtract_mean=True,
                     flatten=False, add_bias=False, channels_first=False, dtype=np.float64,
                     root=None, seed=0, source="auto"):
    """Load CIFAR-10 (or the embedded fallback) and make CS231n's standard splits.

    Validation is the ``num_validation`` training images right after the first
    ``num_training``; test is the first ``num_test`` test images; dev is a random
    subset of ``num_dev`` training images drawn with ``np.random.default_rng(seed)``.
    The mean image of the training split is subtracted from every split.

    CIFAR-10's test images available to the splits are those of its test batch but the last
    ``num_heldout(N)``, which the grader keeps: 9000 of the official 10000, 300 of a
    600-image subset. (The embedded dataset's held-out images are drawn by the grader.)

    Sizes left at their defaults are CS231n's (49000 / 1000 / 1000 / 500) when the
    data is full CIFAR-10, else scaled to the data: validation = N_train // 10,
    training = the rest, test = min(1000, test images available), dev = min(500, N_train // 10).
    For the embedded dataset that is 4053 / 450 / 296 / 450; for a CIFAR-10 subset of
    3000 / 600 images, 2700 / 300 / 300 / 300. Sizes given explicitly must fit, else ValueError.

    Inputs:
    - num_training, num_validation, num_test, num_dev: split sizes (ints >= 0).
    - subtract_mean: subtract the training split's mean image from every split.
    - flatten: reshape images to rows, (N, 3072).
    - add_bias: append a column of ones, (N, 3073) (implies flatten).
    - channels_first: images as (N, 3, 32, 32) instead of (N, 32, 32, 3).
    - dtype: floating dtype of the images (float64 by default).
    - root: the ``cifar-10-batches-py`` folder; None means ``$CIFAR10_DIR`` (relative to
      the repository root), else ``<repo>/datasets/cifar-10-batches-py``.
    - seed: seed of the dev subset.
    - source: "auto" (CIFAR-10 if present and complete, else embedded with a notice
      saying to run ``make data``), "cifar10" (error if absent or damaged) or "embedded".

    Returns a dict with:
    - X_train, X_val, X_test, X_dev: (n, 32, 32, 3), (n, 3, 32, 32), (n, 3072) or (n, 3073)
    - y_train, y_val, y_test, y_dev: (n,) int64 labels
    - class_names: list of 10 names
    - mean_image: the subtracted mean in the images' layout without bias, e.g. (32, 32, 3)
      or (3072,); None when subtract_mean is False
    - source: "cifar10" or "embedded"
    """
    dt = _as_float_dtype(dtype)
    if source not in ("auto", "cifar10", "embedded"):
        raise ValueError(f"source must be 'auto', 'cifar10' or 'embedded', got {source!r}")
    requested = {"num_training": num_training, "num_validation": num_validation,
                 "num_test": num_test, "num_dev": num_dev}
    for name, value in requested.items():
        _check_size(name, value)

    (X_all, y_all, X_test_all, y_test_all, class_names), source = _load_source(source, root)
    held = num_heldout(len(y_test_all)) if source == "cifar10" else 0
    X_test_all, y_test_all = X_test_all[:len(y_test_all) - held], y_test_all[:len(y_test_all) - held]
    sizes = _split_sizes(requested, len(y_all), len(y_test_all), source, held)
    ntr, nva = sizes["num_training"], sizes["num_validation"]
    dev_idx = np.random.default_rng(seed).choice(ntr, sizes["num_dev"], replace=False)
    splits = {
        "train": (X_all[:ntr], y_all[:ntr]),
        "val": (X_all[ntr:ntr + nva], y_all[ntr:ntr + nva]),
        "test": (X_test_all[:sizes["num_test"]], y_test_all[:sizes["num_test"]]),
        "dev": (X_all[dev_idx], y_all[dev_idx]),
    }
    out, mean_image = _prepare_splits(splits, dt, subtract_mean, flatten or add_bias,
                                      add_bias, channels_first)
    return {**out, "class_names": list(class_names), "mean_image": mean_image, "source": source}


def _load_source(source, root):
    """The raw uint8 arrays of the requested source and the source actually used.

    With source "auto", a missing, incomplete or damaged CIFAR-10 falls back to the
    embedded dataset with a one-line notice saying to run ``make data``.
    """
    if source == "embedded":
        return _load_embedded_or_explain(), "embedded"
    cifar_dir = default_cifar10_dir() if root is None else Path(root)
    if source == "cifar10":
        return load_cifar10(cifar_dir, dtype=np.uint8), "cifar10"
    if not cifar_dir.is_dir():
        print(f"CIFAR-10 not found in {cifar_dir}: using the small embedded dataset (digits over "
              f"photos) instead (run `make data` to get CIFAR-10).", file=sys.stderr)
        return _load_embedded_or_explain(), "embedded"
    try:
        return load_cifar10(cifar_dir, dtype=np.uint8), "cifar10"
    except CifarFormatError as exc:
        detail = getattr(exc, "detail", exc)
        print(f"CIFAR-10 in {cifar_dir} is incomplete or damaged ({detail}): using the small "
              f"embedded dataset (digits over photos) instead (run `make data` to install CIFAR-10 again).",
              file=sys.stderr)
        return _load_embedded_or_explain(), "embedded"


def _load_embedded_or_explain():
    """``load_embedded(uint8)``, with a message saying what to install when a dependency is missing."""
    try:
        return load_embedded(dtype=np.uint8)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or "a dependency"
        raise ImportError(f"the embedded dataset needs {missing}, which is not installed ({exc}). "
                          f"Run `make setup` to install the project's dependencies, or `make data` "
                          f"to get CIFAR-10 instead.", name=exc.name) from None


def _split_sizes(requested, n_train, n_test, source, held=0):
    """The split sizes: defaults scaled to the data, explicit ones checked to fit (ValueError).

    n_test: the test images available (held: how many more the grader keeps)."""
    defaults = _default_sizes(n_train, n_test)
    sizes = {name: defaults[name] if isinstance(value, _Default) else int(value)
             for name, value in requested.items()}

    def describe(name):
        return f"{name}={sizes[name]}" + (" (default)" if isinstance(requested[name], _Default) else "")

    if sizes["num_training"] + sizes["num_validation"] > n_train:
        raise ValueError(f"{describe('num_training')} + {describe('num_validation')} = "
                         f"{sizes['num_training'] + sizes['num_validation']} exceeds the {n_train} "
                         f"training images available ({source})")
    if sizes["num_test"] > n_test:
        kept = f"; the last {held} of its {n_test + held} are held out for grading" if held else ""
        raise ValueError(f"{describe('num_test')} exceeds the {n_test} test images available ({source}{kept})")
    if sizes["num_dev"] > sizes["num_training"]:
        raise ValueError(f"{describe('num_dev')} exceeds num_training={sizes['num_training']}: "
                         f"the dev set is a subset of the training split")
    return sizes


def _prepare_splits(splits, dt, subtract_mean, flatten, add_bias, channels_first):
    """Cast, lay out, centre and extend the splits.

    Inputs:
    - splits: dict "train"/"val"/"test"/"dev" -> (X uint8 (n, 32, 32, 3), y (n,)).

    Returns (dict X_train, y_train, ..., mean_image or None).
    """
    out = {}
    for key, (X, y) in splits.items():
        out[f"X_{key}"], out[f"y_{key}"] = _arrange(X, dt, flatten, channels_first), y.astype(np.int64)

    mean_image = None
    if subtract_mean:
        if len(out["y_train"]) == 0:
            raise ValueError("subtract_mean=True needs num_training >= 1 to compute the mean image")
        mean_image = out["X_train"].mean(axis=0)
    for key in splits:
        out[f"X_{key}"] = _centre_and_extend(out[f"X_{key}"], mean_image, add_bias)
    return out, mean_image


def _arrange(X, dt, flatten, channels_first):
    """uint8 images (n, 32, 32, 3) cast to dt, channels first and/or flattened."""
    X = X.astype(dt)
    if channels_first:
        X = np.ascontiguousarray(X.transpose(0, 3, 1, 2))
    if flatten:
        X = X.reshape(X.shape[0], -1)
    return X


def _centre_and_extend(X, mean_image, add_bias):
    """X minus mean_image (in place; None: unchanged), then a column of ones when add_bias."""
    if mean_image is not None:
        X -= mean_image
    if add_bias:
        X = np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])
    return X


def layout_images(X, mean_image=None, dtype=np.float64, flatten=False, add_bias=False,
                  channels_first=False):
    """Raw images laid out as ``get_cifar10_data`` lays out its splits with the same options.

    The grader uses it to give held-out images the layout of the notebook's data.

    Inputs:
    - X: (N, 32, 32, 3) uint8 images, as ``read_batch`` and ``load_cifar10(dtype=np.uint8)`` give them.
    - mean_image: the ``mean_image`` get_cifar10_data returned with these options (None: no
      mean subtracted).
    - dtype, flatten, add_bias, channels_first: as for ``get_cifar10_data``.

    Returns: (N, 32, 32, 3), (N, 3, 32, 32), (N, 3072) or (N, 3073) array of ``dtype``.
    """
    dt = _as_float_dtype(dtype)
    X = np.asarray(X)
    if X.ndim != 4 or X.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"X must be images of shape (N, 32, 32, 3), got shape {X.shape}")
    X = _arrange(X, dt, flatten or add_bias, channels_first)
    if mean_image is not None and np.shape(mean_image) != X.shape[1:]:
        raise ValueError(f"mean_image must have shape {X.shape[1:]} for these options, "
                         f"got {np.shape(mean_image)}")
    return _centre_and_extend(X, mean_image, add_bias)
