"""OS-level sandbox for student code: bubblewrap (bwrap) plus resource limits.

Inside the sandbox a process sees a read-only view of the system folders, the
Python installation, the virtualenv, the `cs231n_lib` and `autograder` packages (and the
CIFAR-10 folder when present), one writable working folder, a private /tmp,
no network (its own network namespace), its own PID/IPC/UTS namespaces and a
cleared environment. The course folder (source notebooks, verify specs,
submissions, gradebook), the rest of the repository and the home folder are not
visible at all. The private /tmp is a tmpfs of at most `Limits.disk_bytes` (limits.py). Memory
(RLIMIT_AS), file size (RLIMIT_FSIZE) and core dumps are limited with setrlimit before
bwrap starts: they hold for each process inside. The limits of the whole tree (memory of
all its processes together, how many processes, disk used in the working folder and /tmp)
are kept by a `TreeWatchdog` (watchdog.py) started with it: `Sandbox.watch`.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cs231n_lib
from autograder.sandbox.limits import Limits

# The packages sandboxed code imports: the student library and the verification worker.
PACKAGE_DIRS = (Path(cs231n_lib.__file__).resolve().parent, Path(__file__).resolve().parents[1])


class SandboxUnavailable(RuntimeError):
    """Raised when sandboxed grading is asked for and bubblewrap does not work here."""


@functools.cache
def bwrap_status() -> str | None:
    """None when `bwrap` works here (with a private network namespace), else the reason it does not."""
    if not sys.platform.startswith("linux"):
        return f"sandboxing needs Linux with bubblewrap (this is {sys.platform})"
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (bwrap) is not installed; run `make sandbox` or `sudo apt-get install bubblewrap`"
    try:
        proc = subprocess.run([exe, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--dev", "/dev",
                               "--proc", "/proc", "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap does not run: {exc}"
    if proc.returncode != 0:
        return f"bwrap does not work here: {proc.stderr.strip()[:300]}"
    return None


def _readonly_roots() -> list[Path]:
    """Folders the sandbox may read: the system, Python, the venv, the library, CIFAR-10."""
    roots = [Path(p) for p in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")]
    roots += [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), *PACKAGE_DIRS]
    exe = Path(sys.executable).resolve()
    roots.append(exe.parent.parent)
    from cs231n_lib import data as _data  # where get_cifar10_data looks for CIFAR-10

    cifar = Path(_data.default_cifar10_dir())
    if cifar.exists():
        roots.append(cifar.resolve())
    seen, out = set(), []
    for r in roots:
        if r.exists() and r not in seen:
            seen.add(r)
            out.append(r)
    return out


@dataclass
class Sandbox:
    """Wraps a command so it runs sandboxed (bwrap) or, when `enabled` is False, as is.

    extra_ro: (host path, sandbox path) pairs bound read-only on top (e.g. stubbed modules).
    """

    enabled: bool = True
    limits: Limits = field(default_factory=Limits)
    env: dict = field(default_factory=dict)  # more environment (e.g. CS231N_LANG, the notebook's language)

    def command(self, argv: list[str], workdir: Path, extra_rw: tuple[Path, ...] = (),
                extra_ro: tuple[tuple[Path, Path], ...] = ()) -> list[str]:
        """The argv that runs `argv` in the sandbox with `workdir` as its only writable folder.

        Inputs: argv, the command; workdir, an existing folder (becomes cwd and HOME);
        extra_rw, more writable folders (e.g. the kernel's socket folder).
        Returns: the full argv (bwrap ... argv) or argv unchanged when not enabled.
        """
        if not self.enabled:
            return self.limit_prefix() + list(argv)
        status = bwrap_status()
        if status is not None:
            raise SandboxUnavailable(status)
        cmd = self.limit_prefix() + [shutil.which("bwrap") or "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
               "--dev", "/dev", "--proc", "/proc", "--size", str(self.limits.disk_bytes), "--tmpfs", "/tmp",
               "--size", str(2**20), "--tmpfs", "/run"]
        for root in _readonly_roots():
            cmd += ["--ro-bind", str(root), str(root)]
        for secret in ("/etc/shadow", "/etc/gshadow", "/etc/sudoers"):
            if os.path.exists(secret):
                cmd += ["--ro-bind", "/dev/null", secret]
        for host, inside in extra_ro:
            cmd += ["--ro-bind", str(host), str(inside)]
        for path in (Path(workdir), *extra_rw):
            cmd += ["--bind", str(Path(path).resolve()), str(Path(path).resolve())]
        env = sandbox_env(Path(workdir).resolve(), self.limits.blas_threads) | self.env
        cmd += ["--clearenv"]
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        cmd += ["--chdir", str(Path(workdir).resolve()), "--"]
        return cmd + list(argv)

    def watch(self, pid: int, folders: tuple[Path, ...]):
        """Start the watchdog keeping this sandbox's whole-tree limits on the tree started as `pid`.

        Inputs: pid, the process returned for `command(...)`; folders, its writable folders.
        Returns: the running TreeWatchdog (stop() it once the process is gone).
        """
        from autograder.sandbox.watchdog import TreeWatchdog

        return TreeWatchdog(pid, self.limits.memory_bytes, self.limits.processes, self.limits.disk_bytes,
                            folders).start()

    def limit_prefix(self) -> list[str]:
        """`prlimit` arguments setting the memory, file-size and core limits of each process."""
        exe = shutil.which("prlimit")
        if exe is None:
            return [sys.executable, "-m", "autograder.sandbox.rlimits",
                    str(self.limits.memory_bytes), str(self.limits.file_bytes), "--"]
        return [exe, f"--as={self.limits.memory_bytes}", f"--fsize={self.limits.file_bytes}",
                "--core=0", "--"]


def blas_env(threads: int = 1) -> dict[str, str]:
    """The environment variables that set the BLAS and OpenMP thread counts numpy uses."""
    return {name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def sandbox_env(workdir: Path, blas_threads: int = 1) -> dict[str, str]:
    """The whole environment a sandboxed process gets (nothing is inherited)."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(workdir / ".matplotlib"),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "JUPYTER_PLATFORM_DIRS": "1",
    } | blas_env(blas_threads) | ({"CIFAR10_DIR": os.environ["CIFAR10_DIR"]} if os.environ.get("CIFAR10_DIR") else {})
