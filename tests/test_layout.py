"""The layout of both packages: their import graph, read from the source (ast), has no cycle in
`cs231n_lib` or `autograder`, the student library never imports the autograder, and the texts
that list their files (docs/grading.md's table, the data step's docstring) list every one.

Every import counts, also one inside a function: a lazy import that closes a cycle still ties
two modules that should be readable one after the other. `import a.b.c` also imports the
packages `a` and `a.b` (their `__init__`), so those are edges too.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("cs231n_lib", "autograder")


def module_files(root: Path, package: str) -> dict[str, Path]:
    """{dotted module name: file} of every module of `package` under `root`."""
    files = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = path
    return files


def imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name `module` imports (absolute; relative imports resolved)."""
    is_package = path.name == "__init__.py"
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[:len(module.split(".")) - node.level + is_package]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)   # submodules
    return names


def import_graph(root: Path, packages=PACKAGES) -> dict[str, set[str]]:
    """{module: modules of the packages it imports, with the packages around them}."""
    modules = {}
    for package in packages:
        modules |= module_files(root, package)
    graph = {}
    for module, path in modules.items():
        edges = set()
        for name in imported_names(module, path):
            parts = name.split(".")
            edges.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        graph[module] = {m for m in edges if m in modules and m != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


GRAPH = import_graph(REPO)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package):
    inside = {m: {e for e in edges if e.split(".")[0] == package}
              for m, edges in GRAPH.items() if m.split(".")[0] == package}
    assert len(inside) > 10   # the walk found the package
    assert cycles(inside) == []


def test_the_student_library_never_imports_the_autograder():
    for module, path in module_files(REPO, "cs231n_lib").items():
        wrong = sorted(n for n in imported_names(module, path) if n.split(".")[0] == "autograder")
        assert wrong == [], f"{module} imports {wrong}"


def test_the_walk_sees_a_cycle_through_a_lazy_import_and_a_package(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("from . import c\n")
    (pkg / "sub" / "b.py").write_text("")
    (pkg / "sub" / "c.py").write_text("def f():\n    from ..a import g\n")
    (pkg / "d.py").write_text("import pkg.sub.b\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.d"] == {"pkg", "pkg.sub", "pkg.sub.b"}
    assert graph["pkg.sub"] == {"pkg", "pkg.sub.c"}
    assert cycles(graph) == [["pkg.a", "pkg.sub", "pkg.sub.c"]]


def test_the_grading_guide_lists_every_file_of_the_autograder():
    """docs/grading.md's "one file per job" table: a row for each module, and no row for a file
    that is not there."""
    import re

    text = (REPO / "docs" / "grading.md").read_text()
    table = text[text.index("## Where the code lives"):text.index("| step | command |")]
    listed = set(re.findall(r"^\| `([\w/]+\.py)` \|", table, re.M))
    files = {str(p.relative_to(REPO / "autograder")) for p in (REPO / "autograder").rglob("*.py")
             if p.name != "__init__.py"}
    assert sorted(files - listed) == [] and sorted(listed - files) == []


def test_the_data_step_names_each_of_its_modules():
    import cs231n_lib.datastep

    modules = {m.rsplit(".", 1)[1] for m in module_files(REPO, "cs231n_lib")
               if m.startswith("cs231n_lib.datastep.") and not m.endswith("__main__")}
    assert modules and all(f"``{m}``" in cs231n_lib.datastep.__doc__ for m in modules), modules
