"""The data step (``make data``): download, verify and install CIFAR-10.

``python -m cs231n_lib.download`` fetches the official python archive into the
folder above the dataset (``datasets/`` by default), resuming an interrupted
download with an HTTP Range request, checks its md5, and extracts
``cifar-10-batches-py/`` into a temporary folder that is renamed into place only
once every batch has been read and checked, so a failed run never leaves a half
dataset that loads.

It only ever deletes or replaces what it created: a dataset folder holding
anything but CIFAR-10's own files is refused, never emptied. One run at a time
works on a folder (a lock); a second run waits with a message.

Environment variables:
- ``CIFAR10_URL``: download from a mirror instead of the official server (the
  file must still be the official archive: same size and md5).
- ``CIFAR10_TARBALL``: install from a local ``cifar-10-python.tar.gz`` (a course
  server, a USB key), also a plain ``.tar``, ``.tar.xz`` or ``.tar.bz2``, or an
  extracted ``cifar-10-batches-py`` folder. An archive whose md5 differs from the
  official one is accepted only if it is a structurally valid CIFAR-10 archive,
  and the command says so (and says when it is a subset).
- ``CIFAR10_DIR``: where the dataset goes (default ``<repo>/datasets/cifar-10-batches-py``;
  a relative path is relative to the repository root); the loaders in
  ``cs231n_lib.data`` read the same variable.
- ``CIFAR10_DEADLINE``: seconds the whole run may take (default 7200).
- ``CIFAR10_MIN_SPEED``: slowest acceptable download speed in kB/s, averaged over
  60 s (default 10; 0 turns the check off).

Every failure prints one message saying what happened and what to do, and exits non-zero.
"""

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import http.client
import json
import lzma
import os
import re
import shutil
import socket
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from cs231n_lib.data import (
    DIGIT_CLASSES,
    META_FILE,
    TEST_BATCH,
    TRAIN_BATCHES,
    CifarFormatError,
    check_cifar10_dir,
    default_cifar10_dir,
)

__all__ = ["OFFICIAL_URL", "OFFICIAL_SIZE", "OFFICIAL_MD5", "TARBALL_NAME", "DataStepError",
           "md5sum", "download", "install_archive", "install_from_url", "install_from_tarball",
           "main"]

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_SIZE = 170_498_071
OFFICIAL_MD5 = "c58f30108f718f92721af3b95e74349a"
TARBALL_NAME = "cifar-10-python.tar.gz"
DIRNAME = "cifar-10-batches-py"
FULL_COUNTS = {"num_train": 50000, "num_test": 10000}

# The files of the dataset folder, and the file the data step adds to say it installed it.
DATASET_FILES = (*TRAIN_BATCHES, TEST_BATCH, META_FILE, "readme.html")
MARKER = ".installed-by-make-data.json"
_TMP_MARKER = ".make-data-tmp"

# What a CIFAR-10 file can be: a batch is 10000 x 3072 image bytes (30.7 MB) plus about
# 0.3 MB of labels and file names; batches.meta and readme.html are a few hundred bytes.
_MAX_BATCH_BYTES = 32 * 2**20
_MAX_SMALL_BYTES = 64 * 2**10
_MAX_MEMBERS = 64
_MAX_TOTAL_BYTES = 6 * _MAX_BATCH_BYTES + 2**20
_MAX_ARCHIVE_BYTES = 256 * 2**20     # compressed bytes read from a local archive

_CHUNK = 1 << 20
_USER_AGENT = "cs231n_lib-data-step/1.0 (+urllib)"
_GZIP_MAGIC = b"\x1f\x8b"
_DEFAULT_DEADLINE = 7200.0
_DEFAULT_MIN_SPEED_KB = 10.0
_SPEED_WINDOW = 60.0      # seconds over which the speed is averaged
_LOG_EVERY = 10.0         # seconds between progress lines when stderr is not a terminal
_LOCK_POLL = 0.2
_WRITE_ERRNOS = (errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS)

# Advice shared by several messages.
_ALTERNATIVES = ("or install from a local copy with CIFAR10_TARBALL=/path/to/cifar-10-python.tar.gz "
                 "make data (the notebooks also run offline on the embedded dataset)")


class DataStepError(Exception):
    """A failure of the data step; its message says what happened and what to do."""


def _mb(n):
    return f"{n / 1e6:.1f} MB"


def _shown(names, limit=5):
    """A short list of names for a message: 'a, b/, c, ...'."""
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")


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
                             f"batches) or set CIFAR10_DIR to a new folder on another disk, then "
                             f"rerun `make data`.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) or isinstance(exc, PermissionError):
        return DataStepError(f"no permission to write while {action} {where} ({exc.strerror}). Fix "
                             f"the folder's permissions or set CIFAR10_DIR to a writable folder "
                             f"(the loaders read it too), then rerun `make data`.")
    return DataStepError(f"could not write while {action} {where}: {exc}. Rerun `make data`.")


def _fsync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path):
    """Flush a folder's entries (the names a rename wrote) to disk."""
    with contextlib.suppress(OSError):   # some filesystems cannot open or sync folders
        _fsync_file(path)


# --------------------------------------------------------------------------- limits

@dataclasses.dataclass
class Limits:
    """How long a run may take and how slow its download may be.

    - seconds: the overall deadline in seconds (``CIFAR10_DEADLINE``).
    - min_speed: bytes per second averaged over ``_SPEED_WINDOW`` (``CIFAR10_MIN_SPEED`` kB/s); 0 = off.
    - start: ``time.monotonic()`` when the run started.
    """

    seconds: float = _DEFAULT_DEADLINE
    min_speed: float = _DEFAULT_MIN_SPEED_KB * 1000
    start: float = dataclasses.field(default_factory=time.monotonic)

    @classmethod
    def from_env(cls):
        return cls(_env_number("CIFAR10_DEADLINE", _DEFAULT_DEADLINE, "seconds"),
                   _env_number("CIFAR10_MIN_SPEED", _DEFAULT_MIN_SPEED_KB, "kB/s") * 1000)

    def left(self):
        return self.start + self.seconds - time.monotonic()


def _env_number(name, default, unit):
    value = os.environ.get(name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number >= 0:
        raise DataStepError(f"{name}={value} is not a number of {unit}: set it to a number such as "
                            f"{name}={default:g}, or unset it for the default ({default:g} {unit}).")
    return number


# --------------------------------------------------------------------------- download

def _check_url(url):
    scheme = urllib.request.urlparse(url).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise DataStepError(f"CIFAR10_URL={url} is not a web address: it must start with https:// "
                            f"or http://, e.g. CIFAR10_URL=https://example.org/{TARBALL_NAME}. "
                            f"Fix it and rerun `make data`, {_ALTERNATIVES}.")


def _network_error(exc, url):
    """Turn a urllib/socket error raised before any data arrived into a DataStepError."""
    host = urllib.request.urlparse(url).netloc or url
    if isinstance(exc, urllib.error.HTTPError):
        hint = {404: "the file is not at that address: check CIFAR10_URL",
                403: "the server refuses access: check CIFAR10_URL or try another mirror",
                416: "the server refuses even a request for the whole file (416 Range Not "
                     "Satisfiable), so it is misconfigured or the address is wrong: check "
                     "CIFAR10_URL or use another mirror"}
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


def download(url, dest, expected_size=None, expected_md5=None, progress=True, timeout=30,
             limits=None, magic=None):
    """Download ``url`` to ``dest``, resuming from ``dest + '.part'`` with an HTTP Range request.

    Inputs:
    - url: http(s) or file URL.
    - dest: final path; data goes to ``<dest>.part`` and is renamed when complete and verified.
    - expected_size: size in bytes, or None to trust the server's Content-Length. Reading
      stops there: a server sending more is refused.
    - expected_md5: md5 hex digest to verify, or None.
    - progress: show a tqdm progress bar (size, speed, time left) on stderr; when False,
      a plain progress line every ``_LOG_EVERY`` seconds (for logs).
    - timeout: seconds to wait for the server on each network operation.
    - limits: a ``Limits`` (overall deadline, minimum speed); None reads the environment.
    - magic: the bytes the file must start with (e.g. the gzip magic), or None.

    Returns the Path of the downloaded file. Raises DataStepError. A ``.part`` file
    left after an interrupted transfer is kept so that the next run resumes; one
    whose checksum or content is wrong is deleted.
    """
    _check_url(url)
    dest = Path(dest)
    limits = Limits.from_env() if limits is None else limits
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
        _fetch(url, part, have, expected_size, _Transfer(part, progress, limits, url), timeout,
               magic)

    if expected_md5 is not None:
        got = md5sum(part)
        if got != expected_md5:
            part.unlink()
            raise DataStepError(f"checksum mismatch for the file downloaded from {url}: md5 {got}, "
                                f"expected {expected_md5}. The file was corrupted in transit or the "
                                f"server sends a different file; the partial download was deleted. "
                                f"Rerun `make data` to download it again, or use another mirror "
                                f"with CIFAR10_URL=....")
    _fsync_file(part)
    os.replace(part, dest)
    _fsync_dir(dest.parent)
    return dest


def _request(url, part, have, timeout):
    """Open ``url`` asking for the bytes from ``have`` on.

    Returns (response, have): ``have`` drops to 0 (and ``part`` is deleted) when the
    server cannot continue our partial file.
    """
    for _ in range(2):
        headers = {"User-Agent": _USER_AGENT}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            response = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                              timeout=timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:
                part.unlink(missing_ok=True)   # our .part does not fit what the server has
                have = 0
                continue
            raise _network_error(exc, url) from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
            raise _network_error(exc, url) from exc
        start, _ = _content_range(response.headers.get("Content-Range"))
        if have and getattr(response, "status", 200) == 206 and start != have:
            response.close()
            part.unlink(missing_ok=True)
            have = 0
            continue
        return response, have
    raise DataStepError(f"the server at {url} cannot continue the download (it answers a request "
                        f"for the missing bytes with other bytes); the partial download was "
                        f"deleted. Rerun `make data` to start over, or use another mirror with "
                        f"CIFAR10_URL=..., {_ALTERNATIVES}.")


def _plan(response, url, part, have, expected_size):
    """(file mode, offset, total size or None, whether the server gave a size) for a response."""
    if (response.headers.get("Content-Type") or "").lower().startswith("text/html"):
        raise DataStepError(f"the server at {url} answered with a web page, not the archive "
                            f"(a Wi-Fi login page or a wrong address?). Check your connection "
                            f"and CIFAR10_URL, {_ALTERNATIVES}.")
    length = response.headers.get("Content-Length")
    length = int(length) if length and length.isdigit() else None
    if have and getattr(response, "status", 200) == 206:
        _, total = _content_range(response.headers.get("Content-Range"))
        mode, offset = "ab", have
    else:
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
    sized = total is not None
    return mode, offset, (expected_size if total is None else total), sized


def _fetch(url, part, have, expected_size, transfer, timeout, magic):
    """Append the missing bytes of ``url`` to ``part`` (``have`` bytes already there)."""
    response, have = _request(url, part, have, min(timeout, max(transfer.limits.left(), 0.1)))
    with response:
        mode, offset, total, sized = _plan(response, url, part, have, expected_size)
        if offset:
            print(f"Resuming the download at {_mb(offset)} of {_mb(total) if total else '?'}.",
                  file=sys.stderr)
        transfer.begin(offset, total)
        try:
            try:
                f = open(part, mode)
            except OSError as exc:
                raise _os_error(exc, "writing", part) from exc
            with f, transfer:
                received = _copy_body(response, f, url, offset, total, transfer,
                                      magic if offset == 0 else None, part)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:   # raised by close(): a delayed ENOSPC
            raise _os_error(exc, "writing", part) from exc
        if total is not None and received == total and not sized and response.read1(1):
            part.unlink()
            raise DataStepError(f"the server at {url} sends more than the {total} bytes of the "
                                f"CIFAR-10 archive (and never said how much it sends): it is not the "
                                f"archive; the download was deleted. Check CIFAR10_URL, "
                                f"{_ALTERNATIVES}.")
    if total is not None and received < total:
        raise _interrupted(url, received, total, None)


def _copy_body(response, f, url, received, total, transfer, magic, part):
    """Copy the response body into ``f`` up to ``total`` bytes; returns the bytes now in the file."""
    head = b""
    while total is None or received < total:
        want = _CHUNK if total is None else min(_CHUNK, total - received)
        try:
            block = response.read1(want)   # returns what arrived, so a trickle is measured
        except (http.client.IncompleteRead, OSError) as exc:
            raise _interrupted(url, received, total, exc) from exc
        if magic and len(head) < len(magic):
            head += block
            if (len(head) >= len(magic) or not block) and not head.startswith(magic):
                part.unlink(missing_ok=True)
                raise _not_the_archive(url, head)
        if not block:
            break
        try:
            f.write(block)
        except OSError as exc:
            raise _os_error(exc, "writing", part) from exc
        received += len(block)
        transfer.update(received, url)
    return received


def _not_the_archive(url, head):
    what = f"it starts with {head[:40]!r}" if head else "it is empty"
    return DataStepError(f"the server at {url} sends something that is not a .tar.gz archive "
                         f"({what}): an error page or a wrong address; nothing was kept. Check "
                         f"CIFAR10_URL, {_ALTERNATIVES}.")


def _interrupted(url, received, total, exc):
    cause = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
    of = f" of {_mb(total)}" if total else ""
    return DataStepError(f"the download from {url} was interrupted after {_mb(received)}{of}"
                         f"{cause}. Rerun `make data`: it resumes where it stopped.")


class _Transfer:
    """Progress (a bar on a terminal, plain lines in a log) and the deadline and speed checks."""

    def __init__(self, part, bar, limits, url):
        self.name, self.use_bar, self.limits, self.url = part.name.removesuffix(".part"), bar, limits, url
        self.bar = None

    def begin(self, offset, total):
        now = time.monotonic()
        self.total, self.offset = total, offset
        self.started = self.window_t = self.logged_t = now
        self.window_n = offset
        self.bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                        desc=self.name, disable=not self.use_bar, file=sys.stderr,
                        dynamic_ncols=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()

    def update(self, received, url):
        now = time.monotonic()
        self.bar.update(received - self.bar.n)
        if not self.use_bar and now - self.logged_t >= _LOG_EVERY:
            self.logged_t = now
            print(self._line(received, now), file=sys.stderr, flush=True)
        if self.limits.left() < 0:
            raise DataStepError(f"the download from {url} did not finish within CIFAR10_DEADLINE="
                                f"{self.limits.seconds:g} s ({_mb(received)} of {self._of()} "
                                f"received and kept). Rerun `make data`: it resumes where it "
                                f"stopped; set CIFAR10_DEADLINE to more seconds, {_ALTERNATIVES}.")
        if now - self.window_t >= _SPEED_WINDOW:
            speed = (received - self.window_n) / (now - self.window_t)
            if speed < self.limits.min_speed:
                raise DataStepError(
                    f"the download from {url} is too slow: {speed / 1000:.1f} kB/s over the last "
                    f"{now - self.window_t:.0f} s, below CIFAR10_MIN_SPEED="
                    f"{self.limits.min_speed / 1000:g} kB/s ({_mb(received)} of {self._of()} "
                    f"received and kept). Rerun `make data` later or on a faster network: it "
                    f"resumes where it stopped; use a mirror with CIFAR10_URL=..., or set "
                    f"CIFAR10_MIN_SPEED=0 to wait anyway, {_ALTERNATIVES}.")
            self.window_t, self.window_n = now, received

    def _of(self):
        return _mb(self.total) if self.total else "?"

    def _line(self, received, now):
        speed = (received - self.offset) / max(now - self.started, 1e-9)
        line = f"Downloading {self.name}: {_mb(received)} of {self._of()}"
        if self.total:
            line += f" ({100 * received / self.total:.0f}%)"
        line += f", {speed / 1e6:.2f} MB/s"
        if self.total and speed > 0:
            line += f", about {(self.total - received) / speed / 60:.0f} min left"
        return line + "."


# --------------------------------------------------------------------------- archive reading

def _member_path(name):
    """The safe relative path of a tar member inside cifar-10-batches-py/, or None to skip it."""
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts:
        return None
    parts = [q for q in p.parts if q != "."]
    if not parts or parts[0] != DIRNAME:
        return None
    return parts[1:]


def _dataset_name(member):
    """The dataset file a tar member is (e.g. 'data_batch_1'), or None when it is not one."""
    rel = _member_path(member.name)
    if rel and len(rel) == 1 and rel[0] in DATASET_FILES and member.isreg() \
            and not member.issparse():
        return rel[0]
    return None


def _size_cap(name):
    return _MAX_BATCH_BYTES if name in (*TRAIN_BATCHES, TEST_BATCH) or name is None \
        else _MAX_SMALL_BYTES


# Leading bytes of the formats people have CIFAR-10 in, to name what a file is.
_KINDS = ((b"\x1f\x8b", ".tar.gz"), (b"\xfd7zXZ\x00", ".tar.xz"), (b"BZh", ".tar.bz2"),
          (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"))


def _archive_kind(head):
    """'.tar.gz', '.tar.xz', '.tar.bz2', '.tar', 'zip' or None, from a file's first 512 bytes."""
    for magic, kind in _KINDS:
        if head.startswith(magic):
            return kind
    return ".tar" if head[257:262] == b"ustar" else None


class _ArchiveReader:
    """A file read once from its start: hashes what is read and refuses to read past a cap.

    Reading a local archive as a stream hashes it in the same pass (no second read of
    170 MB) and works on pipes; the cap bounds the work on a file that never ends.
    """

    def __init__(self, f, path):
        self.f, self.path, self.md5, self.count = f, path, hashlib.md5(), 0
        self.head = f.read(512)
        self.pending = self.head

    def read(self, n=-1):
        if self.pending:
            block, self.pending = (self.pending, b"") if n < 0 or n >= len(self.pending) \
                else (self.pending[:n], self.pending[n:])
        else:
            block = self.f.read(n)
        self.count += len(block)
        if self.count > _MAX_ARCHIVE_BYTES:
            raise DataStepError(f"{self.path} is larger than {_mb(_MAX_ARCHIVE_BYTES)}, far more "
                                f"than the 170 MB CIFAR-10 archive: it is not that archive.")
        self.md5.update(block)
        return block

    def finish(self):
        """Read what the tar reader left (padding) and return the md5 of the whole file."""
        while self.read(_CHUNK):
            pass
        return self.md5.hexdigest()


def _refuse_kind(path, kind, head, redo):
    if kind == "zip":
        raise DataStepError(f"{path} is a zip archive, but CIFAR-10's python version comes as a "
                            f".tar.gz: unzip it and point CIFAR10_TARBALL at the {DIRNAME} folder "
                            f"inside, or get {TARBALL_NAME} from {OFFICIAL_URL}.")
    what = f"it starts with {head[:16]!r}" if head else "it is empty"
    raise DataStepError(f"{path} is not a .tar.gz (nor .tar, .tar.xz, .tar.bz2) archive ({what}), "
                        f"so it is not {TARBALL_NAME}. {redo}.")


def _extract_members(tar, new, source, redo):
    """Copy the dataset's files from an open tar stream into ``new``; returns all member names.

    Member sizes and counts are capped to what CIFAR-10 can be before any byte of a member
    is read; members that are not dataset files are not extracted.
    """
    names, seen, total = [], set(), 0
    for member in tar:
        names.append(member.name)
        total += member.size
        name = _dataset_name(member)
        if len(names) > _MAX_MEMBERS or total > _MAX_TOTAL_BYTES or member.size > _size_cap(name):
            what = (f"more than {_MAX_MEMBERS} members" if len(names) > _MAX_MEMBERS else
                    f"{member.name} of {_mb(member.size)}" if member.size > _size_cap(name) else
                    f"more than {_mb(_MAX_TOTAL_BYTES)} in all")
            raise DataStepError(f"{source} holds {what}, more than CIFAR-10 can (each batch is "
                                f"about 31 MB, {len(DATASET_FILES)} files in all): it is not the "
                                f"CIFAR-10 archive, so nothing was installed. {redo}.")
        if name is None:
            continue
        if name in seen:
            raise DataStepError(f"{source} holds {member.name} twice: it is not the CIFAR-10 "
                                f"archive. {redo}.")
        seen.add(name)
        _write_file(tar.extractfile(member), new / name)
    return names


def _write_file(src, out):
    """Copy a file object to ``out`` and flush it to disk."""
    with open(out, "wb") as f:
        shutil.copyfileobj(src, f, _CHUNK)
        f.flush()
        os.fsync(f.fileno())


def _extract_archive(tarball, new, redo):
    """Fill ``new`` from an archive; returns the archive's md5. Raises DataStepError."""
    try:
        raw = open(tarball, "rb")
    except OSError as exc:
        raise DataStepError(f"cannot read {tarball}: {exc.strerror}. Check the path and its "
                            f"permissions.") from exc
    with raw:
        reader = _ArchiveReader(raw, tarball)
        kind = _archive_kind(reader.head)
        if kind in (None, "zip"):
            _refuse_kind(tarball, kind, reader.head, redo)
        try:
            with tarfile.open(fileobj=reader, mode="r|*") as tar:
                names = _extract_members(tar, new, tarball, redo)
            md5 = reader.finish()
        except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
                raise _os_error(exc, "extracting into", new.parent.parent) from exc
            if isinstance(exc, OSError) and exc.errno is not None:
                raise DataStepError(f"{tarball} could not be read ({exc}). {redo}.") from exc
            raise DataStepError(f"{tarball} is not a complete {kind} archive: it is truncated or "
                                f"corrupt ({exc}). {redo}.") from exc
    if not any(_member_path(name) is not None for name in names):
        raise DataStepError(f"{tarball} is not a CIFAR-10 python archive: it has no "
                            f"{DIRNAME}/ folder (it holds {_shown(names) or 'nothing'}). {redo}; "
                            f"the right archive is {TARBALL_NAME} from {OFFICIAL_URL}.")
    return md5


def _copy_folder(folder, new, redo):
    """Fill ``new`` from an extracted dataset folder (sizes capped like archive members)."""
    for name in DATASET_FILES:
        src = folder / name
        if not src.is_file():
            continue
        if src.stat().st_size > _size_cap(name):
            raise DataStepError(f"{src} has {_mb(src.stat().st_size)}, more than a CIFAR-10 file "
                                f"can: {folder} is not a CIFAR-10 dataset. {redo}.")
        try:
            with open(src, "rb") as f:
                _write_file(f, new / name)
        except OSError as exc:
            if exc.errno in _WRITE_ERRNOS:
                raise _os_error(exc, "copying into", new.parent.parent) from exc
            raise DataStepError(f"cannot read {src}: {exc.strerror}. {redo}.") from exc


# --------------------------------------------------------------------------- the dataset folder

def _foreign(folder):
    """Entries of ``folder`` the data step did not create ('name', or 'name/' for a folder)."""
    return sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()
                  if p.name not in DATASET_FILES and p.name != MARKER)


def _read_marker(target):
    """What the data step recorded when it installed ``target`` (source, md5, counts), or {}."""
    try:
        marker = json.loads((Path(target) / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


def _check_replaceable(target, why=None):
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
        raise DataStepError(f"{target} already holds other things ({_shown(foreign)}) and no "
                            f"CIFAR-10 dataset: make data installs only into a new or empty folder "
                            f"or over a dataset, so nothing was changed. Point CIFAR10_DIR at a new "
                            f"folder, e.g. CIFAR10_DIR={target / DIRNAME}, then rerun `make data`.")
    raise DataStepError(f"{why or f'the dataset in {target} is to be replaced'}, but the folder also "
                        f"holds files make data did not create ({_shown(foreign)}): they are never "
                        f"deleted, so nothing was changed. Move them out of {target}, then rerun "
                        f"`make data`.")


def _inspect(target):
    """(image counts, marker) of the valid dataset in ``target``, or (None, {}) to install.

    Raises DataStepError for a file or a folder holding other things.
    """
    if not target.is_dir() or not any(target.iterdir()):
        _check_replaceable(target)
        return None, {}
    try:
        info = check_cifar10_dir(target)
    except CifarFormatError as exc:
        detail = str(exc).replace(f"{target}{os.sep}", "")
        _check_replaceable(target, f"the dataset in {target} is incomplete or damaged ({detail}) "
                                   f"and must be installed again")
        print(f"The dataset in {target} is incomplete or damaged ({detail}); installing it again.",
              file=sys.stderr)
        return None, {}
    return info, _read_marker(target)


def _is_subset(info, marker):
    """Whether a dataset has fewer images than CIFAR-10 (one from the official archive never does)."""
    return marker.get("md5") != OFFICIAL_MD5 and any(info[k] < FULL_COUNTS[k] for k in FULL_COUNTS)


def _counts(info):
    return f"{info['num_train']} training, {info['num_test']} test images"


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
        if sub.is_dir():
            _remove_dataset_files(sub)
            try:
                sub.rmdir()
            except OSError:
                kept += [f"{sub.name}/{name}" for name in _foreign(sub)]
    with contextlib.suppress(OSError):
        (tmp / _TMP_MARKER).unlink(missing_ok=True)
        tmp.rmdir()
    return kept


def _clean_leftovers(target):
    """Remove what interrupted runs left next to ``target``; put back a dataset moved aside."""
    for tmp in sorted(target.parent.glob(f".{target.name}.tmp-*")):
        if not tmp.is_dir():
            continue
        previous = tmp / "previous"
        if not target.exists() and previous.is_dir():
            os.rename(previous, target)
            print(f"Put back {target}, which an interrupted run had moved aside.", file=sys.stderr)
        kept = _remove_tmp(tmp)
        if kept:
            print(f"Note: {tmp} holds files make data did not create ({_shown(kept)}); they were "
                  f"kept there: move them where you want them, then delete {tmp}.", file=sys.stderr)
        else:
            print(f"Removed {tmp}, left by an interrupted run.", file=sys.stderr)


def _staged_install(target, fill, source, redo, kind):
    """Build the dataset next to ``target`` with ``fill(new) -> md5 or None``, check it, swap it in.

    Returns the dict of image counts. Raises DataStepError; ``target`` is then as it was.
    """
    _check_replaceable(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        (tmp / _TMP_MARKER).touch()
    except OSError as exc:
        raise _os_error(exc, "creating a folder in", target.parent) from exc
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
            _fsync_dir(new)
            if target.exists():
                os.rename(target, tmp / "previous")
            os.rename(new, target)
            _fsync_dir(target.parent)
        except OSError as exc:
            raise _os_error(exc, "moving the dataset into", target) from exc
        return info
    finally:
        _remove_tmp(tmp)


# --------------------------------------------------------------------------- the sources

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
    return _staged_install(Path(target), lambda new: _extract_archive(tarball, new, redo),
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
                            f"{_mb(need)} and only {_mb(free)} is free. Free some space or set "
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
    _check_url(url)
    target = Path(target)
    _check_replaceable(target)
    tarball = target.parent / TARBALL_NAME
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(exc, "creating", target.parent) from exc
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
                 limits=limits, magic=_GZIP_MAGIC)
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
    return _staged_install(target, lambda new: _copy_folder(src, new, redo), src, redo,
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
        small = path.is_file() and path.stat().st_size <= _MAX_ARCHIVE_BYTES
        got = md5sum(path) if small else None
        if got is None or got == expected_md5:
            raise
        raise DataStepError(f"{exc} (Its md5 {got} also differs from the official archive's "
                            f"{expected_md5}.)") from exc
    got = _read_marker(target).get("md5")
    if got != expected_md5:
        print(f"Note: the md5 of {path} ({got}) differs from the official archive's "
              f"({expected_md5}); installed anyway because it is a structurally valid CIFAR-10 "
              f"archive ({_counts(info)}).", file=sys.stderr)
    return info


# --------------------------------------------------------------------------- the command

@contextlib.contextmanager
def _locked(folder, limits):
    """Hold the data step's lock on ``folder``; a second run waits, with a message, up to the deadline.

    The lock (flock) is released by the kernel when its process ends, however it ends,
    so a killed run never leaves a stale lock; the file holds the holder's pid for the message.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ".make-data.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _os_error(exc, "creating", folder) from exc
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


def _installed_line(target, info):
    if _is_subset(info, _read_marker(target)):
        return (f"A subset of CIFAR-10 is installed in {target} ({_counts(info)}; the full dataset "
                f"has {FULL_COUNTS['num_train']} and {FULL_COUNTS['num_test']}). Notebooks now use "
                f"it; for the full dataset run `make data` without CIFAR10_TARBALL: it replaces "
                f"this subset.")
    return (f"CIFAR-10 installed in {target} ({_counts(info)}). Notebooks now use it instead of "
            f"the embedded {len(DIGIT_CLASSES)}-digit dataset.")


def _run(target, limits):
    """Install per the environment unless ``target`` already holds the dataset asked for."""
    info, marker = _inspect(target)
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

    Returns the exit status (0 success, 1 failure, 130 interrupted).
    """
    if argv:
        print(__doc__, file=sys.stderr)
        return 0 if argv[0] in ("-h", "--help") else 2
    target = default_cifar10_dir()
    try:
        limits = Limits.from_env()
        with _locked(target.parent, limits):
            _clean_leftovers(target)
            return _run(target, limits)
    except DataStepError as exc:
        print(f"make data: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("make data: interrupted. Rerun `make data`: the download resumes where it stopped.",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
