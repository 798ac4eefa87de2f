"""Stubbing of forbidden names: copies of library modules whose named functions raise.

In the sandbox the stubbed copies are bind-mounted over the originals (read-only, with the
module's __pycache__ hidden), so neither an import nor a compiled copy reaches the original.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from autograder.i18n.messages import _

# Modules whose functions read the course's datasets: their stubs say so.
DATA_MODULES = ("cs231n_lib.data.", "cs231n_lib.embedded.")


def stub_message(dotted: str) -> str:
    """What calling the stub of a forbidden name says (the stubbed module's and the worker's)."""
    if dotted.startswith(DATA_MODULES):
        return _("{name} reads the course's datasets, which an open-ended task may not do: "
                 "train on the data it is given (its `data`)").format(name=dotted)
    return _("{name} is the library's reference for the function you are asked to write; "
             "it cannot be used to answer this exercise").format(name=dotted)


def _module_of(dotted: str) -> tuple[Path, list[str]] | None:
    """(source file of the module, attribute path inside it) for a dotted name, or None."""
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            spec = importlib.util.find_spec(".".join(parts[:i]))
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            return Path(spec.origin), parts[i:]
    return None


def stub_functions(text: str, targets: dict[str, list[str]]) -> str:
    """Module source with each target function's body replaced by `raise RuntimeError(...)`.

    Inputs: text, Python source; targets, {dotted name: attribute path in the module}
    (["func"] or ["Class", "method"]). Returns: the new source (unparsed from the AST).
    """
    tree = ast.parse(text)
    for dotted, attrs in targets.items():
        body, node = tree.body, None
        for name in attrs:
            node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                            ast.ClassDef)) and n.name == name), None)
            if node is None:
                break
            body = node.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            message = stub_message(dotted)
            node.body = [ast.Raise(exc=ast.Call(func=ast.Name("RuntimeError", ast.Load()),
                                                args=[ast.Constant(message)], keywords=[]), cause=None)]
    return ast.unparse(ast.fix_missing_locations(tree))


def forbidden_mounts(forbidden: tuple[str, ...], where: Path) -> tuple[tuple[Path, Path], ...]:
    """Read-only bind mounts replacing the forbidden functions' modules by stubbed copies.

    The module's __pycache__ is hidden too, so its compiled original cannot be read either.
    """
    by_module: dict[Path, dict[str, list[str]]] = {}
    for dotted in forbidden:
        found = _module_of(dotted)
        if found:
            by_module.setdefault(found[0], {})[dotted] = found[1]
    mounts = []
    for k, (path, targets) in enumerate(by_module.items()):
        stub = where / f"stub{k}_{path.name}"
        stub.write_text(stub_functions(path.read_text(), targets))
        mounts.append((stub, path))
        cache = path.parent / "__pycache__"
        if cache.is_dir():
            empty = where / f"empty{k}"
            empty.mkdir(exist_ok=True)
            mounts.append((empty, cache))
    return tuple(mounts)
