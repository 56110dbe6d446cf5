"""End-to-end: the real client in a big channel, with batched presence and partial rosters.

The server sends a client that asks for the ``presence`` capability (this one
always does) the joins and leaves of channels of ``BIG_CHANNEL`` members or
more as one frame every ``PRESENCE_INTERVAL_S``, and a partial roster on
entering one. Fillers are raw socket clients connected from a thread pool; the
screen is read through pyte. The client's DEBUG log names every frame it sends,
which is how the test counts its ``who`` requests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import RawClient, ServerProcess
from test_tui_e2e import buffer_list, message_pane, roster_column
from tui_support import KEY_F11, KEY_F12, TuiProcess

from protocol import BIG_CHANNEL, PRESENCE_INTERVAL_S

pytestmark = pytest.mark.timeout(60)
PRESENCE_WAIT_S = PRESENCE_INTERVAL_S + 6.0


def connect(server: ServerProcess, nicks: list[str], channels: list[str]) -> list[RawClient]:
    """Connect raw clients (no capabilities: they hear every join) from a thread pool."""

    def one(nick: str) -> RawClient:
        client = RawClient(server.port)
        welcome = client.hello(nick, channels=channels)
        assert welcome["type"] == "welcome", welcome
        return client

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, nicks))


@pytest.fixture
def fillers(server: ServerProcess) -> Iterator[list[RawClient]]:
    clients: list[RawClient] = []
    yield clients
    for client in clients:
        client.close()


def whos_sent(log: Path) -> int:
    return log.read_text(encoding="utf-8").count("sent who")


def joined_in_summaries(pane: str) -> tuple[set[str], int]:
    """The nicks named and the number counted in the ``-- ... joined`` summary lines."""
    named: set[str] = set()
    counted = 0
    for line in pane.splitlines():
        found = re.search(r"-- (.+?) joined", line)
        if found is None:
            continue
        if found.group(1).isdigit():
            counted += int(found.group(1))
        else:
            named.update(found.group(1).split(", "))
    return named, counted


def test_a_big_channel_shows_its_count_summaries_and_fills_its_roster_once_shown(
    server: ServerProcess, fillers: list[RawClient], tmp_path: Path
) -> None:
    filler_nicks = [f"filler{i:03d}" for i in range(BIG_CHANNEL)]
    fillers += connect(server, filler_nicks, ["#big", "#big2"])
    log = tmp_path / "alice.log"
    tui = TuiProcess(["--nick", "alice", "--port", str(server.port), "--log-file", str(log),
                      "--log-level", "DEBUG", "--join", "#lobby,#big"])
    try:
        tui.wait_for(lambda ls: buffer_list(ls)[:3] == ["1.server", "2.#lobby", "3.#big"])
        assert whos_sent(log) == 0  # #big is partial, but not shown: no who at welcome

        late = ["late0", "late1", "late2"]
        fillers += connect(server, late, ["#big"])  # batched: one presence frame (or two)
        tui.write("\x1b3")  # Alt+3: #big is shown, so its whole roster is asked for
        lines = tui.wait_for(
            lambda ls: set(late) <= joined_in_summaries(message_pane(ls))[0]
            and roster_column(ls)[:1] == [f"Members ({BIG_CHANNEL + 4})"],
            timeout=PRESENCE_WAIT_S,
        )
        assert "-- you are in #big (101 here)" in message_pane(lines)
        roster = roster_column(lines)
        assert roster[1:3] == ["*alice", "filler000"] and roster[-1].endswith(" more")
        assert f"| {BIG_CHANNEL + 4} online |" in lines[-2]
        assert whos_sent(log) == 1
        tui.write(KEY_F12)  # the roster scrolls a page (25 rows here), and back
        tui.wait_for(lambda ls: roster_column(ls)[1:2] == ["filler024"])
        tui.write(KEY_F11)
        tui.wait_for(lambda ls: roster_column(ls)[1:2] == ["*alice"])

        tui.write("\x1b2")  # away and back: asked once, not on every switch
        tui.wait_for(lambda ls: ls[0].startswith("#lobby"))
        tui.write("\x1b3")
        tui.wait_for(lambda ls: ls[0].startswith("#big"))
        assert whos_sent(log) == 1

        more = [f"more{i}" for i in range(6)]
        fillers += connect(server, more, ["#big"])
        tui.wait_for(lambda ls: roster_column(ls)[:1] == [f"Members ({BIG_CHANNEL + 10})"],
                     timeout=PRESENCE_WAIT_S)

        def summed_up(lines: list[str]) -> bool:  # in one line, or two if an interval split them
            named, counted = joined_in_summaries(message_pane(lines))
            return len(named & set(more)) + counted == len(more)

        tui.wait_for(summed_up, timeout=PRESENCE_WAIT_S)

        tui.type_line("/join #big2")  # the answer to a join is partial too, and shown at once
        lines = tui.wait_for(
            lambda ls: ls[0].startswith("#big2") and "filler001" in roster_column(ls)
        )
        assert roster_column(lines)[0] == f"Members ({BIG_CHANNEL + 1})"
        assert "-- you are in #big2 (101 here)" in message_pane(lines)
        assert whos_sent(log) == 2
        tui.type_line("/names")  # whole now: listed from what the client knows
        tui.wait_for(f"-- in #big2 ({BIG_CHANNEL + 1}): alice, filler000, filler001")
    finally:
        tui.close()
