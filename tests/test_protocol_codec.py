"""The JSON Lines decoder and encoder, fed whole, byte by byte, and with trailing data."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    MAX_CLIENT_FRAME_BYTES,
    BadFrame,
    FrameDecoder,
    FrameTooLarge,
    ProtocolError,
    encode_wire,
)

HELLO = {"type": "hello", "nick": "alice", "proto": 1}
SAY = {"type": "say", "text": "привет, мир"}


def feed_all(decoder: FrameDecoder, chunks: list[bytes]) -> list[Any]:
    out: list[Any] = []
    for chunk in chunks:
        out.extend(decoder.receive_data(chunk))
    return out


def test_frames_in_one_chunk() -> None:
    data = encode_wire(HELLO) + encode_wire(SAY)
    assert FrameDecoder().receive_data(data) == [HELLO, SAY]


def test_frame_byte_by_byte() -> None:
    data = encode_wire(SAY)
    decoder = FrameDecoder()
    results = feed_all(decoder, [data[i : i + 1] for i in range(len(data))])
    assert results == [SAY]
    assert decoder.buffered_bytes == 0


def test_trailing_partial_frame_waits() -> None:
    data = encode_wire(HELLO) + encode_wire(SAY)
    decoder = FrameDecoder()
    assert decoder.receive_data(data[:-5]) == [HELLO]
    assert decoder.buffered_bytes > 0
    assert decoder.receive_data(data[-5:]) == [SAY]


def test_crlf_and_empty_lines_are_tolerated() -> None:
    assert FrameDecoder().receive_data(b'\n\r\n{"type":"who"}\r\n\n') == [{"type": "who"}]


def test_frame_at_the_limit_is_accepted() -> None:
    base = encode_wire({"type": "say", "text": ""})
    text = "x" * (MAX_CLIENT_FRAME_BYTES - len(base))
    data = encode_wire({"type": "say", "text": text})
    assert len(data) == MAX_CLIENT_FRAME_BYTES
    assert FrameDecoder().receive_data(data) == [{"type": "say", "text": text}]


def test_oversized_frame_is_skipped_without_buffering() -> None:
    decoder = FrameDecoder()
    results = decoder.receive_data(b'{"type":"say","text":"' + b"x" * 10_000)
    assert results == []
    results = decoder.receive_data(b"x" * 10_000)
    assert [type(r) for r in results] == [FrameTooLarge]
    assert decoder.buffered_bytes == 0
    for _ in range(100):
        assert decoder.receive_data(b"y" * 65536) == []
        assert decoder.buffered_bytes == 0
    assert decoder.receive_data(b'"}\n' + encode_wire(SAY)) == [SAY]


def test_oversized_frame_in_one_chunk_is_reported_once() -> None:
    data = b"z" * (MAX_CLIENT_FRAME_BYTES + 1) + b"\n" + encode_wire(SAY)
    results = FrameDecoder().receive_data(data)
    assert isinstance(results[0], FrameTooLarge) and results[0].code == "frame_too_large"
    assert results[1:] == [SAY]


def test_bad_frames_are_reported_and_decoding_goes_on() -> None:
    data = b"\xff\xfe\n{not json\n[1, 2]\n\"str\"\n{\"no_type\": 1}\n{\"type\": 5}\n"
    data += b"NaN\n{\"type\":\"x\",\"v\":Infinity}\n" + encode_wire(SAY)
    results = FrameDecoder().receive_data(data)
    assert all(isinstance(r, BadFrame) and r.code == "bad_frame" for r in results[:-1])
    assert len(results) == 9
    assert results[-1] == SAY


def test_deeply_nested_json_is_a_bad_frame() -> None:
    results = FrameDecoder().receive_data(b"[" * 15_000 + b"\n")
    assert len(results) == 1 and isinstance(results[0], BadFrame)


def test_encoder_writes_one_utf8_line() -> None:
    data = encode_wire({"type": "say", "text": "a\nb\u2028c привет"})
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert json.loads(data) == {"type": "say", "text": "a\nb\u2028c привет"}
    assert "привет".encode() in data


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
frames = st.builds(
    lambda kind, extra: {**extra, "type": kind},
    st.text(min_size=1, max_size=10),
    st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)


@settings(max_examples=200)
@given(st.lists(frames, max_size=8), st.data())
def test_any_frames_cut_into_any_chunks_decode_back(objs: list[dict[str, Any]],
                                                    data: st.DataObject) -> None:
    stream = b"".join(encode_wire(obj) for obj in objs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert feed_all(FrameDecoder(), chunks) == objs


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=3000), max_size=20), st.integers(16, 2048))
def test_arbitrary_bytes_never_raise_nor_overbuffer(chunks: list[bytes], limit: int) -> None:
    decoder = FrameDecoder(limit)
    for chunk in chunks:
        for result in decoder.receive_data(chunk):
            assert isinstance(result, (dict, ProtocolError))
        assert decoder.buffered_bytes < limit
