"""The source format of the Chinese text: a markdown cell's translation lives in its metadata.

    cell.metadata["cs231n"]["zh"] = {"source": "<the cell's Chinese markdown>",
                                     "en_sha": "<first 12 hex digits of sha256(English source)>"}

`en_sha` records which English text the translation was made from, so a translation whose
English has changed since is found (`status` -> "stale") instead of drifting silently. Every
markdown cell of a source notebook needs one, except written-answer cells (nbgrader
solution cells: their model answer is for instructors; the release replaces it by a stub).
Other keys of `metadata.cs231n` are kept.
"""

from __future__ import annotations

import difflib
import hashlib
import subprocess
from pathlib import Path

from autograder.notebook import nbgrader_meta

META_KEY = "cs231n"
ZH_KEY = "zh"
SHA_DIGITS = 12

MISSING, STALE, OK, NOT_NEEDED = "missing", "stale", "ok", "not needed"


def en_sha(text: str) -> str:
    """The first 12 hex digits of sha256 of the English text (utf-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:SHA_DIGITS]


def cell_source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def needs_translation(cell) -> bool:
    """True for a markdown cell other than a written answer (nbgrader solution cell)."""
    return cell.get("cell_type") == "markdown" and not nbgrader_meta(cell).get("solution")


def translation(cell) -> dict | None:
    """The cell's {"source", "en_sha"}, or None when it has none (or a malformed one)."""
    zh = cell.get("metadata", {}).get(META_KEY, {}).get(ZH_KEY)
    if isinstance(zh, dict) and isinstance(zh.get("source"), str) and isinstance(zh.get("en_sha"), str):
        return zh
    return None


def zh_source(cell) -> str | None:
    """The cell's Chinese markdown, or None."""
    zh = translation(cell)
    return zh["source"] if zh else None


def status(cell) -> str:
    """"ok", "missing", "stale" (the English changed since the translation) or "not needed"."""
    if not needs_translation(cell):
        return NOT_NEEDED
    zh = translation(cell)
    if zh is None or not zh["source"].strip():
        return MISSING
    return OK if zh["en_sha"] == en_sha(cell_source(cell)) else STALE


def set_translation(cell, text: str) -> None:
    """Store `text` as the cell's Chinese, made from its current English source.

    Raises ValueError when the cell is not one that takes a translation or `text` is empty.
    """
    if not needs_translation(cell):
        kind = "a written-answer cell" if cell.get("cell_type") == "markdown" else f"a {cell.get('cell_type')} cell"
        raise ValueError(f"cell {cell.get('id')!r} is {kind}: only teaching markdown cells take a translation")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"cell {cell.get('id')!r}: the Chinese text is empty")
    meta = cell.setdefault("metadata", {}).setdefault(META_KEY, {})
    meta[ZH_KEY] = {"source": text.rstrip("\n"), "en_sha": en_sha(cell_source(cell))}


def stamp(cell) -> None:
    """Mark the cell's translation as made from its current English (after checking it still fits).

    Raises ValueError when the cell has no translation.
    """
    zh = translation(cell)
    if zh is None:
        raise ValueError(f"cell {cell.get('id')!r} has no Chinese text to mark as current")
    zh["en_sha"] = en_sha(cell_source(cell))


def find_cell(nb, cell_id: str):
    """The cell whose id is `cell_id`. Raises ValueError naming the id and the closest ids."""
    for cell in nb.cells:
        if cell.get("id") == cell_id:
            return cell
    ids = [c.get("id", "") for c in nb.cells]
    close = difflib.get_close_matches(cell_id, ids, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"--cell {cell_id!r}: no cell with that id in the notebook{hint}")


def without_translations(nb) -> None:
    """Remove every cell's Chinese text from `nb` (in place): releases carry none."""
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        ours = meta.get(META_KEY)
        if isinstance(ours, dict) and ZH_KEY in ours:
            del ours[ZH_KEY]
            if not ours:
                del meta[META_KEY]


def first_changed_line(old: str, new: str) -> str:
    """The first line of `new` that differs from `old` ("(lines removed)" when `new` only lost lines)."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for i, line in enumerate(new_lines):
        if i >= len(old_lines) or old_lines[i] != line:
            return line
    return "(lines removed at the end)"


def english_at(path: Path, cell_id: str, sha: str, max_commits: int = 300) -> str | None:
    """The English source of cell `cell_id` whose en_sha is `sha`, from the git history of the
    notebook at `path` (None when git or no version of the history has it)."""
    import json

    path = Path(path).resolve()
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=path.parent,
                             capture_output=True, text=True, timeout=30).stdout.strip()
        rel = path.relative_to(Path(top).resolve()).as_posix()
        commits = subprocess.run(["git", "log", f"-{max_commits}", "--format=%H", "--", rel], cwd=top,
                                 capture_output=True, text=True, timeout=60).stdout.split()
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    for commit in commits:
        shown = subprocess.run(["git", "show", f"{commit}:{rel}"], cwd=top, capture_output=True,
                               text=True, timeout=60)
        if shown.returncode:
            continue
        try:
            cells = json.loads(shown.stdout).get("cells", [])
        except ValueError:
            continue
        for cell in cells:
            if cell.get("id") == cell_id and en_sha(cell_source(cell)) == sha:
                return cell_source(cell)
    return None
