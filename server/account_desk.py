"""Account requests as a front door carries them out, on its own reader thread.

Checking or hashing a nick password takes tens of milliseconds on purpose, so
the front door (a native or IRC session) does it before it asks the hub, which
only records what was proved. A wrong password is answered late, the wait
doubling for each recent failure from the same address. Thread-safe; one desk
serves every session.
"""

from __future__ import annotations

import threading
import time

from protocol import Account, validate_password
from server.accounts import make_record, verify_password
from server.errors import NotRegistered, not_identified, wrong_nick_password
from server.hub import Hub, Link
from server.limits import FailureDelays

__all__ = ["AccountDesk"]


class AccountDesk:
    """Check nick passwords against the hub's accounts, and ask the hub to record changes."""

    def __init__(self, hub: Hub, stopping: threading.Event | None = None) -> None:
        self._hub = hub
        self._delays = FailureDelays()
        self._stopping = stopping or threading.Event()

    def proves(self, nick: str, password: str | None, address: str) -> bool:
        """Tell whether ``password`` is that of the registered ``nick`` (False if no password).

        Raises ``auth_failed`` (after the wait) for a wrong one.
        """
        record = self._hub.account_record(nick)
        if record is None or password is None:
            return False
        self._check(verify_password(record, password), address)
        return True

    def _check(self, ok: bool, address: str) -> None:
        self._delays.record(address, ok)
        if not ok:
            self._stopping.wait(self._delays.delay_s(address))
            raise wrong_nick_password()

    def register(self, link: Link, password: str) -> Account:
        validate_password(password)
        return self._hub.register(link, make_record("", password, time.time()))

    def identify(self, link: Link, nick: str, password: str, address: str) -> Account:
        record = self._hub.account_record(nick)
        if record is None:
            raise NotRegistered(f"{nick} is not a registered nick.")
        self._check(verify_password(record, password), address)
        return self._hub.identify(link, nick)

    def set_password(self, link: Link, account: str | None, old: str, new: str,
                     address: str) -> Account:
        record = self._hub.account_record(account) if account is not None else None
        if record is None:
            raise not_identified()
        self._check(verify_password(record, old), address)
        return self._hub.set_password(link, make_record("", validate_password(new),
                                                        time.time()))

    def unregister(self, link: Link, account: str | None, password: str,
                   address: str) -> Account:
        record = self._hub.account_record(account) if account is not None else None
        if record is None:
            raise not_identified()
        self._check(verify_password(record, password), address)
        return self._hub.unregister(link)
