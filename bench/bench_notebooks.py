"""Notebook Run All times: each source notebook, with its solutions, on the embedded dataset.

    python -m bench notebooks
    BENCH_NOTEBOOKS=05_cnn,07_optimizers python -m bench notebooks     # some of them

Each grading/source/<id>/<id>.ipynb runs top to bottom in a fresh kernel (nbclient, a
temporary copy of its folder as working directory), with CIFAR10_DIR pointing at an empty
temporary folder, so that every notebook runs on the embedded dataset whatever `make data`
fetched. nbclient records when the kernel started and finished each cell; from that the
bench prints, per notebook:

- Run All: from the start of the first cell to the end of the last (the kernel's start is
  not counted), against the budget of 60 s;
- the slowest cell (index and first line) against the budget of 20 s per cell;
- every promise (a cell whose duration the text states carries
  cell.metadata["cs231n"]["promised_seconds"], see docs/authoring.md) against the cell's time.

The budgets are for a quiet 2-core machine: the load average is printed next to each notebook,
and on a shared machine the times can be several times longer.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

SOURCE = Path(__file__).resolve().parent.parent / "grading" / "source"
RUN_ALL_BUDGET = 60.0  # seconds for the whole notebook
CELL_BUDGET = 20.0  # seconds for any one cell
CELL_TIMEOUT = 1800  # seconds before nbclient gives up on a cell (far above any budget)


def notebook_ids() -> list[str]:
    """The source notebooks to run: $BENCH_NOTEBOOKS (comma-separated ids) or all of them."""
    everything = sorted(p.name for p in SOURCE.iterdir() if (p / f"{p.name}.ipynb").is_file())
    wanted = [a.strip() for a in os.environ.get("BENCH_NOTEBOOKS", "").split(",") if a.strip()]
    unknown = sorted(set(wanted) - set(everything))
    if unknown:
        raise SystemExit(f"BENCH_NOTEBOOKS: no source notebook {unknown}; known: {everything}")
    return wanted or everything


@contextlib.contextmanager
def embedded_data_only():
    """Point CIFAR10_DIR (inherited by the kernels) at an empty folder, then put it back."""
    saved = os.environ.get("CIFAR10_DIR")
    with tempfile.TemporaryDirectory(prefix="bench-no-cifar-") as empty:
        os.environ["CIFAR10_DIR"] = empty
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("CIFAR10_DIR", None)
            else:
                os.environ["CIFAR10_DIR"] = saved


def _stamp(cell, key: str) -> datetime.datetime | None:
    value = cell.get("metadata", {}).get("execution", {}).get(key)
    return datetime.datetime.fromisoformat(value) if value else None


def cell_seconds(cell) -> float | None:
    """How long the kernel took for a cell, from nbclient's record (None if it did not run)."""
    start, end = _stamp(cell, "iopub.execute_input"), _stamp(cell, "shell.execute_reply")
    return (end - start).total_seconds() if start and end else None


def promised_seconds(cell):
    """The cell's promise, cell.metadata["cs231n"]["promised_seconds"], or None."""
    return cell.get("metadata", {}).get("cs231n", {}).get("promised_seconds")


def first_line(cell, width: int = 44) -> str:
    line = next((s.strip() for s in cell.source.splitlines() if s.strip()), "")
    return line if len(line) <= width else line[:width - 3] + "..."


def run_notebook(path: Path):
    """Execute a notebook top to bottom; returns (executed notebook, first error or None)."""
    import nbclient

    nb = nbformat.read(str(path), as_version=4)
    with tempfile.TemporaryDirectory(prefix="bench-notebook-") as tmp:
        for item in path.parent.iterdir():
            if item.is_file() and item != path:
                shutil.copy(item, tmp)
        # Cells tagged raises-exception do not stop nbclient; with the solutions in, none may
        # raise, so the first error output is reported.
        client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                         allow_errors=True, record_timing=True,
                                         resources={"metadata": {"path": tmp}})
        try:
            client.execute()
        except Exception as exc:  # a cell over CELL_TIMEOUT, a dead kernel
            return nb, f"{type(exc).__name__}: {str(exc).strip()[:200]}"
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return nb, f"cell {index}: {out.ename}: {str(out.evalue)[:150]}"
    return nb, None


def report(aid: str, nb, error: str | None, load: float) -> list[str]:
    """The lines printed for one executed notebook."""
    timed = [(i, c, cell_seconds(c)) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    timed = [(i, c, s) for i, c, s in timed if s is not None]
    if not timed:
        return [f"{aid:<22} did not run: {error}"]
    first = min(_stamp(c, "iopub.execute_input") for _, c, _ in timed)
    last = max(_stamp(c, "shell.execute_reply") for _, c, _ in timed)
    run_all = (last - first).total_seconds()
    index, slow_cell, slow = max(timed, key=lambda item: item[2])
    verdict = "ok" if run_all <= RUN_ALL_BUDGET and slow <= CELL_BUDGET else "OVER"
    lines = [f"{aid:<22}{run_all:>8.1f}{run_all / RUN_ALL_BUDGET:>7.2f}   {index:>4} "
             f"{first_line(slow_cell)!r:<48}{slow:>7.1f}{slow / CELL_BUDGET:>7.2f}"
             f"{load:>7.1f}  {verdict}"]
    if error:
        lines.append(f"    stopped with an error, so Run All is incomplete: {error}")
    for i, cell, seconds in timed:
        promise = promised_seconds(cell)
        if promise is not None:
            kept = "kept" if seconds <= promise else "BROKEN"
            lines.append(f"    promise: cell {i} {first_line(cell)!r} promised {promise:g} s, "
                         f"took {seconds:.1f} s ({seconds / promise:.2f} of it): {kept}")
    return lines


def main():
    ids = notebook_ids()
    print(f"source notebooks with their solutions, on the embedded dataset (CIFAR10_DIR empty); "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    print(f"budgets on a quiet 2-core machine: Run All {RUN_ALL_BUDGET:.0f} s, "
          f"any cell {CELL_BUDGET:.0f} s; /budget is the time divided by its budget")
    print(f"{'notebook':<22}{'Run All':>8}{'/budget':>7}   {'slowest cell':<54}{'s':>7}"
          f"{'/budget':>7}{'load':>7}")
    with embedded_data_only():
        for aid in ids:
            start = time.perf_counter()
            nb, error = run_notebook(SOURCE / aid / f"{aid}.ipynb")
            load = os.getloadavg()[0]
            for line in report(aid, nb, error, load):
                print(line, flush=True)
            print(f"    (wall time with the kernel's start: {time.perf_counter() - start:.1f} s)",
                  flush=True)


if __name__ == "__main__":
    main()
