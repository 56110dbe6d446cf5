"""The chat room: who is online, message ids, fan-out and recent history.

This is the seam for a future backplane (several server processes sharing one
room through Redis pub/sub): connection code calls only the public methods of
:class:`Room` and hands it an :class:`~server.outbound.Outbox` per member; it
never sees ids, the roster or the database. Another implementation of the same
methods can share ids, history and fan-out between processes.

Threads: the roster lives in a dict behind ``_lock`` and changes at once (a
nick is taken or freed synchronously). Messages, and the join/leave/rename
announcements, go through one worker thread in the order they were queued: it
takes everything waiting (after a 5 ms gather when the room is large or busy),
assigns ids, commits the batch to the store in one transaction, and only then
appends the batch, serialised once and shared by reference, to every member's
outbox under the lock. So every member sees ids in order, sees a user's actions
in the order they did them, and nobody sees a message that was not stored.
"""

from __future__ import annotations

import hmac
import logging
import queue
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from protocol import (
    Bye,
    Error,
    ErrorCode,
    Frame,
    Join,
    Leave,
    Message,
    Rename,
    Welcome,
    encode_frame,
    nick_key,
)
from server.errors import NickTaken, NoSuchUser, ServerError
from server.outbound import Flusher, Outbox
from server.roster import SortedRoster
from server.store import HistoryStore, StoreError

__all__ = ["Member", "Room", "WELCOME_HISTORY", "RESUME_HISTORY_CAP"]

log = logging.getLogger(__name__)

WELCOME_HISTORY: Final = 50
"""Public messages a plain welcome carries."""

RESUME_HISTORY_CAP: Final = 1000
"""Most messages a welcome carries for a ``since`` resume; older ones are paged."""

_INBOX_CAPACITY: Final = 20_000
_MAX_BATCH: Final = 5_000
GATHER_MIN_MEMBERS: Final = 256
GATHER_S: Final = 0.005
"""When the room is this large, or busy (the last batch ended less than this long
ago), the worker waits this long after the first item before relaying: a burst
then costs one transaction and one pass over the members (group commit). A
quiet, small room relays at once."""


@dataclass(eq=False)
class Member:
    """One welcomed user; ``active`` turns False once they left or were replaced."""

    nick: str
    outbox: Outbox
    peer: str
    joined_at: float = field(default_factory=time.time)
    resume_token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    active: bool = True


@dataclass(frozen=True, slots=True)
class _Submission:
    """A message waiting for the worker; the nick is the sender's when they sent it."""

    sender: Member
    sender_nick: str
    text: str
    action: bool = False
    target: Member | None = None


@dataclass(frozen=True, slots=True)
class _Announcement:
    """A join, leave or rename, relayed in order with the messages queued before it."""

    data: bytes
    skip: Member | None = None


_Item = _Submission | _Announcement
_Run = list[tuple[bytes, Member | None]]
"""Lines for everyone in order, each with the one member (if any) who must not get it."""


class Room:
    """One room shared by everyone connected to this server process."""

    def __init__(
        self,
        store: HistoryStore,
        flusher: Flusher,
        server_name: str,
        motd: str | None = None,
        on_stored: Callable[[int], None] | None = None,
    ) -> None:
        self._store = store
        self._on_stored = on_stored
        self._flusher = flusher
        self._server_name = server_name
        self._motd = motd
        self._lock = threading.Lock()
        self._members: dict[str, Member] = {}
        self._roster = SortedRoster()
        self._recent: deque[Message] = deque(store.latest(RESUME_HISTORY_CAP), RESUME_HISTORY_CAP)
        self._last_relayed_id = store.last_id
        self._next_id = store.last_id + 1
        self._inbox: queue.Queue[_Item | None] = queue.Queue(_INBOX_CAPACITY)
        self._closed = False
        self._last_batch_end = 0.0
        self._worker = threading.Thread(target=self._run, name="room-worker", daemon=True)

    def start(self) -> None:
        self._worker.start()

    # Membership: called from reader threads.

    def join(self, nick: str, outbox: Outbox, peer: str, since: int | None = None,
             resume: str | None = None) -> Member:
        """Add a member and queue its welcome; raise NickTaken if the nick is in use.

        A ``resume`` token matching the current holder of ``nick`` takes the nick
        over silently: the old connection gets ``bye replaced``.
        """
        key = nick_key(nick)
        with self._lock:
            holder = self._members.get(key)
            if holder is not None and not _token_matches(resume, holder.resume_token):
                raise NickTaken("Nick already taken; choose another with /nick NAME.")
            member = Member(nick=nick, outbox=outbox, peer=peer)
            self._members[key] = member
            self._roster.remove(key)
            self._roster.add(key, nick)
            welcome = Welcome(
                nick=nick,
                server=self._server_name,
                roster=self._roster.nicks(),
                history=self._history_since_locked(since),
                motd=self._motd,
                resume=member.resume_token,
            )
            self._flusher.send(outbox, encode_frame(welcome))
            if holder is not None:
                holder.active = False
                self._flusher.send(holder.outbox, encode_frame(Bye(reason="replaced")))
                self._flusher.close_after_flush(holder.outbox, "replaced")
        if holder is None:
            self._announce(Join(nick=nick, ts=time.time()), skip=member)
        return member

    def leave(self, member: Member, reason: str) -> bool:
        """Remove a member and tell the others; False if it was already gone.

        The others hear of it after every message the member sent before.
        """
        with self._lock:
            if not member.active:
                return False
            member.active = False
            key = nick_key(member.nick)
            del self._members[key]
            self._roster.remove(key)
        self._announce(Leave(nick=member.nick, reason=reason, ts=time.time()))
        return True

    def rename(self, member: Member, new_nick: str) -> str | None:
        """Give a member a new nick and tell everyone; return the old one (None if unchanged)."""
        new_key = nick_key(new_nick)
        with self._lock:
            old_nick = member.nick
            if new_nick == old_nick or not member.active:
                return None
            old_key = nick_key(old_nick)
            if new_key != old_key and new_key in self._members:
                raise NickTaken("Nick already taken; choose another with /nick NAME.")
            del self._members[old_key]
            self._members[new_key] = member
            self._roster.remove(old_key)
            self._roster.add(new_key, new_nick)
            member.nick = new_nick
        self._announce(Rename(old=old_nick, new=new_nick, ts=time.time()))
        return old_nick

    def roster(self) -> list[str]:
        """Return everyone online, sorted case-insensitively."""
        with self._lock:
            return self._roster.nicks()

    def close_all(self, reason: str) -> list[Member]:
        """Say ``bye`` to every member and close their connections after the flush."""
        bye = encode_frame(Bye(reason=reason))
        with self._lock:
            members = list(self._members.values())
            self._members.clear()
            self._roster = SortedRoster()
            for member in members:
                member.active = False
                self._flusher.send(member.outbox, bye)
                self._flusher.close_after_flush(member.outbox, reason)
        return members

    # Messages: called from reader threads, relayed by the worker.

    def say(self, sender: Member, text: str, action: bool = False) -> None:
        """Queue a public message (blocks while the room is far behind)."""
        self._submit(_Submission(sender, sender.nick, text, action))

    def tell(self, sender: Member, to: str, text: str) -> None:
        """Queue a private message; raise NoSuchUser if ``to`` is not online."""
        with self._lock:
            target = self._members.get(nick_key(to))
        if target is None:
            raise NoSuchUser(f"Nobody called {to} is online; /who lists who is.")
        self._submit(_Submission(sender, sender.nick, text, target=target))

    def _announce(self, frame: Frame, skip: Member | None = None) -> None:
        self._submit(_Announcement(encode_frame(frame), skip))

    def _submit(self, item: _Item) -> None:
        while not self._closed:
            try:
                self._inbox.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def history(self, before: int | None, limit: int) -> list[Message]:
        """Return up to ``limit`` relayed public messages older than ``before``."""
        with self._lock:
            newest_allowed = self._last_relayed_id + 1
        bound = newest_allowed if before is None else min(before, newest_allowed)
        try:
            return self._store.before(bound, limit)
        except StoreError as exc:
            log.error("%s", exc)
            raise ServerError("History cannot be read right now; try again later.") from None

    def stop(self) -> None:
        """Relay and store everything queued, then stop the worker."""
        self._closed = True
        self._inbox.put(None)
        self._worker.join()

    # Worker thread.

    def _run(self) -> None:
        try:
            while True:
                batch = [self._inbox.get()]
                if batch[0] is not None and self._should_gather():
                    time.sleep(GATHER_S)
                while len(batch) < _MAX_BATCH:
                    try:
                        batch.append(self._inbox.get_nowait())
                    except queue.Empty:
                        break
                items = [item for item in batch if item is not None]
                if items:
                    self._relay_safely(items)
                    self._last_batch_end = time.monotonic()
                if len(items) < len(batch):
                    return
        except Exception:
            log.exception("room worker failed")

    def _should_gather(self) -> bool:
        """Tell whether to wait for more before relaying: the room is large or busy."""
        # len() of the dict without the lock: a size hint, exact enough here
        large = len(self._members) >= GATHER_MIN_MEMBERS
        return large or time.monotonic() - self._last_batch_end < GATHER_S

    def _relay_safely(self, items: list[_Item]) -> None:
        """Relay a batch; a bug costs that batch (its senders hear of it), not the room."""
        try:
            self._relay(items)
        except Exception:
            log.exception("relaying a batch of %d failed", len(items))
            self._refuse(item.sender for item in items if isinstance(item, _Submission))

    def _relay(self, items: list[_Item]) -> None:
        """Number and store the batch's messages, then fan everything out in order."""
        submissions = [item for item in items if isinstance(item, _Submission)]
        now = time.time()
        messages = [
            Message(
                id=self._next_id + i,
                ts=now,
                sender=sub.sender_nick,
                text=sub.text,
                action=sub.action,
                to=sub.target.nick if sub.target else None,
            )
            for i, sub in enumerate(submissions)
        ]
        stored = self._store_batch(submissions, messages)
        numbered = iter(messages)
        run: _Run = []
        with self._lock:
            for item in items:
                if isinstance(item, _Announcement):
                    run.append((item.data, item.skip))
                    continue
                message = next(numbered)
                if not stored:
                    continue
                if item.target is None:
                    self._recent.append(message)
                    run.append((encode_frame(message), None))
                else:
                    run = self._send_run_locked(run)
                    self._send_private_locked(item, message)
            self._send_run_locked(run)
            if stored and messages:
                self._last_relayed_id = messages[-1].id

    def _store_batch(self, submissions: list[_Submission], messages: list[Message]) -> bool:
        """Store the messages in one transaction; on failure tell each sender."""
        if not messages:
            return True
        try:
            self._store.append(messages)
        except StoreError as exc:
            log.error("%s", exc)
            self._refuse(sub.sender for sub in submissions)
            return False
        self._next_id += len(messages)
        if self._on_stored is not None:
            self._on_stored(len(messages))
        return True

    def _refuse(self, senders: Iterable[Member]) -> None:
        error = encode_frame(Error(
            code=ErrorCode.SERVER_ERROR,
            message="The message could not be stored, so it was not sent; try again later.",
        ))
        for sender in senders:
            self._flusher.send(sender.outbox, error)

    # Helpers that expect the lock held.

    def _send_run_locked(self, run: _Run) -> _Run:
        """Send a run of lines for everyone, each maybe skipping one member; return a new run.

        One pass over the members carries the whole run; only the skipped
        members (joiners, who have their welcome instead) get their own copy
        without their line. A join storm so costs O(N + k^2), not O(N * k).
        """
        if not run:
            return []
        skipped = {skip for _, skip in run if skip is not None}
        everything = b"".join(data for data, _ in run)
        if not skipped:
            self._flusher.send_many((m.outbox for m in self._members.values()), everything)
            return []
        self._flusher.send_many(
            (m.outbox for m in self._members.values() if m not in skipped), everything
        )
        for member in skipped:
            if member.active:
                own = b"".join(data for data, skip in run if skip is not member)
                if own:
                    self._flusher.send(member.outbox, own)
        return []

    def _send_private_locked(self, sub: _Submission, message: Message) -> None:
        assert sub.target is not None
        if not sub.target.active:
            self._flusher.send(sub.sender.outbox, encode_frame(Error(
                code=ErrorCode.NO_SUCH_USER,
                message=f"{sub.target.nick} left before the message arrived.",
            )))
            return
        line = encode_frame(message)
        self._flusher.send(sub.sender.outbox, line)
        if sub.target is not sub.sender:
            self._flusher.send(sub.target.outbox, line)



    def _history_since_locked(self, since: int | None) -> list[Message]:
        if since is None:
            return list(self._recent)[-WELCOME_HISTORY:]
        newer: list[Message] = []
        for message in reversed(self._recent):
            if message.id <= since:
                break
            newer.append(message)
        newer.reverse()
        return newer


def _token_matches(offered: str | None, expected: str) -> bool:
    return offered is not None and hmac.compare_digest(offered.encode(), expected.encode())
