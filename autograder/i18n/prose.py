"""Telling a markdown cell's sentences from what is not translated: code, formulas, links, comments.

`segments(text)` cuts markdown into (kind, text) pieces, in order:

| kind | what |
|---|---|
| `text` | sentences (and a link's label) |
| `fence` | a fenced code block, ``` or ~~~ |
| `code` | an inline code span, `...` (any number of backticks) |
| `math` | $...$, \\(...\\) |
| `display` | $$...$$, \\[...\\], \\begin{...}...\\end{...} |
| `comment` | <!-- ... --> |
| `html` | an HTML tag (its text between tags stays `text`) |
| `url` | a link's target, an <autolink> or a bare http(s):// address |

Both editions must hold the same formulas, code spans and link targets (`invariants`), and
the Chinese edition's `text` pieces may hold no English but names (glossary.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPANS = [
    ("comment", r"<!--.*?-->"),
    ("fence", r"^[ \t]*(?P<fence>`{3,}|~{3,})[^\n]*\n.*?^[ \t]*(?P=fence)[ \t]*$"),
    ("display", r"\$\$.+?\$\$"),
    ("display", r"\\\[.+?\\\]"),
    ("display", r"\\begin\{(?P<env>[a-zA-Z*]+)\}.*?\\end\{(?P=env)\}"),
    ("code", r"(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`)"),
    # As Jupyter's renderer: any unescaped $...$ pair is a formula (within a paragraph).
    ("math", r"(?<![\\$])\$(?!\$)(?:\\.|(?!\n[ \t]*\n)[^$\\])+?\$(?!\$)"),
    ("math", r"\\\(.+?\\\)"),
    ("link", r"!?\[(?P<label>[^\]\n]*)\]\((?P<target>[^)\s]*)(?:[ \t]+\"[^\"\n]*\")?\)"),
    ("url", r"<(?:https?|mailto|ftp):[^>\s]*>"),
    ("url", r"\bhttps?://[^\s)>\]`]+"),
    ("html", r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"),
]
_SCAN = re.compile("|".join(f"(?P<k{i}>{pattern})" for i, (_, pattern) in enumerate(_SPANS)),
                   re.M | re.S)

# Chinese characters (CJK ideographs) and the full-width punctuation that goes with them.
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RE = re.compile(f"[{CJK}]")


@dataclass(frozen=True)
class Segment:
    kind: str
    text: str


def segments(markdown: str) -> list[Segment]:
    """The markdown cut into Segments, in order (a link gives its label as `text`, its target as `url`)."""
    out: list[Segment] = []
    pos = 0
    for m in _SCAN.finditer(markdown):
        if m.start() > pos:
            out.append(Segment("text", markdown[pos:m.start()]))
        index = int(next(name for name, value in m.groupdict().items()
                         if value is not None and name.startswith("k"))[1:])
        kind = _SPANS[index][0]
        if kind == "link":
            out.extend(segments(m.group("label")))
            out.append(Segment("url", m.group("target")))
        else:
            out.append(Segment(kind, m.group(0)))
        pos = m.end()
    if pos < len(markdown):
        out.append(Segment("text", markdown[pos:]))
    return out


def prose(markdown: str) -> str:
    """The sentences of `markdown` alone: every other segment becomes one space."""
    return "".join(s.text if s.kind == "text" else " " for s in segments(markdown))


def invariants(markdown: str) -> dict[str, set[str]]:
    """What both editions of a cell must hold: its formulas, code spans, fenced blocks, link
    targets and HTML comments (markers such as <!-- points-table -->), as
    {"math": {...}, "code": {...}, "url": {...}, "comment": {...}}, spacing normalised."""
    found: dict[str, set[str]] = {"math": set(), "code": set(), "url": set(), "comment": set()}
    for s in segments(markdown):
        kind = {"display": "math", "fence": "code"}.get(s.kind, s.kind)
        if kind in found:
            found[kind].add(" ".join(s.text.split()))
    return found


def heading_levels(markdown: str) -> list[int]:
    """The level of each ATX heading (# ... ######) outside code, in order."""
    text = "".join(s.text if s.kind == "text" else ("" if s.kind == "fence" else "x")
                   for s in segments(markdown))
    return [len(m.group(1)) for m in re.finditer(r"^[ \t]{0,3}(#{1,6})[ \t]", text, re.M)]


# A word in Latin letters as it may stand in a Chinese sentence: letters, then letters, digits
# and the joiners of names (CIFAR-10, np.sum, 01_knn.ipynb, don't).
WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_'’]*(?:[-./][A-Za-z0-9_]+)*")


def is_code_like(word: str) -> bool:
    """A word that is a name from code or data, not English: it holds a digit, an underscore, a
    dot, a slash, or a capital after a small letter (KNearestNeighbor), or is one letter."""
    return (len(word) == 1 or any(ch.isdigit() or ch in "_./" for ch in word)
            or re.search(r"[a-z][A-Z]", word) is not None)


def latin_words(text: str) -> list[tuple[int, str]]:
    """(offset, word) of every word in Latin letters in `text` (already reduced to prose)."""
    return [(m.start(), m.group(0)) for m in WORD_RE.finditer(text)]


_HALF_NEXT_TO_CJK = re.compile(f"[{CJK}][,;:?!()]|[,;:?!()][{CJK}]|[{CJK}]\\.(?=\\s|$)")


def half_width_punctuation(text: str) -> list[str]:
    """Half-width punctuation touching Chinese characters in prose (should be ，；：？！（）。)."""
    return [m.group(0) for m in _HALF_NEXT_TO_CJK.finditer(text)]


def _is_punct(ch: str) -> bool:
    import unicodedata

    return unicodedata.category(ch)[0] in "PS"


def _flanking_fault(before: str, after: str, opening: bool) -> bool:
    """True when a `**` between `before` and `after` cannot open (or close) emphasis in
    CommonMark: a delimiter touching punctuation on its inner side needs whitespace or
    punctuation on its outer side. ("" is the start or end of the line.)"""
    inner, outer = (after, before) if opening else (before, after)
    return bool(inner) and _is_punct(inner) and bool(outer) and not outer.isspace() and not _is_punct(outer)


def unrendered_bold(text: str) -> list[str]:
    """Bold spans (`**...**`) that Jupyter's markdown shows with literal asterisks: in Chinese,
    a span that ends in full-width punctuation followed by a character (`**练习。**完成`) or
    starts with one after a character (`的**（SVM）**`). Code spans and formulas are skipped."""
    bad = []
    for line in text.splitlines():
        line = re.sub(r"`[^`]*`|\$[^$]*\$", lambda m: "x" * len(m.group(0)), line)
        for m in re.finditer(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", line):
            start, end = m.start(), m.end()
            before = line[start - 1] if start else ""
            after = line[end] if end < len(line) else ""
            if (_flanking_fault(before, m.group(1)[0], True)
                    or _flanking_fault(m.group(1)[-1], after, False)):
                bad.append(line[max(0, start - 2):end + 2])
    return bad
