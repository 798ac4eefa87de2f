"""Tests of cs231n_lib.timing: best_times (interleaved runs, the fastest kept) and timer."""

import re

import pytest

from cs231n_lib.timing import best_times, timer


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


def test_timer_prints_the_elapsed_time_with_its_label():
    clock, lines = FakeClock(), []
    with timer("two runs", clock=clock, print_fn=lines.append) as elapsed:
        clock.now += 23.44
        assert elapsed.seconds is None          # not known before the block ends
    assert lines == ["two runs: 23.4 s"]
    assert elapsed.seconds == pytest.approx(23.44)


def test_timer_prints_to_stdout_by_default(capsys):
    with timer("training"):
        pass
    out = capsys.readouterr().out
    assert re.fullmatch(r"training: \d+\.\d s\n", out), out


def test_timer_still_prints_when_the_block_fails_and_lets_the_error_through():
    clock, lines = FakeClock(), []
    with pytest.raises(KeyboardInterrupt):
        with timer("training", clock=clock, print_fn=lines.append):
            clock.now += 2.0
            raise KeyboardInterrupt  # the student pressed stop
    assert lines == ["training: 2.0 s (stopped early)"]


@pytest.mark.parametrize("label", ["", None, 3])
def test_timer_needs_a_label(label):
    with pytest.raises(ValueError, match="timer: label must be a non-empty string"):
        with timer(label):
            pass
