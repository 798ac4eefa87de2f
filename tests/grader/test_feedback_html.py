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
