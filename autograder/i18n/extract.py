"""The notebooks' own messages: the names, hints and messages their public checks print.

A test cell calls `check_close("distances (two loops)", ..., hint="...")`: the check's name, its
hint and check_true's message are English strings in shared code, and cs231n_lib.checks prints
them translated through the `notebooks` catalogue (cs231n_lib/locale/zh_CN/LC_MESSAGES/notebooks.po),
which the translators of a notebook fill in. `notebook_messages` finds them (string literals only;
hidden tests are left out: their wording is not for students); `extract_notebook` is the same
as a pybabel extraction method (`make messages`, i18n/babel-notebooks.cfg).
"""

from __future__ import annotations

import ast
import json
import re

from autograder.notebook import HIDDEN_RE

# The checks of cs231n_lib.checks, with the positions of their translated string arguments
# (keyword name, position): the name always, the hint, and check_true's message.
CHECKS = {
    "check_close": [("name", 0), ("hint", 4)],
    "check_equal": [("name", 0), ("hint", 3)],
    "check_shape": [("name", 0), ("hint", 3)],
    "check_true": [("name", 0), ("message", 2)],
    "check_frobenius": [("name", 0), ("hint", 4)],
    "check_scalar_near": [("name", 0), ("hint", 4)],
    "check_gradient": [("name", 0), ("hint", 8)],
    "check_layer_gradient": [("name", 0), ("hint", 9)],
    "check_rule": [("name", 0)],
}
_MAGIC = re.compile(r"^[ \t]*[%!].*$", re.M)
_CODE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*(\(\))?$")


def code_messages(source: str) -> list[tuple[int, str]]:
    """(line, text) of every literal name, hint and message passed to a check in `source`."""
    source = _MAGIC.sub("", HIDDEN_RE.sub("", source))
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func.id if isinstance(node.func, ast.Name) else (
            node.func.attr if isinstance(node.func, ast.Attribute) else None)
        for keyword, position in CHECKS.get(func, []):
            value = next((k.value for k in node.keywords if k.arg == keyword), None)
            if value is None and position < len(node.args):
                value = node.args[position]
            if (isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value.strip()
                    and not _CODE_NAME.match(value.value)):  # a bare code name needs no translation
                found.append((node.lineno, value.value))
    return sorted(found)


def notebook_messages(nb) -> list[str]:
    """The messages of a notebook's code cells, in order, each once."""
    out: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        for _, text in code_messages("".join(source) if isinstance(source, list) else source):
            if text not in out:
                out.append(text)
    return out


def extract_notebook(fileobj, keywords, comment_tags, options):
    """pybabel's extraction method for .ipynb files: yields (line, funcname, message, comments)."""
    nb = json.loads(fileobj.read().decode("utf-8"))
    line = 0
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if cell.get("cell_type") == "code":
            for lineno, text in code_messages(source):
                yield line + lineno, "_", text, []
        line += source.count("\n") + 1
