"""A student's JupyterLab, in a real browser: the released notebook opens unmodified, Run All
reaches the last cell of a blank notebook, a failing check shows its short FAIL block, and
nbgrader shows no errors and no instructor panels.

Each test keeps a screenshot in test-artifacts/browser/.
"""

from __future__ import annotations

import json
import time

import pytest
from labhelpers import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RELEASED = REPO / "assignments" / "01_knn.ipynb"

# The notebook panel of a path (each page asks for its own notebook, not the current widget:
# JupyterLab restores the other notebooks the server has open).
PANEL = """const panel = (path) => {
  for (const w of window.jupyterapp.shell.widgets('main')) {
    if (w.context && w.context.path === path) return w;
  }
  return null;
};"""

KERNEL_IDLE = PANEL + """(path) => {
  const w = panel(path);
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""

# The code cells of the notebook: id, execution count and error outputs' lines.
CODE_CELLS = PANEL + """(path) => {
  const m = panel(path).content.model, out = [];
  for (let i = 0; i < m.cells.length; i++) {
    const c = m.cells.get(i);
    if (c.type !== 'code') continue;
    const errors = c.outputs.toJSON().filter(o => o.output_type === 'error').map(o => o.traceback);
    out.push({index: i, id: c.id, count: c.executionCount, errors: errors});
  }
  return out;
}"""

ALL_RAN = PANEL + """(path) => {
  const w = panel(path), m = w.content.model;
  for (let i = 0; i < m.cells.length; i++) {
    const c = m.cells.get(i);
    if (c.type === 'code' && (c.executionCount === null || c.executionState === 'running')) return false;
  }
  return w.sessionContext.session.kernel.status === 'idle';
}"""

RUN_ALL = PANEL + """(path) => {
  window.jupyterapp.shell.activateById(panel(path).id);
  window.jupyterapp.commands.execute('notebook:run-all-cells');
}"""

DIRTY = PANEL + "(path) => panel(path).context.model.dirty"
SCROLL = PANEL + """([path, index]) => {
  const nb = panel(path).content;
  nb.activeCellIndex = index;
  nb.widgets[index].node.scrollIntoView({block: 'start'});
}"""


@pytest.fixture
def new_page(browser):
    """Makes browser pages, closed when the test ends."""
    pages = []
    yield lambda: pages.append(browser.new_page(viewport={"width": 1400, "height": 900})) or pages[-1]
    for page in pages:
        page.close()


def open_notebook(new_page, lab, name):
    """A page with `name` open in the lab (a fresh workspace) and its kernel idle."""
    page = new_page()
    page.goto(lab.url(f"lab/tree/{name}") + "&reset")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.wait_for_function(KERNEL_IDLE, arg=name, timeout=90_000)
    return page


def run_all(page, name, timeout_s=240):
    """Run All Cells (the Run menu's command) and wait until every code cell has run."""
    page.evaluate(RUN_ALL, name)
    page.wait_for_function(ALL_RAN, arg=name, timeout=timeout_s * 1000, polling=1000)
    return page.evaluate(CODE_CELLS, name)


def show_cell(page, name, index):
    page.evaluate(SCROLL, [name, index])
    time.sleep(1)


def test_blank_notebook_opens_unmodified_and_runs_to_the_end(new_page, student_lab, artifacts):
    page = open_notebook(new_page, student_lab, RELEASED.name)  # work/01_knn.ipynb, as make lab made it
    time.sleep(2)  # the kernel's info arrives and the notebook's metadata is updated
    page.screenshot(path=str(artifacts / "lab_blank_opened.png"))
    assert page.evaluate(DIRTY, RELEASED.name) is False, \
        "the released notebook is marked modified as soon as it opens"

    cells = run_all(page, RELEASED.name)
    show_cell(page, RELEASED.name, cells[-1]["index"])
    page.screenshot(path=str(artifacts / "lab_blank_run_all_end.png"))
    assert all(c["count"] is not None for c in cells), "Run All stopped before the last cell"
    failing = [c for c in cells if c["errors"]]
    assert failing, "a blank notebook's test cells should fail"
    for cell in failing:
        lines = [line for tb in cell["errors"] for line in tb]
        assert len(lines) == 1 and lines[0].startswith("NOT DONE "), (cell["id"], lines)


def test_failing_check_shows_the_short_fail_block(new_page, student_lab, artifacts):
    nb = json.loads(RELEASED.read_text())
    for cell in nb["cells"]:
        if cell.get("id") == "ex_two_loops":  # a bug: every distance is 0
            cell["source"] = ("def compute_distances_two_loops(X_test, X_train):\n"
                              "    return np.zeros((X_test.shape[0], X_train.shape[0]))\n")
    (student_lab.folder / "buggy.ipynb").write_text(json.dumps(nb))  # saved by the student
    page = open_notebook(new_page, student_lab, "buggy.ipynb")
    cells = run_all(page, "buggy.ipynb")
    assert all(c["count"] is not None for c in cells), "Run All stopped before the last cell"
    test = next(c for c in cells if c["id"] == "test_two_loops")
    show_cell(page, "buggy.ipynb", test["index"])
    page.screenshot(path=str(artifacts / "lab_failing_check.png"))
    lines = [line for tb in test["errors"] for line in tb]
    assert lines and lines[0].startswith("FAIL  compute_distances_two_loops"), lines
    assert any("worst entries" in line for line in lines) and len(lines) <= 12, lines
    text = "\n".join(lines)
    assert "Traceback" not in text and "checks.py" not in text and "\x1b" not in text
    shown = page.inner_text(".jp-Notebook")
    assert "FAIL  compute_distances_two_loops" in shown and "CheckFailed" not in shown


def test_student_nbgrader_ui_has_no_errors_and_no_instructor_panels(new_page, student_lab, artifacts):
    page = open_notebook(new_page, student_lab, RELEASED.name)
    time.sleep(2)
    page.screenshot(path=str(artifacts / "lab_student_ui.png"))
    body = page.inner_text("body")
    menus = page.evaluate("() => Array.from(document.querySelectorAll('.lm-MenuBar-itemLabel'))"
                          ".map(e => e.textContent)")
    commands = page.evaluate("() => window.jupyterapp.commands.listCommands()")
    assert "Error fetching courses" not in body and "exchange" not in body.lower()
    assert "Nbgrader" not in menus, menus
    assert not [c for c in commands if c.startswith("nbgrader:open-")], "instructor/exchange panels"
    # No Validate button: make submit is the students' one whole-notebook check (docs/grading.md).
    assert page.locator(".validate-button, button:has-text('Validate')").count() == 0
    log = student_lab.log.read_text()
    assert "No nbgrader_config.py" not in log and "Error fetching" not in log
