"""Nick passwords: derivation, checking, and the bound on derivations at once."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest

from server import accounts
from server.accounts import MAX_DERIVING, make_record, verify_password


def test_a_record_checks_its_password_and_nothing_else() -> None:
    record = make_record("Alice", "correct horse", now=1.0)
    assert record.key == "alice" and record.created == 1.0
    assert verify_password(record, "correct horse")
    assert not verify_password(record, "correct horsE")
    assert make_record("alice", "correct horse", now=1.0).salt != record.salt


def test_a_crowd_of_logins_derives_a_few_keys_at_a_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real, lock = hashlib.scrypt, threading.Lock()
    running, most = 0, 0

    def counting_scrypt(*args: Any, **kwargs: Any) -> bytes:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(accounts.hashlib, "scrypt", counting_scrypt)
    record = make_record("alice", "correct horse", now=0.0)
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(
        verify_password(record, "correct horse"))) for _ in range(4 * MAX_DERIVING)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * len(threads)
    assert most <= MAX_DERIVING
