"""Collecting submissions: grading/submitted/<student>/<id>/<id>.ipynb and hand-in zips.

Zips are read without extracting anything to disk; unsafe paths, zip bombs and
oversized notebooks are rejected with a reason that becomes the student's grade row.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autograder.course import Course

STUDENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_ZIP_MEMBERS = 50
MAX_ZIP_RATIO = 200


@dataclass
class Submission:
    """One student's notebook for one assignment (or why it cannot be graded)."""

    student: str
    assignment: str
    origin: str
    notebook: str | None = None
    reject: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.student, self.assignment


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with zf.open(info) as f:
        data = f.read(MAX_NOTEBOOK_BYTES + 1)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"{info.filename} is larger than {MAX_NOTEBOOK_BYTES} bytes")
    return data


def read_zip(path: Path, assignment: str) -> tuple[str | None, str | None]:
    """The notebook text inside a hand-in zip, or a reason to reject it.

    Accepts exactly one `<assignment>.ipynb` (at the top or in one folder). Rejects absolute
    or `..` member paths, too many members, and archives whose uncompressed size is too big
    or too compressed (zip bombs). Nothing is extracted to disk.
    Returns: (text, None) or (None, reason).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:
                return None, f"rejected zip: {len(infos)} files (at most {MAX_ZIP_MEMBERS})"
            for info in infos:
                name = info.filename
                parts = name.replace("\\", "/").split("/")
                if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name):
                    return None, f"rejected zip: unsafe path {name!r} (path traversal)"
                if info.file_size > MAX_NOTEBOOK_BYTES or (
                        info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO
                        and info.file_size > 2**20):
                    return None, f"rejected zip: {name!r} expands to {info.file_size} bytes (zip bomb?)"
            total = sum(i.file_size for i in infos)
            if total > 4 * MAX_NOTEBOOK_BYTES:
                return None, f"rejected zip: {total} bytes uncompressed in all"
            wanted = [i for i in infos if i.filename.replace("\\", "/").split("/")[-1] == f"{assignment}.ipynb"
                      and len(i.filename.replace("\\", "/").strip("/").split("/")) <= 2]
            if len(wanted) != 1:
                return None, f"rejected zip: expected one {assignment}.ipynb inside, found {len(wanted)}"
            data = _read_member(zf, wanted[0])
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError) as exc:
        return None, f"rejected zip: {exc}"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, "rejected zip: the notebook is not UTF-8 text"


def collect(course: Course, ids: list[str], student: str | None = None,
            zips: Path | None = None) -> tuple[list[Submission], list[str]]:
    """All submissions to grade: grading/submitted/<student>/<id>/<id>.ipynb and <zips>/<student>_<id>.zip.

    A zip replaces the same student's submitted/ notebook. Returns: (submissions sorted by
    assignment then student, problems that could not be tied to a student and assignment).
    """
    found: dict[tuple[str, str], Submission] = {}
    problems: list[str] = []
    _from_submitted(course.root / "submitted", ids, student, found, problems)
    if zips is not None:
        _from_zips(Path(zips), ids, student, found, problems)
    subs = sorted(found.values(), key=lambda s: (s.assignment, s.student))
    return subs, problems


def _from_submitted(sub_root: Path, ids: list[str], student: str | None,
                    found: dict, problems: list[str]) -> None:
    """Notebooks in nbgrader's submitted/<student>/<id>/<id>.ipynb."""
    if not sub_root.is_dir():
        return
    for sdir in sorted(sub_root.iterdir()):
        if not sdir.is_dir() or (student and sdir.name != student):
            continue
        for aid in ids:
            path = sdir / aid / f"{aid}.ipynb"
            if not path.exists():
                continue
            if not STUDENT_RE.match(sdir.name):
                problems.append(f"{path}: student folder name {sdir.name!r} is not a valid student id")
                continue
            sub = Submission(sdir.name, aid, str(path))
            if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                sub.reject = f"notebook larger than {MAX_NOTEBOOK_BYTES} bytes"
            else:
                sub.notebook = path.read_text(encoding="utf-8", errors="replace")
            found[sub.key] = sub


def _from_zips(zips: Path, ids: list[str], student: str | None, found: dict, problems: list[str]) -> None:
    """Hand-ins named <student>_<id>.zip in one folder."""
    if not zips.is_dir():
        raise ValueError(f"--zips {zips}: not a folder")
    for path in sorted(zips.glob("*.zip")):
        match = next(((path.name[: -len(f"_{aid}.zip")], aid) for aid in ids
                      if path.name.endswith(f"_{aid}.zip")), None)
        if match is None:
            problems.append(f"{path.name}: not named <student>_<assignment>.zip for a known assignment")
            continue
        name, aid = match
        if not STUDENT_RE.match(name):
            problems.append(f"{path.name}: {name!r} is not a valid student id")
            continue
        if student and name != student:
            continue
        text, reason = read_zip(path, aid)
        found[(name, aid)] = Submission(name, aid, str(path), text, reason)
