"""Shared pytest configuration, and the batch that runs beside the suite.

The instructor self-check (tests/grader/test_course.py::test_instructor_selfcheck) grades every
notebook of the course in subprocesses for about five minutes. When it is selected, its batch
(tests/grader/selfcheck_batch.py) starts with the session, on the core the pytest process
leaves free most of the time, and the test itself runs last and checks the batch's results.

The pytest process itself uses one BLAS thread, as the grader's kernels do (Limits.blas_threads):
a second thread made the lessons' trainings only about 12 % faster for about 60 % more CPU time
(tests/lib/test_lessons.py on the embedded data: 104 s with two threads, 118 s with one), and
its spinning threads slow everything else on a busy machine. The fast layers' tests that split
work over threads set their thread count themselves (tests/lib/test_fast_layers.py).
"""

import os

import matplotlib
import pytest
from threadpoolctl import threadpool_limits

# Tests never open windows.
matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")
# One BLAS thread in this process (see above); subprocesses are not affected.
threadpool_limits(limits=1, user_api="blas")

SELFCHECK = "test_instructor_selfcheck"


def pytest_collection_modifyitems(config, items):
    """Run the instructor self-check last (the rest keeps its order): its batch runs meanwhile."""
    items[:] = sorted(items, key=lambda item: item.originalname == SELFCHECK)


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
