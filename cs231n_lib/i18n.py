"""The student's language, and the course's message catalogues (gettext).

Every message a student reads is written in English in the code and wrapped for gettext:

    from cs231n_lib.i18n import Messages
    _ = Messages("cs231n_lib").gettext
    print(_("PASS  {name}").format(name=name))

Its translations are gettext catalogues kept as `.po` sources in the repository,
`<package>/locale/<ll_CC>/LC_MESSAGES/<domain>.po` (`zh_CN` for Chinese). They are compiled
when first used in a process, in memory, with Babel (installed with JupyterLab, which every
student and the grader have): the `.po` file is the one source, with no compiled `.mo` to
rebuild or to fall out of date. English is the fallback: a message without a translation, a
language without a catalogue, or a machine without Babel prints the English.
`make messages` refreshes the catalogues from the code (pybabel extract + update).

The language is the notebook's, never the locale's (LANG, LC_ALL: a student's machine may be
set to any of them). `language()` is, in this order:

1. the language of a `use(lang)` block (the grader and `make submit`, for the notebook they check);
2. `$CS231N_LANG` (what the grader and `make submit` give the kernels that run a notebook);
3. the language of the notebook this kernel runs: Jupyter Server starts each notebook's kernel
   with `$JPY_SESSION_NAME` set to the notebook's path, and the Chinese edition records
   `"lang": "zh-CN"` in its metadata (`metadata.cs231n.lang`);
4. `$CS231N_LAB_LANG`, the edition `make lab` was started with (`make lab LANG=zh`): for a kernel
   the server starts without a notebook session, as nbgrader's Validate button does;
5. English.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gettext
import io
import json
import os
import re
from pathlib import Path

ENGLISH = "en"
CHINESE = "zh-CN"
LANGUAGES = (ENGLISH, CHINESE)
ENV_VAR = "CS231N_LANG"
LAB_VAR = "CS231N_LAB_LANG"
SESSION_VAR = "JPY_SESSION_NAME"

_USE: contextvars.ContextVar[str | None] = contextvars.ContextVar("cs231n_language", default=None)


def normalise(value: str | None) -> str:
    """A language code as the course names it: "zh-CN" for zh, zh_CN, zh-CN.UTF-8, ...;
    "en" for anything else (en, C, empty, a language without a catalogue)."""
    v = (value or "").strip().lower().replace("_", "-")
    return CHINESE if v.startswith("zh") else ENGLISH


@functools.lru_cache(maxsize=64)
def _notebook_language(path: str, mtime: float) -> str:
    """metadata.cs231n.lang of the notebook file at `path` (English when unreadable)."""
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f).get("metadata", {}).get("cs231n", {})
        return normalise(meta.get("lang")) if isinstance(meta, dict) else ENGLISH
    except (OSError, ValueError, AttributeError):
        return ENGLISH


def notebook_language(path: str | os.PathLike | None) -> str:
    """The language recorded in the notebook at `path` ("en" when none, or no such notebook)."""
    if not path:
        return ENGLISH
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return ENGLISH
    return _notebook_language(os.fspath(path), mtime)


def language() -> str:
    """The language messages are printed in now (see the module's docstring)."""
    chosen = _USE.get()
    if chosen:
        return chosen
    if os.environ.get(ENV_VAR):
        return normalise(os.environ[ENV_VAR])
    if os.environ.get(SESSION_VAR):
        return notebook_language(os.environ[SESSION_VAR])
    return normalise(os.environ.get(LAB_VAR))


@contextlib.contextmanager
def use(lang: str | None):
    """Print messages in `lang` inside the block (this thread or task only)."""
    token = _USE.set(normalise(lang))
    try:
        yield
    finally:
        _USE.reset(token)


def locale_dir_name(lang: str) -> str:
    """The catalogue folder of a language: zh-CN -> zh_CN."""
    return lang.replace("-", "_")


@functools.lru_cache(maxsize=32)
def catalogue(localedir: str, domain: str, lang: str) -> gettext.NullTranslations:
    """The translations of `domain` in `lang`, compiled in memory from its .po source.

    A missing catalogue, or no Babel, gives NullTranslations (English).
    """
    if lang == ENGLISH:
        return gettext.NullTranslations()
    po = Path(localedir) / locale_dir_name(lang) / "LC_MESSAGES" / f"{domain}.po"
    try:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
    except ImportError:
        return gettext.NullTranslations()
    try:
        with open(po, "rb") as f:
            compiled = io.BytesIO()
            write_mo(compiled, read_po(f), use_fuzzy=False)
    except OSError:
        return gettext.NullTranslations()
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


_FIELD = re.compile(r"\{[^{}]*\}")


@functools.lru_cache(maxsize=32)
def templates(localedir: str, domain: str, lang: str) -> tuple:
    """The translated messages of `domain` that hold {fields}, as (pattern, fields, translation).

    A text written as an f-string in a notebook (f"k={k}") reaches the checks already filled in
    ("k=3"); its message is the template `k={k}`, whose pattern matches the filled text.
    """
    out = []
    for msgid, msgstr in getattr(catalogue(localedir, domain, lang), "_catalog", {}).items():
        if isinstance(msgid, str) and msgstr and _FIELD.search(msgid):
            pattern = "(.*?)".join(re.escape(part) for part in _FIELD.split(msgid))
            out.append((re.compile(pattern, re.S), _FIELD.findall(msgid), msgstr))
    return tuple(out)


def _fill(msgstr: str, values: dict) -> str:
    """msgstr with each {field} replaced by its value (a field without one stays as written)."""
    return _FIELD.sub(lambda m: values.get(m.group(0), m.group(0)), msgstr)


class Messages:
    """The messages of one domain, translated into `language()` at the moment they are asked for.

    Inputs: domain, the catalogue's name (`<domain>.po`); localedir, the folder holding
    `<ll_CC>/LC_MESSAGES/` (default: cs231n_lib/locale/).
    """

    def __init__(self, domain: str, localedir: str | os.PathLike | None = None):
        self.domain = domain
        self.localedir = os.fspath(localedir or Path(__file__).resolve().parent / "locale")

    def translations(self, lang: str | None = None) -> gettext.NullTranslations:
        return catalogue(self.localedir, self.domain, normalise(lang) if lang else language())

    def gettext(self, message: str) -> str:
        """`message` in the current language (itself when untranslated)."""
        return self.translations().gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural form for `n`, in the current language."""
        return self.translations().ngettext(singular, plural, n)

    def text(self, text):
        """A text a notebook wrote (a check's name or hint), in the current language: its
        translation, or, for what an f-string printed, its template's translation with each {field}
        filled as in `text`; `text` itself when neither (and anything that is not a str)."""
        if not isinstance(text, str) or not text:
            return text
        lang = language()
        translations = self.translations(lang)
        translated = translations.gettext(text)
        if translated != text or not isinstance(translations, gettext.GNUTranslations):
            return translated  # translated, or English (no catalogue)
        for pattern, fields, msgstr in templates(self.localedir, self.domain, lang):
            match = pattern.fullmatch(text)
            if match:
                return _fill(msgstr, dict(zip(reversed(fields), reversed(match.groups()))))
        return text

    def every(self, message: str) -> tuple[str, ...]:
        """`message` in every language of the course (to recognise it in either edition's output)."""
        return tuple(dict.fromkeys(self.translations(lang).gettext(message) for lang in LANGUAGES))
