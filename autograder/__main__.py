"""Command line of the autograder: `python -m autograder <command> [options]`.

Commands: selfcheck, release, autograde, feedback, grades, submit, workspace, demo, translations.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from autograder.course import Course


def _course(args) -> Course:
    """--course (else the checkout's grading/) and --assignments-dir (else assignments/ beside the course)."""
    default = Course()
    root = Path(args.course).resolve() if args.course else default.root
    if args.assignments_dir:
        assignments = Path(args.assignments_dir).resolve()
    elif args.course:
        assignments = root.parent / "assignments"
    else:
        assignments = default.assignments_dir
    return Course(root=root, assignments_dir=assignments)


def cmd_selfcheck(args) -> int:
    from autograder.selfcheck import selfcheck

    course = _course(args)
    ids = course.select(args.assignment)
    if not ids:
        print(f"no assignments in {course.root / 'source'}")
        return 1
    ok = True
    for aid in ids:
        ok &= selfcheck(course, aid, execute=not args.no_execute)
    return 0 if ok else 1


def cmd_release(args) -> int:
    from autograder.release import release

    course = _course(args)
    ids = course.select(args.assignment)
    if not ids:
        print(f"no assignments in {course.root / 'source'}")
        return 1
    release(course, ids, force=args.force)
    return 0


def _limits(args):
    from autograder.sandbox.limits import Limits

    for option in ("memory_mb", "processes", "disk_mb", "output_mb", "cell_timeout", "submission_timeout",
                   "blas_threads"):
        value = getattr(args, option)
        if not value > 0:
            raise ValueError(f"--{option.replace('_', '-')} must be a positive number, got {value:g}")
    return Limits(memory_bytes=int(args.memory_mb * 2**20), processes=args.processes,
                  disk_bytes=int(args.disk_mb * 2**20), output_bytes=int(args.output_mb * 2**20),
                  cell_timeout=args.cell_timeout, submission_timeout=args.submission_timeout,
                  blas_threads=args.blas_threads)


def cmd_autograde(args) -> int:
    from autograder.autograde import autograde
    from autograder.sandbox.bwrap import SandboxUnavailable

    course = _course(args)
    ids = course.select(args.assignment)
    try:
        summary = autograde(course, ids, student=args.student, zips=Path(args.zips) if args.zips else None,
                            workers=args.workers, scheduler=args.scheduler, unsandboxed=args.unsandboxed,
                            limits=_limits(args), force=args.force, scores_only=args.scores_only,
                            feedback_only=args.feedback_only)
    except SandboxUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print("\n".join(summary.lines()))
    return 0


def cmd_feedback(args) -> int:
    from autograder.feedback import feedback

    course = _course(args)
    failed: list[str] = []
    feedback(course, course.select(args.assignment), student=args.student, failed=failed)
    return 1 if failed else 0


def cmd_grades(args) -> int:
    from autograder.grades import grades

    course = _course(args)
    failed: list[str] = []
    grades(course, course.select(args.assignment), student=args.student,
           out=Path(args.out) if args.out else None, failed=failed)
    return 1 if failed else 0


def cmd_submit(args) -> int:
    from autograder.submit import submit

    if not args.assignment:
        print("error: say which notebook: make submit ASSIGNMENT=01_knn", file=sys.stderr)
        return 2
    submit(_course(args), args.assignment, student=args.student, validate=not args.no_validate,
           lang=args.lang)
    return 0


def cmd_workspace(args) -> int:
    from autograder.workspace import seed

    seed(_course(args), lang=args.lang)
    return 0


def cmd_translations(args) -> int:
    from autograder.translations import run

    return run(_course(args), args.action, args.assignment, cell_id=args.cell, file=args.file, out=args.out)


def cmd_demo(args) -> int:
    from autograder.demo import demo

    course = _course(args)
    return demo(course.select(args.assignment), workers=args.workers, course=course)


def build_parser() -> argparse.ArgumentParser:
    from autograder.sandbox.limits import Limits

    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--assignment", help="one assignment id, e.g. 01_knn (default: all)")
        p.add_argument("--course", help="course folder (default: $AUTOGRADER_COURSE, else grading/ of this checkout)")
        p.add_argument("--assignments-dir", help="released notebooks folder (default: assignments/ beside the course folder)")
        p.set_defaults(func=func)
        return p

    p = add("selfcheck", cmd_selfcheck,
            "check a source notebook: Checks for every test cell, runs top to bottom, solutions pass")
    p.add_argument("--no-execute", action="store_true", help="skip executing the notebook")
    p = add("autograde", cmd_autograde, "grade collected submissions (submitted/ and --zips) into the gradebook")
    p.add_argument("--student", help="only this student")
    p.add_argument("--zips", help="a folder of <student>_<assignment>.zip hand-ins")
    p.add_argument("--workers", type=int, default=1, help="grading processes on this machine")
    p.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--unsandboxed", action="store_true", help="allow grading without bubblewrap (unsafe)")
    p.add_argument("--force", action="store_true",
                   help="score and run again submissions that did not change")
    phase = p.add_mutually_exclusive_group()
    phase.add_argument("--scores-only", action="store_true",
                       help="only the scores (verification); the notebook runs for feedback wait for a later run")
    phase.add_argument("--feedback-only", action="store_true",
                       help="only the notebook runs for feedback, of submissions already scored")
    default = Limits()
    p.add_argument("--memory-mb", type=float, default=default.memory_bytes / 2**20,
                   help="memory of a sandbox's processes together, MiB (default %(default)g)")
    p.add_argument("--processes", type=int, default=default.processes,
                   help="processes a sandbox may run at once (default %(default)d)")
    p.add_argument("--disk-mb", type=float, default=default.disk_bytes / 2**20,
                   help="disk a sandbox may fill, its working folder and /tmp together, MiB (default %(default)g)")
    p.add_argument("--output-mb", type=float, default=default.output_bytes / 2**20,
                   help="notebook output kept per submission, MiB; the rest is dropped with a note "
                        "(default %(default)g)")
    p.add_argument("--cell-timeout", type=float, default=default.cell_timeout,
                   help="seconds per notebook cell (default %(default)g)")
    p.add_argument("--submission-timeout", type=float, default=default.submission_timeout,
                   help="seconds per submission (default %(default)g)")
    p.add_argument("--blas-threads", type=int, default=default.blas_threads,
                   help="BLAS threads of each kernel and verifier (default %(default)d: one submission per core)")
    for name, func, text in (("feedback", cmd_feedback, "write one HTML feedback report per student and assignment"),
                             ("grades", cmd_grades, "export grading/grades.csv and print the grade table")):
        p = add(name, func, text)
        p.add_argument("--student", help="only this student")
        if name == "grades":
            p.add_argument("--out", help="CSV path (default grading/grades.csv)")
    p = add("submit", cmd_submit, "validate assignments/<id>.ipynb and zip it for hand-in")
    p.add_argument("--student", help="your student id (default: git user.name or $USER)")
    p.add_argument("--no-validate", action="store_true", help="skip running the notebook")
    p.add_argument("--lang", help="the edition you worked in: en (work/<id>.ipynb) or zh "
                                  "(work/zh/<id>.ipynb); default: the one you edited")
    p = add("demo", cmd_demo, "release, grade three simulated students per assignment, print grades")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="grading processes (default: this machine's cores)")
    p = add("release", cmd_release,
            "generate the student notebooks assignments/<id>.ipynb (nbgrader generate_assignment)")
    p.add_argument("--force", action="store_true",
                   help="replace notebooks edited since their release (backed up first)")
    from autograder.translations import ACTIONS

    p = add("translations", cmd_translations,
            "the Chinese text of the source notebooks: check it, read or write one cell's, review, preview")
    p.add_argument("action", nargs="?", default="check", choices=ACTIONS,
                   help="check (default): what is missing, stale or wrong; get/set/stamp: one cell "
                        "(--cell); side-by-side: English and Chinese for review; preview: the Chinese "
                        "edition as HTML")
    p.add_argument("--cell", help="a cell id (side-by-side lists them)")
    p.add_argument("--file", help="set: the Chinese markdown, a UTF-8 file or - for stdin")
    p.add_argument("--out", help="side-by-side: a file to write; preview: a folder (default build/zh-preview/)")
    p = add("workspace", cmd_workspace,
            "copy assignments/<id>.ipynb missing from work/ (the students' own copies; never overwrites)")
    p.add_argument("--lang", default="en", help="en (default), or zh: the Chinese edition, "
                                                "assignments/zh/ into work/zh/")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
