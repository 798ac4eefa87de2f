"""A feedback report, in a real browser: the score table and the notebook render as HTML (no
escaped tags), the executed notebook's plots appear, math renders offline, every lost point
has its one-line reason.

The notebook is run by the grader's own kernel manager (autograder.sandbox.kernel, with the sandbox
when bubblewrap works) so that its plots are what autograding keeps; the page is written by
autograder.feedback.report_html. A screenshot is kept in test-artifacts/browser/.
"""

from __future__ import annotations

import re

import pytest
from labhelpers import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _executed_blank_01_knn(workdir):
    import nbclient

    from autograder.notebook import read_notebook
    from autograder.sandbox.bwrap import bwrap_status
    from autograder.sandbox.kernel import SandboxedKernelManager

    nb = read_notebook(REPO / "assignments" / "01_knn.ipynb")
    km = SandboxedKernelManager(kernel_name="python3", workdir=str(workdir),
                                sandboxed=bwrap_status() is None)
    try:
        nbclient.NotebookClient(nb, km=km, timeout=300, allow_errors=True,
                                resources={"metadata": {"path": str(workdir)}}).execute()
    finally:  # nbclient leaves a kernel it was given running
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    return nb


def _result(nb) -> dict:
    """A graded result as the gradebook returns it: every check lost, as a blank notebook's."""
    from autograder.notebook import is_autograded_test, is_manual, nbgrader_meta

    tests = {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"])
             for c in nb.cells if is_autograded_test(c)}
    manual = {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"])
              for c in nb.cells if is_manual(c)}
    from autograder.verify.runner import _case_message

    msg = _case_message(None, {}, {"error": "NotImplementedError: "}, None)
    return {"assignment": "01_knn", "student": "ada", "status": "graded", "reason": "",
            "scores": {g: 0.0 for g in tests}, "max_scores": tests, "manual_max": manual,
            "checks": {g: {"passed": False, "message": f"case 1 of 3 (small): {msg}"} for g in tests},
            "notes": []}


def test_feedback_page_renders_table_plots_and_math(browser, tmp_path, artifacts):
    from autograder.feedback import report_html
    from autograder.feedback_html import exporter

    nb = _executed_blank_01_knn(tmp_path / "kernel")
    plots = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert plots, "the grading kernel kept no plot (image/png output)"
    page_file = artifacts / "feedback_01_knn.html"
    page_file.write_text(report_html(exporter(), _result(nb), nb, {}))

    page = browser.new_page(viewport={"width": 1300, "height": 900})
    try:
        page.goto(page_file.as_uri())
        page.screenshot(path=str(artifacts / "feedback_top.png"))
        text = page.inner_text("body")
        for tag in ("<h1", "<p>", "<th>", "<table", "<tr>", "&lt;"):
            assert tag not in text, f"escaped {tag} shown as text"
        rows = page.locator("table tr").count()
        assert rows >= 1 + len(_result(nb)["max_scores"])
        for line in page.locator("table td").all_inner_texts():
            assert not re.search(r"raised \w+:\s*$", line), line
        assert "to be graded by the instructor" in text
        assert page.locator("math").count() >= 1, "no MathML math"
        assert "$k$" not in text
        assert page.locator("script").count() == 0, "the page loads scripts (MathJax from a CDN?)"
        images = page.locator("img")
        assert images.count() >= 1
        images.first.scroll_into_view_if_needed()
        assert page.evaluate("() => document.images[0].naturalWidth") > 0
        page.screenshot(path=str(artifacts / "feedback_plot.png"))
    finally:
        page.close()
