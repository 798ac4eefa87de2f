"""The limits of one sandboxed process tree: the one `Limits` object from the command line to the kernel.

`python -m autograder autograde --memory-mb ...` builds it; the batch hands it to every
grading task; the task's nbgrader run passes the same object, through nbgrader's
configuration, to the sandboxed kernel manager; the verifier's `Sandbox` holds it too.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed process tree (the kernel, or one verification process).

    memory_bytes: resident memory of all its processes together (the watchdog), and the
    address space of each one (RLIMIT_AS); file_bytes: largest file it may write
    (RLIMIT_FSIZE); processes: processes alive at once; disk_bytes: what it may hold in its
    working folder and its /tmp together; output_bytes: bytes of notebook output kept (the
    rest is dropped with a note); cell_timeout: seconds per notebook cell and per exercise
    cell; submission_timeout: wall-clock seconds for the whole notebook execution (each
    Check has its own time limit, `Check.timeout`); blas_threads: threads of numpy's BLAS
    (OpenBLAS, MKL, OpenMP) in the kernel and the verifier. One by default: grading runs one
    submission per core, and on a busy machine a second BLAS thread spins while other
    processes hold the cores (measured: 07 executed in 1,483 s with two threads, about 100 s
    with one, at load 15 on 2 cores).
    """

    memory_bytes: int = 6 * 2**30
    file_bytes: int = 256 * 2**20
    cell_timeout: float = 120.0
    submission_timeout: float = 1200.0
    processes: int = 64
    disk_bytes: int = 1 * 2**30
    output_bytes: int = 8 * 2**20
    blas_threads: int = 1

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"Limits.{name} must be a positive number, got {value!r}")
