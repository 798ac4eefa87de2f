"""Write small CIFAR-10 archives in the official byte format, for tests.

The official batches were written by Python 2's cPickle with protocol 2. A
Python 2 ``str`` is a byte string and cPickle writes it with the
SHORT_BINSTRING / BINSTRING opcodes, which Python 3 reads back as ``str`` with
``encoding="latin1"`` and as ``bytes`` with ``encoding="bytes"``. Python 3's
pickler never emits those opcodes (it writes text as BINUNICODE), so
``pickle.dumps`` of a Python 3 dict is *not* the official format. This module
emits the opcodes itself, in the order cPickle does: dict items in a
MARK ... SETITEMS group, lists as EMPTY_LIST MARK ... APPENDS in groups of 1000,
integers as BININT1 / BININT2 / BININT, and the uint8 ``data`` array as numpy
1.x pickled it under Python 2 (``numpy.core.multiarray._reconstruct``, a dtype
``u1`` state and the raw bytes as one BINSTRING). The test
``test_fixture_writer_reproduces_real_batch_bytes`` checks that re-encoding the
real subset's batches gives the very same bytes.
"""

import hashlib
import io
import os
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

DIRNAME = "cifar-10-batches-py"
# The real CIFAR-10 subset in the official format, kept beside the repository (../shared/data/)
# on development and CI machines and never committed; tests that need it skip when it is absent.
SUBSET = Path(os.environ.get(
    "CIFAR10_SUBSET",
    Path(__file__).resolve().parents[3] / "shared" / "data" / "cifar-10-python-subset.tar.gz"))

def extracted_subset(tmp_path_factory):
    """The real subset's `cifar-10-batches-py` folder, extracted into a fresh temporary folder;
    skips the calling test when the subset is not on this machine."""
    import pytest

    if not SUBSET.is_file():
        pytest.skip(f"the real CIFAR-10 subset is not at {SUBSET}")
    folder = tmp_path_factory.mktemp("cifar")
    with tarfile.open(SUBSET) as tar:
        tar.extractall(folder, filter="data")
    return folder / DIRNAME


LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer",
               "dog", "frog", "horse", "ship", "truck"]
README_HTML = b'<meta HTTP-EQUIV="REFRESH" content="0; url=http://www.cs.toronto.edu/~kriz/cifar.html">\n'

_BATCHSIZE = 1000  # cPickle's batch size for APPENDS / SETITEMS


class Py2Pickler:
    """Emit Python 2 cPickle protocol-2 bytes for str, bytes, int, None, bool, list, dict, uint8 arrays.

    ``memo=True`` writes BINPUT after strings and containers like a normal
    cPickle.Pickler (how ``batches.meta`` was written); ``memo=False`` omits them
    like a pickler in fast mode (how the data batches were written).
    """

    def __init__(self, memo=False):
        self.memo = memo
        self.out = io.BytesIO()
        self.next_id = 1

    def dumps(self, obj):
        self.out.write(b"\x80\x02")               # PROTO 2
        self._save(obj)
        self.out.write(b".")                      # STOP
        return self.out.getvalue()

    def _put(self):
        if self.memo:
            self.out.write(b"q" + bytes([self.next_id]))   # BINPUT
            self.next_id += 1

    def _save(self, obj):
        w = self.out.write
        if obj is None:
            w(b"N")
        elif obj is True or obj is False:
            w(b"\x88" if obj else b"\x89")
        elif isinstance(obj, int | np.integer):
            self._save_int(int(obj))
        elif isinstance(obj, str | bytes):
            self._save_str(obj.encode("latin1") if isinstance(obj, str) else obj)
        elif isinstance(obj, np.ndarray):
            self._save_uint8_array(obj)
        elif isinstance(obj, list):
            w(b"]")                                # EMPTY_LIST
            self._put()
            self._batched(obj, b"a", b"e", self._save)
        elif isinstance(obj, dict):
            w(b"}")                                # EMPTY_DICT
            self._put()
            self._batched(list(obj.items()), b"s", b"u", lambda kv: (self._save(kv[0]), self._save(kv[1])))
        else:
            raise TypeError(f"cannot write {type(obj).__name__} in the Python 2 format")

    def _batched(self, items, single_op, group_op, save):
        for start in range(0, len(items), _BATCHSIZE):
            chunk = items[start:start + _BATCHSIZE]
            if len(chunk) == 1:
                save(chunk[0])
                self.out.write(single_op)          # APPEND / SETITEM
            else:
                self.out.write(b"(")               # MARK
                for item in chunk:
                    save(item)
                self.out.write(group_op)           # APPENDS / SETITEMS

    def _save_int(self, v):
        if 0 <= v < 256:
            self.out.write(b"K" + bytes([v]))      # BININT1
        elif 0 <= v < 65536:
            self.out.write(b"M" + struct.pack("<H", v))   # BININT2
        else:
            self.out.write(b"J" + struct.pack("<i", v))   # BININT

    def _save_str(self, b):
        if len(b) < 256:
            self.out.write(b"U" + bytes([len(b)]) + b)   # SHORT_BINSTRING
        else:
            self.out.write(b"T" + struct.pack("<i", len(b)) + b)   # BINSTRING
        self._put()

    def _save_uint8_array(self, a):
        if a.dtype != np.uint8:
            raise TypeError("only uint8 arrays are written")
        w = self.out.write
        w(b"cnumpy.core.multiarray\n_reconstruct\n")     # GLOBAL
        w(b"cnumpy\nndarray\n")
        self._save_int(0)
        w(b"\x85")                                 # TUPLE1
        self._save_str(b"b")
        w(b"\x87R")                                # TUPLE3, REDUCE
        w(b"(")                                    # MARK: state tuple
        self._save_int(1)
        for dim in a.shape:
            self._save_int(dim)
        w({1: b"\x85", 2: b"\x86", 3: b"\x87"}[a.ndim])
        w(b"cnumpy\ndtype\n")
        self._save_str(b"u1")
        self._save_int(0)
        self._save_int(1)
        w(b"\x87R")
        w(b"(")
        self._save_int(3)
        self._save_str(b"|")
        w(b"NNN")
        w(b"J" + struct.pack("<i", -1) + b"J" + struct.pack("<i", -1))
        self._save_int(0)
        w(b"tb")                                   # TUPLE, BUILD: dtype state
        w(b"\x89")                                 # NEWFALSE: C order
        self._save_str(np.ascontiguousarray(a).tobytes())
        w(b"tb")                                   # TUPLE, BUILD: array state


def batch_bytes(data, labels, batch_label, filenames):
    """The bytes of one official batch file. data: uint8 (n, 3072); labels: n ints."""
    return Py2Pickler(memo=False).dumps({
        "batch_label": batch_label, "labels": [int(v) for v in labels],
        "data": data, "filenames": list(filenames)})


def meta_bytes(label_names=LABEL_NAMES, num_cases_per_batch=10000):
    """The bytes of ``batches.meta``."""
    return Py2Pickler(memo=True).dumps({
        "num_cases_per_batch": num_cases_per_batch, "label_names": list(label_names),
        "num_vis": 3072})


def make_batches(n_per_batch=20, n_test=30, seed=0):
    """Random images and labels for the 6 batches.

    Returns a dict name -> (data uint8 (n, 3072), labels int64 (n,)).
    """
    rng = np.random.default_rng(seed)
    batches = {}
    for name, n in [(f"data_batch_{i}", n_per_batch) for i in range(1, 6)] + [("test_batch", n_test)]:
        batches[name] = (rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         rng.integers(0, 10, n).astype(np.int64))
    return batches


def batch_files(batches, label_names=LABEL_NAMES):
    """The archive's files: name -> bytes, for batches from ``make_batches``."""
    files = {}
    for name, (data, labels) in batches.items():
        label = ("testing batch 1 of 1" if name == "test_batch"
                 else f"training batch {name[-1]} of 5")
        fnames = [f"{name}_{i:05d}.png" for i in range(len(labels))]
        files[name] = batch_bytes(data, labels, label, fnames)
    files["batches.meta"] = meta_bytes(label_names)
    files["readme.html"] = README_HTML
    return files


def files_with_labels(batches, name, replaced):
    """The archive's files with some labels of batch ``name`` replaced: ``{position: label}``.

    That batch is written by Python 3's pickle (protocol 2), which, unlike ``Py2Pickler``,
    can hold a float, a str or an integer beyond int64 as a label.
    """
    files = batch_files(batches)
    data, labels = batches[name]
    values = [int(v) for v in labels]
    for position, label in replaced.items():
        values[position] = label
    files[name] = pickle.dumps({"batch_label": name, "labels": values, "data": data}, protocol=2)
    return files


def write_dir(folder, files):
    """Write ``files`` (name -> bytes) into ``folder``; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def write_tarball(path, files, dirname=DIRNAME, compression="gz"):
    """Write a .tar.gz with ``files`` under ``dirname/`` like the official archive.

    ``compression`` "xz", "bz2" or "" writes a .tar.xz, .tar.bz2 or plain .tar instead.
    Returns (size in bytes, md5 hex digest).
    """
    path = Path(path)
    level = {"compresslevel": 1} if compression in ("gz", "bz2") else {}
    with tarfile.open(path, f"w:{compression}", **level) as tar:
        if dirname:
            info = tarfile.TarInfo(dirname)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, content in files.items():
            info = tarfile.TarInfo(f"{dirname}/{name}" if dirname else name)
            info.size, info.mode = len(content), 0o644
            tar.addfile(info, io.BytesIO(content))
    content = path.read_bytes()
    return len(content), hashlib.md5(content).hexdigest()
