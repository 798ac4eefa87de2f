"""Plain-value serialisation between the grader and the untrusted verification process.

A plain value is None, a bool, int, float or complex number, a string, a numeric
numpy array (dtype kind b, i, u, f or c), or a tuple, list or dict (string keys)
of plain values. It is stored as one `.npz` file written with `np.savez` and read
with `allow_pickle=False`: a JSON tree in the entry `__tree__` and one entry per
array or number. Nothing else (objects, object arrays, pickles) can cross.

`load_plain` is the trust boundary: it checks the archive's sizes before numpy
allocates anything and rejects anything that is not plain.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from cs231n_lib.atomic import atomic_path

NUMERIC_KINDS = "biufc"
MAX_DEPTH = 32
MAX_NODES = 100_000


class NotPlainError(ValueError):
    """A value (or a file) is not a plain value as defined in this module."""


def _encode(value: Any, arrays: dict[str, np.ndarray], depth: int, counter: list[int]) -> Any:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise NotPlainError(f"more than {MAX_NODES} values")
    if depth > MAX_DEPTH:
        raise NotPlainError(f"nested deeper than {MAX_DEPTH} levels")
    if value is None:
        return {"t": "none"}
    if isinstance(value, str):
        return {"t": "str", "v": str.__str__(value)}
    if isinstance(value, (bool, int, float, complex, np.generic)) or isinstance(value, np.ndarray):
        if isinstance(value, (bool, np.bool_)):
            arr = np.array(bool(value))
        elif isinstance(value, int) and not isinstance(value, np.generic):
            arr = np.array(int.__index__(value))
        elif isinstance(value, float):
            arr = np.array(float.__float__(value))
        elif isinstance(value, complex):
            arr = np.array(complex(value.real, value.imag))
        else:
            arr = np.array(np.asarray(value).view(np.ndarray), copy=True)
        if arr.dtype.kind not in NUMERIC_KINDS:
            raise NotPlainError(f"array of dtype {arr.dtype} (only numeric arrays are plain)")
        key = f"a{len(arrays)}"
        arrays[key] = arr
        return {"t": "arr" if isinstance(value, np.ndarray) else "num", "k": key}
    if isinstance(value, (list, tuple)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {"t": kind, "v": [_encode(v, arrays, depth + 1, counter) for v in list(value)]}
    if isinstance(value, dict):
        keys = list(value.keys())
        if not all(isinstance(k, str) for k in keys):
            raise NotPlainError("dict with non-string keys")
        return {"t": "dict", "k": [str.__str__(k) for k in keys],
                "v": [_encode(value[k], arrays, depth + 1, counter) for k in keys]}
    raise NotPlainError(f"value of type {type(value).__name__}")


def save_plain(path: str | os.PathLike, value: Any) -> None:
    """Write a plain value to `path` (an .npz file), atomically.

    Inputs: path; value, a plain value. Raises NotPlainError for anything else.
    """
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(value, arrays, 0, [0])
    arrays["__tree__"] = np.array(json.dumps(tree))
    # Atomic so that the reader never sees half a file; no crash needs it to outlive (durable=False).
    with atomic_path(path, suffix=".npz", durable=False) as tmp:
        np.savez(tmp, **arrays)


def _decode(node: Any, arrays: dict[str, np.ndarray], depth: int) -> Any:
    if depth > MAX_DEPTH or not isinstance(node, dict):
        raise NotPlainError("malformed tree")
    t = node.get("t")
    if t == "none":
        return None
    if t == "str":
        if not isinstance(node.get("v"), str):
            raise NotPlainError("malformed string")
        return node["v"]
    if t in ("arr", "num"):
        arr = arrays.get(node.get("k"))
        if arr is None:
            raise NotPlainError("missing array")
        if t == "num":
            if arr.shape != ():
                raise NotPlainError("malformed number")
            return arr.item()
        return arr
    if t in ("list", "tuple"):
        items = node.get("v")
        if not isinstance(items, list):
            raise NotPlainError("malformed sequence")
        seq = [_decode(v, arrays, depth + 1) for v in items]
        return tuple(seq) if t == "tuple" else seq
    if t == "dict":
        keys, items = node.get("k"), node.get("v")
        if not (isinstance(keys, list) and isinstance(items, list) and len(keys) == len(items)
                and all(isinstance(k, str) for k in keys)):
            raise NotPlainError("malformed dict")
        return {k: _decode(v, arrays, depth + 1) for k, v in zip(keys, items)}
    raise NotPlainError(f"unknown node type {t!r}")


def load_plain(path: str | os.PathLike, max_bytes: int = 512 * 2**20) -> Any:
    """Read a plain value written by `save_plain`, trusting nothing in the file.

    Inputs: path to an .npz file; max_bytes, the largest total uncompressed size accepted.
    Returns: the plain value. Raises NotPlainError when the file is not a plain value.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_NODES + 1:
                raise NotPlainError("too many entries")
            total = sum(i.file_size for i in infos)
            if total > max_bytes:
                raise NotPlainError(f"{total} bytes uncompressed (limit {max_bytes})")
            arrays: dict[str, np.ndarray] = {}
            for info in infos:
                if not info.filename.endswith(".npy"):
                    raise NotPlainError(f"unexpected entry {info.filename!r}")
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                    elif version == (2, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                    else:
                        raise NotPlainError(f"npy version {version}")
                    if dtype.hasobject:
                        raise NotPlainError("object array")
                    if int(np.prod(shape, dtype=np.float64)) * dtype.itemsize > info.file_size:
                        raise NotPlainError("array header larger than its data")
                with zf.open(info) as f:
                    arr = np.lib.format.read_array(f, allow_pickle=False)
                name = info.filename[: -len(".npy")]
                if name != "__tree__" and arr.dtype.kind not in NUMERIC_KINDS:
                    raise NotPlainError(f"array of dtype {arr.dtype}")
                arrays[name] = arr
    except NotPlainError:
        raise
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, KeyError) as exc:
        raise NotPlainError(f"unreadable result file: {exc}") from None
    tree = arrays.pop("__tree__", None)
    if tree is None or tree.dtype.kind != "U" or tree.shape != ():
        raise NotPlainError("missing tree")
    try:
        node = json.loads(str(tree.item()))
        return _decode(node, arrays, 0)
    except (RecursionError, json.JSONDecodeError) as exc:
        raise NotPlainError(f"malformed tree: {exc}") from None
