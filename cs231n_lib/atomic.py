"""Write a file so that readers see its old content or its new content, never half of it."""

import os
import tempfile


def write_atomically(path, data):
    """Write `data` to `path` through a temporary file in the same folder, renamed into place.

    The temporary file is flushed to disk (fsync) before os.replace, so after a crash `path`
    holds either the old or the new content; os.replace is atomic only within one file
    system, hence the same folder. The temporary file is removed if anything fails.

    Inputs:
    - path: the file to write (str or os.PathLike); its folder must exist
    - data: str (written as UTF-8) or bytes
    """
    path = os.fspath(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
