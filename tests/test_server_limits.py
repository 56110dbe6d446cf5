"""Rate limiting, password checks and idle detection, without sockets."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from server.limits import MAX_AUTH_DELAY_S, AuthGuard, TokenBucket
from server.reaper import IdleReaper


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5, 10, clock)
    assert [bucket.try_take() for _ in range(12)] == [True] * 10 + [False] * 2
    clock.now += 1.0
    assert [bucket.try_take() for _ in range(6)] == [True] * 5 + [False]
    clock.now += 100.0
    assert sum(bucket.try_take() for _ in range(20)) == 10


def test_zero_rate_means_unlimited() -> None:
    bucket = TokenBucket(0, 1, FakeClock())
    assert all(bucket.try_take() for _ in range(10_000))


def test_no_password_lets_everyone_in() -> None:
    guard = AuthGuard(None)
    assert not guard.required and guard.check("1.2.3.4", None) and guard.check("x", "any")


def test_password_check_and_growing_delay() -> None:
    clock = FakeClock()
    guard = AuthGuard("s3cret", clock)
    assert guard.required
    assert guard.delay_s("1.2.3.4") == 0
    assert not guard.check("1.2.3.4", "wrong")
    assert not guard.check("1.2.3.4", None)
    assert guard.delay_s("1.2.3.4") == 0.2
    for _ in range(20):
        guard.check("1.2.3.4", "wrong")
    assert guard.delay_s("1.2.3.4") == MAX_AUTH_DELAY_S
    assert guard.delay_s("5.6.7.8") == 0
    assert guard.check("1.2.3.4", "s3cret")
    assert guard.delay_s("1.2.3.4") == MAX_AUTH_DELAY_S  # a success does not wipe the record


def test_a_success_between_guesses_does_not_reset_the_wait() -> None:
    clock = FakeClock()
    guard = AuthGuard("s3cret", clock)
    waits = []
    for _ in range(4):  # a guesser who logs in correctly between its guesses
        assert not guard.check("1.2.3.4", "guess")
        waits.append(guard.delay_s("1.2.3.4"))
        assert guard.check("1.2.3.4", "s3cret")
    assert waits == [0.1, 0.2, 0.4, 0.8]
    clock.now += 601  # failures still expire after their window
    assert guard.delay_s("1.2.3.4") == 0


def test_failures_are_forgotten_after_a_while() -> None:
    clock = FakeClock()
    guard = AuthGuard("pw", clock)
    guard.check("a", "no")
    clock.now += 3600
    assert guard.delay_s("a") == 0


@dataclass
class FakeSession:
    peer: str
    last_heard: float
    events: list[str] = field(default_factory=list)

    def ping(self) -> None:
        self.events.append("ping")

    def close(self, reason: str) -> None:
        self.events.append(reason)


def test_reaper_pings_then_closes_silent_sessions() -> None:
    fresh, quiet, gone = FakeSession("a", 95.0), FakeSession("b", 40.0), FakeSession("c", 0.0)
    reaper = IdleReaper(100.0, lambda: [fresh, quiet, gone])
    reaper.check(now=100.0)
    assert (fresh.events, quiet.events, gone.events) == ([], ["ping"], ["idle_timeout"])


@pytest.mark.parametrize("timeout_s", [2.0, 240.0])
def test_reaper_pings_before_it_closes_even_when_it_wakes_late(timeout_s: float) -> None:
    session = FakeSession("a", 0.0)
    reaper = IdleReaper(timeout_s, lambda: [session])
    late = random.Random(7)
    for phase in (0.0, 0.25, 0.49, 0.5, 0.51, 0.99):
        session.events.clear()
        checks: list[tuple[float, list[str]]] = []
        now = phase * reaper.interval_s
        while "idle_timeout" not in session.events:
            reaper.check(now)
            checks.append((now, list(session.events)))
            now += reaper.interval_s * (1 + late.uniform(0, 0.2))  # a wake-up up to 20 % late
        pinged_at = next(t for t, events in checks if events == ["ping"])
        closed_at = checks[-1][0]
        assert closed_at - pinged_at >= timeout_s / 4  # the client had time to answer
