"""A translator's preview of a notebook's Chinese edition: the source with its Chinese text
(untranslated cells kept in English under a marker), as a notebook and as HTML to read in a browser."""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.course import Course
from autograder.i18n.edition import chinese_edition
from autograder.notebook import read_notebook


def preview(course: Course, aid: str, out_dir: Path | None = None) -> list[Path]:
    """Write <out_dir>/<aid>.zh.ipynb and <aid>.zh.html (default out_dir: build/zh-preview/ of the
    checkout). The preview holds the solutions: it is for translators, never for students.
    Returns: the two paths."""
    from nbconvert import HTMLExporter

    out_dir = Path(out_dir) if out_dir else course.root.parent / "build" / "zh-preview"
    out_dir.mkdir(parents=True, exist_ok=True)
    source = read_notebook(course.source_notebook(aid))
    nb = chinese_edition(source, source, draft=True)
    ipynb = out_dir / f"{aid}.zh.ipynb"
    nbformat.write(nb, str(ipynb))
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    page = out_dir / f"{aid}.zh.html"
    page.write_text(body, encoding="utf-8")
    return [ipynb, page]
