"""Every time a notebook's text states is a promise its cell keeps and prints.

The convention (docs/authoring.md, "Stated times"): a code cell whose duration the teaching
text states carries ``cell.metadata["cs231n"]["promised_seconds"]``, the number the text
states (a range "20-30 s" is stored as its upper end, 30), and prints its elapsed time
(``with timer("two runs"):`` from ``cs231n_lib.timing``, or a ``print`` of a clock
difference). ``make bench`` (``python -m bench notebooks``) runs the notebooks and prints
every promise against its measurement; these tests read the notebooks without running them:

(a) a markdown cell that states a time needs a promise in one of the next three code cells;
(b) a promise needs a markdown cell, within the three cells before it, stating that number;
(c) a promise's cell prints its elapsed time.
"""

from __future__ import annotations

import ast
import datetime
import re
from dataclasses import dataclass

import nbformat
import pytest
from nbhelpers import COURSE, source

ASSIGNMENTS = COURSE.assignment_ids()
LOOKAHEAD = 3  # code cells after a statement that may carry its promise (rule a)
LOOKBEHIND = 3  # cells before a promise where its statement may be (rule b)

# What a stated time looks like. Units: seconds and minutes (and hours); milliseconds are
# timings of single operations, not of cells, and are not promises. A bare "s" or "h" needs a
# space before it, so that "3s" (the digit) is not 3 seconds nor "eighth" eight hours; "30-second"
# is 30 seconds.
_NUMBER = r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?"
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30,
          "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90}
_UNIT = (r"(?:(?P<sec>\s(?:s|secs?|seconds?)\b|-?(?:secs?|seconds?)\b)"
         r"|\s?-?(?P<min>mins?|minutes?)\b|\s(?P<hour>h|hours?)\b|-?(?P<hours>hours?)\b)")
_QUANTITY = rf"(?P<num>{_NUMBER}|{'|'.join(_WORDS)})"
_RANGE = rf"(?:(?P<low>{_NUMBER}|{'|'.join(_WORDS)})\s*(?:-|–|—|to)\s*)?"
_NUMERIC_TIME = re.compile(rf"\b{_RANGE}{_QUANTITY}(?![.,]\d){_UNIT}", re.IGNORECASE)
# Times in words, and what each means in seconds.
_PHRASES = {
    r"half an? minute": 30,
    r"a few seconds": 5,
    r"several seconds": 10,
    r"(?:an?|one) minute": 60,
    r"a minute and a half": 90,
    r"a couple of minutes": 120,
    r"a few minutes": 180,
    r"several minutes": 300,
    r"half an hour": 1800,
    r"an hour": 3600,
}
_PHRASE_TIME = re.compile(r"\b(?P<phrase>" + "|".join(p.replace(" ", r"\s+") for p in
                                                       sorted(_PHRASES, key=len, reverse=True))
                          + r")\b", re.IGNORECASE)
_UNIT_SECONDS = {"sec": 1, "min": 60, "hour": 3600, "hours": 3600}
# A limit is not a promise: "training may take at most 10 minutes", "a 120 s time limit".
_LIMIT_BEFORE = re.compile(r"(?:at most|no more than|not more than|limit(?:ed)? (?:of|to))\s*$",
                           re.IGNORECASE)
_LIMIT_AFTER = re.compile(r"^\s*(?:time )?(?:limit|budget)\b", re.IGNORECASE)
_CLOCKS = {"perf_counter", "time", "monotonic", "process_time"}


@dataclass(frozen=True)
class StatedTime:
    """A time a text states: the words, and their value in seconds (a range's upper end)."""

    words: str
    seconds: float


def _value(token: str) -> float:
    token = token.lower()
    return float(_WORDS[token]) if token in _WORDS else float(token.replace(",", ""))


def stated_times(text: str) -> list[StatedTime]:
    """The times `text` states ("about 30 s", "20-30 s", "half a minute", "2 minutes"), in order;
    limits ("at most 10 minutes") are not included."""
    found = []
    for match in _NUMERIC_TIME.finditer(text):
        unit = next(name for name in _UNIT_SECONDS if match.group(name))
        found.append((match, _value(match.group("num")) * _UNIT_SECONDS[unit]))
    taken = [m.span() for m, _ in found]
    for match in _PHRASE_TIME.finditer(text):
        if any(start < match.end() and match.start() < end for start, end in taken):
            continue  # "a minute" inside "half a minute", or a number already read
        words = " ".join(match.group("phrase").split())
        phrase = next(p for p in _PHRASES if re.fullmatch(p, words, re.IGNORECASE))
        found.append((match, float(_PHRASES[phrase])))
    times = []
    for match, seconds in sorted(found, key=lambda item: item[0].start()):
        if _LIMIT_BEFORE.search(text[:match.start()]) or _LIMIT_AFTER.match(text[match.end():]):
            continue
        times.append(StatedTime(" ".join(match.group(0).split()), seconds))
    return times


def promised_seconds(cell):
    """The cell's promise, `cell.metadata["cs231n"]["promised_seconds"]`, or None."""
    return cell.get("metadata", {}).get("cs231n", {}).get("promised_seconds")


def _where(aid, index, cell):
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"{aid} cell {index} ({cell.cell_type}: {first[:50]!r})"


def unpromised_statements(aid, nb) -> list[str]:
    """Rule (a): markdown cells stating a time with no promise in the next three code cells."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or not (times := stated_times(cell.source)):
            continue
        following = [i for i in range(index + 1, len(nb.cells))
                     if nb.cells[i].cell_type == "code"][:LOOKAHEAD]
        if not any(promised_seconds(nb.cells[i]) is not None for i in following):
            words = ", ".join(repr(t.words) for t in times)
            problems.append(f"{_where(aid, index, cell)} states {words}, and none of the next "
                            f"code cells {following} carries metadata cs231n.promised_seconds")
    return problems


def unstated_promises(aid, nb) -> list[str]:
    """Rule (b): promises whose number no markdown cell within the three cells before states."""
    problems = []
    for index, cell in enumerate(nb.cells):
        promise = promised_seconds(cell)
        if promise is None:
            continue
        if cell.cell_type != "code":
            problems.append(f"{_where(aid, index, cell)} carries promised_seconds, but only a "
                            f"code cell can keep a promise")
            continue
        if isinstance(promise, bool) or not isinstance(promise, (int, float)) or promise <= 0:
            problems.append(f"{_where(aid, index, cell)}: promised_seconds must be a positive "
                            f"number of seconds, got {promise!r}")
            continue
        before = nb.cells[max(0, index - LOOKBEHIND):index]
        stated = [t for c in before if c.cell_type == "markdown" for t in stated_times(c.source)]
        if not any(abs(t.seconds - promise) < 1e-9 for t in stated):
            said = ", ".join(f"{t.words!r} = {t.seconds:g} s" for t in stated) or "no time"
            problems.append(f"{_where(aid, index, cell)} promises {promise:g} s, but the "
                            f"{LOOKBEHIND} cells before it state {said}")
    return problems


def _prints_elapsed_time(code: str) -> bool:
    """Whether `code` runs something inside `with timer(...)` or prints a clock reading."""
    # IPython magics and shell lines are not Python.
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return False

    def called_name(node):
        func = node.func
        return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)

    for node in ast.walk(tree):
        if isinstance(node, ast.With | ast.AsyncWith):
            if any(isinstance(item.context_expr, ast.Call) and called_name(item.context_expr) == "timer"
                   for item in node.items):
                return True
        if isinstance(node, ast.Call) and called_name(node) == "print":
            if any(isinstance(inner, ast.Call) and called_name(inner) in _CLOCKS
                   for arg in node.args for inner in ast.walk(arg)):
                return True
    return False


def silent_promises(aid, nb) -> list[str]:
    """Rule (c): promise cells that do not print their elapsed time."""
    return [f"{_where(aid, index, cell)} promises {promised_seconds(cell)} s but does not print "
            f"its elapsed time: run its work inside `with timer(\"...\"):` "
            f"(from cs231n_lib.timing import timer)"
            for index, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and promised_seconds(cell) is not None
            and not _prints_elapsed_time(cell.source)]


# ---------------------------------------------------------------------------
# The course's notebooks
# ---------------------------------------------------------------------------


def test_the_course_has_notebooks_to_check():
    assert len(ASSIGNMENTS) >= 8, ASSIGNMENTS


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_every_stated_time_is_promised_by_a_cell(aid):
    problems = unpromised_statements(aid, source(aid))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_every_promise_is_stated_in_the_text_just_before(aid):
    problems = unstated_promises(aid, source(aid))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_every_promise_prints_its_time(aid):
    problems = silent_promises(aid, source(aid))
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------
# The rules themselves, on small notebooks made here
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("The two runs take about 30 s together.", [30]),
    ("This takes 20-30 s.", [30]),
    ("several seconds on the embedded data, 10–30 s on CIFAR-10", [10, 30]),
    ("The Part 7 runs take about half a minute together.", [30]),
    ("Extracting features takes a few seconds.", [5]),
    ("Training takes 2 minutes, or 1.5 min on CIFAR-10.", [120, 90]),
    ("It runs in about a minute; the full run takes two minutes.", [60, 120]),
    ("reaches it in well under a\nminute", [60]),
    ("a 1,200 s cell, 45 seconds, 3 sec", [1200, 45, 3]),
    ("The notebook runs in 10 to 15 minutes", [900]),
    ("half an hour, an hour, 2 h, 3 hours", [1800, 3600, 7200, 10800]),
    ("a 30-second run, a 2-minute cell, 5 min", [30, 120, 300]),
])
def test_stated_times_reads_the_ways_a_time_is_written(text, expected):
    assert [t.seconds for t in stated_times(text)] == expected


@pytest.mark.parametrize("text", [
    "Mirrored 3s look like Es; 2s and 5s too.",               # digits, not seconds
    "The second moment, second-order methods, a second run.",  # ordinals
    "The fast layer takes 3 ms, the naive one 250 ms.",        # single operations
    "Training may take at most 10 minutes.",                    # a limit, not a promise
    "The grader stops a cell after 120 s time limit; a 600 s budget.",
    "Filters of 7x7, 32 filters, 1.5 epochs, 10 classes, version 3.11.",
    "An eighth of the units; $6H$ hues; 2 sections; the minimum of 3 minibatches.",
    "It takes a while.",
])
def test_stated_times_ignores_what_is_not_a_stated_duration(text):
    assert stated_times(text) == []


def _notebook(*cells):
    """A notebook of ("md", text) and ("code", source, promised_seconds or None) cells."""
    nb = nbformat.v4.new_notebook()
    for kind, text, *promise in cells:
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            cell = nbformat.v4.new_code_cell(text)
            if promise and promise[0] is not None:
                cell.metadata["cs231n"] = {"promised_seconds": promise[0]}
            nb.cells.append(cell)
    return nb


TIMED = 'with timer("two runs"):\n    train()'


def test_a_kept_promise_passes_every_rule():
    nb = _notebook(("md", "The two runs take 20-30 s together."), ("code", "setup()"),
                   ("code", TIMED, 30))
    assert unpromised_statements("nb", nb) == []
    assert unstated_promises("nb", nb) == []
    assert silent_promises("nb", nb) == []


def test_rule_a_a_stated_time_without_a_promise_fails():
    nb = _notebook(("md", "This takes about half a minute."), ("code", "a()"), ("md", "More."),
                   ("code", "b()"), ("code", "c()"), ("code", TIMED, 30))
    [problem] = unpromised_statements("nb", nb)
    assert "nb cell 0" in problem and "'half a minute'" in problem and "[1, 3, 4]" in problem


def test_rule_b_a_promise_must_be_the_number_stated_just_before():
    stated_elsewhere = _notebook(("md", "This takes about 30 s."), ("code", "a()"), ("code", "b()"),
                                 ("code", "c()"), ("code", TIMED, 30))
    assert "the 3 cells before it state no time" in unstated_promises("nb", stated_elsewhere)[0]
    other_number = _notebook(("md", "This takes about 30 s."), ("code", TIMED, 20))
    assert "promises 20 s" in unstated_promises("nb", other_number)[0]
    assert "state '30 s' = 30 s" in unstated_promises("nb", other_number)[0]
    for bad in ("30", True, -1):
        nb = _notebook(("md", "This takes about 30 s."), ("code", TIMED, bad))
        assert "must be a positive number" in unstated_promises("nb", nb)[0]


@pytest.mark.parametrize("code, prints", [
    (TIMED, True),
    ("%time x = 1\nwith timer('fit') as t:\n    fit()", True),
    ("tic = time.perf_counter()\ntrain()\nprint(f'{time.perf_counter() - tic:.1f} s')", True),
    ("tic = perf_counter()\ntrain()\nelapsed = perf_counter() - tic", False),
    ("train()\nprint('done')", False),
    ("with open('f') as f:\n    train()", False),
])
def test_rule_c_a_promise_must_print_its_time(code, prints):
    nb = _notebook(("md", "This takes about 30 s."), ("code", code, 30))
    assert (silent_promises("nb", nb) == []) is prints


def _executed_cell(source, start, seconds, promise=None):
    """A code cell as nbclient leaves it: when the kernel began and finished it."""
    cell = nbformat.v4.new_code_cell(source)
    begin = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(seconds=start)
    cell.metadata["execution"] = {
        "iopub.execute_input": begin.isoformat(),
        "shell.execute_reply": (begin + datetime.timedelta(seconds=seconds)).isoformat()}
    if promise is not None:
        cell.metadata["cs231n"] = {"promised_seconds": promise}
    return cell


def test_the_notebook_bench_reports_run_all_the_slowest_cell_and_each_promise():
    from bench.bench_notebooks import report

    nb = nbformat.v4.new_notebook()
    nb.cells = [_executed_cell("import numpy as np", 0.0, 1.5),
                nbformat.v4.new_markdown_cell("The two runs take about 30 s."),
                _executed_cell('with timer("two runs"):\n    train()', 2.0, 24.5, promise=30),
                _executed_cell("plot()", 27.0, 3.0),
                _executed_cell('with timer("more"):\n    more()', 31.0, 6.0, promise=5)]
    first, *rest = report("05_cnn", nb, None, load=1.0)
    assert first.split()[:3] == ["05_cnn", "37.0", "0.62"]          # Run All: 0 s to 37 s, of 60 s
    assert "'with timer(\"two runs\"):'" in first and "24.5" in first and "OVER" in first  # > 20 s
    assert rest == [
        "    promise: cell 2 'with timer(\"two runs\"):' promised 30 s, took 24.5 s (0.82 of it): kept",
        "    promise: cell 4 'with timer(\"more\"):' promised 5 s, took 6.0 s (1.20 of it): BROKEN"]
