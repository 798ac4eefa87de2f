"""Tests of autograder/i18n/extract.py: which texts of a notebook's test cells go to the notebooks
catalogue (names, hints, check_true's messages; literals and f-string templates; never hidden
tests, bare code names or a template of fields only), and pybabel's extraction with the course's
mapping file (what `make messages` runs)."""

import io
from pathlib import Path

import nbformat
import pytest

from autograder.i18n.extract import code_messages, extract_notebook, notebook_messages

REPO = Path(__file__).resolve().parents[2]

CELL = '''\
%matplotlib inline
check_close("L2 distance", d, want, 1e-7, "square the differences")
check_equal("predicted labels", got, want, hint="smallest label wins")
check_true("no nan", ok, "clamp at 0 before np.sqrt")
checks.check_shape(name="shape of dists", got=d, expected_shape=(2, 4))
check_gradient(f"gradient, reg={reg:.1f}", f, W, dW, hint=f"config is {config['t']!r}")
check_rule("compute_distances_two_loops", [compute_distances_two_loops])
check_close(f"{desc}", a, b)
check_close(name_from_a_variable, a, b, hint=HINT)
print("not a check", hint="not a check's hint either")
if True:
    ### BEGIN HIDDEN TESTS
    check_close("hidden: never shown to students", a, b)
    ### END HIDDEN TESTS
'''


def test_the_texts_of_a_test_cell():
    assert [text for _, text in code_messages(CELL)] == [
        "L2 distance", "square the differences",
        "predicted labels", "smallest label wins",
        "no nan", "clamp at 0 before np.sqrt",
        "shape of dists",
        "gradient, reg={reg:.1f}", "config is {config['t']!r}",
    ]
    assert [line for line, _ in code_messages(CELL)][:3] == [2, 2, 3]  # the cell's own lines


def test_the_hints_of_a_mistakes_dict_written_there_or_in_an_earlier_cell():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('SQUARED = {"squared distances: take np.sqrt": lambda e: e ** 2}'),
        nbformat.v4.new_code_cell('check_close("dists", d, want, mistakes=SQUARED)\n'
                                  'check_frobenius("dists again", d, want, 1e-6, None, {"a factor 2 missing": 0.5})\n'
                                  'check_close("no dict", d, want, mistakes=UNKNOWN)'),
    ])
    assert notebook_messages(nb) == ["squared distances: take np.sqrt", "dists again",
                                     "a factor 2 missing", "no dict"]


def test_magics_and_a_line_that_starts_with_the_modulo_operator():
    source = ('%matplotlib inline\n!ls\nprint("%d items"\n      % 3)\n'
              'check_close("the %d-th entry" % 2, a, b, hint="read it")')
    assert [text for _, text in code_messages(source)] == ["read it"]


def test_not_python_is_an_error_naming_the_cell():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("check_close('x',", id="c1")])
    with pytest.raises(ValueError, match="code cell c1 is not Python"):
        notebook_messages(nb)


def test_a_notebook_s_texts_in_order_each_once():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell('check_close("markdown is not code", a, b)'),
        nbformat.v4.new_code_cell('check_close("the first", a, b)\ncheck_close("the second", a, b)'),
        nbformat.v4.new_code_cell('check_close("the first", a, b)\ncheck_rule("adam", [adam])'),
    ])
    assert notebook_messages(nb) == ["the first", "the second"]  # a function's name is code


def test_pybabel_extracts_the_source_notebooks_with_the_course_mapping(tmp_path):
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with open(REPO / "i18n" / "babel-notebooks.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    folder = tmp_path / "source" / "01_demo"
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A demo"),
        nbformat.v4.new_code_cell('x = 1\ncheck_close(f"predict_labels with k={k}", a, b, hint="a tie: smallest wins")')])
    nbformat.write(nb, str(folder / "01_demo.ipynb"))
    found = [(text, comments) for _, _, text, comments, _ in
             extract_from_dir(str(tmp_path / "source"), method_map, options_map)]
    assert found == [("predict_labels with k={k}", [
        "an f-string: keep each {...} exactly; the check fills it with the value printed"]),
        ("a tie: smallest wins", [])]
    # the method reads a file object as pybabel hands it over (bytes)
    data = nbformat.writes(nb).encode()
    assert [t for _, _, t, _ in extract_notebook(io.BytesIO(data), {}, [], {})] == [
        "predict_labels with k={k}", "a tie: smallest wins"]
