# nbgrader configuration for students (`make lab` sets JUPYTER_CONFIG_DIR to this folder).
# Students hand in with `make submit` (a zip), not through an nbgrader exchange, so nothing
# needs configuring: the file exists so that nbgrader's Validate button finds a configuration.
c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file
