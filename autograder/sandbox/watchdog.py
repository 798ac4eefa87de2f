"""Limits for a whole sandboxed process tree, enforced from outside it.

`RLIMIT_AS` and `RLIMIT_FSIZE` hold per process only, and `RLIMIT_NPROC` counts every process
of the user on the machine (and does not hold for root). A `TreeWatchdog` thread in the
grader follows one sandbox from its first process: every `interval` seconds it sums the
resident memory of every process of the tree (from /proc), counts them, and adds up what
they wrote to their writable folders and to the sandbox's private /tmp. The first limit
exceeded kills the whole tree (SIGKILL to each process; bwrap's PID namespace takes the
rest) and is kept as `reason`, for the grade's reason. The per-process limits stay as a
backstop between two looks, and the private /tmp is a tmpfs of bounded size.

The grader can also look at a moment that matters (`enforce()`: the notebook runner does at the
end of every cell), so a tree that ends a step over a limit is stopped there, however late the
thread's next look would have come: a disk flood that fills /tmp and ends at once (an OSError)
would otherwise be gone, with its kernel, before a loaded machine gave the thread its turn.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
MAX_FILES_WALKED = 200_000


def stat_fields(pid: int | str) -> list[bytes] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, ...: field 3 of
    proc(5) is index 0), or None when the process is gone or cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read(1024)
    except OSError:
        return None
    # pid (comm) state ppid ...; comm may hold spaces and parentheses
    return stat[stat.rfind(b")") + 2:].split()


def _ppid_map() -> dict[int, int]:
    """{pid: parent pid} of every process this one can see in /proc."""
    parents = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = stat_fields(name)
        if fields is not None and len(fields) > 1 and fields[0] != b"Z":  # a zombie holds nothing any more
            parents[int(name)] = int(fields[1])
    return parents


def _children(pid: int) -> list[int] | None:
    """The children of one process from /proc/<pid>/task/*/children; None when the kernel has no such file."""
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                out += [int(c) for c in f.read().split()]
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue  # the thread ended meanwhile
            return None
        except OSError:
            continue
    return out


def tree_pids(root: int) -> list[int]:
    """`root` and all its descendants that are alive, parents before children.

    Walks down from `root` (cost: the tree's size); where /proc has no `children` files,
    from the parent of every process on the machine.
    """
    if not os.path.exists(f"/proc/{root}"):
        return []
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        kids = _children(pid)
        if kids is None:
            return _tree_from_parents(root)
        out.append(pid)
        todo.extend(kids)
    return out


def _tree_from_parents(root: int) -> list[int]:
    parents = _ppid_map()
    if root not in parents:
        return []
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def resident_bytes(pid: int) -> int:
    """Resident memory of one process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def folder_bytes(path: Path, limit: int = MAX_FILES_WALKED) -> int:
    """Bytes on disk under `path` (allocated blocks, symlinks not followed).

    A folder holding more than `limit` entries counts as infinitely large: walking it would
    take the grader longer than the student took to fill it.
    """
    total, seen, todo = 0, 0, [str(path)]
    while todo:
        try:
            entries = list(os.scandir(todo.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > limit:
                return 2**62
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            total += st.st_blocks * 512
            if entry.is_dir(follow_symlinks=False):
                todo.append(entry.path)
    return total


def private_tmp_bytes(pids: list[int]) -> int:
    """Bytes used in the sandbox's private /tmp, seen through a sandboxed process's root.

    0 when no process of the tree has a /tmp of its own (unsandboxed runs share the host's).
    """
    try:
        host = os.stat("/tmp").st_dev
    except OSError:
        return 0
    for pid in reversed(pids):
        tmp = f"/proc/{pid}/root/tmp"
        try:
            if os.stat(tmp).st_dev == host:
                continue
            st = os.statvfs(tmp)
        except OSError:
            continue
        return (st.f_blocks - st.f_bfree) * st.f_frsize
    return 0


def run_queue_seconds(pid: int) -> float:
    """Seconds the main thread of `pid` has been ready to run but waiting for a processor (0 when unknown)."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def mib(n: int) -> str:
    return f"{n / 2**20:g} MiB"


class TreeWatchdog:
    """Kill a process tree that uses too much memory, too many processes or too much disk.

    Inputs: root, the pid of the tree's first process (prlimit / bwrap); memory_bytes, the
    resident memory of all its processes together; processes, how many may exist at once;
    disk_bytes, what they may hold in `folders` and their private /tmp together; interval,
    seconds between two looks. `reason` says which limit was exceeded (None while none was).
    """

    def __init__(self, root: int, memory_bytes: int, processes: int, disk_bytes: int,
                 folders: tuple[Path, ...] = (), interval: float = 0.2):
        self.root = root
        self.memory_bytes, self.processes, self.disk_bytes = memory_bytes, processes, disk_bytes
        self.folders = tuple(Path(f) for f in folders)
        self.interval = interval
        self.reason: str | None = None
        self._stop = threading.Event()
        self._enforcing = threading.Lock()  # one look-and-kill at a time: the thread's or the grader's
        self._thread = threading.Thread(target=self._watch, daemon=True, name=f"watchdog-{root}")

    def start(self) -> TreeWatchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def check(self) -> str | None:
        """One look at the tree: the limit it exceeds now, or None."""
        pids = tree_pids(self.root)
        if not pids:
            return None
        if len(pids) > self.processes:
            return f"started more than {self.processes} processes at once"
        memory = sum(resident_bytes(p) for p in pids)
        if memory > self.memory_bytes:
            return f"used more than {mib(self.memory_bytes)} of memory (all its processes together)"
        disk = private_tmp_bytes(pids) + sum(folder_bytes(f) for f in self.folders)
        if disk > self.disk_bytes:
            return f"wrote more than {mib(self.disk_bytes)} to disk (its working folder and /tmp)"
        return None

    def enforce(self) -> str | None:
        """Look at the tree now and kill it when it exceeds a limit.

        Returns: the limit that stopped the tree, now or at an earlier look (`reason`), or None.
        The thread calls it every `interval` seconds; the grader may call it too, from any thread.
        A look that fails (a process gone mid-read) decides nothing.
        """
        with self._enforcing:
            if self.reason is None:
                try:
                    reason = self.check()
                except Exception:
                    return None
                if reason is not None:
                    self.reason = reason  # before the kill: whoever sees the tree die sees why
                    self.kill()
            return self.reason

    def kill(self) -> None:
        """SIGKILL every process of the tree, again until none is left (a fork may race the first pass)."""
        for _ in range(20):
            pids = tree_pids(self.root)
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.05)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            if self.enforce() is not None:  # a look that fails is retried at the next tick
                return
