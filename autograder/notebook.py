"""Reading nbgrader notebooks: which cells are setup, exercises, autograded tests, written answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

SETUP_TAG = "verify-setup"
SOLUTION_RE = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*### END SOLUTION[^\n]*$", re.M | re.S)
HIDDEN_RE = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n(.*?)^[ \t]*### END HIDDEN TESTS[^\n]*$", re.M | re.S)
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
HIDDEN_PLACEHOLDER = "# (hidden tests are not shown)"


def nbgrader_meta(cell) -> dict:
    """The cell's nbgrader metadata (an empty dict for a plain cell)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_exercise(cell) -> bool:
    """A code cell the student writes: solution=True, grade=False."""
    m = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("solution")) and not m.get("grade")


def is_autograded_test(cell) -> bool:
    """An autograded test cell: a code cell with grade=True, solution=False."""
    m = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and not m.get("solution")


def is_manual(cell) -> bool:
    """A manually graded answer: solution=True and grade=True."""
    m = nbgrader_meta(cell)
    return bool(m.get("grade")) and bool(m.get("solution"))


def is_setup(cell) -> bool:
    """A code cell tagged `verify-setup` (imports and given helpers run before the exercises)."""
    return cell.get("cell_type") == "code" and SETUP_TAG in cell.get("metadata", {}).get("tags", [])


@dataclass(frozen=True)
class Layout:
    """What a source notebook holds, by kind of cell (sources are strings)."""

    setup: list[str]
    exercises: list[str]              # grade_ids of exercise cells, in order
    tests: dict[str, float]           # autograded test grade_id -> points
    manual: dict[str, float]          # manually graded grade_id -> points


def read_notebook(path: str | Path):
    """Read a notebook file (nbformat 4)."""
    return nbformat.read(str(path), as_version=4)


def layout(nb) -> Layout:
    """Classify the cells of a source notebook.

    Inputs: nb, a notebook node. Returns: a Layout. Raises ValueError for a graded or
    exercise cell without a grade_id, or for a grade_id used twice.
    """
    setup, exercises, tests, manual, seen = [], [], {}, {}, set()
    for i, cell in enumerate(nb.cells):
        m = nbgrader_meta(cell)
        if m.get("grade") or m.get("solution") or m.get("locked"):
            gid = m.get("grade_id")
            if not gid:
                raise ValueError(f"cell {i} has nbgrader metadata but no grade_id")
            if gid in seen:
                raise ValueError(f"grade_id {gid!r} is used by more than one cell")
            seen.add(gid)
        if is_setup(cell):
            setup.append(cell.source)
        if is_exercise(cell):
            exercises.append(m["grade_id"])
        elif is_autograded_test(cell):
            tests[m["grade_id"]] = float(m.get("points", 0) or 0)
        elif is_manual(cell):
            manual[m["grade_id"]] = float(m.get("points", 0) or 0)
    return Layout(setup, exercises, tests, manual)


def student_code_cells(student_nb, exercise_ids: list[str]) -> list[dict]:
    """The student's code the verifier runs, in the student's notebook order.

    Inputs: student_nb, the submitted notebook; exercise_ids, the source's exercise grade_ids.
    Returns: list of {"grade_id", "source", "kind"} up to the last exercise cell:
    kind "exercise" for an exercise cell (run statement by statement; a cell kept under a
    grade_id twice, copied in Jupyter, is kept twice, as the kernel would run both; a cell
    retyped to markdown is dropped) and kind "added" for any other code cell above it that is
    neither a test nor a setup cell (a cell the student added, or given code such as data
    loading): only its definitions run (imports, def, class, constants; see worker.definitions).
    """
    wanted = set(exercise_ids)
    out = []
    for i, cell in enumerate(student_nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        gid = nbgrader_meta(cell).get("grade_id")
        source = cell.get("source", "")
        source = str("".join(source) if isinstance(source, list) else source)
        if gid in wanted:
            out.append({"grade_id": str(gid), "source": source, "kind": "exercise"})
        elif not is_autograded_test(cell) and not is_setup(cell) and not is_manual(cell):
            out.append({"grade_id": f"cell {i + 1}", "source": source, "kind": "added"})
    while out and out[-1]["kind"] == "added":
        out.pop()
    return out


def blank_solutions(source: str) -> str:
    """Replace each solution region by what nbgrader puts there for the student."""
    return SOLUTION_RE.sub(lambda m: f"{m[1]}# YOUR CODE HERE\n{m[1]}raise NotImplementedError()", source)


def without_hidden_tests(nb):
    """A copy of a source notebook whose hidden-test regions are replaced by a placeholder comment.

    The student's kernel runs this version: hidden tests never reach code the student controls
    (scores come from the out-of-kernel verification, not from the kernel's test cells).
    """
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = HIDDEN_RE.sub(HIDDEN_PLACEHOLDER, cell.source)
    return nb


def first_line(source: str, width: int = 80) -> str:
    """A cell's first non-empty line, cut at a word (with "...") when longer than `width`."""
    line = next((ln.strip() for ln in str(source).splitlines() if ln.strip()), "")
    return clip_words(line, width)


def clip_words(text: str, width: int) -> str:
    """`text`, or its first words and "..." when it is longer than `width` (never cut mid-word)."""
    if len(text) <= width:
        return text
    cut = text[: width - 3].rsplit(" ", 1)[0] if " " in text[: width - 3] else text[: width - 3]
    return cut.rstrip(" ,;:") + "..."


def drop_malformed_outputs(nb, note: str) -> int:
    """Replace every output of `nb` that breaks the notebook format (a stream whose text is a
    number, say) by a stream output reading `note`, so the rest of the notebook can still be
    shown. Changes `nb` in place; returns how many outputs were replaced.
    """
    from nbformat.v4.nbbase import validate as validate_node

    dropped = 0
    for cell in nb.cells:
        if cell.get("cell_type") != "code" or not isinstance(cell.get("outputs"), list):
            continue
        kept = []
        for output in cell.outputs:
            try:
                validate_node(output, "output")
                kept.append(output)
            except Exception:
                dropped += 1
                kept.append(nbformat.v4.new_output("stream", name="stdout", text=note))
        cell.outputs = kept
    return dropped
