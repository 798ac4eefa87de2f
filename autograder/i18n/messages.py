"""The autograder's messages to students (`make submit`, `make lab`, the release header, the
feedback page), translated into the language of the notebook at hand (cs231n_lib.i18n).

The catalogue is autograder/locale/<ll_CC>/LC_MESSAGES/autograder.po; `make messages` refreshes it.
Messages for instructors only (grading summaries, errors of the tools) stay in English.
"""

from __future__ import annotations

from pathlib import Path

from cs231n_lib.i18n import Messages

MESSAGES = Messages("autograder", Path(__file__).resolve().parents[1] / "locale")
_ = MESSAGES.gettext
_n = MESSAGES.ngettext
