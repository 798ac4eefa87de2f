"""The one set of helpers the notebook tests share.

The specs are evaluated in-process (fast, no sandbox) with the verifier's own pieces:
`autograder.verify.worker.build_namespace` builds the namespace from the source notebook's
verify-setup and exercise cells, `autograder.verify.worker.evaluate` runs a check's call on its
cases, and `autograder.verify.runner` compares the answers, so these tests exercise the grader's
logic rather than a copy of it.
"""

from __future__ import annotations

import ast
import copy
import re

import nbformat
import numpy as np

from autograder.course import Course
from autograder.notebook import (
    HIDDEN_RE,
    is_autograded_test,
    is_exercise,
    is_manual,
    is_setup,
    nbgrader_meta,
    read_notebook,
    student_code_cells,
)
from autograder.verify.compare import Accepted
from autograder.verify.runner import _case_message
from autograder.verify.spec import case_seed, load_spec, student_case
from autograder.verify.worker import build_namespace, evaluate

COURSE = Course()


def source(aid):
    """The source notebook (with solutions and hidden tests)."""
    return read_notebook(COURSE.source_notebook(aid))


def released(aid):
    """The released student notebook in assignments/."""
    return read_notebook(COURSE.released(aid))


def code_cell(nb, text):
    """The first code cell whose source contains `text`."""
    return next(c for c in nb.cells if c.cell_type == "code" and text in c.source)


def grid_settings(aid):
    """02/03: the starting grid and grid_search's options in the cell that defines LEARNING_RATES,
    as keyword arguments of grid_search (learning_rates, regs, lr_factor, reg_factor, max_extensions)."""
    settings = {}
    for node in ast.walk(ast.parse(code_cell(source(aid), "LEARNING_RATES = ").source)):
        name = getattr(node.targets[0], "id", None) if isinstance(node, ast.Assign) else None
        if name in ("LEARNING_RATES", "REGS"):
            settings[name.lower()] = ast.literal_eval(node.value)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "grid_search":
            settings.update({k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)})
    return settings


def exercise_source(aid, gid):
    """The source of the cell with grade_id `gid`."""
    return next(c.source for c in source(aid).cells if nbgrader_meta(c).get("grade_id") == gid)


def student_notebook(aid, replace=None, added=None):
    """A copy of the source notebook as a student might hand it in.

    replace: {exercise grade_id: new source} swapped in (a student's variant);
    added: {exercise grade_id: source} put in a new code cell of the student's just above it.
    """
    nb = copy.deepcopy(source(aid))
    cells = []
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in (added or {}):
            cells.append(nbformat.v4.new_code_cell(added[gid]))
        if gid in (replace or {}):
            cell.source = replace[gid]
        cells.append(cell)
    nb.cells = cells
    return nb


def namespace(aid, replace=None, added=None, notes=None):
    """The namespace the verifier builds: the source's setup cells, then the student's cells as
    `autograder.notebook.student_code_cells` selects them (see `student_notebook` for replace
    and added). notes: a list that receives the verifier's notes (statements that raised)."""
    setup = [c.source for c in source(aid).cells if is_setup(c)]
    exercises = [nbgrader_meta(c)["grade_id"] for c in source(aid).cells if is_exercise(c)]
    cells = student_code_cells(student_notebook(aid, replace, added), exercises)
    ns, cell_notes = build_namespace(setup, cells, cell_timeout=120)
    if notes is not None:
        notes.extend(cell_notes)
    return ns


def appended(aid, gid, code):
    """{gid: the exercise's solution followed by `code`}: a variant that may wrap the right answer."""
    return {gid: exercise_source(aid, gid) + "\n" + code}


def failures(aid, gid, ns):
    """Messages of the cases of check `gid` that the namespace gets wrong (empty: all pass; a
    right answer with a note, such as a (1, D) shape for (D,), passes). A secret check's cases
    are drawn from the public seed here (the grader uses the course's held-out key)."""
    check = load_spec(COURSE.spec(aid))[gid]
    cases = check.cases(np.random.default_rng(case_seed(aid, gid)))
    expected = [check.expected(copy.deepcopy(case)) for case in cases]
    with np.errstate(all="ignore"):
        # the grader sends copies of what the student's process may see
        answers = evaluate(check.call, ns, [student_case(c) for c in copy.deepcopy(cases)], check.allowed,
                           mutable=check.mutable)
    messages = [_case_message(check, case, answer, want)
                for case, answer, want in zip(cases, answers, expected)]
    return [m for m in messages if m and not isinstance(m, Accepted)]


def check_structure(aid):
    """Assert the layout every source notebook follows (see docs/authoring.md)."""
    nb = source(aid)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    cell_ids = [c.get("id") for c in nb.cells]
    assert len(cell_ids) == len(set(cell_ids)), "cell ids must be unique"
    kinds, grade_ids = [], []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "outputs must be stripped"
        if meta:
            assert meta["schema_version"] == 3 and meta["grade_id"]
            grade_ids.append(meta["grade_id"])
        if is_setup(cell):
            assert meta.get("locked") and not re.search(r"get_cifar10_data\(", cell.source), \
                "setup cells hold imports only"
        if is_exercise(cell):
            kinds.append("exercise")
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
        elif is_autograded_test(cell):
            kinds.append("test")
            assert HIDDEN_RE.search(cell.source), f"{meta['grade_id']} has no hidden tests"
            assert re.search(r"\bcheck_\w+\(", HIDDEN_RE.sub("", cell.source)), \
                f"{meta['grade_id']} has no public check"
            assert meta["points"] > 0
        elif is_manual(cell):
            assert "**Mark scheme:**" in cell.source and meta["points"] > 0
    assert len(grade_ids) == len(set(grade_ids)), "grade_ids must be unique"
    joined = " ".join(kinds)  # every exercise is tested before the next one starts
    assert "exercise exercise" not in joined and joined.endswith("test")
    tests = {nbgrader_meta(c)["grade_id"] for c in nb.cells if is_autograded_test(c)}
    assert set(load_spec(COURSE.spec(aid))) == tests


def check_teaching(aid, patterns):
    """Assert the released notebook's markdown matches every regex in `patterns`, its written
    answers are stubs and no solution is left in it."""
    nb = released(aid)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert [p for p in patterns if not re.search(p, text)] == []
    answers = [c for c in nb.cells if is_manual(c)]
    assert all(c.source.strip() == "YOUR ANSWER HERE" for c in answers)
    assert "BEGIN SOLUTION" not in "".join(c.source for c in nb.cells)


def public_test_errors(aid, gids, replace=None, added=None):
    """{grade_id: error} for the test cells `gids` whose public checks fail, run in-process as the
    student's kernel would run them (every check of a cell runs; the error lists each failure) (the released cell: hidden tests removed) after the setup
    cells and the exercise cells (with `replace` swapped in and `added` run just above, as in
    `student_notebook`). Empty when every public check passes."""
    import ast
    import contextlib
    import io

    import matplotlib

    from cs231n_lib.checks import _ReportEveryFailure

    matplotlib.use("Agg")
    ns: dict = {"__name__": "__main__"}
    errors = {}
    for cell in source(aid).cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if is_setup(cell):
            exec(cell.source, ns)
        elif is_exercise(cell):
            if gid in (added or {}):
                exec(added[gid], ns)
            exec((replace or {}).get(gid, cell.source), ns)
        elif gid in gids:
            # as a kernel runs it: every check of the cell runs, one error lists each failure
            tree = _ReportEveryFailure().visit(ast.parse(HIDDEN_RE.sub("", cell.source)))
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(tree, f"<{gid}>", "exec"), ns)
            except Exception as exc:  # a failing public check
                errors[gid] = f"{type(exc).__name__}: {exc}"
    return errors


def cell_constants(aid, text, names, **given):
    """{name: value} for `names`, assigned in the source notebook's code cell holding `text`.

    Only the cell's plain assignments to those names run, in order, with numpy as `np` and the
    keyword arguments bound (e.g. `data`, `ON_CIFAR`, `make_augmenter`); everything else in the
    cell (training, printing, plotting) is skipped. A test thus runs the settings the notebook
    itself uses, not a copy of them.
    """
    import ast

    ns = {"np": np, **given}
    for node in ast.parse(code_cell(source(aid), text).source).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        assigned = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        if assigned and assigned <= set(names):
            exec(compile(ast.Module([node], type_ignores=[]), f"<{aid}>", "exec"), ns)
    missing = [n for n in names if n not in ns]
    assert not missing, f"{aid}: the cell holding {text!r} assigns no {missing}"
    return {n: ns[n] for n in names}
