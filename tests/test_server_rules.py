"""Nick passwords, bans and what is kept of moderation: pure parts and the SQLite tables."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from protocol import BanUser
from server.accounts import SCRYPT_N, make_record, verify_password
from server.membership import Channel, Member
from server.moderation import ban_for, join_refusal
from server.rules import ClaimChange, MemoryRules, SqliteRules, find_ban
from server.store import ChannelRecord
from server.tokens import Claim


def test_a_password_is_kept_only_as_a_salted_scrypt_key() -> None:
    record = make_record("Alice", "correct horse", 1.0)
    assert record.key == "alice" and record.n == SCRYPT_N and len(record.salt) == 16
    assert b"correct horse" not in record.digest
    assert verify_password(record, "correct horse")
    assert not verify_password(record, "Correct horse")
    assert make_record("Alice", "correct horse", 1.0).salt != record.salt


def member(nick: str, account: str | None = None, address: str = "10.0.0.1") -> Member:
    return Member(nick=nick, key=nick.lower(), link=None, account=account, address=address)


def test_bans_hold_an_account_a_nick_or_an_address_until_they_end() -> None:
    now = 1000.0
    by_account = ban_for(BanUser(nick="Bob", channel="#a", minutes=1), "bob", "bob", None,
                         "alice", now)
    assert [(b.kind, b.value, b.until) for b in by_account] == [
        ("nick", "bob", 1060.0), ("account", "bob", 1060.0)]  # the nick too: for unregister
    with_address = ban_for(BanUser(nick="eve", channel="#a", address=True), "eve", None,
                           "10.0.0.9", "alice", now)
    assert [(b.kind, b.value, b.until) for b in with_address] == [
        ("nick", "eve", None), ("address", "10.0.0.9", None)]
    assert find_ban(by_account, now + 59, "bob", "robert", None) is not None
    assert find_ban(by_account, now + 61, "bob", "robert", None) is None  # over
    assert find_ban(by_account, now + 59, None, "bob", None) is not None  # account given up
    assert find_ban(with_address, now, None, "someone", "10.0.0.9") is not None
    assert find_ban(with_address, now, None, "someone", "10.0.0.8") is None
    renamed = ban_for(BanUser(nick="bob2", channel="#a"), "bob2", "bob", None, "alice", now)
    assert find_ban(renamed, now, "bob", "bob", None) is not None  # renamed back: the account
    assert all(b.lifted_by("bob2") for b in renamed)  # unban as banned: all of it
    assert [b.kind for b in renamed if b.lifted_by("bob")] == ["account"]  # by account: that
    assert not any(b.lifted_by("carol") for b in renamed)


def test_who_may_enter_a_channel() -> None:
    channel = Channel("#a", ChannelRecord(name="#a"), [])
    channel.bans = ban_for(BanUser(nick="bob", channel="#a", reason="spam"), "bob", None,
                           None, "alice", 0.0)
    assert join_refusal(channel, member("carol"), (), 1.0) is None
    refusal = join_refusal(channel, member("bob"), (), 1.0)
    assert refusal is not None and refusal.code == "banned" and "spam" in refusal.message
    assert join_refusal(channel, member("bob", account="bob"), ("bob",), 1.0) is None  # admin
    channel.invite_only = True
    assert join_refusal(channel, member("carol"), (), 1.0).code == "invite_only"  # type: ignore
    channel.invited.add("carol")
    assert join_refusal(channel, member("carol"), (), 1.0) is None
    channel.operators.add("dave")
    assert join_refusal(channel, member("dave", account="dave"), (), 1.0) is None


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_rules_are_kept(kind: str, tmp_path: Path) -> None:
    def open_rules() -> SqliteRules | MemoryRules:
        return SqliteRules(tmp_path / "chat.db") if kind == "sqlite" else memory

    memory = MemoryRules()
    rules = open_rules()
    record = make_record("Alice", "correct horse", 5.0)
    rules.save_account(record)
    rules.set_operator("#a", "alice", True)
    rules.set_operator("#a", "bob", True)
    rules.set_operator("#a", "bob", False)
    rules.save_modes("#a", True, False)
    for ban in ban_for(BanUser(nick="eve", channel="#a", address=True), "eve", None, "1.2.3.4",
                       "alice", 0.0):
        rules.save_ban(ban)
    rules.close()
    rules = open_rules()
    assert rules.account("alice") == record and rules.account("bob") is None
    assert rules.operators("#a") == {"alice"} and rules.modes("#a") == (True, False)
    assert {b.kind for b in rules.bans("#a")} == {"nick", "address"} and rules.bans("#b") == []
    assert len(rules.delete_bans("#a", "eve")) == 2 and rules.bans("#a") == []
    rules.save_account(dataclasses.replace(record, digest=b"x" * 32))
    assert rules.account("alice").digest == b"x" * 32  # type: ignore[union-attr]
    rules.delete_account("alice")
    assert rules.account("alice") is None and rules.operators("#a") == set()
    rules.close()


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_claims_are_kept_and_released(kind: str, tmp_path: Path) -> None:
    memory = MemoryRules()

    def open_rules() -> SqliteRules | MemoryRules:
        return SqliteRules(tmp_path / "chat.db") if kind == "sqlite" else memory

    rules = open_rules()
    rules.save_claims([ClaimChange("sam", "c1", taken=True), ClaimChange("ann", "a1", taken=True),
                       ClaimChange("old", "o1", taken=True), ClaimChange("old", "o1", 50.0)])
    assert rules.claim("sam") == Claim("c1") and rules.claim("old") == Claim("o1", 50.0)
    rules.save_claims([ClaimChange("sam", "c1", 500.0),  # dropped: a day more
                       ClaimChange("sam", "c2", taken=True),  # someone else took it
                       ClaimChange("sam", "c1", 900.0)])  # a late release of c1: no effect
    assert rules.claim("sam") == Claim("c2")
    rules.close()
    rules = open_rules()  # a restart: every held claim is released, the old ones are gone
    rules.release_claims(now=100.0, until=1000.0)
    assert rules.claim("sam") == Claim("c2", 1000.0) and rules.claim("old") is None
    rules.delete_claim("ann")  # a password reset
    assert rules.claim("ann") is None
    rules.close()
