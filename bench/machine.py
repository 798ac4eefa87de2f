"""What a benchmark ran on: the processor, the load, numpy's BLAS and the thread counts.

Not a benchmark itself (`python -m bench` runs only the bench_*.py modules); the benchmarks
print `describe()` at the top of their tables, because a ratio means little without it.
"""

from __future__ import annotations

import os
import platform

import numpy as np
import scipy
from threadpoolctl import threadpool_info


def cpu_model() -> str:
    """The processor's model name (from /proc/cpuinfo on Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown processor"


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def blas_lines() -> list[str]:
    """One line per BLAS and OpenMP library loaded, as threadpoolctl sees it."""
    lines = []
    for lib in threadpool_info():
        details = [lib.get("internal_api"), lib.get("version"), lib.get("architecture"),
                   lib.get("threading_layer")]
        what = ", ".join(str(d) for d in details if d)
        lines.append(f"{lib['user_api']}: {os.path.basename(lib['filepath'])} ({what}), "
                     f"{lib['num_threads']} threads")
    return lines


def describe(torch=None) -> list[str]:
    """Lines saying what this run measures on: machine, load, versions, BLAS and threads."""
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    lines = [f"machine: {cpu_model()}, {cores()} cores; load average {load} (1, 5, 15 min)",
             f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}"]
    lines += blas_lines()
    if torch is not None:
        lines.append(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads "
                     f"(CPU capability {torch.backends.cpu.get_cpu_capability()})")
    return lines
