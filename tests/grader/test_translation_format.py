"""Tests of the Chinese text's source format, tokenizer, glossary and findings (autograder/i18n/).

Each is checked against hand-written cells: the stale state and the first changed line, the
segments a tokenizer must tell apart, a glossary term nested in a longer one, variants to avoid,
English left in Chinese sentences, formulas and code that must stay as they are.
"""

import subprocess

import nbformat
import pytest

from autograder.i18n import source as zh
from autograder.i18n.glossary import Glossary, Term, load_glossary, read_terms
from autograder.i18n.prose import (
    half_width_punctuation,
    heading_levels,
    invariants,
    prose,
    segments,
)
from autograder.i18n.report import cell_findings, notebook_findings, structure_findings
from autograder.translations import run

GLOSSARY = Glossary(
    terms=(Term(("nearest neighbour",), "最近邻", "01_knn"),
           Term(("k-nearest neighbours",), "k 近邻", "01_knn"),
           Term(("dropout",), "随机失活", "06_batchnorm_dropout", avoid=("丢弃法",)),
           Term(("learning rate",), "学习率", "02_svm"),
           Term(("softmax",), "softmax", "03_softmax"),
           Term(("SVM",), "SVM", "02_svm")),
    names=("numpy", "CIFAR-10"))


def _cell(text, **nbgrader):
    cell = nbformat.v4.new_markdown_cell(text)
    if nbgrader:
        cell.metadata["nbgrader"] = nbgrader
    return cell


# ---- the source format ----

def test_en_sha_is_the_first_12_hex_digits_of_sha256():
    # sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    assert zh.en_sha("abc") == "ba7816bf8f01"


def test_status_missing_ok_stale_and_not_needed():
    cell = _cell("Hello")
    assert zh.status(cell) == zh.MISSING
    zh.set_translation(cell, "你好\n")
    assert cell.metadata["cs231n"]["zh"] == {"source": "你好", "en_sha": zh.en_sha("Hello")}
    assert zh.status(cell) == zh.OK
    cell.source = "Hello!"
    assert zh.status(cell) == zh.STALE
    zh.stamp(cell)
    assert zh.status(cell) == zh.OK
    answer = _cell("model answer", solution=True, grade=True, grade_id="q", points=1)
    assert zh.status(answer) == zh.NOT_NEEDED
    assert zh.status(nbformat.v4.new_code_cell("x = 1")) == zh.NOT_NEEDED


def test_set_translation_keeps_other_keys_and_refuses_what_takes_none():
    cell = _cell("Hello")
    cell.metadata["cs231n"] = {"other": 1}
    zh.set_translation(cell, "你好")
    assert cell.metadata["cs231n"]["other"] == 1
    with pytest.raises(ValueError, match="empty"):
        zh.set_translation(cell, "  \n")
    with pytest.raises(ValueError, match="written-answer cell"):
        zh.set_translation(_cell("answer", solution=True, grade=True, grade_id="q"), "答案")
    with pytest.raises(ValueError, match="code cell"):
        zh.set_translation(nbformat.v4.new_code_cell("x"), "x")
    with pytest.raises(ValueError, match="no Chinese text"):
        zh.stamp(_cell("untranslated"))


def test_without_translations_removes_only_the_chinese():
    nb = nbformat.v4.new_notebook(cells=[_cell("a"), _cell("b")])
    zh.set_translation(nb.cells[0], "甲")
    nb.cells[1].metadata["cs231n"] = {"other": 2}
    zh.set_translation(nb.cells[1], "乙")
    zh.without_translations(nb)
    assert "cs231n" not in nb.cells[0].metadata
    assert nb.cells[1].metadata["cs231n"] == {"other": 2}


def test_find_cell_names_the_close_ids():
    nb = nbformat.v4.new_notebook(cells=[_cell("a")])
    nb.cells[0]["id"] = "ma-12345"
    with pytest.raises(ValueError, match="ma-12346.*did you mean ma-12345"):
        zh.find_cell(nb, "ma-12346")


def test_first_changed_line():
    assert zh.first_changed_line("a\nb\nc", "a\nB\nc") == "B"
    assert zh.first_changed_line("a", "a\nnew") == "new"
    assert zh.first_changed_line("a\nb", "a") == "(lines removed at the end)"


def test_stale_finding_names_the_first_changed_line_from_git(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[_cell("Line one\nLine two")])
    nb.cells[0]["id"] = "c1"
    zh.set_translation(nb.cells[0], "第一行\n第二行")
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, str(path))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run([*git, "add", "n.ipynb"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    nb.cells[0].source = "Line one\nLine two, changed"
    nbformat.write(nb, str(path))
    found = notebook_findings(nbformat.read(str(path), as_version=4), "01_x", GLOSSARY, path=path)
    stale = [f for f in found if f.kind == "stale"]
    assert len(stale) == 1 and stale[0].cell_id == "c1"
    assert "'Line two, changed'" in stale[0].message


# ---- the tokenizer ----

def test_segments_tell_code_formulas_links_and_comments_from_prose():
    text = ("See [the notes](https://x.org/a_b) and `np.sum(x, axis=1)`; $s = Wx$ and "
            "$$L = \\sum_i L_i$$ cost $5 and $6. <!-- points-table --> <b>bold</b>\n"
            "```python\nx = 1  # not prose\n```\n\\begin{align}a\\end{align} <https://y.org>")
    kinds = [(s.kind, s.text) for s in segments(text) if s.kind != "text"]
    assert kinds == [("url", "https://x.org/a_b"), ("code", "`np.sum(x, axis=1)`"), ("math", "$s = Wx$"),
                     ("display", "$$L = \\sum_i L_i$$"), ("math", "$5 and $"), ("comment", "<!-- points-table -->"),
                     ("html", "<b>"), ("html", "</b>"), ("fence", "```python\nx = 1  # not prose\n```"),
                     ("display", "\\begin{align}a\\end{align}"), ("url", "<https://y.org>")]
    words = prose(text).split()
    assert "notes" in words and "bold" in words
    assert "6." in words and "5" not in words  # "$5 and $" is a formula to Jupyter too (a price is \\$5)
    assert not any(w in words for w in ("np.sum", "not", "Wx$", "points-table"))


def test_double_backtick_code_and_escaped_dollar():
    assert [s.text for s in segments("a ``x ` y`` b \\$ not math \\$ c") if s.kind == "code"] == ["``x ` y``"]
    assert not [s for s in segments("a \\$5 and \\$6 b") if s.kind == "math"]
    assert [s.text for s in segments("$10 \\cdot 76 = $ **760**") if s.kind == "math"] == ["$10 \\cdot 76 = $"]
    assert not [s for s in segments("a $x\n\nb$ c") if s.kind == "math"]  # not across paragraphs


def test_invariants_and_headings():
    en = "## Part 1 · Distances\n\nUse `np.sum` on $x$.\n\n### Two loops\n<!-- points-table -->"
    assert invariants(en) == {"math": {"$x$"}, "code": {"`np.sum`"}, "url": set(),
                              "comment": {"<!-- points-table -->"}}
    assert heading_levels(en) == [2, 3]
    assert heading_levels("```\n# a comment\n```\n# Title") == [1]


def test_half_width_punctuation_next_to_chinese():
    assert half_width_punctuation("损失,然后(梯度)。") == ["失,", "后(", "度)"]
    assert half_width_punctuation("函数. 又") == ["数."]
    assert half_width_punctuation("损失，然后（梯度）。x = 3.5, y (a)") == []


# ---- the glossary ----

def test_term_nested_in_a_longer_term_counts_once():
    en = "The k-nearest neighbours classifier"
    assert GLOSSARY.term_findings(en, "k 近邻分类器") == []
    found = GLOSSARY.term_findings("The nearest neighbour classifier", "k 近邻分类器")
    assert len(found) == 1 and "最近邻" in found[0]


def test_terms_variants_and_case():
    found = GLOSSARY.term_findings("Use dropout with a learning rate", "使用丢弃法和学习率")
    assert any("随机失活" in f and "is not in" in f for f in found)
    assert any("'丢弃法' is not used" in f for f in found)
    # "svm" in lower case is not the term SVM; "Softmax" at a sentence start is softmax
    assert GLOSSARY.term_findings("an svm-like score", "得分") == []
    assert GLOSSARY.term_findings("Softmax turns scores", "得分") != []
    # a term inside code is not a use
    assert GLOSSARY.term_findings("call `dropout_forward`", "调用 `dropout_forward`") == []


def test_leftover_english():
    text = ("随机失活（dropout）用 numpy 在 CIFAR-10 上，softmax 和 SVM 与 `the code` $x$ 以及 X_train、"
            "KNearestNeighbor、k 个 the scores [链接](https://a.b)")
    assert GLOSSARY.leftover_english(text) == ["the", "scores"]
    assert GLOSSARY.leftover_english("随机失活（softmax）") == []          # a kept term, anywhere
    assert GLOSSARY.leftover_english("用（dropout）") == []               # a gloss after Chinese
    assert GLOSSARY.leftover_english("(dropout) first") == ["dropout", "first"]  # not a gloss


HEADER = "english,chinese,first,avoid,note\n"


@pytest.mark.parametrize("text, message", [
    ("english,chinese\n", "first line must be english,chinese,first,avoid,note"),
    (HEADER + "dropout,随机失活,6,,\n", "line 2: first must be a notebook id"),
    (HEADER + "dropout,随机失活,06_x,随机,\n", "variant to avoid '随机' is part of"),
    (HEADER + "a|b,甲,01_x,,\nB,乙,01_x,,\n", "'B' is already defined on line 2"),
    (HEADER + "a,甲,01_x\n", "line 2: expected 5 columns, got 3"),
])
def test_read_terms_errors(tmp_path, text, message):
    path = tmp_path / "g.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_terms(path)


def test_load_glossary_without_files(tmp_path):
    with pytest.raises(ValueError, match="no glossary file"):
        load_glossary(tmp_path)


# ---- findings ----

def test_structure_findings():
    en = "## Part 1\n\nUse `np.sum` on $x$, see [here](https://a.b).\n<!-- points-table -->"
    assert structure_findings(en, "## 第 1 部分\n\n对 $x$ 用 `np.sum`，见[这里](https://a.b)。\n<!-- points-table -->") == []
    found = structure_findings(en, "# 第 1 部分\n\n对 $y$ 用 `np.sum`，见[这里](https://a.b)。")
    assert any("formula '$x$'" in f for f in found)
    assert any("'$y$' is in the Chinese but not in the English" in f for f in found)
    assert any("marker '<!-- points-table -->'" in f for f in found)
    assert any("headings differ" in f for f in found)


def test_cell_findings_of_a_good_translation_are_empty():
    en = "The **softmax** classifier with a learning rate $\\eta$ and `dropout_forward`."
    assert cell_findings(GLOSSARY, en, "**softmax** 分类器，学习率为 $\\eta$，还有 `dropout_forward`。") == []


def test_translations_command_set_get_stamp(tmp_path, capsys):
    from autograder.course import Course

    course = Course(root=tmp_path / "grading", assignments_dir=tmp_path / "assignments")
    path = course.source_notebook("01_x")
    path.parent.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[_cell("Use a learning rate.")])
    nb.cells[0]["id"] = "c1"
    nbformat.write(nb, str(path))
    (tmp_path / "i18n").mkdir()
    (tmp_path / "i18n" / "glossary.zh-CN.csv").write_text(
        "english,chinese,first,avoid,note\nlearning rate,学习率,01_x,学习速率,\n", encoding="utf-8")
    (tmp_path / "i18n" / "english-names.zh-CN.txt").write_text("numpy\n")
    assert run(course, "check", "01_x", log=print) == 1
    assert "missing" in capsys.readouterr().out
    text = tmp_path / "zh.md"
    text.write_text("使用学习速率。", encoding="utf-8")
    assert run(course, "set", "01_x", cell_id="c1", file=str(text), log=print) == 0
    assert "'学习速率' is not used" in capsys.readouterr().out
    text.write_text("使用一个学习率。", encoding="utf-8")
    run(course, "set", "01_x", cell_id="c1", file=str(text), log=print)
    assert run(course, "check", "01_x", log=print) == 0
    assert run(course, "get", "01_x", cell_id="c1", log=print) == 0
    assert "使用一个学习率。" in capsys.readouterr().out
    edited = nbformat.read(str(path), as_version=4)
    edited.cells[0].source = "Use a learning rate, please."
    nbformat.write(edited, str(path))
    assert run(course, "check", "01_x", log=print) == 1
    assert run(course, "stamp", "01_x", cell_id="c1", log=print) == 0
    assert run(course, "check", "01_x", log=print) == 0
    with pytest.raises(ValueError, match="needs --cell"):
        run(course, "get", "01_x", log=print)
    with pytest.raises(ValueError, match="--file nope.md: no such file"):
        run(course, "set", "01_x", cell_id="c1", file="nope.md", log=print)


def test_bold_that_jupyter_would_not_render_is_a_finding():
    from autograder.i18n.prose import unrendered_bold

    # CommonMark: a ** with punctuation on its inner side needs space or punctuation outside.
    assert unrendered_bold("**练习。**完成下面的函数") == ["**练习。**完成"]
    assert unrendered_bold("多类**（SVM）**损失") == ["多类**（SVM）**损失"]
    for fine in ("**练习**。完成", "。**重点**很重要", "**问题 1**（2 分）", "代码 `**x**` 与 $a**2$"):
        assert unrendered_bold(fine) == [], fine
