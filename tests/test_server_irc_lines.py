"""IRC line parsing and spelling: whole, byte by byte, in chunks; tags; the limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.irc.lines import (
    MAX_LINE_BYTES,
    MAX_TAG_BYTES,
    BadEncoding,
    InputTooLong,
    Line,
    LineDecoder,
    escape_tag_value,
    parse_line,
    unescape_tag_value,
)

STREAM = (b"CAP LS 302\r\nNICK alice\nUSER a 0 * :Alice Liddell\r\n"
          b"@label=x;+draft/reply=1 :alice!a@h PRIVMSG #dev :hi there: all\r\n"
          b"\r\nPING :\r\nprivmsg  bob   :two  spaces\r\n")


def parsed(lines: list[Line | Exception]) -> list[tuple[str, tuple[str, ...]]]:
    return [(line.command, line.params) for line in lines if isinstance(line, Line)]


EXPECTED = [
    ("CAP", ("LS", "302")),
    ("NICK", ("alice",)),
    ("USER", ("a", "0", "*", "Alice Liddell")),
    ("PRIVMSG", ("#dev", "hi there: all")),
    ("PING", ("",)),
    ("PRIVMSG", ("bob", "two  spaces")),
]


def test_a_stream_whole_byte_by_byte_and_with_trailing_data() -> None:
    assert parsed(LineDecoder().receive_data(STREAM)) == EXPECTED
    decoder = LineDecoder()
    out: list[Line | Exception] = []
    for i in range(len(STREAM)):
        out += decoder.receive_data(STREAM[i:i + 1])
    assert parsed(out) == EXPECTED
    decoder = LineDecoder()
    assert parsed(decoder.receive_data(STREAM + b"QUIT :la")) == EXPECTED
    assert parsed(decoder.receive_data(b"ter\r\n")) == [("QUIT", ("later",))]


@given(st.lists(st.integers(min_value=1, max_value=40), max_size=30))
def test_a_stream_in_any_chunks(sizes: list[int]) -> None:
    decoder = LineDecoder()
    out: list[Line | Exception] = []
    rest = STREAM
    for size in sizes:
        out += decoder.receive_data(rest[:size])
        rest = rest[size:]
    out += decoder.receive_data(rest)
    assert parsed(out) == EXPECTED


def test_tags_source_and_command_case() -> None:
    line = parse_line(rb"@a=b\:c\sd\\e\r\n;flag;+x= :nick!u@h privmsg #c :t")
    assert line is not None
    assert line.tags == {"a": "b;c d\\e\r\n", "flag": "", "+x": ""}
    assert (line.source, line.command, line.params) == ("nick!u@h", "PRIVMSG", ("#c", "t"))
    assert unescape_tag_value("a\\") == "a" and unescape_tag_value("\\b") == "b"
    for value in ("plain", "semi;colon", "sp ace", "back\\slash", "cr\rlf\n"):
        assert unescape_tag_value(escape_tag_value(value)) == value


def test_empty_lines_are_skipped() -> None:
    assert parse_line(b"") is None and parse_line(b"   ") is None
    assert parse_line(b"@a=b ") is None


def test_the_limits_are_512_bytes_after_4096_of_tags() -> None:
    at_limit = b"PING " + b"x" * (MAX_LINE_BYTES - 7)
    assert len(at_limit) == 510
    line = parse_line(at_limit)
    assert line is not None and line.params == ("x" * 505,)
    with pytest.raises(InputTooLong) as caught:
        parse_line(at_limit + b"x")
    assert caught.value.command == "PING"
    tags = b"@+a=" + b"b" * (MAX_TAG_BYTES - 5) + b" "
    assert len(tags) == MAX_TAG_BYTES
    assert parse_line(tags + b"TAGMSG #c") is not None
    with pytest.raises(InputTooLong):
        parse_line(b"@+a=b" + tags[4:] + b"TAGMSG #c")


def test_an_endless_line_is_reported_once_and_skipped() -> None:
    decoder = LineDecoder()
    errors = decoder.receive_data(b"PRIVMSG #c :" + b"x" * 10_000)
    errors += decoder.receive_data(b"y" * 10_000)
    assert [type(e) for e in errors] == [InputTooLong]
    assert parsed(decoder.receive_data(b"zzz\r\nPING a\r\n")) == [("PING", ("a",))]


def test_a_line_that_is_not_utf8_is_refused_with_its_command() -> None:
    (error,) = LineDecoder().receive_data(b"privmsg #c :caf\xe9\r\n")
    assert isinstance(error, BadEncoding) and error.command == "PRIVMSG"
    (error,) = LineDecoder().receive_data(b"@label=x;a=b privmsg #c :caf\xe9\r\n")
    assert isinstance(error, BadEncoding) and error.tags == {"label": "x", "a": "b"}
    (error,) = LineDecoder().receive_data(b"@label=\xe9 privmsg #c :caf\xe9\r\n")
    assert isinstance(error, BadEncoding) and error.tags == {}  # the tags are not UTF-8


def test_spelling_lines() -> None:
    assert Line("PRIVMSG", ("#c", "hi there")).to_bytes() == b"PRIVMSG #c :hi there\r\n"
    assert Line("JOIN", ("#c",), "n!u@h").to_bytes() == b":n!u@h JOIN #c\r\n"
    assert Line("PRIVMSG", ("#c", "hi"), trailing=True).to_bytes() == b"PRIVMSG #c :hi\r\n"
    assert Line("X", ("a", ""), ).to_bytes() == b"X a :\r\n"
    assert Line("X", (":colon",)).to_bytes() == b"X ::colon\r\n"
    tagged = Line("PRIVMSG", ("#c", "a\r\nb"), "s", {"msgid": "1", "t": "x y;z"})
    assert tagged.to_bytes() == b"@msgid=1;t=x\\sy\\:z :s PRIVMSG #c :a  b\r\n"
    assert tagged.with_tags({"batch": "B1"}).tags == {"msgid": "1", "t": "x y;z", "batch": "B1"}


@given(st.text(alphabet=st.characters(blacklist_characters="\r\n\0",
                                      blacklist_categories=("Cs",)), max_size=200))
def test_a_spelt_trailing_parameter_parses_back(text: str) -> None:
    line = parse_line(Line("PRIVMSG", ("#c", text)).to_bytes()[:-2])
    assert line is not None and line.params == ("#c", text)
