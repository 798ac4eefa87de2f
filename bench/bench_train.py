"""Benchmark: one training epoch of ThreeLayerConvNet on 1000 CIFAR-shaped images.

    python -m bench train

Random images (3, 32, 32) and labels, the default network (32 filters 7x7, hidden 100,
10 classes), batch 50 (20 iterations), Adam, through the Solver. Reported: the epoch's
wall time (including the Solver's accuracy checks on 100 + 100 examples at the first and
last iteration), the mean time of one training step, and one forward pass (scores) of a
batch, in float32 (the default) and float64.
"""

import time

import numpy as np

from cs231n_lib.classifiers.cnn import ThreeLayerConvNet
from cs231n_lib.solver import Solver

NUM_TRAIN, NUM_VAL, BATCH = 1000, 100, 50


def run(dtype, rng):
    """(epoch seconds, seconds per step, seconds per forward batch) for one dtype."""
    data = {
        "X_train": rng.standard_normal((NUM_TRAIN, 3, 32, 32)).astype(dtype),
        "y_train": rng.integers(0, 10, NUM_TRAIN),
        "X_val": rng.standard_normal((NUM_VAL, 3, 32, 32)).astype(dtype),
        "y_val": rng.integers(0, 10, NUM_VAL),
    }
    model = ThreeLayerConvNet(dtype=dtype, seed=0)
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    batch_size=BATCH, num_epochs=1, num_train_samples=100, verbose=False, seed=0)
    model.loss(data["X_train"][:BATCH], data["y_train"][:BATCH])  # warm up
    t0 = time.perf_counter()
    solver.train()
    epoch = time.perf_counter() - t0

    X, y = data["X_train"][:BATCH], data["y_train"][:BATCH]
    steps = []
    for _ in range(5):
        t0 = time.perf_counter()
        _, grads = model.loss(X, y)
        for name, w in model.params.items():
            model.params[name], solver.optim_configs[name] = solver.update_rule(
                w, grads[name], solver.optim_configs[name])
        steps.append(time.perf_counter() - t0)
    forwards = []
    for _ in range(5):
        t0 = time.perf_counter()
        model.loss(X)
        forwards.append(time.perf_counter() - t0)
    return epoch, min(steps), min(forwards)


def main():
    rng = np.random.default_rng(0)
    print(f"ThreeLayerConvNet (32 filters 7x7, hidden 100), {NUM_TRAIN} images 3x32x32, "
          f"batch {BATCH}, Adam")
    print(f"{'dtype':<9}{'epoch s':>9}{'step ms':>9}{'forward ms':>12}{'images/s':>10}")
    for dtype in (np.float32, np.float64):
        epoch, step, forward = run(dtype, rng)
        print(f"{np.dtype(dtype).name:<9}{epoch:>9.2f}{step * 1e3:>9.1f}{forward * 1e3:>12.1f}"
              f"{NUM_TRAIN / epoch:>10.0f}")


if __name__ == "__main__":
    main()
