"""The dataset folder: what the data step may replace, one run at a time, staging and leftovers.

The data step only replaces what it could have created: a missing or empty folder, or
one holding CIFAR-10's own files. A new dataset is built in a temporary folder beside
the target, flushed to disk and renamed into place; the next run cleans what a killed
run left, and never deletes a file it did not create.
"""

import contextlib
import fcntl
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from cs231n_lib.atomic import fsync_dir
from cs231n_lib.data import CifarFormatError, check_cifar10_dir
from cs231n_lib.datastep.archive import DATASET_FILES
from cs231n_lib.datastep.errors import DataStepError, os_error, shown
from cs231n_lib.datastep.official import DIRNAME, OFFICIAL_URL, TARBALL_NAME

__all__ = ["MARKER", "read_marker", "check_replaceable", "inspect_target", "clean_leftovers",
           "staged_install", "locked"]

# The file the data step adds to a dataset it installed (source, md5, image counts), and
# the one it puts in its temporary folders.
MARKER = ".installed-by-make-data.json"
_TMP_MARKER = ".make-data-tmp"
_LOCK_POLL = 0.2


def _foreign(folder):
    """Entries of ``folder`` the data step did not create ('name', or 'name/' for a folder)."""
    return sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()
                  if p.name not in DATASET_FILES and p.name != MARKER)


def read_marker(target):
    """What the data step recorded when it installed ``target`` (source, md5, counts), or {}."""
    try:
        marker = json.loads((Path(target) / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


def check_replaceable(target, why=None):
    """Refuse a ``target`` that is a file or holds anything but CIFAR-10's own files.

    The data step replaces only what it could have created: a missing or empty folder,
    or one holding the dataset's files. ``why`` says why the dataset must be replaced.
    """
    if target.is_symlink() and not target.is_dir() or target.exists() and not target.is_dir():
        raise DataStepError(f"{target} is an existing file, not a folder: make data never replaces "
                            f"a file, so nothing was changed. Set CIFAR10_DIR to a folder path (a "
                            f"new folder is created; a relative path is taken from the repository "
                            f"root), then rerun `make data`.")
    if not target.is_dir():
        return
    foreign = _foreign(target)
    if not foreign:
        return
    if not any((target / name).exists() for name in DATASET_FILES):
        raise DataStepError(f"{target} already holds other things ({shown(foreign)}) and no "
                            f"CIFAR-10 dataset: make data installs only into a new or empty folder "
                            f"or over a dataset, so nothing was changed. Point CIFAR10_DIR at a new "
                            f"or empty folder (it is created; the archive goes beside it), then "
                            f"rerun `make data`.")
    raise DataStepError(f"{why or f'the dataset in {target} is to be replaced'}, but the folder also "
                        f"holds files make data did not create ({shown(foreign)}): they are never "
                        f"deleted, so nothing was changed. Move them out of {target}, then rerun "
                        f"`make data`.")


def inspect_target(target):
    """(image counts, marker) of the valid dataset in ``target``, or (None, {}) to install.

    Raises DataStepError for a file or a folder holding other things.
    """
    try:
        empty = not target.is_dir() or not any(target.iterdir())
    except OSError as exc:
        raise DataStepError(f"cannot read the folder {target} ({exc.strerror}): fix its "
                            f"permissions or set CIFAR10_DIR to another folder, then rerun "
                            f"`make data`.") from exc
    if empty:
        check_replaceable(target)
        return None, {}
    try:
        info = check_cifar10_dir(target)
    except CifarFormatError as exc:
        detail = str(exc).replace(f"{target}{os.sep}", "")
        check_replaceable(target, f"the dataset in {target} is incomplete or damaged ({detail}) "
                          f"and must be installed again")
        print(f"The dataset in {target} is incomplete or damaged ({detail}); installing it again.",
              file=sys.stderr)
        return None, {}
    return info, read_marker(target)


def _remove_dataset_files(folder):
    for name in (*DATASET_FILES, MARKER):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()


def _remove_tmp(tmp):
    """Delete a temporary folder of the data step, keeping what it did not create.

    Returns the entries kept (a user's files moved aside by an older version of this step).
    """
    kept = []
    for sub in (tmp / DIRNAME, tmp / "previous"):
        if sub.is_symlink():             # never followed: what it points at is not ours
            kept.append(sub.name)
        elif sub.is_dir():
            _remove_dataset_files(sub)
            try:
                sub.rmdir()
            except OSError:
                kept += [f"{sub.name}/{name}" for name in _foreign(sub)]
    with contextlib.suppress(OSError):
        (tmp / _TMP_MARKER).unlink(missing_ok=True)
        tmp.rmdir()
    return kept


def clean_leftovers(target):
    """Remove what interrupted runs left next to ``target``; put back a dataset moved aside."""
    for tmp in sorted(target.parent.glob(f".{target.name}.tmp-*")):
        if not tmp.is_dir():
            continue
        previous = tmp / "previous"
        if not target.exists() and previous.is_dir():
            try:
                os.rename(previous, target)
            except OSError as exc:
                raise os_error(exc, "putting back", target) from exc
            print(f"Put back {target}, which an interrupted run had moved aside.", file=sys.stderr)
        kept = _remove_tmp(tmp)
        if kept:
            print(f"Note: {tmp} holds files make data did not create ({shown(kept)}); they were "
                  f"kept there: move them where you want them, then delete {tmp}.", file=sys.stderr)
        else:
            print(f"Removed {tmp}, left by an interrupted run.", file=sys.stderr)


def staged_install(target, fill, source, redo, kind):
    """Build the dataset next to ``target`` with ``fill(new) -> md5 or None``, check it, swap it in.

    Returns the dict of image counts. Raises DataStepError; ``target`` is then as it was.
    """
    check_replaceable(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        (tmp / _TMP_MARKER).touch()
    except OSError as exc:
        raise os_error(exc, "creating a folder in", target.parent) from exc
    try:
        new = tmp / DIRNAME
        new.mkdir()
        md5 = fill(new)
        try:
            info = check_cifar10_dir(new)
        except CifarFormatError as exc:
            detail = str(exc).replace(str(new), DIRNAME)
            raise DataStepError(f"{source} is not a valid CIFAR-10 {kind}: {detail}. {redo}; the "
                                f"right archive is {TARBALL_NAME} from {OFFICIAL_URL}.") from exc
        try:
            with open(new / MARKER, "w") as f:
                json.dump({"source": str(Path(source).resolve()), "md5": md5, **info}, f)
                f.flush()
                os.fsync(f.fileno())
            fsync_dir(new)
            if target.exists():
                os.rename(target, tmp / "previous")
            os.rename(new, target)
            fsync_dir(target.parent)
        except OSError as exc:
            raise os_error(exc, "moving the dataset into", target) from exc
        return info
    finally:
        _remove_tmp(tmp)


@contextlib.contextmanager
def locked(folder, limits):
    """Hold the data step's lock on ``folder``; a second run waits, with a message, up to the deadline.

    The lock (flock) is released by the kernel when its process ends, however it ends,
    so a killed run never leaves a stale lock; the file holds the holder's pid for the message.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ".make-data.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise os_error(exc, "creating", folder) from exc
    try:
        _wait_for_lock(fd, folder, limits)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)   # releases the lock


def _wait_for_lock(fd, folder, limits):
    waited = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        if not waited:
            print(f"Another `make data` (pid {holder}) is installing CIFAR-10 in {folder}: "
                  f"waiting for it to finish (Ctrl-C to stop).", file=sys.stderr, flush=True)
            waited = True
        if limits.left() < 0:
            raise DataStepError(f"another `make data` (pid {holder}) is still working in {folder} "
                                f"after CIFAR10_DEADLINE={limits.seconds:g} s: let it finish (or "
                                f"stop it), then rerun `make data`.")
        time.sleep(_LOCK_POLL)

