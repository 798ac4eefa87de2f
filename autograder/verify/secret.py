"""The course's held-out key: the secret that draws the held-out images of the open-ended tasks.

A `Check(secret=True)` (see `heldout.py`) draws its cases from a generator seeded with this
key instead of the public case seed, so the images it scores are known to nobody who has not
read the key. The key is 32 random bytes kept as hex in `<course>/heldout.key` (git-ignored,
readable by its owner only), made the first time a course grades such a check and kept, so
that grading the same notebook again gives the same score. The sandbox never sees the course
folder. Deleting the file gives the course new held-out images (regrade with `--force`).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

KEY_FILE = "heldout.key"
_KEY_BYTES = 32


class HeldoutKeyError(ValueError):
    """The held-out key file exists but cannot be used (or cannot be made)."""


def course_key(course_root: str | Path) -> bytes:
    """The course's held-out key, made (atomically, once) when the course has none yet.

    Inputs: course_root, the course folder (grading/).
    Returns: the key, 32 bytes.
    Raises HeldoutKeyError (a ValueError) naming the file when it is malformed or cannot be written.
    """
    path = Path(course_root) / KEY_FILE
    if not path.exists():
        _make(path)
    try:
        text = path.read_text().strip()
        key = bytes.fromhex(text)
    except (OSError, ValueError) as exc:
        raise HeldoutKeyError(f"{path}: not a held-out key ({exc}); delete it to make a new one "
                        "(the held-out images change: regrade with --force)") from None
    if len(key) != _KEY_BYTES:
        raise HeldoutKeyError(f"{path}: a held-out key is {2 * _KEY_BYTES} hex digits, found {len(text)} "
                        "characters; delete it to make a new one (the held-out images change: "
                        "regrade with --force)")
    return key


def _make(path: Path) -> None:
    """Write a new key to `path` unless another process got there first (a link never replaces)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".heldout-", dir=path.parent)
    except OSError as exc:
        raise HeldoutKeyError(f"cannot make the held-out key {path} ({exc.strerror or exc}): the "
                        "open-ended tasks need it; make the course folder writable") from None
    try:
        with os.fdopen(fd, "w") as f:          # mkstemp's file is readable by its owner only
            f.write(secrets.token_hex(_KEY_BYTES) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass                               # another grading process made it: use theirs
    finally:
        os.unlink(tmp)
