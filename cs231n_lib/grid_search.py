"""A learning-rate x regularisation grid search that extends its grid when the best is on an edge."""

import numpy as np

__all__ = ["grid_search"]


def _edge_step(values, best, factor):
    """The value one step beyond the edge ``best`` lies on (None when it is inside)."""
    values = sorted(values)
    if best == values[0]:
        return values[0] / factor
    if best == values[-1]:
        return values[-1] * factor
    return None


def grid_search(train_and_score, learning_rates, regs, lr_factor=2.0, reg_factor=2.0,
                max_extensions=3, verbose=True):
    """Try every (learning rate, reg) pair; while the best lies on an edge, add a row beyond it.

    A best setting on the edge of the grid means the grid may have stopped short of the
    real optimum: the search adds the next value beyond that edge (learning rate times or
    divided by ``lr_factor``, reg by ``reg_factor``), trains the new pairs, and looks
    again, up to ``max_extensions`` times. Ties go to the pair tried first.

    Inputs:
    - train_and_score: function (learning_rate, reg) -> (train_accuracy, val_accuracy, model);
      NaN accuracies (a diverged run) never win.
    - learning_rates, regs: sequences of positive floats, the initial grid.
    - lr_factor, reg_factor: ratio between a new grid value and the edge value (> 1).
    - max_extensions: how many times the grid may grow.
    - verbose: print one line per trial and one per extension.

    Returns a dict with:
    - results: {(learning_rate, reg): (train_accuracy, val_accuracy)} of every trial
    - best: the (learning_rate, reg) with the highest validation accuracy
    - best_model: the model trained with it
    - learning_rates, regs: the final grid values, sorted
    - extensions: list of messages, one per extension of the grid
    """
    lrs, rs = sorted(learning_rates), sorted(regs)
    if not lrs or not rs:
        raise ValueError("learning_rates and regs must each hold at least one value")
    results, models, extensions = {}, {}, []

    def run(pairs):
        for lr, reg in pairs:
            if (lr, reg) in results:
                continue
            train_acc, val_acc, model = train_and_score(lr, reg)
            results[(lr, reg)] = (float(train_acc), float(val_acc))
            models[(lr, reg)] = model
            if verbose:
                print(f"lr {lr:.1e}  reg {reg:.1e}:  train accuracy {train_acc:.3f}  val accuracy {val_acc:.3f}")

    def best_pair():
        return max(results, key=lambda k: np.nan_to_num(results[k][1], nan=-np.inf))

    run([(lr, reg) for lr in lrs for reg in rs])
    for _ in range(max_extensions):
        best = best_pair()
        new_lr = _edge_step(lrs, best[0], lr_factor) if len(lrs) > 1 else None
        new_reg = _edge_step(rs, best[1], reg_factor) if len(rs) > 1 else None
        if new_lr is None and new_reg is None:
            break
        notes = []
        if new_lr is not None:
            lrs = sorted(lrs + [new_lr])
            notes.append(f"learning rate {new_lr:.1e}")
        if new_reg is not None:
            rs = sorted(rs + [new_reg])
            notes.append(f"regularisation {new_reg:.1e}")
        message = (f"best (lr {best[0]:.1e}, reg {best[1]:.1e}) is on the edge of the grid: "
                   f"adding {' and '.join(notes)}")
        extensions.append(message)
        if verbose:
            print(message)
        run([(lr, reg) for lr in lrs for reg in rs])
    best = best_pair()
    return {"results": results, "best": best, "best_model": models[best],
            "learning_rates": lrs, "regs": rs, "extensions": extensions}
