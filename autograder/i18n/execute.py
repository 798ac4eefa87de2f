"""nbgrader's Execute preprocessor, starting the kernel in the notebook's language.

`make submit` runs a notebook through nbgrader's Validator, whose kernel Jupyter Server does not
start (so it has no JPY_SESSION_NAME): this preprocessor gives it $CS231N_LANG from the notebook's
metadata, so that its checks print in the notebook's language (cs231n_lib.i18n). (The Validate
button's Validator cannot be configured with another preprocessor: its kernel inherits
$CS231N_LAB_LANG, the edition `make lab` was started with.)
"""

from __future__ import annotations

import os

from nbclient.util import run_sync
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, Execute

from autograder.i18n.edition import language
from cs231n_lib.i18n import ENV_VAR


class LanguageExecute(Execute):
    """Execute whose kernel gets CS231N_LANG = the notebook's language."""

    async def async_start_new_kernel(self, **kwargs):
        kwargs["env"] = {**(kwargs.get("env") or os.environ), ENV_VAR: language(self.nb)}
        return await super().async_start_new_kernel(**kwargs)

    # nbclient binds its synchronous twin to its own coroutine: bind it to this one.
    start_new_kernel = run_sync(async_start_new_kernel)


# nbgrader's Validator.preprocessors, with LanguageExecute for Execute.
VALIDATOR_PREPROCESSORS = [CheckCellMetadata, ClearOutput, LanguageExecute]
