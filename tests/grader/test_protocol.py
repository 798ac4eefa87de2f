"""The verifier's protocol pipe is read in bounded pieces: student code that writes a huge line
to it costs the grader no memory (and that student the checks it disturbed)."""


import nbformat
import pytest
from graderhelpers import AID, FIXTURES

from autograder.sandbox.bwrap import Sandbox, bwrap_status
from autograder.sandbox.limits import Limits
from autograder.verify.runner import run_verification
from autograder.verify.spec import load_spec

SOURCE = FIXTURES / "course" / "source" / AID / f"{AID}.ipynb"
SPEC = FIXTURES / "course" / "verify" / f"{AID}.py"
LINE = 32 * 2**20

# Writes one 32 MiB line to every descriptor it can, the protocol's among them.
FLOOD = ("import os\n"
         f"for fd in range(3, 32):\n"
         "    try:\n"
         f"        os.write(fd, b'x' * {LINE} + b'\\n')\n"
         "    except OSError:\n"
         "        pass\n")

pytestmark = pytest.mark.slow


def _student(extra: str) -> nbformat.NotebookNode:
    nb = nbformat.read(str(FIXTURES / "adversarial" / "honest.ipynb"), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex_count":
            cell.source += "\n" + extra
    return nb


def test_a_huge_line_on_the_protocol_pipe_is_never_held_in_memory(tmp_path):
    import tracemalloc

    sandbox = Sandbox(enabled=bwrap_status() is None, limits=Limits(disk_bytes=256 * 2**20))
    # the same notebook without the flood passes (and the imports are done before measuring)
    clean = run_verification(AID, SOURCE, _student(""), load_spec(SPEC), sandbox, workdir=tmp_path,
                             build_timeout=60)
    assert all(r.passed for r in clean.results.values()), clean.results

    tracemalloc.start()
    try:
        got = run_verification(AID, SOURCE, _student(FLOOD), load_spec(SPEC), sandbox, workdir=tmp_path,
                               build_timeout=60)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 6 * 2**20, f"the grader held {peak / 2**20:.0f} MiB while a {LINE // 2**20} MiB line came in"
    assert sorted(got.results) == ["test_affine", "test_count"]
    assert not any(r.passed for r in got.results.values())   # the student broke its own protocol
