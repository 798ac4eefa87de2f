"""Tests of cs231n_lib.timing.best_times: interleaved runs, the fastest kept."""

import pytest

from cs231n_lib.timing import best_times


class FakeClock:
    """A clock that advances by the durations a test scripts, one per call of a timed function."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_runs_take_turns_and_the_fastest_run_is_kept():
    clock, order = FakeClock(), []
    durations = {"a": iter([3.0, 1.0, 2.0]), "b": iter([0.5, 0.7, 0.2])}

    def make(name):
        def fn():
            order.append(name)
            clock.now += next(durations[name])
        return fn

    best = best_times({"a": make("a"), "b": make("b")}, repeats=3, clock=clock)
    assert order == ["a", "b", "a", "b", "a", "b"]          # interleaved, not a a a b b b
    assert best == pytest.approx({"a": 1.0, "b": 0.2})
    assert list(best) == ["a", "b"]


def test_a_busy_spell_does_not_decide_the_ratio():
    # Background load doubles every duration during the first round only: the minimum ignores it.
    clock, calls = FakeClock(), {"slow": 0, "fast": 0}

    def make(name, seconds):
        def fn():
            load = 2.0 if calls[name] == 0 else 1.0
            calls[name] += 1
            clock.now += seconds * load
        return fn

    best = best_times({"slow": make("slow", 10.0), "fast": make("fast", 1.0)}, repeats=4, clock=clock)
    assert best["slow"] / best["fast"] == pytest.approx(10.0)


@pytest.mark.parametrize("repeats", [0, -1, 1.5, True])
def test_bad_repeats(repeats):
    with pytest.raises(ValueError, match="repeats must be an int >= 1"):
        best_times({"a": lambda: None}, repeats=repeats)
