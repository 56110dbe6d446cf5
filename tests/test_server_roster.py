"""The incrementally sorted roster agrees with sorting from scratch."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol import nick_key
from server.roster import SortedRoster

nick = st.text(alphabet="abcABCжЖ_.-1", min_size=1, max_size=4)


@given(st.lists(st.tuples(st.booleans(), nick), max_size=60))
def test_matches_a_fresh_sort(ops: list[tuple[bool, str]]) -> None:
    roster, expected = SortedRoster(), {}
    for adding, name in ops:
        key = nick_key(name)
        if adding and key not in expected:
            roster.add(key, name)
            expected[key] = name
        elif not adding:
            roster.remove(key)
            expected.pop(key, None)
    assert roster.nicks() == sorted(expected.values(), key=nick_key)
    assert len(roster) == len(expected)
