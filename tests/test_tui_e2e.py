"""End-to-end: the real client in a pseudo-terminal against the real server.

The screen is read through pyte the way a person reads it; peers are raw socket
clients from ``helpers``. Every wait polls the screen with a timeout.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import RawClient, ServerProcess
from tui_support import KEY_END, KEY_F2, KEY_PGUP, KEY_UP, PASTE_END, PASTE_START, TuiProcess

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def start_client(server: ServerProcess, tmp_path: Path) -> Iterator[object]:
    clients: list[TuiProcess] = []

    def start(
        nick: str = "alice", cols: int = 100, rows: int = 30, join: str | None = None
    ) -> TuiProcess:
        tui = TuiProcess(
            [
                "--nick",
                nick,
                "--port",
                str(server.port),
                "--log-file",
                str(tmp_path / f"{nick}.log"),
                *(["--join", join] if join is not None else []),
            ],
            cols=cols,
            rows=rows,
        )
        clients.append(tui)
        return tui

    yield start
    for tui in clients:
        tui.close()


def peer(server: ServerProcess, nick: str, channels: list[str] | None = None) -> RawClient:
    client = RawClient(server.port)
    welcome = client.hello(nick, **({"channels": channels} if channels is not None else {}))
    assert welcome["type"] == "welcome", welcome
    return client


def say_many(client: RawClient, texts: list[str], channel: str | None = None) -> None:
    """Send public messages and wait until the server has echoed them all."""
    where = {"channel": channel} if channel else {}
    for text in texts:
        client.send({"type": "say", "text": text, **where})
    for _ in texts:
        client.recv_until("message")


def sync(client: RawClient) -> None:
    """Wait until the server has handled everything this peer sent (replies are barriers)."""
    client.send({"type": "ping", "token": "sync"})
    client.recv_until("pong", token="sync")


SEP = "\u2502"


def roster_column(lines: list[str]) -> list[str]:
    """The roster pane as text (right of its separator, the last one on a row)."""
    return [line.rsplit(SEP, 1)[1].strip() for line in lines[1:-2] if line.count(SEP) >= 2]


def buffer_list(lines: list[str]) -> list[str]:
    """The buffer list as text (left of its separator, spaces collapsed), empty rows left out."""
    rows = [" ".join(line.split(SEP, 1)[0].split()) for line in lines[1:-2] if SEP in line]
    return [row for row in rows if row]


def message_pane(lines: list[str]) -> str:
    """The message pane as text (between the buffer list and the roster)."""
    return "\n".join(line.split(SEP)[1] for line in lines[1:-2] if line.count(SEP) >= 1)


def test_roster_shows_self_and_follows_joins_and_leaves(server, start_client) -> None:
    tui = start_client("alice")
    tui.wait_for(lambda ls: roster_column(ls)[:2] == ["Members (1)", "*alice"])
    bob = peer(server, "Bob")
    lines = tui.wait_for(lambda ls: "Bob" in roster_column(ls))
    assert roster_column(lines)[:3] == ["Members (2)", "*alice", "Bob"]
    assert lines[0].startswith("#lobby: ")  # the topic line names the channel
    assert "-- Bob joined" in "\n".join(lines)
    assert "| 2 online" in lines[-2]
    bob.send({"type": "quit", "reason": "bye"})
    lines = tui.wait_for(lambda ls: "Bob" not in roster_column(ls))
    assert "-- Bob left" in "\n".join(lines)


def test_messages_both_ways_with_cyrillic_me_and_private(server, start_client) -> None:
    tui = start_client("alice")
    tui.wait_for("*alice")
    bob = peer(server, "bob")
    bob.send({"type": "say", "text": "привет, alice!"})
    tui.wait_for("bob: привет, alice!")
    tui.type_line("здравствуй, Боб")
    assert bob.recv_until("message", text="здравствуй, Боб")["from"] == "alice"
    tui.wait_for("alice: здравствуй, Боб")
    tui.type_line("/me waves")
    assert bob.recv_until("message", text="waves")["action"] is True
    tui.wait_for("* alice waves")
    tui.type_line("/msg bob just for you")
    frame = bob.recv_until("message", text="just for you")
    assert frame["to"] == "bob"
    bob.send({"type": "msg", "to": "alice", "text": "secret answer"})
    tui.wait_for(lambda ls: buffer_list(ls)[2:3] == ["3.bob 1!"])  # the private buffer opened
    tui.write("\x1b3")  # Alt+3
    lines = tui.wait_for("*bob -> you*: secret answer")
    assert "*you -> bob*: just for you" in "\n".join(lines)
    tui.write(KEY_UP)  # input history recalls the last line
    tui.wait_for(lambda ls: ls[-1].startswith("> /msg bob just for you"))


def test_scrollback_pgup_end_and_history_reaches_the_oldest(server, start_client) -> None:
    bob = peer(server, "bob")
    say_many(bob, [f"old {i:03d}" for i in range(1, 201)])
    tui = start_client("alice")
    tui.wait_for("bob: old 200")
    tui.write(KEY_PGUP)
    lines = tui.wait_for(lambda ls: "old 200" not in "\n".join(ls))
    assert "scrolled" in lines[-2]
    bob.send({"type": "say", "text": "live one"})
    tui.wait_for(lambda ls: "| 1 new" in ls[-2])
    # keep paging up: older pages come from history queries until the very first message
    deadline = time.monotonic() + 20
    while "bob: old 001" not in tui.text():
        assert time.monotonic() < deadline, tui.text()
        before = tui.text()
        tui.write(KEY_PGUP)
        try:
            tui.wait_for(lambda ls, b=before: "\n".join(ls) != b, timeout=1.0)
        except AssertionError:
            pass  # at the top, waiting for the history page
    tui.write(KEY_END)
    lines = tui.wait_for("bob: live one")
    assert "new" not in lines[-2] and "scrolled" not in lines[-2]


def test_resize_relayouts(server, start_client) -> None:
    tui = start_client("alice")
    tui.wait_for("Members (1)")
    tui.resize(20, 50)
    lines = tui.wait_for(lambda ls: len(ls) == 20 and ls[18].startswith("2:#lobby |"))
    assert "Members" not in "\n".join(lines)  # too narrow for the roster
    assert "1.server" not in "\n".join(lines)  # the buffer list folded into the status line
    assert lines[19].startswith(">")
    tui.resize(6, 25)
    tui.wait_for("terminal too small")
    tui.resize(30, 100)
    lines = tui.wait_for(lambda ls: "Members (1)" in ls[1] and ls[28].startswith("2:#lobby |"))
    assert buffer_list(lines)[:2] == ["1.server", "2.#lobby"]
    tui.write(KEY_F2)  # F2 hides the roster
    tui.wait_for(lambda ls: "Members" not in "\n".join(ls))
    tui.type_line("/roster")
    tui.wait_for("Members (1)")


def test_escape_sequences_from_the_network_do_not_reach_the_screen(server, start_client) -> None:
    tui = start_client("alice")
    tui.wait_for("*alice")
    mallory = peer(server, "mallory")
    say_many(mallory, ["before", "clear\x1b[2Jscreen", "csi\u009b31mred", "title\x1b]0;pwned\x07x"])
    lines = tui.wait_for("mallory: title")
    text = "\n".join(lines)
    assert "mallory: before" in text  # the screen was not cleared
    assert "[2Jscreen" in text and "31mred" in text
    row = next(i for i, line in enumerate(lines) if "31mred" in line)
    start = lines[row].index("31mred")
    with tui._lock:  # the message text is drawn in the default colour: nothing turned red
        cells = [tui.screen.buffer[row][x] for x in range(start, start + 6)]
    assert "".join(c.data for c in cells) == "31mred"
    assert all(c.fg == "default" for c in cells)


def test_paste_is_one_message(server, start_client) -> None:
    tui = start_client("alice")
    tui.wait_for("*alice")
    bob = peer(server, "bob")
    tui.write(f"{PASTE_START}first line\rsecond line{PASTE_END}")
    tui.wait_for(lambda ls: "first line\u23cesecond line" in ls[-1])
    tui.write("\r")
    assert bob.recv_until("message", text="first line\nsecond line")["from"] == "alice"
    tui.wait_for("alice: first line")


def test_exit_quits_cleanly(server, start_client) -> None:
    tui = start_client("alice")
    tui.wait_for("*alice")
    bob = peer(server, "bob")
    tui.type_line("exit")
    assert tui.wait_exit() == 0
    assert b"Traceback" not in tui.raw
    assert bob.recv_until("leave", nick="alice")["reason"]


def test_nick_taken_then_pick_another(server, start_client) -> None:
    _holder = peer(server, "alice")
    tui = start_client("alice")
    tui.wait_for("/nick NAME")
    tui.type_line("/nick alice2")
    tui.wait_for(lambda ls: "*alice2" in roster_column(ls))


def test_server_restart_reconnects(server, start_client) -> None:
    tui = start_client("alice")
    tui.wait_for("*alice")
    bob = peer(server, "bob")
    say_many(bob, ["before restart"])
    tui.wait_for("bob: before restart")
    port = server.port
    bob.close()
    server.stop()
    tui.wait_for(lambda ls: "reconnecting" in ls[-2])
    server.start(port=port)
    dave = peer(server, "dave")  # most likely before the client's next retry: a gap to fill
    say_many(dave, ["during the gap"])
    tui.wait_for(lambda ls: "| connected |" in ls[-2], timeout=15)
    tui.wait_for("-- reconnected as alice")
    carol = peer(server, "carol")
    say_many(carol, ["after restart"])
    lines = tui.wait_for("carol: after restart")
    assert "\n".join(lines).count("bob: before restart") == 1  # merged, not duplicated
    assert "\n".join(lines).count("dave: during the gap") == 1


def test_burst_is_few_redraws_and_idle_draws_nothing(server, start_client, tmp_path) -> None:
    tui = start_client("alice")
    tui.wait_for("*alice")
    bob = peer(server, "bob")
    tui.wait_for("-- bob joined")
    say_many(bob, [f"burst {i:04d}" for i in range(1, 1001)])
    tui.wait_for("bob: burst 1000")
    time.sleep(0.3)  # let the last redraw finish; then nothing may be written while idle
    size = len(tui.raw)
    time.sleep(1.0)
    assert len(tui.raw) == size
    tui.type_line("exit")
    assert tui.wait_exit() == 0
    log_text = (tmp_path / "alice.log").read_text()
    redraws = int(log_text.split("UI loop ended after ")[1].split()[0])
    assert redraws < 100  # 1000 messages + typing, not one redraw per message


def test_long_paste_asks_before_sending(server, start_client) -> None:
    tui = start_client("alice")
    tui.wait_for("*alice")
    bob = peer(server, "bob")
    body = "\r".join(f"row {i}" for i in range(1, 8))
    tui.write(f"{PASTE_START}{body}{PASTE_END}\r")
    tui.wait_for("Send this 7-line message? [y/N]")
    tui.write("y")
    text = bob.recv_until("message")["text"]
    assert text == "\n".join(f"row {i}" for i in range(1, 8))
    lines = tui.wait_for("row 7")
    rows = message_pane(lines).splitlines()
    assert any(row.strip().startswith("row 2") for row in rows)  # one message, many rows


def test_tab_completes_nicks(server, start_client) -> None:
    tui = start_client("alice")
    tui.wait_for("*alice")
    bob = peer(server, "Borislav")
    tui.wait_for("Borislav")
    tui.write("bor\t")
    tui.wait_for(lambda ls: ls[-1].startswith("> Borislav: "))
    tui.write("hi\r")
    assert bob.recv_until("message")["text"] == "Borislav: hi"


def test_mouse_wheel_scrolls(server, start_client) -> None:
    bob = peer(server, "bob")
    say_many(bob, [f"wheel {i:02d}" for i in range(1, 61)])
    tui = start_client("alice")
    tui.wait_for("bob: wheel 60")
    tui.write("\x1b[<64;10;5M")  # SGR mouse report (xterm-256color kmous): wheel up
    tui.wait_for(lambda ls: "scrolled" in ls[-2])
    tui.write("\x1b[<65;10;5M")  # wheel down, back to live
    tui.wait_for(lambda ls: "scrolled" not in ls[-2])


def test_no_color_draws_without_colours(server, tmp_path) -> None:
    tui = TuiProcess(
        ["--nick", "alice", "--port", str(server.port), "--log-file", str(tmp_path / "c.log")],
        env={"NO_COLOR": "1"},
    )
    try:
        tui.wait_for("*alice")
        bob = peer(server, "bob")
        say_many(bob, ["colourless"])
        tui.wait_for("bob: colourless")
        with tui._lock:
            colours = {c.fg for row in tui.screen.buffer.values() for c in row.values()}
        assert colours <= {"default"}
    finally:
        tui.close()


def test_ctrl_c_restores_the_terminal_without_traceback(server, start_client) -> None:
    tui = start_client("alice")
    tui.wait_for("*alice")
    tui.write("\x03")
    assert tui.wait_exit() == 130
    assert b"Traceback" not in tui.raw
    assert b"\x1b[?2004l" in tui.raw  # bracketed paste switched off again


def test_client_exits_when_its_terminal_goes_away(server: ServerProcess, tmp_path: Path) -> None:
    """Like a closed ssh session under nohup: no SIGHUP arrives, reads just fail."""
    tui = TuiProcess(
        ["--nick", "alice", "--port", str(server.port), "--log-file", str(tmp_path / "a.log")],
        ignore_hangup=True,
    )
    try:
        tui.wait_for("*alice")
        watcher = peer(server, "watcher")
        os.close(tui.master)
        tui.proc.wait(timeout=15)
        assert watcher.recv_until("leave", nick="alice")["nick"] == "alice"
        assert "terminal is gone" in (tmp_path / "a.log").read_text()
    finally:
        tui.close()


KEY_ALT_LEFT = "\x1b[1;3D"  # xterm's Alt+Left (kLFT3)
KEY_ALT_RIGHT = "\x1b[1;3C"


def test_two_channels_buffer_list_unread_highlight_topic_and_switching(
    server, start_client
) -> None:
    bob = peer(server, "bob", ["#a", "#b"])
    carol = peer(server, "carol", ["#b"])
    bob.send({"type": "topic", "channel": "#b", "text": "release on Friday"})
    sync(bob)
    tui = start_client("alice", join="#a,#b")
    lines = tui.wait_for(lambda ls: buffer_list(ls)[:3] == ["1.server", "2.#a", "3.#b"]
                         and all(roster_column(ls)[:3]))  # the screen may be half drawn
    assert lines[0].startswith("#a: no topic")
    assert roster_column(lines)[:3] == ["Members (2)", "*alice", "bob"]  # #a's, not #b's
    say_many(bob, ["hello b", "alice: look here"], channel="#b")
    lines = tui.wait_for(lambda ls: buffer_list(ls)[2:3] == ["3.#b 2!"])
    assert "hello b" not in message_pane(lines)
    say_many(carol, ["one more"], channel="#b")
    tui.wait_for(lambda ls: buffer_list(ls)[2:3] == ["3.#b 3!"])
    tui.write("\x1b3")  # Alt+3
    lines = tui.wait_for(lambda ls: ls[0].startswith("#b: release on Friday"))
    assert buffer_list(lines)[2] == "3.#b"  # read now
    assert roster_column(lines)[:4] == ["Members (3)", "*alice", "bob", "carol"]
    assert "bob: hello b" in message_pane(lines) and "carol: one more" in message_pane(lines)
    assert "| 3 online |" in lines[-2] and lines[-2].startswith("3:#b |")
    tui.type_line("in b")
    assert bob.recv_until("message", text="in b")["channel"] == "#b"
    tui.type_line("/join #a")  # already in: switches
    tui.wait_for(lambda ls: ls[0].startswith("#a:") and ls[-2].startswith("2:#a |"))
    tui.type_line("in a")
    assert bob.recv_until("message", text="in a")["channel"] == "#a"
    tui.write(KEY_ALT_RIGHT)
    tui.wait_for(lambda ls: ls[-2].startswith("3:#b |"))
    tui.write("\x10")  # Ctrl-P
    tui.wait_for(lambda ls: ls[-2].startswith("2:#a |"))
    tui.write(KEY_ALT_LEFT)
    lines = tui.wait_for(lambda ls: ls[-2].startswith("1:server |"))
    assert lines[0].startswith("server notices")
    tui.write("\x0e")  # Ctrl-N
    tui.wait_for(lambda ls: ls[-2].startswith("2:#a |"))


def test_join_part_topic_and_close(server, start_client) -> None:
    bob = peer(server, "bob", ["#ops"])
    tui = start_client("alice")
    tui.wait_for(lambda ls: buffer_list(ls)[:2] == ["1.server", "2.#lobby"])
    tui.write("/join #o\t")  # Tab completes channels too (from /list or our own)
    tui.wait_for(lambda ls: ls[-1].rstrip() == "> /join #o")  # nothing known yet
    tui.write("\x15")
    tui.type_line("/list")
    tui.wait_for("#ops (1)")
    tui.write("/join #o\t")
    tui.wait_for(lambda ls: ls[-1].startswith("> /join #ops "))
    tui.write("\r")
    lines = tui.wait_for(lambda ls: ls[0].startswith("#ops:") and "3.#ops" in buffer_list(ls))
    assert bob.recv_until("join", channel="#ops")["nick"] == "alice"
    tui.type_line("/topic on call: dave")
    assert bob.recv_until("topic")["text"] == "on call: dave"
    tui.wait_for(lambda ls: ls[0].startswith("#ops: on call: dave"))
    tui.type_line("/names")
    tui.wait_for("-- in #ops (2): alice, bob")
    tui.type_line("/part lunch")
    assert bob.recv_until("leave", nick="alice")["reason"] == "lunch"
    lines = tui.wait_for(lambda ls: "not in this channel" in ls[0])
    assert "Members" not in "\n".join(lines) or "Members (0)" in "\n".join(lines)
    tui.type_line("/close")
    tui.wait_for(lambda ls: "#ops" not in "\n".join(buffer_list(ls)) and ls[0].startswith("#lobby"))


def test_private_buffer_with_query(server, start_client) -> None:
    bob = peer(server, "bob")
    tui = start_client("alice")
    tui.wait_for(lambda ls: "bob" in roster_column(ls))
    bob.send({"type": "msg", "to": "alice", "text": "got a minute?"})
    tui.wait_for(lambda ls: buffer_list(ls)[2:] == ["3.bob 1!"])
    tui.type_line("/query bob")
    lines = tui.wait_for(lambda ls: ls[0].startswith("bob: private conversation"))
    assert "*bob -> you*: got a minute?" in message_pane(lines)
    tui.type_line("sure")
    assert bob.recv_until("message", text="sure")["to"] == "bob"
    tui.wait_for("*you -> bob*: sure")
    tui.type_line("/query carol")  # a query buffer may be opened for anyone
    tui.wait_for(lambda ls: ls[0].startswith("carol:") and "4.carol" in buffer_list(ls))
    tui.type_line("/close")
    tui.wait_for(lambda ls: ls[0].startswith("bob:") and len(buffer_list(ls)) == 3)


def test_narrow_terminal_folds_the_buffer_list_into_the_status_line(server, start_client) -> None:
    bob = peer(server, "bob", ["#a", "#b"])
    tui = start_client("alice", cols=60, rows=20, join="#a,#b")  # under 70 columns
    lines = tui.wait_for(lambda ls: ls[-2].startswith("2:#a | alice | connected"))
    assert "1.server" not in "\n".join(lines)
    say_many(bob, ["ping alice"], channel="#b")
    tui.wait_for(lambda ls: ls[-2].startswith("2:#a | act: 3:#b(1!) | alice"))
    tui.write("\x1b3")
    lines = tui.wait_for(lambda ls: ls[-2].startswith("3:#b | alice"))
    assert "bob: ping alice" in "\n".join(lines)
    tui.resize(30, 100)
    tui.wait_for(lambda ls: buffer_list(ls)[:3] == ["1.server", "2.#a", "3.#b"])


def test_reconnect_rejoins_both_channels_and_fills_each_gap_once(
    server, start_client, tmp_path
) -> None:
    bob = peer(server, "bob", ["#a", "#b"])
    tui = start_client("alice", join="#a,#b")
    tui.wait_for(lambda ls: "bob" in roster_column(ls))
    say_many(bob, ["before a"], channel="#a")
    say_many(bob, ["before b"], channel="#b")
    tui.wait_for("bob: before a")
    port = server.port
    bob.close()
    server.stop()
    tui.wait_for(lambda ls: "reconnecting" in ls[-2])
    logged = len(server.log_lines)
    server.start(port=port)
    dave = peer(server, "dave", ["#a", "#b"])  # most likely before the client's next retry
    say_many(dave, ["gap a"], channel="#a")
    say_many(dave, ["gap b"], channel="#b")
    lines = tui.wait_for(lambda ls: "| connected |" in ls[-2] and "dave: gap a" in "\n".join(ls))
    assert "-- reconnected as alice" in message_pane(lines)
    assert buffer_list(lines)[2] == "3.#b 2"  # unread: "before b", then the gap, each once
    say_many(dave, ["after a"], channel="#a")
    pane = message_pane(tui.wait_for("dave: after a"))
    assert pane.count("bob: before a") == 1 and pane.count("dave: gap a") == 1
    assert "gap b" not in pane
    tui.write("\x1b3")
    pane = message_pane(tui.wait_for(lambda ls: ls[-2].startswith("3:#b |")))
    assert pane.count("bob: before b") == 1 and pane.count("dave: gap b") == 1
    hellos = [m for m in server.log_lines[logged:] if "as alice in" in m]
    assert len(hellos) == 1 and hellos[0].endswith("as alice in #a, #b")  # one hello, both


def test_a_gap_of_more_than_the_replay_cap_is_filled_in_order(server, start_client) -> None:
    tui = start_client("alice", rows=60)
    tui.wait_for("*alice")
    bob = peer(server, "bob")
    say_many(bob, ["before the gap"])
    tui.wait_for("bob: before the gap")
    port = server.port
    bob.close()
    server.stop()
    tui.wait_for(lambda ls: "reconnecting" in ls[-2])
    server.start()  # elsewhere, so the client cannot come back while the gap grows
    dave = peer(server, "dave")
    missed = 1200  # more than a resume replays (RESUME_HISTORY_CAP)
    say_many(dave, [f"gap {i:04d}" for i in range(1, missed + 1)])
    dave.close()
    server.stop()
    server.start(port=port)
    tui.wait_for(lambda ls: "| connected |" in ls[-2] and "gap 1200" in "\n".join(ls),
                 timeout=40)
    seen: set[int] = set()
    deadline = time.monotonic() + 30
    while True:
        pane = message_pane(tui.lines())
        numbers = [int(n) for n in re.findall(r"dave: gap (\d{4})", pane)]
        assert numbers == sorted(numbers), pane  # in order on every screen
        seen.update(numbers)
        if "bob: before the gap" in pane:
            break
        assert time.monotonic() < deadline, pane
        tui.write(KEY_PGUP)
        try:
            tui.wait_for(lambda ls, p=pane: message_pane(ls) != p, timeout=1.0)
        except AssertionError:
            pass  # at the top, waiting for a page
    assert pane.index("bob: before the gap") < pane.index("dave: gap 0001"), pane
    assert seen == set(range(1, missed + 1))  # the middle the replay left out too
