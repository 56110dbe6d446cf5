"""Dropping sent bytes from an outbox's buffer list."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.outbound import Buffer, _consume


@given(st.lists(st.binary(min_size=1, max_size=20), max_size=10), st.data())
def test_consume_drops_exactly_the_sent_prefix(chunks: list[bytes], data: st.DataObject) -> None:
    whole = b"".join(chunks)
    sent = data.draw(st.integers(0, len(whole)))
    buffers: list[Buffer] = list(chunks)
    _consume(buffers, sent)
    assert b"".join(bytes(b) for b in buffers) == whole[sent:]
    assert all(len(b) > 0 for b in buffers)
