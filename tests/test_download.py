"""Tests of the data step (``make data``) against a local HTTP server on 127.0.0.1.

The archives are small but written in the official byte format (tests/cifar_fixtures.py).
Every failure test checks the message, the non-zero exit status and that no
loadable (half) dataset is left behind. Disk-full errors are simulated by making
the module's file writes raise ENOSPC; permission errors use a read-only folder
when not running as root, and are simulated otherwise.
"""

import errno
import hashlib
import http.server
import io
import os
import socket
import subprocess
import sys
import tarfile
import threading
import time

import cifar_fixtures as fx
import numpy as np
import pytest

from cs231n_lib import download as dl
from cs231n_lib.data import load_cifar10

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
        start = 0
        range_header = self.headers.get("Range")
        honours_range = kind in ("range", "drop-once")
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
        self.wfile.write(body[start:])


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
    assert (target.parent / dl.TARBALL_NAME).read_bytes() == archive["body"]
    assert sorted(p.name for p in target.parent.iterdir()) == sorted([dl.TARBALL_NAME, target.name])
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
    part = target.parent / (dl.TARBALL_NAME + ".part")
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
    part = target.parent / (dl.TARBALL_NAME + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"X" * 1000)          # wrong bytes: appending to them would fail the md5
    dl.install_from_url(f"{srv.url}/norange.tar.gz", target, archive["size"], archive["md5"],
                        progress=False)
    assert srv.requests == [("/norange.tar.gz", "bytes=1000-")]
    assert_dataset_matches(target, archive)


def test_complete_part_file_needs_no_request(srv, archive, target):
    part = target.parent / (dl.TARBALL_NAME + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(archive["body"])
    dl.install_from_url(f"{srv.url}/e500.tar.gz", target, archive["size"], archive["md5"],
                        progress=False)
    assert srv.requests == []
    assert_dataset_matches(target, archive)


def test_progress_bar_shows_size_speed_and_eta(srv, archive, tmp_path, capsys):
    dl.download(f"{srv.url}/ok.tar.gz", tmp_path / "a.tar.gz", archive["size"], archive["md5"],
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
    assert not (target.parent / dl.TARBALL_NAME).exists()


def test_checksum_mismatch_deletes_the_download(srv, archive, target):
    with pytest.raises(dl.DataStepError, match="checksum mismatch.*partial download was deleted"):
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
    with pytest.raises(dl.DataStepError, match="timed out"):
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
    cut = tmp_path / "datasets" / dl.TARBALL_NAME
    cut.parent.mkdir(parents=True)
    cut.write_bytes(archive["body"][:-100])
    with pytest.raises(dl.DataStepError, match="truncated or corrupt.*download it again"):
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
    with pytest.raises(dl.DataStepError, match="batches.meta"):
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
    monkeypatch.setattr(dl, "open", _FullDisk(limit=archive["size"] // 3), raising=False)
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
    monkeypatch.setattr(dl, "open", _FullDisk(limit=archive["size"] // 2), raising=False)
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
        monkeypatch.setattr(dl.tempfile, "mkdtemp", refuse)
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
    monkeypatch.setattr(dl, "open", refuse, raising=False)   # simulated
    status, out, err = make_data(url=f"{srv.url}/ok.tar.gz")
    assert_one_error(status, err, "no permission", "writable folder")
    assert_no_dataset(target)


# --------------------------------------------------------------------------- the command

def test_command_line_exit_status(archive, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIFAR10_")}
    env["CIFAR10_DIR"] = str(tmp_path / "d" / "cifar-10-batches-py")
    env["CIFAR10_TARBALL"] = str(tmp_path / "missing.tar.gz")
    cmd = [sys.executable, "-m", "cs231n_lib.download"]
    bad = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert bad.stderr.startswith("make data: error:") and len(bad.stderr.splitlines()) == 1
    env["CIFAR10_TARBALL"] = str(archive["path"])
    good = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stderr
    assert "installed" in good.stdout


def test_md5sum_matches_hashlib(tmp_path):
    data = np.random.default_rng(3).integers(0, 256, 3 * (1 << 20) + 17, dtype=np.uint8).tobytes()
    (tmp_path / "f").write_bytes(data)
    assert dl.md5sum(tmp_path / "f") == hashlib.md5(data).hexdigest()


def test_unsafe_member_paths_are_ignored():
    assert dl._member_path("cifar-10-batches-py/data_batch_1") == ["data_batch_1"]
    assert dl._member_path("./cifar-10-batches-py/test_batch") == ["test_batch"]
    assert dl._member_path("/etc/passwd") is None
    assert dl._member_path("cifar-10-batches-py/../../evil") is None
    assert dl._member_path("other/data_batch_1") is None


def test_fixture_archive_has_the_official_layout(archive):
    with tarfile.open(archive["path"]) as tar:
        names = tar.getnames()
    assert names[0] == "cifar-10-batches-py"
    assert sorted(names[1:]) == sorted(f"cifar-10-batches-py/{n}" for n in
                                       ["data_batch_1", "data_batch_2", "data_batch_3",
                                        "data_batch_4", "data_batch_5", "test_batch",
                                        "batches.meta", "readme.html"])
