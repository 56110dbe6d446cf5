"""A channel's roster (tui_client.roster): order kept in place, batches, partial counts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol import nick_key
from tui_client.roster import Roster

NICKS = ["alice", "Alice", "bob", "Bob", "carol", "dave", "Эльза", "эльза", "zed", "ẞig"]


def in_order(names: dict[str, str]) -> list[str]:
    """What a roster of ``names`` (key -> nick) lists: by key."""
    return [names[key] for key in sorted(names)]


batches = st.lists(
    st.tuples(st.lists(st.sampled_from(NICKS + [f"u{i}" for i in range(40)]), max_size=40),
              st.lists(st.sampled_from(NICKS + [f"u{i}" for i in range(40)]), max_size=40)),
    max_size=8,
)


@given(start=st.lists(st.sampled_from(NICKS), max_size=10), steps=batches,
       ops=st.lists(st.sampled_from(NICKS), max_size=3))
def test_batches_and_single_changes_keep_the_same_order(
    start: list[str], steps: list[tuple[list[str], list[str]]], ops: list[str]
) -> None:
    batched, single = Roster(start, ops), Roster(start, ops)
    model = {nick_key(n): n for n in start}
    op_keys = {nick_key(n) for n in ops} & model.keys()
    for joined, left in steps:
        batched.update(joined, left)
        for nick in left:
            single.remove(nick)
            model.pop(nick_key(nick), None)
            op_keys.discard(nick_key(nick))
        for nick in joined:
            single.add(nick)
            model.setdefault(nick_key(nick), nick)
    for roster in (batched, single):
        assert roster.names == in_order(model)
        assert len(roster) == roster.count == len(model) and not roster.partial
        ranked = roster.ranked()
        assert ranked == [n for n in ranked if nick_key(n) in op_keys] + [
            n for n in ranked if nick_key(n) not in op_keys]
        assert sorted(ranked, key=nick_key) == in_order(model)
        assert all(roster.is_operator(n) == (nick_key(n) in op_keys) for n in ranked)


def test_a_batch_of_hundreds_lands_in_order_and_leaves_the_rest_alone() -> None:
    roster = Roster([f"user{i:04d}" for i in range(0, 2000, 2)], operators=["user0010"])
    joined = [f"User{i:04d}" for i in range(1999, 0, -2)]  # odd ones, newest first
    left = [f"user{i:04d}" for i in range(0, 600, 2)] + ["nobody"]
    roster.update(joined, left)
    expected = sorted(joined + [f"user{i:04d}" for i in range(600, 2000, 2)], key=nick_key)
    assert roster.names == expected and roster.count == len(expected) == 1700
    assert not roster.is_operator("user0010") and "user0010" not in roster
    roster.update(joined=[], left=joined[:20])  # enough to be merged, not placed one by one
    assert roster.names == [n for n in expected if n not in joined[:20]]


def test_a_partial_roster_counts_the_members_it_does_not_list() -> None:
    roster = Roster()
    roster.replace(["me", "op"], operators=["op"], users=10_000)
    assert roster.partial and roster.count == 10_000 and len(roster) == 2
    roster.update(joined=["a", "b", "me"], left=["unlisted", "op"])  # "me" was listed already
    assert roster.count == 10_000 and roster.names == ["a", "b", "me"]
    assert roster.add("c") and not roster.add("C") and roster.count == 10_001
    assert not roster.remove("stranger") and roster.count == 10_000  # left, though not listed
    assert roster.remove("a") and roster.count == 9_999
    roster.replace(["me", "x"])  # the whole roster, from who
    assert not roster.partial and roster.count == 2
    assert not roster.remove("stranger") and roster.count == 2


def test_a_partial_count_never_goes_below_those_listed() -> None:
    roster = Roster()
    roster.replace(["me"], users=2)
    roster.update(joined=[], left=["x", "y", "z"])
    assert roster.count == 1 and roster.partial


def test_window_shows_a_slice_of_the_ranked_list() -> None:
    roster = Roster([f"u{i:02d}" for i in range(20)], operators=["u15", "u05"])
    ranked = roster.ranked()
    assert ranked[:3] == ["u05", "u15", "u00"]
    for start in (0, 1, 2, 3, 17, 19, 25):
        for size in (0, 1, 3, 30):
            assert roster.window(start, size) == ranked[start : start + size], (start, size)


def test_starting_with_finds_a_prefix_operators_included_in_key_order() -> None:
    roster = Roster(["alice", "Alex", "bob", "alfred", "Борис", "carol"], operators=["alfred"])
    assert roster.starting_with("al") == ["Alex", "alfred", "alice"]
    assert roster.starting_with(nick_key("БО")) == ["Борис"]
    assert roster.starting_with("zz") == []
    assert roster.starting_with("") == roster.names == [
        "Alex", "alfred", "alice", "bob", "carol", "Борис"]


def test_operators_move_between_the_parts_and_follow_renames() -> None:
    roster = Roster(["me", "bob", "carol"])
    assert roster.set_operator("carol", True) and roster.ranked() == ["carol", "bob", "me"]
    assert roster.rename("carol", "Ann") and roster.ranked() == ["Ann", "bob", "me"]
    assert roster.is_operator("ann") and roster.label("ANN") == "@ANN"
    assert roster.set_operator("ann", False) and roster.ranked() == ["Ann", "bob", "me"]
    assert not roster.is_operator("ann")
    assert not roster.set_operator("ghost", True) and not roster.rename("ghost", "x")
