"""The lessons the notebooks teach, measured with the notebooks' own models and settings.

Every test runs on the embedded dataset and, when the real CIFAR-10 subset is beside the
repository (../shared/data, see tests/lib/cifar_fixtures.py), on that subset too: the ranking
kNN < linear < two-layer net < convnet, and each number the notebooks' text states about
these runs. Training runs are shared between tests through module-scoped fixtures.
"""

import warnings

import cifar_fixtures as fx
import numpy as np
import pytest
from nbhelpers import cell_constants, grid_settings

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
from cs231n_lib.features import (
    bag_of_words,
    color_histogram_hsv,
    extract_features,
    hog_feature,
    image_patches,
    kmeans,
)
from cs231n_lib.gradient_check import grad_check_sparse
from cs231n_lib.grid_search import edge_advice, grid_search
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
    means = accuracies.mean(axis=1)
    best_k = k_choices[int(np.argmax(means))]
    assert means.max() - means.min() < 0.06     # 01: "the curve is fairly flat on both datasets"
    knn = KNearestNeighbor()
    knn.train(X, y)
    k1 = record(source, "kNN test accuracy (k = 1)",
                np.mean(knn.predict(flat(data["X_test"][:n_test]), k=1) == data["y_test"][:n_test]))
    assert 0.2 <= k1 <= 0.45                    # 01: "roughly 20-45 % with k = 1"
    y_pred = knn.predict(flat(data["X_test"][:n_test]), k=best_k)
    return record(source, f"kNN test accuracy (k = {best_k})", np.mean(y_pred == data["y_test"][:n_test]))


def test_knn_distance_choice_depends_on_the_data(source, raw_images):
    # 01 Part 3: L1 vs L2 with k = 1, validated on the last 300 of the first 5000 training images:
    # "on the embedded data L2 is clearly ahead; on CIFAR-10 the two end within a few points".
    data = raw_images
    n_train = min(5000, len(data["y_train"]))
    X, y = flat(data["X_train"][:n_train]), data["y_train"][:n_train]
    n_fit = n_train - 300
    accuracy = {}
    for metric in ("l2", "l1"):
        knn = KNearestNeighbor(metric=metric)
        knn.train(X[:n_fit], y[:n_fit])
        accuracy[metric] = record(source, f"kNN {metric} (k = 1) validation accuracy",
                                  np.mean(knn.predict(X[n_fit:], k=1) == y[n_fit:]))
    if source[1]:
        assert abs(accuracy["l2"] - accuracy["l1"]) <= 0.04
    else:
        assert accuracy["l2"] >= accuracy["l1"] + 0.04


def test_other_classes_are_closer_than_a_three_pixel_shift(source, raw_images):
    # 01 Part 5: "for about nine test images in ten, some training image of another class is closer
    # in L2 than the image itself shifted by three pixels"; the example (test image 0) is one of them.
    data = raw_images
    n_train, n_test = min(5000, len(data["y_train"])), min(500, len(data["y_test"]))
    X_img, y_test = data["X_test"][:n_test], data["y_test"][:n_test]
    knn = KNearestNeighbor()
    knn.train(flat(data["X_train"][:n_train]), data["y_train"][:n_train])
    dists = knn.compute_distances_no_loops(flat(X_img))
    shifted = np.zeros_like(X_img)
    shifted[:, :, 3:] = X_img[:, :, :-3]
    shift = np.sqrt(np.sum(flat(shifted - X_img) ** 2, axis=1))
    other = np.where(knn.y_train[None, :] != y_test[:, None], dists, np.inf).min(axis=1)
    fraction = record(source, "01 share of test images with another class closer than their shift",
                      np.mean(other < shift))
    assert fraction >= 0.85
    assert other[0] < shift[0]


@pytest.fixture(scope="module")
def linear_data(source):
    kw, _ = source
    return get_cifar10_data(add_bias=True, **kw)


# ---- 02/03: the linear classifiers (this block: notebooks 02 and 03)

@pytest.fixture(scope="module")
def linear_rows(source):
    """02/03's data: rows with the bias feature in float32; the dev set converted back to float64."""
    kw, _ = source
    data = get_cifar10_data(add_bias=True, dtype=np.float32, **kw)
    return dict(data, X_dev=data["X_dev"].astype(np.float64))


def linear_trainer(cls, data, on_cifar):
    """02/03: (lr, reg) -> (train accuracy, val accuracy, model), from W = 0 for the notebooks' steps."""
    def train(lr, reg):
        clf = cls(seed=0)
        clf.W = np.zeros((data["X_train"].shape[1], 10), dtype=data["X_train"].dtype)
        clf.train(data["X_train"], data["y_train"], learning_rate=lr, reg=reg,
                  num_iters=1500 if on_cifar else 300, batch_size=200)
        return np.mean(clf.predict(data["X_train"]) == data["y_train"]), np.mean(clf.predict(data["X_val"]) == data["y_val"]), clf
    return train


@pytest.fixture(scope="module")
def svm_search(source, linear_rows):
    return grid_search(linear_trainer(LinearSVM, linear_rows, source[1]), verbose=False, **grid_settings("02_svm"))


@pytest.fixture(scope="module")
def softmax_search(source, linear_rows):
    return grid_search(linear_trainer(Softmax, linear_rows, source[1]), verbose=False, **grid_settings("02_svm"))


def best_model_accuracy(source, what, search, data, split="test"):
    return record(source, f"{what} {split} accuracy",
                  np.mean(search["best_model"].predict(data[f"X_{split}"]) == data[f"y_{split}"]))


@pytest.fixture(scope="module")
def svm_accuracy(source, linear_rows, svm_search):
    return best_model_accuracy(source, "linear SVM", svm_search, linear_rows)


@pytest.fixture(scope="module")
def softmax_accuracy(source, linear_rows, softmax_search):
    return best_model_accuracy(source, "softmax", softmax_search, linear_rows)


@pytest.fixture(scope="module")
def net_solver(source, pixel_data):
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
    return solver


@pytest.fixture(scope="module")
def net_accuracy(source, pixel_data, net_solver):
    return record(source, "two-layer net test accuracy", net_solver.check_accuracy(pixel_data["X_test"], pixel_data["y_test"]))


@pytest.fixture(scope="module")
def first_net_solver(pixel_data):
    """04 Part 5's "first real run": hidden 100, learning rate 1e-3 decayed by 0.95, 10 epochs of batch 100."""
    model = TwoLayerNet(input_dim=3072, hidden_dim=100, weight_scale=1e-3, reg=0.1, seed=0)
    solver = Solver(model, pixel_data, update_rule="sgd", optim_config={"learning_rate": 1e-3}, lr_decay=0.95,
                    num_epochs=10, batch_size=100, verbose=False, seed=0)
    solver.train()
    return solver


@pytest.fixture(scope="module")
def first_net_accuracy(source, pixel_data, first_net_solver):
    return record(source, "04's first real run test accuracy",
                  first_net_solver.check_accuracy(pixel_data["X_test"], pixel_data["y_test"]))


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


def test_softmax_and_svm_tuned_alike_are_within_a_few_points(source, linear_rows, svm_search, softmax_search,
                                                           svm_accuracy, softmax_accuracy):
    # 03: both tuned by 02's search, "expect the two tuned classifiers to be within a few percentage
    # points of each other" (the printed validation and test columns).
    assert abs(svm_accuracy - softmax_accuracy) < 0.06
    val = [search["results"][search["best"]][1] for search in (svm_search, softmax_search)]
    assert abs(val[0] - val[1]) < 0.06


def test_float32_rows_train_as_well_as_float64(source, linear_data, svm_search):
    # 02: float32 training images have "all the precision SGD needs": the best SVM setting trained
    # on float64 rows reaches the same validation accuracy within a point.
    lr, reg = svm_search["best"]
    _, val64, _ = linear_trainer(LinearSVM, linear_data, source[1])(lr, reg)
    val32 = svm_search["results"][svm_search["best"]][1]
    record(source, "linear SVM validation accuracy, float64 rows", val64)
    assert abs(val64 - val32) <= 0.01


def test_the_starting_grid_ends_with_its_best_inside(svm_search, softmax_search):
    # 02/03: "With the grid given here the search ends inside it on both the embedded data and the
    # CIFAR-10 subset", for the SVM and the softmax alike.
    assert edge_advice(svm_search) == [] and edge_advice(softmax_search) == []


def test_the_softmax_needs_a_larger_learning_rate(svm_search, softmax_search):
    # 03: "The best learning rate is larger than the SVM's, because the softmax's gradients are smaller."
    assert softmax_search["best"][0] > svm_search["best"][0]


def test_strong_regularisation_flattens_the_softmax_probabilities(source, linear_rows, softmax_search):
    # 03: "a softmax with 100 times the tuned regularisation strength": smaller weights, flatter
    # probabilities (a lower median largest probability on the validation images).
    lr, reg = softmax_search["best"]
    strong = linear_trainer(Softmax, linear_rows, source[1])(lr, 100 * reg)[2]
    medians = []
    for model in (softmax_search["best_model"], strong):
        scores = linear_rows["X_val"] @ model.W
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        medians.append(np.median((p / p.sum(axis=1, keepdims=True)).max(axis=1)))
    record(source, "median largest softmax probability, tuned", medians[0])
    record(source, "median largest softmax probability, 100 x reg", medians[1])
    assert medians[1] < medians[0] - 0.05


def test_two_layer_net_beats_linear(source, svm_accuracy, softmax_accuracy, net_accuracy, first_net_accuracy):
    # 04 Part 6, the best network: "above the linear classifiers' and the first real run".
    # On the CIFAR-10 subset the test split is 300 images (the other 300 are held out for the
    # grader, data.num_heldout), one image a third of a point: "clearly above" is 2 points there.
    assert net_accuracy > max(svm_accuracy, softmax_accuracy) + (0.02 if source[1] else MARGIN)
    assert net_accuracy > first_net_accuracy


def test_convnet_beats_two_layer_net(net_accuracy, convnet_accuracy):
    # 05 Part 6: "the small network ends clearly above the two-layer network of notebook 04"
    assert convnet_accuracy > net_accuracy + MARGIN


# --------------------------------------------------------------------------- 04: babysitting a two-layer net

@pytest.fixture(scope="module")
def learning_rate_runs(source, pixel_data):
    """04 Part 5, step 3: learning rates 1e-6 and 3, reg 1e-3, 3 epochs (CIFAR-10) or 5 (embedded)."""
    runs = {}
    for lr in (1e-6, 3.0):
        model = TwoLayerNet(input_dim=3072, hidden_dim=100, weight_scale=1e-3, reg=1e-3, seed=0)
        solver = Solver(model, pixel_data, update_rule="sgd", optim_config={"learning_rate": lr},
                        num_epochs=3 if source[1] else 5, batch_size=100, num_train_samples=500,
                        verbose=False, seed=0)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            solver.train()
        runs[lr] = solver
    return runs


def test_two_layer_net_overfits_50_images(source, pixel_data):
    # 04 Part 5, step 2: 50 images without regularisation reach "(nearly) 100 % training accuracy"
    # and a loss "far below its starting 2.30"; validation accuracy stays low.
    small = {"X_train": pixel_data["X_train"][:50], "y_train": pixel_data["y_train"][:50],
             "X_val": pixel_data["X_val"], "y_val": pixel_data["y_val"]}
    model = TwoLayerNet(input_dim=3072, hidden_dim=100, weight_scale=1e-3, reg=0.0, seed=0)
    solver = Solver(model, small, update_rule="sgd", optim_config={"learning_rate": 1e-3},
                    num_epochs=40, batch_size=25, verbose=False, seed=0)
    solver.train()
    train = record(source, "04 tiny set: final training accuracy", solver.train_acc_history[-1])
    loss = record(source, "04 tiny set: final loss", solver.loss_history[-1])
    assert train >= 0.96 and loss < 0.3
    assert solver.val_acc_history[-1] < train - 0.5


def test_a_too_low_learning_rate_leaves_loss_and_accuracy_at_chance(source, learning_rate_runs):
    # 04 Part 5: with 1e-6 the loss is "still about 2.30, within 0.01 of where it started" and the
    # training accuracy "still at chance (about 10 %, a few points either way)".
    solver = learning_rate_runs[1e-6]
    losses = solver.loss_history
    start, end = np.mean(losses[:10]), record(source, "04 lr 1e-6: loss over the last 10 iterations", np.mean(losses[-10:]))
    accuracy = record(source, "04 lr 1e-6: final training accuracy", solver.train_acc_history[-1])
    assert not solver.diverged
    assert abs(end - start) < 0.01 and abs(end - np.log(10)) < 0.02
    assert abs(accuracy - 0.1) <= 0.05


def test_a_too_high_learning_rate_overflows_within_a_few_dozen_iterations(source, learning_rate_runs):
    # 04 Part 5: with 3 the loss becomes inf or nan after "a few dozen iterations" and the Solver stops.
    solver = learning_rate_runs[3.0]
    iterations = record(source, "04 lr 3: iterations before the loss overflowed", len(solver.loss_history))
    assert solver.diverged and not np.isfinite(solver.loss_history[-1])
    assert 20 <= iterations <= 100


def test_first_real_run(source, pixel_data, first_net_solver):
    # 04 Part 5, "A first real run": 400 steps on the embedded data, 270 on the 3,000-image subset;
    # best validation accuracy "about 50 %" (embedded) and "about 40 %" (subset); the final
    # training accuracy already above the validation accuracy.
    solver, on_cifar = first_net_solver, source[1]
    assert len(solver.loss_history) == (270 if on_cifar else 400) == 10 * (len(pixel_data["y_train"]) // 100)
    best_val = record(source, "04 first run: best validation accuracy", solver.best_val_acc)
    train = record(source, "04 first run: final training accuracy", solver.train_acc_history[-1])
    assert abs(best_val - (0.40 if on_cifar else 0.50)) <= 0.05
    assert train > best_val


def test_coarse_search_finds_a_band_of_good_learning_rates(source, pixel_data):
    # 04 Part 6, the coarse search (its seed, ranges and epochs): "a band of good learning rates,
    # with accuracy falling off sharply above it (the loss diverges) and gently below it".
    on_cifar, data = source[1], pixel_data
    epoch_scale = max(1, round(49_000 / len(data["y_train"]))) if on_cifar else 1
    rng, trials = np.random.default_rng(1), []
    for _ in range(10):
        lr, reg = 10 ** rng.uniform(-5, -1.5), 10 ** rng.uniform(-4, 1)
        hidden = int(rng.choice([50, 100, 200]))
        solver = Solver(TwoLayerNet(input_dim=3072, hidden_dim=hidden, weight_scale=1e-3, reg=reg, seed=0), data,
                        update_rule="sgd", optim_config={"learning_rate": lr}, lr_decay=0.95 ** (1 / epoch_scale),
                        num_epochs=epoch_scale if on_cifar else 3, batch_size=100, num_train_samples=500,
                        stop_if_loss_exceeds=3.0, verbose=False, seed=0)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            solver.train()
        trials.append((lr, np.nan if solver.diverged else solver.best_val_acc))
    finite = sorted((lr, val) for lr, val in trials if np.isfinite(val))
    diverged = [lr for lr, val in trials if not np.isfinite(val)]
    best_lr, best_val = max(finite, key=lambda t: t[1])
    record(source, "04 coarse search: best learning rate", best_lr)
    assert diverged and min(diverged) > max(lr for lr, _ in finite)         # sharply above: diverges
    assert finite[0][1] < best_val - 0.05 and finite[0][0] < best_lr       # gently below
    assert 1e-4 < best_lr < 1e-2


def neighbour_correlation(W1):
    """smoothness() of first-layer weights (3072, H): their columns as (H, 3, 32, 32) filters."""
    return smoothness(W1.T.reshape(-1, 32, 32, 3).transpose(0, 3, 1, 2))


def test_first_layer_learns_smooth_templates_on_top_of_the_initial_noise(source, net_solver):
    # 04 Part 6, the first-layer weights: the change training made is smooth (neighbouring weights
    # strongly correlated), the initial weights are noise, the trained weights in between; the
    # initial noise stays larger than the change.
    start = TwoLayerNet(input_dim=3072, hidden_dim=100, weight_scale=1e-3, reg=0.1, seed=0).params["W1"]
    change = net_solver.model.params["W1"] - start
    smooth = {name: record(source, f"04 first-layer {name}: neighbour correlation", neighbour_correlation(W))
              for name, W in (("initial", start), ("trained", start + change), ("change", change))}
    sizes = {name: record(source, f"04 first-layer {name}: Frobenius norm", np.linalg.norm(W))
             for name, W in (("initial", start), ("change", change))}
    assert abs(smooth["initial"]) < 0.05
    assert smooth["change"] > 0.6 and smooth["change"] > smooth["trained"] + 0.2 > smooth["initial"] + 0.2
    assert sizes["change"] < sizes["initial"]


def test_best_two_layer_net_on_a_cifar_subset_stays_below_the_full_cifar_target(source, net_solver):
    # 04 Part 6: "with only part of CIFAR-10 expect less" than the course's 48 % on full CIFAR-10.
    if not source[1]:
        pytest.skip("a statement about CIFAR-10")
    assert record(source, "04 best net: best validation accuracy", net_solver.best_val_acc) < 0.48


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
    """Mean correlation of horizontally neighbouring weights of (F, C, HH, WW) filters (for noise about
    -1 / (HH * WW - 1), since each filter's mean is removed: 0 for large filters, -1/8 for 3x3)."""
    w = w - w.mean(axis=(2, 3), keepdims=True)
    a, b = w[..., :, :-1].ravel(), w[..., :, 1:].ravel()
    return float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))


def test_first_layer_filters_learn_visible_structure(source, convnet_solver):
    # 05: trained filters are smooth patterns (edges, blobs), not the white noise they start from.
    start = ThreeLayerConvNet(weight_scale=1e-3, seed=0, **convnet_settings(
        len(convnet_solver.y_train), source[1])["net"]).params["W1"]
    learned = record(source, "first-layer filter smoothness", smoothness(convnet_solver.model.params["W1"]))
    assert smoothness(start) < 0.1     # noise: about 0, or -1/8 for 3x3 filters (each filter's mean removed)
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
    # gap stays far smaller, and the validation accuracy over the last five epochs ends higher; the
    # test accuracy too on CIFAR-10, while on the embedded digits the two stay within a few points.
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
    if source[1]:
        assert with_["test"] > without["test"] + 0.02
    else:
        assert abs(with_["test"] - without["test"]) < 0.05


# --------------------------------------------------------------------------- 03, 06 and 07 claims

def test_softmax_gradient_check_on_the_development_set(source, linear_rows):
    # 03: "around 1e-7 and below for most entries; ... can reach a few times 1e-5", as the notebook checks.
    X, y = linear_rows["X_dev"], linear_rows["y_dev"]
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


def overfit_tiny(X, y, hidden_dims, weight_scale, learning_rate, num_epochs=20, batch_size=25):
    """06 Part 6a: plain SGD on a tiny training set, minibatches drawn as the Solver draws them;
    returns the final training accuracy."""
    model = FullyConnectedNet(hidden_dims, weight_scale=weight_scale, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(num_epochs * len(y) // batch_size):
        batch = rng.integers(0, len(y), size=batch_size)
        _, grads = model.loss(X[batch], y[batch])
        for name in model.params:
            model.params[name] -= learning_rate * grads[name]
    return float(np.mean(np.argmax(model.loss(X), axis=1) == y))


def test_a_deeper_network_overfits_50_images_in_fewer_settings(source, fc_data):
    # 06 Part 6a: 50 images, 3 and 5 layers of 100 hidden units, SGD for 20 epochs of batch 25, weight
    # scales 0.01 ... 1 and learning rates 1e-4 ... 1e-2. "The 3-layer network reaches 100 % over a band
    # of weight scales and learning rates; the 5-layer network in fewer settings and at fewer weight
    # scales, around 0.1"; at 0.01 with learning rate 0.01 "the 3-layer network to 90 % or more, the
    # 5-layer below 30 %"; the 5-layer network's initial scores "a few hundred times smaller than the
    # 3-layer network's, and so is the gradient of its first layer".
    X, y = fc_data["X_train"][:50], fc_data["y_train"][:50]
    scales, rates = np.logspace(-2, 0, 5), np.logspace(-4, -2, 5)
    depths = {3: [100, 100], 5: [100] * 4}
    with np.errstate(all="ignore"):
        acc = {d: np.array([[overfit_tiny(X, y, hidden, w, lr) for lr in rates] for w in scales])
               for d, hidden in depths.items()}
    reached = {d: record(source, f"6a {d} layers: settings with 100 % training accuracy", int((a == 1).sum()))
               for d, a in acc.items()}
    at_scales = {d: scales[(a == 1).any(axis=1)] for d, a in acc.items()}
    assert reached[5] < reached[3] and len(at_scales[5]) < len(at_scales[3]) and len(at_scales[3]) >= 3
    assert all(0.03 < w < 0.35 for w in at_scales[5])
    assert acc[3][0, -1] >= 0.9 and acc[5][0, -1] < 0.3
    spread, grad = {}, {}
    for d, hidden in depths.items():
        model = FullyConnectedNet(hidden, weight_scale=1e-2, seed=0)
        spread[d], grad[d] = model.loss(X).std(), np.linalg.norm(model.loss(X, y)[1]["W1"])
    assert 100 < spread[3] / spread[5] < 1000 and 100 < grad[3] / grad[5] < 1000


def test_batchnorm_widens_the_band_of_trainable_initial_scales(source, fc_data):
    # 06 Part 6b: 20 weight scales, 7 hidden layers of 50, 10 epochs on 500 images. Without batch
    # norm "only a few" scales reach a validation accuracy halfway between chance and the best run,
    # the largest make the loss explode; with batch norm "most scales train", and "the extremes do
    # worse than the middle".
    small, scales = first_images(fc_data, 500), np.logspace(-4, 0, 20)
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
    trains = {normalization: record(source, f"6b scales that train, normalization {normalization}",
                                    sum(best_val[(normalization, w)] >= threshold for w in scales))
              for normalization in (None, "batchnorm")}
    assert trains[None] <= 6
    assert trains["batchnorm"] >= 11 and trains["batchnorm"] >= trains[None] + 8
    assert not final_loss[(None, 1.0)] < 10          # exploded (huge or nan)
    # "too small and the signal dies out (the loss stays at log 10 and the accuracy at chance)"
    assert abs(final_loss[(None, 1e-4)] - np.log(10)) < 0.08 and best_val[(None, 1e-4)] < 0.15
    best_bn = max(best_val[("batchnorm", w)] for w in scales)
    assert best_val[("batchnorm", 1e-4)] < best_bn and best_val[("batchnorm", 1.0)] < threshold


def test_batchnorm_suffers_from_small_batches_and_layernorm_less(source, fc_data):
    # 06 Part 6c: 4 hidden layers of 50, 10 epochs on 500 images, batches of 50 and of 5, without
    # normalisation, with batch norm and with layer norm. "With batches of 50, batch norm ends with the
    # highest training accuracy of the three networks; with batches of 5, with the lowest. Going from
    # 50 to 5, it loses far more than layer norm, and the network without normalisation hardly loses
    # anything."
    small = first_images(fc_data, 500)
    final = {}
    for normalization in (None, "batchnorm", "layernorm"):
        for batch_size in (50, 5):
            model = FullyConnectedNet([50] * 4, normalization=normalization, weight_scale=2e-2, seed=0)
            solver = Solver(model, small, update_rule="adam", optim_config={"learning_rate": 1e-3},
                            num_epochs=10, batch_size=batch_size, verbose=False, seed=0)
            solver.train()
            final[(normalization, batch_size)] = record(
                source, f"6c {normalization} batch {batch_size} final training accuracy", solver.train_acc_history[-1])
    change = {normalization: final[(normalization, 5)] - final[(normalization, 50)]
              for normalization in (None, "batchnorm", "layernorm")}
    assert final[("batchnorm", 50)] > max(final[(None, 50)], final[("layernorm", 50)])
    assert final[("batchnorm", 5)] < min(final[(None, 5)], final[("layernorm", 5)])
    assert change["batchnorm"] < change["layernorm"] - 0.1
    assert change[None] > -0.05


def test_dropout_narrows_the_gap(source, fc_data):
    # 06 Part 6d, 500 images, keep ratios 1, 0.75, 0.5 and 0.25: without dropout training accuracy
    # "climbs towards 100 %"; "the smaller p, the slower the training accuracy climbs, and p = 0.75 hardly
    # differs from no dropout" (averages over the epochs, "within a few points"); the gap
    # (last 3 epochs) is "largest without or with mild dropout and clearly smaller with strong dropout";
    # "the best validation accuracy moves by a few points at most".
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
    assert abs(climb[1.0] - climb[0.75]) < 0.03
    assert max(gaps[1.0], gaps[0.75]) == max(gaps.values()) and gaps[0.25] < gaps[1.0] - 0.05
    assert max(best_val) - min(best_val) < 0.06


# --------------------------------------------------------------------------- 07: optimizers

@pytest.fixture(scope="module")
def optimizer_data(source, fc_data):
    """07 Parts 6-9: the first 2000 embedded / at most 4000 CIFAR-10 training images, as the notebook takes them."""
    _, on_cifar = source
    return first_images(fc_data, min(4000 if on_cifar else 2000, len(fc_data["y_train"])))


def test_schedules_help_a_rate_too_high_to_settle_and_cost_a_moderate_one(source, optimizer_data):
    # 07 Part 7: SGD + momentum, 4-layer net, 10 epochs (embedded) or 20 (CIFAR-10). From 1e-2 every
    # decaying schedule ends with a clearly lower training loss and a higher best validation accuracy
    # than the constant rate; from 3e-3 the constant rate ends with the lowest training loss.
    _, on_cifar = source
    small = optimizer_data
    per_epoch, num_epochs = len(small["y_train"]) // 100, 20 if on_cifar else 10
    last_loss, best_val = {}, {}
    for lr0 in (1e-2, 3e-3):
        schedules = {"constant": lambda epoch, lr0=lr0: lr0,
                     "step": lambda epoch, lr0=lr0: optim.step_decay(lr0, epoch, drop=0.5, every=3),
                     "exponential": lambda epoch, lr0=lr0: optim.exponential_decay(lr0, epoch, k=0.3),
                     "1/t": lambda epoch, lr0=lr0: optim.inverse_time_decay(lr0, epoch, k=1.0),
                     "constant, then 1/t": lambda epoch, lr0=lr0: lr0 if epoch <= 2 else lr0 * 2 / epoch}
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
    for name in ("step", "exponential", "1/t", "constant, then 1/t"):
        assert last_loss[(1e-2, name)] < last_loss[(1e-2, "constant")] - 0.1
        assert best_val[(1e-2, name)] > best_val[(1e-2, "constant")]
        assert last_loss[(3e-3, "constant")] < last_loss[(3e-3, name)]


def adam_by_hand(data, learning_rate, num_steps=100, seed=0):
    """07 Part 7's monitor: Adam on the 4-layer net (weight scale 2e-2), minibatches of 100 drawn
    with replacement; returns the loss per step and ||dW|| / ||W|| per step and weight matrix."""
    model = FullyConnectedNet([100] * 3, weight_scale=2e-2, seed=seed)
    configs = {name: {"learning_rate": learning_rate} for name in model.params}
    losses, ratios, rng = [], [], np.random.default_rng(seed)
    for _ in range(num_steps):
        batch = rng.integers(0, len(data["y_train"]), size=100)
        loss, grads = model.loss(data["X_train"][batch], data["y_train"][batch])
        losses.append(loss)
        step = []
        for name, w in model.params.items():
            next_w, configs[name] = optim.adam(w, grads[name], configs[name])
            if name.startswith("W"):
                step.append(np.linalg.norm(next_w - w) / np.linalg.norm(w))
            model.params[name] = next_w
        ratios.append(step)
    return np.array(losses), np.array(ratios)


def test_update_ratio_read_early_ranks_the_learning_rates(source, optimizer_data):
    # 07 Part 7: the network starts at a loss of about 2.30; over the first 10 steps 1e-5 is below the
    # band ("a few times 1e-4", the loss "hardly falls"), 3e-4 inside [1e-3, 1e-2] (the loss "falls
    # quickly", and the ratios drop later), 1e-2 "near 1e-1" (the loss "jumps to huge values", then the
    # ratios collapse below the band and the loss sticks at log 10).
    early, late, runs = {}, {}, {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        for lr in (1e-5, 3e-4, 1e-2):
            losses, ratios = runs[lr] = adam_by_hand(optimizer_data, lr)
            early[lr] = record(source, f"median update ratio over the first 10 steps, lr {lr:g}", np.median(ratios[:10]))
            late[lr] = np.median(ratios[-50:])
    assert abs(runs[1e-5][0][0] - np.log(10)) < 0.05
    assert 1e-4 < early[1e-5] < 1e-3 <= early[3e-4] <= 1e-2 < early[1e-2]
    assert 0.05 < early[1e-2] < 0.5 and late[1e-2] < 1e-3 and late[3e-4] < early[3e-4]
    first10, last10 = ({lr: np.mean(losses[s]) for lr, (losses, _) in runs.items()} for s in (slice(10), slice(-10, None)))
    assert first10[1e-5] - last10[1e-5] < 0.2 and first10[3e-4] - last10[3e-4] > 0.5
    assert np.max(runs[1e-2][0]) > 10 and abs(last10[1e-2] - np.log(10)) < 0.05


def test_a_rate_per_layer_evens_out_the_first_layer(source, optimizer_data):
    # 07 Part 7, one learning rate per layer: one Adam step (3e-4) changes the first layer's weighted
    # sums "several times more than any other layer's"; scaled by sqrt(100 / fan-in) "in line with the
    # others". One SGD step (1e-2): the first layer "is not ahead", and the scaled rate makes it "the slowest".
    X, y = optimizer_data["X_train"], optimizer_data["y_train"]
    model = FullyConnectedNet([100] * 3, weight_scale=2e-2, seed=0)
    rng = np.random.default_rng(0)
    batch, other = rng.integers(0, len(y), size=100), rng.integers(0, len(y), size=100)
    _, grads = model.loss(X[batch], y[batch])
    inputs, h = [], X[other]
    for i in range(1, model.num_layers + 1):
        inputs.append(h)
        h = np.maximum(h @ model.params[f"W{i}"] + model.params[f"b{i}"], 0)
    change = {}
    for rule, lr in (("adam", 3e-4), ("sgd", 1e-2)):
        for per_layer in (False, True):
            change[(rule, per_layer)] = []
            for i, x in enumerate(inputs, start=1):
                w = model.params[f"W{i}"]
                rate = lr * np.sqrt(100 / w.shape[0]) if per_layer else lr
                next_w, _ = getattr(optim, rule)(w, grads[f"W{i}"], {"learning_rate": rate})
                change[(rule, per_layer)].append(np.linalg.norm(x @ (next_w - w)) / np.linalg.norm(x @ w))
    one, scaled = change[("adam", False)], change[("adam", True)]
    record(source, "Adam, first layer's change / largest other layer's, one rate", one[0] / max(one[1:]))
    assert one[0] > 3 * max(one[1:])
    assert 0.5 * min(scaled[1:]) < scaled[0] < 2 * max(scaled[1:])
    sgd_one, sgd_scaled = change[("sgd", False)], change[("sgd", True)]
    assert sgd_one[0] <= max(sgd_one[1:]) and sgd_scaled[0] == min(sgd_scaled)


def test_sgd_is_the_slowest_update_rule(source, optimizer_data):
    # 07 Part 6: 8 epochs of a 6-layer net starting at a loss of about log 10; SGD's loss stays highest
    # from the first epoch to the last, momentum, Nesterov, RMSProp and Adam end clearly lower; AdaGrad
    # jumps in its first epoch.
    small = optimizer_data
    initial = FullyConnectedNet([100] * 5, weight_scale=4e-2, seed=0).loss(small["X_train"], small["y_train"])[0]
    assert abs(record(source, "07 Part 6 initial loss", initial) - np.log(10)) < 0.1
    rates = {"sgd": 1e-2, "sgd_momentum": 1e-2, "nesterov": 1e-2, "adagrad": 1e-2, "rmsprop": 1e-4, "adam": 1e-3}
    per_epoch, first, last = len(small["y_train"]) // 100, {}, {}
    for rule, lr in rates.items():
        model = FullyConnectedNet([100] * 5, weight_scale=4e-2, seed=0)
        solver = Solver(model, small, update_rule=rule, optim_config={"learning_rate": lr},
                        num_epochs=8, batch_size=100, verbose=False, seed=0)
        solver.train()
        first[rule] = np.mean(solver.loss_history[:per_epoch])
        last[rule] = record(source, f"{rule} training loss over the last epoch", np.mean(solver.loss_history[-per_epoch:]))
    for rule in ("sgd_momentum", "nesterov", "rmsprop", "adam"):
        assert first[rule] < first["sgd"]
        assert last[rule] < last["sgd"] - 0.1
    assert first["adagrad"] > first["sgd"]


def test_an_ensemble_beats_a_typical_member(source, fc_data, optimizer_data):
    # 07 Part 9: four one-hidden-layer nets (weight scale 1e-3: initial loss about log 10), Adam 1e-3,
    # 5 epochs; the average of their probabilities "is right more often than a typical member".
    probabilities, accuracies = [], []
    for seed in range(4):
        model = FullyConnectedNet([100], weight_scale=1e-3, reg=1e-3, seed=seed)
        assert abs(model.loss(optimizer_data["X_train"], optimizer_data["y_train"])[0] - np.log(10)) < 0.02
        Solver(model, optimizer_data, update_rule="adam", optim_config={"learning_rate": 1e-3}, num_epochs=5,
               batch_size=100, verbose=False, seed=seed).train()
        scores = model.loss(fc_data["X_val"])
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        probabilities.append(p / p.sum(axis=1, keepdims=True))
        accuracies.append(np.mean(p.argmax(axis=1) == fc_data["y_val"]))
    ensemble = record(source, "07 ensemble of four: validation accuracy",
                      np.mean(np.mean(probabilities, axis=0).argmax(axis=1) == fc_data["y_val"]))
    assert ensemble > np.median(accuracies)


# 07 Parts 0 and 5 (no data): the valley 0.5 (w1^2 + 100 w2^2) from (-9, 1.5), the saddle
# 0.5 w1^2 + 0.25 w2^4 - 0.5 w2^2 from (-2.5, 1e-3), 100 steps.
RULES_2D = {"SGD": (optim.sgd, {}), "momentum": (optim.sgd_momentum, {"momentum": 0.9}),
            "Nesterov": (optim.nesterov, {"momentum": 0.9}), "AdaGrad": (optim.adagrad, {}),
            "RMSProp": (optim.rmsprop, {"decay_rate": 0.9}), "Adam": (optim.adam, {})}


def path_2d(rule, config, gradient, start, num_steps=100):
    w, config, path = np.array(start), dict(config), [np.array(start)]
    for _ in range(num_steps):
        w, config = rule(w, gradient(w), config)
        path.append(w)
    return np.array(path)


def valley_loss(path):
    return 0.5 * (path[:, 0] ** 2 + 100 * path[:, 1] ** 2)


def test_every_rule_at_its_best_rate_on_the_valley():
    # Part 5: each rule's rate from np.logspace(-3, 0.5, 36), judged by its highest loss over steps
    # 91-100. SGD ends "above 1"; momentum "a few hundred times lower", Nesterov "lower still"; the
    # adaptive rules' rates are "10 to 200 times SGD's"; AdaGrad's is "the largest one tried" and it ends
    # "lowest of all"; RMSProp "only a little below SGD" (less than ten times), Adam "over a hundred times"
    # below RMSProp.
    grid = np.logspace(-3, 0.5, 36)
    rate, end = {}, {}
    with np.errstate(all="ignore"):
        for label, (rule, config) in RULES_2D.items():
            ends = [valley_loss(path_2d(rule, dict(config, learning_rate=lr), lambda w: np.array([1.0, 100.0]) * w,
                                        [-9.0, 1.5]))[-10:].max() for lr in grid]
            ends = np.nan_to_num(ends, nan=np.inf)
            rate[label], end[label] = grid[np.argmin(ends)], np.min(ends)
    assert end["SGD"] > 1
    assert 100 < end["SGD"] / end["momentum"] < 1000 and end["Nesterov"] < end["momentum"]
    for label in ("AdaGrad", "RMSProp", "Adam"):
        assert 10 <= rate[label] / rate["SGD"] <= 200 + 1e-9
    assert rate["AdaGrad"] == grid[-1] and end["AdaGrad"] == min(end.values())
    assert 1 < end["SGD"] / end["RMSProp"] < 10 and end["RMSProp"] / end["Adam"] > 100
    # Momentum "overshoots and swings around the minimum", Nesterov "overshoots less" (how far w1 passes 0).
    overshoot = {label: path_2d(RULES_2D[label][0], dict(RULES_2D[label][1], learning_rate=rate[label]),
                                lambda w: np.array([1.0, 100.0]) * w, [-9.0, 1.5])[:, 0].max()
                 for label in ("momentum", "Nesterov")}
    assert 0 < overshoot["Nesterov"] < overshoot["momentum"]


def test_momentum_leaves_the_saddle_before_sgd():
    # Part 5, every rule at learning rate 0.1: first step with |w2| > 0.5. SGD sits on the ridge
    # "for more than 60 steps"; momentum leaves "about forty steps before SGD", Nesterov "a little
    # sooner"; the adaptive rules "within a few steps"; AdaGrad is then "the slowest to reach a minimum".
    def saddle_gradient(w):
        return np.array([w[0], w[1] ** 3 - w[1]])

    off, end = {}, {}
    for label, (rule, config) in RULES_2D.items():
        path = path_2d(rule, dict(config, learning_rate=0.1), saddle_gradient, [-2.5, 1e-3])
        leaves = np.flatnonzero(np.abs(path[:, 1]) > 0.5)
        off[label] = int(leaves[0]) if leaves.size else None
        w = path[-1]
        end[label] = 0.5 * w[0] ** 2 + 0.25 * w[1] ** 4 - 0.5 * w[1] ** 2
    assert 60 < off["SGD"] <= 100
    assert 35 <= off["SGD"] - off["momentum"] <= 50 and off["Nesterov"] < off["momentum"]
    assert max(off["AdaGrad"], off["RMSProp"], off["Adam"]) <= 10
    assert end["AdaGrad"] == max(end.values())


# --------------------------------------------------------------------------- 08: features

def without_bias(R, y):
    """Solver data from {split: rows ending in the bias column} and {split: labels}."""
    return {"X_train": R["train"][:, :-1], "y_train": y["train"], "X_val": R["val"][:, :-1], "y_val": y["val"]}


def standardised(F):
    """08's standardisation of {split: features} with the training split's statistics, then the bias column."""
    mean, std = F["train"].mean(axis=0), F["train"].std(axis=0)
    std[std == 0] = 1.0
    return {s: np.hstack([(F[s] - mean) / std, np.ones((len(F[s]), 1))]) for s in F}


def tuned_feature_svm(Z, y, num_iters):
    """08's grid search of the linear SVM on standardised features; the best one's test accuracy."""
    best_val, best_svm = -1.0, None
    for lr in (1e-3, 3e-3, 1e-2):
        for reg in (1e-3, 1e-2, 1e-1):
            svm = LinearSVM(seed=0)
            svm.train(Z["train"], y["train"], learning_rate=lr, reg=reg, num_iters=num_iters, batch_size=200)
            val = np.mean(svm.predict(Z["val"]) == y["val"])
            if val > best_val:
                best_val, best_svm = val, svm
    return np.mean(best_svm.predict(Z["test"]) == y["test"])


@pytest.fixture(scope="module")
def feature_runs(source, raw_images, linear_data):
    """08 Parts 4-5: HOG + hue features against pixels, for the linear SVM and the two-layer net,
    with the notebook's settings; returns test accuracies and the representations for Part 6."""
    data, on_cifar = raw_images, source[1]
    splits = ("train", "val", "test")
    y = {s: data[f"y_{s}"] for s in splits}
    F = {s: extract_features(data[f"X_{s}"], [hog_feature, lambda im: color_histogram_hsv(im, nbin=10)])
         for s in splits}
    Z = standardised(F)
    num_iters = 1500 if on_cifar else 600
    accuracy = {("SVM", "features"): tuned_feature_svm(Z, y, num_iters)}
    # Part 4's bag of visual words: 50 words by k-means on the patches of 500 training images.
    rng = np.random.default_rng(0)
    sample = data["X_train"][rng.choice(len(y["train"]), size=500, replace=False)]
    codebook = kmeans(np.concatenate([image_patches(im) for im in sample]), num_clusters=50, num_iters=10, seed=0)
    B = {s: extract_features(data[f"X_{s}"], [lambda im: bag_of_words(im, codebook)]) for s in splits}
    accuracy[("SVM", "words")] = tuned_feature_svm(standardised(B), y, num_iters)
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
    # 08 Part 5 (and question 4's model answer): on CIFAR-10 HOG + hue beat pixels "by at least 8
    # points of test accuracy" for the SVM and the net; on the embedded data "both classifiers do
    # worse on features than on pixels"; the bag of words "stays below HOG + hue on both datasets".
    accuracy, on_cifar = feature_runs[0], source[1]
    for model in ("SVM", "net"):
        if on_cifar:
            assert accuracy[(model, "features")] >= accuracy[(model, "pixels")] + 0.08, model
        else:
            assert accuracy[(model, "features")] < accuracy[(model, "pixels")], model
    assert accuracy[("SVM", "words")] < accuracy[("SVM", "features")] - 0.03


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
    # 01: no loops "tens to hundreds of times faster" than two loops, one loop "not much faster"
    # (50 test images against the embedded data's 4053 training images, as there).
    knn = KNearestNeighbor()
    knn.train(rng.standard_normal((4053, 3072)), np.zeros(4053, dtype=int))
    X = rng.standard_normal((50, 3072))

    def one_loop_in_place():        # 01's reference one loop: one (num_train, D) array per step
        for x in X:
            diff = knn.X_train - x
            diff *= diff
            np.sqrt(np.sum(diff, axis=1))

    t = best_times({"two": lambda: knn.compute_distances_two_loops(X), "one": one_loop_in_place,
                    "none": lambda: knn.compute_distances_no_loops(X)}, repeats=3)
    assert t["two"] / t["none"] >= 10, t
    assert t["two"] / t["one"] < 2.5, t
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
