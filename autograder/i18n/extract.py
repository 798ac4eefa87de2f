"""The notebooks' own messages: the names, hints and messages their public checks print.

A test cell calls `check_close("distances (two loops)", ..., hint="...")`: the check's name, its
hint, check_true's message and the hints of a `mistakes={hint: wrong answer}` dict are English
strings in shared code, and cs231n_lib.checks prints them translated through the `notebooks`
catalogue (cs231n_lib/locale/zh_CN/LC_MESSAGES/notebooks.po), which the translators of a notebook
fill in. `notebook_messages` finds them (string literals, and f-strings as templates: `f"k={k}"`
is the message `k={k}`, whose `{k}` the translation keeps and the checks fill with what the
f-string printed; hidden tests are left out: their wording is not for students);
`extract_notebook` is the same as a pybabel extraction method (`make messages`,
i18n/babel-notebooks.cfg).
"""

from __future__ import annotations

import ast
import json
import re

from autograder.notebook import HIDDEN_RE

# The checks of cs231n_lib.checks, with the positions of their translated string arguments
# (keyword name, position): the name always, the hint, check_true's message, and the keys of a
# `mistakes` dict ({hint: wrong answer}, a dict literal or a name a cell assigns one to).
MISTAKES = "mistakes"
CHECKS = {
    "check_close": [("name", 0), ("hint", 4), (MISTAKES, 6)],
    "check_equal": [("name", 0), ("hint", 3)],
    "check_shape": [("name", 0), ("hint", 3)],
    "check_true": [("name", 0), ("message", 2)],
    "check_frobenius": [("name", 0), ("hint", 4), (MISTAKES, 5)],
    "check_scalar_near": [("name", 0), ("hint", 4)],
    "check_gradient": [("name", 0), ("hint", 8)],
    "check_layer_gradient": [("name", 0), ("hint", 9)],
    "check_rule": [("name", 0)],
}
TEMPLATE_NOTE = "an f-string: keep each {...} exactly; the check fills it with the value printed"
_MAGIC = re.compile(r"^[ \t]*[%!].*$", re.M)
_FIELD = re.compile(r"\{[^{}]*\}")
_CODE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*(\(\))?$")


def _blank_hidden(match: re.Match) -> str:
    """A hidden-tests block as `pass` lines (same count and indentation: the cell still parses)."""
    indent = re.match(r"[ \t]*", match.group(0)).group(0)
    return "\n".join(f"{indent}pass" for _ in match.group(0).split("\n"))


def template(node: ast.AST) -> str | None:
    """The message of a string argument: a literal's text, an f-string as a template
    (f"k={k:.2f}" -> "k={k:.2f}"), else None (a variable, a literal brace, a nested field)."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if not isinstance(node, ast.JoinedStr):
        return None
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            if "{" in value.value or "}" in value.value:
                return None
            parts.append(value.value)
            continue
        field = ast.unparse(value.value)
        if value.conversion != -1:
            field += "!" + chr(value.conversion)
        if value.format_spec is not None:
            spec = value.format_spec.values
            if not all(isinstance(v, ast.Constant) for v in spec):
                return None
            field += ":" + "".join(v.value for v in spec)
        if "{" in field or "}" in field:
            return None
        parts.append("{" + field + "}")
    return "".join(parts)


def _python(source: str) -> str:
    """A cell's source as Python: IPython's magics (%matplotlib, !ls) become calls, as the kernel
    runs them; a line that starts with % inside an expression stays the operator it is there."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # without IPython: drop the lines that look like magics
        return _MAGIC.sub("", source)
    return TransformerManager().transform_cell(source)


def _strings(value: ast.AST | None, keyword: str, dicts: dict) -> list[ast.AST]:
    """The nodes of an argument's texts: the argument itself, or a mistakes dict's keys."""
    if value is None:
        return []
    if keyword != MISTAKES:
        return [value]
    if isinstance(value, ast.Name):
        value = dicts.get(value.id)
    return [k for k in value.keys if k is not None] if isinstance(value, ast.Dict) else []


def code_messages(source: str, dicts: dict | None = None) -> list[tuple[int, str]]:
    """(line, text) of every name, hint and message written in `source` for a check
    (literals and f-string templates). Raises SyntaxError when `source` is not Python.

    dicts: {name: dict literal} of the cells run before, to read a `mistakes=NAME` argument;
    this cell's top-level `NAME = {...}` are added to it."""
    tree = ast.parse(_python(HIDDEN_RE.sub(_blank_hidden, source)))
    dicts = {} if dicts is None else dicts
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Dict):
            dicts.update({t.id: stmt.value for t in stmt.targets if isinstance(t, ast.Name)})
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
            for string in _strings(value, keyword, dicts):
                text = template(string)
                # a bare code name stays as it is; so does a template of fields only (f"{desc}")
                if text and re.search(r"[A-Za-z]", _FIELD.sub("", text)) and not _CODE_NAME.match(text):
                    found.append((string.lineno, string.col_offset, text))
    return [(line, text) for line, _, text in sorted(found)]  # in the order of the source


def _cells(nb) -> list[tuple[str, str]]:
    """(cell id, source) of a notebook's code cells."""
    out = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            out.append((cell.get("id", "?"), "".join(source) if isinstance(source, list) else source))
    return out


def _messages_of(cell_id: str, source: str, dicts: dict) -> list[tuple[int, str]]:
    try:
        return code_messages(source, dicts)
    except SyntaxError as exc:
        raise ValueError(f"code cell {cell_id} is not Python (line {exc.lineno}: {exc.msg}); "
                         "its check messages cannot be extracted") from None


def notebook_messages(nb) -> list[str]:
    """The messages of a notebook's code cells, in order, each once."""
    out: list[str] = []
    dicts: dict = {}
    for cell_id, source in _cells(nb):
        for _, text in _messages_of(cell_id, source, dicts):
            if text not in out:
                out.append(text)
    return out


def extract_notebook(fileobj, keywords, comment_tags, options):
    """pybabel's extraction method for .ipynb files: yields (line, funcname, message, comments)."""
    nb = json.loads(fileobj.read().decode("utf-8"))
    line, dicts = 0, {}
    for cell_id, source in _cells(nb):
        for lineno, text in _messages_of(cell_id, source, dicts):
            yield line + lineno, "_", text, [TEMPLATE_NOTE] if "{" in text else []
        line += source.count("\n") + 1
