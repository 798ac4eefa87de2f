"""Downloading one file over HTTP for the data step: resumable, bounded in time, size and speed.

A partial download is kept in ``<dest>.part`` and resumed with a Range request. The
whole run has a deadline and the transfer a minimum speed (``Limits``, read from
``CIFAR10_DEADLINE`` and ``CIFAR10_MIN_SPEED``); progress shows as a bar on a
terminal and as a plain line every ``_LOG_EVERY`` seconds in a log. Reading stops at
the expected size, so a server that never stops cannot fill the disk.
"""

import dataclasses
import errno
import http.client
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from cs231n_lib.atomic import replace_durably
from cs231n_lib.datastep.errors import ALTERNATIVES, DataStepError, mb, os_error
from cs231n_lib.datastep.official import CHUNK, TARBALL_NAME, md5sum

__all__ = ["Limits", "download", "check_url", "GZIP_MAGIC"]

_USER_AGENT = "cs231n_lib-data-step/1.0 (+urllib)"
GZIP_MAGIC = b"\x1f\x8b"
_DEFAULT_DEADLINE = 7200.0
_DEFAULT_MIN_SPEED_KB = 10.0
_SPEED_WINDOW = 60.0      # seconds over which the speed is averaged
_LOG_EVERY = 10.0         # seconds between progress lines when stderr is not a terminal


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


def check_url(url):
    scheme = urllib.request.urlparse(url).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise DataStepError(f"CIFAR10_URL={url} is not a web address: it must start with https:// "
                            f"or http://, e.g. CIFAR10_URL=https://example.org/{TARBALL_NAME}. "
                            f"Fix it and rerun `make data`, {ALTERNATIVES}.")


def _network_error(exc, url):
    """Turn a urllib/socket error raised before any data arrived into a DataStepError."""
    host = urllib.request.urlparse(url).netloc or url
    if isinstance(exc, urllib.error.HTTPError):
        hint = {404: "the file is not at that address: check CIFAR10_URL",
                403: "the server refuses access: check CIFAR10_URL or try another mirror",
                416: "the server refuses even a request for the whole file, so it is "
                     "misconfigured or the address is wrong: check CIFAR10_URL or use another "
                     "mirror"}
        advice = hint.get(exc.code, "the server has a problem, try again later or use a mirror "
                                    "with CIFAR10_URL=..." if exc.code >= 500
                          else "check the address (CIFAR10_URL)")
        return DataStepError(f"the server answered HTTP {exc.code} {exc.reason} for {url}: "
                             f"{advice}, {ALTERNATIVES}.")
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, socket.gaierror):
        return DataStepError(f"cannot resolve the host name {host!r} (DNS failure): you may be "
                             f"offline. Check your internet connection and rerun `make data`, "
                             f"{ALTERNATIVES}.")
    if isinstance(reason, ConnectionRefusedError):
        return DataStepError(f"the connection to {host} was refused: the server is down or the "
                             f"address is wrong. Check CIFAR10_URL and rerun `make data`, "
                             f"{ALTERNATIVES}.")
    if isinstance(reason, TimeoutError | socket.timeout):
        return DataStepError(f"the connection to {host} timed out. Check your internet connection "
                             f"and rerun `make data`, {ALTERNATIVES}.")
    if isinstance(reason, OSError) and reason.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return DataStepError(f"the network is unreachable: you seem to be offline. Connect and "
                             f"rerun `make data`, {ALTERNATIVES}.")
    return DataStepError(f"could not connect to {host}: {reason}. Check your internet connection "
                         f"and rerun `make data`, {ALTERNATIVES}.")


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
    check_url(url)
    dest = Path(dest)
    limits = Limits.from_env() if limits is None else limits
    part = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(exc, "creating", dest.parent) from exc

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
    replace_durably(part, dest)
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
                        f"CIFAR10_URL=..., {ALTERNATIVES}.")


def _plan(response, url, part, have, expected_size):
    """(file mode, offset, total size or None, whether the server gave a size) for a response."""
    if (response.headers.get("Content-Type") or "").lower().startswith("text/html"):
        raise DataStepError(f"the server at {url} answered with a web page, not the archive "
                            f"(a Wi-Fi login page or a wrong address?). Check your connection "
                            f"and CIFAR10_URL, {ALTERNATIVES}.")
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
                            f"point at the CIFAR-10 archive. Check CIFAR10_URL, {ALTERNATIVES}.")
    sized = total is not None
    return mode, offset, (expected_size if total is None else total), sized


def _fetch(url, part, have, expected_size, transfer, timeout, magic):
    """Append the missing bytes of ``url`` to ``part`` (``have`` bytes already there)."""
    response, have = _request(url, part, have, min(timeout, max(transfer.limits.left(), 0.1)))
    with response:
        mode, offset, total, sized = _plan(response, url, part, have, expected_size)
        if offset:
            print(f"Resuming the download at {mb(offset)} of {mb(total) if total else '?'}.",
                  file=sys.stderr)
        transfer.begin(offset, total)
        try:
            try:
                f = open(part, mode)
            except OSError as exc:
                raise os_error(exc, "writing", part) from exc
            with f, transfer:
                received = _copy_body(response, f, url, offset, total, transfer,
                                      magic if offset == 0 else None, part)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:   # raised by close(): a delayed ENOSPC
            raise os_error(exc, "writing", part) from exc
        if total is not None and received == total and not sized and _more_follows(response):
            part.unlink()
            raise DataStepError(f"the server at {url} sends more than the {total} bytes of the "
                                f"CIFAR-10 archive (and never said how much it sends): it is not the "
                                f"archive; the download was deleted. Check CIFAR10_URL, "
                                f"{ALTERNATIVES}.")
    if total is not None and received < total:
        raise _interrupted(url, received, total, None)


def _more_follows(response):
    """Whether a response that gave no size still has bytes after the expected ones."""
    try:
        return bool(response.read1(1))
    except (http.client.HTTPException, OSError):
        return False


def _copy_body(response, f, url, received, total, transfer, magic, part):
    """Copy the response body into ``f`` up to ``total`` bytes; returns the bytes now in the file."""
    head = b""
    while total is None or received < total:
        want = CHUNK if total is None else min(CHUNK, total - received)
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
            raise os_error(exc, "writing", part) from exc
        received += len(block)
        transfer.update(received, url)
    return received


def _not_the_archive(url, head):
    what = f"it starts with {head[:40]!r}" if head else "it is empty"
    return DataStepError(f"the server at {url} sends something that is not a .tar.gz archive "
                         f"({what}): an error page or a wrong address; nothing was kept. Check "
                         f"CIFAR10_URL, {ALTERNATIVES}.")


def _interrupted(url, received, total, exc):
    cause = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
    of = f" of {mb(total)}" if total else ""
    return DataStepError(f"the download from {url} was interrupted after {mb(received)}{of}"
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
                                f"{self.limits.seconds:g} s ({mb(received)} of {self._of()} "
                                f"received and kept). Rerun `make data`: it resumes where it "
                                f"stopped; set CIFAR10_DEADLINE to more seconds, {ALTERNATIVES}.")
        if now - self.window_t >= _SPEED_WINDOW:
            speed = (received - self.window_n) / (now - self.window_t)
            if speed < self.limits.min_speed:
                raise DataStepError(
                    f"the download from {url} is too slow: {speed / 1000:.1f} kB/s over the last "
                    f"{now - self.window_t:.0f} s, below CIFAR10_MIN_SPEED="
                    f"{self.limits.min_speed / 1000:g} kB/s ({mb(received)} of {self._of()} "
                    f"received and kept). Rerun `make data` later or on a faster network: it "
                    f"resumes where it stopped; use a mirror with CIFAR10_URL=..., or set "
                    f"CIFAR10_MIN_SPEED=0 to wait anyway, {ALTERNATIVES}.")
            self.window_t, self.window_n = now, received

    def _of(self):
        return mb(self.total) if self.total else "?"

    def _line(self, received, now):
        speed = (received - self.offset) / max(now - self.started, 1e-9)
        line = f"Downloading {self.name}: {mb(received)} of {self._of()}"
        if self.total:
            line += f" ({100 * received / self.total:.0f}%)"
        line += f", {speed / 1e6:.2f} MB/s"
        if self.total and speed > 0:
            line += f", about {(self.total - received) / speed / 60:.0f} min left"
        return line + "."

