"""Asking for a password: what is asked, and the masked answer being typed.

Pure state, no terminal. An :class:`Ask` says what the answers are for (the
hello's nick password, ``/register`` ...) and the question of each step (a new
password is asked twice). :class:`SecretPrompt` holds the one question open at
a time and the answer typed so far, which is never shown (the view draws one
``*`` per character), never goes into the input history and never appears in a
``repr`` (so it cannot reach a log). Opening a question is decided by
:mod:`tui_client.actions` (a command) and :mod:`tui_client.events` (a refused
hello); turning the answers into frames, by :mod:`tui_client.actions`. The
full-screen client types into the prompt; the plain one answers it with
``getpass``. Not thread-safe (UI thread, or the plain client's main loop).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "MASK",
    "NICK_PASSWORD_ENV",
    "NICK_PASSWORD_FILE_OPTION",
    "WHERE_NICK_PASSWORD",
    "Ask",
    "Purpose",
    "SecretPrompt",
]

MASK: Final = "*"
NICK_PASSWORD_ENV: Final = "TERMCHAT_NICK_PASSWORD"
"""The environment variable holding the nick password (never a command-line argument)."""
NICK_PASSWORD_FILE_OPTION: Final = "--nick-password-file"
WHERE_NICK_PASSWORD: Final = f"{NICK_PASSWORD_FILE_OPTION} PATH or {NICK_PASSWORD_ENV}"
"""How to hand the client a nick password at start, as help texts say it."""


class Purpose:
    """What the answers to an :class:`Ask` are used for."""

    HELLO: Final = "hello"  # the nick password of the next hello
    REGISTER: Final = "register"
    IDENTIFY: Final = "identify"
    PASSWORD: Final = "password"  # change it: the old one, then the new one twice
    UNREGISTER: Final = "unregister"


_QUESTIONS: Final[dict[str, tuple[str, ...]]] = {
    Purpose.HELLO: ("Password of {nick}",),
    Purpose.REGISTER: ("New password for {nick}", "The same password again"),
    Purpose.IDENTIFY: ("Password of {nick}",),
    Purpose.PASSWORD: ("Current password of {nick}", "New password", "The new password again"),
    Purpose.UNREGISTER: ("Password of {nick}, to give the nick up",),
}


@dataclass(frozen=True, slots=True)
class Ask:
    """A question for one or more secret answers about ``nick``'s account."""

    purpose: str
    nick: str

    @property
    def questions(self) -> tuple[str, ...]:
        """Return the question of each step, in order."""
        return tuple(q.format(nick=self.nick) for q in _QUESTIONS[self.purpose])


@dataclass(repr=False)
class _Open:
    ask: Ask
    answers: list[str] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)  # characters, never joined until submitted


class SecretPrompt:
    """The one open question and its masked answer; see the module docstring."""

    def __init__(self) -> None:
        self._open: _Open | None = None

    def __repr__(self) -> str:
        ask = self._open.ask if self._open else None
        return f"SecretPrompt(ask={ask!r})"  # never the answer

    @property
    def active(self) -> bool:
        return self._open is not None

    @property
    def ask(self) -> Ask | None:
        return self._open.ask if self._open else None

    @property
    def question(self) -> str:
        """Return the question of the current step ('' when nothing is asked)."""
        if self._open is None:
            return ""
        return self._open.ask.questions[len(self._open.answers)]

    @property
    def masked(self) -> str:
        """Return what the input line shows of the answer: one mark per character."""
        return MASK * len(self._open.typed) if self._open else ""

    def open(self, ask: Ask) -> bool:
        """Ask ``ask`` (dropping any question open before); False if it is the one open."""
        if self._open is not None and self._open.ask == ask and not self._open.typed:
            return False
        self._open = _Open(ask)
        return True

    def insert(self, text: str) -> None:
        """Type ``text`` (a paste keeps its first line only)."""
        if self._open is not None:
            self._open.typed += text.split("\n", 1)[0].replace("\r", "")

    def backspace(self) -> None:
        if self._open is not None and self._open.typed:
            self._open.typed.pop()

    def clear(self) -> None:
        """Forget what was typed for this step."""
        if self._open is not None:
            self._open.typed.clear()

    def submit(self) -> tuple[Ask, list[str]] | None:
        """End the current step; after the last, close and return the question and answers."""
        current = self._open
        if current is None:
            return None
        current.answers.append("".join(current.typed))
        current.typed.clear()
        if len(current.answers) < len(current.ask.questions):
            return None
        self._open = None
        return current.ask, current.answers

    def cancel(self) -> Ask | None:
        """Close the question without answering it; return what was asked."""
        current, self._open = self._open, None
        return current.ask if current else None
