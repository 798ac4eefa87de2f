"""Tests of cs231n_lib.grid_search: the grid grows until it contains its best setting."""

import numpy as np
import pytest

from cs231n_lib.grid_search import edge_advice, grid_search


def peaked_at(best_lr, best_reg):
    """A fake trainer whose validation accuracy peaks at (best_lr, best_reg), in log space."""
    calls = []

    def train_and_score(lr, reg):
        calls.append((lr, reg))
        val = 0.9 - 0.1 * (np.log2(lr / best_lr) ** 2 + np.log2(reg / best_reg) ** 2)
        return val + 0.05, val, ("model", lr, reg)

    return train_and_score, calls


def test_a_best_inside_the_grid_needs_no_extension():
    fn, calls = peaked_at(1e-7, 2e4)
    out = grid_search(fn, [5e-8, 1e-7, 2e-7], [1e4, 2e4, 4e4], verbose=False)
    assert out["best"] == (1e-7, 2e4) and out["extensions"] == []
    assert len(calls) == 9
    assert out["best_model"] == ("model", 1e-7, 2e4)
    assert out["results"][(1e-7, 2e4)] == pytest.approx((0.95, 0.9))


def test_the_grid_grows_towards_a_best_beyond_its_corner(capsys):
    fn, calls = peaked_at(4e-7, 2.5e3)        # two steps above the largest lr, two below the smallest reg
    out = grid_search(fn, [5e-8, 1e-7, 2e-7], [1e4, 2e4, 4e4], lr_factor=2.0, reg_factor=2.0)
    assert out["best"] == pytest.approx((4e-7, 2.5e3))
    assert out["learning_rates"] == pytest.approx([5e-8, 1e-7, 2e-7, 4e-7, 8e-7])
    assert out["regs"] == pytest.approx([1.25e3, 2.5e3, 5e3, 1e4, 2e4, 4e4])
    assert len(out["extensions"]) == 3
    assert len(calls) == len(set(calls)) == 5 * 6          # each pair trained once
    printed = capsys.readouterr().out
    assert printed.count("is on the edge of the grid") == 3


def test_extensions_stop_at_the_limit_and_nan_never_wins():
    def fn(lr, reg):
        return np.nan, (np.nan if lr > 1e-7 else lr * 1e6), None   # larger lr diverges (NaN)
    out = grid_search(fn, [1e-7, 2e-7], [1.0], max_extensions=1, verbose=False)
    assert out["best"][0] == pytest.approx(1e-7)
    assert out["learning_rates"] == pytest.approx([5e-8, 1e-7, 2e-7])
    assert len(out["extensions"]) == 1


def test_empty_grid_is_an_error():
    with pytest.raises(ValueError, match="at least one value"):
        grid_search(lambda lr, reg: (0, 0, None), [], [1.0])


def test_edge_advice_is_empty_when_the_best_is_inside():
    fn, _ = peaked_at(1e-7, 2e4)
    assert edge_advice(grid_search(fn, [5e-8, 1e-7, 2e-7], [1e4, 2e4, 4e4], verbose=False)) == []


def test_edge_advice_names_the_edge_the_neighbour_and_the_next_value():
    # The best lies beyond the largest learning rate and below the smallest reg, and no extension
    # is allowed: one sentence per axis, with the accuracy one step inwards and one more grid step.
    fn, _ = peaked_at(8e-7, 1e3)
    search = grid_search(fn, [1e-7, 2e-7, 4e-7], [1e4, 3e4, 9e4], max_extensions=0, verbose=False)
    assert search["best"] == (4e-7, 1e4)
    lr_line, reg_line = edge_advice(search)
    val = search["results"]
    assert "learning rate, 4.0e-07, is the largest tried" in lr_line
    assert f"{val[(4e-7, 1e4)][1]:.3f}; {val[(2e-7, 1e4)][1]:.3f} at the next one, 2.0e-07" in lr_line
    assert "add larger values such as 8.0e-07 to learning_rates" in lr_line
    assert "regularisation strength, 1.0e+04, is the smallest tried" in reg_line
    assert f"{val[(4e-7, 3e4)][1]:.3f} at the next one, 3.0e+04" in reg_line
    assert "add smaller values such as 3.3e+03 to regs" in reg_line


def test_edge_advice_with_one_value_and_a_bad_argument():
    fn, _ = peaked_at(1e-7, 2e4)
    advice = edge_advice(grid_search(fn, [5e-8, 1e-7, 2e-7], [2e4], verbose=False))
    assert advice == ["only one regularisation strength was tried (2.0e+04): add values on both sides"]
    with pytest.raises(ValueError, match="lacks \\['best'"):
        edge_advice({"results": {}})
