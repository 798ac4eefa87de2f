"""The feedback page's HTML: ordinary tags kept, scripts and unknown tags escaped, math as MathML."""

import nbformat

from autograder.feedback_html import clean_html, exporter, math_to_mathml
from autograder.grades import format_table


def test_clean_html_keeps_document_tags_and_escapes_scripts():
    html = "<h1>Feedback</h1><p><b>3</b> / 4</p><table><tr><th>test</th></tr></table>"
    assert clean_html(html) == html.replace("<table><tr>", "<table><tbody><tr>").replace(
        "</tr></table>", "</tr></tbody></table>")
    assert "<script" not in clean_html("<script>alert(1)</script><img src=x onerror=alert(1)>")
    assert 'onerror' not in clean_html("<img src=x onerror=alert(1)>")


def test_math_becomes_mathml_but_code_is_left_alone():
    out = math_to_mathml("<p>Some $k$ and <code>$x$</code></p><p>$$\\sum_p |x^p|$$</p>")
    assert out.count("<math") == 2 and 'display="block"' in out and "<code>$x$</code>" in out
    assert "<munder><mo>&#x02211;</mo>" in out  # the sum sign


def test_the_page_renders_markdown_as_html_and_loads_no_script():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("<h1>Feedback</h1><table><tr><th>a</th></tr></table>"),
                nbformat.v4.new_markdown_cell("## Part\n\nThe distance $d_2$ of **two** images.")]
    body, _ = exporter().from_notebook_node(nb)
    assert "&lt;h1" not in body and "&lt;th" not in body and "&lt;h2" not in body
    assert "<math" in body and "<script" not in body


def test_grade_table_shows_written_answers_pending():
    row = {"student": "ada", "assignment": "01_knn", "autograded_score": 8.0, "autograded_max": 16.0,
           "written_score": 1.5, "written_max": 9.0, "written_pending": 3, "status": "graded",
           "reason": ""}
    assert "1.5/9 (3 pending)" in format_table([row])


def test_a_malformed_output_is_dropped_with_a_note_and_the_page_is_written(course):
    import json

    from autograder.feedback import feedback
    from autograder.notebook import read_notebook
    from autograder.pipeline.gradebook import result_path

    aid = "00_fixture"
    nb = read_notebook(course.source_notebook(aid))
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="kept line\n")]
    text = json.loads(nbformat.writes(nb))
    cell = next(c for c in text["cells"] if c.get("id") == code.id)
    cell["outputs"].append({"output_type": "stream", "name": "stdout", "text": 5})  # a student's bad JSON
    path = result_path(course, "ada", aid)  # the grader's run of it, kept for its feedback page
    path.parent.mkdir(parents=True)
    (path.parent / f"{aid}.ipynb").write_text(json.dumps(text))
    path.write_text(json.dumps({"student": "ada", "assignment": aid, "hash": "h1", "status": "graded",
                                "reason": "", "scores": {"test_count": 1.0}, "max_scores": {"test_count": 1},
                                "manual_max": {}, "checks": {}, "notes": [],
                                "execution": {"hash": "h1", "state": "done", "reason": "", "events": [],
                                              "infrastructure": False}}))
    failed = []
    feedback(course, [aid], log=lambda *_: None, failed=failed)
    assert failed == []
    page = (course.root / "feedback" / "ada" / aid / f"{aid}.html").read_text()
    assert "broke the notebook format" in page and "kept line" in page
