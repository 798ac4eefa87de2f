"""The sandboxed kernel nbgrader executes student notebooks in.

`SandboxedKernelManager` starts ipykernel inside bubblewrap (see bwrap.py) with the
ZMQ transport set to `ipc`: the kernel's unix sockets and connection file live in the
submission's own working folder, which is the only folder bound into the sandbox, so
the kernel talks to nbgrader although it has no network at all. `SandboxedExecute` is
nbgrader's Execute preprocessor using that kernel manager.

Limits beyond the sandbox's own: a TreeWatchdog per kernel keeps memory, processes and disk
of the whole kernel tree (`limit_reason` says which one stopped it); the client's ZMQ
sockets refuse messages larger than the output cap and queue a bounded number, so the
grader's memory stays bounded whatever the kernel sends; `SandboxedExecute` keeps at most
`limits.output_bytes` of output per notebook and replaces the rest with one visible note.
Both take the batch's one `Limits` object from nbgrader's configuration (`limits`).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import nbformat
import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import Bool, Instance, Type, Unicode, default

from autograder.i18n.edition import language
from autograder.sandbox.bwrap import Sandbox
from autograder.sandbox.limits import Limits
from autograder.sandbox.watchdog import mib
from cs231n_lib.i18n import ENV_VAR

# Messages from the kernel the client queues before it drops more (each at most the output cap).
QUEUED_MESSAGES = 32
# Room for a message's headers and metadata beyond its output.
MESSAGE_OVERHEAD = 2**20

_LAUNCHED: dict[str, list] = {}
_TRIPPED: dict[str, str] = {}
_LOCK = threading.Lock()
_MONITORS = itertools.count()


def kill_kernels(workdir: str) -> None:
    """Kill every kernel sandbox started for this working folder (SIGKILL to bwrap kills all inside)."""
    with _LOCK:
        launched = _LAUNCHED.pop(str(workdir), [])
    for pid, watchdog in launched:
        watchdog.stop()
        if watchdog.reason:
            with _LOCK:
                _TRIPPED.setdefault(str(workdir), watchdog.reason)
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def limit_reason(workdir: str) -> str | None:
    """The whole-tree limit that stopped a kernel of this working folder (once; after kill_kernels)."""
    with _LOCK:
        return _TRIPPED.pop(str(workdir), None)


class BoundedKernelClient(AsyncKernelClient):
    """A kernel client whose sockets drop messages over the size cap and queue only a few.

    A kernel message larger than the cap is refused by ZMQ before it is held in memory
    (the connection is dropped and made again), so one `print` of gigabytes costs the
    grader nothing; the output cap comes from the manager that made it
    (SandboxedKernelManager.limits.output_bytes).
    """

    _drops = None

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        self._created_context = True
        context = zmq.asyncio.Context()
        cap = self.parent.limits.output_bytes
        context.setsockopt(zmq.MAXMSGSIZE, int(cap) + MESSAGE_OVERHEAD)
        context.setsockopt(zmq.RCVHWM, QUEUED_MESSAGES)
        return context

    def connect_iopub(self, identity: bytes | None = None):
        """The IOPub socket, with a monitor that sees each message refused for its size."""
        sock = super().connect_iopub(identity)
        address = f"inproc://iopub-drops-{os.getpid()}-{next(_MONITORS)}"
        sock.monitor(address, zmq.EVENT_DISCONNECTED)  # a refused message drops the connection
        self._drops = self.context.socket(zmq.PAIR)  # closed with the context when the client stops
        self._drops.linger = 0
        self._drops.connect(address)
        return sock

    def reopen_iopub(self) -> None:
        """Connect IOPub again: libzmq does not, after it dropped a connection for a refused message."""
        if self._iopub_channel is not None:
            self._iopub_channel.close()
            self._iopub_channel = None
        if self._drops is not None:
            self._drops.close()
            self._drops = None
        self.iopub_channel.start()
        time.sleep(0.5)  # the subscription reaches the kernel before the next cell runs

    def refused_messages(self) -> int:
        """How many kernel messages were refused for their size since the last call."""
        count = 0
        while self._drops is not None:
            try:  # an asyncio socket answers a NOBLOCK receive at once, with a finished future
                frames = self._drops.recv_multipart(zmq.NOBLOCK).result()
            except zmq.ZMQError:  # zmq.Again: nothing more
                break
            if int.from_bytes(frames[0][:2], "little") == zmq.EVENT_DISCONNECTED:
                count += 1
        return count


class SandboxedKernelManager(AsyncKernelManager):
    """AsyncKernelManager whose kernel runs in a bwrap sandbox, talking over ipc sockets."""

    workdir = Unicode("", config=True, help="the kernel's working folder (only writable folder)")
    sandboxed = Bool(True, config=True, help="False: no bwrap (limits still apply)")
    limits = Instance(Limits, kw={}, config=True,
                      help="the kernel tree's limits; output_bytes is also the largest message accepted")
    language = Unicode("en", config=True,
                       help="the notebook's language, given to the kernel as $CS231N_LANG (cs231n_lib.i18n)")
    client_class = Unicode("autograder.sandbox.kernel.BoundedKernelClient", config=True)
    client_factory = Type(BoundedKernelClient, klass=AsyncKernelClient, config=True)

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
        kw["env"] = {**(kw.get("env") or os.environ), **self._sandbox().env}  # unsandboxed: no bwrap --setenv
        await super()._async_launch_kernel(kernel_cmd, **kw)
        process = getattr(self.provisioner, "process", None)
        if process is not None:
            watchdog = self._sandbox().watch(process.pid, (Path(self.workdir),))
            with _LOCK:
                _LAUNCHED.setdefault(str(self.workdir), []).append((process.pid, watchdog))

    def _sandbox(self) -> Sandbox:
        return Sandbox(enabled=self.sandboxed, limits=self.limits, env={ENV_VAR: self.language})

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        # The inline matplotlib backend (instead of the sandbox's MPLBACKEND=Agg) keeps every
        # plot as an image/png output, so the feedback report shows the student's plots.
        cmd = super().format_kernel_cmd([*(extra_arguments or []), "--matplotlib=inline"])
        return self._sandbox().command(cmd, Path(self.workdir))


def output_size(output: dict) -> int:
    """Bytes an output adds to the notebook: its text, data and traceback, about as stored."""
    total = 0
    for key in ("text", "data", "traceback", "ename", "evalue"):
        value = output.get(key)
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, list):
            total += sum(len(str(v)) for v in value)
        elif isinstance(value, dict):
            total += sum(len(str(v)) for v in value.values())
    return total


class SandboxedExecute(Execute):
    """nbgrader's Execute preprocessor with the sandboxed kernel manager and an output cap.

    limits.output_bytes: output kept for the whole notebook; past it, outputs are dropped and
    the cell that crossed it shows one note saying so.
    """

    limits = Instance(Limits, kw={}, config=True, help="output_bytes: bytes of output kept per notebook")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)
        self.kept_bytes = 0
        self.dropped = False

    def preprocess(self, nb, resources=None, *args, **kwargs):
        self.kept_bytes, self.dropped = 0, False
        return super().preprocess(nb, resources, *args, **kwargs)

    def create_kernel_manager(self):
        """The kernel manager, told the notebook's language (metadata.cs231n.lang) for the kernel."""
        km = super().create_kernel_manager()
        if isinstance(km, SandboxedKernelManager):
            km.language = language(self.nb)
        return km

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        refused = self.kc.refused_messages() if isinstance(self.kc, BoundedKernelClient) else 0
        if refused:
            self.kc.reopen_iopub()
            kwargs["cell"].outputs.append(nbformat.v4.new_output(
                "stream", name="stderr",
                text=f"[an output larger than {mib(self.limits.output_bytes)} was refused by the grader; "
                     "what this cell printed after it is lost]\n"))

    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        if out is None:
            return None
        size = output_size(out)
        if self.kept_bytes + size <= self.limits.output_bytes:
            self.kept_bytes += size
            return out
        if outs and outs[-1] is out:
            outs.pop()
            if display_id:  # nbclient recorded where it went; a later update must not look there
                self._display_id_map[display_id][cell_index].pop()
        if not self.dropped:
            self.dropped = True
            outs.append(nbformat.v4.new_output(
                "stream", name="stderr",
                text=f"[output beyond the {mib(self.limits.output_bytes)} kept per notebook was dropped "
                     "by the grader]\n"))
        return None
