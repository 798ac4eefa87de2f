"""The points table of a released notebook, generated from its own nbgrader metadata.

A source notebook's opening cell holds the line `<!-- points-table -->`; the release replaces it
by a markdown table with one row per `## ` section that has graded cells: the section's title,
what the student writes there (the functions of its exercise cells, the written questions by
their "Question k" label) and its points as a sum ("3 + 3 + 2"), then a total that is the sum
of every graded cell's nbgrader points, so the table can never disagree with the grades. The
source keeps the marker. Titles and question labels come from the edition's own cells, so the
Chinese edition's table is in Chinese (LABELS).
"""

from __future__ import annotations

import re

from autograder.i18n.edition import ZH

MARKER = "<!-- points-table -->"

LABELS = {
    "en": {"part": "part", "what": "what you write", "points": "points", "total": "**total**",
           "opening": "(before the first part)", "question": r"\*\*(Question \d+)\*\*"},
    ZH: {"part": "部分", "what": "你要完成的", "points": "分值", "total": "**合计**",
           "opening": "（第一部分之前）", "question": r"\*\*(问题 ?\d+)\*\*"},
}

_DEF = re.compile(r"^def (\w+)\(", re.M)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _points(value: float) -> str:
    return f"{value:g}"


def points_rows(nb, labels: dict) -> list[tuple[str, list[str], list[float]]]:
    """(section title, what the student writes, the points of its graded cells) per `## `
    section with graded cells, in notebook order; graded cells before the first section go in
    a row titled labels["opening"]."""
    question = re.compile(labels["question"])
    rows: list[tuple[str, list[str], list[float]]] = []
    title, items, points = labels["opening"], [], []
    last_prompt = ""

    def close():
        if points:
            rows.append((title, list(dict.fromkeys(items)), list(points)))

    for cell in nb.cells:
        source = cell.get("source", "")
        meta = _meta(cell)
        if cell.get("cell_type") == "markdown" and not meta.get("solution"):
            heading = next((line for line in source.splitlines() if line.startswith("## ")), None)
            if heading is not None:
                close()
                title, items, points = heading[3:].strip(), [], []
            found = question.search(source)
            last_prompt = found.group(1) if found else last_prompt
        if cell.get("cell_type") == "code" and meta.get("solution"):
            items.extend(f"`{name}`" for name in _DEF.findall(source))
        if meta.get("grade"):
            points.append(float(meta.get("points", 0)))
            if cell.get("cell_type") == "markdown" and last_prompt:
                items.append(last_prompt)
    close()
    return rows


def points_table(nb, lang: str = "en") -> str:
    """The markdown table of `nb`'s graded cells (see the module docstring) in `lang`'s labels."""
    labels = LABELS[lang]
    lines = [f"| {labels['part']} | {labels['what']} | {labels['points']} |", "|---|---|---|"]
    total = 0.0
    for title, items, points in points_rows(nb, labels):
        total += sum(points)
        sum_text = " + ".join(_points(p) for p in points)
        if len(points) > 1:
            sum_text += f" = {_points(sum(points))}"
        lines.append(f"| {title} | {', '.join(items)} | {sum_text} |")
    lines.append(f"| {labels['total']} | | **{_points(total)}** |")
    return "\n".join(lines)


def fill_points_table(nb, lang: str = "en") -> bool:
    """Replace the marker line in `nb`'s markdown cells by its points table (in place).
    Returns True when a marker was found."""
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown" and MARKER in cell.source.splitlines():
            cell.source = "\n".join(points_table(nb, lang) if line == MARKER else line
                                    for line in cell.source.splitlines())
            return True
    return False
