"""Time the client's work in a big channel: presence frames, the roster pane, Tab, a redraw.

Pure client code, no server and no terminal (the screen is a window that only
counts what it is given), so the figures are the UI thread's own cost per
event. Not collected by pytest; run from the repository root:

    python3 tests/bench/tui_roster.py [--members 10000] [--batch 500]

Each figure is the median of several runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from protocol import Channel, Join, Leave, Message, PresenceUpdate, Roster, Welcome  # noqa: E402
from tui_client.buffers import Buffers  # noqa: E402
from tui_client.completion import Completer  # noqa: E402
from tui_client.editor import LineEditor  # noqa: E402
from tui_client.events import EventApplier  # noqa: E402
from tui_client.identity import Identity  # noqa: E402
from tui_client.layout import compute_layout  # noqa: E402
from tui_client.prefs import Prefs  # noqa: E402
from tui_client.render import Renderer, Scene, roster_rows  # noqa: E402
from tui_client.secret import SecretPrompt  # noqa: E402
from tui_client.status import ConnectionStatus  # noqa: E402
from tui_client.view import draw, make_attrs  # noqa: E402

ME = "me"


class CountingWindow:
    """Enough of a curses window for ``view.draw``: it counts the cells it is given."""

    def __init__(self) -> None:
        self.cells = 0

    def erase(self) -> None:
        self.cells = 0

    def addstr(self, _y: int, _x: int, text: str, _attr: int = 0) -> None:
        self.cells += len(text)

    def move(self, _y: int, _x: int) -> None:
        pass


class Client:
    """The client's state owners, wired as the TUI wires them, in one big channel."""

    def __init__(self, members: int) -> None:
        self.me = Identity(ME)
        self.status = ConnectionStatus("127.0.0.1", 8080)
        self.prefs = Prefs()
        self.buffers = Buffers()
        self.applier = EventApplier(self.buffers, self.me, self.status, self.prefs,
                                    SecretPrompt())
        history = [Message(i, 1_700_000_000.0 + i, f"user{i:05d}", f"message {i}")
                   for i in range(1, 51)]
        big = Channel("#big", [ME, "op"], history, operators=["op"], users=members,
                      partial=True)
        self.applier.apply(Welcome(ME, "bench", [], [], channels=[big]))
        self.everyone = [f"user{i:05d}" for i in range(members - 2)]
        self.applier.apply(Roster([ME, "op", *self.everyone], channel="#big", operators=["op"]))

    @property
    def big(self) -> Any:
        return self.buffers.current


def median_ms(run: Callable[[], object], repeat: int = 15,
              setup: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    client = Client(args.members)
    roster = client.big.roster
    assert roster.count == args.members and not roster.partial
    print(f"#big: {roster.count} members, roster whole; batch of {args.batch}")
    rows: list[tuple[str, float]] = []

    newcomers = [f"new{i:05d}" for i in range(args.batch)]
    ts = iter(range(10**9))
    rows.append(("presence: +batch joins", median_ms(
        lambda: client.applier.apply(PresenceUpdate("#big", next(ts), joined=newcomers)),
        setup=lambda: roster.update([], newcomers))))
    rows.append(("presence: +batch leaves", median_ms(
        lambda: client.applier.apply(PresenceUpdate("#big", next(ts), left=newcomers)),
        setup=lambda: roster.update(newcomers, []))))
    leavers = client.everyone[: args.batch // 2]
    rows.append(("presence: batch/2 joins + batch/2 leaves", median_ms(
        lambda: client.applier.apply(PresenceUpdate("#big", next(ts), joined=newcomers[
            : args.batch // 2], left=leavers)),
        setup=lambda: roster.update(leavers, newcomers))))
    rows.append(("one join frame", median_ms(
        lambda: client.applier.apply(Join("solo", next(ts), channel="#big")),
        setup=lambda: roster.remove("solo"))))
    rows.append(("one leave frame", median_ms(
        lambda: client.applier.apply(Leave("solo", "quit", next(ts), channel="#big")),
        setup=lambda: roster.add("solo"))))
    rows.append(("roster answer (who), whole roster replaced", median_ms(
        lambda: client.applier.apply(Roster([ME, "op", *client.everyone], channel="#big",
                                            operators=["op"])), repeat=5)))

    rows.append(("roster pane rows (27 rows)", median_ms(
        lambda: roster_rows(client.big, client.me, 18, 27), repeat=50)))
    layout = compute_layout(30, 100)
    scene = Scene(client.buffers, client.me, client.status, client.prefs)
    renderer, editor, window = Renderer(), LineEditor(), CountingWindow()
    attrs = make_attrs(use_colour=False)
    draw(window, layout, scene, renderer, editor, attrs)  # wrap and cache the messages once
    rows.append(("whole screen redraw, 100x30", median_ms(
        lambda: draw(window, layout, scene, renderer, editor, attrs), repeat=50)))

    def tab(word: str) -> Callable[[], object]:
        return lambda: Completer().complete(word, len(word), roster)

    completer = Completer()
    first = completer.complete("user0", 5, roster)
    assert first is not None
    state = {"line": first}

    def next_tab() -> None:
        result = completer.complete(*state["line"], roster)
        assert result is not None
        state["line"] = result

    rows.append(("Tab, first press: 'user0' (10,000 match)", median_ms(tab("user0"), 50)))
    rows.append(("Tab, first press: 'user0999' (10 match)", median_ms(tab("user0999"), 50)))
    rows.append(("Tab, first press: no match", median_ms(tab("zzz"), 50)))
    rows.append(("Tab, next press (cycling)", median_ms(next_tab, 50)))

    width = max(len(name) for name, _ in rows)
    for name, ms in rows:
        print(f"  {name:<{width}}  {ms:8.3f} ms")


if __name__ == "__main__":
    main()
