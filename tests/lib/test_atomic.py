"""The one atomic-write helper: the new content replaces the old one whole, and no temporary
file is left, whatever writes it (bytes, np.savez, zipfile) and whether or not it fails."""

import os

import pytest

from cs231n_lib.atomic import atomic_path, replace_durably, write_atomically


def test_write_atomically_writes_text_and_bytes_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "out.txt"
    write_atomically(path, "first\n")
    assert path.read_text() == "first\n"
    write_atomically(str(path), b"\x00second")
    assert path.read_bytes() == b"\x00second"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_write_atomically_keeps_the_old_content_when_the_write_fails(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(TypeError):
        write_atomically(path, 12345)  # neither str nor bytes
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_atomic_path_serves_any_writer_and_keeps_the_old_file_when_the_writer_fails(tmp_path):
    import zipfile

    import numpy as np

    path = tmp_path / "answers.npz"
    with atomic_path(path, suffix=".npz", durable=False) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path) and tmp.endswith(".npz")
        np.savez(tmp, a=np.arange(3))
    assert np.load(path)["a"].tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError, match="disk on fire"), atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, a=np.zeros(5))
        raise RuntimeError("disk on fire")
    assert np.load(path)["a"].tolist() == [0, 1, 2]
    zipped = tmp_path / "hand-in.zip"
    with atomic_path(zipped) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        zf.writestr("a.txt", "hello")
    assert zipfile.ZipFile(zipped).read("a.txt") == b"hello"
    assert sorted(os.listdir(tmp_path)) == ["answers.npz", "hand-in.zip"]


def test_replace_durably_moves_a_finished_file_into_place(tmp_path):
    part = tmp_path / "archive.tar.gz.part"
    part.write_bytes(b"done")
    replace_durably(part, tmp_path / "archive.tar.gz")
    assert os.listdir(tmp_path) == ["archive.tar.gz"] and (tmp_path / "archive.tar.gz").read_bytes() == b"done"
