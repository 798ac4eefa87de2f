"""Timing code fairly on a busy machine: the best of several interleaved repeats."""

import time

__all__ = ["best_times"]


def best_times(calls, repeats=5, clock=time.perf_counter):
    """Time each call several times, taking turns, and keep each one's fastest run.

    One run of a function measures the function plus whatever else the machine was doing.
    Taking turns (a, b, c, a, b, c, ...) exposes every function to the same background
    load, and the minimum over the repeats is the least disturbed run, so ratios of the
    results are stable even when other programs compete for the processor.

    Inputs:
    - calls: dict name -> function of no arguments.
    - repeats: how many times each function is run (>= 1).
    - clock: function returning the current time in seconds (a fake one in tests).

    Returns:
    - best: dict name -> the shortest of its run times in seconds, in the order of calls.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1, got {repeats!r}")
    best = {name: float("inf") for name in calls}
    for _ in range(repeats):
        for name, fn in calls.items():
            tic = clock()
            fn()
            best[name] = min(best[name], clock() - tic)
    return best
