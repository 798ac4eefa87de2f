"""The data step's error, and the pieces its messages share (sizes, short lists, write failures)."""

import errno

__all__ = ["DataStepError", "os_error", "mb", "shown", "ALTERNATIVES", "WRITE_ERRNOS"]

# The errors of a write that the user can fix (space, permissions), as opposed to a bad input.
WRITE_ERRNOS = (errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS)

# Advice shared by several messages.
ALTERNATIVES = ("or install from a local copy with CIFAR10_TARBALL=/path/to/cifar-10-python.tar.gz "
                "make data (the notebooks also run offline on the embedded dataset)")


class DataStepError(Exception):
    """A failure of the data step; its message says what happened and what to do."""


def mb(n):
    return f"{n / 1e6:.1f} MB"


def shown(names, limit=5):
    """A short list of names for a message: 'a, b/, c, ...'."""
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")


def os_error(exc, action, where):
    """Turn an OSError raised while writing into a DataStepError with advice."""
    if exc.errno == errno.ENOSPC:
        return DataStepError(f"no space left on the device while {action} {where}. Free some space "
                             f"(CIFAR-10 needs about 350 MB: the 170 MB archive plus the extracted "
                             f"batches) or set CIFAR10_DIR to a new folder on another disk, then "
                             f"rerun `make data`.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) or isinstance(exc, PermissionError):
        return DataStepError(f"no permission to write while {action} {where} ({exc.strerror}). Fix "
                             f"the folder's permissions or set CIFAR10_DIR to a writable folder "
                             f"(the loaders read it too), then rerun `make data`.")
    return DataStepError(f"could not write while {action} {where}: {exc}. Rerun `make data`.")
