"""Resume tokens: bound to a nick's key, valid for a day, unforgeable without the secret."""

from __future__ import annotations

from server.tokens import RESUME_TOKEN_TTL_S, ResumeTokens


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_valid_for_its_nick_in_any_spelling_for_a_day() -> None:
    clock = Clock()
    tokens = ResumeTokens(b"k" * 32, clock=clock)
    token = tokens.issue("Alice")
    resume = tokens.check(token, "alice")
    assert resume is not None and resume.issued == int(clock.now) and not resume.identified
    identified = tokens.check(tokens.issue("alice", identified=True), "ALICE")
    assert identified is not None and identified.identified
    assert tokens.check(token, "bob") is None
    clock.now += RESUME_TOKEN_TTL_S - 1
    assert tokens.check(token, "ALICE") is not None
    clock.now += 2
    assert tokens.check(token, "alice") is None


def test_tokens_differ_and_need_the_secret() -> None:
    tokens = ResumeTokens(b"k" * 32)
    first, second = tokens.issue("alice"), tokens.issue("alice")
    assert first != second
    assert ResumeTokens(b"x" * 32).check(first, "alice") is None
    stamp, nonce, mac = first.split(".")
    for forged in (f"{stamp}.{nonce}.{mac[:-1]}A", f"{stamp}.x{nonce}.{mac}", "junk", "",
                   f"zz.{nonce}.{mac}", f"{stamp}.{mac}", f"{stamp}.i{nonce[1:]}.{mac}"):
        assert tokens.check(forged, "alice") is None
    assert len(first) <= 64
