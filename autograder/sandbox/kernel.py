"""The sandboxed kernel nbgrader executes student notebooks in.

`SandboxedKernelManager` starts ipykernel inside bubblewrap (see bwrap.py) with the
ZMQ transport set to `ipc`: the kernel's unix sockets and connection file live in the
submission's own working folder, which is the only folder bound into the sandbox, so
the kernel talks to nbgrader although it has no network at all. `SandboxedExecute` is
nbgrader's Execute preprocessor using that kernel manager.

Limits beyond the sandbox's own: a TreeWatchdog per kernel keeps memory, processes and disk
of the whole kernel tree (`limit_reason` says which one stopped it), looking every 0.2 s and
once more when each cell ends (a cell that ends over a limit is the one that stopped the
kernel, however busy the machine); the client's ZMQ
sockets refuse messages larger than the output cap and queue a bounded number, so the
grader's memory stays bounded whatever the kernel sends; `SandboxedExecute` keeps at most
`limits.output_bytes` of output per notebook and replaces the rest with one visible note.
Both take the batch's one `Limits` object from nbgrader's configuration (`limits`).
"""

from __future__ import annotations

import itertools
import os
import shutil
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
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Bool, Instance, Type, Unicode, default

from autograder.i18n.edition import language
from autograder.notebook import first_line
from autograder.sandbox.bwrap import Sandbox, blas_env
from autograder.sandbox.limits import Limits
from autograder.sandbox.watchdog import mib, run_queue_seconds, tree_pids
from cs231n_lib.i18n import ENV_VAR

# Messages from the kernel the client queues before it drops more (each at most the output cap).
QUEUED_MESSAGES = 32
# Room for a message's headers and metadata beyond its output.
MESSAGE_OVERHEAD = 2**20

_LAUNCHED: dict[str, list] = {}
_TRIPPED: dict[str, str] = {}
_EVENTS: dict[str, list] = {}
# How often nbclient hands a running cell to SandboxedExecute._async_handle_timeout (seconds).
POLL_SECONDS = 5.0
# A run stopped at the per-submission limit after its kernel spent at least this share of the
# time waiting for a processor (runnable, while other work held the cores) was stopped by a busy
# grading machine, not by the student's code.
BUSY_WAIT_SHARE = 0.25
_LOCK = threading.Lock()
_MONITORS = itertools.count()


def kill_kernels(workdir: str, reason: str | None = None) -> None:
    """Kill every kernel sandbox started for this working folder (SIGKILL to bwrap kills all inside).

    reason: why, when it is a limit (the wall-clock limit per submission): limit_reason and the
    executed notebook's note then say so.
    """
    with _LOCK:
        if reason:
            _TRIPPED.setdefault(str(workdir), reason)
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


def sandboxed_pids(root: int) -> list[int]:
    """The processes of the sandbox started as `root` (prlimit exec's bwrap) that are not bwrap itself.

    bwrap runs as two processes (the one started, and the PID namespace's init); the kernel
    is the init's child. Every process below them is the kernel or one it started.
    """
    bwrap = os.path.realpath(shutil.which("bwrap") or "/usr/bin/bwrap")
    out = []
    for pid in tree_pids(root):
        try:
            if os.path.realpath(f"/proc/{pid}/exe") == bwrap:
                continue
        except OSError:
            continue
        out.append(pid)
    return out


def run_events(workdir: str) -> list[dict]:
    """What happened to the last notebook run in this working folder (once): see `_event`."""
    with _LOCK:
        return _EVENTS.pop(str(workdir), [])


def _event(kind: str, index: int, cell, limit: str, detail: str, infrastructure: bool, **extra) -> dict:
    """One thing that happened to a notebook run: kind "interrupted" (a cell at its time limit, the
    run went on) or "died" (the run ended there); cell, its number in the notebook (from 1) and
    first line; limit, "time", "memory", "processes", "disk", "signal", "exit" or "unknown";
    detail, a sentence part ("ran past ..." for the cell, "was killed by ..." for the notebook); infrastructure, True when not the student's doing."""
    return {"kind": kind, "cell": index + 1, "first_line": first_line(cell.get("source", "")),
            "limit": limit, "detail": detail, "infrastructure": infrastructure, **extra}


def _note(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stderr", text=text + "\n")


def death_cause(stop_reason: str | None, status: int | None, sandboxed: bool) -> tuple[str, str, bool]:
    """Why a kernel died: (limit, what it did as a sentence part, True when not the student's doing).

    stop_reason: the limit that stopped it (watchdog, submission time), if any; status: its exit
    status (bwrap reports a signal inside as 128 + its number; a negative status is a signal to
    bwrap itself, from outside the sandbox).
    """
    if stop_reason:
        for limit, word in (("memory", "memory"), ("processes", "processes"), ("disk", "disk"),
                            ("time", "limit per submission")):
            if word in stop_reason:
                return limit, stop_reason, False
        return "unknown", stop_reason, False
    if status is None:
        return "unknown", "stopped answering (the kernel's process was still there)", True
    if status < 0 or (not sandboxed and status > 128):
        number = -status if status < 0 else status - 128
        if not sandboxed:
            return "signal", f"was killed by signal {_signal_name(number)}", False
        return ("signal", f"was killed from outside the sandbox by signal {_signal_name(number)} "
                "(not by a limit of the grader; the machine may have run out of memory)", True)
    if status > 128:
        return "signal", f"was killed by signal {_signal_name(status - 128)} (a crash, or the code killed itself)", False
    return "exit", f"exited with code {status} (os._exit or a crash)", False


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


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
    watchdog = None  # the TreeWatchdog of the running kernel's tree (set when it is launched)

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
        extra = self._sandbox().env  # the notebook's language (inside the sandbox: bwrap --setenv too)
        if not self.sandboxed:  # the sandbox sets its own environment (bwrap.sandbox_env)
            extra = {**blas_env(self.limits.blas_threads), **extra}
        kw["env"] = {**(kw.get("env") or os.environ), **extra}
        await super()._async_launch_kernel(kernel_cmd, **kw)
        process = getattr(self.provisioner, "process", None)
        if process is not None:
            watchdog = self.watchdog = self._sandbox().watch(process.pid, (Path(self.workdir),))
            with _LOCK:
                _LAUNCHED.setdefault(str(self.workdir), []).append((process.pid, watchdog))

    def _sandbox(self) -> Sandbox:
        return Sandbox(enabled=self.sandboxed, limits=self.limits, env={ENV_VAR: self.language})

    async def _async_signal_kernel(self, signum: int) -> None:
        """Send `signum` to the kernel itself, inside the sandbox; SIGKILL still goes to bwrap.

        jupyter_client signals the process group of the process it started, which for a
        sandboxed kernel is the outer bwrap alone (bwrap's --new-session puts the kernel in a
        session and group of its own, in its own PID namespace). bwrap does not forward the
        signal: SIGINT's default action ends it, and --die-with-parent then takes the kernel
        down. So an interrupt (a cell over its time limit) goes to every process of the
        sandbox but bwrap's own two, as a terminal's Ctrl-C reaches a kernel and its children.
        """
        process = getattr(self.provisioner, "process", None)
        if not self.sandboxed or signum == signal.SIGKILL or process is None:
            await super()._async_signal_kernel(signum)
            return
        for pid in sandboxed_pids(process.pid):
            try:
                os.kill(pid, signum)
            except (ProcessLookupError, PermissionError):
                pass

    signal_kernel = _async_signal_kernel

    def stop_reason(self) -> str | None:
        """The limit that stopped this kernel's sandbox (a watchdog's, or the submission's time), or None."""
        with _LOCK:
            launched = list(_LAUNCHED.get(str(self.workdir), []))
            tripped = _TRIPPED.get(str(self.workdir))
        return next((w.reason for _, w in launched if w.reason), None) or tripped

    def enforce_limits(self) -> str | None:
        """One look by the kernel's watchdog now (the tree is killed when over a limit): the limit
        that stopped the kernel, now or before, or None."""
        return self.watchdog.enforce() if self.watchdog is not None else None

    def waited_seconds(self) -> float:
        """Seconds the kernel's main thread has spent ready to run but waiting for a processor."""
        process = getattr(self.provisioner, "process", None)
        if process is None:
            return 0.0
        pids = sandboxed_pids(process.pid) if self.sandboxed else [process.pid]
        return run_queue_seconds(pids[0]) if pids else 0.0

    def exit_status(self) -> int | None:
        """The kernel's exit status once it ended (bwrap passes a signal on as 128 + its number), else None."""
        process = getattr(self.provisioner, "process", None)
        return None if process is None else process.poll()

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
        """Execute the notebook; a kernel that dies ends the run with every earlier output kept.

        What happened to the run (a cell interrupted at its time limit, the kernel's death and
        why) is kept for `run_events(workdir)`.
        """
        self.kept_bytes, self.dropped = 0, False
        self.events: list[dict] = []
        self._running: tuple | None = None
        self._first: tuple | None = None
        try:
            return super().preprocess(nb, resources, *args, **kwargs)
        except DeadKernelError:
            if not any(e["kind"] == "died" for e in self.events):  # before or between cells
                self._record_death(-1, {"source": ""})
            return self.nb, self.resources
        finally:
            with _LOCK:
                _EVENTS[str(self.config.SandboxedKernelManager.get("workdir", ""))] = list(self.events)

    def preprocess_cell(self, cell, resources, index):
        self._running = (index, cell, time.monotonic(), self._waited())
        if self._first is None:
            self._first = self._running
        try:
            out = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._record_death(index, cell)
            raise
        # The watchdog looks once more as the cell ends: a cell that ends over a limit (a disk flood
        # that filled /tmp and stopped at its OSError) stops the kernel here, even if the watchdog's
        # next look would have come after the notebook's end, when the tree and its /tmp are gone.
        if (cell.cell_type == "code" and isinstance(self.km, SandboxedKernelManager)
                and self.km.enforce_limits() is not None):
            self._record_death(index, cell)
            raise DeadKernelError(f"the kernel was stopped at a limit when cell {index + 1} ended")
        return out

    def _waited(self) -> float:
        return self.km.waited_seconds() if isinstance(self.km, SandboxedKernelManager) else 0.0

    def _get_timeout(self, cell):
        """How long nbclient waits for a reply before asking `_async_handle_timeout` (a poll, not the limit)."""
        limit = super()._get_timeout(cell)
        return limit if limit is None or cell is None else min(limit, POLL_SECONDS)

    def own_seconds(self) -> tuple[float, float]:
        """(the running cell's own time, its wall time): wall-clock seconds since it started, less
        those its kernel spent ready to run but waiting for a processor held by other work."""
        _, _, started, waited = self._running
        wall = time.monotonic() - started
        return wall - max(0.0, self._waited() - waited), wall

    async def _async_handle_timeout(self, timeout, cell=None):
        """Interrupt the cell once its own time (not the wall clock) passes the limit per cell.

        nbclient asks every POLL_SECONDS; a cell slowed by a busy machine gets the processor
        time it would have had on an idle one, so the course's own solutions never meet the
        limit however loaded the grading machine is. The per-submission limit still holds.
        """
        limit = self.timeout
        if self._running is None or self._running[1] is not cell:
            return await super()._async_handle_timeout(timeout, cell)
        own, wall = self.own_seconds()
        if limit and own < limit:
            return None  # not yet: nbclient waits again
        index = self._running[0]
        detail = (f"ran past the {limit:g} s limit per cell and was interrupted; the cells after it still ran"
                  + (f" ({wall:.0f} s on the clock, {wall - own:.0f} s of it waiting for a processor)"
                     if wall - own >= 1 else ""))
        self.events.append(_event("interrupted", index, cell, "time", detail, False, seconds=round(wall, 1),
                                  own_seconds=round(own, 1)))
        cell.outputs.append(_note(f"[the grader: this cell {detail}]"))
        return await super()._async_handle_timeout(limit, cell)

    def _record_death(self, index: int, cell) -> None:
        km = self.km if isinstance(self.km, SandboxedKernelManager) else None
        limit, detail, infrastructure = death_cause(km.stop_reason() if km else None,
                                                    km.exit_status() if km else None,
                                                    bool(km and km.sandboxed))
        if limit == "time" and self._first is not None and self._running is not None:
            wall = self._running[2] - self._first[2]  # up to the last cell's start, when it was last seen
            waited = self._running[3] - self._first[3]
            if wall > 0 and waited >= BUSY_WAIT_SHARE * wall:
                detail += f" ({waited:.0f} s of its {wall:.0f} s spent waiting for a processor: the machine was busy)"
                infrastructure = True
        self.events.append(_event("died", index, cell, limit, detail, infrastructure))
        if index >= 0:
                cell.outputs.append(_note(f"[the grader: the notebook {detail} while this cell ran; "
                                      "the cells after it did not run]"))

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
