"""CHATHISTORY requests as pages of history, and times shown to the millisecond."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.hub import Span
from server.irc.dialect import iso_time, parse_time, time_ms
from server.irc.history import BadHistoryRequest, parse_chathistory


def pages(*params: str) -> list[tuple[Span, int]]:
    request = parse_chathistory(params, 500)
    return [(page.span, page.limit) for page in request.pages]


def test_each_subcommand_by_msgid() -> None:
    assert pages("LATEST", "#c", "*", "10") == [(Span(newest=True), 10)]
    assert pages("latest", "#c", "msgid=4", "10") == [(Span(after_id=4, newest=True), 10)]
    assert pages("BEFORE", "#c", "msgid=7", "3") == [(Span(before_id=7, newest=True), 3)]
    assert pages("AFTER", "#c", "msgid=4-2", "9999") == [(Span(after_id=4, newest=False), 500)]
    assert pages("BETWEEN", "#c", "msgid=1", "msgid=9", "3") == [
        (Span(after_id=1, before_id=9, newest=False), 3)]
    assert pages("BETWEEN", "#c", "msgid=9", "msgid=1", "3") == [
        (Span(after_id=1, before_id=9, newest=True), 3)]
    assert pages("AROUND", "#c", "msgid=8", "3") == [
        (Span(before_id=8, newest=True), 1), (Span(after_id=7, newest=False), 2)]
    assert pages("AROUND", "#c", "msgid=8", "1") == [(Span(after_id=7, newest=False), 1)]


def test_a_timestamp_stands_for_its_whole_millisecond() -> None:
    ms = parse_time("2024-05-01T12:00:00.123Z")
    assert ms is not None and iso_time(ms / 1000) == "2024-05-01T12:00:00.123Z"
    (before, _), = pages("BEFORE", "#c", "timestamp=2024-05-01T12:00:00.123Z", "5")
    assert before.before_ts == ms / 1000
    (after, _), = pages("AFTER", "#c", "timestamp=2024-05-01T12:00:00.123Z", "5")
    assert after.after_ts is not None
    inside = math.nextafter((ms + 1) / 1000, -math.inf)  # shown as .123: not after it
    assert not inside > after.after_ts and (ms + 1) / 1000 > after.after_ts


@pytest.mark.parametrize("params", [
    ("LATEST", "#c", "*"), ("BEFORE", "#c", "*", "5"), ("AFTER", "#c", "msgid=x", "5"),
    ("LATEST", "#c", "*", "0"), ("TARGETS", "a", "b", "5"), ("BETWEEN", "#c", "msgid=1", "2"),
])
def test_bad_requests_say_why(params: tuple[str, ...]) -> None:
    with pytest.raises(BadHistoryRequest) as caught:
        parse_chathistory(params, 500)
    assert caught.value.code == "INVALID_PARAMS"


@given(st.floats(min_value=1e9, max_value=4e9), st.integers(min_value=-3, max_value=3))
def test_shown_times_and_bounds_agree(ts: float, offset: int) -> None:
    k = time_ms(ts) + offset
    assert (k / 1000 <= ts) == (time_ms(ts) >= k)
