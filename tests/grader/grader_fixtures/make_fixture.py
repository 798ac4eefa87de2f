"""Build the fixture assignment `00_fixture` (source notebook + verify spec) for the grader tests.

    python tests/grader/grader_fixtures/make_fixture.py   # rewrites course/source/00_fixture/00_fixture.ipynb

The notebook is small on purpose: two exercises (an affine forward pass and a label count),
their public+hidden test cells, a setup cell and a written question.
"""

from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "course" / "source" / "00_fixture" / "00_fixture.ipynb"


def _meta(grade_id, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id,
            "schema_version": 3, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def build():
    """Return the fixture source notebook."""
    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell("# Fixture assignment\n\nA tiny assignment for the grader's own tests."),
        v4.new_code_cell("import numpy as np\n\nfrom cs231n_lib.layers import affine_forward as ref_affine_forward",
                         metadata={**_meta("setup", locked=True), "tags": ["verify-setup"]}),
        v4.new_markdown_cell("## Affine layer\n\nWrite `affine_forward(x, w, b)` returning `(out, cache)`."),
        v4.new_code_cell(
            "def affine_forward(x, w, b):\n"
            "    \"\"\"Affine layer: x (N, d_1, ..., d_k), w (D, M), b (M,) -> out (N, M), cache.\"\"\"\n"
            "    ### BEGIN SOLUTION\n"
            "    out = x.reshape(x.shape[0], -1) @ w + b\n"
            "    ### END SOLUTION\n"
            "    return out, (x, w, b)\n",
            metadata=_meta("ex_affine", solution=True)),
        v4.new_code_cell(
            "rng = np.random.default_rng(0)\n"
            "x, w, b = rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 5)), rng.standard_normal(5)\n"
            "out, _ = affine_forward(x, w, b)\n"
            "assert np.allclose(out, ref_affine_forward(x, w, b)[0]), 'affine_forward is wrong'\n"
            "print('PASS affine_forward on a (3, 2, 2) input')\n"
            "### BEGIN HIDDEN TESTS\n"
            "x2 = rng.standard_normal((7, 3))\n"
            "w2 = rng.standard_normal((3, 2))\n"
            "assert np.allclose(affine_forward(x2, w2, np.zeros(2))[0], x2 @ w2)\n"
            "### END HIDDEN TESTS\n",
            metadata=_meta("test_affine", grade=True, locked=True, points=2)),
        v4.new_markdown_cell("## Counting labels\n\nWrite `count_labels(y, num_classes)`."),
        v4.new_code_cell(
            "def count_labels(y, num_classes):\n"
            "    \"\"\"Count each label: y (N,) ints in [0, num_classes) -> counts (num_classes,) ints.\"\"\"\n"
            "    ### BEGIN SOLUTION\n"
            "    counts = np.zeros(num_classes, dtype=np.int64)\n"
            "    for label in y:\n"
            "        counts[label] += 1\n"
            "    return counts\n"
            "    ### END SOLUTION\n",
            metadata=_meta("ex_count", solution=True)),
        v4.new_code_cell(
            "counts = count_labels(np.array([0, 2, 2, 1]), 4)\n"
            "assert list(counts) == [1, 1, 2, 0], f'expected [1, 1, 2, 0], got {counts}'\n"
            "print('PASS count_labels on four labels')\n"
            "### BEGIN HIDDEN TESTS\n"
            "assert list(count_labels(np.array([3, 3, 3]), 5)) == [0, 0, 0, 3, 0]\n"
            "### END HIDDEN TESTS\n",
            metadata=_meta("test_count", grade=True, locked=True, points=1)),
        v4.new_markdown_cell("**Question.** Why does `affine_forward` reshape `x`?",
                             metadata=_meta("q_reshape_md", locked=True)),
        v4.new_markdown_cell("It flattens each example into a row vector of length D.\n\n"
                             "**Mark scheme:** 1 point for saying each example becomes one row of D features.",
                             metadata=_meta("q_reshape", grade=True, solution=True, points=1)),
    ]
    nb = v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    return nb




# ----------------------------------------------------------------------------- adversarial corpus

HONEST_AFFINE = ("def affine_forward(x, w, b):\n"
                 "    out = x.reshape(x.shape[0], -1) @ w + b\n"
                 "    return out, (x, w, b)\n")
HONEST_COUNT = ("def count_labels(y, num_classes):\n"
                "    return np.bincount(y, minlength=num_classes)\n")
GARBAGE_AFFINE = ("def affine_forward(x, w, b):\n"
                  "    return np.zeros((x.shape[0], w.shape[1])), None\n")

# name -> (ex_affine source, ex_count source, what else to do, expected scores, what it tries)
CORPUS = {
    "honest": (HONEST_AFFINE, HONEST_COUNT, None, {"test_affine": 2, "test_count": 1},
               "a correct solution"),
    "honest_noisy": (
        "import warnings, sys\n" + HONEST_AFFINE.replace(
            "    out =", "    warnings.warn('a harmless warning'); print('noise', file=sys.stderr)\n"
            "    rng = np.random.default_rng(12345)  # a different, valid seed\n    out ="),
        HONEST_COUNT.replace("    return", "    import time; time.sleep(0.5)  # slow but within limits\n    return"),
        None, {"test_affine": 2, "test_count": 1}, "correct, with stderr warnings, another seed, a slow loop"),
    "patch_numpy": (
        "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\nnp.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)\n"
        + GARBAGE_AFFINE, HONEST_COUNT, None, {"test_affine": 0, "test_count": 1},
        "monkeypatches numpy's comparisons"),
    "patch_checks_builtins": (
        "import builtins\nimport cs231n_lib\n"
        "try:\n    import cs231n_lib.checks as _c\n    for _n in dir(_c):\n"
        "        if not _n.startswith('_'):\n            setattr(_c, _n, lambda *a, **k: True)\n"
        "except ImportError:\n    pass\n"
        "builtins.list = lambda *a: [1, 1, 2, 0]\nbuiltins.AssertionError = type('Nope', (Exception,), {})\n"
        + GARBAGE_AFFINE,
        "def count_labels(y, num_classes):\n    return np.zeros(num_classes, int)\n", None,
        {"test_affine": 0, "test_count": 0}, "patches cs231n_lib.checks and builtins"),
    "always_equal": (
        "class Yes:\n    def __eq__(self, other): return True\n    def __ne__(self, other): return False\n"
        "    def __array__(self, *a, **k): raise TypeError('no')\n"
        "def affine_forward(x, w, b):\n    return Yes(), None\n",
        "class YesArray(np.ndarray):\n    def __eq__(self, other): return np.ones(self.shape, bool)\n"
        "def count_labels(y, num_classes):\n    return np.zeros(num_classes, int).view(YesArray)\n", None,
        {"test_affine": 0, "test_count": 0}, "returns objects whose comparisons always succeed"),
    "env_sniff": (
        "import os\ndef affine_forward(x, w, b):\n"
        "    if os.environ.get('NBGRADER_EXECUTION') or os.environ.get('NBGRADER_VALIDATING'):\n"
        "        return ref_affine_forward(x, w, b)\n"
        "    return np.zeros((x.shape[0], w.shape[1])), None\n", HONEST_COUNT, None,
        {"test_affine": 0, "test_count": 1}, "reads NBGRADER_EXECUTION to behave differently"),
    "input_transformer": (
        GARBAGE_AFFINE,
        HONEST_COUNT + "def _rewrite(lines):\n    return ['pass\\n'] if any('assert' in l for l in lines) else lines\n"
        "get_ipython().input_transformers_cleanup.append(_rewrite)\n", None,
        {"test_affine": 0, "test_count": 1}, "an IPython input transformer rewriting later (test) cells"),
    "edit_tests": (GARBAGE_AFFINE, HONEST_COUNT, "edit_tests", {"test_affine": 0, "test_count": 1},
                   "edits the locked test cell to print PASS"),
    "delete_tests": (GARBAGE_AFFINE, HONEST_COUNT, "delete_tests", {"test_affine": 0, "test_count": 1},
                     "deletes the test cells"),
    "duplicate_ids": (GARBAGE_AFFINE, HONEST_COUNT, "duplicate_ids", {"test_affine": 0, "test_count": 1},
                      "duplicates a graded cell's grade_id with a passing copy"),
    "retype_tests": (GARBAGE_AFFINE, HONEST_COUNT, "retype_tests", {"test_affine": 0, "test_count": 1},
                     "turns the test cell into a markdown cell"),
    "prefilled_outputs": (GARBAGE_AFFINE, HONEST_COUNT, "prefill", {"test_affine": 0, "test_count": 1},
                          "ships fake PASS outputs"),
    "call_reference": (
        "def affine_forward(x, w, b):\n    return ref_affine_forward(x, w, b)\n", HONEST_COUNT, None,
        {"test_affine": 0, "test_count": 1}, "calls the library's reference of the exercise"),
    "reload_reference": (
        "import importlib\nimport cs231n_lib.layers as _L\n_fresh = importlib.reload(_L).affine_forward\n"
        "def affine_forward(x, w, b):\n    return importlib.reload(_L).affine_forward(x, w, b)\n",
        HONEST_COUNT, None, {"test_affine": 0, "test_count": 1}, "reloads the library to undo the stub"),
    "infinite_loop": (HONEST_AFFINE, "def count_labels(y, num_classes):\n    while True:\n        pass\n",
                      "loop_in_test", {"test_affine": 2, "test_count": 0},
                      "a loop that never ends (costs that question only)"),
    "kernel_exit": (HONEST_AFFINE, HONEST_COUNT + "import os\nos._exit(1)\n", None,
                    {"test_affine": 2, "test_count": 0}, "kills the kernel with os._exit"),
    "memory_bomb": (HONEST_AFFINE, "big = np.ones((2**16, 2**16, 64))\n" + HONEST_COUNT, None,
                    {"test_affine": 2, "test_count": 1},
                    "allocates far more memory than allowed (that statement fails, the function after it counts)"),
    "peek_hidden": (
        HONEST_AFFINE + "def _spy(info):\n    print('SPY', info.raw_cell)\n"
        "get_ipython().events.register('pre_run_cell', _spy)\n", HONEST_COUNT, None,
        {"test_affine": 2, "test_count": 1},
        "prints the source of every later cell (hidden tests included) into its outputs, for the feedback"),
    "segfault": (HONEST_AFFINE, "import ctypes\nctypes.string_at(0)\n" + HONEST_COUNT, None,
                 {"test_affine": 2, "test_count": 0}, "segfaults the kernel through ctypes"),
    # Issue 12: honest work outside the exercise cells counts; other routes to the answer do not.
    "honest_helpers_above": (
        "def affine_forward(x, w, b):\n    out = flatten(x) @ w + b * SCALE\n    return out, (x, w, b)\n",
        "def count_labels(y, num_classes):\n    counts = Counter(y.tolist())\n"
        "    return np.array([counts[c] for c in range(num_classes)])\n",
        "helpers_above", {"test_affine": 2, "test_count": 1},
        "helpers, an import and a constant in a cell of its own above; a slow loop there too"),
    "honest_sanity_line": (
        HONEST_AFFINE,
        "def zeros_for(num_classes):\n    return np.zeros(num_classes, dtype=np.int64)\n\n"
        "print(count_labels(y_dev, 3))   # a quick look at data the grader never loads\n\n"
        "def count_labels(y, num_classes):\n    counts = zeros_for(num_classes)\n"
        "    np.add.at(counts, y, 1)\n    return counts\n",
        None, {"test_affine": 2, "test_count": 1}, "a failing statement between two functions"),
    "scipy_route": (
        HONEST_AFFINE,
        "from scipy import ndimage\n\ndef count_labels(y, num_classes):\n"
        "    return ndimage.histogram(y, 0, num_classes - 1, num_classes).astype(int)\n",
        None, {"test_affine": 2, "test_count": 0}, "counts with scipy (not numpy)"),
    "library_route": (
        "from cs231n_lib.layers import maxout_forward\n\ndef affine_forward(x, w, b):\n"
        "    return maxout_forward(x, w[None], b[None])[0], (x, w, b)\n",
        HONEST_COUNT, None, {"test_affine": 0, "test_count": 1},
        "another layer of the library (maxout with one piece) for the affine layer"),
}

# Cells a student adds above the first exercise, by corpus action.
ABOVE = {
    "helpers_above": (
        "import time\nfrom collections import Counter\n\nSCALE = 1.0\n\n"
        "def flatten(x):\n    return x.reshape(x.shape[0], -1)\n\n"
        "for _ in range(3):      # heavy work the grader must not run\n    time.sleep(1)\n"),
}


def prefill_outputs(nb):
    """The "prefilled_outputs" trick: the affine test cell ships a fake PASS output. Returns nb."""
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_affine":
            cell.execution_count = 3
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="PASS affine_forward\n")]
    return nb


# Corpus entries whose trick is applied to the notebook as it is submitted, not committed.
ADDED_AT_SUBMISSION = {"prefilled_outputs": prefill_outputs}


def adversarial(released) -> dict:
    """{name: (notebook, expected scores, description)} built from the released fixture notebook.

    Tricks listed in ADDED_AT_SUBMISSION are not in these notebooks yet.
    """
    import copy

    out = {}
    for name, (affine, count, action, expected, what) in CORPUS.items():
        nb = copy.deepcopy(released)
        cells = []
        for cell in nb.cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid == "ex_affine":
                if action in ABOVE:
                    added = nbformat.v4.new_code_cell(ABOVE[action])
                    added["id"] = f"added-{name.replace('_', '-')}"
                    cells.append(added)
                cell.source = affine
            elif gid == "ex_count":
                cell.source = count
            if gid == "test_affine":
                if action == "edit_tests":
                    cell.source = "print('PASS affine_forward')"
                elif action == "delete_tests":
                    continue
                elif action == "retype_tests":
                    old_id = cell["id"]
                    cell = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
                    cell["id"] = old_id
                # "prefill": the fake outputs are added at submission (ADDED_AT_SUBMISSION), so
                # that the committed notebook, like every notebook in the repository, has none.
                elif action == "duplicate_ids":
                    dup = copy.deepcopy(cell)
                    dup.source = "print('PASS')"
                    dup["id"] = "dup-" + cell["id"]
                    cells.append(dup)
            if gid == "test_count" and action == "delete_tests":
                continue
            cells.append(cell)
        nb.cells = cells
        out[name] = (nb, expected, what)
    return out


def write_corpus(released_path: Path) -> None:
    """Write tests/grader/grader_fixtures/adversarial/<name>.ipynb and expected.json."""
    import json

    folder = HERE / "adversarial"
    folder.mkdir(exist_ok=True)
    released = nbformat.read(str(released_path), as_version=4)
    table = {}
    for name, (nb, expected, what) in adversarial(released).items():
        nbformat.write(nb, str(folder / f"{name}.ipynb"))
        table[name] = {"expected": expected, "trick": what}
    (folder / "expected.json").write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    import shutil
    import subprocess
    import sys
    import tempfile

    SOURCE.parent.mkdir(parents=True, exist_ok=True)
    if "--corpus-only" not in sys.argv:
        nbformat.write(build(), str(SOURCE))
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(HERE / "course", Path(tmp) / "course")
        subprocess.run([sys.executable, "-m", "autograder", "release", "--course", f"{tmp}/course",
                        "--assignments-dir", f"{tmp}/released"], check=True)
        shutil.copy(Path(tmp) / "released" / "00_fixture.ipynb", HERE / "released_00_fixture.ipynb")
        write_corpus(Path(tmp) / "released" / "00_fixture.ipynb")
    print("wrote", SOURCE, "and", HERE / "adversarial")
