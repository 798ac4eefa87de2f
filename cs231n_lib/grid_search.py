"""A learning-rate x regularisation grid search that extends its grid when the best is on an edge."""

import numpy as np

__all__ = ["edge_advice", "grid_search"]


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


_AXES = (("learning_rates", 0, "learning rate"), ("regs", 1, "regularisation strength"))


def edge_advice(search):
    """Say on which edge of the grid a search's best setting lies, and which values to add.

    For each hyperparameter whose best value is the smallest or the largest one tried, one
    sentence names the edge, the validation accuracy there and at the next value inwards
    (the same other hyperparameter), so that a difference within noise can be told from a
    real trend, and the next value beyond the edge (one more step of the grid's own ratio).

    Inputs:
    - search: the dict returned by grid_search (its keys results, best, learning_rates, regs).

    Returns:
    - advice: list of sentences (str), empty when the best lies inside the grid along both axes.
    """
    missing = [key for key in ("results", "best", "learning_rates", "regs") if key not in search]
    if missing:
        raise ValueError(f"search must be the dict grid_search returns; it lacks {missing}")
    results, best = search["results"], search["best"]
    advice = []
    for key, axis, name in _AXES:
        values = sorted(search[key])
        if len(values) < 2:
            advice.append(f"only one {name} was tried ({values[0]:.1e}): add values on both sides")
            continue
        if best[axis] == values[0]:
            edge, inner, beyond, word, way = values[0], values[1], values[0] ** 2 / values[1], "smallest", "smaller"
        elif best[axis] == values[-1]:
            edge, inner, beyond, word, way = values[-1], values[-2], values[-1] ** 2 / values[-2], "largest", "larger"
        else:
            continue
        neighbour = tuple(inner if a == axis else best[a] for a in (0, 1))
        val_inner = results[neighbour][1] if neighbour in results else float("nan")
        advice.append(
            f"the best {name}, {edge:.1e}, is the {word} tried (validation accuracy "
            f"{results[best][1]:.3f}; {val_inner:.3f} at the next one, {inner:.1e}): "
            f"to search further, add {way} values such as {beyond:.1e} to {key}")
    return advice
