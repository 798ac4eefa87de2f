"""Installing CIFAR-10 (from a server, a local archive or an extracted folder) and ``make data``.

``main`` is the command: it chooses among the three from the environment (the variables are
listed in the package docstring, ``cs231n_lib.datastep``).
"""

import os
import shutil
import sys
from pathlib import Path

import cs231n_lib.datastep
from cs231n_lib.data import DIGIT_CLASSES, default_cifar10_dir
from cs231n_lib.datastep.archive import (
    DATASET_FILES,
    MAX_ARCHIVE_BYTES,
    copy_folder,
    extract_archive,
)
from cs231n_lib.datastep.dataset_folder import (
    check_replaceable,
    clean_leftovers,
    inspect_target,
    locked,
    read_marker,
    staged_install,
)
from cs231n_lib.datastep.download import GZIP_MAGIC, Limits, check_url, download
from cs231n_lib.datastep.errors import DataStepError, mb, os_error
from cs231n_lib.datastep.official import (
    DIRNAME,
    FULL_COUNTS,
    OFFICIAL_MD5,
    OFFICIAL_SIZE,
    OFFICIAL_URL,
    TARBALL_NAME,
    md5sum,
)

__all__ = ["install_archive", "install_from_url", "install_from_tarball", "main"]


def install_archive(tarball, target, redo="Delete it and rerun `make data` to download it again"):
    """Extract a CIFAR-10 python archive into ``target`` atomically after checking every batch.

    Inputs:
    - tarball: a ``cifar-10-python.tar.gz`` (also read: .tar, .tar.xz, .tar.bz2).
    - target: the ``cifar-10-batches-py`` folder to create or replace; it must be absent,
      empty or hold only CIFAR-10's files (anything else is refused, never deleted).
    - redo: what the user should do when the archive itself is bad (ends the message).

    Returns the dict of ``cs231n_lib.data.check_cifar10_dir`` (image counts).
    Raises DataStepError when the archive is truncated, corrupt, too large or not
    CIFAR-10, or the disk is full or read-only; ``target`` is then left as it was.
    """
    tarball = Path(tarball)
    return staged_install(Path(target), lambda new: extract_archive(tarball, new, redo),
                          tarball, redo, "python archive")


def _check_free_space(folder, tarball, expected_size):
    """Fail early when the archive plus its extracted batches cannot fit in ``folder``."""
    if expected_size is None:
        return
    part = tarball.with_name(tarball.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    need = max(expected_size - have, 0) + int(1.15 * expected_size)   # download + extraction
    free = shutil.disk_usage(folder).free
    if free < need:
        raise DataStepError(f"no space left on the device for CIFAR-10 in {folder}: it needs "
                            f"{mb(need)} and only {mb(free)} is free. Free some space or set "
                            f"CIFAR10_DIR to a new folder on another disk, then rerun `make data`.")


def install_from_url(url, target, expected_size=OFFICIAL_SIZE, expected_md5=OFFICIAL_MD5,
                     progress=True, timeout=30, limits=None):
    """Download the archive next to ``target`` (resuming), verify it, and install it.

    Inputs:
    - url: where the archive is (the official server or a mirror).
    - target: the ``cifar-10-batches-py`` folder; the archive goes to its parent folder.
    - expected_size, expected_md5: what the archive must be (the official values by default).
    - progress, timeout, limits: as for ``download``.

    Returns the dict of image counts. Raises DataStepError.
    """
    check_url(url)
    target = Path(target)
    check_replaceable(target)
    tarball = target.parent / TARBALL_NAME
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(exc, "creating", target.parent) from exc
    if tarball.exists() and expected_md5 is not None and md5sum(tarball) == expected_md5:
        print(f"Using the archive already downloaded: {tarball}.", file=sys.stderr)
    elif tarball.exists():
        raise DataStepError(f"{tarball} is already there but is not the official archive (its md5 "
                            f"differs), and make data never overwrites a file it did not create. "
                            f"If it is a CIFAR-10 archive, install it with CIFAR10_TARBALL={tarball} "
                            f"make data; otherwise move it away, then rerun `make data`.")
    else:
        _check_free_space(target.parent, tarball, expected_size)
        print(f"Downloading {url}", file=sys.stderr)
        download(url, tarball, expected_size, expected_md5, progress=progress, timeout=timeout,
                 limits=limits, magic=GZIP_MAGIC)
    return install_archive(tarball, target)


def _install_from_folder(folder, target):
    """Install from an extracted ``cifar-10-batches-py`` folder (or a folder holding one)."""
    src = folder / DIRNAME if (folder / DIRNAME).is_dir() else folder
    if not any((src / name).is_file() for name in DATASET_FILES):
        raise DataStepError(f"CIFAR10_TARBALL={folder} is a folder without a CIFAR-10 dataset (no "
                            f"{DIRNAME}/ and no data_batch_1 in it): give the path of "
                            f"{TARBALL_NAME} or of an extracted {DIRNAME} folder.")
    if target.exists() and src.resolve() == target.resolve():
        raise DataStepError(f"CIFAR10_TARBALL={folder} is the dataset folder itself ({target}): "
                            f"unset CIFAR10_TARBALL to download CIFAR-10, or point it at an "
                            f"archive or at another copy of the folder.")
    redo = f"Point CIFAR10_TARBALL at a complete {DIRNAME} folder or at {TARBALL_NAME}"
    return staged_install(target, lambda new: copy_folder(src, new, redo), src, redo,
                          "dataset folder")


def install_from_tarball(path, target, expected_md5=OFFICIAL_MD5):
    """Install CIFAR-10 from a local archive, or from an extracted ``cifar-10-batches-py`` folder.

    An archive whose md5 differs from ``expected_md5`` (e.g. a subset) is accepted only
    when it is a structurally valid CIFAR-10 archive; a line says that its checksum differs.

    Returns the dict of image counts. Raises DataStepError.
    """
    path, target = Path(path).expanduser(), Path(target)
    if path.is_dir():
        return _install_from_folder(path, target)
    if not path.exists():
        raise DataStepError(f"CIFAR10_TARBALL={path}: no such file. Give the path of a "
                            f"{TARBALL_NAME} (or of an extracted {DIRNAME} folder), or unset "
                            f"CIFAR10_TARBALL to download it.")
    try:
        info = install_archive(path, target, redo="Copy the archive again or point "
                               "CIFAR10_TARBALL at another copy")
    except DataStepError as exc:
        small = path.is_file() and path.stat().st_size <= MAX_ARCHIVE_BYTES
        got = md5sum(path) if small else None
        if got is None or got == expected_md5:
            raise
        raise DataStepError(f"{exc} (Its md5 {got} also differs from the official archive's "
                            f"{expected_md5}.)") from exc
    got = read_marker(target).get("md5")
    if got != expected_md5:
        print(f"Note: the md5 of {path} ({got}) differs from the official archive's "
              f"({expected_md5}); installed anyway because it is a structurally valid CIFAR-10 "
              f"archive ({_counts(info)}).", file=sys.stderr)
    return info


def _is_subset(info, marker):
    """Whether a dataset has fewer images than CIFAR-10 (one from the official archive never does)."""
    return marker.get("md5") != OFFICIAL_MD5 and any(info[k] < FULL_COUNTS[k] for k in FULL_COUNTS)


def _counts(info):
    return f"{info['num_train']} training, {info['num_test']} test images"


def _installed_line(target, info):
    if _is_subset(info, read_marker(target)):
        return (f"A subset of CIFAR-10 is installed in {target} ({_counts(info)}; the full dataset "
                f"has {FULL_COUNTS['num_train']} and {FULL_COUNTS['num_test']}). Notebooks now use "
                f"it; for the full dataset run `make data` without CIFAR10_TARBALL: it replaces "
                f"this subset.")
    return (f"CIFAR-10 installed in {target} ({_counts(info)}). Notebooks now use it instead of "
            f"the embedded {len(DIGIT_CLASSES)}-digit dataset.")


def _run(target, limits):
    """Install per the environment unless ``target`` already holds the dataset asked for."""
    info, marker = inspect_target(target)
    tarball = os.environ.get("CIFAR10_TARBALL")
    if info is not None and not _is_subset(info, marker):
        print(f"CIFAR-10 is already in {target} ({_counts(info)}): nothing to do.")
        return 0
    if info is not None:
        if tarball and marker.get("source") == str(Path(tarball).expanduser().resolve()):
            print(f"A subset of CIFAR-10 from {tarball} is already in {target} ({_counts(info)}): "
                  f"nothing to do. For the full dataset run `make data` without CIFAR10_TARBALL: "
                  f"it replaces this subset.")
            return 0
        print(f"The dataset in {target} is a subset of CIFAR-10 ({_counts(info)}): replacing it "
              f"with {tarball or 'the full dataset'}.", file=sys.stderr)
    if tarball:
        info = install_from_tarball(tarball, target, expected_md5=OFFICIAL_MD5)
    else:
        url = os.environ.get("CIFAR10_URL") or OFFICIAL_URL
        info = install_from_url(url, target, expected_size=OFFICIAL_SIZE, expected_md5=OFFICIAL_MD5,
                                progress=sys.stderr.isatty(), limits=limits)
    print(_installed_line(target, info))
    return 0


def main(argv=None):
    """``make data``: install CIFAR-10 per the environment (CIFAR10_URL, CIFAR10_TARBALL, CIFAR10_DIR).

    Inputs: argv, the command-line arguments (None: sys.argv[1:], as the ``cs231n-data``
    script calls it); none are taken but ``-h`` / ``--help``.
    Returns the exit status (0 success, 1 failure, 130 interrupted).
    """
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        print(cs231n_lib.datastep.__doc__, file=sys.stderr)
        return 0 if argv[0] in ("-h", "--help") else 2
    target = default_cifar10_dir()
    if target.is_symlink() and target.is_dir():
        target = target.resolve()    # work beside the real folder; the link stays as it is
    try:
        limits = Limits.from_env()
        with locked(target.parent, limits):
            clean_leftovers(target)
            return _run(target, limits)
    except DataStepError as exc:
        print(f"make data: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:           # one line even for a failure no message foresaw
        print(f"make data: error: {os_error(exc, 'working in', target.parent)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("make data: interrupted. Rerun `make data`: the download resumes where it stopped.",
              file=sys.stderr)
        return 130
