"""Autograder for the course: nbgrader course tools, sandboxed out-of-kernel verification.

The command line is `python -m autograder <command>` (see `__main__.py`). One module per
command at the top: `release`, `autograde`, `feedback` (with `feedback_html`), `grades`,
`submit`, `selfcheck`, `demo`, `workspace`; beside them `course` (where the course's
files are) and `notebook` (reading nbgrader cells), which every part uses. The parts:
`pipeline/` (grading submissions into the gradebook), `verify/` (the verification
engine and the spec API notebook authors import: `autograder.verify.spec`) and
`sandbox/` (isolation and limits). docs/grading.md has the table of every file.
"""

import sys as _sys

# jsonschema (under nbformat, which every grading process imports) loads its optional IRI-format
# checker, rfc3987_syntax, when installed: it builds a grammar at import, about 1 s of CPU in
# every process (4 s on a busy 2-core machine). No schema the autograder validates has an IRI
# format, so it is not loaded here (jsonschema then leaves that format unchecked).
_sys.modules.setdefault("rfc3987_syntax", None)
