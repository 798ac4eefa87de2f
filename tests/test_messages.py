"""The message catalogues of both packages (cs231n_lib.i18n): every message the code wraps for
gettext has a Chinese translation with the same placeholders, and the catalogues hold nothing else.

The messages are read from the code's syntax tree (so a `_()` inside an f-string, which pybabel
cannot see, is found too): calls of `_`, `_n` and `Messages(...).gettext` / `.ngettext`. Their
first argument must be a string literal, or no catalogue could hold it.

The notebooks catalogue (notebooks.po) holds the names, hints and check_true messages the source
notebooks' test cells give the checks (autograder/i18n/extract.py): each one has its Chinese,
with the same {fields} when it is an f-string's template.
"""

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[1]
DOMAINS = ("cs231n_lib", "autograder")
WRAPPERS = {"_": 1, "gettext": 1, "_n": 2, "ngettext": 2}


def used_messages(package: str) -> tuple[set[str], list[str]]:
    """(msgids the package's code wraps, places where the first argument is not a literal)."""
    found, bad = set(), []
    for path in sorted((REPO / package).rglob("*.py")):
        if path.name == "i18n.py" and package == "cs231n_lib":
            continue  # the mechanism itself, not a user of it
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else (
                node.func.attr if isinstance(node.func, ast.Attribute) else None)
            if name not in WRAPPERS or not node.args:
                continue
            args = node.args[:WRAPPERS[name]]
            if all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
                found.add(args[0].value)
            else:
                bad.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found, bad


def catalogue(package: str):
    po = REPO / package / "locale" / "zh_CN" / "LC_MESSAGES" / f"{package}.po"
    with open(po, "rb") as f:
        return read_po(f)


def fields(text: str) -> set[str]:
    """The names of the str.format fields of `text` ({name}, {name!r}, {name:.2f} -> name)."""
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


@pytest.mark.parametrize("package", DOMAINS)
def test_every_wrapped_message_is_a_literal(package):
    _, bad = used_messages(package)
    assert bad == [], f"_() needs a string literal (a catalogue holds only those): {bad}"


@pytest.mark.parametrize("package", DOMAINS)
def test_catalogue_translates_exactly_the_messages_in_use(package):
    used, _ = used_messages(package)
    cat = catalogue(package)
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in cat if m.id}
    missing = sorted(used - ids)
    assert missing == [], (f"not in {package}'s catalogue (run make messages and translate them; "
                           f"pybabel cannot see a _() inside an f-string): {missing}")
    assert sorted(ids - used) == [], f"in {package}'s catalogue but no longer in the code: {sorted(ids - used)}"
    untranslated = [m.id for m in cat if m.id and (not m.string or not all(m.string) or m.fuzzy)]
    assert untranslated == [], f"untranslated or fuzzy in {package}'s catalogue: {untranslated}"


@pytest.mark.parametrize("package", DOMAINS)
def test_translations_keep_the_placeholders(package):
    wrong = []
    for m in catalogue(package):
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        for s in strings:
            if fields(s) != fields(ids[-1]) and fields(s) != fields(ids[0]):
                wrong.append(f"{ids[0]!r}: {s!r}")
    assert wrong == [], wrong


def test_the_catalogue_is_what_students_get():
    """A translated message comes out in Chinese through the packages' own Messages objects."""
    from autograder.i18n.messages import MESSAGES
    from cs231n_lib.i18n import use

    with use("zh"):
        assert MESSAGES.gettext("All public tests pass.") == "所有公开测试均已通过。"
    assert MESSAGES.gettext("All public tests pass.") == "All public tests pass."


# ---------------------------------------------------------------------------
# The notebooks catalogue: what the source notebooks' public checks are given to print
# ---------------------------------------------------------------------------

NOTEBOOKS_PO = REPO / "cs231n_lib" / "locale" / "zh_CN" / "LC_MESSAGES" / "notebooks.po"


def notebook_texts() -> dict[str, list[str]]:
    """{text: the notebooks that give it to a check} over every source notebook (make messages)."""
    import nbformat

    from autograder.i18n.extract import notebook_messages

    texts: dict[str, list[str]] = {}
    for path in sorted((REPO / "grading" / "source").glob("*/*.ipynb")):
        for text in notebook_messages(nbformat.read(str(path), as_version=4)):
            texts.setdefault(text, []).append(path.parent.name)
    return texts


def template_fields(text: str) -> list[str]:
    """The {fields} of a notebook text as written (f-string fields hold code: {np.mean(x):.3f})."""
    return sorted(re.findall(r"\{[^{}]*\}", text))


def test_every_notebook_has_check_texts():
    """The extraction sees all eight notebooks (an extractor that finds nothing passes nothing)."""
    notebooks = {aid for aids in notebook_texts().values() for aid in aids}
    assert notebooks == {p.parent.name for p in (REPO / "grading" / "source").glob("*/*.ipynb")}
    assert len(notebooks) == 8


def test_notebooks_catalogue_translates_every_check_text_in_use():
    used = notebook_texts()
    with open(NOTEBOOKS_PO, "rb") as f:
        cat = read_po(f)
    ids = {m.id for m in cat if m.id}
    missing = [f"{aids[0]}: {text!r}" for text, aids in used.items() if text not in ids]
    assert missing == [], f"not in notebooks.po (run make messages and translate them): {missing}"
    assert sorted(ids - set(used)) == [], "in notebooks.po but in no source notebook (run make messages)"
    untranslated = [m.id for m in cat if m.id and (not m.string or m.fuzzy)]
    assert untranslated == [], f"untranslated or fuzzy in notebooks.po: {untranslated}"


def test_notebooks_catalogue_keeps_the_fields_and_is_chinese():
    with open(NOTEBOOKS_PO, "rb") as f:
        cat = read_po(f)
    wrong = [f"{m.id!r}: {m.string!r}" for m in cat
             if m.id and template_fields(m.string) != template_fields(m.id)]
    assert wrong == [], f"a translation must keep each {{field}} of its English exactly: {wrong}"
    # A name made only of code may stay as it is; any other text says something in Chinese.
    english = [m.id for m in cat if m.id and m.string == m.id and re.search(r"[a-z]{3,} [a-z]{3,}", m.id)]
    assert english == [], f"left in English: {english}"
