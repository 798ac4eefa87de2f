"""The Chinese edition in a real browser: a Chinese notebook in the student's JupyterLab (its
kernel speaks Chinese, as Jupyter Server starts it) and a Chinese feedback page, each rendered
with real Chinese glyphs.

No missing-glyph boxes: every distinct Chinese character shown is drawn on a canvas in the page's
own font stack (with the browser's font fallback, as the text itself is drawn) and compared with
what the browser draws for a character no font has (its .notdef box; two such characters must
draw the same non-empty box, else the comparison proves nothing); none may draw that box or
nothing. fontconfig must also name an installed font covering every one of them. The fonts come
from Debian's fonts-noto-cjk (`make fonts`, scripts/ensure_cjk_fonts.sh). Screenshots are kept in
test-artifacts/browser/.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import nbformat
import pytest
from graderhelpers import AID, copy_course, translate_course
from labhelpers import REPO, Lab

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")

# Draws each character in the font stack of the element matching the selector; returns the ink
# of each, the characters drawn as the .notdef box or as nothing, and the box's own ink.
GLYPHS = r"""([chars, selector]) => {
  const el = document.querySelector(selector) || document.body;
  const family = getComputedStyle(el).fontFamily;
  const canvas = document.createElement('canvas');
  canvas.width = 48; canvas.height = 48;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const draw = (ch) => {
    ctx.clearRect(0, 0, 48, 48);
    ctx.font = `32px ${family}`; ctx.textBaseline = 'top'; ctx.fillStyle = '#000';
    ctx.fillText(ch, 4, 4);
    const d = ctx.getImageData(0, 0, 48, 48).data;
    let bits = '', ink = 0;
    for (let i = 3; i < d.length; i += 4) { const on = d[i] > 127; bits += on ? '1' : '0'; ink += on; }
    return [bits, ink];
  };
  const [box, boxInk] = draw('\u{10FFFD}');
  const [box2] = draw('\u{10FFFC}');
  const boxes = [], blank = [];
  for (const ch of chars) {
    const [bits, ink] = draw(ch);
    if (bits === box) boxes.push(ch);
    if (ink === 0) blank.push(ch);
  }
  return {family, boxInk, boxIsStable: box === box2, boxes, blank,
          unknownIsBox: draw('\u0378')[0] === box};
}"""


def _cjk_chars(text: str) -> list[str]:
    return sorted(set(CJK.findall(text)) - {"\u3000"})


def _assert_glyphs(page, text: str, selector: str) -> int:
    """Every Chinese character of `text` renders as a glyph in `page`; returns how many were checked."""
    chars = _cjk_chars(text)
    assert len(chars) >= 10, f"too little Chinese on the page to check: {chars}"
    found = page.evaluate(GLYPHS, [chars, selector])
    assert found["boxInk"] > 0 and found["boxIsStable"] and found["unknownIsBox"], \
        f"the browser's missing-glyph box could not be told: {found}"
    assert found["boxes"] == [] and found["blank"] == [], \
        f"drawn as missing glyphs in {found['family']}: {found['boxes']}, as nothing: {found['blank']}"
    if shutil.which("fc-list"):
        codes = " ".join(f"{ord(c):x}" for c in chars)
        fonts = subprocess.run(["fc-list", f":charset={codes}", "family"], capture_output=True,
                               text=True, timeout=60).stdout.strip()
        assert fonts, "no installed font covers every Chinese character shown (make fonts)"
    return len(chars)


@pytest.fixture(scope="module")
def _cjk_fonts():
    fonts = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True,
                           timeout=60).stdout.strip() if shutil.which("fc-list") else ""
    if not fonts:
        pytest.skip("no font with Chinese characters is installed (make fonts installs fonts-noto-cjk)")


@pytest.fixture(scope="module")
def zh_lab(tmp_path_factory, _cjk_fonts):
    """`make lab LANG=zh` on the translated fixture notebook: work/zh/00_fixture.ipynb, plus a cell
    at its end printing the kernel's language."""
    from autograder.i18n.edition import ZH
    from autograder.release import release
    from autograder.workspace import seed

    tmp = tmp_path_factory.mktemp("zh-lab")
    course = translate_course(copy_course(tmp), tmp)
    release(course, [AID], log=lambda *_: None)
    own = seed(course, lang=ZH, log=lambda *_: None)[0]
    nb = nbformat.read(str(own), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "from cs231n_lib.i18n import language\nprint('语言：', language())"))
    nbformat.write(nb, str(own))
    lab = Lab(course.work_dir, REPO / "jupyter" / "student", tmp / "server.log")
    yield lab, course
    lab.stop()


LAST_OUTPUT = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.sessionContext.session || !w.sessionContext.session.kernel) return null;
  const m = w.content.model, last = m.cells.get(m.cells.length - 1);
  const outs = last.outputs.toJSON();
  return outs.map(o => o.text || '').join('');
}"""


def test_chinese_notebook_in_the_students_lab(browser, zh_lab, artifacts):
    lab, _ = zh_lab
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(lab.url(f"lab/tree/zh/{AID}.ipynb"))
        page.wait_for_selector(".jp-RenderedMarkdown h1", timeout=120_000)
        page.wait_for_function("() => { const w = window.jupyterapp.shell.currentWidget; const s = w && "
                               "w.sessionContext && w.sessionContext.session; return !!s && !!s.kernel "
                               "&& s.kernel.status === 'idle'; }", timeout=120_000)
        # (the fixture's cells stop Run All at its first unwritten exercise: run the last cell)
        page.evaluate("() => { const w = window.jupyterapp.shell.currentWidget;"
                      " w.content.activeCellIndex = w.content.model.cells.length - 1;"
                      " return window.jupyterapp.commands.execute('notebook:run-cell'); }")
        page.wait_for_function(f"() => ({LAST_OUTPUT})() && ({LAST_OUTPUT})().includes('语言')",
                               timeout=180_000)
        # The kernel Jupyter Server started for this notebook knows it is the Chinese edition.
        assert page.evaluate(LAST_OUTPUT).strip() == "语言： zh-CN"
        text = page.inner_text(".jp-NotebookPanel")
        assert "测试用作业" in text and "仿射层" in text and "在此写下你的答案" in text
        checked = _assert_glyphs(page, text, ".jp-RenderedMarkdown")
        assert checked >= 20
        page.screenshot(path=str(artifacts / "zh_lab_00_fixture.png"), full_page=True)
    finally:
        page.close()


def test_chinese_feedback_page(browser, zh_lab, artifacts):
    from autograder.feedback import report_html
    from autograder.feedback_html import exporter
    from autograder.i18n.edition import ZH
    from autograder.notebook import is_autograded_test, is_manual, nbgrader_meta, read_notebook

    _, course = zh_lab
    nb = read_notebook(course.released(AID, ZH))
    tests = {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"]) for c in nb.cells if is_autograded_test(c)}
    manual = {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"]) for c in nb.cells if is_manual(c)}
    result = {"assignment": AID, "student": "xiaoming", "status": "graded", "reason": "", "lang": ZH,
              "scores": {g: 0.0 for g in tests}, "max_scores": tests, "manual_max": manual,
              "checks": {g: {"passed": False, "message": "case 1 of 3: raised NotImplementedError"} for g in tests},
              "notes": []}
    page_file = artifacts / "feedback_zh_00_fixture.html"
    page_file.write_text(report_html(exporter(), result, nb, {}), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.goto(page_file.as_uri())
        text = page.inner_text("body")
        assert "反馈：00_fixture — xiaoming" in text and "自动评分：0 / 3" in text
        assert "测试" in text and "未通过" in text and "待教师评分" in text and "仿射层" in text
        _assert_glyphs(page, text, "h1")
        page.screenshot(path=str(artifacts / "feedback_zh_00_fixture.png"), full_page=True)
    finally:
        page.close()
