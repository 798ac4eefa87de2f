"""The sandboxed kernel nbgrader executes student notebooks in.

`SandboxedKernelManager` starts ipykernel inside bubblewrap (see sandbox.py) with the
ZMQ transport set to `ipc`: the kernel's unix sockets and connection file live in the
submission's own working folder, which is the only folder bound into the sandbox, so
the kernel talks to nbgrader although it has no network at all. `SandboxedExecute` is
nbgrader's Execute preprocessor using that kernel manager.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from autograder.sandbox import Limits, Sandbox

_LAUNCHED: dict[str, set[int]] = {}
_LOCK = threading.Lock()


def kill_kernels(workdir: str) -> None:
    """Kill every kernel sandbox started for this working folder (SIGKILL to bwrap kills all inside)."""
    with _LOCK:
        pids = _LAUNCHED.pop(str(workdir), set())
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class SandboxedKernelManager(AsyncKernelManager):
    """AsyncKernelManager whose kernel runs in a bwrap sandbox, talking over ipc sockets."""

    workdir = Unicode("", config=True, help="the kernel's working folder (only writable folder)")
    sandboxed = Bool(True, config=True, help="False: no bwrap (limits still apply)")
    memory_bytes = Integer(Limits.memory_bytes, config=True, help="RLIMIT_AS for the kernel")
    file_bytes = Integer(Limits.file_bytes, config=True, help="RLIMIT_FSIZE for the kernel")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if not self.workdir:
            raise ValueError("SandboxedKernelManager.workdir must name the submission's working folder")
        work = Path(self.workdir)
        work.mkdir(parents=True, exist_ok=True)
        self.transport = "ipc"
        self.connection_file = str(work / "kernel.json")
        self.ip = str(work / "kernel-ipc")

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw):
        kw["stdout"] = subprocess.DEVNULL  # the kernel's own chatter is not the student's output
        kw["stderr"] = subprocess.DEVNULL
        await super()._async_launch_kernel(kernel_cmd, **kw)
        process = getattr(self.provisioner, "process", None)
        if process is not None:
            with _LOCK:
                _LAUNCHED.setdefault(str(self.workdir), set()).add(process.pid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        # The inline matplotlib backend (instead of the sandbox's MPLBACKEND=Agg) keeps every
        # plot as an image/png output, so the feedback report shows the student's plots.
        cmd = super().format_kernel_cmd([*(extra_arguments or []), "--matplotlib=inline"])
        limits = Limits(memory_bytes=self.memory_bytes, file_bytes=self.file_bytes)
        return Sandbox(enabled=self.sandboxed, limits=limits).command(cmd, Path(self.workdir))


class SandboxedExecute(Execute):
    """nbgrader's Execute preprocessor with the sandboxed kernel manager."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)
