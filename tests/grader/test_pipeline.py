"""The grading pipeline on the fixture assignment: release, the adversarial corpus, resume, zips, reports, Dask."""

import json
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
from grader_fixtures.make_fixture import ADDED_AT_SUBMISSION

from autograder.batch import autograde
from autograder.course import Course
from autograder.feedback import feedback
from autograder.grades import grade_rows, grades
from autograder.release import find_leaks, release, released_sources
from autograder.sandbox import Limits, bwrap_status

FIXTURES = Path(__file__).resolve().parent / "grader_fixtures"
CORPUS = FIXTURES / "adversarial"
AID = "00_fixture"
LIMITS = Limits(memory_bytes=3 * 2**30, cell_timeout=10, submission_timeout=300)
UNSANDBOXED = bwrap_status() is not None

pytestmark = pytest.mark.slow


def _course(tmp_path: Path) -> Course:
    shutil.copytree(FIXTURES / "course", tmp_path / "grading")
    return Course(root=tmp_path / "grading", assignments_dir=tmp_path / "assignments")


def _submit(course: Course, student: str, nb_path: Path) -> None:
    """Put a corpus notebook in place as student's submission, with its submission-time trick."""
    target = course.root / "submitted" / student / AID / f"{AID}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    trick = ADDED_AT_SUBMISSION.get(nb_path.stem)
    if trick is None:
        shutil.copy(nb_path, target)
    else:
        nbformat.write(trick(nbformat.read(str(nb_path), as_version=4)), str(target))


@pytest.fixture(scope="module")
def graded_corpus(tmp_path_factory):
    """The whole adversarial corpus graded once, with two workers."""
    tmp = tmp_path_factory.mktemp("corpus")
    course = _course(tmp)
    release(course, [AID], log=lambda *_: None)
    for path in sorted(CORPUS.glob("*.ipynb")):
        _submit(course, path.stem.replace("_", "-"), path)
    summary = autograde(course, [AID], workers=2, unsandboxed=UNSANDBOXED, limits=LIMITS, progress=False)
    return course, summary


def test_release_is_deterministic_and_clean(tmp_path):
    course = _course(tmp_path)
    release(course, [AID], log=lambda *_: None)
    first = course.released(AID).read_text()
    release(course, [AID], log=lambda *_: None)
    assert course.released(AID).read_text() == first
    assert "Generated file" in first and f"source/{AID}/{AID}.ipynb" in first
    source = nbformat.read(str(course.source_notebook(AID)), as_version=4)
    assert find_leaks(source, released_sources(first)) == []
    assert "count[label] += 1" not in first and "x2 @ w2" not in first


def test_release_refuses_a_test_cell_without_check(tmp_path):
    course = _course(tmp_path)
    spec = course.spec(AID)
    spec.write_text(spec.read_text().replace('"test_count": Check(', '"test_other": Check('))
    with pytest.raises(ValueError, match="test_count"):
        release(course, [AID], log=lambda *_: None)


@pytest.mark.parametrize("name", sorted(json.loads((CORPUS / "expected.json").read_text())))
def test_adversarial_corpus(graded_corpus, name):
    course, summary = graded_corpus
    expected = json.loads((CORPUS / "expected.json").read_text())[name]["expected"]
    result = json.loads((course.root / "autograded" / name.replace("_", "-") / AID / "result.json").read_text())
    assert result["scores"] == {k: float(v) for k, v in expected.items()}, (name, result["checks"], result["reason"])


def test_prefilled_outputs_are_submitted_with_their_fake_pass(graded_corpus):
    # The committed notebook has no outputs; the trick is added when it is submitted.
    course, _ = graded_corpus
    submitted = course.root / "submitted" / "prefilled-outputs" / AID / f"{AID}.ipynb"
    committed, shipped = (nbformat.read(str(p), as_version=4) for p in (CORPUS / "prefilled_outputs.ipynb", submitted))
    assert [c.outputs for c in committed.cells if c.cell_type == "code" and c.outputs] == []
    assert [o.text for c in shipped.cells if c.cell_type == "code" for o in c.outputs] == ["PASS affine_forward\n"]


def test_corpus_batch_finishes_with_a_row_each(graded_corpus):
    course, summary = graded_corpus
    header, rows = grade_rows(course, [AID])
    assert len(rows) == len(list(CORPUS.glob("*.ipynb")))
    assert len(summary.graded) == len(rows) and not summary.failed
    reasons = {r["student"]: r["reason"] for r in rows}
    assert "kernel died" in reasons["kernel-exit"]
    assert "test_affine" in header and "q_reshape" in header


def test_gradebook_scores_and_manual_flags(graded_corpus):
    from nbgrader.api import Gradebook

    course, _ = graded_corpus
    with Gradebook(course.db_url) as gb:
        sub = gb.find_submission(AID, "honest")
        assert sub.score == pytest.approx(3.0) and sub.max_score == pytest.approx(4.0)
        assert sub.needs_manual_grade
        nb = gb.find_submission_notebook(AID, AID, "call-reference")
        scores = {g.name: g.auto_score for g in nb.grades}
        assert scores["test_affine"] == 0 and scores["test_count"] == 1


def test_resume_skips_unchanged_and_regrade_is_identical(graded_corpus):
    course, _ = graded_corpus
    before = json.loads((course.root / "autograded" / "honest" / AID / "result.json").read_text())
    summary = autograde(course, [AID], unsandboxed=UNSANDBOXED, limits=LIMITS, progress=False)
    assert summary.skipped == len(list(CORPUS.glob("*.ipynb"))) and not summary.graded
    summary = autograde(course, [AID], student="honest", force=True, unsandboxed=UNSANDBOXED,
                        limits=LIMITS, progress=False)
    after = json.loads((course.root / "autograded" / "honest" / AID / "result.json").read_text())
    assert len(summary.graded) == 1
    assert after["scores"] == before["scores"] and after["checks"].keys() == before["checks"].keys()
    assert [c["message"] for c in after["checks"].values()] == [c["message"] for c in before["checks"].values()]


def test_feedback_and_grades_csv(graded_corpus, tmp_path):
    course, _ = graded_corpus
    paths = feedback(course, [AID], student="honest", log=lambda *_: None)
    assert paths == [course.root / "feedback" / "honest" / AID / f"{AID}.html"]
    text = paths[0].read_text()
    assert "Autograded score: 3 / 3" in text and "hidden tests are not shown" in text
    assert "x2 @ w2" not in text
    out = grades(course, [AID], out=tmp_path / "g.csv", log=lambda *_: None)
    lines = out.read_text().splitlines()
    assert lines[0].startswith("student,assignment,score,max_score")
    assert any(line.startswith("honest,00_fixture,3.0,4.0") for line in lines)
    per_student = (tmp_path / "g_by_student.csv").read_text().splitlines()
    assert per_student[0] == "student,00_fixture,total,max_total,needs_manual_grade"
    assert "honest,3.0,3.0,4.0,True" in per_student          # the written answer awaits a grader
    assert len(per_student) == len(lines)                    # one assignment: a row per student


def test_grades_by_student_and_atomic_writes(tmp_path, monkeypatch):
    from autograder import grades as reports

    rows = [{"student": s, "assignment": a, "score": sc, "max_score": mx, "needs_manual_grade": m}
            for s, a, sc, mx, m in [("bo", "01_knn", 9.0, 10.0, False), ("al", "01_knn", 7.5, 10.0, False),
                                     ("al", "02_svm", 4.0, 6.0, True)]]
    header, by_student = reports.student_rows(rows, ["01_knn", "02_svm", "03_softmax"])
    assert header == ["student", "01_knn", "02_svm", "total", "max_total", "needs_manual_grade"]
    assert by_student == [
        {"student": "al", "01_knn": 7.5, "02_svm": 4.0, "total": 11.5, "max_total": 16.0,
         "needs_manual_grade": True},
        {"student": "bo", "01_knn": 9.0, "02_svm": "", "total": 9.0, "max_total": 16.0,
         "needs_manual_grade": False}]

    # A write that fails half way leaves the previous file as it was, and no temporary file.
    path = tmp_path / "grades.csv"
    reports._write_csv(path, header, by_student)
    before = path.read_bytes()

    def fail(self, rows):
        raise OSError("disk full")

    monkeypatch.setattr(reports.csv.DictWriter, "writerows", fail)
    with pytest.raises(OSError, match="disk full"):
        reports._write_csv(path, header, by_student[:1])
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv"]


def test_zips_are_graded_and_bad_zips_rejected(tmp_path):
    course = _course(tmp_path)
    zips = tmp_path / "zips"
    zips.mkdir()
    with zipfile.ZipFile(zips / f"carol_{AID}.zip", "w") as zf:
        zf.write(CORPUS / "honest.ipynb", arcname=f"{AID}.ipynb")
    with zipfile.ZipFile(zips / f"mallory_{AID}.zip", "w") as zf:
        zf.writestr(f"../../{AID}.ipynb", "{}")
    with zipfile.ZipFile(zips / f"bomber_{AID}.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{AID}.ipynb", b"\0" * (30 * 2**20))
    (zips / "noname.zip").write_bytes(b"junk")
    summary = autograde(course, [AID], zips=zips, workers=2, unsandboxed=UNSANDBOXED, limits=LIMITS,
                        progress=False)
    failed = {s: why for s, _, why in summary.failed}
    assert "path traversal" in failed["mallory"]
    assert "zip bomb" in failed["bomber"] or "bytes" in failed["bomber"]
    assert any("noname.zip" in p for p in summary.problems)
    assert [g[:3] for g in summary.graded] == [("carol", AID, 3.0)]
    assert (course.root / "submitted" / "carol" / AID / f"{AID}.ipynb").exists()
    assert not (tmp_path / f"{AID}.ipynb").exists()


def test_dask_local_cluster(tmp_path):
    from dask.distributed import LocalCluster

    course = _course(tmp_path)
    _submit(course, "honest", CORPUS / "honest.ipynb")
    _submit(course, "blank", FIXTURES / "released_00_fixture.ipynb")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        summary = autograde(course, [AID], scheduler=cluster.scheduler_address, unsandboxed=UNSANDBOXED,
                            limits=LIMITS, progress=False)
    scores = {s: got for s, _, got, _ in summary.graded}
    assert scores == {"honest": 3.0, "blank": 0.0}


def test_submit_warns_and_zips(tmp_path, capfd):
    from autograder.submit import submit

    course = _course(tmp_path)
    release(course, [AID], log=lambda *_: None)
    logged = []
    capfd.readouterr()
    zipped = submit(course, AID, student="Ada Lovelace", out_dir=tmp_path / "out", log=logged.append)
    # Nothing but the messages above reaches the terminal (ipykernel's warning about local
    # TCP, for one, would read to a student as a problem with their work).
    terminal = capfd.readouterr()
    assert "IPKernelApp" not in terminal.out + terminal.err, terminal
    assert zipped == tmp_path / "out" / f"ada_lovelace_{AID}.zip"
    with zipfile.ZipFile(zipped) as zf:
        assert zf.namelist() == [f"{AID}.ipynb"]
        assert zf.read(f"{AID}.ipynb") == course.released(AID).read_bytes()
    failing = [line for line in logged if line.startswith("WARNING: failing test cell")]
    assert len(failing) == 2 and all("NotImplementedError" in line for line in failing), logged
    assert [line.split()[4] for line in failing] == ["test_affine", "test_count"], failing
    assert not any("\x1b[" in line for line in logged), "terminal colour codes in the messages"
    assert [line for line in logged if "written question" in line] == [
        "WARNING: written question q_reshape is unanswered (still reads YOUR ANSWER HERE)"]

    # The honest submission, its written answer filled in: no warnings.
    honest = nbformat.read(CORPUS / "honest.ipynb", as_version=4)
    for cell in honest.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "q_reshape":
            cell.source = "To flatten each example into a row of D numbers."
    nbformat.write(honest, str(course.released(AID)))
    logged.clear()
    submit(course, AID, student="ada", out_dir=tmp_path / "out", log=logged.append)
    assert logged[0] == "All public tests pass." and not any(line.startswith("WARNING") for line in logged)

    with pytest.raises(ValueError, match="ASSIGNMENT=99_nothing"):
        submit(course, "99_nothing", student="ada", out_dir=tmp_path / "out")


def test_hidden_tests_never_reach_the_students_kernel(graded_corpus):
    # peek_hidden prints the source of every cell run after its exercise cell.
    course, _ = graded_corpus
    hidden = ["x2 = rng.standard_normal((7, 3))", "count_labels(np.array([3, 3, 3]), 5)"]
    executed = (course.root / "autograded" / "peek-hidden" / AID / f"{AID}.ipynb").read_text()
    assert "SPY" in executed and "PASS count_labels" in executed   # the spy ran, later cells ran
    assert not [h for h in hidden if h in executed]
    text = feedback(course, [AID], student="peek-hidden", log=lambda *_: None)[0].read_text()
    assert "SPY" in text and not [h for h in hidden if h in text]
