"""The message catalogues of both packages (cs231n_lib.i18n): every message the code wraps for
gettext has a Chinese translation with the same placeholders, and the catalogues hold nothing else.

The messages are read from the code's syntax tree (so a `_()` inside an f-string, which pybabel
cannot see, is found too): calls of `_`, `_n` and `Messages(...).gettext` / `.ngettext`. Their
first argument must be a string literal, or no catalogue could hold it.
"""

import ast
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
