"""Shared pytest configuration, and the batch that runs beside the suite.

The instructor self-check (tests/grader/test_course.py::test_instructor_selfcheck) grades every
notebook of the course in subprocesses, about five minutes on both cores. When it is selected,
its batch (tests/grader/selfcheck_batch.py) starts with the session and the test itself runs
last and checks the batch's results. Meanwhile the tests that run in the pytest process alone
(tests/lib/, tests/notebooks/ and the top-level files: one core) run first, on the core the
batch leaves; the browser and grader tests, whose own batches and kernels use both cores, run
after them (each group keeps its order).

The pytest process itself uses one BLAS thread, as the grader's kernels do (Limits.blas_threads):
a second thread made the lessons' trainings only about 12 % faster for about 60 % more CPU time
(tests/lib/test_lessons.py on the embedded data: 104 s with two threads, 118 s with one), and
its spinning threads slow everything else on a busy machine. The fast layers' tests that split
work over threads set their thread count themselves (tests/lib/test_fast_layers.py).
"""

import os
from pathlib import Path

import matplotlib
import pytest
from threadpoolctl import threadpool_limits

# Tests never open windows.
matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")
# One BLAS thread in this process (see above); subprocesses are not affected.
threadpool_limits(limits=1, user_api="blas")

SELFCHECK = "test_instructor_selfcheck"


# Test folders whose tests start subprocesses on both cores: they run after the others.
BOTH_CORES = ("browser", "grader")


def pytest_collection_modifyitems(config, items):
    """The in-process tests first, then those of BOTH_CORES, the instructor self-check last."""
    tests = Path(__file__).resolve().parent

    def group(item):
        if item.originalname == SELFCHECK:
            return 2
        parts = Path(str(item.path)).resolve().relative_to(tests).parts
        return 1 if len(parts) > 1 and parts[0] in BOTH_CORES else 0

    items[:] = sorted(items, key=group)


@pytest.fixture(scope="session")
def selfcheck_batch(tmp_path_factory):
    """The instructor self-check's batch, started (see the module's docstring); stopped if the
    session ends before the test waited for it."""
    from selfcheck_batch import SelfcheckBatch

    batch = SelfcheckBatch(tmp_path_factory.mktemp("instructor_selfcheck")).start()
    yield batch
    batch.stop()


@pytest.fixture(scope="session", autouse=True)
def _start_the_selfcheck_batch(request):
    """Start the self-check's batch before the first test when the self-check is selected."""
    if any(item.originalname == SELFCHECK for item in request.session.items):
        request.getfixturevalue("selfcheck_batch")
