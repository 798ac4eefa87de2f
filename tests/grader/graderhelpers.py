"""What the grader tests share: the fixture course (grader_fixtures/) and its one assignment.

`grader_fixtures/course/` is a one-assignment nbgrader course (`00_fixture`: an affine layer
and a label count) with its verify spec; `grader_fixtures/adversarial/` holds one submission
per trick (see docs/grading.md). Tests grade copies, never the fixtures themselves.
"""

import shutil
from pathlib import Path

from autograder.course import Course

FIXTURES = Path(__file__).resolve().parent / "grader_fixtures"
REPO = Path(__file__).resolve().parents[2]
AID = "00_fixture"


# The Chinese of the fixture notebook's markdown cells, by cell id (docs/translating.md).
FIXTURE_ZH = {
    "e029b2fc": "# 测试用作业\n\n供评分程序自身测试使用的一份小作业。",
    "12198ddb": "## 仿射层\n\n编写 `affine_forward(x, w, b)`，返回 `(out, cache)`。",
    "575acde5": "## 统计标签\n\n编写 `count_labels(y, num_classes)`。",
    "42a4a1f5": "**问题。** `affine_forward` 为什么要改变 `x` 的形状？",
}


def translate_course(course: Course, folder: Path) -> Course:
    """Give the fixture course's notebook its Chinese text (FIXTURE_ZH) and list it as translated in
    folder/i18n/ (with the repository's glossary), so that it is released in both editions."""
    import nbformat

    from autograder.i18n.source import find_cell, set_translation

    path = course.source_notebook(AID)
    nb = nbformat.read(str(path), as_version=4)
    for cell_id, text in FIXTURE_ZH.items():
        set_translation(find_cell(nb, cell_id), text)
    nbformat.write(nb, str(path))
    i18n = folder / "i18n"
    shutil.copytree(REPO / "i18n", i18n, dirs_exist_ok=True)
    (i18n / "translated.txt").write_text(f"{AID}\n")
    return course


def copy_course(folder: Path) -> Course:
    """A fresh copy of the fixture course in folder/grading, released into folder/assignments."""
    shutil.copytree(FIXTURES / "course", folder / "grading")
    return Course(root=folder / "grading", assignments_dir=folder / "assignments")
