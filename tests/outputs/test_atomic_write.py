"""atomic_write: bytes or chunks of bytes, all or nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.outputs.files import atomic_write


@given(st.lists(st.binary(max_size=64), max_size=20))
def test_chunks_are_written_as_their_concatenation(tmp_path_factory, chunks):
    path = tmp_path_factory.mktemp("w") / "out.ris"
    atomic_write(path, iter(chunks))
    assert path.read_bytes() == b"".join(chunks)


def test_a_failure_between_chunks_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "records.ris"
    path.write_bytes(b"old")

    def chunks():
        yield b"TY  - JOUR\r\n"
        raise RuntimeError("the state store went away")

    with pytest.raises(RuntimeError, match="the state store went away"):
        atomic_write(path, chunks())
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["records.ris"]
