"""The lessons the notebooks teach, measured with the notebooks' own models and settings.

Every test runs on the embedded dataset and, when the real CIFAR-10 subset is beside the
repository (../shared/data, see tests/cifar_fixtures.py), on that subset too: the ranking
kNN < linear < two-layer net < convnet, and each number the notebooks' text states about
these runs. Training runs are shared between tests through module-scoped fixtures.
"""

import warnings

import cifar_fixtures as fx
import numpy as np
import pytest
from nbhelpers import cell_constants

from cs231n_lib import optim
from cs231n_lib.augment import make_augmenter
from cs231n_lib.classifiers.cnn import ThreeLayerConvNet
from cs231n_lib.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from cs231n_lib.classifiers.k_nearest_neighbor import KNearestNeighbor
from cs231n_lib.classifiers.linear_classifier import LinearSVM, Softmax
from cs231n_lib.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from cs231n_lib.classifiers.softmax import softmax_loss_vectorized
from cs231n_lib.data import get_cifar10_data
from cs231n_lib.fast_layers import conv_forward_fast
from cs231n_lib.features import color_histogram_hsv, extract_features, hog_feature
from cs231n_lib.gradient_check import grad_check_sparse
from cs231n_lib.grid_search import grid_search
from cs231n_lib.layers import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    conv_forward_naive,
)
from cs231n_lib.solver import Solver
from cs231n_lib.timing import best_times

pytestmark = pytest.mark.slow

MEASURED = {}   # (source, what) -> accuracy, printed at the end of a run with -s


@pytest.fixture(scope="module", params=["embedded", "cifar10-subset"])
def source(request, tmp_path_factory):
    """keyword arguments of get_cifar10_data for one dataset, and whether it is CIFAR-10."""
    if request.param == "embedded":
        return {"source": "embedded"}, False
    return {"source": "cifar10", "root": fx.extracted_subset(tmp_path_factory)}, True


def record(source, what, value):
    MEASURED[(source[0]["source"], what)] = value
    print(f"{source[0]['source']:>9} {what}: {value:.3g}")
    return value


# --------------------------------------------------------------------------- the datasets' layouts

@pytest.fixture(scope="module")
def raw_images(source):
    """(N, 32, 32, 3) float images without mean subtraction (01, 06 Part 0, 08)."""
    kw, _ = source
    return get_cifar10_data(subtract_mean=False, **kw)


@pytest.fixture(scope="module")
def pixel_data(source):
    """Mean-subtracted (N, 32, 32, 3) images, as notebook 04 trains on them."""
    kw, _ = source
    return get_cifar10_data(**kw)


def flat(X):
    return X.reshape(len(X), -1)


# --------------------------------------------------------------------------- the four models

@pytest.fixture(scope="module")
def knn_accuracy(source, raw_images):
    """01: kNN (L2) on raw pixels, k chosen by 5-fold cross-validation, on at most 5000 / 500 images."""
    data = raw_images
    n_train, n_test = min(5000, len(data["y_train"])), min(500, len(data["y_test"]))
    X, y = flat(data["X_train"][:n_train]), data["y_train"][:n_train]
    k_choices = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]
    folds = np.array_split(np.arange(n_train), 5)
    accuracies = np.zeros((len(k_choices), 5))
    for f, val_idx in enumerate(folds):
        train_idx = np.concatenate([folds[g] for g in range(5) if g != f])
        knn = KNearestNeighbor()
        knn.train(X[train_idx], y[train_idx])
        dists = knn.compute_distances_no_loops(X[val_idx])
        for a, k in enumerate(k_choices):
            accuracies[a, f] = np.mean(knn.predict_labels(dists, k=k) == y[val_idx])
    best_k = k_choices[int(np.argmax(accuracies.mean(axis=1)))]
    knn = KNearestNeighbor()
    knn.train(X, y)
    k1 = record(source, "kNN test accuracy (k = 1)",
                np.mean(knn.predict(flat(data["X_test"][:n_test]), k=1) == data["y_test"][:n_test]))
    assert 0.2 <= k1 <= 0.45                    # 01: "roughly 20-45 % with k = 1"
    y_pred = knn.predict(flat(data["X_test"][:n_test]), k=best_k)
    return record(source, f"kNN test accuracy (k = {best_k})", np.mean(y_pred == data["y_test"][:n_test]))


@pytest.fixture(scope="module")
def linear_data(source):
    kw, _ = source
    return get_cifar10_data(add_bias=True, **kw)


def tuned_linear(cls, data, on_cifar):
    """02/03: the notebooks' grid search (from W = 0, extended while its best is on an edge)."""
    def train(lr, reg):
        clf = cls(seed=0)
        clf.W = np.zeros((data["X_train"].shape[1], 10))
        clf.train(data["X_train"], data["y_train"], learning_rate=lr, reg=reg,
                  num_iters=1500 if on_cifar else 300, batch_size=200)
        return np.mean(clf.predict(data["X_train"]) == data["y_train"]), np.mean(clf.predict(data["X_val"]) == data["y_val"]), clf

    return grid_search(train, learning_rates=[5e-8, 1e-7, 2e-7], regs=[1e4, 2.5e4, 5e4],
                       max_extensions=3, verbose=False)["best_model"]


@pytest.fixture(scope="module")
def svm_accuracy(source, linear_data):
    svm = tuned_linear(LinearSVM, linear_data, source[1])
    return record(source, "linear SVM test accuracy",
                  np.mean(svm.predict(linear_data["X_test"]) == linear_data["y_test"]))


@pytest.fixture(scope="module")
def softmax_accuracy(source, linear_data):
    softmax = tuned_linear(Softmax, linear_data, source[1])
    return record(source, "softmax test accuracy",
                  np.mean(softmax.predict(linear_data["X_test"]) == linear_data["y_test"]))


@pytest.fixture(scope="module")
def net_accuracy(source, pixel_data):
    """04: the best network's final run, with the first run's setting in place of the searched one.

    Hidden layer 100, learning rate 1e-3, reg 0.1, batch 200, 40 epochs on the embedded data or
    15 epochs of full CIFAR-10's size on CIFAR-10 (the learning-rate decay scaled to match).
    """
    data, on_cifar = pixel_data, source[1]
    epoch_scale = max(1, round(49_000 / len(data["y_train"]))) if on_cifar else 1
    model = TwoLayerNet(input_dim=3072, hidden_dim=100, weight_scale=1e-3, reg=0.1, seed=0)
    solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 1e-3},
                    lr_decay=0.95 ** (1 / epoch_scale), num_epochs=15 * epoch_scale if on_cifar else 40,
                    batch_size=200, verbose=False, seed=0)
    solver.train()
    return record(source, "two-layer net test accuracy", solver.check_accuracy(data["X_test"], data["y_test"]))


@pytest.fixture(scope="module")
def first_net_accuracy(source, pixel_data):
    """04 Part 5's "first real run": hidden 100, learning rate 1e-3 decayed by 0.95, 10 epochs of batch 100."""
    data = pixel_data
    model = TwoLayerNet(input_dim=3072, hidden_dim=100, weight_scale=1e-3, reg=0.1, seed=0)
    solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 1e-3}, lr_decay=0.95,
                    num_epochs=10, batch_size=100, verbose=False, seed=0)
    solver.train()
    return record(source, "04's first real run test accuracy", solver.check_accuracy(data["X_test"], data["y_test"]))


@pytest.fixture(scope="module")
def convnet_data(source):
    kw, _ = source
    return get_cifar10_data(channels_first=True, dtype=np.float32, **kw)


@pytest.fixture(scope="module")
def convnet_solver(source, convnet_data):
    """05: the convnet of Part 6 with the notebook's settings for this dataset."""
    settings = convnet_settings(len(convnet_data["y_train"]), source[1])
    model = ThreeLayerConvNet(weight_scale=1e-3, reg=1e-3, seed=0, **settings["net"])
    solver = Solver(model, convnet_data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    num_epochs=settings["num_epochs"], batch_size=50, num_train_samples=1000,
                    verbose=False, seed=0)
    solver.train()
    return solver


def convnet_settings(num_train, on_cifar):
    """The network and epochs notebook 05's Part 6 chooses for this dataset, read from the notebook."""
    data = {"source": "cifar10" if on_cifar else "embedded", "y_train": np.zeros(num_train)}
    chosen = cell_constants("05_cnn", "net_settings = ", ["ON_CIFAR", "FULL_CIFAR", "net_settings", "num_epochs"],
                            data=data)
    return {"net": chosen["net_settings"], "num_epochs": chosen["num_epochs"]}


@pytest.fixture(scope="module")
def convnet_accuracy(source, convnet_solver, convnet_data):
    return record(source, "convnet test accuracy",
                  convnet_solver.check_accuracy(convnet_data["X_test"], convnet_data["y_test"]))


# --------------------------------------------------------------------------- the ranking

MARGIN = 0.03   # "clear": more than the noise of a few hundred test images between neighbours


def test_knn_is_weak_and_far_above_chance(knn_accuracy):
    # 01: "roughly 20-45 %, where chance is 10 %"
    assert 0.2 <= knn_accuracy <= 0.45


def test_linear_beats_knn(knn_accuracy, svm_accuracy, softmax_accuracy):
    # 02/03: "roughly 30-55 %, far above chance (10 %) and above kNN"
    for accuracy in (svm_accuracy, softmax_accuracy):
        assert 0.3 <= accuracy <= 0.55
        assert accuracy > knn_accuracy + MARGIN


def test_softmax_and_svm_are_within_a_few_points(source, linear_data, svm_accuracy, softmax_accuracy):
    # 03: "expect the two to be within a few percentage points of each other", for the tuned SVM
    # and for the one 03 trains (notebook 02's setting: learning rate 1e-7, reg 2.5e4, from W = 0).
    svm = LinearSVM(seed=0)
    svm.W = np.zeros((linear_data["X_train"].shape[1], 10))
    svm.train(linear_data["X_train"], linear_data["y_train"], learning_rate=1e-7, reg=2.5e4,
              num_iters=1500 if source[1] else 300, batch_size=200)
    fixed = record(source, "03's SVM (02's setting) test accuracy",
                   np.mean(svm.predict(linear_data["X_test"]) == linear_data["y_test"]))
    assert abs(svm_accuracy - softmax_accuracy) < 0.06
    assert abs(fixed - softmax_accuracy) < 0.06


def test_two_layer_net_beats_linear(svm_accuracy, softmax_accuracy, net_accuracy, first_net_accuracy):
    # 04 Part 6, the best network: "above the linear classifiers' and the first real run".
    assert net_accuracy > max(svm_accuracy, softmax_accuracy) + MARGIN
    assert net_accuracy > first_net_accuracy


def test_convnet_beats_two_layer_net(net_accuracy, convnet_accuracy):
    # 05 Part 6: "the small network's 8 epochs end clearly above the two-layer network of notebook 04"
    assert convnet_accuracy > net_accuracy + MARGIN


# --------------------------------------------------------------------------- colour, filters, augmentation

def test_convnet_overfits_100_examples(source, convnet_data):
    # 05 sanity check: "well above 80 % (towards 100 %) within these 15 epochs", validation much lower.
    settings = convnet_settings(len(convnet_data["y_train"]), source[1])
    small = {"X_train": convnet_data["X_train"][:100], "y_train": convnet_data["y_train"][:100],
             "X_val": convnet_data["X_val"], "y_val": convnet_data["y_val"]}
    model = ThreeLayerConvNet(weight_scale=1e-2, reg=0.0, seed=0, **settings["net"])
    solver = Solver(model, small, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    num_epochs=15, batch_size=50, verbose=False, seed=0)
    solver.train()
    train = record(source, "convnet training accuracy on 100 examples", max(solver.train_acc_history))
    assert train > 0.8
    assert solver.val_acc_history[-1] < train - 0.3


def test_colour_carries_information(source, raw_images):
    # The mean colour of the image's centre alone (where the object or digit is), with a
    # nearest-class-mean rule, beats chance (10 %) clearly on both datasets.
    data = raw_images
    colour = {split: data[f"X_{split}"][:, 10:22, 10:22].mean(axis=(1, 2)) for split in ("train", "test")}
    means = np.stack([colour["train"][data["y_train"] == c].mean(axis=0) for c in range(10)])   # (10, 3)
    dists = ((colour["test"][:, None, :] - means[None]) ** 2).sum(axis=2)
    accuracy = record(source, "nearest mean centre colour test accuracy",
                      np.mean(dists.argmin(axis=1) == data["y_test"]))
    assert accuracy > 0.15


def smoothness(w):
    """Mean correlation of horizontally neighbouring weights of (F, C, HH, WW) filters (0 for noise)."""
    w = w - w.mean(axis=(2, 3), keepdims=True)
    a, b = w[..., :, :-1].ravel(), w[..., :, 1:].ravel()
    return float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))


def test_first_layer_filters_learn_visible_structure(source, convnet_solver):
    # 05: trained filters are smooth patterns (edges, blobs), not the white noise they start from.
    start = ThreeLayerConvNet(weight_scale=1e-3, seed=0, **convnet_settings(
        len(convnet_solver.y_train), source[1])["net"]).params["W1"]
    learned = record(source, "first-layer filter smoothness", smoothness(convnet_solver.model.params["W1"]))
    assert abs(smoothness(start)) < 0.1
    assert learned > 0.3


@pytest.fixture(scope="module")
def augmentation_runs(source, convnet_data):
    """05 Part 7 with the notebook's settings (read from it): its small network for aug_epochs epochs
    on the first aug_images training images, without and with its augmenter for this dataset."""
    _, on_cifar = source
    chosen = cell_constants("05_cnn", "def train_augmentation_run",
                            ["aug_images", "aug_epochs", "aug_net", "augmenter"],
                            ON_CIFAR=on_cifar, make_augmenter=make_augmenter)
    n = chosen["aug_images"]
    data = dict(convnet_data, X_train=convnet_data["X_train"][:n], y_train=convnet_data["y_train"][:n])
    runs = {}
    for name, augment in (("without", None), ("with", chosen["augmenter"])):
        model = ThreeLayerConvNet(weight_scale=1e-3, reg=1e-3, seed=0, **chosen["aug_net"])
        solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                        num_epochs=chosen["aug_epochs"], batch_size=50, num_train_samples=1000, augment=augment,
                        verbose=False, seed=0)
        solver.train()
        runs[name] = solver
    return runs


def test_augmentation_narrows_the_gap_and_helps(source, convnet_data, augmentation_runs):
    # 05 Part 7: without augmentation training accuracy climbs above 90 % and validation levels off
    # far below; with it training accuracy grows more slowly (lower on average over the run), the
    # gap stays far smaller, and the validation accuracy over the last five epochs and the test
    # accuracy end higher.
    summary = {}
    for name, run in augmentation_runs.items():
        summary[name] = {
            "train": record(source, f"convnet final training accuracy {name} augmentation", run.train_acc_history[-1]),
            "mean train": record(source, f"convnet training accuracy averaged over the epochs {name} augmentation",
                                 np.mean(run.train_acc_history)),
            "gap": record(source, f"convnet gap {name} augmentation", run.train_acc_history[-1] - run.val_acc_history[-1]),
            "val": record(source, f"convnet validation accuracy over the last 5 epochs {name} augmentation",
                          np.mean(run.val_acc_history[-5:])),
            "test": record(source, f"convnet test accuracy {name} augmentation",
                           run.check_accuracy(convnet_data["X_test"], convnet_data["y_test"])),
        }
    without, with_ = summary["without"], summary["with"]
    assert without["train"] > 0.9 and without["gap"] > 0.25
    assert with_["mean train"] < without["mean train"] - 0.05
    assert with_["gap"] < without["gap"] - 0.1
    assert with_["val"] > without["val"]
    assert with_["test"] > without["test"] + 0.02


# --------------------------------------------------------------------------- 03, 06 and 07 claims

def test_softmax_gradient_check_on_the_development_set(source, linear_data):
    # 03: "around 1e-7 and below for most entries; ... can reach a few times 1e-5", as the notebook checks.
    X, y = linear_data["X_dev"], linear_data["y_dev"]
    W = 1e-4 * np.random.default_rng(1).standard_normal((X.shape[1], 10))
    errors = []
    for reg in (0.0, 5e1):
        _, grad = softmax_loss_vectorized(W, X, y, reg)
        errors.append(grad_check_sparse(lambda W, reg=reg: softmax_loss_vectorized(W, X, y, reg)[0], W.copy(), grad,
                                        num_checks=10, seed=2))
    errors = np.concatenate(errors)
    record(source, "largest softmax gradient-check relative error", errors.max())
    assert np.median(errors) < 5e-7
    assert errors.max() < 1e-4


def test_pca_needs_a_few_hundred_components_for_99_percent(source, raw_images):
    # 06 Part 0: "on both datasets a few hundred are needed for 99 %"
    X = flat(raw_images["X_train"][:500])
    S = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    explained = np.cumsum(S ** 2) / np.sum(S ** 2)
    needed = int(np.searchsorted(explained, 0.99)) + 1
    record(source, "PCA components for 99 % of the variance", needed)
    assert 100 <= needed <= 500


@pytest.fixture(scope="module")
def fc_data(source):
    """06 and 07: mean-subtracted float32 rows, as those notebooks use them."""
    kw, _ = source
    return get_cifar10_data(dtype=np.float32, flatten=True, **kw)


def first_images(data, n):
    return {"X_train": data["X_train"][:n], "y_train": data["y_train"][:n], "X_val": data["X_val"], "y_val": data["y_val"]}


def test_batchnorm_widens_the_band_of_trainable_initial_scales(source, fc_data):
    # 06 Part 6a: 20 weight scales, 7 hidden layers of 50, 10 epochs on 1000 images. Without batch
    # norm "only a few" scales reach a validation accuracy halfway between chance and the best run,
    # the largest make the loss explode; with batch norm "most scales train".
    small, scales = first_images(fc_data, 1000), np.logspace(-4, 0, 20)
    best_val, final_loss = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for normalization in (None, "batchnorm"):
            for scale in scales:
                model = FullyConnectedNet([50] * 7, normalization=normalization, weight_scale=scale, seed=0)
                solver = Solver(model, small, update_rule="adam", optim_config={"learning_rate": 1e-3},
                                num_epochs=10, batch_size=50, verbose=False, seed=0)
                solver.train()
                best_val[(normalization, scale)] = solver.best_val_acc
                final_loss[(normalization, scale)] = float(np.mean(solver.loss_history[-5:]))
    threshold = (0.1 + max(best_val.values())) / 2
    trains = {normalization: record(source, f"6a scales that train, normalization {normalization}",
                                    sum(best_val[(normalization, w)] >= threshold for w in scales))
              for normalization in (None, "batchnorm")}
    assert trains[None] <= 4
    assert trains["batchnorm"] >= 11 and trains["batchnorm"] >= trains[None] + 8
    assert not final_loss[(None, 1.0)] < 10          # exploded (huge or nan)
    # "too small and the signal dies out (the loss stays at log 10 and the accuracy at chance)"
    assert abs(final_loss[(None, 1e-4)] - np.log(10)) < 0.05 and best_val[(None, 1e-4)] < 0.15


def test_batchnorm_suffers_from_small_batches_and_layernorm_less(source, fc_data):
    # 06 Part 6b: a 5-layer network, 10 epochs on 1000 images, batch sizes 5, 10 and 50.
    small = first_images(fc_data, 1000)
    final_train = {}
    for normalization in ("batchnorm", "layernorm"):
        for batch_size in (5, 10, 50):
            model = FullyConnectedNet([100] * 4, normalization=normalization, weight_scale=2e-2, seed=0)
            solver = Solver(model, small, update_rule="adam", optim_config={"learning_rate": 1e-3},
                            num_epochs=10, batch_size=batch_size, verbose=False, seed=0)
            solver.train()
            final_train[(normalization, batch_size)] = record(
                source, f"6b {normalization} batch {batch_size} final training accuracy", solver.train_acc_history[-1])

    def spread(normalization):
        values = [final_train[(normalization, b)] for b in (5, 10, 50)]
        return max(values) - min(values)

    assert final_train[("batchnorm", 5)] < final_train[("batchnorm", 50)] - 0.1
    assert spread("layernorm") < spread("batchnorm")


def test_dropout_narrows_the_gap(source, fc_data):
    # 06 Part 6c, 500 images, keep ratios 1, 0.75, 0.5 and 0.25: without dropout training accuracy
    # "climbs towards 100 %"; "the smaller p, the slower the training accuracy climbs (p = 0.75
    # hardly differs from no dropout)"; the gap (last 3 epochs) is "largest without or with mild
    # dropout and clearly smaller with strong dropout"; "the best validation accuracy moves little".
    _, on_cifar = source
    small = first_images(fc_data, 500)
    hidden, epochs = ([512], 25) if on_cifar else ([100], 15)
    runs = {}
    for keep in (1.0, 0.75, 0.5, 0.25):
        model = FullyConnectedNet(hidden, dropout_keep_ratio=keep, seed=0)
        if model.use_dropout:
            model.dropout_param.pop("seed")
            model.dropout_param["rng"] = np.random.default_rng(0)
        solver = Solver(model, small, update_rule="adam", optim_config={"learning_rate": 5e-4},
                        num_epochs=epochs, batch_size=100, verbose=False, seed=0)
        solver.train()
        runs[keep] = solver
    gaps = {keep: record(source, f"dropout p = {keep}: training - validation accuracy",
                         np.mean(r.train_acc_history[-3:]) - np.mean(r.val_acc_history[-3:])) for keep, r in runs.items()}
    climb = {keep: record(source, f"dropout p = {keep}: training accuracy averaged over the epochs",
                          np.mean(r.train_acc_history)) for keep, r in runs.items()}
    best_val = [r.best_val_acc for r in runs.values()]
    assert runs[1.0].train_acc_history[-1] >= 0.9
    assert min(climb[1.0], climb[0.75]) > climb[0.5] > climb[0.25]
    assert max(gaps[1.0], gaps[0.75]) == max(gaps.values()) and gaps[0.25] < gaps[1.0] - 0.05
    assert max(best_val) - min(best_val) < 0.06


def test_schedules_help_a_rate_too_high_to_settle_and_cost_a_moderate_one(source, fc_data):
    # 07 Part 7: SGD + momentum, 4-layer net, 10 epochs (embedded) or 20 (CIFAR-10). From 1e-2 every
    # decaying schedule ends with a clearly lower training loss and a higher best validation accuracy
    # than the constant rate; from 3e-3 the constant rate ends with the lowest training loss.
    _, on_cifar = source
    n = min(4000 if on_cifar else 2000, len(fc_data["y_train"]))
    small, per_epoch, num_epochs = first_images(fc_data, n), n // 100, 20 if on_cifar else 10
    last_loss, best_val = {}, {}
    for lr0 in (1e-2, 3e-3):
        schedules = {"constant": lambda epoch, lr0=lr0: lr0,
                     "step": lambda epoch, lr0=lr0: optim.step_decay(lr0, epoch, drop=0.5, every=3),
                     "exponential": lambda epoch, lr0=lr0: optim.exponential_decay(lr0, epoch, k=0.3),
                     "1/t": lambda epoch, lr0=lr0: optim.inverse_time_decay(lr0, epoch, k=1.0)}
        for name, schedule in schedules.items():
            current = {}

            def update(w, dw, config, schedule=schedule, current=current):
                config["learning_rate"] = schedule(current["solver"].t / per_epoch)
                return optim.sgd_momentum(w, dw, config)

            model = FullyConnectedNet([100] * 3, weight_scale=2e-2, seed=0)
            solver = Solver(model, small, update_rule=update, optim_config={"learning_rate": lr0, "momentum": 0.9},
                            num_epochs=num_epochs, batch_size=100, verbose=False, seed=0)
            current["solver"] = solver
            solver.train()
            last_loss[(lr0, name)] = record(source, f"start {lr0:g}, {name}: training loss over the last epoch",
                                            np.mean(solver.loss_history[-per_epoch:]))
            best_val[(lr0, name)] = solver.best_val_acc
    for name in ("step", "exponential", "1/t"):
        assert last_loss[(1e-2, name)] < last_loss[(1e-2, "constant")] - 0.1
        assert best_val[(1e-2, name)] > best_val[(1e-2, "constant")]
        assert last_loss[(3e-3, "constant")] < last_loss[(3e-3, name)]


def test_update_ratio_read_early_ranks_the_learning_rates(source, fc_data):
    # 07 Part 7: over the first 10 steps, 1e-5 is below the band, 1e-3 inside [1e-3, 1e-2], 1e-2 above.
    _, on_cifar = source
    data = fc_data
    n = min(4000 if on_cifar else 2000, len(data["y_train"]))
    early = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        for lr in (1e-5, 1e-3, 1e-2):
            model = FullyConnectedNet([100] * 3, weight_scale=5e-2, seed=0)
            configs = {name: {"learning_rate": lr} for name in model.params}
            ratios, rng = [], np.random.default_rng(0)
            for _ in range(10):
                batch = rng.integers(0, n, size=100)
                _, grads = model.loss(data["X_train"][batch], data["y_train"][batch])
                for name, w in model.params.items():
                    next_w, configs[name] = optim.adam(w, grads[name], configs[name])
                    if name.startswith("W"):
                        ratios.append(np.linalg.norm(next_w - w) / np.linalg.norm(w))
                    model.params[name] = next_w
            early[lr] = record(source, f"median update ratio over the first 10 steps, lr {lr:g}", np.median(ratios))
    assert early[1e-5] < 1e-3 <= early[1e-3] <= 1e-2 < early[1e-2]


def test_momentum_leaves_the_saddle_before_sgd():
    # 07 Part 5 (no data): first step with |w2| > 0.5 from (-2.5, 1e-3), the notebook's learning rates.
    def saddle_gradient(w):
        return np.array([w[0], w[1] ** 3 - w[1]])

    def first_step_off_ridge(rule, config, num_steps=100):
        w = np.array([-2.5, 1e-3])
        for step in range(1, num_steps + 1):
            w, config = rule(w, saddle_gradient(w), config)
            if abs(w[1]) > 0.5:
                return step
        return None

    sgd = first_step_off_ridge(optim.sgd, {"learning_rate": 0.075})
    momentum = first_step_off_ridge(optim.sgd_momentum, {"learning_rate": 0.02, "momentum": 0.9})
    nesterov = first_step_off_ridge(optim.nesterov, {"learning_rate": 0.02, "momentum": 0.9})
    adam = first_step_off_ridge(optim.adam, {"learning_rate": 0.5})
    # "some twenty steps before SGD", "Nesterov a little sooner still", adaptive rules "at once"
    assert sgd is not None and momentum is not None and nesterov is not None
    assert 15 <= sgd - momentum <= 30
    assert nesterov <= momentum
    assert adam <= 2


def test_sgd_is_the_slowest_update_rule(source, fc_data):
    # 07 Part 6: 8 epochs of a 6-layer net; SGD's loss stays highest from the first epoch to the last,
    # momentum, Nesterov, RMSProp and Adam end clearly lower; AdaGrad jumps in its first epoch.
    _, on_cifar = source
    n = min(4000 if on_cifar else 2000, len(fc_data["y_train"]))
    small = first_images(fc_data, n)
    rates = {"sgd": 1e-2, "sgd_momentum": 1e-2, "nesterov": 1e-2, "adagrad": 1e-2, "rmsprop": 1e-4, "adam": 1e-3}
    per_epoch, first, last = n // 100, {}, {}
    for rule, lr in rates.items():
        model = FullyConnectedNet([100] * 5, weight_scale=5e-2, seed=0)
        solver = Solver(model, small, update_rule=rule, optim_config={"learning_rate": lr},
                        num_epochs=8, batch_size=100, verbose=False, seed=0)
        solver.train()
        first[rule] = np.mean(solver.loss_history[:per_epoch])
        last[rule] = record(source, f"{rule} training loss over the last epoch", np.mean(solver.loss_history[-per_epoch:]))
    for rule in ("sgd_momentum", "nesterov", "rmsprop", "adam"):
        assert first[rule] < first["sgd"]
        assert last[rule] < last["sgd"] - 0.1
    assert first["adagrad"] > first["sgd"]


# --------------------------------------------------------------------------- 08: features

def without_bias(R, y):
    """Solver data from {split: rows ending in the bias column} and {split: labels}."""
    return {"X_train": R["train"][:, :-1], "y_train": y["train"], "X_val": R["val"][:, :-1], "y_val": y["val"]}


@pytest.fixture(scope="module")
def feature_runs(source, raw_images, linear_data):
    """08 Parts 4-5: HOG + hue features against pixels, for the linear SVM and the two-layer net,
    with the notebook's settings; returns test accuracies and the representations for Part 6."""
    data, on_cifar = raw_images, source[1]
    splits = ("train", "val", "test")
    y = {s: data[f"y_{s}"] for s in splits}
    F = {s: extract_features(data[f"X_{s}"], [hog_feature, lambda im: color_histogram_hsv(im, nbin=10)])
         for s in splits}
    mean, std = F["train"].mean(axis=0), F["train"].std(axis=0)
    std[std == 0] = 1.0
    Z = {s: np.hstack([(F[s] - mean) / std, np.ones((len(F[s]), 1))]) for s in splits}
    num_iters = 1500 if on_cifar else 600
    best_val, best_svm = -1.0, None
    for lr in (1e-3, 3e-3, 1e-2):
        for reg in (1e-3, 1e-2, 1e-1):
            svm = LinearSVM(seed=0)
            svm.train(Z["train"], y["train"], learning_rate=lr, reg=reg, num_iters=num_iters, batch_size=200)
            val = np.mean(svm.predict(Z["val"]) == y["val"])
            if val > best_val:
                best_val, best_svm = val, svm
    accuracy = {("SVM", "features"): np.mean(best_svm.predict(Z["test"]) == y["test"])}
    net = TwoLayerNet(input_dim=Z["train"].shape[1] - 1, hidden_dim=500 if on_cifar else 100,
                      weight_scale=1e-2, reg=1e-3, seed=0)
    Solver(net, without_bias(Z, y), update_rule="sgd", optim_config={"learning_rate": 0.3}, lr_decay=0.95,
           num_epochs=15, batch_size=100, verbose=False, seed=0).train()
    accuracy[("net", "features")] = np.mean(np.argmax(net.loss(Z["test"][:, :-1]), axis=1) == y["test"])
    P = {s: linear_data[f"X_{s}"] for s in splits}
    svm = LinearSVM(seed=0)
    svm.W = np.zeros((P["train"].shape[1], 10))
    svm.train(P["train"], y["train"], learning_rate=1e-7, reg=2.5e4, num_iters=num_iters, batch_size=200)
    accuracy[("SVM", "pixels")] = np.mean(svm.predict(P["test"]) == y["test"])
    net = TwoLayerNet(input_dim=P["train"].shape[1] - 1, hidden_dim=100, weight_scale=1e-3, reg=0.1, seed=0)
    Solver(net, without_bias(P, y), update_rule="sgd", optim_config={"learning_rate": 1e-3}, lr_decay=0.95,
           num_epochs=5 if on_cifar else 10, batch_size=100, verbose=False, seed=0).train()
    accuracy[("net", "pixels")] = np.mean(np.argmax(net.loss(P["test"][:, :-1]), axis=1) == y["test"])
    for (model, inputs), value in accuracy.items():
        record(source, f"08 {model} on {inputs} test accuracy", value)
    return accuracy, Z, P, y


def test_features_help_on_cifar10_and_not_over_photo_backgrounds(source, feature_runs):
    # 08 Part 5: on CIFAR-10 HOG + hue beat pixels "by at least 8 points of test accuracy" for the
    # SVM and the net; on the embedded data "both classifiers do worse on features than on pixels".
    accuracy, on_cifar = feature_runs[0], source[1]
    for model in ("SVM", "net"):
        if on_cifar:
            assert accuracy[(model, "features")] >= accuracy[(model, "pixels")] + 0.08, model
        else:
            assert accuracy[(model, "features")] < accuracy[(model, "pixels")], model


def test_a_hidden_layer_transfers_over_photo_backgrounds(source, feature_runs):
    # 08 Part 6: nearest class mean with 10 examples of each of the classes 5-9, on pixels, on
    # HOG + hue and on the hidden layer of a net trained on classes 0-4.
    _, Z, P, y = feature_runs
    first = y["train"] < 5
    base = TwoLayerNet(input_dim=P["train"].shape[1] - 1, hidden_dim=100, num_classes=5, weight_scale=1e-3,
                       reg=0.1, seed=0)
    Solver(base, {"X_train": P["train"][first, :-1], "y_train": y["train"][first],
                  "X_val": P["val"][y["val"] < 5, :-1], "y_val": y["val"][y["val"] < 5]},
           update_rule="sgd", optim_config={"learning_rate": 1e-3}, lr_decay=0.95, num_epochs=10,
           batch_size=100, verbose=False, seed=0).train()

    def hidden(X):
        return np.maximum(X[:, :-1] @ base.params["W1"] + base.params["b1"], 0)

    rng = np.random.default_rng(0)
    few = np.concatenate([rng.choice(np.flatnonzero(y["train"] == c), 10, replace=False) for c in range(5, 10)])
    new, labels, accuracy = y["test"] >= 5, np.arange(5, 10), {}
    for name, (train, test) in {"pixels": (P["train"], P["test"]), "features": (Z["train"], Z["test"]),
                                "hidden layer": (hidden(P["train"]), hidden(P["test"]))}.items():
        centres = np.stack([train[few][y["train"][few] == c].mean(axis=0) for c in labels])
        dists = ((test[new][:, None, :] - centres[None]) ** 2).sum(axis=2)
        accuracy[name] = record(source, f"08 transfer, {name}: test accuracy on the new classes",
                                np.mean(labels[dists.argmin(axis=1)] == y["test"][new]))
    # "On the embedded dataset they beat both clearly; on a 3,000-image CIFAR-10 subset they end
    # within a few points of the pixels, and HOG + hue does best."
    if source[1]:
        assert abs(accuracy["hidden layer"] - accuracy["pixels"]) < 0.06
        assert accuracy["features"] > max(accuracy["hidden layer"], accuracy["pixels"]) + 0.03
    else:
        assert accuracy["hidden layer"] > max(accuracy["pixels"], accuracy["features"]) + 0.03


# --------------------------------------------------------------------------- speed-ups the text promises

def test_speed_ups_hold_as_the_notebooks_time_them():
    """01, 02, 05 and 06 time naive against fast code with best_times; their claims hold here too."""
    rng = np.random.default_rng(0)
    # 01: no loops "tens to hundreds of times faster" than two loops (50 test images, as there).
    knn = KNearestNeighbor()
    knn.train(rng.standard_normal((1000, 3072)), np.zeros(1000, dtype=int))
    X = rng.standard_normal((50, 3072))
    t = best_times({"two": lambda: knn.compute_distances_two_loops(X),
                    "none": lambda: knn.compute_distances_no_loops(X)}, repeats=3)
    assert t["two"] / t["none"] >= 10, t
    # 02: the vectorised SVM loss "several times faster" on a 300-image development set.
    W, Xd, yd = 1e-4 * rng.standard_normal((3073, 10)), rng.standard_normal((300, 3073)), rng.integers(0, 10, 300)
    t = best_times({"naive": lambda: svm_loss_naive(W, Xd, yd, 50.0),
                    "vectorized": lambda: svm_loss_vectorized(W, Xd, yd, 50.0)}, repeats=5)
    assert t["naive"] / t["vectorized"] >= 3, t
    # 05: im2col "tens to hundreds of times" faster than four nested loops.
    x, w, b = rng.standard_normal((10, 3, 16, 16)), rng.standard_normal((8, 3, 5, 5)), rng.standard_normal(8)
    param = {"stride": 1, "pad": 2}
    t = best_times({"naive": lambda: conv_forward_naive(x, w, b, param),
                    "fast": lambda: conv_forward_fast(x, w, b, param)}, repeats=3)
    assert t["naive"] / t["fast"] >= 10, t
    # 06: the simplified batch-norm backward is "from about as fast to a few times faster".
    xb, dout = rng.standard_normal((500, 1000)), rng.standard_normal((500, 1000))
    _, cache = batchnorm_forward(xb, rng.standard_normal(1000), rng.standard_normal(1000), {"mode": "train"})
    t = best_times({"graph": lambda: batchnorm_backward(dout, cache),
                    "alt": lambda: batchnorm_backward_alt(dout, cache)}, repeats=7)
    assert t["graph"] / t["alt"] >= 0.8, t
