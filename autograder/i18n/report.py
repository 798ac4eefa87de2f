"""What `python -m autograder translations` reports on a source notebook's Chinese text.

One Finding per problem, each naming the notebook, the cell id and what to do:

| kind | what |
|---|---|
| `missing` | a markdown cell that needs Chinese has none |
| `stale` | its English changed since the translation (with the first changed line) |
| `misplaced` | Chinese on a cell that takes none (a code cell, a written answer) |
| `glossary` | a term not as the glossary gives it, or a variant the glossary rules out |
| `english` | English words left in the Chinese sentences |
| `structure` | a formula, code span, link target, marker or heading of the English missing from the Chinese |
| `punctuation` | half-width punctuation touching Chinese characters |
| `markdown` | bold that Jupyter would show with its asterisks (`**练习。**完成`) |

The tests (tests/notebooks/test_translations.py) hold every notebook listed in i18n/translated.txt to no finding at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.i18n import source as zh
from autograder.i18n.glossary import Glossary
from autograder.i18n.prose import (
    half_width_punctuation,
    heading_levels,
    invariants,
    prose,
    unrendered_bold,
)

TRANSLATED_FILE = "translated.txt"


@dataclass(frozen=True)
class Finding:
    assignment: str
    cell_id: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.assignment} {self.cell_id}: {self.kind}: {self.message}"


def _clip(text: str, n: int = 100) -> str:
    text = text.strip()
    return text if len(text) <= n else text[: n - 1] + "…"


def structure_findings(english: str, chinese: str) -> list[str]:
    """What of the English's formulas, code, link targets, comments and headings the Chinese lacks."""
    found = []
    en, cn = invariants(english), invariants(chinese)
    names = {"math": "formula", "code": "code", "url": "link target", "comment": "marker"}
    for kind, label in names.items():
        for item in sorted(en[kind] - cn[kind]):
            found.append(f"{label} {_clip(item, 80)!r} of the English is not in the Chinese "
                         "(formulas, code, links and markers stay exactly as they are)")
        for item in sorted(cn[kind] - en[kind]):
            found.append(f"{label} {_clip(item, 80)!r} is in the Chinese but not in the English")
    if heading_levels(english) != heading_levels(chinese):
        found.append(f"headings differ: the English has levels {heading_levels(english)}, "
                     f"the Chinese {heading_levels(chinese)}")
    return found


def cell_findings(glossary: Glossary, english: str, chinese: str) -> list[tuple[str, str]]:
    """(kind, message) for the Chinese text of one cell against its English."""
    out = [("glossary", m) for m in glossary.term_findings(english, chinese)]
    words = glossary.leftover_english(chinese)
    if words:
        out.append(("english", "English left in the Chinese sentences: " + ", ".join(words[:12])
                    + (" …" if len(words) > 12 else "")
                    + " (translate it, put names from code in `backticks`, or add a name to "
                      "i18n/english-names.zh-CN.txt)"))
    out += [("structure", m) for m in structure_findings(english, chinese)]
    bad = half_width_punctuation(prose(chinese))
    if bad:
        out.append(("punctuation", "half-width punctuation next to Chinese: "
                    + ", ".join(repr(b) for b in bad[:8]) + " (use ，。：；？！（）)"))
    bold = unrendered_bold(chinese)
    if bold:
        out.append(("markdown", "bold that Jupyter shows with its asterisks (a ** touching full-width "
                    "punctuation inside needs a space or punctuation outside): "
                    + ", ".join(repr(b) for b in bold[:6]) + " (move the punctuation out: **练习**。)"))
    return out


def notebook_findings(nb, assignment: str, glossary: Glossary, path: Path | None = None) -> list[Finding]:
    """Every Finding of one source notebook. `path` (its file) lets a stale cell name the first
    changed line, from the English the translation was made from in the git history."""
    findings = []
    for cell in nb.cells:
        cid = str(cell.get("id", "?"))
        state = zh.status(cell)
        english = zh.cell_source(cell)
        if state == zh.NOT_NEEDED:
            if zh.translation(cell) is not None:
                findings.append(Finding(assignment, cid, "misplaced",
                                        f"a {cell.get('cell_type')} cell that takes no translation "
                                        "holds Chinese text; remove it"))
            continue
        if state == zh.MISSING:
            findings.append(Finding(assignment, cid, "missing",
                                    f"no Chinese text (English starts {_clip(english, 70)!r})"))
            continue
        if state == zh.STALE:
            sha = zh.translation(cell)["en_sha"]
            old = zh.english_at(path, cid, sha) if path is not None else None
            line = (zh.first_changed_line(old, english) if old is not None
                    else "(the English it was made from is not in the git history)")
            findings.append(Finding(assignment, cid, "stale",
                                    f"the English changed since the translation; first changed line: "
                                    f"{_clip(line)!r}. Update the Chinese (translations set) or, if it "
                                    "still says the same, translations stamp"))
        for kind, message in cell_findings(glossary, english, zh.zh_source(cell)):
            findings.append(Finding(assignment, cid, kind, message))
    return findings


def counts(nb) -> dict[str, int]:
    """How many cells are ok, missing and stale."""
    out = {zh.OK: 0, zh.MISSING: 0, zh.STALE: 0}
    for cell in nb.cells:
        state = zh.status(cell)
        if state in out:
            out[state] += 1
    return out


def translated_ids(i18n_dir: Path) -> list[str]:
    """The notebooks whose Chinese edition is complete (i18n/translated.txt, one id per line):
    released in Chinese and held to no finding by the tests."""
    path = Path(i18n_dir) / TRANSLATED_FILE
    if not path.is_file():
        return []
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            ids.append(line)
    return ids


def side_by_side(nb, assignment: str) -> str:
    """A markdown review document: each markdown cell's English, then its Chinese, with its id and state."""
    parts = [f"# {assignment}: English and Chinese, cell by cell\n"]
    for cell in nb.cells:
        state = zh.status(cell)
        if state == zh.NOT_NEEDED:
            continue
        parts.append(f"\n---\n\n## cell `{cell.get('id')}` ({state})\n\n### English\n\n"
                     f"{zh.cell_source(cell)}\n\n### 中文\n\n{zh.zh_source(cell) or '(missing)'}\n")
    return "".join(parts)
