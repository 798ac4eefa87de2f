"""The sandbox that runs student code: what it can see, write and reach, and the refusal without it.

A probe script runs under `Sandbox().command(...)`, the same wrapper the grader puts around the
student's kernel and the verifier. It tries, one by one, what a student could try from a
notebook cell during autograding, and reports what succeeded as JSON on stdout. Each attempt
must fail, while the same script run unsandboxed succeeds at the file and network attempts
(so the probe itself is able to see a leak).
"""

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from autograder import autograde as ag
from autograder.course import Course
from autograder.sandbox import bwrap as sb
from autograder.sandbox.bwrap import Sandbox, SandboxUnavailable
from autograder.sandbox.limits import Limits

COURSE = Course()
# Files the tests create outside any temporary folder; removed after each test.
HOME_SECRET = Path.home() / ".cs231n-sandbox-probe-secret"
OUTSIDES = [Path(__file__).resolve().parents[2] / ".sandbox-probe-outside", Path.home() / ".sandbox-probe-outside"]

PROBE = r"""
import json, os, socket, sys
secrets, outsides, port, workdir = sys.argv[1:5]
got = {}
for path in secrets.split(os.pathsep):
    try:
        with open(path, "rb") as f:
            f.read(64)
        got["read " + path] = True
    except OSError:
        got["read " + path] = False
for outside in outsides.split(os.pathsep):
    try:
        with open(outside, "w") as f:
            f.write("escaped")
    except OSError:
        pass
try:
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=3)
    s.sendall(b"hello")
    s.close()
    got["network"] = True
except OSError:
    got["network"] = False
with open(os.path.join(workdir, "inside.txt"), "w") as f:
    f.write("fine")
got["write inside"] = True
got["env"] = sorted(k for k in os.environ if k.startswith(("NBGRADER", "JPY", "SECRET")))
print(json.dumps(got))
"""


@pytest.fixture
def listener():
    """A TCP server on 127.0.0.1 that records whether anybody connected."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(10)
    hits = []

    def serve():
        try:
            conn, _ = srv.accept()
            hits.append(conn.recv(16))
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1], hits
    srv.close()
    thread.join(timeout=5)


def _secrets(tmp_path: Path) -> list[Path]:
    """Files a student must never read: the course's sources, specs, gradebook, other submissions."""
    other = tmp_path / "grading" / "submitted" / "bob" / "01_knn" / "01_knn.ipynb"
    other.parent.mkdir(parents=True)
    other.write_text("bob's notebook")
    gradebook = tmp_path / "grading" / "gradebook.db"
    gradebook.write_text("the gradebook")
    HOME_SECRET.write_text("a file in the grader's home folder")
    files = [other, gradebook, HOME_SECRET, Path(__file__).resolve()]
    files += [COURSE.source_notebook(a) for a in COURSE.assignment_ids()[:1]]
    files += [COURSE.spec(a) for a in COURSE.assignment_ids()[:1]]
    return files


def _run(cmd, env=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sb.bwrap_status() is not None, reason=f"no sandbox here: {sb.bwrap_status()}")
def test_student_code_sees_only_its_working_folder(tmp_path, listener):
    port, hits = listener
    secrets = _secrets(tmp_path)
    try:
        workdir = tmp_path / "work"
        workdir.mkdir()
        # Places outside the working folder: the host's /tmp (the sandbox has a private one),
        # the repository next to the course, the grader's home folder.
        outsides = [tmp_path / "outside.txt", *OUTSIDES]
        args = [sys.executable, "-c", PROBE, os.pathsep.join(map(str, secrets)),
                os.pathsep.join(map(str, outsides)), str(port), str(workdir)]
        env = dict(os.environ, NBGRADER_EXECUTION="autograde", SECRET_TOKEN="x")

        # The probe can see a leak: unsandboxed it reads every file, writes outside and connects.
        free = _run(args, env=env)
        assert all(free[f"read {p}"] for p in secrets)
        assert free["network"] and hits == [b"hello"]
        assert all(p.read_text() == "escaped" for p in outsides)
        for p in outsides:
            p.unlink()
        hits.clear()

        got = _run(Sandbox(limits=Limits()).command(args, workdir), env=env)
        leaked = [p for p in secrets if got[f"read {p}"]]
        assert leaked == [], f"the sandbox let student code read {leaked}"
        escaped = [p for p in outsides if p.exists()]
        assert escaped == [], f"the sandbox let student code write {escaped}"
        assert got["network"] is False and hits == []
        assert got["write inside"] and (workdir / "inside.txt").read_text() == "fine"
        assert got["env"] == [], "the grader's environment leaks into the sandbox"
    finally:
        for p in (HOME_SECRET, *OUTSIDES):
            p.unlink(missing_ok=True)


@pytest.mark.skipif(sb.bwrap_status() is not None, reason=f"no sandbox here: {sb.bwrap_status()}")
def test_memory_limit_holds_inside_the_sandbox(tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    code = "import numpy as np\ntry:\n    np.ones(2**31)\n    print('allocated')\nexcept MemoryError:\n    print('MemoryError')\n"
    cmd = Sandbox(limits=Limits(memory_bytes=2**30)).command([sys.executable, "-c", code], workdir)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "MemoryError", (proc.stdout, proc.stderr[-500:])


def test_grading_refuses_without_a_sandbox_unless_told(tmp_path, monkeypatch):
    monkeypatch.setattr(ag, "bwrap_status", lambda: "bubblewrap (bwrap) is not installed")
    monkeypatch.setattr(sb, "bwrap_status", lambda: "bubblewrap (bwrap) is not installed")
    course = Course(root=tmp_path / "grading", assignments_dir=tmp_path / "assignments")
    course.root.mkdir()
    with pytest.raises(SandboxUnavailable, match="not installed.*--unsandboxed"):
        ag.autograde(course, [], workers=1, progress=False)
    with pytest.raises(SandboxUnavailable, match="not installed"):
        Sandbox().command(["true"], tmp_path)
    logged = []
    summary = ag.autograde(course, [], workers=1, unsandboxed=True, progress=False, log=logged.append)
    assert summary.graded == [] and any("UNSANDBOXED" in line for line in logged)


@pytest.mark.parametrize(("field", "value"), [("memory_bytes", 0), ("processes", -1), ("cell_timeout", "60"),
                                              ("output_bytes", None), ("disk_bytes", True)])
def test_limits_must_be_positive_numbers(field, value):
    with pytest.raises(ValueError, match=f"Limits.{field} must be a positive number, got {value!r}"):
        Limits(**{field: value})


def test_the_one_limits_object_reaches_the_kernel_and_its_client(course, tmp_path):
    import zmq

    from autograder.pipeline.nbgrader_run import _config
    from autograder.sandbox.kernel import MESSAGE_OVERHEAD, SandboxedExecute, SandboxedKernelManager

    limits = Limits(memory_bytes=2**30, file_bytes=2**20, processes=9, disk_bytes=2**25,
                    output_bytes=3 * 2**20, cell_timeout=7, submission_timeout=50)
    step = {"course": str(course.root), "config_course": str(course.root), "assignment": "00_fixture",
            "student": "ada", "kernel_workdir": str(tmp_path / "kernel"), "sandboxed": False,
            "limits": limits}
    config = _config(step, course)
    manager = SandboxedKernelManager(config=config)
    execute = SandboxedExecute(config=config)
    assert manager.limits == limits and execute.limits == limits and execute.timeout == 7
    assert manager._sandbox().limits == limits
    assert any(str(limits.memory_bytes) in arg for arg in manager._sandbox().limit_prefix())
    client = manager.client()
    assert client.context.getsockopt(zmq.MAXMSGSIZE) == limits.output_bytes + MESSAGE_OVERHEAD
    client.context.destroy()


def test_a_limit_option_that_is_not_positive_is_named(tmp_path, capsys):
    from autograder.__main__ import main

    assert main(["autograde", "--course", str(tmp_path), "--processes", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: --processes must be a positive number, got 0"


@pytest.mark.slow
@pytest.mark.parametrize("sandboxed", [True, False])
def test_an_interrupted_kernel_goes_on_to_the_next_cell(tmp_path, sandboxed):
    # A cell over its time limit is interrupted (nbclient's interrupt_kernel) and the later
    # cells still run, in the sandbox too: the SIGINT reaches the kernel inside bwrap's PID
    # namespace, not bwrap itself (which SIGINT ends, taking the kernel down with it).
    import asyncio

    from autograder.sandbox.kernel import SandboxedKernelManager

    if sandboxed and sb.bwrap_status() is not None:
        pytest.skip(f"no sandbox here: {sb.bwrap_status()}")

    async def reply(client, msg_id):
        while True:
            msg = await client.get_shell_msg(timeout=60)
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]

    async def run():
        manager = SandboxedKernelManager(workdir=str(tmp_path / "kernel"), sandboxed=sandboxed, limits=Limits())
        await manager.start_kernel()
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=120)
            long_cell = client.execute("import time\nstarted = time.time()\ntime.sleep(600)")
            await asyncio.sleep(3)   # the cell is running
            await manager.interrupt_kernel()
            interrupted = await reply(client, long_cell)
            await asyncio.sleep(5)   # a kernel killed by the interrupt would be gone by now
            alive = await manager.is_alive()
            later = await reply(client, client.execute("print(time.time() - started < 60)"))
            return interrupted, alive, later
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    # In a thread of its own: the browser tests' playwright keeps an event loop running in this one.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        interrupted, alive, later = pool.submit(asyncio.run, run()).result()
    assert interrupted["status"] == "error" and interrupted["ename"] == "KeyboardInterrupt"
    assert alive and later["status"] == "ok"   # the same kernel: `started` is still defined
