"""The points table each released notebook opens with: generated at release from nbgrader's
points (autograder/points_table.py), so its total is the notebook's, in both editions."""

import re

import pytest
from nbhelpers import COURSE, released, source

from autograder.i18n.edition import ZH
from autograder.i18n.glossary import glossary_dir
from autograder.i18n.report import translated_ids
from autograder.points_table import LABELS, MARKER, points_rows, points_table

IDS = COURSE.assignment_ids()


def _graded_points(nb):
    return [float(c.metadata["nbgrader"].get("points", 0)) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")]


def _table_total(text):
    """The bold total of the first points table in `text`."""
    return float(re.search(r"^\| \*\*[^|]+\*\* \| \| \*\*([\d.]+)\*\* \|$", text, re.M).group(1))


@pytest.mark.parametrize("aid", IDS)
def test_the_released_table_adds_up_to_every_graded_cell(aid):
    nb = source(aid)
    assert MARKER in nb.cells[0].source.splitlines(), "the source keeps the marker, never a table"
    rows = points_rows(nb, LABELS["en"])
    # Every graded cell is in exactly one row, with its own points.
    assert sorted(p for _, _, points in rows for p in points) == sorted(_graded_points(nb))
    opening = released(aid).cells[1].source  # cells[0] is the release header
    assert MARKER not in opening
    assert _table_total(opening) == sum(_graded_points(nb))
    assert points_table(nb) in opening


def test_a_questions_label_and_an_exercises_function_name_the_row():
    rows = {title: items for title, items, _ in points_rows(source("03_softmax"), LABELS["en"])}
    assert rows["Part 1 · The loss and its gradient, with a loop"] == ["`softmax_loss_naive`"]
    assert rows["Questions"] == ["Question 1", "Question 2", "Question 3"]


@pytest.mark.parametrize("aid", [a for a in IDS if a in translated_ids(glossary_dir(COURSE.root))])
def test_the_chinese_table_is_in_chinese_with_the_same_total(aid):
    opening = COURSE.released(aid, ZH).read_text()
    nb = source(aid)
    assert "| 部分 | 你要完成的 | 分值 |" in opening and "**合计**" in opening
    assert f"**{sum(_graded_points(nb)):g}** |" in opening
