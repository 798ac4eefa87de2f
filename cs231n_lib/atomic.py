"""Write a file so that readers see its old content or its new content, never half of it.

The one write-then-replace helper of the project: the library (Solver checkpoints), the
data step (the downloaded archive) and the autograder (gradebook records, grade tables,
hand-in zips, the verifier's answers) all write through it.
"""

import contextlib
import os
import tempfile

__all__ = ["write_atomically", "atomic_path", "replace_durably", "fsync_file", "fsync_dir"]


def fsync_file(path):
    """Flush a file's content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path):
    """Flush a folder's entries (the names a rename wrote) to disk."""
    with contextlib.suppress(OSError):   # some filesystems cannot open or sync folders
        fsync_file(path)


def replace_durably(tmp, path):
    """Rename the complete file `tmp` onto `path`, flushing both to disk.

    `tmp` must be in `path`'s folder: os.replace is atomic only within one file system.
    """
    fsync_file(tmp)
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(os.path.abspath(path)))


@contextlib.contextmanager
def atomic_path(path, suffix=".tmp", durable=True):
    """Yield a temporary path beside `path`; when the block ends without error it replaces `path`.

    Write the new content to the yielded path (any writer: open, np.savez, zipfile, ...).
    If the block raises, the temporary file is removed and `path` keeps its old content.

    Inputs:
    - path: the file to write (str or os.PathLike); its folder must exist
    - suffix: the temporary name's ending (np.savez wants ".npz")
    - durable: flush to disk before and after the rename, so that after a crash `path`
      holds the old or the new content; False for files no crash needs to outlive
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        if durable:
            replace_durably(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def write_atomically(path, data):
    """Write `data` to `path` through a temporary file in the same folder, renamed into place.

    The temporary file is flushed to disk (fsync) before os.replace, so after a crash `path`
    holds either the old or the new content. The temporary file is removed if anything fails.

    Inputs:
    - path: the file to write (str or os.PathLike); its folder must exist
    - data: str (written as UTF-8) or bytes
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
