# nbgrader configuration added for instructors by `make formgrader` (JUPYTER_CONFIG_DIR is this
# folder); the course's own settings are grading/nbgrader_config.py, read from the working folder.
# The course hands work in as zips (`make submit`), not through an nbgrader exchange; the
# exchange folder nbgrader insists on is kept inside the course folder `make formgrader` runs
# in (grading/exchange/, git-ignored), so the formgrader finds a writable one instead of
# reporting /usr/local/share/nbgrader/exchange.
import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.Exchange.root = os.path.abspath("exchange")
os.makedirs(c.Exchange.root, exist_ok=True)
