"""Dropping sent bytes from an outbox's buffer list; stopping the flusher."""

from __future__ import annotations

import logging
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.outbound import Buffer, Flusher, _consume


@given(st.lists(st.binary(min_size=1, max_size=20), max_size=10), st.data())
def test_consume_drops_exactly_the_sent_prefix(chunks: list[bytes], data: st.DataObject) -> None:
    whole = b"".join(chunks)
    sent = data.draw(st.integers(0, len(whole)))
    buffers: list[Buffer] = list(chunks)
    _consume(buffers, sent)
    assert b"".join(bytes(b) for b in buffers) == whole[sent:]
    assert all(len(b) > 0 for b in buffers)


def test_a_flusher_that_will_not_stop_is_named_in_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flusher = Flusher()
    stuck = threading.Event()
    flusher._thread = threading.Thread(target=stuck.wait, name="flusher", daemon=True)
    flusher.start()  # a flusher stuck in a send, say
    try:
        with caplog.at_level(logging.WARNING, logger="server.outbound"):
            flusher.stop(timeout=0.0)
        assert "still busy" in caplog.text
    finally:
        stuck.set()
