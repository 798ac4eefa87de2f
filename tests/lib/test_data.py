"""Tests of cs231n_lib.data: reading the official batches, the embedded dataset, the splits."""

import io
import pickle
import tarfile
from pathlib import Path

import cifar_fixtures as fx
import numpy as np
import pytest

from cs231n_lib import data as D

SUBSET = fx.SUBSET
N_PER_BATCH, N_TEST = 40, 100   # the last 50 test images are held out for grading (num_heldout)


@pytest.fixture(scope="module")
def batches():
    return fx.make_batches(N_PER_BATCH, N_TEST, seed=7)


@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory, batches):
    """A cifar-10-batches-py folder written in the official byte format."""
    return fx.write_dir(tmp_path_factory.mktemp("c") / fx.DIRNAME, fx.batch_files(batches))


@pytest.fixture(scope="module")
def raw(batches):
    """The fixture's images as (N, 32, 32, 3) uint8, decoded pixel by pixel (independent of the loader)."""
    def decode(rows):
        X = np.empty((rows.shape[0], 32, 32, 3), dtype=np.uint8)
        for n in range(rows.shape[0]):
            for ch in range(3):
                for r in range(32):
                    X[n, r, :, ch] = rows[n, ch * 1024 + r * 32: ch * 1024 + r * 32 + 32]
        return X
    train_rows = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    y_train = np.concatenate([batches[f"data_batch_{i}"][1] for i in range(1, 6)])
    return decode(train_rows), y_train, decode(batches["test_batch"][0]), batches["test_batch"][1]


@pytest.fixture(scope="module")
def subset_dir(tmp_path_factory):
    return fx.extracted_subset(tmp_path_factory)


# --------------------------------------------------------------------------- the byte format

def test_fixture_batches_use_python2_string_opcodes(batches):
    b = fx.batch_files(batches)["data_batch_1"]
    assert b[:2] == b"\x80\x02"
    assert b"U\x0bbatch_label" in b and b"X\x0b\x00\x00\x00batch_label" not in b
    as_bytes = pickle.loads(b, encoding="bytes")
    assert set(as_bytes) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert as_bytes[b"batch_label"] == b"training batch 1 of 5"
    as_str = pickle.loads(b, encoding="latin1")
    assert set(as_str) == {"batch_label", "labels", "data", "filenames"}
    np.testing.assert_array_equal(as_str["data"], batches["data_batch_1"][0])
    assert as_str["data"].dtype == np.uint8


def test_fixture_writer_reproduces_real_batch_bytes():
    if not SUBSET.exists():
        pytest.skip("the real CIFAR-10 subset is not on this machine")
    with tarfile.open(SUBSET) as tar:
        real = {name: tar.extractfile(f"{fx.DIRNAME}/{name}").read()
                for name in ("data_batch_2", "test_batch", "batches.meta")}
    for name in ("data_batch_2", "test_batch"):
        d = pickle.loads(real[name], encoding="bytes")
        again = fx.batch_bytes(d[b"data"], d[b"labels"], d[b"batch_label"], d[b"filenames"])
        assert again == real[name], name
    assert fx.meta_bytes() == real["batches.meta"]


# --------------------------------------------------------------------------- load_cifar10

def test_load_cifar10_decodes_channel_major_rows(cifar_dir, raw):
    X_train, y_train, X_test, y_test, names = D.load_cifar10(cifar_dir)
    assert X_train.shape == (5 * N_PER_BATCH, 32, 32, 3) and X_train.dtype == np.float64
    assert X_test.shape == (N_TEST, 32, 32, 3)
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(X_train, raw[0])
    np.testing.assert_array_equal(y_train, raw[1])
    np.testing.assert_array_equal(X_test, raw[2])
    np.testing.assert_array_equal(y_test, raw[3])
    assert names == fx.LABEL_NAMES


def test_load_cifar10_uint8_and_default_root(cifar_dir, raw, monkeypatch):
    monkeypatch.setenv("CIFAR10_DIR", str(cifar_dir))
    X_train, *_ = D.load_cifar10(dtype=np.uint8)
    assert X_train.dtype == np.uint8
    np.testing.assert_array_equal(X_train, raw[0])


def test_default_dir_is_the_repository_datasets_folder(monkeypatch):
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    repo = Path(D.__file__).resolve().parent.parent
    assert D.default_cifar10_dir() == repo / "datasets" / "cifar-10-batches-py"
    monkeypatch.setenv("CIFAR10_DIR", "/somewhere/else")
    assert D.default_cifar10_dir() == Path("/somewhere/else")


def test_batches_with_bytes_keys_are_read(tmp_path, batches):
    """Files re-pickled by Python 3 with bytes keys (e.g. via encoding='bytes') load too."""
    files = fx.batch_files(batches)
    for name in D.TRAIN_BATCHES + (D.TEST_BATCH,):
        d = pickle.loads(files[name], encoding="bytes")
        files[name] = pickle.dumps(d, protocol=2)
    files["batches.meta"] = pickle.dumps(pickle.loads(files["batches.meta"], encoding="bytes"), 2)
    folder = fx.write_dir(tmp_path / fx.DIRNAME, files)
    X_train, y_train, _, _, names = D.load_cifar10(folder, dtype=np.uint8)
    np.testing.assert_array_equal(y_train[:N_PER_BATCH], batches["data_batch_1"][1])
    assert names[1] == "automobile"


def test_real_subset_loads(subset_dir):
    X_train, y_train, X_test, y_test, names = D.load_cifar10(subset_dir, dtype=np.uint8)
    assert X_train.shape == (3000, 32, 32, 3) and X_test.shape == (600, 32, 32, 3)
    assert names == fx.LABEL_NAMES
    with open(subset_dir / "data_batch_1", "rb") as f:
        rows = pickle.load(f, encoding="bytes")[b"data"]
    # pixel (row 5, column 7, green) of image 11 is byte 1024 + 5 * 32 + 7 of its row
    assert X_train[11, 5, 7, 1] == rows[11, 1024 + 5 * 32 + 7]
    assert np.bincount(y_train, minlength=10).min() > 200


def _broken(tmp_path, batches, name, content):
    files = fx.batch_files(batches)
    if content is None:
        del files[name]
    else:
        files[name] = content
    return fx.write_dir(tmp_path / fx.DIRNAME, files)


@pytest.mark.parametrize("name,content,needle", [
    ("data_batch_4", None, "file missing"),
    ("test_batch", b"not a pickle at all", "not a readable CIFAR-10 pickle"),
    ("data_batch_2", fx.Py2Pickler().dumps([1, 2, 3]), "expected a dict"),
    ("data_batch_1", fx.Py2Pickler().dumps({"labels": [1]}), "missing key(s) ['data']"),
    ("data_batch_5", fx.batch_bytes(np.zeros((3, 3072), np.uint8), [1, 2], "b", ["a"] * 3),
     "2 labels for 3 images"),
    ("data_batch_5", fx.batch_bytes(np.zeros((2, 3072), np.uint8), [1, 10], "b", ["a"] * 2),
     "labels must be in 0..9, found 1..10"),
    ("data_batch_3", fx.batch_bytes(np.zeros((2, 1024), np.uint8), [1, 2], "b", ["a"] * 2),
     "found uint8 array of shape (2, 1024)"),
    ("batches.meta", fx.meta_bytes(label_names=["a"] * 9), "list of 10 class names"),
])
def test_malformed_files_are_named(tmp_path, batches, name, content, needle):
    folder = _broken(tmp_path, batches, name, content)
    with pytest.raises(D.CifarFormatError) as info:
        D.load_cifar10(folder)
    assert name in str(info.value) and needle in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(D.CifarFormatError):
        D.check_cifar10_dir(folder)


def test_float_data_is_refused(tmp_path, batches):
    bad = pickle.dumps({"data": np.zeros((2, 3072)), "labels": [0, 1]}, protocol=2)
    folder = _broken(tmp_path, batches, "data_batch_1", bad)
    with pytest.raises(D.CifarFormatError, match="data_batch_1.*found float64 array"):
        D.load_cifar10(folder)


def test_missing_folder_says_make_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="make data"):
        D.load_cifar10(tmp_path / "nothing")


def test_load_cifar10_rejects_integer_dtype(cifar_dir):
    with pytest.raises(ValueError, match="dtype must be a floating dtype or uint8, got int32"):
        D.load_cifar10(cifar_dir, dtype=np.int32)


# --------------------------------------------------------------------------- embedded dataset

def test_embedded_layout_and_split():
    X_train, y_train, X_test, y_test, names = D.load_embedded(dtype=np.uint8)
    assert X_train.shape == (4503, 32, 32, 3) and X_test.shape == (296, 32, 32, 3)
    assert X_train.dtype == np.uint8 and y_train.dtype == np.int64
    assert names == ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    assert not np.array_equal(X_train[..., 0], X_train[..., 1])   # colour images, not grey
    assert set(np.bincount(y_test)) <= {29, 30}             # stratified: 1 in 6 of each class
    assert np.bincount(y_train).min() >= 3 * 145            # the others, drawn three times


def test_embedded_is_deterministic_and_returns_copies():
    a = D.load_embedded()
    a[0][:] = -1
    a[1][:] = -1
    b = D.load_embedded()
    assert b[0].min() == 0 and b[1].min() == 0


# --------------------------------------------------------------------------- get_cifar10_data

def test_splits_follow_cs231n(cifar_dir, raw):
    d = D.get_cifar10_data(num_training=150, num_validation=30, num_test=40, num_dev=20,
                           subtract_mean=False, root=cifar_dir, seed=3)
    X, y, Xt, yt = raw
    assert d["source"] == "cifar10" and d["mean_image"] is None
    np.testing.assert_array_equal(d["X_train"], X[:150])
    np.testing.assert_array_equal(d["y_train"], y[:150])
    np.testing.assert_array_equal(d["X_val"], X[150:180])      # right after the training split
    np.testing.assert_array_equal(d["y_val"], y[150:180])
    np.testing.assert_array_equal(d["X_test"], Xt[:40])
    np.testing.assert_array_equal(d["y_test"], yt[:40])
    idx = np.random.default_rng(3).choice(150, 20, replace=False)
    np.testing.assert_array_equal(d["X_dev"], X[idx])
    np.testing.assert_array_equal(d["y_dev"], y[idx])
    assert len(set(idx.tolist())) == 20
    assert d["X_train"].dtype == np.float64 and d["y_dev"].dtype == np.int64
    assert d["class_names"] == fx.LABEL_NAMES


def test_dev_subset_depends_on_the_seed_only(cifar_dir):
    kw = dict(num_training=150, num_validation=30, num_test=40, num_dev=20, root=cifar_dir)
    a, b, c = (D.get_cifar10_data(seed=s, **kw) for s in (0, 0, 1))
    np.testing.assert_array_equal(a["X_dev"], b["X_dev"])
    assert not np.array_equal(a["y_dev"], c["y_dev"]) or not np.array_equal(a["X_dev"], c["X_dev"])


def test_mean_image_is_the_training_mean(cifar_dir, raw):
    d = D.get_cifar10_data(num_training=150, num_validation=30, num_test=40, num_dev=20,
                           root=cifar_dir)
    X, _, Xt, _ = raw
    mean = X[:150].astype(np.float64).mean(axis=0)
    assert d["mean_image"].shape == (32, 32, 3)
    np.testing.assert_allclose(d["mean_image"], mean, rtol=1e-12)
    np.testing.assert_allclose(d["X_train"].mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(d["X_val"], X[150:180] - mean, rtol=0, atol=1e-10)
    np.testing.assert_allclose(d["X_test"], Xt[:40] - mean, rtol=0, atol=1e-10)


def test_flatten_bias_and_channels_first(cifar_dir, raw):
    kw = dict(num_training=150, num_validation=30, num_test=40, num_dev=20, root=cifar_dir)
    X, _, Xt, _ = raw
    mean = X[:150].astype(np.float64).mean(axis=0)

    cf = D.get_cifar10_data(channels_first=True, subtract_mean=False, **kw)
    assert cf["X_train"].shape == (150, 3, 32, 32)
    np.testing.assert_array_equal(cf["X_test"][:, 2], Xt[:40, :, :, 2])

    flat = D.get_cifar10_data(flatten=True, **kw)
    assert flat["X_val"].shape == (30, 3072) and flat["mean_image"].shape == (3072,)
    np.testing.assert_allclose(flat["X_val"], (X[150:180] - mean).reshape(30, -1), atol=1e-10)

    bias = D.get_cifar10_data(add_bias=True, **kw)                # implies flatten
    for key, n in (("X_train", 150), ("X_val", 30), ("X_test", 40), ("X_dev", 20)):
        assert bias[key].shape == (n, 3073)
        np.testing.assert_array_equal(bias[key][:, -1], 1.0)
        np.testing.assert_allclose(bias[key][:, :-1], flat[key], rtol=0, atol=0)

    cf_flat = D.get_cifar10_data(channels_first=True, flatten=True, subtract_mean=False, **kw)
    # channel-major rows: the original CIFAR-10 byte order
    np.testing.assert_array_equal(cf_flat["X_train"][7], X[7].transpose(2, 0, 1).ravel())


def test_float32(cifar_dir):
    d = D.get_cifar10_data(num_training=150, num_validation=30, num_test=40, num_dev=20,
                           root=cifar_dir, dtype=np.float32, add_bias=True)
    assert all(d[k].dtype == np.float32 for k in ("X_train", "X_val", "X_test", "X_dev"))


def test_defaults_scale_to_small_data(cifar_dir):
    d = D.get_cifar10_data(root=cifar_dir)
    assert [len(d[k]) for k in ("y_train", "y_val", "y_test", "y_dev")] == [180, 20, 50, 20]


def test_defaults_on_full_cifar10_are_cs231n_sizes():
    assert D._default_sizes(50000, 10000) == {"num_training": 49000, "num_validation": 1000,
                                              "num_test": 1000, "num_dev": 500}
    assert D._default_sizes(1501, 296) == {"num_training": 1351, "num_validation": 150,
                                           "num_test": 296, "num_dev": 150}


def test_real_subset_splits(subset_dir):
    d = D.get_cifar10_data(root=subset_dir)
    assert d["source"] == "cifar10"
    assert [len(d[k]) for k in ("y_train", "y_val", "y_test", "y_dev")] == [2700, 300, 300, 300]
    X_train, y_train, X_test, _, _ = D.load_cifar10(subset_dir)
    np.testing.assert_allclose(d["X_val"] + d["mean_image"], X_train[2700:3000], atol=1e-9)
    np.testing.assert_allclose(d["X_test"] + d["mean_image"], X_test[:300], atol=1e-9)   # the last 300: held out


# --------------------------------------------------------------------------- the held-out test images

@pytest.mark.parametrize("n_test, held", [(10000, 1000), (4000, 1000), (600, 300), (101, 50), (1, 0), (0, 0)])
def test_num_heldout_is_half_the_test_batch_at_most_1000(n_test, held):
    assert D.num_heldout(n_test) == held


def test_no_split_holds_a_held_out_image(cifar_dir, raw):
    _, _, Xt, yt = raw
    d = D.get_cifar10_data(root=cifar_dir, num_test=N_TEST // 2, subtract_mean=False)
    np.testing.assert_array_equal(d["X_test"], Xt[:N_TEST // 2])     # every image available
    kept = {x.tobytes() for x in Xt[N_TEST // 2:]}
    for key in ("X_train", "X_val", "X_test", "X_dev"):
        assert not kept & {x.astype(np.uint8).tobytes() for x in d[key]}, key
    with pytest.raises(ValueError) as info:
        D.get_cifar10_data(root=cifar_dir, num_test=N_TEST // 2 + 1)
    assert f"the last {N_TEST // 2} of its {N_TEST} are held out for grading" in str(info.value)


def test_embedded_test_split_is_whole():
    d = D.get_cifar10_data(source="embedded", num_test=296)      # its held-out images are drawn apart
    assert len(d["y_test"]) == 296


@pytest.mark.parametrize("options", [{}, {"channels_first": True, "dtype": np.float32}, {"flatten": True},
                                     {"add_bias": True}, {"subtract_mean": False, "channels_first": True}])
def test_layout_images_lays_out_like_the_splits(cifar_dir, raw, options):
    """The grader lays held-out images out with layout_images: the very arrays of the splits."""
    _, _, Xt, _ = raw
    d = D.get_cifar10_data(root=cifar_dir, num_test=40, **options)
    kept = {k: v for k, v in options.items() if k != "subtract_mean"}
    got = D.layout_images(Xt[:40], d["mean_image"], **kept)
    assert got.dtype == d["X_test"].dtype
    np.testing.assert_array_equal(got, d["X_test"])
    by_hand = Xt[:40].astype(np.float64)                               # independent: numpy by hand
    if options.get("channels_first"):
        by_hand = by_hand.transpose(0, 3, 1, 2)
    if options.get("flatten") or options.get("add_bias"):
        by_hand = by_hand.reshape(40, -1)
    if d["mean_image"] is not None:
        by_hand = by_hand - d["mean_image"]
    if options.get("add_bias"):
        by_hand = np.hstack([by_hand, np.ones((40, 1))])
    np.testing.assert_allclose(got, by_hand, rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize("X, mean, needle", [
    (np.zeros((2, 32, 32), np.uint8), None, "X must be images of shape (N, 32, 32, 3), got shape (2, 32, 32)"),
    (np.zeros((2, 32, 32, 3), np.uint8), np.zeros(3072), "mean_image must have shape (32, 32, 3)"),
])
def test_layout_images_names_bad_arguments(X, mean, needle):
    with pytest.raises(ValueError) as info:
        D.layout_images(X, mean)
    assert needle in str(info.value)


@pytest.mark.parametrize("kwargs,needles", [
    (dict(num_training=190, num_validation=20),
     ["num_training=190", "num_validation=20", "= 210", "200 training images"]),
    (dict(num_training=190), ["num_training=190", "num_validation=20 (default)", "200 training"]),
    (dict(num_test=51), ["num_test=51", "50 test images"]),
    (dict(num_training=10, num_dev=11), ["num_dev=11", "num_training=10"]),
    (dict(num_training=-1), ["num_training must be >= 0, got -1"]),
    (dict(num_dev=2.5), ["num_dev must be an int, got 2.5"]),
    (dict(num_validation=True), ["num_validation must be an int"]),
    (dict(dtype=np.int64), ["dtype must be a floating dtype, got int64"]),
    (dict(source="imagenet"), ["source must be 'auto', 'cifar10' or 'embedded'"]),
    (dict(num_training=0, num_dev=0), ["subtract_mean=True needs num_training >= 1"]),
])
def test_bad_arguments_are_named(cifar_dir, kwargs, needles):
    with pytest.raises(ValueError) as info:
        D.get_cifar10_data(root=cifar_dir, **kwargs)
    for needle in needles:
        assert needle in str(info.value), str(info.value)


def test_falls_back_to_embedded_with_one_line_notice(tmp_path, capsys):
    d = D.get_cifar10_data(root=tmp_path / "absent")
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "embedded" in err and "make data" in err and str(tmp_path / "absent") in err
    assert d["source"] == "embedded" and d["class_names"][0] == "zero"
    assert [len(d[k]) for k in ("y_train", "y_val", "y_test", "y_dev")] == [4053, 450, 296, 450]
    assert d["X_train"].shape == (4053, 32, 32, 3)


def test_fallback_reads_cifar10_dir_env(monkeypatch, cifar_dir, tmp_path, capsys):
    monkeypatch.setenv("CIFAR10_DIR", str(cifar_dir))
    assert D.get_cifar10_data()["source"] == "cifar10"
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path / "absent"))
    assert D.get_cifar10_data()["source"] == "embedded"
    assert "make data" in capsys.readouterr().err


def test_explicit_sources(tmp_path, capsys, cifar_dir):
    with pytest.raises(FileNotFoundError, match="make data"):
        D.get_cifar10_data(root=tmp_path / "absent", source="cifar10")
    d = D.get_cifar10_data(root=cifar_dir, source="embedded", num_training=100, num_dev=10)
    assert d["source"] == "embedded" and len(d["y_train"]) == 100
    assert capsys.readouterr().err == ""                      # asked for: no notice


def test_embedded_splits_do_not_leak_between_calls(capsys):
    a = D.get_cifar10_data(source="embedded")
    b = D.get_cifar10_data(source="embedded", subtract_mean=False)
    X_train, *_ = D.load_embedded()
    n = len(X_train) - len(X_train) // 10                     # the default split keeps a tenth for validation
    np.testing.assert_array_equal(b["X_train"], X_train[:n])
    np.testing.assert_allclose(a["X_train"] + a["mean_image"], X_train[:n], atol=1e-9)


def test_broken_dataset_falls_back_with_a_notice_saying_make_data(tmp_path, batches, capsys):
    folder = _broken(tmp_path, batches, "test_batch", None)
    d = D.get_cifar10_data(root=folder)
    err = capsys.readouterr().err
    assert d["source"] == "embedded" and d["class_names"][0] == "zero"
    assert len(err.strip().splitlines()) == 1
    assert "incomplete or damaged" in err and "test_batch: file missing" in err
    assert "run `make data`" in err and "embedded" in err


def test_broken_dataset_asked_for_explicitly_says_make_data(tmp_path, batches):
    folder = _broken(tmp_path, batches, "test_batch", None)
    with pytest.raises(D.CifarFormatError, match="test_batch.*file missing.*run `make data`"):
        D.get_cifar10_data(root=folder, source="cifar10")


@pytest.mark.parametrize("bad_label,needle", [
    (2**70, "labels must be in 0..9, found 0..1180591620717411303424"),
    (-2**70, "labels must be in 0..9, found -1180591620717411303424..9"),
    (3.7, "'labels' must be integers 0..9, found 3.7"),
    ("3", "'labels' must be integers 0..9, found '3'"),
])
def test_labels_that_are_not_small_integers_are_refused(tmp_path, batches, bad_label, needle):
    files = fx.files_with_labels(batches, "data_batch_2", {0: 0, 1: 9, 5: bad_label})
    folder = fx.write_dir(tmp_path / fx.DIRNAME, files)
    with pytest.raises(D.CifarFormatError) as info:
        D.read_batch(folder / "data_batch_2")
    assert "data_batch_2" in str(info.value) and needle in str(info.value)
    with pytest.raises(D.CifarFormatError, match="run `make data`"):
        D.load_cifar10(folder)


def test_integer_label_arrays_are_read(tmp_path, batches):
    data, labels = batches["data_batch_1"]
    content = pickle.dumps({"data": data, "labels": labels.astype(np.uint8)}, protocol=2)
    folder = _broken(tmp_path, batches, "data_batch_1", content)
    X, y = D.read_batch(folder / "data_batch_1")
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, labels)


def test_relative_cifar10_dir_is_relative_to_the_repository(monkeypatch, tmp_path, cifar_dir):
    repo = Path(D.__file__).resolve().parent.parent
    monkeypatch.setenv("CIFAR10_DIR", "data/cifar")
    for cwd in (repo, repo / "assignments", tmp_path):
        monkeypatch.chdir(cwd)
        assert D.default_cifar10_dir() == repo / "data" / "cifar"
    monkeypatch.setattr(D, "REPO_ROOT", cifar_dir.parent)
    monkeypatch.setenv("CIFAR10_DIR", cifar_dir.name)
    assert D.get_cifar10_data()["source"] == "cifar10"


def test_missing_scikit_learn_for_the_fallback_is_explained(monkeypatch, tmp_path):
    def no_sklearn(dtype=np.float64):
        raise ModuleNotFoundError("No module named 'sklearn'", name="sklearn")
    monkeypatch.setattr(D, "load_embedded", no_sklearn)
    with pytest.raises(ImportError) as info:
        D.get_cifar10_data(root=tmp_path / "absent")
    message = str(info.value)
    assert "needs sklearn, which is not installed" in message
    assert "make setup" in message and "make data" in message


def test_check_cifar10_dir_counts(cifar_dir):
    assert D.check_cifar10_dir(cifar_dir) == {"num_train": 5 * N_PER_BATCH, "num_test": N_TEST}


def test_unpickler_refuses_other_globals(tmp_path):
    path = tmp_path / "evil"
    path.write_bytes(pickle.dumps({"data": io.BytesIO(b"x")}, protocol=2))
    with pytest.raises(D.CifarFormatError, match="_io.BytesIO"):
        D.read_batch(path)


def test_python3_protocol5_batches_are_read(tmp_path, batches):
    files = fx.batch_files(batches)
    d = pickle.loads(files["data_batch_1"], encoding="latin1")
    files["data_batch_1"] = pickle.dumps(d, protocol=5)
    folder = fx.write_dir(tmp_path / fx.DIRNAME, files)
    X, y = D.read_batch(folder / "data_batch_1")
    np.testing.assert_array_equal(X.transpose(0, 3, 1, 2).reshape(-1, 3072), batches["data_batch_1"][0])
