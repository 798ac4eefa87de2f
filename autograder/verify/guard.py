"""The dataset guard: notices the student's code opening a file a check hides (runs in the sandbox).

A held-out check hides the course's datasets (`Check.hidden`): the sandbox shows empty folders
in their place, so nothing can be read from them, and this guard, an audit hook
(`sys.addaudithook`) armed before the student's cells run, records the first attempt to open
one (`open`, `os.open`, `np.load`, `pickle` on a file: every route goes through the `open`
event) or to start a program naming one. The checks run after it score 0 with
`DatasetGuard.message`. An audit hook cannot be removed; the profile hook of `rules.Watch`
does not see it (CPython does not trace audit hooks).
"""

from __future__ import annotations

import os
import sys

from autograder.i18n.messages import _

# Audit events that start a program, and the position of their argument list.
_PROGRAMS = {"subprocess.Popen": 1, "os.system": 0, "os.exec": 1, "os.posix_spawn": 1, "os.spawn": 2}


class DatasetGuard:
    """Records the first hidden path the code running after `arm()` tries to open.

    Inputs: hidden, the paths (files or folders; everything below a folder counts).
    After `arm()`, `read` is None or the path that was opened; `message` says why that scores 0.
    """

    def __init__(self, hidden: tuple[str, ...] | list[str]):
        self.hidden = tuple(os.path.realpath(p) for p in hidden)
        self.read: str | None = None
        self._armed = False
        self._busy = False

    def arm(self) -> None:
        """Start watching (once; a guard with nothing hidden never watches)."""
        if self.hidden and not self._armed:
            self._armed = True
            sys.addaudithook(self._filter())

    def _filter(self):
        """The audit hook: `_hook` for the events it reads, and as little as possible for the
        rest (while a check runs, the rule's profile hook reads `frame.f_code` at every call,
        an audit event of its own: hundreds of thousands in a training run)."""
        watched = frozenset(("open", *_PROGRAMS))
        hook = self._hook

        def audit(event, args):
            if event in watched:
                hook(event, args)
        return audit

    def _hidden_target(self, path) -> str | None:
        """The hidden file `path` leads to (links followed), or None."""
        if isinstance(path, int):                 # an open file descriptor: its open was seen
            return None
        try:
            full = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return None
        return full if any(full == h or full.startswith(h + os.sep) for h in self.hidden) else None

    def _hook(self, event: str, args: tuple) -> None:
        if self.read is not None or self._busy:
            return
        if event == "open":
            candidates = args[:1]
        elif event in _PROGRAMS:
            argv = args[_PROGRAMS[event]] if len(args) > _PROGRAMS[event] else ()
            candidates = [argv] if isinstance(argv, (str, bytes)) else list(argv or ())
            candidates = [word for c in candidates if isinstance(c, (str, bytes))
                          for word in os.fsdecode(c).split()]
        else:
            return
        self._busy = True                          # realpath must not re-enter the hook
        try:
            for path in candidates:
                self.read = self.read or self._hidden_target(path)
        finally:
            self._busy = False

    @property
    def message(self) -> str:
        """Why a check scores 0 once `read` is set (starts like the rule's messages)."""
        return _("your code opened {path}, a file of the course's datasets: an open-ended task must "
                 "learn from the data it is given (its `data`), so reading the dataset files scores 0"
                 ).format(path=self.read)
