"""The data step (``make data``): download, verify and install CIFAR-10.

``python -m cs231n_lib.download`` fetches the official python archive into
``datasets/``, resuming an interrupted download with an HTTP Range request,
checks its md5, and extracts ``cifar-10-batches-py/`` into a temporary folder
that is renamed into place only once every batch has been read and checked, so
a failed run never leaves a half dataset that loads.

Environment variables:
- ``CIFAR10_URL``: download from a mirror instead of the official server (the
  file must still be the official archive: same size and md5).
- ``CIFAR10_TARBALL``: install from a local ``cifar-10-python.tar.gz`` (a course
  server, a USB key). An archive whose md5 differs from the official one is
  accepted only if it is a structurally valid CIFAR-10 archive, and the command
  says so.
- ``CIFAR10_DIR``: where the dataset goes (default ``<repo>/datasets/cifar-10-batches-py``);
  the loaders in ``cs231n_lib.data`` read the same variable.

Every failure prints one message saying what happened and what to do, and exits non-zero.
"""

import errno
import hashlib
import http.client
import os
import re
import shutil
import socket
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from cs231n_lib.data import DIGIT_CLASSES, CifarFormatError, check_cifar10_dir, default_cifar10_dir

__all__ = ["OFFICIAL_URL", "OFFICIAL_SIZE", "OFFICIAL_MD5", "TARBALL_NAME", "DataStepError",
           "md5sum", "download", "install_archive", "install_from_url", "install_from_tarball",
           "main"]

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_SIZE = 170_498_071
OFFICIAL_MD5 = "c58f30108f718f92721af3b95e74349a"
TARBALL_NAME = "cifar-10-python.tar.gz"
DIRNAME = "cifar-10-batches-py"

_CHUNK = 1 << 20
_USER_AGENT = "cs231n_lib-data-step/1.0 (+urllib)"

# Advice shared by several messages.
_ALTERNATIVES = ("or install from a local copy with CIFAR10_TARBALL=/path/to/cifar-10-python.tar.gz "
                 "make data (the notebooks also run offline on the embedded dataset)")


class DataStepError(Exception):
    """A failure of the data step; its message says what happened and what to do."""


def _mb(n):
    return f"{n / 1e6:.1f} MB"


def md5sum(path, chunk_size=_CHUNK):
    """The md5 hex digest of a file."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk_size):
            h.update(block)
    return h.hexdigest()


def _os_error(exc, action, where):
    """Turn an OSError raised while writing into a DataStepError with advice."""
    if exc.errno == errno.ENOSPC:
        return DataStepError(f"no space left on the device while {action} {where}. Free some space "
                             f"(CIFAR-10 needs about 350 MB: the 170 MB archive plus the extracted "
                             f"batches) or set CIFAR10_DIR to a folder on another disk, then rerun "
                             f"`make data`.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) or isinstance(exc, PermissionError):
        return DataStepError(f"no permission to write while {action} {where} ({exc.strerror}). Fix "
                             f"the folder's permissions or set CIFAR10_DIR to a writable folder "
                             f"(the loaders read it too), then rerun `make data`.")
    return DataStepError(f"could not write while {action} {where}: {exc}. Rerun `make data`.")


# --------------------------------------------------------------------------- download

def _network_error(exc, url):
    """Turn a urllib/socket error raised before any data arrived into a DataStepError."""
    host = urllib.request.urlparse(url).netloc or url
    if isinstance(exc, urllib.error.HTTPError):
        hint = {404: "the file is not at that address: check CIFAR10_URL",
                403: "the server refuses access: check CIFAR10_URL or try another mirror",
                416: "the server cannot resume this download: delete the .part file and rerun"}
        advice = hint.get(exc.code, "the server has a problem, try again later or use a mirror "
                                    "with CIFAR10_URL=..." if exc.code >= 500
                          else "check the address (CIFAR10_URL)")
        return DataStepError(f"the server answered HTTP {exc.code} {exc.reason} for {url}: "
                             f"{advice}, {_ALTERNATIVES}.")
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, socket.gaierror):
        return DataStepError(f"cannot resolve the host name {host!r} (DNS failure): you may be "
                             f"offline. Check your internet connection and rerun `make data`, "
                             f"{_ALTERNATIVES}.")
    if isinstance(reason, ConnectionRefusedError):
        return DataStepError(f"the connection to {host} was refused: the server is down or the "
                             f"address is wrong. Check CIFAR10_URL and rerun `make data`, "
                             f"{_ALTERNATIVES}.")
    if isinstance(reason, TimeoutError | socket.timeout):
        return DataStepError(f"the connection to {host} timed out. Check your internet connection "
                             f"and rerun `make data`, {_ALTERNATIVES}.")
    if isinstance(reason, OSError) and reason.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return DataStepError(f"the network is unreachable: you seem to be offline. Connect and "
                             f"rerun `make data`, {_ALTERNATIVES}.")
    return DataStepError(f"could not connect to {host}: {reason}. Check your internet connection "
                         f"and rerun `make data`, {_ALTERNATIVES}.")


def _content_range(header):
    """(start, total) from a 'bytes start-end/total' header; total None when '*'."""
    m = re.fullmatch(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", header or "")
    if not m:
        return None, None
    return int(m.group(1)), (None if m.group(3) == "*" else int(m.group(3)))


def download(url, dest, expected_size=None, expected_md5=None, progress=True, timeout=30):
    """Download ``url`` to ``dest``, resuming from ``dest + '.part'`` with an HTTP Range request.

    Inputs:
    - url: http(s) or file URL.
    - dest: final path; data goes to ``<dest>.part`` and is renamed when complete and verified.
    - expected_size: size in bytes, or None to trust the server's Content-Length.
    - expected_md5: md5 hex digest to verify, or None.
    - progress: show a tqdm progress bar (size, speed, time left) on stderr.
    - timeout: seconds to wait for the server on each network operation.

    Returns the Path of the downloaded file. Raises DataStepError. A ``.part`` file
    left after an interrupted transfer is kept so that the next run resumes; one
    whose checksum is wrong is deleted.
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(exc, "creating", dest.parent) from exc

    have = part.stat().st_size if part.exists() else 0
    if expected_size is not None and have > expected_size:
        part.unlink()
        have = 0
    if expected_size is None or have < expected_size:
        _fetch(url, part, have, expected_size, progress, timeout)

    if expected_md5 is not None:
        got = md5sum(part)
        if got != expected_md5:
            part.unlink()
            raise DataStepError(f"checksum mismatch for the file downloaded from {url}: md5 {got}, "
                                f"expected {expected_md5}. The file was corrupted in transit or the "
                                f"server sends a different file; the partial download was deleted. "
                                f"Rerun `make data` to download it again, or use another mirror "
                                f"with CIFAR10_URL=....")
    os.replace(part, dest)
    return dest


def _fetch(url, part, have, expected_size, progress, timeout):
    """Append the missing bytes of ``url`` to ``part`` (``have`` bytes already there)."""
    headers = {"User-Agent": _USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            # Our .part does not fit what the server has: start over once.
            part.unlink()
            return _fetch(url, part, 0, expected_size, progress, timeout)
        raise _network_error(exc, url) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _network_error(exc, url) from exc

    with response:
        status = getattr(response, "status", 200)
        if (response.headers.get("Content-Type") or "").lower().startswith("text/html"):
            raise DataStepError(f"the server at {url} answered with a web page, not the archive "
                                f"(a Wi-Fi login page or a wrong address?). Check your connection "
                                f"and CIFAR10_URL, {_ALTERNATIVES}.")
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if have and status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != have:
                response.close()
                part.unlink()
                return _fetch(url, part, 0, expected_size, progress, timeout)
            mode, offset = "ab", have
        else:
            # A fresh download, or a server that ignored our Range request (200): start from zero.
            if have:
                print("The server does not support resuming (it ignored the Range request): "
                      "downloading from the start.", file=sys.stderr)
            total, mode, offset = length, "wb", 0
        if total is None and length is not None:
            total = offset + length
        if expected_size is not None and total is not None and total != expected_size:
            raise DataStepError(f"the server at {url} sends a file of {total} bytes, but the "
                                f"archive should have {expected_size} bytes: the address does not "
                                f"point at the CIFAR-10 archive. Check CIFAR10_URL, {_ALTERNATIVES}.")
        total = expected_size if total is None else total
        if offset:
            print(f"Resuming the download at {_mb(offset)} of {_mb(total) if total else '?'}.",
                  file=sys.stderr)
        received = offset
        bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                   desc=part.name.removesuffix(".part"), disable=not progress, file=sys.stderr,
                   dynamic_ncols=True)
        try:
            try:
                f = open(part, mode)
            except OSError as exc:
                raise _os_error(exc, "writing", part) from exc
            with f, bar:
                while True:
                    try:
                        block = response.read(_CHUNK)
                    except (http.client.IncompleteRead, OSError) as exc:
                        raise _interrupted(url, received, total, exc) from exc
                    if not block:
                        break
                    try:
                        f.write(block)
                    except OSError as exc:
                        raise _os_error(exc, "writing", part) from exc
                    received += len(block)
                    bar.update(len(block))
        except OSError as exc:   # raised by close(): a delayed ENOSPC
            raise _os_error(exc, "writing", part) from exc
        if total is not None and received < total:
            raise _interrupted(url, received, total, None)


def _interrupted(url, received, total, exc):
    cause = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
    of = f" of {_mb(total)}" if total else ""
    return DataStepError(f"the download from {url} was interrupted after {_mb(received)}{of}"
                         f"{cause}. Rerun `make data`: it resumes where it stopped.")


# --------------------------------------------------------------------------- extraction

def _member_path(name):
    """The safe relative path of a tar member inside cifar-10-batches-py/, or None to skip it."""
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts:
        return None
    parts = [q for q in p.parts if q != "."]
    if not parts or parts[0] != DIRNAME:
        return None
    return parts[1:]


def install_archive(tarball, target, redo="Delete it and rerun `make data` to download it again"):
    """Extract a CIFAR-10 python archive into ``target`` atomically after checking every batch.

    Inputs:
    - tarball: a ``cifar-10-python.tar.gz``.
    - target: the ``cifar-10-batches-py`` folder to create or replace.
    - redo: what the user should do when the archive itself is bad (ends the message).

    Returns the dict of ``cs231n_lib.data.check_cifar10_dir`` (image counts).
    Raises DataStepError when the archive is truncated, corrupt or not CIFAR-10,
    or the disk is full or read-only; ``target`` is then left as it was.
    """
    tarball, target = Path(tarball), Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{DIRNAME}.tmp-", dir=target.parent))
    except OSError as exc:
        raise _os_error(exc, "creating a folder in", target.parent) from exc
    try:
        new = tmp / DIRNAME
        new.mkdir()
        found = []
        try:
            with tarfile.open(tarball, "r:gz") as tar:
                for member in tar:
                    found.append(member.name)
                    rel = _member_path(member.name)
                    if rel is None or not member.isfile() or not rel:
                        continue
                    out = new.joinpath(*rel)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    src = tar.extractfile(member)
                    with open(out, "wb") as f:
                        shutil.copyfileobj(src, f, _CHUNK)
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise DataStepError(f"{tarball} is not a complete .tar.gz archive: it is truncated or "
                                f"corrupt ({exc}). {redo}.") from exc
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS):
                raise _os_error(exc, "extracting into", target.parent) from exc
            raise DataStepError(f"{tarball} could not be read ({exc}). {redo}.") from exc
        if not any(_member_path(name) for name in found):
            shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "") or "nothing"
            raise DataStepError(f"{tarball} is not a CIFAR-10 python archive: it has no "
                                f"{DIRNAME}/ folder (it holds {shown}). {redo}; the right "
                                f"archive is cifar-10-python.tar.gz from {OFFICIAL_URL}.")
        try:
            info = check_cifar10_dir(new)
        except CifarFormatError as exc:
            detail = str(exc).replace(str(new), DIRNAME)
            raise DataStepError(f"{tarball} is not a valid CIFAR-10 python archive: {detail}. "
                                f"{redo}; the right archive is cifar-10-python.tar.gz from "
                                f"{OFFICIAL_URL}.") from exc
        try:
            if target.exists():
                os.rename(target, tmp / "previous")
            os.rename(new, target)
        except OSError as exc:
            raise _os_error(exc, "moving the dataset into", target) from exc
        return info
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- the two sources

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
                            f"{_mb(need)} and only {_mb(free)} is free. Free some space or set "
                            f"CIFAR10_DIR to a folder on another disk, then rerun `make data`.")


def install_from_url(url, target, expected_size=OFFICIAL_SIZE, expected_md5=OFFICIAL_MD5,
                     progress=True, timeout=30):
    """Download the archive next to ``target`` (resuming), verify it, and install it.

    Inputs:
    - url: where the archive is (the official server or a mirror).
    - target: the ``cifar-10-batches-py`` folder; the archive goes to its parent folder.
    - expected_size, expected_md5: what the archive must be (the official values by default).

    Returns the dict of image counts. Raises DataStepError.
    """
    target = Path(target)
    tarball = target.parent / TARBALL_NAME
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(exc, "creating", target.parent) from exc
    if tarball.exists() and expected_md5 is not None and md5sum(tarball) == expected_md5:
        print(f"Using the archive already downloaded: {tarball}.", file=sys.stderr)
    else:
        if tarball.exists():
            tarball.unlink()   # not the expected file; never overwritten in place
        _check_free_space(target.parent, tarball, expected_size)
        print(f"Downloading {url}", file=sys.stderr)
        download(url, tarball, expected_size, expected_md5, progress=progress, timeout=timeout)
    return install_archive(tarball, target)


def install_from_tarball(path, target, expected_md5=OFFICIAL_MD5):
    """Install CIFAR-10 from a local archive.

    An archive whose md5 differs from ``expected_md5`` (e.g. a subset) is accepted only
    when it is a structurally valid CIFAR-10 archive; a line says that its checksum differs.

    Returns the dict of image counts. Raises DataStepError.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataStepError(f"CIFAR10_TARBALL={path}: no such file. Give the path of a "
                            f"cifar-10-python.tar.gz, or unset CIFAR10_TARBALL to download it.")
    try:
        got = md5sum(path)
    except OSError as exc:
        raise DataStepError(f"cannot read {path}: {exc.strerror}. Check the path and its "
                            f"permissions.") from exc
    try:
        info = install_archive(path, target, redo="Copy the archive again or point "
                               "CIFAR10_TARBALL at another copy")
    except DataStepError as exc:
        if got == expected_md5:
            raise
        raise DataStepError(f"{exc} (Its md5 {got} also differs from the official archive's "
                            f"{expected_md5}.)") from exc
    if got != expected_md5:
        print(f"Note: the md5 of {path} ({got}) differs from the official archive's "
              f"({expected_md5}); installed anyway because it is a structurally valid CIFAR-10 "
              f"archive ({info['num_train']} training, {info['num_test']} test images).",
              file=sys.stderr)
    return info


def _existing(target):
    """Image counts when ``target`` already holds a valid dataset, else None."""
    if not Path(target).is_dir():
        return None
    try:
        return check_cifar10_dir(target)
    except CifarFormatError as exc:
        print(f"The dataset in {target} is incomplete or damaged ({exc}); installing it again.",
              file=sys.stderr)
        return None


def main(argv=None):
    """``make data``: install CIFAR-10 per the environment (CIFAR10_URL, CIFAR10_TARBALL, CIFAR10_DIR).

    Returns the exit status (0 success, 1 failure, 130 interrupted).
    """
    if argv:
        print(__doc__, file=sys.stderr)
        return 0 if argv[0] in ("-h", "--help") else 2
    target = default_cifar10_dir()
    try:
        info = _existing(target)
        if info is not None:
            print(f"CIFAR-10 is already in {target} ({info['num_train']} training, "
                  f"{info['num_test']} test images): nothing to do.")
            return 0
        tarball = os.environ.get("CIFAR10_TARBALL")
        if tarball:
            info = install_from_tarball(tarball, target, expected_md5=OFFICIAL_MD5)
        else:
            url = os.environ.get("CIFAR10_URL") or OFFICIAL_URL
            info = install_from_url(url, target, expected_size=OFFICIAL_SIZE,
                                    expected_md5=OFFICIAL_MD5, progress=sys.stderr.isatty())
    except DataStepError as exc:
        print(f"make data: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("make data: interrupted. Rerun `make data`: the download resumes where it stopped.",
              file=sys.stderr)
        return 130
    print(f"CIFAR-10 installed in {target} ({info['num_train']} training, {info['num_test']} "
          f"test images). Notebooks now use it instead of the embedded {len(DIGIT_CLASSES)}-digit "
          f"dataset.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
