"""Tests of the Chinese edition on the fixture course: the release of both editions, the
students' copies (make lab LANG=zh), the notebook make submit hands in, and nbgrader's own
Validate on the Chinese release (its locked cells' checksums hold for the Chinese text).
"""

import shutil
from pathlib import Path

import nbformat
import pytest
from graderhelpers import AID, FIXTURE_ZH, copy_course, translate_course

from autograder.course import Course
from autograder.i18n.edition import (
    EN_STUB,
    ZH,
    ZH_STUB,
    chinese_edition,
    language,
    restore_chinese,
    to_grading_form,
)
from autograder.notebook import nbgrader_meta, read_notebook
from autograder.release import edited_since_release, is_up_to_date, release
from autograder.submit import chosen_notebook, unanswered
from autograder.workspace import seed


@pytest.fixture(scope="module")
def _released_once(tmp_path_factory):
    """The translated fixture course, released once (nbgrader takes seconds) for every test."""
    base = tmp_path_factory.mktemp("zh-released")
    course = translate_course(copy_course(base), base)
    release(course, [AID], log=lambda *_: None)
    return base


@pytest.fixture
def zh_course(_released_once, tmp_path):
    """A fresh copy of the translated, released fixture course (grading/, assignments/, i18n/)."""
    shutil.copytree(_released_once, tmp_path, dirs_exist_ok=True)
    return Course(root=tmp_path / "grading", assignments_dir=tmp_path / "assignments")


def _released(course):
    return read_notebook(course.released(AID)), read_notebook(course.released(AID, ZH))


def test_both_editions_have_the_same_cells_but_the_text(zh_course):
    en, cn = _released(zh_course)
    assert language(en) == "en" and language(cn) == ZH
    assert [c.get("id") for c in en.cells] == [c.get("id") for c in cn.cells]
    assert [c.cell_type for c in en.cells] == [c.cell_type for c in cn.cells]
    for a, b in zip(en.cells, cn.cells):
        ma, mb = dict(nbgrader_meta(a)), dict(nbgrader_meta(b))
        if a.cell_type == "code":
            assert a.source == b.source and ma == mb
            continue
        ma.pop("checksum", None), mb.pop("checksum", None)
        assert ma == mb                      # grade ids, points, locks: the same
        if a.get("id") in FIXTURE_ZH:
            assert b.source == FIXTURE_ZH[a.get("id")]
    stubs = [c.source for c in cn.cells if nbgrader_meta(c).get("solution") and c.cell_type == "markdown"]
    assert stubs == [ZH_STUB]
    assert cn.cells[0].source.startswith("> **课程笔记本**") and "work/zh/00_fixture.ipynb" in cn.cells[0].source
    assert "make lab LANG=zh" in cn.cells[0].source
    for nb in (en, cn):  # the source's Chinese never reaches a release
        assert all("zh" not in c.metadata.get("cs231n", {}) for c in nb.cells)


def test_locked_checksums_hold_for_the_chinese_text(zh_course):
    from nbgrader.utils import compute_checksum

    en, cn = _released(zh_course)
    for nb in (en, cn):
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            if "checksum" in meta:
                assert meta["checksum"] == compute_checksum(cell), cell.get("id")
    prompt = next(c for c in cn.cells if nbgrader_meta(c).get("grade_id") == "q_reshape_md")
    english = next(c for c in en.cells if nbgrader_meta(c).get("grade_id") == "q_reshape_md")
    assert nbgrader_meta(prompt)["checksum"] != nbgrader_meta(english)["checksum"]


def test_release_twice_changes_nothing_and_keeps_an_edited_chinese_copy(zh_course):
    target = zh_course.released(AID, ZH)
    first = target.read_text()
    release(zh_course, [AID], log=lambda *_: None)
    assert target.read_text() == first
    assert is_up_to_date(zh_course, AID, zh_course.root.parent / "scratch") is None
    nb = read_notebook(target)
    nb.cells[-1].source = "我的答案"
    nbformat.write(nb, str(target))
    assert edited_since_release(target)
    release(zh_course, [AID], log=lambda *_: None)
    assert read_notebook(target).cells[-1].source == "我的答案"
    assert target.with_name(f"{AID}.new.ipynb").read_text() == first


def test_a_notebook_not_listed_as_translated_has_no_chinese_edition(course, tmp_path):
    release(course, [AID], log=lambda *_: None)
    assert course.released(AID).exists() and not course.released(AID, ZH).exists()


def test_an_incomplete_translation_is_refused(zh_course):
    nb = read_notebook(zh_course.source_notebook(AID))
    del nb.cells[0].metadata["cs231n"]
    nbformat.write(nb, str(zh_course.source_notebook(AID)))
    with pytest.raises(ValueError, match=f"no Chinese text for cell\\(s\\) {nb.cells[0]['id']}"):
        release(zh_course, [AID], log=lambda *_: None)


def test_a_stale_zh_release_of_an_unlisted_notebook_is_reported(zh_course, tmp_path):
    (tmp_path / "i18n" / "translated.txt").write_text("")
    problem = is_up_to_date(zh_course, AID, tmp_path / "scratch")
    assert problem and "is not listed" in problem


def test_grading_form_and_restored_chinese(zh_course):
    en, cn = _released(zh_course)
    assert unanswered(cn) == ["q_reshape"] == unanswered(en)
    graded = nbformat.from_dict(cn)
    assert to_grading_form(graded) == 1
    assert [c.source for c in graded.cells if c.get("id") == "433daff2"] == [EN_STUB]
    # nbgrader's autograde puts the English back into locked cells; the feedback shows the Chinese
    prompt = next(c for c in graded.cells if c.get("id") == "42a4a1f5")
    prompt.source = next(c for c in en.cells if c.get("id") == "42a4a1f5").source
    restore_chinese(graded, read_notebook(zh_course.source_notebook(AID)))
    assert prompt.source == FIXTURE_ZH["42a4a1f5"]
    assert [c.source for c in graded.cells if c.get("id") == "433daff2"] == [ZH_STUB]


def test_chinese_edition_refuses_missing_text_unless_draft():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Hello")])
    with pytest.raises(ValueError, match="no Chinese text"):
        chinese_edition(nb, nb)
    draft = chinese_edition(nb, nb, draft=True)
    assert draft.cells[0].source.startswith("（此段尚未翻译）") and "Hello" in draft.cells[0].source


def test_lab_copies_each_edition_beside_the_other(zh_course, capsys):
    zh_copies = seed(zh_course, lang="zh")
    assert zh_copies == [zh_course.work_dir / "zh" / f"{AID}.ipynb"]
    assert "已将 00_fixture 复制到" in capsys.readouterr().out
    en_copies = seed(zh_course, lang="en")
    assert en_copies == [zh_course.work_dir / f"{AID}.ipynb"]
    assert language(read_notebook(zh_copies[0])) == ZH and language(read_notebook(en_copies[0])) == "en"
    # nothing is overwritten: an edited copy stays as it is
    nb = read_notebook(zh_copies[0])
    nb.cells[-1].source = "我的答案"
    nbformat.write(nb, str(zh_copies[0]))
    seed(zh_course, lang="zh")
    assert read_notebook(zh_copies[0]).cells[-1].source == "我的答案"


def test_lab_in_chinese_falls_back_to_english_when_there_is_no_chinese_edition(zh_course, capsys):
    zh_course.released(AID, ZH).unlink()
    assert seed(zh_course, lang="zh") == [zh_course.work_dir / f"{AID}.ipynb"]
    assert "暂无中文版" in capsys.readouterr().out


def test_submit_hands_in_the_edition_the_student_worked_on(zh_course, capsys):
    assert chosen_notebook(zh_course, AID) == zh_course.released(AID)   # no copy yet: as released
    zh_copy = seed(zh_course, lang="zh")[0]
    assert chosen_notebook(zh_course, AID) == zh_copy                  # the only copy
    en_copy = seed(zh_course, lang="en")[0]
    nb = read_notebook(zh_copy)
    nb.cells[-1].source = "它把每个样本展平成一行。"
    nbformat.write(nb, str(zh_copy))
    capsys.readouterr()
    assert chosen_notebook(zh_course, AID) == zh_copy                  # the one edited
    assert "LANG=en" in capsys.readouterr().out                         # and it names the other
    assert chosen_notebook(zh_course, AID, lang="en") == en_copy
    assert chosen_notebook(zh_course, AID, lang="zh_CN.UTF-8") == zh_copy
    en_copy.unlink()
    with pytest.raises(ValueError, match="no notebook"):
        chosen_notebook(zh_course, "01_other", lang="zh")


@pytest.mark.slow
def test_nbgrader_validate_sees_no_edited_cell_in_the_chinese_release(zh_course):
    """nbgrader's own Validate (what the Validate button and make submit run) on the release."""
    from nbgrader.validator import Validator

    validator = Validator()
    validator.ignore_checksums = False
    results = validator.validate(str(zh_course.released(AID, ZH)))
    assert "changed" not in results and "type_changed" not in results, results
    # the unanswered question and the two exercises not written fail, as in English
    english = Validator()
    english.ignore_checksums = False
    en_results = english.validate(str(zh_course.released(AID)))
    assert len(results["failed"]) == len(en_results["failed"]) == 3


@pytest.mark.slow
def test_a_chinese_submission_is_graded_as_the_english_one(zh_course):
    """Real nbgrader and the verification on both editions of the same work: same grade ids and
    scores; the Chinese one's kernel speaks Chinese and its feedback page is in Chinese."""
    from autograder.autograde import autograde
    from autograder.demo import simulated_students
    from autograder.feedback import feedback
    from autograder.grades import grade_rows
    from autograder.pipeline.gradebook import graded_results
    from autograder.sandbox.bwrap import bwrap_status
    from autograder.sandbox.limits import Limits

    source = read_notebook(zh_course.source_notebook(AID))
    for lang, released in (("en", zh_course.released(AID)), ("zh", zh_course.released(AID, ZH))):
        students = simulated_students(source, read_notebook(released))
        for name in ("complete", "half"):
            nb = students[name]
            nb.cells.append(nbformat.v4.new_code_cell(
                "from cs231n_lib.i18n import language\nprint('language:', language())"))
            path = zh_course.root / "submitted" / f"{lang}_{name}" / AID / f"{AID}.ipynb"
            path.parent.mkdir(parents=True)
            nbformat.write(nb, str(path))
    autograde(zh_course, [AID], workers=2, unsandboxed=bwrap_status() is not None, progress=False,
              limits=Limits(memory_bytes=3 * 2**30, cell_timeout=60, submission_timeout=600))
    _, rows = grade_rows(zh_course, [AID])
    score = {r["student"]: (r["autograded_score"], r["autograded_max"]) for r in rows}
    assert score["zh_complete"] == score["en_complete"] == (3.0, 3.0)
    assert score["zh_half"] == score["en_half"] == (2.0, 3.0)
    results = {r["student"]: r for r in graded_results(zh_course, [AID])}
    assert results["zh_half"]["scores"] == results["en_half"]["scores"]
    assert (results["zh_half"]["lang"], results["en_half"]["lang"]) == (ZH, "en")
    for who, lang in (("zh_complete", ZH), ("en_complete", "en")):
        executed = read_notebook(zh_course.root / "autograded" / who / AID / f"{AID}.ipynb")
        printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
        assert f"language: {lang}" in printed, who
    feedback(zh_course, [AID], log=lambda *_: None)
    page = (zh_course.root / "feedback" / "zh_half" / AID / f"{AID}.html").read_text()
    assert "反馈：00_fixture — zh_half" in page and "自动评分：2 / 3" in page and "待教师评分" in page
    assert "为什么要改变" in page and "Why does" not in page          # the locked prompt, in Chinese
    english = (zh_course.root / "feedback" / "en_half" / AID / f"{AID}.html").read_text()
    assert "Autograded score: 2 / 3" in english and "反馈" not in english


def _fake_checkout(tmp_path, course):
    """A checkout whose .venv runs this Python and whose `jupyter` only reports how it was started."""
    import sys

    repo = Path(__file__).resolve().parents[2]
    root = tmp_path / "checkout"
    root.mkdir()
    for name in ("Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copy(repo / name, root / name)
    shutil.copytree(course.root, root / "grading")
    shutil.copytree(course.assignments_dir, root / "assignments")
    bindir = root / ".venv" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    (bindir / "jupyter").write_text(
        '#!/bin/sh\necho "jupyter $*"\necho "LANG=$LANG lab=$CS231N_LAB_LANG"\n'
        f'{sys.executable} -c "import locale; locale.setlocale(locale.LC_ALL, \'\'); print(\'locale ok\')"\n')
    for exe in bindir.iterdir():
        exe.chmod(0o755)
    (root / ".venv" / ".installed").touch()  # newer than requirements.txt and pyproject.toml
    return root


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_make_lab_lang_zh(zh_course, tmp_path, how):
    """`make lab LANG=zh` (or LANG=zh in the environment, not a locale this machine has): the
    Chinese copies in work/zh/, JupyterLab opened there, and the recipes run in a locale that exists."""
    import os
    import subprocess

    root = _fake_checkout(tmp_path, zh_course)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "AUTOGRADER_"))} | {"LANG": "C.UTF-8"}
    args = ["make", "-s", "lab"]
    if how == "argument":
        args.append("LANG=zh")
    else:
        env["LANG"] = "zh"
    proc = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert (root / "work" / "zh" / f"{AID}.ipynb").exists() and not (root / "work" / f"{AID}.ipynb").exists()
    assert "已将 00_fixture 复制到" in out
    assert "--notebook-dir=work --ServerApp.default_url=/lab/tree/zh" in out
    assert "LANG=C.UTF-8 lab=zh" in out and "locale ok" in out
    english = subprocess.run(["make", "-s", "lab", "LANG=en"], cwd=root, env=env, capture_output=True,
                             text=True, timeout=300)
    assert (root / "work" / f"{AID}.ipynb").exists() and "default_url" not in english.stdout


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", ZH])
def test_submits_validator_runs_the_kernel_in_the_notebooks_language(tmp_path, lang):
    """make submit: nbgrader's Validator with LanguageExecute starts the kernel in the notebook's
    language, whatever the environment says."""
    import os

    from nbgrader.validator import Validator

    from autograder.i18n.execute import VALIDATOR_PREPROCESSORS

    cell = nbformat.v4.new_code_cell(f"from cs231n_lib.i18n import language\nassert language() == {lang!r}, language()")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 1,
                                 "grade_id": "test_lang", "schema_version": 3, "task": False}
    nb = nbformat.v4.new_notebook(cells=[cell], metadata={"cs231n": {"lang": lang}} if lang == ZH else {})
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, str(path))
    validator = Validator()
    validator.preprocessors = VALIDATOR_PREPROCESSORS
    os.environ["CS231N_LAB_LANG"] = "en" if lang == ZH else "zh"   # the lab's edition does not matter
    try:
        results = validator.validate(str(path))
    finally:
        del os.environ["CS231N_LAB_LANG"]
    assert not results.get("failed"), results
