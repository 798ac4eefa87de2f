"""The Chinese edition of a notebook, made from the English one and the source's Chinese text.

Every markdown cell gets the Chinese of the source cell with the same id; code cells, cell ids,
nbgrader fields, grade ids and points stay as they are. A written-answer stub becomes the
Chinese stub (ZH_STUB). Locked and graded cells get their nbgrader checksum recomputed for
their new text, so nbgrader's Validate and `make submit` see no edited locked cell. The
notebook records its language in `metadata.cs231n.lang` (absent: English).

When grading, `to_grading_form` turns an unanswered Chinese stub back into nbgrader's English
one, so that nbgrader recognises it as unanswered exactly as in the English edition.
"""

from __future__ import annotations

import copy

from autograder.i18n import source as zh
from autograder.notebook import nbgrader_meta

ZH = "zh-CN"
LANGS = ("en", ZH)
META_KEY = "cs231n"
EN_STUB = "YOUR ANSWER HERE"      # nbgrader's ClearSolutions.text_stub
ZH_STUB = "在此写下你的答案"
UNTRANSLATED = "（此段尚未翻译）"


def language(nb) -> str:
    """The notebook's language: "zh-CN" for the Chinese edition, else "en"."""
    meta = nb.get("metadata", {}).get(META_KEY, {})
    lang = meta.get("lang") if isinstance(meta, dict) else None
    return lang if lang in LANGS else "en"


def normalise_lang(value: str | None) -> str:
    """"zh-CN" for zh, zh_CN, zh-CN, zh_CN.UTF-8, chinese...; "en" for anything else (en, C, empty)."""
    v = (value or "").strip().lower().replace("_", "-")
    return ZH if v.startswith("zh") or v == "chinese" else "en"


def is_unanswered(cell) -> bool:
    """A written-answer cell still holding the stub of either edition."""
    m = nbgrader_meta(cell)
    text = zh.cell_source(cell).strip()
    return (cell.get("cell_type") == "markdown" and bool(m.get("solution")) and bool(m.get("grade"))
            and text in (EN_STUB, ZH_STUB))


def _rechecksum(cell) -> None:
    from nbgrader.utils import compute_checksum

    meta = nbgrader_meta(cell)
    if "checksum" in meta:
        meta["checksum"] = compute_checksum(cell)


def chinese_edition(released, source_nb, draft: bool = False):
    """The Chinese edition of `released` (an English notebook made from `source_nb`).

    Inputs: released, the English release (nbgrader's output, or a source notebook for a
    preview); source_nb, the source notebook holding the Chinese text; draft, True to keep the
    English of an untranslated cell (marked UNTRANSLATED) instead of refusing.
    Returns: a new notebook. Raises ValueError naming the cells without Chinese text (not draft).
    """
    nb = copy.deepcopy(released)
    chinese = {c.get("id"): zh.zh_source(c) for c in source_nb.cells if zh.needs_translation(c)}
    missing = []
    for cell in nb.cells:
        if cell.get("cell_type") != "markdown":
            continue
        if nbgrader_meta(cell).get("solution"):
            if zh.cell_source(cell).strip() == EN_STUB:
                cell.source = ZH_STUB
                _rechecksum(cell)
            continue
        text = chinese.get(cell.get("id"))
        if text is None and cell.get("id") in chinese:
            if not draft:
                missing.append(str(cell.get("id")))
                continue
            text = f"{UNTRANSLATED}\n\n{zh.cell_source(cell)}"
        if text is not None:
            cell.source = text
            _rechecksum(cell)
    if missing:
        raise ValueError(f"no Chinese text for cell(s) {', '.join(missing)}: see "
                         "python -m autograder translations --assignment <id>")
    zh.without_translations(nb)
    nb.metadata.setdefault(META_KEY, {})["lang"] = ZH
    return nb


def to_grading_form(nb) -> int:
    """Give unanswered written answers of a Chinese submission nbgrader's English stub (in place),
    so that nbgrader scores them as unanswered as it does in the English edition.
    Returns: how many cells were changed."""
    changed = 0
    for cell in nb.cells:
        if is_unanswered(cell) and zh.cell_source(cell).strip() == ZH_STUB:
            cell.source = EN_STUB
            changed += 1
    return changed


def grading_text(notebook_text: str) -> str:
    """The submitted notebook's text as nbgrader grades it: `to_grading_form` applied to a Chinese
    submission (any other text is returned as it is)."""
    import nbformat

    try:
        nb = nbformat.reads(notebook_text, as_version=4)
    except Exception:
        return notebook_text
    if language(nb) != ZH or not to_grading_form(nb):
        return notebook_text
    return nbformat.writes(nb)


def restore_chinese(graded, source_nb) -> None:
    """Put the Chinese text back into the markdown cells of a graded Chinese submission (in place):
    nbgrader's autograde restores locked cells from the English source, and the feedback page
    of a Chinese submission shows them in Chinese. Written answers are the student's and stay."""
    chinese = {c.get("id"): zh.zh_source(c) for c in source_nb.cells if zh.needs_translation(c)}
    for cell in graded.cells:
        if is_unanswered(cell):
            cell.source = ZH_STUB
        if cell.get("cell_type") != "markdown" or nbgrader_meta(cell).get("solution"):
            continue
        if not nbgrader_meta(cell).get("locked"):
            continue
        text = chinese.get(cell.get("id"))
        if text:
            cell.source = text
