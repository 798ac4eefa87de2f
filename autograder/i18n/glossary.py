"""The glossary of the Chinese edition and the checks it drives.

`i18n/glossary.zh-CN.csv` (columns english, chinese, first, avoid, note) gives each term its one
Chinese rendering (`english` may list spellings separated by `|`; `avoid`, variants not to use,
also separated by `|`; `first`, the first notebook whose English uses the term). A term whose
`chinese` is its English (softmax, ReLU) is kept in English. `i18n/english-names.zh-CN.txt`
lists the other English names a Chinese sentence may hold (numpy, CIFAR-10, JupyterLab, ...).

Checks of one cell (English source, Chinese text):
- `term_findings`: a term the English uses must appear in the Chinese as the glossary gives it,
  and no `avoid` variant may appear anywhere in the Chinese;
- `leftover_english`: words in Latin letters in the Chinese sentences that are neither names
  from code (is_code_like), nor allowed names, nor kept terms, nor a term's English written in
  brackets right after its Chinese (反向传播（backpropagation）).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder.i18n.prose import CJK, WORD_RE, is_code_like, prose

GLOSSARY_FILE = "glossary.zh-CN.csv"
NAMES_FILE = "english-names.zh-CN.txt"
COLUMNS = ["english", "chinese", "first", "avoid", "note"]
_FIRST_RE = re.compile(r"^[0-9]{2}_[a-z0-9_]+$")


def _phrase_pattern(phrase: str) -> str:
    """A regex for an English phrase: words joined by spaces or hyphens, the last one in the
    plural too, whole words only."""
    words = [re.escape(w) for w in re.split(r"[\s-]+", phrase.strip()) if w]
    body = r"[\s-]+".join(words)
    return rf"(?<![A-Za-z0-9_]){body}(?:s|es)?(?![A-Za-z0-9_])"


@dataclass(frozen=True)
class Term:
    """One glossary entry."""

    english: tuple[str, ...]
    chinese: str
    first: str
    avoid: tuple[str, ...] = ()
    note: str = ""
    pattern: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        # A spelling with a capital (SVM, ReLU, Adam) is matched as written, others in any case.
        forms = sorted(self.english, key=len, reverse=True)
        regex = "|".join(_phrase_pattern(e) if e.islower() else f"(?-i:{_phrase_pattern(e)})"
                         for e in forms)
        object.__setattr__(self, "pattern", re.compile(regex, re.I))

    @property
    def kept(self) -> bool:
        """True when the term stays in English in Chinese text (softmax, ReLU)."""
        return any(self.chinese.lower() == e.lower() for e in self.english)

    def spans(self, english_prose: str) -> list[tuple[int, int]]:
        """Where the term stands in English prose."""
        return [m.span() for m in self.pattern.finditer(english_prose)]

    def used_in(self, english_prose: str) -> bool:
        return bool(self.spans(english_prose))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


@dataclass(frozen=True)
class Glossary:
    """The terms and the allowed English names (see the module's docstring)."""

    terms: tuple[Term, ...]
    names: tuple[str, ...]

    def term_findings(self, english: str, chinese: str) -> list[str]:
        """What the Chinese text of a cell gets wrong against the glossary (empty when right).

        Inputs: english, the cell's English markdown; chinese, its Chinese markdown.
        """
        en, zh = prose(english), prose(chinese)
        zh_squashed = _squash(zh)
        findings = []
        for term in self.terms_used(en):
            if _squash(term.chinese) not in zh_squashed:
                findings.append(f"the English says {term.english[0]!r}: the glossary's Chinese "
                                f"{term.chinese!r} is not in the Chinese text")
        for term in self.terms:
            for variant in term.avoid:
                if _squash(variant) in zh_squashed:
                    findings.append(f"{variant!r} is not used in this course: write {term.chinese!r} "
                                    f"(glossary: {term.english[0]})")
        return findings

    def terms_used(self, english_prose: str) -> list[Term]:
        """The terms English prose uses, leaving out a term found only inside a longer one
        ("nearest neighbour" inside "k-nearest neighbours")."""
        found = [(term, span) for term in self.terms for span in term.spans(english_prose)]
        used = []
        for term, (a, b) in found:
            inside = any(other is not term and c <= a and b <= d and (d - c) > (b - a)
                         for other, (c, d) in found)
            if not inside and term not in used:
                used.append(term)
        return used

    def _allowed_spans(self, text: str) -> list[tuple[int, int]]:
        """Where `text` holds allowed English: names, kept terms, glossed terms."""
        spans = []
        for name in self.names:
            spans += [m.span() for m in re.finditer(_phrase_pattern(name), text)]
        for term in self.terms:
            if term.kept:
                spans += [m.span() for m in term.pattern.finditer(text)]
            # A gloss: the term's English in brackets right after Chinese text.
            gloss = rf"(?<=[{CJK}])[*_\s]*[（(]\s*(?:{term.pattern.pattern})\s*[）)]"
            spans += [m.span() for m in re.finditer(gloss, text, re.I)]
        return spans

    def leftover_english(self, chinese: str) -> list[str]:
        """The English words left in the sentences of a Chinese cell, in order, each once."""
        text = prose(chinese)
        spans = self._allowed_spans(text)
        words: list[str] = []
        for m in WORD_RE.finditer(text):
            if is_code_like(m.group(0)) or any(a <= m.start() and m.end() <= b for a, b in spans):
                continue
            if m.group(0) not in words:
                words.append(m.group(0))
        return words


def glossary_dir(course_root: Path) -> Path:
    """i18n/ beside the course folder (the checkout's root)."""
    return Path(course_root).resolve().parent / "i18n"


def read_terms(path: Path) -> tuple[Term, ...]:
    """The terms of a glossary CSV. Raises ValueError naming the file, the line and what is wrong."""
    terms, seen = [], {}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != COLUMNS:
            raise ValueError(f"{path}: the first line must be {','.join(COLUMNS)}, got {header}")
        for line, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip() or row[0].startswith("#"):
                continue
            if len(row) != len(COLUMNS):
                raise ValueError(f"{path}, line {line}: expected {len(COLUMNS)} columns, got {len(row)}")
            english, chinese, first, avoid, note = (c.strip() for c in row)
            if not english or not chinese:
                raise ValueError(f"{path}, line {line}: english and chinese must not be empty")
            if not _FIRST_RE.match(first):
                raise ValueError(f"{path}, line {line}: first must be a notebook id such as 01_knn, got {first!r}")
            forms = tuple(e.strip() for e in english.split("|") if e.strip())
            for form in forms:
                if form.lower() in seen:
                    raise ValueError(f"{path}, line {line}: {form!r} is already defined on line {seen[form.lower()]}")
                seen[form.lower()] = line
            variants = tuple(v.strip() for v in avoid.split("|") if v.strip())
            for v in variants:
                if _squash(v) in _squash(chinese):
                    raise ValueError(f"{path}, line {line}: the variant to avoid {v!r} is part of {chinese!r}")
            terms.append(Term(forms, chinese, first, variants, note))
    return tuple(terms)


def read_names(path: Path) -> tuple[str, ...]:
    """The allowed English names, one per line (blank lines and # comments skipped)."""
    names = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return tuple(sorted(set(names), key=len, reverse=True))


def load_glossary(folder: Path) -> Glossary:
    """The glossary in `folder` (i18n/). Raises ValueError when a file is missing or malformed."""
    folder = Path(folder)
    for name in (GLOSSARY_FILE, NAMES_FILE):
        if not (folder / name).is_file():
            raise ValueError(f"no glossary file {folder / name}")
    return Glossary(read_terms(folder / GLOSSARY_FILE), read_names(folder / NAMES_FILE))
