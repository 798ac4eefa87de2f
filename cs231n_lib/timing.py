"""Timing code: a timer that prints how long a cell took, and fair comparisons on a busy machine."""

import contextlib
import time

__all__ = ["best_times", "timer"]


class Elapsed:
    """What `timer` yields: `seconds`, the time the block took (None while it runs)."""

    def __init__(self):
        self.seconds = None


@contextlib.contextmanager
def timer(label, clock=time.perf_counter, print_fn=print):
    """Print how long a block of code took, as "<label>: <seconds> s".

        with timer("two runs"):
            ...                      # prints "two runs: 23.4 s" when the block ends

    A notebook cell whose duration the text states runs its work inside `timer`, so that
    the reader sees the time next to the promise (docs/authoring.md, "Stated times").
    When the block stops on an error or an interrupt, the time is printed all the same,
    followed by "(stopped early)", and the error goes on.

    Inputs:
    - label: what was timed, a short string ("two runs", "training").
    - clock: function returning the current time in seconds (a fake one in tests).
    - print_fn: function that prints one line (print).

    Yields:
    - an object whose `seconds` attribute holds the elapsed time once the block ends.
    """
    if not isinstance(label, str) or not label:
        raise ValueError(f"timer: label must be a non-empty string, got {label!r}")
    elapsed = Elapsed()
    start = clock()
    finished = False
    try:
        yield elapsed
        finished = True
    finally:
        elapsed.seconds = clock() - start
        print_fn(f"{label}: {elapsed.seconds:.1f} s" + ("" if finished else " (stopped early)"))


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
