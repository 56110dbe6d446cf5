"""Resume tokens: bound to a nick's key and its claim, unforgeable without the secret."""

from __future__ import annotations

import sqlite3
import time

import pytest
import redis
from conftest import HUBS
from helpers import RawClient, ServerProcess, wait_until
from test_server_channels import sync, user, welcomed

from server.tokens import RESUME_TOKEN_TTL_S, Claim, ResumeTokens


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_valid_for_its_nick_in_any_spelling_under_its_claim() -> None:
    clock = Clock()
    tokens = ResumeTokens(b"k" * 32, clock=clock)
    held = Claim("c1")
    token = tokens.issue("Alice", "c1")
    resume = tokens.check(token, "alice", held)
    assert resume is not None and resume.issued == int(clock.now) and not resume.identified
    identified = tokens.check(tokens.issue("alice", "c1", identified=True), "ALICE", held)
    assert identified is not None and identified.identified
    assert tokens.check(token, "bob", held) is None
    assert tokens.check(token, "alice", Claim("c2")) is None  # someone took the nick since
    assert tokens.check(token, "alice", None) is None  # no claim: revoked or long gone


def test_a_token_lasts_while_its_claim_is_held_and_a_day_after_the_drop() -> None:
    clock = Clock()
    tokens = ResumeTokens(b"k" * 32, clock=clock)
    token = tokens.issue("alice", "c1")
    clock.now += 10 * RESUME_TOKEN_TTL_S  # connected for ten days
    assert tokens.check(token, "alice", Claim("c1")) is not None
    dropped = Claim("c1", until=clock.now + RESUME_TOKEN_TTL_S)
    clock.now += RESUME_TOKEN_TTL_S - 1
    assert tokens.check(token, "alice", dropped) is not None
    clock.now += 2
    assert tokens.check(token, "alice", dropped) is None


def test_tokens_differ_and_need_the_secret() -> None:
    tokens = ResumeTokens(b"k" * 32)
    claim = Claim("c1")
    first, second = tokens.issue("alice", "c1"), tokens.issue("alice", "c1")
    assert first != second
    assert ResumeTokens(b"x" * 32).check(first, "alice", claim) is None
    stamp, nonce, mac = first.split(".")
    for forged in (f"{stamp}.{nonce}.{mac[:-1]}A", f"{stamp}.x{nonce}.{mac}", "junk", "",
                   f"zz.{nonce}.{mac}", f"{stamp}.{mac}", f"{stamp}.i{nonce[1:]}.{mac}"):
        assert tokens.check(forged, "alice", claim) is None
    assert len(first) <= 64


# Over real sockets, on both hubs: a token is worth its claim, no more and no less.

Stored = tuple[bytes, Claim | None]


def stored(server: ServerProcess, key: str) -> Stored:
    """The server's token secret, and the claim nick ``key`` is held under, as kept."""
    if server.redis is not None:
        client = redis.Redis.from_url(server.redis.url)
        secret = bytes.fromhex(client.get("tc:secret").decode())  # type: ignore[union-attr]
        value, ttl = client.get(f"tc:claim:{key}"), client.ttl(f"tc:claim:{key}")
        if not isinstance(value, bytes):
            return secret, None
        return secret, Claim(value.decode(), time.time() + ttl if ttl >= 0 else None)
    with sqlite3.connect(server.db_path) as db:
        (hexed,) = db.execute(
            "SELECT value FROM settings WHERE key = 'resume-token-key'").fetchone()
        row = db.execute("SELECT claim, until FROM claims WHERE key = ?", (key,)).fetchone()
    return bytes.fromhex(hexed), Claim(*row) if row else None


@pytest.mark.parametrize("hub", HUBS, indirect=True)
def test_a_token_does_not_take_back_a_nick_someone_else_took(server: ServerProcess) -> None:
    first, welcome = welcomed(server, "sam")
    carol = user(server, "carol")
    first.send({"type": "quit"})
    first.wait_closed()
    carol.recv_until("leave", nick="sam")
    second, _ = welcomed(server, "sam")  # someone else, without a token
    carol.send({"type": "msg", "to": "sam", "text": "secret for B"})
    second.recv_until("message", text="secret for B")
    intruder = RawClient(server.port)
    assert intruder.hello("sam", resume=welcome["resume"], since=0)["code"] == "nick_taken"
    sync(second)  # not replaced
    second.send({"type": "quit"})
    second.wait_closed()
    carol.recv_until("leave", nick="sam")
    _, again = welcomed(server, "sam", resume=welcome["resume"], since=0)
    assert "private" not in again  # a fresh session: nothing of B's is replayed


@pytest.mark.parametrize("hub", HUBS, indirect=True)
def test_a_long_session_resumes_with_its_first_token_a_day_from_the_drop(
        server: ServerProcess) -> None:
    first, _ = welcomed(server, "sam")
    sync(first)  # the claim is kept once the hub's batch is done
    secret, claim = stored(server, "sam")
    assert claim is not None and claim.until is None  # held
    days_ago = ResumeTokens(secret, clock=lambda: time.time() - 3 * RESUME_TOKEN_TTL_S)
    token = days_ago.issue("sam", claim.id)  # its welcome's, three days ago
    second, _ = welcomed(server, "sam", resume=token)  # the link was lost: take it over
    assert first.wait_closed()[-1]["reason"] == "replaced"
    second.close()
    assert wait_until(lambda: (stored(server, "sam")[1] or claim).until is not None)
    _, dropped = stored(server, "sam")
    assert dropped is not None and dropped.id == claim.id and dropped.until is not None
    assert abs(dropped.until - (time.time() + RESUME_TOKEN_TTL_S)) < 60  # a day from the drop
    welcomed(server, "sam", resume=token)
