"""Run every benchmark module (bench/bench_*.py) in turn; each prints its own table.

    python -m bench            # all of them
    python -m bench conv knn   # only bench_conv.py and bench_knn.py
"""

import importlib
import pkgutil
import sys
import time

import bench


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    if argv:
        wanted = {f"bench_{a.removeprefix('bench_')}" for a in argv}
        unknown = wanted - set(names)
        if unknown:
            print(f"unknown benchmark(s): {sorted(unknown)}; available: {names}", file=sys.stderr)
            return 2
        names = [n for n in names if n in wanted]
    for name in names:
        start = time.perf_counter()
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"bench.{name}").main()
        print(f"({name}: {time.perf_counter() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
