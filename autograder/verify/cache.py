"""The expected-answers cache: each assignment's cases and expected answers, computed once.

`runner.prepare` draws every check's cases and computes the reference solutions' answers:
the same for every submission of an assignment, and for the open-ended tasks seconds of
work (the held-out images). `prepared(course_root, aid, checks)` computes them once per
course content and keeps them in `<course>/.cache/verify/<id>-<fingerprint>.pickle`, where
every grading process (the batch's workers, a Dask worker seeing the same course folder, the
next `make autograde`) reads them instead of computing them again.

The fingerprint is a SHA-256 of everything the answers are made from: the spec files
(`<course>/verify/*.py`), the assignment's source folder, the held-out key (its hash), the
sources of `cs231n_lib` and `autograder`, the versions of Python, numpy, scipy and
scikit-learn, and the dataset in use (the CIFAR-10 folder's files, their sizes and times, or
their absence). Any change gives another file name, so a changed spec, reference solution,
key or dataset never reuses stale answers; the old file of that assignment is removed.

The file is written atomically (`cs231n_lib.atomic`) by one process at a time (a lock file
beside it; processes that wait read what the first one wrote). A file that cannot be read,
or whose content does not match its name, is computed and written again. It holds the
held-out images and their labels, so it is readable by its owner only and lives in the
course folder, which the sandbox never sees. It is a pickle because only the grader writes
and reads it (the same trust as the spec files it is made from) and it must give back the
answers exactly as computed; nothing from a student crosses it (that boundary is `plain.py`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import pickle
import platform
import sys
from pathlib import Path

from cs231n_lib.atomic import atomic_path

FORMAT = 1
CACHE_DIR = Path(".cache") / "verify"


def cache_dir(course_root: str | Path) -> Path:
    return Path(course_root) / CACHE_DIR


def fonts_dir(course_root: str | Path) -> Path:
    """Where the verifier's matplotlib font list is kept (`runner._font_list`), per matplotlib version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        mpl = version("matplotlib")
    except PackageNotFoundError:
        mpl = "absent"
    return Path(course_root) / ".cache" / f"matplotlib-{mpl}"


@functools.cache
def _code_digest() -> str:
    """Hash of the sources of cs231n_lib and autograder and of the library versions in use."""
    import numpy

    import autograder
    import cs231n_lib

    h = hashlib.sha256(f"{FORMAT}\0{sys.version}\0{platform.machine()}\0numpy {numpy.__version__}".encode())
    for name in ("scipy", "sklearn"):
        try:
            from importlib.metadata import version

            h.update(f"\0{name} {version('scikit-learn' if name == 'sklearn' else name)}".encode())
        except Exception:
            h.update(f"\0{name} absent".encode())
    for package in (cs231n_lib, autograder):
        h.update(package_digest(Path(package.__file__).resolve().parent).encode())
    return h.hexdigest()


def package_digest(root: Path) -> str:
    """Hash of every Python source file under `root` (names and contents)."""
    h = hashlib.sha256()
    _tree_digest(h, root, "*.py")
    return h.hexdigest()


def _dataset_digest() -> str:
    """The dataset the cases may be drawn from: the CIFAR-10 folder's files (name, size, time),
    or its absence (then the embedded dataset, whose code and scikit-learn version are in
    `_code_digest`)."""
    from cs231n_lib.data import default_cifar10_dir

    folder = Path(default_cifar10_dir())
    h = hashlib.sha256(str(folder.resolve()).encode())
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            with contextlib.suppress(OSError):
                st = path.stat()
                h.update(f"\0{path.name}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    else:
        h.update(b"\0absent")
    return h.hexdigest()


def _tree_digest(h, folder: Path, pattern: str = "*") -> None:
    """Add the files under `folder` matching `pattern` (relative names and contents) to hash h."""
    for path in sorted(folder.rglob(pattern)) if folder.is_dir() else []:
        if path.is_file():
            h.update(f"\0{path.relative_to(folder)}\0".encode())
            h.update(path.read_bytes())


def fingerprint(course_root: str | Path, aid: str, checks: dict) -> str:
    """The hash naming one assignment's cache file (see the module docstring for what it covers)."""
    root = Path(course_root)
    h = hashlib.sha256(f"{FORMAT}\0{aid}\0{_code_digest()}\0{_dataset_digest()}".encode())
    _tree_digest(h, root / "verify", "*.py")
    _tree_digest(h, root / "source" / aid)
    h.update("\0".join(checks).encode())
    for gid, check in checks.items():
        if check.secret and check.key:
            h.update(f"\0{gid}\0".encode() + hashlib.sha256(check.key).digest())
    return h.hexdigest()[:40]


def _load(path: Path, print_: str, gids: list[str]):
    """The cached [(grade_id, cases, expected)], or None when the file is missing, unreadable or
    not the one for `print_`."""
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)
    except Exception:  # missing, or a corrupt or truncated file: computed again
        return None
    if not (isinstance(data, dict) and data.get("format") == FORMAT and data.get("fingerprint") == print_
            and isinstance(data.get("checks"), list) and [c[0] for c in data["checks"]] == gids):
        return None
    return data["checks"]


def prepared(course_root: str | Path, aid: str, checks: dict, compute) -> list:
    """What `compute(aid, checks)` returns (runner.prepare's list of _Prepared), from the cache
    when it holds this fingerprint, else computed and cached.

    A cache folder that cannot be written (a read-only course) only costs the computing.
    """
    from autograder.verify.runner import _Prepared

    if any(c.secret and not c.key for c in checks.values()):
        return compute(aid, checks)   # a secret check without the course's key: fresh each time
    print_ = fingerprint(course_root, aid, checks)
    folder = cache_dir(course_root)
    path = folder / f"{aid}-{print_}.pickle"
    gids = list(checks)

    def build(entries):
        return [_Prepared(gid, checks[gid], cases, expected) for gid, cases, expected in entries]

    entries = _load(path, print_, gids)
    if entries is not None:
        return build(entries)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = open(folder / f"{aid}.lock", "a")  # noqa: SIM115 - held while computing
    except OSError:
        return compute(aid, checks)
    with lock:
        import fcntl

        fcntl.flock(lock, fcntl.LOCK_EX)   # one process computes; the others wait, then read
        entries = _load(path, print_, gids)
        if entries is not None:
            return build(entries)
        items = compute(aid, checks)
        record = {"format": FORMAT, "fingerprint": print_, "aid": aid,
                  "checks": [(it.grade_id, it.cases, it.expected) for it in items]}
        with contextlib.suppress(OSError, pickle.PicklingError, TypeError, AttributeError):
            with atomic_path(path, suffix=".pickle", durable=False) as tmp, open(tmp, "wb") as f:
                pickle.dump(record, f, protocol=pickle.HIGHEST_PROTOCOL)
            for old in folder.glob(f"{aid}-*.pickle"):   # this assignment's stale answers
                if old != path:
                    old.unlink(missing_ok=True)
        return items
