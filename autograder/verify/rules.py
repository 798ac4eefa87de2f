"""The one rule for what exercise code may use, enforced while a check's call runs.

Exercise code may use numpy, Python's standard library (math, collections, ...) and, from
everything else (the course library `cs231n_lib`, scipy, scikit-learn, torch, ...), only the
names the notebook gives for that exercise: `Check.allowed`. `Watch(allowed)` sees every
function call (Python or C) made while the check's call runs, through the profile hook; the
first call into code outside numpy, the standard library and the notebook's own cells that is
neither an allowed name nor made from inside one is the violation. Its message names the function and the rule.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
import types
from collections.abc import Iterable

from autograder.i18n.messages import _
from cs231n_lib.checks import resolve_name

_IMPORTING = "<frozen importlib"


def broke_the_rule(error: str) -> bool:
    """True when a case's error is a violation's message, not an exception: every violation's
    message starts with "your code" (你的代码 in Chinese: the worker writes in the student's
    language, the grader reads in it too)."""
    return error.startswith(("your code", _("your code")))


def rule() -> str:
    """The rule, in the student's language."""
    return _("exercise code may use numpy, Python's standard library and, from any other package "
             "or the course library, only the names the notebook gives for the exercise")


def _dirs() -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(numpy's folder, the standard library's folders, the site-packages folders)."""
    import numpy

    paths = sysconfig.get_paths()
    numpy_dir = os.path.realpath(os.path.dirname(numpy.__file__)) + os.sep
    stdlib = tuple({os.path.realpath(paths[k]) + os.sep for k in ("stdlib", "platstdlib")})
    site = tuple({os.path.realpath(paths[k]) + os.sep for k in ("purelib", "platlib")})
    return numpy_dir, stdlib, site


def _codes(obj, seen: set) -> None:
    """Add the code objects of a function, class (every method, bases included) or code, nested too."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        for part in (obj.fget, obj.fset, obj.fdel):
            if part is not None:
                _codes(part, seen)
        return
    if isinstance(obj, type):
        for klass in obj.__mro__[:-1]:
            for value in vars(klass).values():
                _codes(value, seen)
        return
    if isinstance(obj, types.FunctionType):
        _codes(obj.__code__, seen)
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None:
            _codes(wrapped, seen)
        return
    if isinstance(obj, types.CodeType) and obj not in seen:
        seen.add(obj)
        for const in obj.co_consts:
            if isinstance(const, types.CodeType):
                _codes(const, seen)


def short_names(allowed: Iterable[str]) -> str:
    """'affine_forward, relu_forward' (the last part of each name), or 'nothing'."""
    names = sorted({name.rsplit(".", 1)[-1] for name in allowed})
    return ", ".join(names) if names else _("nothing")


class Watch:
    """Records the first call that breaks the rule while active (a context manager).

    Inputs: allowed, dotted names of functions, classes or modules the exercise may call.
    After the block, `violation` is None or a message naming the call and the rule.
    """

    def __init__(self, allowed: Iterable[str] = ()):
        self.allowed = tuple(allowed)
        self.allowed_codes: set = set()
        for dotted in self.allowed:
            obj = resolve_name(dotted)
            if isinstance(obj, types.ModuleType):
                for value in vars(obj).values():
                    if getattr(value, "__module__", None) == obj.__name__:
                        _codes(value, self.allowed_codes)
            else:
                _codes(obj, self.allowed_codes)
        self.numpy_dir, self.stdlib_dirs, self.site_dirs = _dirs()
        self.tracer = self._profile
        self.outside: dict = {Watch.__exit__.__code__: False}   # leaving the block is not a call
        self.violation: str | None = None

    def _is_outside(self, code: types.CodeType) -> bool:
        """True for code neither from numpy, the standard library nor the notebook's cells."""
        known = self.outside.get(code)
        if known is None:
            name = code.co_filename
            if not os.path.isabs(name):
                known = False                      # notebook cells, <frozen ...>, <string>
            else:
                real = os.path.realpath(name)
                stdlib = real.startswith(self.stdlib_dirs) and not real.startswith(self.site_dirs)
                known = not (stdlib or real.startswith(self.numpy_dir))
            self.outside[code] = known
        return known

    def _c_outside(self, function) -> str | None:
        """The dotted name of a C function from outside numpy and the standard library, else None."""
        owner = getattr(function, "__self__", None)
        # A method bound to an object (an array's `reshape`) is cached by its type and name,
        # never by itself: keeping the bound method would keep every such object alive.
        bound = owner is not None and not isinstance(owner, (types.ModuleType, type))
        key = (type(owner), getattr(function, "__name__", "")) if bound else function
        known = self.outside.get(key)
        if known is None:
            module = getattr(function, "__module__", None)
            if module is None and owner is not None:
                module = owner.__name__ if isinstance(owner, types.ModuleType) else type(owner).__module__
            top = (module or "builtins").split(".")[0]
            ok = top in ("numpy", "builtins") or top in sys.stdlib_module_names
            known = "" if ok else f"{module}.{getattr(function, '__qualname__', function.__name__)}"
            try:
                self.outside[key] = known
            except TypeError:                      # an unhashable callable: not cached
                pass
        return known or None

    def _profile(self, frame, event, arg):
        """The profile hook: each Python call ('call') and C call ('c_call') is checked."""
        if self.violation is not None:
            return
        if event == "call":
            code = frame.f_code
            if code in self.allowed_codes or not self._is_outside(code):
                return
            caller = frame.f_back
            name = f"{frame.f_globals.get('__name__', '?')}.{code.co_qualname}"
        elif event == "c_call":
            name = self._c_outside(arg)
            if name is None:
                return
            caller = frame
        else:
            return
        # Allowed: inside an allowed function, or inside the import machinery (a finder that
        # site-packages installs), but not the top-level code of a module outside numpy and the
        # standard library, nor what that code calls: importing it is the route.
        module_body = event == "call" and frame.f_code.co_name == "<module>"
        while caller is not None:
            code = caller.f_code
            if code in self.allowed_codes or code.co_filename.startswith(_IMPORTING) and not module_body:
                return
            module_body = module_body or code.co_name == "<module>" and self._is_outside(code)
            caller = caller.f_back
        self.violation = _("your code called {name}, which this exercise does not allow: {rule} "
                           "(here: {allowed})").format(name=name, rule=rule(), allowed=short_names(self.allowed))

    def __enter__(self):
        self._setprofile = sys.setprofile
        threading.setprofile(self.tracer)
        sys.setprofile(self.tracer)
        return self

    def __exit__(self, *exc):
        tracer = sys.getprofile()
        self._setprofile(None)
        threading.setprofile(None)
        if tracer is not self.tracer and self.violation is None:
            self.violation = _("your code changed the interpreter's profile hook, which the grader "
                               "uses to enforce the rule: {rule}").format(rule=rule())
        return False
