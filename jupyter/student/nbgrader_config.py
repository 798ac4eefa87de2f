# nbgrader configuration for students (`make lab` sets JUPYTER_CONFIG_DIR to this folder).
# Students hand in with `make submit` (a zip), not through an nbgrader exchange, so nothing
# needs configuring. nbgrader's Validate button is not in the students' lab: it printed the source
# of every failing cell (171 lines for one notebook), and its kernel cannot run the grader's own
# checks; `make submit` gives one line per exercise, as the grader sees it.
c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file
