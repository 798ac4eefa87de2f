"""What of a student's notebook reaches the verifier (autograder.notebook.student_code_cells and
autograder.verify.worker.build_namespace): exercise cells statement by statement, the definitions of every
other cell above the last exercise, nothing of the test cells."""

import nbformat

from autograder.notebook import student_code_cells
from autograder.verify.worker import build_namespace


def _meta(grade_id, **flags):
    return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, **flags}}


def _notebook():
    v4 = nbformat.v4
    return v4.new_notebook(cells=[
        v4.new_code_cell("import numpy as np", metadata={**_meta("setup", locked=True), "tags": ["verify-setup"]}),
        v4.new_code_cell("import math\nSCALE = 2.0\ndef helper(x):\n    return x * SCALE\n"),
        v4.new_code_cell("def f(x):\n    return helper(x)\n", metadata=_meta("ex_f", solution=True)),
        v4.new_code_cell("assert f(1) == 2", metadata=_meta("test_f", grade=True, locked=True, points=1)),
        v4.new_markdown_cell("some text"),
        v4.new_code_cell("def g(x):\n    return f(x) + 1\n", metadata=_meta("ex_g", solution=True)),
        v4.new_code_cell("TRAILING = 1\n"),
    ])


def test_student_code_cells_in_order_up_to_the_last_exercise():
    cells = student_code_cells(_notebook(), ["ex_f", "ex_g"])
    assert [(c["kind"], c["grade_id"]) for c in cells] == [
        ("added", "cell 2"), ("exercise", "ex_f"), ("exercise", "ex_g")]


def test_added_cells_contribute_definitions_only():
    source = ("import math\nfrom collections import Counter\nSCALE = 2.0\nPAIR = (1, 'a')\n"
              "LOG10 = np.log(10)\nRELU = lambda x: np.maximum(x, 0)\n"
              "def helper(x):\n    return x * SCALE\n"
              "class Box:\n    pass\n"
              "DATA = np.random.randn(10_000, 10_000)\n"      # data: never drawn
              "BIG = np.zeros(10_000_000)\n"                  # an argument above 4096: skipped
              "SQUARES = [i * i for i in range(10)]\n"        # a comprehension: skipped
              "np.VISITED = True\n"                           # not a name: skipped
              "for _ in range(10 ** 9):\n    pass\n"          # training: skipped
              "plt.plot([1, 2])\n")                           # a plot: skipped
    ns, notes = build_namespace(["import numpy as np"], [{"grade_id": "cell 2", "kind": "added",
                                                          "source": source}], cell_timeout=5)
    assert {"math", "Counter", "SCALE", "PAIR", "LOG10", "RELU", "helper", "Box"} <= set(ns)
    assert not {"DATA", "BIG", "SQUARES"} & set(ns) and not hasattr(ns["np"], "VISITED")
    assert notes == []


def test_exercise_cells_run_statement_by_statement():
    source = ("def first():\n    return 1\n"
              "print(first(X_dev))\n"            # fails: the next definition still counts
              "def second():\n    return 2\n")
    ns, notes = build_namespace([], [{"grade_id": "ex_a", "source": source}], cell_timeout=5)
    assert ns["first"]() == 1 and ns["second"]() == 2
    assert notes == ["exercise cell ex_a, line 3: NameError: name 'X_dev' is not defined"]


def test_a_cell_out_of_time_keeps_its_remaining_definitions():
    source = "import time\ntime.sleep(30)\ndef after():\n    return 3\n"
    ns, notes = build_namespace([], [{"grade_id": "ex_a", "source": source}], cell_timeout=1)
    assert ns["after"]() == 3 and any("ran longer than 1 s" in n for n in notes)


def test_a_syntax_error_loses_the_cell_only():
    ns, notes = build_namespace([], [{"grade_id": "ex_a", "source": "def broken(:\n"},
                                     {"grade_id": "ex_b", "source": "def fine():\n    return 1\n"}], 5)
    assert "fine" in ns and notes[0].startswith("exercise cell ex_a: SyntaxError")
