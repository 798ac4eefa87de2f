"""Tests of the data step (``make data``) against a local HTTP server on 127.0.0.1.

The archives are small but written in the official byte format (tests/lib/cifar_fixtures.py).
Every failure test checks the message, the non-zero exit status and that no
loadable (half) dataset is left behind. Disk-full errors are simulated by making
the module's file writes raise ENOSPC; permission errors use a read-only folder
when not running as root, and are simulated otherwise. Two runs at once and a
kill during extraction use real subprocesses; slow, endless and misbehaving
servers are routes of the same local server.
"""

import contextlib
import errno
import fcntl
import gzip
import hashlib
import http.server
import io
import os
import pickle
import socket
import subprocess
import sys
import tarfile
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path, PurePosixPath

import cifar_fixtures as fx
import numpy as np
import pytest

from cs231n_lib.data import load_cifar10
from cs231n_lib.datastep import archive as cifar_archive
from cs231n_lib.datastep import dataset_folder
from cs231n_lib.datastep import download as http_download
from cs231n_lib.datastep import install as dl
from cs231n_lib.datastep.errors import DataStepError
from cs231n_lib.datastep.official import TARBALL_NAME, md5sum

pytestmark = pytest.mark.network

SUBSET = fx.SUBSET
N_PER_BATCH, N_TEST = 20, 30


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A small archive in the official format: its path, bytes, md5, size and arrays."""
    batches = fx.make_batches(N_PER_BATCH, N_TEST, seed=1)
    path = tmp_path_factory.mktemp("archive") / "cifar-10-python.tar.gz"
    size, md5 = fx.write_tarball(path, fx.batch_files(batches))
    return {"path": path, "body": path.read_bytes(), "md5": md5, "size": size, "batches": batches}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        kind, body = srv.routes.get(self.path, ("status", 404))
        if kind == "status":
            self.send_error(body)
            return
        if kind == "hang":
            time.sleep(body)
            return
        if kind == "unsized":
            self._send_unsized(*body)
            return
        pace = None
        if kind == "paced":
            body, pace = body[0], body[1:]
        start = 0
        range_header = self.headers.get("Range")
        honours_range = kind in ("range", "drop-once", "paced")
        if honours_range and range_header:
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("Content-Type", "text/html" if self.path.endswith(".html")
                         else "application/gzip")
        self.end_headers()
        if kind == "drop-once" and self.path not in srv.dropped:
            srv.dropped.add(self.path)
            self.wfile.write(body[start:start + len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)   # the connection drops midway
            self.close_connection = True
            return
        if pace is None:
            self.wfile.write(body[start:])
            return
        piece, delay = pace
        with contextlib.suppress(OSError):     # the client gave up
            for i in range(start, len(body), piece):
                self.wfile.write(body[i:i + piece])
                self.wfile.flush()
                time.sleep(delay)

    def _send_unsized(self, content_type, head, filler):
        """A 200 answer without Content-Length: ``head``, then ``filler`` until 50 MB or the client leaves."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.write(head)
            for _ in range(50 * 2**20 // max(len(filler), 1) if filler else 0):
                self.wfile.write(filler)


@pytest.fixture(scope="module")
def server(archive):
    """A threaded HTTP server on 127.0.0.1 with routes for every scenario."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    body = archive["body"]
    httpd.routes = {
        "/ok.tar.gz": ("range", body),
        "/drop.tar.gz": ("drop-once", body),
        "/norange.tar.gz": ("norange", body),
        "/page.html": ("norange", b"<html>Sign in to the Wi-Fi</html>"),
        "/small.tar.gz": ("range", body[:1000]),
        "/e404.tar.gz": ("status", 404),
        "/e500.tar.gz": ("status", 500),
        "/hang.tar.gz": ("hang", 2.0),
        "/paced.tar.gz": ("paced", (body, len(body) // 8 + 1, 0.25)),
        "/trickle.tar.gz": ("paced", (body, 1, 0.02)),
        "/endless.tar.gz": ("unsized", ("application/octet-stream", body[:10], b"\0" * 65536)),
        "/error.tar.gz": ("unsized", ("text/plain", b"Service temporarily unavailable\n", b"")),
        "/always416.tar.gz": ("status", 416),
    }
    httpd.requests, httpd.dropped = [], set()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def srv(server):
    """The server with its request log and drop state reset."""
    server.requests.clear()
    server.dropped.clear()
    return server


@pytest.fixture
def target(tmp_path):
    return tmp_path / "datasets" / "cifar-10-batches-py"


@pytest.fixture
def make_data(monkeypatch, capsys, archive, target):
    """Run ``main()`` like ``make data`` with the given environment; returns (status, stdout, stderr).

    The official size and md5 are replaced by the test archive's (the env-var path reads them).
    """
    def run(url=None, tarball=None, md5=None):
        monkeypatch.setenv("CIFAR10_DIR", str(target))
        for name, value in (("CIFAR10_URL", url), ("CIFAR10_TARBALL", tarball)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, str(value))
        monkeypatch.setattr(dl, "OFFICIAL_SIZE", archive["size"])
        monkeypatch.setattr(dl, "OFFICIAL_MD5", md5 or archive["md5"])
        capsys.readouterr()
        status = dl.main([])
        out, err = capsys.readouterr()
        return status, out, err
    return run


def assert_no_dataset(target):
    """Nothing that loads was left: no target folder, no temporary extraction folder."""
    assert not target.exists(), f"{target} exists after a failure"
    parent = target.parent
    if parent.exists():
        leftovers = [p.name for p in parent.iterdir() if p.name.startswith(".cifar-10-batches-py.tmp")]
        assert leftovers == []
    with pytest.raises(FileNotFoundError):
        load_cifar10(target)


def assert_one_error(status, err, *needles):
    assert status == 1
    lines = [line for line in err.splitlines() if line.startswith("make data: error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"


def assert_dataset_matches(target, archive):
    X_train, y_train, X_test, y_test, names = load_cifar10(target, dtype=np.uint8)
    b = archive["batches"]
    assert X_train.shape == (5 * N_PER_BATCH, 32, 32, 3) and X_test.shape == (N_TEST, 32, 32, 3)
    rows = np.concatenate([b[f"data_batch_{i}"][0] for i in range(1, 6)])
    np.testing.assert_array_equal(X_train.transpose(0, 3, 1, 2).reshape(-1, 3072), rows)
    np.testing.assert_array_equal(y_test, b["test_batch"][1])
    assert names == fx.LABEL_NAMES


# --------------------------------------------------------------------------- success paths

def test_download_verifies_and_installs(srv, archive, target):
    info = dl.install_from_url(f"{srv.url}/ok.tar.gz", target, archive["size"], archive["md5"],
                               progress=False)
    assert info == {"num_train": 5 * N_PER_BATCH, "num_test": N_TEST}
    assert_dataset_matches(target, archive)
    assert (target.parent / TARBALL_NAME).read_bytes() == archive["body"]
    assert sorted(p.name for p in target.parent.iterdir()) == sorted([TARBALL_NAME, target.name])
    assert srv.requests == [("/ok.tar.gz", None)]


def test_make_data_is_idempotent(srv, make_data, archive, target):
    status, out, err = make_data(url=f"{srv.url}/ok.tar.gz")
    assert status == 0 and "installed" in out
    n_requests = len(srv.requests)
    status, out, err = make_data(url=f"{srv.url}/ok.tar.gz")
    assert status == 0
    assert out.strip().endswith("nothing to do.") and len(out.strip().splitlines()) == 1
    assert len(srv.requests) == n_requests          # no second download


def test_damaged_dataset_is_reinstalled(srv, make_data, archive, target):
    assert make_data(url=f"{srv.url}/ok.tar.gz")[0] == 0
    (target / "data_batch_3").write_bytes(b"garbage")
    status, out, err = make_data(url=f"{srv.url}/ok.tar.gz")
    assert status == 0 and "damaged" in err
    assert_dataset_matches(target, archive)


def test_interrupted_download_resumes_with_range(srv, make_data, archive, target):
    status, out, err = make_data(url=f"{srv.url}/drop.tar.gz")
    assert_one_error(status, err, "interrupted", "resumes")
    assert_no_dataset(target)
    part = target.parent / (TARBALL_NAME + ".part")
    have = part.stat().st_size
    assert 0 < have < archive["size"]
    assert part.read_bytes() == archive["body"][:have]

    status, out, err = make_data(url=f"{srv.url}/drop.tar.gz")
    assert status == 0, err
    assert srv.requests[-1] == ("/drop.tar.gz", f"bytes={have}-")
    assert "Resuming" in err
    assert not part.exists()
    assert_dataset_matches(target, archive)


def test_server_ignoring_range_restarts_from_zero(srv, archive, target):
    part = target.parent / (TARBALL_NAME + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"X" * 1000)          # wrong bytes: appending to them would fail the md5
    dl.install_from_url(f"{srv.url}/norange.tar.gz", target, archive["size"], archive["md5"],
                        progress=False)
    assert srv.requests == [("/norange.tar.gz", "bytes=1000-")]
    assert_dataset_matches(target, archive)


def test_complete_part_file_needs_no_request(srv, archive, target):
    part = target.parent / (TARBALL_NAME + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(archive["body"])
    dl.install_from_url(f"{srv.url}/e500.tar.gz", target, archive["size"], archive["md5"],
                        progress=False)
    assert srv.requests == []
    assert_dataset_matches(target, archive)


def test_progress_bar_shows_size_speed_and_eta(srv, archive, tmp_path, capsys):
    http_download.download(f"{srv.url}/ok.tar.gz", tmp_path / "a.tar.gz", archive["size"], archive["md5"],
                progress=True)
    err = capsys.readouterr().err
    assert "a.tar.gz" in err and "100%" in err and "B/s" in err and "<" in err


def test_local_tarball_with_other_md5_is_accepted_with_a_note(make_data, archive, target):
    status, out, err = make_data(tarball=archive["path"])
    assert status == 0 and "installed" in out
    assert "note: the md5" not in err.lower()        # official checksum here: no note
    assert_dataset_matches(target, archive)


def test_local_structurally_valid_subset_says_checksum_differs(tmp_path, archive, target, capsys):
    info = dl.install_from_tarball(archive["path"], target, expected_md5="0" * 32)
    err = capsys.readouterr().err
    assert info["num_train"] == 5 * N_PER_BATCH
    assert "differs from the official" in err and archive["md5"] in err
    assert_dataset_matches(target, archive)


@pytest.mark.skipif(not SUBSET.exists(), reason="the real CIFAR-10 subset is not on this machine")
def test_real_subset_archive(target, capsys):
    info = dl.install_from_tarball(SUBSET, target)
    assert info == {"num_train": 3000, "num_test": 600}
    assert "differs from the official" in capsys.readouterr().err
    X_train, y_train, X_test, y_test, names = load_cifar10(target)
    assert X_train.shape == (3000, 32, 32, 3) and X_test.shape == (600, 32, 32, 3)
    assert names[0] == "airplane" and names[-1] == "truck"


# --------------------------------------------------------------------------- network failures

@pytest.mark.parametrize("path,needles", [
    ("/e404.tar.gz", ["HTTP 404", "check CIFAR10_URL"]),
    ("/e500.tar.gz", ["HTTP 500", "try again later"]),
])
def test_http_errors(srv, make_data, target, path, needles):
    status, out, err = make_data(url=f"{srv.url}{path}")
    assert_one_error(status, err, *needles, "CIFAR10_TARBALL")
    assert_no_dataset(target)
    assert not (target.parent / TARBALL_NAME).exists()


def test_checksum_mismatch_deletes_the_download(srv, archive, target):
    with pytest.raises(DataStepError, match="checksum mismatch.*partial download was deleted"):
        dl.install_from_url(f"{srv.url}/ok.tar.gz", target, archive["size"], "0" * 32,
                            progress=False)
    assert_no_dataset(target)
    assert list(target.parent.iterdir()) == []       # neither .part nor archive kept


def test_checksum_mismatch_message(srv, make_data, archive, target):
    status, out, err = make_data(url=f"{srv.url}/ok.tar.gz", md5="0" * 32)
    assert_one_error(status, err, "checksum mismatch", archive["md5"], "Rerun `make data`")
    assert_no_dataset(target)


def test_web_page_instead_of_the_archive(srv, make_data, target):
    status, out, err = make_data(url=f"{srv.url}/page.html")
    assert_one_error(status, err, "web page, not the archive", "CIFAR10_URL")
    assert_no_dataset(target)


def test_file_of_the_wrong_size_at_url(srv, make_data, archive, target):
    status, out, err = make_data(url=f"{srv.url}/small.tar.gz")
    assert_one_error(status, err, "sends a file of 1000 bytes", f"should have {archive['size']}",
                     "does not point at the CIFAR-10 archive")
    assert_no_dataset(target)


def test_dns_failure(make_data, target):
    status, out, err = make_data(url="http://nonexistent.invalid/cifar-10-python.tar.gz")
    assert_one_error(status, err, "cannot resolve", "nonexistent.invalid", "offline",
                     "CIFAR10_TARBALL")
    assert_no_dataset(target)


def test_connection_refused(make_data, target):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status, out, err = make_data(url=f"http://127.0.0.1:{port}/cifar-10-python.tar.gz")
    assert_one_error(status, err, "refused", f"127.0.0.1:{port}")
    assert_no_dataset(target)


def test_timeout(srv, target):
    with pytest.raises(DataStepError, match="timed out"):
        dl.install_from_url(f"{srv.url}/hang.tar.gz", target, progress=False, timeout=0.3)
    assert_no_dataset(target)


# --------------------------------------------------------------------------- bad archives

def _tarball_with(tmp_path, files, dirname=fx.DIRNAME):
    path = tmp_path / "bad.tar.gz"
    fx.write_tarball(path, files, dirname=dirname)
    return path


def test_truncated_archive(make_data, archive, target, tmp_path):
    path = tmp_path / "truncated.tar.gz"
    path.write_bytes(archive["body"][: archive["size"] * 2 // 3])
    status, out, err = make_data(tarball=path)
    assert_one_error(status, err, "truncated or corrupt", "Copy the archive again",
                     "md5")
    assert_no_dataset(target)


def test_truncated_download_is_detected(tmp_path, archive, target):
    cut = tmp_path / "datasets" / TARBALL_NAME
    cut.parent.mkdir(parents=True)
    cut.write_bytes(archive["body"][:-100])
    with pytest.raises(DataStepError, match="truncated or corrupt.*download it again"):
        dl.install_archive(cut, target)
    assert_no_dataset(target)


def test_wrong_archive(make_data, target, tmp_path):
    path = _tarball_with(tmp_path, {"train-images.bin": b"\0" * 100, "labels.bin": b"\1"},
                         dirname="mnist")
    status, out, err = make_data(tarball=path)
    assert_one_error(status, err, "not a CIFAR-10 python archive", "mnist/train-images.bin")
    assert_no_dataset(target)


def test_archive_with_a_missing_batch(make_data, archive, target, tmp_path):
    files = fx.batch_files(archive["batches"])
    del files["test_batch"]
    status, out, err = make_data(tarball=_tarball_with(tmp_path, files))
    assert_one_error(status, err, "not a valid CIFAR-10", "test_batch", "missing")
    assert_no_dataset(target)


def test_archive_with_a_malformed_batch(make_data, archive, target, tmp_path):
    files = fx.batch_files(archive["batches"])
    data, labels = archive["batches"]["data_batch_3"]
    files["data_batch_3"] = fx.batch_bytes(data[:, :3000].copy(), labels, "training batch 3 of 5",
                                           ["x.png"] * len(labels))
    status, out, err = make_data(tarball=_tarball_with(tmp_path, files))
    assert_one_error(status, err, "data_batch_3", "(n, 3072)", "(20, 3000)")
    assert_no_dataset(target)


def test_archive_with_a_code_running_pickle_is_refused(make_data, archive, target, tmp_path):
    files = fx.batch_files(archive["batches"])
    marker = tmp_path / "pwned"
    # GLOBAL os.system, then REDUCE with a shell command: what a tampered archive could hold.
    files["data_batch_1"] = (b"\x80\x02cos\nsystem\nU" + bytes([len(f"touch {marker}")])
                             + f"touch {marker}".encode() + b"\x85R.")
    status, out, err = make_data(tarball=_tarball_with(tmp_path, files))
    assert_one_error(status, err, "data_batch_1", "os.system")
    assert not marker.exists()
    assert_no_dataset(target)


def test_failed_install_keeps_a_previous_dataset_untouched(make_data, archive, target, tmp_path):
    assert make_data(tarball=archive["path"])[0] == 0
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    files = fx.batch_files(archive["batches"])
    del files["batches.meta"]
    with pytest.raises(DataStepError, match="batches.meta"):
        dl.install_archive(_tarball_with(tmp_path, files), target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before


def test_missing_local_tarball(make_data, target, tmp_path):
    status, out, err = make_data(tarball=tmp_path / "nope.tar.gz")
    assert_one_error(status, err, "no such file", "CIFAR10_TARBALL")
    assert_no_dataset(target)


# --------------------------------------------------------------------------- disk and permissions

class _FullDisk:
    """Simulated ENOSPC: ``open`` for writing returns files that fail after ``limit`` bytes."""

    def __init__(self, limit):
        self.limit = limit
        self.written = 0

    def __call__(self, path, mode="r", *args, **kwargs):
        f = open(path, mode, *args, **kwargs)
        if "w" not in mode and "a" not in mode:
            return f
        outer = self

        class Writer(io.BufferedIOBase):
            def write(self, b):
                if outer.written + len(b) > outer.limit:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
                outer.written += len(b)
                return f.write(b)

            def fileno(self):
                return f.fileno()

            def flush(self):
                if not f.closed:
                    f.flush()

            def close(self):
                f.close()
                super().close()

        return Writer()


def test_disk_full_during_download(srv, make_data, archive, target, monkeypatch):
    monkeypatch.setattr(http_download, "open", _FullDisk(limit=archive["size"] // 3), raising=False)
    status, out, err = make_data(url=f"{srv.url}/ok.tar.gz")
    assert_one_error(status, err, "no space left", "Free some space")
    assert_no_dataset(target)


def test_too_little_free_space_fails_before_downloading(srv, make_data, archive, target,
                                                       monkeypatch):
    usage = type("Usage", (), {"total": 10**9, "used": 10**9, "free": archive["size"]})
    monkeypatch.setattr(dl.shutil, "disk_usage", lambda path: usage)
    status, out, err = make_data(url=f"{srv.url}/ok.tar.gz")
    assert_one_error(status, err, "no space left", "only 0.4 MB is free", "CIFAR10_DIR")
    assert srv.requests == []
    assert_no_dataset(target)


def test_disk_full_during_extraction(make_data, archive, target, monkeypatch):
    monkeypatch.setattr(cifar_archive, "open", _FullDisk(limit=archive["size"] // 2), raising=False)
    status, out, err = make_data(tarball=archive["path"])
    assert_one_error(status, err, "no space left", "extracting")
    assert_no_dataset(target)


def _read_only_parent_works(tmp_path):
    probe = tmp_path / "probe"
    probe.mkdir()
    probe.chmod(0o555)
    try:
        (probe / "x").write_bytes(b"")
        return False         # root (or a permissive filesystem) ignores the mode
    except PermissionError:
        return True
    finally:
        probe.chmod(0o755)


def test_no_write_permission(make_data, archive, target, tmp_path, monkeypatch):
    if _read_only_parent_works(tmp_path):
        target.parent.mkdir(parents=True)
        target.parent.chmod(0o555)
    else:
        # Running as root: chmod cannot forbid writes, so simulate the refusal.
        def refuse(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied", str(target.parent))
        monkeypatch.setattr(dataset_folder.tempfile, "mkdtemp", refuse)
    try:
        status, out, err = make_data(tarball=archive["path"])
    finally:
        if target.parent.exists():
            target.parent.chmod(0o755)
    assert_one_error(status, err, "no permission", "CIFAR10_DIR")
    assert_no_dataset(target)


def test_no_write_permission_during_download(srv, make_data, target, monkeypatch):
    def refuse(path, mode="r", *args, **kwargs):
        if "w" in mode or "a" in mode:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return open(path, mode, *args, **kwargs)
    monkeypatch.setattr(http_download, "open", refuse, raising=False)   # simulated
    status, out, err = make_data(url=f"{srv.url}/ok.tar.gz")
    assert_one_error(status, err, "no permission", "writable folder")
    assert_no_dataset(target)


# --------------------------------------------------------------------------- the command

def test_command_line_exit_status(archive, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIFAR10_")}
    env["CIFAR10_DIR"] = str(tmp_path / "d" / "cifar-10-batches-py")
    env["CIFAR10_TARBALL"] = str(tmp_path / "missing.tar.gz")
    cmd = [sys.executable, "-m", "cs231n_lib.datastep"]
    bad = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert bad.stderr.startswith("make data: error:") and len(bad.stderr.splitlines()) == 1
    env["CIFAR10_TARBALL"] = str(archive["path"])
    for command in (cmd + ["--help"], [str(Path(sys.executable).with_name("cs231n-data")), "-h"]):
        shown = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0 and "CIFAR10_TARBALL" in shown.stderr, shown.stderr
        assert not (tmp_path / "d" / "cifar-10-batches-py").exists()    # help only: nothing installed
    good = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stderr
    assert "installed" in good.stdout


def test_md5sum_matches_hashlib(tmp_path):
    data = np.random.default_rng(3).integers(0, 256, 3 * (1 << 20) + 17, dtype=np.uint8).tobytes()
    (tmp_path / "f").write_bytes(data)
    assert md5sum(tmp_path / "f") == hashlib.md5(data).hexdigest()


def test_unsafe_member_paths_are_ignored():
    assert cifar_archive.member_path("cifar-10-batches-py/data_batch_1") == ["data_batch_1"]
    assert cifar_archive.member_path("./cifar-10-batches-py/test_batch") == ["test_batch"]
    assert cifar_archive.member_path("/etc/passwd") is None
    assert cifar_archive.member_path("cifar-10-batches-py/../../evil") is None
    assert cifar_archive.member_path("other/data_batch_1") is None


def test_fixture_archive_has_the_official_layout(archive):
    with tarfile.open(archive["path"]) as tar:
        names = tar.getnames()
    assert names[0] == "cifar-10-batches-py"
    assert sorted(names[1:]) == sorted(f"cifar-10-batches-py/{n}" for n in
                                       ["data_batch_1", "data_batch_2", "data_batch_3",
                                        "data_batch_4", "data_batch_5", "test_batch",
                                        "batches.meta", "readme.html"])


# --------------------------------------------------------------------------- only what it created

def _user_files(folder):
    """Files a user keeps in ``folder``: their relative paths and contents."""
    (folder / "project").mkdir(parents=True, exist_ok=True)
    (folder / "thesis.tex").write_text("\\chapter{One}")
    (folder / "project" / "results.csv").write_text("epoch,acc\n1,0.31\n")
    return {"thesis.tex": "\\chapter{One}", "project/results.csv": "epoch,acc\n1,0.31\n"}


def assert_kept(folder, files):
    assert {name: (folder / name).read_text() for name in files} == files


@pytest.mark.parametrize("source", ["url", "tarball"])
def test_folder_holding_other_things_is_refused_and_kept(srv, make_data, archive, target, source):
    files = _user_files(target)
    kwargs = {"url": f"{srv.url}/ok.tar.gz"} if source == "url" else {"tarball": archive["path"]}
    status, out, err = make_data(**kwargs)
    assert_one_error(status, err, f"{target} already holds other things (project/, thesis.tex)",
                     "no CIFAR-10 dataset", "nothing was changed",
                     "Point CIFAR10_DIR at a new or empty folder")
    assert_kept(target, files)
    assert sorted(p.name for p in target.iterdir()) == ["project", "thesis.tex"]
    assert srv.requests == []


def test_file_given_as_cifar10_dir_is_refused(make_data, archive, target):
    target.parent.mkdir(parents=True)
    target.write_text("my notes")
    status, out, err = make_data(tarball=archive["path"])
    assert_one_error(status, err, f"{target} is an existing file, not a folder",
                     "nothing was changed", "Set CIFAR10_DIR to a folder")
    assert target.read_text() == "my notes"


def test_empty_folder_is_installed_into(make_data, archive, target):
    target.mkdir(parents=True)
    status, out, err = make_data(tarball=archive["path"])
    assert status == 0, err
    assert_dataset_matches(target, archive)


def test_user_files_in_a_damaged_dataset_are_never_deleted(srv, make_data, archive, target):
    assert make_data(url=f"{srv.url}/ok.tar.gz")[0] == 0
    (target / "notes.txt").write_text("mine")
    (target / "data_batch_3").write_bytes(b"garbage")
    status, out, err = make_data(url=f"{srv.url}/ok.tar.gz")
    assert_one_error(status, err, "incomplete or damaged", "data_batch_3", "(notes.txt)",
                     "never deleted", "nothing was changed", "Move them out")
    assert (target / "notes.txt").read_text() == "mine"
    (target / "notes.txt").rename(target.parent / "notes.txt")       # what the message says
    status, out, err = make_data(url=f"{srv.url}/ok.tar.gz")
    assert status == 0 and "damaged" in err, err
    assert_dataset_matches(target, archive)


def test_user_files_beside_a_valid_dataset_are_left_alone(make_data, archive, target):
    assert make_data(tarball=archive["path"])[0] == 0
    (target / "notes.txt").write_text("mine")
    status, out, err = make_data(tarball=archive["path"])
    assert status == 0 and "nothing to do" in out
    assert (target / "notes.txt").read_text() == "mine"


def test_symlinked_dataset_folder_is_installed_where_it_points(make_data, archive, target,
                                                               tmp_path):
    real = tmp_path / "bigdisk" / "cifar"
    real.mkdir(parents=True)
    target.parent.mkdir(parents=True)
    target.symlink_to(real)
    assert make_data(tarball=archive["path"])[0] == 0
    (real / "data_batch_3").write_bytes(b"garbage")
    status, out, err = make_data(tarball=archive["path"])
    assert status == 0 and "damaged" in err, err
    assert target.is_symlink() and target.resolve() == real
    assert_dataset_matches(real, archive)


def test_install_archive_refuses_a_folder_with_other_things(archive, target):
    files = _user_files(target)
    with pytest.raises(DataStepError, match="already holds other things"):
        dl.install_archive(archive["path"], target)
    assert_kept(target, files)


def test_archive_of_another_kind_in_the_download_folder_is_not_overwritten(srv, make_data,
                                                                           target):
    mine = target.parent / TARBALL_NAME
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"my own archive")
    status, out, err = make_data(url=f"{srv.url}/ok.tar.gz")
    assert_one_error(status, err, "is already there but is not the official archive",
                     f"CIFAR10_TARBALL={mine}")
    assert mine.read_bytes() == b"my own archive" and srv.requests == []


# --------------------------------------------------------------------------- one run at a time

_RUNNER = ("import sys; from cs231n_lib.datastep import install as dl; "
           "dl.OFFICIAL_SIZE, dl.OFFICIAL_MD5 = int(sys.argv[1]), sys.argv[2]; "
           "sys.exit(dl.main([]))")


def _start_make_data(archive, target, **env_vars):
    """``make data`` in a subprocess with the test archive as the official one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIFAR10_")}
    env.update(CIFAR10_DIR=str(target), **{k: str(v) for k, v in env_vars.items()})
    return subprocess.Popen([sys.executable, "-c", _RUNNER, str(archive["size"]), archive["md5"]],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, seconds=30):
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out waiting"
        time.sleep(0.02)


def test_two_runs_at_once(srv, archive, target):
    first = _start_make_data(archive, target, CIFAR10_URL=f"{srv.url}/paced.tar.gz")
    _wait_for(lambda: srv.requests)          # the first run holds the lock and is downloading
    second = _start_make_data(archive, target, CIFAR10_URL=f"{srv.url}/paced.tar.gz")
    out1, err1 = first.communicate(timeout=60)
    out2, err2 = second.communicate(timeout=60)
    assert (first.returncode, second.returncode) == (0, 0), err1 + err2
    assert "Traceback" not in err1 + err2
    assert f"Another `make data` (pid {first.pid}) is installing CIFAR-10" in err2
    assert "waiting for it to finish" in err2
    assert "installed" in out1 and "nothing to do" in out2
    assert srv.requests == [("/paced.tar.gz", None)]
    assert (target.parent / TARBALL_NAME).read_bytes() == archive["body"]
    assert not (target.parent / (TARBALL_NAME + ".part")).exists()
    assert_dataset_matches(target, archive)


def test_a_run_waiting_for_the_lock_stops_at_the_deadline(make_data, archive, target,
                                                         monkeypatch):
    target.parent.mkdir(parents=True)
    with open(target.parent / ".make-data.lock", "a+") as held:
        held.write("4242")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX)
        monkeypatch.setenv("CIFAR10_DEADLINE", "0.3")
        status, out, err = make_data(tarball=archive["path"])
    assert "Another `make data` (pid 4242) is installing CIFAR-10" in err
    assert_one_error(status, err, "another `make data` (pid 4242) is still working",
                     "CIFAR10_DEADLINE=0.3 s", "let it finish")
    assert not target.exists()


# --------------------------------------------------------------------------- never silent, never endless

def test_too_slow_download_stops_with_a_message(srv, make_data, archive, target, monkeypatch):
    monkeypatch.setattr(http_download, "_SPEED_WINDOW", 0.3)
    monkeypatch.setenv("CIFAR10_MIN_SPEED", "10")
    start = time.monotonic()
    status, out, err = make_data(url=f"{srv.url}/trickle.tar.gz")
    assert time.monotonic() - start < 5
    assert_one_error(status, err, "is too slow", "kB/s over the last 0 s",
                     "below CIFAR10_MIN_SPEED=10 kB/s", "it resumes where it stopped",
                     "CIFAR10_MIN_SPEED=0")
    part = (target.parent / (TARBALL_NAME + ".part")).read_bytes()
    assert 0 < len(part) < 1000 and archive["body"].startswith(part)
    assert_no_dataset(target)


def test_overall_deadline(srv, make_data, target, monkeypatch):
    monkeypatch.setenv("CIFAR10_MIN_SPEED", "0")
    monkeypatch.setenv("CIFAR10_DEADLINE", "0.5")
    start = time.monotonic()
    status, out, err = make_data(url=f"{srv.url}/trickle.tar.gz")
    assert 0.5 <= time.monotonic() - start < 5
    assert_one_error(status, err, "did not finish within CIFAR10_DEADLINE=0.5 s",
                     "received and kept", "it resumes where it stopped")
    assert_no_dataset(target)


@pytest.mark.parametrize("name,value", [("CIFAR10_DEADLINE", "soon"),
                                        ("CIFAR10_MIN_SPEED", "-3")])
def test_limits_that_are_not_numbers(make_data, archive, target, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    status, out, err = make_data(tarball=archive["path"])
    assert_one_error(status, err, f"{name}={value} is not a number of", "unset it")
    assert not target.exists()


def test_progress_lines_when_stderr_is_a_log(srv, archive, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(http_download, "_LOG_EVERY", 0.0)
    http_download.download(f"{srv.url}/paced.tar.gz", tmp_path / "a.tar.gz", archive["size"], archive["md5"],
                progress=False)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("Downloading a.tar.gz: ")]
    assert len(lines) >= 4 and "\r" not in err
    assert lines[-1].startswith(f"Downloading a.tar.gz: {archive['size'] / 1e6:.1f} MB of "
                                f"{archive['size'] / 1e6:.1f} MB (100%), ")
    assert "MB/s" in lines[0] and "min left" in lines[0]


def test_endless_answer_without_a_size_stops_at_the_expected_size(srv, make_data, archive,
                                                                 target):
    status, out, err = make_data(url=f"{srv.url}/endless.tar.gz")
    assert_one_error(status, err, f"sends more than the {archive['size']} bytes",
                     "it is not the archive", "CIFAR10_URL")
    assert "space" not in err
    assert list(target.parent.iterdir()) == [target.parent / ".make-data.lock"]


def test_error_page_without_a_size_is_not_taken_for_an_interruption(srv, make_data, target):
    for _ in range(2):                       # the same message again: no resume loop
        status, out, err = make_data(url=f"{srv.url}/error.tar.gz")
        assert_one_error(status, err, "sends something that is not a .tar.gz archive",
                         "b'Service temporarily unavailable", "CIFAR10_URL")
        assert "resume" not in err
        assert not (target.parent / (TARBALL_NAME + ".part")).exists()


@pytest.mark.parametrize("have_part", [False, True])
def test_server_always_answering_416(srv, make_data, target, have_part):
    part = target.parent / (TARBALL_NAME + ".part")
    if have_part:
        part.parent.mkdir(parents=True)
        part.write_bytes(b"x" * 1000)
    status, out, err = make_data(url=f"{srv.url}/always416.tar.gz")
    assert_one_error(status, err, "HTTP 416", "refuses even a request for the whole file",
                     "check CIFAR10_URL or use another mirror")
    assert ".part" not in err
    assert not part.exists()


def test_url_without_a_scheme(make_data, target):
    status, out, err = make_data(url="www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")
    assert_one_error(status, err, "CIFAR10_URL=www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz "
                     "is not a web address", "must start with https://")
    assert "Traceback" not in err
    assert not target.exists()


# --------------------------------------------------------------------------- untrusted archives

class _Zeros(io.RawIOBase):
    def readable(self):
        return True

    def readinto(self, b):
        b[:] = bytes(len(b))
        return len(b)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory, archive):
    """An archive whose data_batch_1 is 1 GB of zeros (about 5 MB compressed)."""
    path = tmp_path_factory.mktemp("bomb") / "cifar-10-python.tar.gz"
    files = fx.batch_files(archive["batches"])
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo(f"{fx.DIRNAME}/data_batch_1")
        info.size = 2**30
        tar.addfile(info, _Zeros())
        for name, content in files.items():
            if name != "data_batch_1":
                info = tarfile.TarInfo(f"{fx.DIRNAME}/{name}")
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return path


def test_decompression_bomb_is_refused_quickly_in_bounded_memory(make_data, bomb, target):
    tracemalloc.start()
    start = time.monotonic()
    status, out, err = make_data(tarball=bomb)
    elapsed = time.monotonic() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert_one_error(status, err, f"holds {fx.DIRNAME}/data_batch_1 of 1073.7 MB",
                     "more than CIFAR-10 can", "nothing was installed")
    assert elapsed < 2.0 and peak < 20e6, (elapsed, peak)
    assert_no_dataset(target)


def _tar_header_only(path, name, size, kind=tarfile.REGTYPE):
    """A .tar.gz holding just the header of a member that declares ``size`` bytes."""
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    path.write_bytes(gzip.compress(info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")))
    return path


def test_unknown_member_too_large_for_cifar10_is_refused_before_reading(make_data, target,
                                                                         tmp_path):
    path = _tar_header_only(tmp_path / "x.tar.gz", "other/zeros.bin", 5 * 2**30)
    status, out, err = make_data(tarball=path)
    assert_one_error(status, err, "holds other/zeros.bin of 5368.7 MB", "more than CIFAR-10 can")


@pytest.mark.parametrize("kind", [tarfile.GNUTYPE_LONGNAME, tarfile.XHDTYPE])
def test_huge_long_name_or_pax_header_is_refused_before_reading(make_data, target, tmp_path,
                                                                kind):
    path = _tar_header_only(tmp_path / "x.tar.gz", "././@LongLink", 2**30, kind)
    status, out, err = make_data(tarball=path)
    assert_one_error(status, err, "holds a tar header of 1073.7 MB", "more than CIFAR-10 can")


def test_too_many_members_are_refused(make_data, archive, target, tmp_path):
    files = fx.batch_files(archive["batches"])
    files.update({f"junk/{i}": b"" for i in range(100)})
    status, out, err = make_data(tarball=_tarball_with(tmp_path, files))
    assert_one_error(status, err, "more than 64 members", "more than CIFAR-10 can")
    assert_no_dataset(target)


def test_large_file_outside_the_dataset_is_refused_before_reading(make_data, archive, target,
                                                                  tmp_path):
    files = fx.batch_files(archive["batches"])
    files["extra/backup_of_data_batch_1"] = files["data_batch_1"] * 10
    status, out, err = make_data(tarball=_tarball_with(tmp_path, files))
    assert_one_error(status, err, "holds cifar-10-batches-py/extra/backup_of_data_batch_1 of",
                     "any other file 0.1 MB at most")
    assert_no_dataset(target)


def test_members_outside_the_dataset_are_not_extracted(make_data, archive, target, tmp_path):
    files = fx.batch_files(archive["batches"])
    files.update({"extra/evil.sh": b"rm -rf ~", "notes-unknown.txt": b"x"})
    status, out, err = make_data(tarball=_tarball_with(tmp_path, files))
    assert status == 0, err
    assert sorted(p.name for p in target.iterdir()) == sorted([*cifar_archive.DATASET_FILES, dataset_folder.MARKER])
    assert [p for p in tmp_path.rglob("evil.sh")] == []
    assert_dataset_matches(target, archive)


@pytest.mark.parametrize("compression,kind", [("", ".tar"), ("xz", ".tar.xz"), ("bz2", ".tar.bz2")])
def test_plain_tar_and_xz_archives_are_installed(make_data, archive, target, tmp_path,
                                                 compression, kind):
    path = tmp_path / f"cifar-10-python{kind}"
    fx.write_tarball(path, fx.batch_files(archive["batches"]), compression=compression)
    status, out, err = make_data(tarball=path)
    assert status == 0, err
    assert "differs from the official" in err
    assert_dataset_matches(target, archive)


def test_truncated_xz_is_named_as_xz(make_data, archive, target, tmp_path):
    path = tmp_path / "c.tar.xz"
    fx.write_tarball(path, fx.batch_files(archive["batches"]), compression="xz")
    path.write_bytes(path.read_bytes()[:-5000])
    status, out, err = make_data(tarball=path)
    assert_one_error(status, err, "is not a complete .tar.xz archive", "truncated or corrupt")
    assert_no_dataset(target)


def test_zip_is_explained(make_data, archive, target, tmp_path):
    path = tmp_path / "cifar-10-python.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, content in fx.batch_files(archive["batches"]).items():
            z.writestr(f"{fx.DIRNAME}/{name}", content)
    status, out, err = make_data(tarball=path)
    assert_one_error(status, err, "is a zip archive", "unzip it", "CIFAR10_TARBALL at the "
                     "cifar-10-batches-py folder")
    assert "truncated" not in err
    assert_no_dataset(target)


def test_file_that_is_no_archive_is_named(make_data, target, tmp_path):
    path = tmp_path / "cifar-10-python.tar.gz"
    path.write_bytes(b"<html>404 Not Found</html>")
    status, out, err = make_data(tarball=path)
    assert_one_error(status, err, "is not a .tar.gz (nor .tar, .tar.xz, .tar.bz2) archive",
                     "it starts with b'<html>404 Not Fo'")
    assert_no_dataset(target)


@pytest.mark.parametrize("given", ["dataset", "parent"])
def test_extracted_folder_as_cifar10_tarball(make_data, archive, target, tmp_path, given):
    folder = fx.write_dir(tmp_path / "usb" / fx.DIRNAME, fx.batch_files(archive["batches"]))
    status, out, err = make_data(tarball=folder if given == "dataset" else folder.parent)
    assert status == 0, err
    assert_dataset_matches(target, archive)
    assert sorted(p.name for p in folder.iterdir()) == sorted(cifar_archive.DATASET_FILES)   # untouched


def test_folder_without_a_dataset_as_cifar10_tarball(make_data, target, tmp_path):
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "photo.jpg").write_bytes(b"jpg")
    status, out, err = make_data(tarball=tmp_path / "downloads")
    assert_one_error(status, err, "is a folder without a CIFAR-10 dataset", "extracted "
                     "cifar-10-batches-py folder")
    assert_no_dataset(target)


@pytest.mark.parametrize("bad_label,needle", [(2**70, "labels must be in 0..9"),
                                              (3.7, "'labels' must be integers 0..9, found 3.7")])
def test_archive_with_labels_that_are_not_small_integers(make_data, archive, target, tmp_path,
                                                         bad_label, needle):
    path = _tarball_with(tmp_path, fx.files_with_labels(archive["batches"], "data_batch_2",
                                                         {3: bad_label}))
    status, out, err = make_data(tarball=path)
    assert_one_error(status, err, "not a valid CIFAR-10", "data_batch_2", needle)
    assert_no_dataset(target)


def test_installed_dataset_with_bad_labels_is_installed_again(make_data, archive, target):
    assert make_data(tarball=archive["path"])[0] == 0
    (target / "test_batch").write_bytes(
        fx.files_with_labels(archive["batches"], "test_batch", {3: 2**70})["test_batch"])
    assert pickle.loads((target / "test_batch").read_bytes(), encoding="latin1")["labels"][3] == 2**70
    status, out, err = make_data(tarball=archive["path"])
    assert status == 0 and "Traceback" not in err
    assert "incomplete or damaged" in err and "labels must be in 0..9" in err
    assert_dataset_matches(target, archive)


# --------------------------------------------------------------------------- interrupted runs

def _leftover(target, name="abc123", with_previous=False):
    tmp = target.parent / f".{target.name}.tmp-{name}"
    (tmp / fx.DIRNAME).mkdir(parents=True)
    (tmp / fx.DIRNAME / "data_batch_1").write_bytes(b"half a batch")
    (tmp / ".make-data-tmp").touch()
    return tmp


def test_leftovers_of_an_interrupted_run_are_removed(make_data, archive, target):
    tmp = _leftover(target)
    status, out, err = make_data(tarball=archive["path"])
    assert status == 0, err
    assert not tmp.exists() and "left by an interrupted run" in err
    assert_dataset_matches(target, archive)


def test_dataset_moved_aside_by_a_killed_run_is_put_back(make_data, archive, target):
    assert make_data(tarball=archive["path"])[0] == 0
    tmp = _leftover(target)
    target.rename(tmp / "previous")          # killed between the two renames
    status, out, err = make_data(tarball=archive["path"])
    assert status == 0 and "Put back" in err and "nothing to do" in out, err
    assert not tmp.exists()
    assert_dataset_matches(target, archive)


def test_user_files_moved_aside_by_an_older_version_are_kept(make_data, archive, target):
    assert make_data(tarball=archive["path"])[0] == 0
    tmp = _leftover(target)
    files = _user_files(tmp / "previous")
    (tmp / "previous" / "data_batch_1").write_bytes(b"old batch")
    status, out, err = make_data(tarball=archive["path"])
    assert status == 0
    assert_kept(tmp / "previous", files)
    assert not (tmp / "previous" / "data_batch_1").exists()
    assert "previous/thesis.tex" in err and "they were kept there" in err


def test_kill_during_extraction_then_rerun(archive, target, tmp_path, make_data):
    pipe = tmp_path / "pipe.tar.gz"
    os.mkfifo(pipe)
    proc = _start_make_data(archive, target, CIFAR10_TARBALL=pipe)
    fd = os.open(pipe, os.O_WRONLY)          # waits for the run to open the archive
    try:
        os.write(fd, archive["body"][: archive["size"] // 2])
        _wait_for(lambda: any(target.parent.glob(f".{fx.DIRNAME}.tmp-*/{fx.DIRNAME}/data_batch_2")))
        proc.kill()                          # midway through the extraction
        proc.wait(timeout=30)
    finally:
        os.close(fd)
    leftovers = list(target.parent.glob(f".{fx.DIRNAME}.tmp-*"))
    assert len(leftovers) == 1 and not target.exists()
    status, out, err = make_data(tarball=archive["path"])
    assert status == 0, err
    assert not leftovers[0].exists() and "left by an interrupted run" in err
    assert_dataset_matches(target, archive)


def test_data_is_flushed_before_the_renames(srv, archive, target, monkeypatch):
    events = []
    real_fsync, real_rename, real_replace = os.fsync, os.rename, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def rename(src, dst):
        events.append(("rename", str(dst)))
        return real_rename(src, dst)

    def replace(src, dst):
        events.append(("rename", str(dst)))
        return real_replace(src, dst)
    monkeypatch.setattr(dl.os, "fsync", fsync)
    monkeypatch.setattr(dl.os, "rename", rename)
    monkeypatch.setattr(dl.os, "replace", replace)
    dl.install_from_url(f"{srv.url}/ok.tar.gz", target, archive["size"], archive["md5"],
                        progress=False)
    archive_done = events.index(("rename", str(target.parent / TARBALL_NAME)))
    assert ("fsync", str(target.parent / (TARBALL_NAME + ".part"))) in events[:archive_done]
    dataset_done = events.index(("rename", str(target)))
    flushed = {PurePosixPath(path).name for kind, path in events[:dataset_done]
               if kind == "fsync" and f"/{fx.DIRNAME}/" in path}
    assert flushed >= {*cifar_archive.DATASET_FILES, dataset_folder.MARKER}


# --------------------------------------------------------------------------- where and what

def test_relative_cifar10_dir_means_the_repository_everywhere(archive, tmp_path, monkeypatch,
                                                              capsys):
    from cs231n_lib import data
    monkeypatch.setattr(data, "REPO_ROOT", tmp_path)
    for name in ("elsewhere", "assignments"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(dl, "OFFICIAL_MD5", archive["md5"])
    monkeypatch.setenv("CIFAR10_DIR", "data/cifar")
    monkeypatch.setenv("CIFAR10_TARBALL", str(archive["path"]))
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert dl.main([]) == 0
    assert_dataset_matches(tmp_path / "data" / "cifar", archive)
    monkeypatch.chdir(tmp_path / "assignments")     # where the notebooks run
    assert data.get_cifar10_data()["source"] == "cifar10"


@pytest.fixture(scope="module")
def small_subset(tmp_path_factory):
    """An archive with fewer images than the test's 'official' one, and another md5."""
    path = tmp_path_factory.mktemp("subset") / "cifar-10-python-subset.tar.gz"
    size, md5 = fx.write_tarball(path, fx.batch_files(fx.make_batches(10, 12, seed=2)))
    return path


def test_subset_is_reported_and_replaced_by_the_full_dataset(srv, make_data, archive, target,
                                                             small_subset, monkeypatch):
    monkeypatch.setattr(dl, "FULL_COUNTS", {"num_train": 5 * N_PER_BATCH, "num_test": N_TEST})
    status, out, err = make_data(tarball=small_subset)
    assert status == 0, err
    assert out.startswith(f"A subset of CIFAR-10 is installed in {target} (50 training, 12 test "
                          f"images; the full dataset has 100 and 30)")
    assert "run `make data` without CIFAR10_TARBALL: it replaces this subset" in out

    status, out, err = make_data(tarball=small_subset)
    assert status == 0 and "already in" in out and "nothing to do" in out
    assert "without CIFAR10_TARBALL" in out

    status, out, err = make_data(url=f"{srv.url}/ok.tar.gz")
    assert status == 0, err
    assert (f"The dataset in {target} is a subset of CIFAR-10 (50 training, 12 test images): "
            f"replacing it with the full dataset") in err
    assert out.startswith(f"CIFAR-10 installed in {target} (100 training, 30 test images)")
    assert_dataset_matches(target, archive)
    assert make_data(url=f"{srv.url}/ok.tar.gz")[1].strip().endswith("nothing to do.")


@pytest.mark.skipif(not SUBSET.exists(), reason="the real CIFAR-10 subset is not on this machine")
def test_real_subset_is_reported_as_a_subset(make_data, target):
    status, out, err = make_data(tarball=SUBSET)
    assert status == 0, err
    assert "A subset of CIFAR-10 is installed" in out
    assert "(3000 training, 600 test images; the full dataset has 50000 and 10000)" in out
