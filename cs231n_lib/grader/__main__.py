"""Command line of the autograder: `python -m cs231n_lib.grader <command> [options]`.

Commands: selfcheck, release, autograde, feedback, grades, submit, demo.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cs231n_lib.grader.course import Course


def _course(args) -> Course:
    root = Path(args.course).resolve() if args.course else Course().root
    assignments = Path(args.assignments_dir).resolve() if args.assignments_dir else Course().assignments_dir
    return Course(root=root, assignments_dir=assignments)


def cmd_selfcheck(args) -> int:
    from cs231n_lib.grader.selfcheck import selfcheck

    course = _course(args)
    ids = course.select(args.assignment)
    if not ids:
        print(f"no assignments in {course.root / 'source'}")
        return 1
    ok = True
    for aid in ids:
        ok &= selfcheck(course, aid, execute=not args.no_execute)
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cs231n_lib.grader", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--assignment", help="one assignment id, e.g. 01_knn (default: all)")
        p.add_argument("--course", help="course folder (default: grading/)")
        p.add_argument("--assignments-dir", help="released notebooks folder (default: assignments/)")
        p.set_defaults(func=func)
        return p

    p = add("selfcheck", cmd_selfcheck,
            "check a source notebook: Checks for every test cell, runs top to bottom, solutions pass")
    p.add_argument("--no-execute", action="store_true", help="skip executing the notebook")
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
