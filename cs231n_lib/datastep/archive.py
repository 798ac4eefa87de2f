"""Reading CIFAR-10 out of an archive or folder that may be hostile, with bounded work.

An archive is read once, as a stream: every member's declared size is checked against
what a CIFAR-10 file can be before any of its bytes are read, the number of members
is capped, and members that are not the dataset's files are never written anywhere.
"""

import hashlib
import lzma
import os
import shutil
import tarfile
import zlib
from pathlib import PurePosixPath

from cs231n_lib.data import META_FILE, TEST_BATCH, TRAIN_BATCHES
from cs231n_lib.datastep.errors import WRITE_ERRNOS, DataStepError, mb, os_error, shown
from cs231n_lib.datastep.official import CHUNK, DIRNAME, OFFICIAL_URL, TARBALL_NAME

__all__ = ["DATASET_FILES", "MAX_ARCHIVE_BYTES", "member_path", "extract_archive", "copy_folder"]

# The files of the dataset folder, as in the official archive.
DATASET_FILES = (*TRAIN_BATCHES, TEST_BATCH, META_FILE, "readme.html")

# What a CIFAR-10 file can be: a batch is 10000 x 3072 image bytes (30.7 MB) plus about
# 0.3 MB of labels and file names; batches.meta and readme.html are a few hundred bytes.
_MAX_BATCH_BYTES = 32 * 2**20
_MAX_SMALL_BYTES = 64 * 2**10
_MAX_MEMBERS = 64
_MAX_TOTAL_BYTES = 6 * _MAX_BATCH_BYTES + 2**20
MAX_ARCHIVE_BYTES = 256 * 2**20     # compressed bytes read from a local archive


def member_path(name):
    """The safe relative path of a tar member inside cifar-10-batches-py/, or None to skip it."""
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts:
        return None
    parts = [q for q in p.parts if q != "."]
    if not parts or parts[0] != DIRNAME:
        return None
    return parts[1:]


def _dataset_name(member):
    """The dataset file a tar member is (e.g. 'data_batch_1'), or None when it is not one."""
    rel = member_path(member.name)
    if rel and len(rel) == 1 and rel[0] in DATASET_FILES and member.isreg() \
            and not member.issparse():
        return rel[0]
    return None


def _size_cap(name):
    """The largest size member ``name`` may declare; None (not a dataset file) is skipped,
    and skipping it in a compressed stream still means decompressing it, so it is kept small."""
    return _MAX_BATCH_BYTES if name in (*TRAIN_BATCHES, TEST_BATCH) else _MAX_SMALL_BYTES


# Leading bytes of the formats people have CIFAR-10 in, to name what a file is.
_KINDS = ((b"\x1f\x8b", ".tar.gz"), (b"\xfd7zXZ\x00", ".tar.xz"), (b"BZh", ".tar.bz2"),
          (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"))


def _archive_kind(head):
    """'.tar.gz', '.tar.xz', '.tar.bz2', '.tar', 'zip' or None, from a file's first 512 bytes."""
    for magic, kind in _KINDS:
        if head.startswith(magic):
            return kind
    return ".tar" if head[257:262] == b"ustar" else None


class _ArchiveReader:
    """A file read once from its start: hashes what is read and refuses to read past a cap.

    Reading a local archive as a stream hashes it in the same pass (no second read of
    170 MB) and works on pipes; the cap bounds the work on a file that never ends.
    """

    def __init__(self, f, path):
        self.f, self.path, self.md5, self.count = f, path, hashlib.md5(), 0
        self.head = f.read(512)
        self.pending = self.head

    def read(self, n=-1):
        if self.pending:
            block, self.pending = (self.pending, b"") if n < 0 or n >= len(self.pending) \
                else (self.pending[:n], self.pending[n:])
        else:
            block = self.f.read(n)
        self.count += len(block)
        if self.count > MAX_ARCHIVE_BYTES:
            raise DataStepError(f"{self.path} is larger than {mb(MAX_ARCHIVE_BYTES)}, far more "
                                f"than the 170 MB CIFAR-10 archive: it is not that archive.")
        self.md5.update(block)
        return block

    def finish(self):
        """Read what the tar reader left (padding) and return the md5 of the whole file."""
        while self.read(CHUNK):
            pass
        return self.md5.hexdigest()


class _HeaderTooLarge(Exception):
    pass


class _BoundedTarInfo(tarfile.TarInfo):
    """A tar header that refuses long-name and pax headers larger than CIFAR-10's need.

    tarfile reads such a header's payload into memory before it yields the member it
    describes, so its size is checked here, before that read (a 1 GB pax header would
    otherwise be held in memory whole).
    """

    _EXTENSIONS = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE,
                   tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)

    def _proc_member(self, tar):
        if self.type in self._EXTENSIONS and self.size > _MAX_SMALL_BYTES:
            raise _HeaderTooLarge(self.size)
        return super()._proc_member(tar)


def _refuse_kind(path, kind, head, redo):
    if kind == "zip":
        raise DataStepError(f"{path} is a zip archive, but CIFAR-10's python version comes as a "
                            f".tar.gz: unzip it and point CIFAR10_TARBALL at the {DIRNAME} folder "
                            f"inside, or get {TARBALL_NAME} from {OFFICIAL_URL}.")
    what = f"it starts with {head[:16]!r}" if head else "it is empty"
    raise DataStepError(f"{path} is not a .tar.gz (nor .tar, .tar.xz, .tar.bz2) archive ({what}), "
                        f"so it is not {TARBALL_NAME}. {redo}.")


def _extract_members(tar, new, source, redo):
    """Copy the dataset's files from an open tar stream into ``new``; returns all member names.

    Member sizes and counts are capped to what CIFAR-10 can be before any byte of a member
    is read; members that are not dataset files are not extracted.
    """
    names, seen, total = [], set(), 0
    for member in tar:
        names.append(member.name)
        total += member.size
        name = _dataset_name(member)
        if len(names) > _MAX_MEMBERS or total > _MAX_TOTAL_BYTES or member.size > _size_cap(name):
            what = (f"more than {_MAX_MEMBERS} members" if len(names) > _MAX_MEMBERS else
                    f"{member.name} of {mb(member.size)}" if member.size > _size_cap(name) else
                    f"more than {mb(_MAX_TOTAL_BYTES)} in all")
            raise DataStepError(f"{source} holds {what}, more than CIFAR-10 can (each batch is "
                                f"about 31 MB, {len(DATASET_FILES)} files in all, any other file "
                                f"{mb(_MAX_SMALL_BYTES)} at most): it is not the CIFAR-10 archive, "
                                f"so nothing was installed. {redo}.")
        if name is None:
            continue
        if name in seen:
            raise DataStepError(f"{source} holds {member.name} twice: it is not the CIFAR-10 "
                                f"archive. {redo}.")
        seen.add(name)
        _write_file(tar.extractfile(member), new / name)
    return names


def _write_file(src, out):
    """Copy a file object to ``out`` and flush it to disk."""
    with open(out, "wb") as f:
        shutil.copyfileobj(src, f, CHUNK)
        f.flush()
        os.fsync(f.fileno())


def extract_archive(tarball, new, redo):
    """Fill ``new`` from an archive; returns the archive's md5. Raises DataStepError."""
    try:
        raw = open(tarball, "rb")
    except OSError as exc:
        raise DataStepError(f"cannot read {tarball}: {exc.strerror}. Check the path and its "
                            f"permissions.") from exc
    with raw:
        reader = _ArchiveReader(raw, tarball)
        kind = _archive_kind(reader.head)
        if kind in (None, "zip"):
            _refuse_kind(tarball, kind, reader.head, redo)
        try:
            with tarfile.open(fileobj=reader, mode="r|*", tarinfo=_BoundedTarInfo) as tar:
                names = _extract_members(tar, new, tarball, redo)
            md5 = reader.finish()
        except _HeaderTooLarge as exc:
            raise DataStepError(f"{tarball} holds a tar header of {mb(exc.args[0])}, more than "
                                f"CIFAR-10 can (its headers are a few hundred bytes): it is not the "
                                f"CIFAR-10 archive, so nothing was installed. {redo}.") from None
        except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
                raise os_error(exc, "extracting into", new.parent.parent) from exc
            if isinstance(exc, OSError) and exc.errno is not None:
                raise DataStepError(f"{tarball} could not be read ({exc}). {redo}.") from exc
            raise DataStepError(f"{tarball} is not a complete {kind} archive: it is truncated or "
                                f"corrupt ({exc}). {redo}.") from exc
    if not any(member_path(name) is not None for name in names):
        raise DataStepError(f"{tarball} is not a CIFAR-10 python archive: it has no "
                            f"{DIRNAME}/ folder (it holds {shown(names) or 'nothing'}). {redo}; "
                            f"the right archive is {TARBALL_NAME} from {OFFICIAL_URL}.")
    return md5


def copy_folder(folder, new, redo):
    """Fill ``new`` from an extracted dataset folder (sizes capped like archive members)."""
    for name in DATASET_FILES:
        src = folder / name
        if not src.is_file():
            continue
        if src.stat().st_size > _size_cap(name):
            raise DataStepError(f"{src} has {mb(src.stat().st_size)}, more than a CIFAR-10 file "
                                f"can: {folder} is not a CIFAR-10 dataset. {redo}.")
        try:
            with open(src, "rb") as f:
                _write_file(f, new / name)
        except OSError as exc:
            if exc.errno in WRITE_ERRNOS:
                raise os_error(exc, "copying into", new.parent.parent) from exc
            raise DataStepError(f"cannot read {src}: {exc.strerror}. {redo}.") from exc

