"""The whole-tree limits of a sandbox: memory of all its processes, how many, and its disk.

Each test starts a small process tree in the real sandbox (unsandboxed where bwrap does not
work) under `Sandbox.watch`, the same watchdog the grader puts on the kernel and the
verifier, and checks that the tree is killed for the right reason, while the same tree
under a generous limit is left alone (so the measurement itself is not what kills it).
"""

import subprocess
import sys
import time
from pathlib import Path

from autograder.sandbox.bwrap import Sandbox, bwrap_status
from autograder.sandbox.limits import Limits
from autograder.sandbox.watchdog import folder_bytes, resident_bytes, tree_pids

SANDBOXED = bwrap_status() is None
MiB = 2**20

# A parent holding nothing that starts `n` children holding `mib` MiB each, then waits.
HOGS = ("import subprocess, sys, time\n"
        "n, mib = int(sys.argv[1]), int(sys.argv[2])\n"
        "kids = [subprocess.Popen([sys.executable, '-c', "
        "f\"b = b'x' * ({mib} * 2**20); import time; time.sleep(60)\"]) for _ in range(n)]\n"
        "time.sleep(60)\n")
SLEEPERS = ("import subprocess, time\n"
            "kids = [subprocess.Popen(['sleep', '60']) for _ in range(int(__import__('sys').argv[1]))]\n"
            "time.sleep(60)\n")
# Writes argv[2] MiB to each file named in argv[1] (os.pathsep between them), then waits.
FILL = ("import os, sys, time\n"
        "for path in sys.argv[1].split(os.pathsep):\n"
        "    with open(path, 'wb') as f:\n"
        "        for _ in range(int(sys.argv[2])):\n"
        "            f.write(b'x' * 2**20)\n"
        "time.sleep(60)\n")


def _start(tmp_path: Path, limits: Limits, code: str, *args: str):
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    sandbox = Sandbox(enabled=SANDBOXED, limits=limits)
    proc = subprocess.Popen(sandbox.command([sys.executable, "-c", code, *args], work),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return proc, sandbox.watch(proc.pid, (work,)), work


def _wait_until(predicate, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _stop(proc, watchdog) -> None:
    watchdog.kill()
    watchdog.stop()
    proc.wait(timeout=10)


def test_memory_of_all_processes_together_is_limited(tmp_path):
    # three children of 100 MiB each: every one is far below RLIMIT_AS, the tree is not
    generous = Limits(memory_bytes=2**30, processes=64, disk_bytes=64 * MiB)
    proc, watchdog, _ = _start(tmp_path, generous, HOGS, "3", "100")
    try:
        assert _wait_until(lambda: sum(resident_bytes(p) for p in tree_pids(proc.pid)) > 300 * MiB)
        assert watchdog.reason is None and proc.poll() is None
    finally:
        _stop(proc, watchdog)

    tight = Limits(memory_bytes=200 * MiB, processes=64, disk_bytes=64 * MiB)
    proc, watchdog, _ = _start(tmp_path, tight, HOGS, "3", "100")
    assert proc.wait(timeout=60) < 0
    assert watchdog.reason == "used more than 200 MiB of memory (all its processes together)"
    assert _wait_until(lambda: tree_pids(proc.pid) == [])
    watchdog.stop()


def test_process_count_is_limited(tmp_path):
    generous = Limits(processes=64, disk_bytes=64 * MiB)
    proc, watchdog, _ = _start(tmp_path, generous, SLEEPERS, "20")
    try:
        assert _wait_until(lambda: len(tree_pids(proc.pid)) > 20)
        assert watchdog.reason is None and proc.poll() is None
    finally:
        _stop(proc, watchdog)

    proc, watchdog, _ = _start(tmp_path, Limits(processes=10, disk_bytes=64 * MiB), SLEEPERS, "20")
    assert proc.wait(timeout=60) < 0
    assert watchdog.reason == "started more than 10 processes at once"
    watchdog.stop()


def test_disk_of_the_working_folder_and_tmp_together_is_limited(tmp_path):
    # 15 MiB in the working folder and 15 MiB in the sandbox's /tmp: each is under 20 MiB,
    # together they are not (unsandboxed, /tmp is the host's: two files in the working folder)
    work = tmp_path / "work"
    work.mkdir()
    second = "/tmp/fill" if SANDBOXED else str(work / "fill2")
    files = f"{work / 'fill'}:{second}"
    proc, watchdog, _ = _start(tmp_path, Limits(disk_bytes=64 * MiB), FILL, files, "15")
    try:
        assert _wait_until(lambda: folder_bytes(work) >= 15 * MiB)
        time.sleep(2)
        assert watchdog.reason is None and proc.poll() is None
    finally:
        _stop(proc, watchdog)

    proc, watchdog, _ = _start(tmp_path, Limits(disk_bytes=20 * MiB), FILL, files, "15")
    assert proc.wait(timeout=60) < 0
    assert watchdog.reason == "wrote more than 20 MiB to disk (its working folder and /tmp)"
    watchdog.stop()
