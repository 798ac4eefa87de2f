"""Build the fixture assignment `00_fixture` (source notebook + verify spec) for the grader tests.

    python tests/grader_fixtures/make_fixture.py   # rewrites course/source/00_fixture/00_fixture.ipynb

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


if __name__ == "__main__":
    SOURCE.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(build(), str(SOURCE))
    print(SOURCE)
