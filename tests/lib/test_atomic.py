"""write_atomically: the new content replaces the old one whole, and no temporary file is left."""

import os

import pytest

from cs231n_lib.atomic import write_atomically


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
