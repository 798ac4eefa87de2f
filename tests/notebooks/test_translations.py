"""The Chinese edition of the course's notebooks (docs/translating.md).

The glossary is well formed and says truly which notebook first uses each term. Every notebook
listed in i18n/translated.txt (the one place that says a translation is complete; the lead adds
each as it lands, so main's suite stays green while the others are being written) has Chinese
text for every markdown cell, none of it stale, with no finding of `python -m autograder
translations` (glossary, English left, formulas and code kept, punctuation); its two committed
releases hold the same cells, code, grade ids and points, and the Chinese one leaks nothing.
Whether the releases are up to date is tests/grader/test_course.py's test_release_is_up_to_date.
"""

import pytest

from autograder.course import Course
from autograder.i18n import source as zh
from autograder.i18n.edition import ZH, language
from autograder.i18n.glossary import glossary_dir, load_glossary
from autograder.i18n.prose import prose
from autograder.i18n.report import notebook_findings, translated_ids
from autograder.notebook import nbgrader_meta, read_notebook
from autograder.release import find_leaks, released_sources

COURSE = Course()
IDS = COURSE.assignment_ids()
I18N = glossary_dir(COURSE.root)
TRANSLATED = translated_ids(I18N)
PENDING = [pytest.param("none", marks=pytest.mark.skip("no notebook is listed in i18n/translated.txt yet"))]


def test_glossary_is_well_formed_and_first_is_true():
    glossary = load_glossary(I18N)
    english = {aid: "\n".join(prose(zh.cell_source(c)) for c in read_notebook(COURSE.source_notebook(aid)).cells
                              if zh.needs_translation(c))
               for aid in IDS}
    wrong = []
    for term in glossary.terms:
        first = next((aid for aid in IDS if term.used_in(english[aid])), None)
        if first != term.first:
            wrong.append(f"{term.english[0]}: first is {term.first}, but "
                         + (f"the first notebook using it is {first}" if first else "no notebook uses it"))
    assert wrong == [], "i18n/glossary.zh-CN.csv: " + "; ".join(wrong)


def test_translated_list_names_course_notebooks():
    assert set(TRANSLATED) <= set(IDS), f"i18n/translated.txt names unknown notebooks: {set(TRANSLATED) - set(IDS)}"


@pytest.mark.parametrize("aid", TRANSLATED or PENDING)
def test_translation_is_complete_and_clean(aid):
    path = COURSE.source_notebook(aid)
    findings = notebook_findings(read_notebook(path), aid, load_glossary(I18N), path=path)
    assert findings == [], "\n".join(map(str, findings))


@pytest.mark.parametrize("aid", TRANSLATED or PENDING)
def test_both_releases_hold_the_same_cells(aid):
    en, cn = read_notebook(COURSE.released(aid)), read_notebook(COURSE.released(aid, ZH))
    assert language(en) == "en" and language(cn) == ZH
    assert len(en.cells) == len(cn.cells)
    for a, b in zip(en.cells, cn.cells):
        where = f"{aid} cell {a.get('id')}"
        assert (a.get("id"), a.cell_type) == (b.get("id"), b.cell_type), where
        ma, mb = dict(nbgrader_meta(a)), dict(nbgrader_meta(b))
        if a.cell_type == "code":
            assert (a.source, ma, a.metadata.get("tags")) == (b.source, mb, b.metadata.get("tags")), where
        else:
            ma.pop("checksum", None), mb.pop("checksum", None)
            assert ma == mb, where


@pytest.mark.parametrize("aid", TRANSLATED or PENDING)
def test_chinese_release_leaks_nothing(aid):
    text = COURSE.released(aid, ZH).read_text()
    assert find_leaks(read_notebook(COURSE.source_notebook(aid)), released_sources(text)) == []
