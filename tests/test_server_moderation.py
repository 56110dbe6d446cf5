"""Accounts and moderation over real sockets, on the single server and on a cluster node."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest
from conftest import HUBS, StartServer
from helpers import ROOT, RawClient, ServerProcess
from test_server_channels import sync, user, welcomed
from test_server_irc_accounts import sasl_user

pytestmark = pytest.mark.parametrize("hub", HUBS, indirect=True)

PASSWORD = "correct horse battery"


def registered(server: ServerProcess, nick: str, *channels: str) -> RawClient:
    client = user(server, nick, *channels)
    client.send({"type": "register", "password": PASSWORD})
    assert without_token(client.recv_until("account")) == {
        "type": "account", "nick": nick, "registered": True, "identified": True}
    return client


def without_token(frame: dict[str, Any]) -> dict[str, Any]:
    """An account answer without its (fresh, random) resume token, which must be there."""
    assert frame["resume"]
    return {k: v for k, v in frame.items() if k != "resume"}


def refused(client: RawClient, frame: dict[str, Any]) -> dict[str, Any]:
    client.send(frame)
    return client.recv_until("error")


def test_a_registered_nick_needs_its_password(server: ServerProcess) -> None:
    alice = registered(server, "alice")
    watcher = user(server, "watcher")
    alice.send({"type": "quit"})
    alice.wait_closed()
    watcher.recv_until("leave", nick="alice")
    assert refused(watcher, {"type": "nick", "nick": "Alice"})["code"] == "nick_registered"
    intruder = RawClient(server.port)
    error = intruder.hello("ALICE")
    assert error["code"] == "nick_registered" and "--nick-password-file" in error["message"]
    assert intruder.hello("alice", nick_password="wrong guess")["code"] == "auth_failed"
    back, welcome = welcomed(server, "alice", nick_password=PASSWORD)
    assert welcome["nick"] == "alice"
    watcher.send({"type": "whois", "nick": "alice"})
    assert watcher.recv_until("whois")["account"] == "alice"
    watcher.send({"type": "who"})
    assert watcher.recv_until("roster")["identified"] == ["alice"]
    back.close()
    resumed = RawClient(server.port)  # a resume token of an identified session is proof too
    assert resumed.hello("alice", resume=welcome["resume"])["type"] == "welcome"


def test_identify_set_password_and_unregister(server: ServerProcess) -> None:
    owner = registered(server, "alice")
    guest, _ = welcomed(server, "guest")
    watcher = user(server, "watcher")
    sync(watcher)
    assert refused(guest, {"type": "identify", "nick": "alice", "password": "nope nope"})[
        "code"] == "auth_failed"
    guest.send({"type": "identify", "nick": "alice", "password": PASSWORD})
    rename = guest.recv_until("rename")
    assert (rename["old"], rename["new"]) == ("guest", "alice")
    assert guest.recv_until("account")["identified"] is True
    assert owner.wait_closed()[-1] == {"type": "bye", "reason": "replaced",
                                       "text": "replaced by its owner"}
    guest.send({"type": "set_password", "old": "wrong wrong", "new": "another good one"})
    assert guest.recv_until("error")["code"] == "auth_failed"
    guest.send({"type": "set_password", "old": PASSWORD, "new": "another good one"})
    assert guest.recv_until("account")["registered"] is True
    other = RawClient(server.port)
    assert other.hello("alice", nick_password=PASSWORD)["code"] in ("auth_failed", "nick_taken")
    guest.send({"type": "unregister", "password": "another good one"})
    assert without_token(guest.recv_until("account")) == {"type": "account", "nick": "alice"}
    stranger = user(server, "stranger")
    assert refused(stranger, {"type": "set_password", "old": "a" * 8, "new": "b" * 8})[
        "code"] == "not_registered"
    assert refused(stranger, {"type": "identify", "nick": "alice", "password": "x" * 8})[
        "code"] == "not_registered"


def test_operators_kick_and_run_modes(server: ServerProcess) -> None:
    alice = registered(server, "alice", "#ops")
    alice.send({"type": "join", "channel": "#team"})  # alice made #team: she runs it
    channel = alice.recv_until("channel")
    assert channel["operators"] == ["alice"] and channel["identified"] == ["alice"]
    bob = registered(server, "bob", "#lobby")
    bob.send({"type": "join", "channel": "#team"})
    assert bob.recv_until("channel")["operators"] == ["alice"]
    mallory = user(server, "mallory", "#team")
    assert refused(mallory, {"type": "kick", "channel": "#team", "nick": "bob"})[
        "code"] == "not_operator"
    alice.send({"type": "op", "channel": "#team", "nick": "bob"})
    mode = mallory.recv_until("mode")
    assert (mode["op"], mode["by"], mode["channel"]) == ("bob", "alice", "#team")
    assert refused(alice, {"type": "op", "channel": "#team", "nick": "mallory"})[
        "code"] == "bad_request"  # only accounts run channels
    bob.send({"type": "kick", "channel": "#team", "nick": "mallory", "reason": "rude"})
    for client in (alice, mallory):
        kick = client.recv_until("kick")
        assert (kick["nick"], kick["reason"], kick["by"]) == ("mallory", "rude", "bob")
    assert refused(mallory, {"type": "say", "text": "hi", "channel": "#team"})[
        "code"] == "not_in_channel"
    alice.send({"type": "mode", "channel": "#team", "topic_lock": True})
    assert bob.recv_until("mode", topic_lock=True)["by"] == "alice"
    mallory.send({"type": "join", "channel": "#team"})
    mallory.recv_until("channel")
    assert refused(mallory, {"type": "topic", "channel": "#team", "text": "mine"})[
        "code"] == "not_operator"
    alice.send({"type": "mode", "channel": "#team", "invite_only": True, "topic_lock": False})
    for client in (bob, mallory):  # both changes in one event
        mode = client.recv_until("mode", invite_only=True)
        assert (mode["channel"], mode["by"], mode["ts"] > 0) == ("#team", "alice", True)
        assert mode["topic_lock"] is False
    sync(alice)
    late = user(server, "late")
    assert refused(late, {"type": "join", "channel": "#team"})["code"] == "invite_only"
    bob.send({"type": "invite", "channel": "#team", "nick": "late"})
    invite = late.recv_until("invite")
    assert (invite["channel"], invite["by"]) == ("#team", "bob")
    late.send({"type": "join", "channel": "#team"})
    assert late.recv_until("channel")["name"] == "#team"
    alice.send({"type": "deop", "channel": "#team", "nick": "bob"})
    assert late.recv_until("mode")["deop"] == "bob"
    alice.send({"type": "kick", "channel": "#team", "nick": "late"})
    assert late.recv_until("kick")["reason"] == "kicked by alice"  # no reason: who


def test_a_ban_holds_and_survives_a_restart(start_server: StartServer) -> None:
    server = start_server()
    alice = registered(server, "alice")
    alice.send({"type": "join", "channel": "#team"})
    assert alice.recv_until("channel")["operators"] == ["alice"]
    spammer = user(server, "spammer", "#team")
    sync(alice)
    alice.send({"type": "ban", "channel": "#team", "nick": "spammer", "minutes": 60,
                "reason": "spam", "address": True})
    kick = spammer.recv_until("kick")
    assert (kick["nick"], kick["reason"]) == ("spammer", "banned by alice: spam")
    assert alice.recv_until("mode")["ban"] == "spammer"
    error = refused(spammer, {"type": "join", "channel": "#team"})
    assert error["code"] == "banned" and error["reason"] == "spam" and error["until"] > 0
    sneaky = user(server, "sneaky")  # the same address, another nick
    assert refused(sneaky, {"type": "join", "channel": "#team"})["code"] == "banned"
    server.stop()
    again = start_server(db_path=server.db_path)
    spammer2 = user(again, "spammer")
    assert refused(spammer2, {"type": "join", "channel": "#team"})["code"] == "banned"
    boss, _ = welcomed(again, "alice", nick_password=PASSWORD, channels=["#team"])
    boss.send({"type": "unban", "channel": "#team", "nick": "spammer"})
    boss.recv_until("mode", unban="spammer")
    spammer2.send({"type": "join", "channel": "#team"})
    assert spammer2.recv_until("channel")["name"] == "#team"


def test_admins_ban_and_kill_server_wide(start_server: StartServer) -> None:
    server = start_server("--admin", "root")
    root = registered(server, "root")
    watcher = user(server, "watcher")
    victim = user(server, "victim")
    sync(watcher)
    assert refused(watcher, {"type": "kill", "nick": "victim"})["code"] == "not_operator"
    assert refused(watcher, {"type": "ban", "nick": "victim"})["code"] == "not_operator"
    root.send({"type": "kill", "nick": "victim", "reason": "flooding"})
    assert victim.wait_closed()[-1] == {"type": "bye", "reason": "killed",
                                        "text": "killed by root: flooding"}
    leave = watcher.recv_until("leave", nick="victim")
    assert leave["reason"] == "killed by root: flooding"
    back = user(server, "victim")  # a kill is not a ban
    root.send({"type": "ban", "nick": "victim", "reason": "again"})
    assert back.wait_closed()[-1] == {"type": "bye", "reason": "banned",
                                      "text": "banned by root: again"}
    assert root.recv_until("mode")["ban"] == "victim"
    error = RawClient(server.port).hello("victim")
    assert error["code"] == "banned" and error["reason"] == "again" and "until" not in error
    root.send({"type": "unban", "nick": "victim"})
    root.recv_until("mode", unban="victim")
    assert RawClient(server.port).hello("victim")["type"] == "welcome"


def timed_refusal(client: RawClient, frame: dict[str, Any]) -> float:
    """Send ``frame``, wait for its error, and return how long the answer took."""
    start = time.monotonic()
    assert refused(client, frame)["code"] == "auth_failed"
    return time.monotonic() - start


def test_wrong_passwords_wait_longer_and_a_success_does_not_reset_it(
        server: ServerProcess) -> None:
    registered(server, "alice")
    mine = registered(server, "mine")  # the guesser's own account
    mine.send({"type": "quit"})
    mine.wait_closed()
    guesser = user(server, "guesser")
    guess = {"type": "identify", "nick": "alice", "password": "a wrong guess"}
    waits = [timed_refusal(guesser, guess) for _ in range(3)]
    welcomed(server, "mine", nick_password=PASSWORD)  # a right password, from the same address
    waits.append(timed_refusal(guesser, guess))
    for wait, floor in zip(waits, [0.1, 0.2, 0.4, 0.8], strict=True):
        assert wait >= floor, waits


def team_run_by_alice(server: ServerProcess) -> RawClient:
    """Alice, registered, in #team which she made (so she runs it)."""
    alice = registered(server, "alice")
    alice.send({"type": "join", "channel": "#team"})
    assert alice.recv_until("channel")["operators"] == ["alice"]
    return alice


def test_a_ban_on_a_registered_nick_outlives_a_rename_and_an_unregister(
        server: ServerProcess) -> None:
    alice = team_run_by_alice(server)
    bob = registered(server, "bob", "#team")
    sync(alice)
    alice.send({"type": "ban", "channel": "#team", "nick": "bob", "reason": "troll"})
    assert bob.recv_until("kick")["reason"] == "banned by alice: troll"
    bob.send({"type": "nick", "nick": "bobby"})
    bob.recv_until("rename")
    assert refused(bob, {"type": "join", "channel": "#team"})["code"] == "banned"  # the account
    bob.send({"type": "unregister", "password": PASSWORD})
    assert without_token(bob.recv_until("account")) == {"type": "account", "nick": "bobby"}
    bob.send({"type": "nick", "nick": "bob"})
    bob.recv_until("rename")
    assert refused(bob, {"type": "join", "channel": "#team"})["code"] == "banned"  # the nick


def test_a_ban_on_a_renamed_user_holds_its_account(server: ServerProcess) -> None:
    alice = team_run_by_alice(server)
    carol = registered(server, "carol", "#team")
    carol.send({"type": "nick", "nick": "carol2"})
    carol.recv_until("rename")
    sync(alice)
    alice.send({"type": "ban", "channel": "#team", "nick": "carol2"})
    assert carol.recv_until("kick")["nick"] == "carol2"
    carol.send({"type": "nick", "nick": "carol"})  # her own account's nick
    carol.recv_until("rename")
    error = refused(carol, {"type": "join", "channel": "#team"})
    assert error["code"] == "banned" and "#team" in error["message"]
    alice.send({"type": "unban", "channel": "#team", "nick": "carol"})  # lifts the account's
    alice.recv_until("mode", unban="carol")
    carol.send({"type": "join", "channel": "#team"})
    assert carol.recv_until("channel")["name"] == "#team"


def test_nobody_renames_into_a_banned_nick(start_server: StartServer) -> None:
    server = start_server("--admin", "root")
    root = registered(server, "root")
    alice = team_run_by_alice(server)
    guest = user(server, "guest", "#team")
    outsider = user(server, "outsider")
    sync(alice)
    root.send({"type": "ban", "nick": "spammer", "reason": "spam"})  # offline: the nick
    root.recv_until("mode", ban="spammer")
    alice.send({"type": "ban", "channel": "#team", "nick": "troll"})
    alice.recv_until("mode", ban="troll")
    error = refused(guest, {"type": "nick", "nick": "Spammer"})
    assert (error["code"], error["reason"]) == ("banned", "spam")
    error = refused(guest, {"type": "nick", "nick": "troll"})  # banned where guest is
    assert error["code"] == "banned" and "#team" in error["message"]
    assert refused(outsider, {"type": "nick", "nick": "spammer"})["code"] == "banned"
    outsider.send({"type": "nick", "nick": "troll"})  # not banned where outsider is
    assert outsider.recv_until("rename")["new"] == "troll"


def test_identifying_into_a_banned_account_is_refused_or_put_out(
        start_server: StartServer) -> None:
    server = start_server("--admin", "root")
    root = registered(server, "root")
    alice = team_run_by_alice(server)
    victim = registered(server, "victim")
    bob = registered(server, "bob", "#team")
    sync(alice)
    root.send({"type": "ban", "nick": "victim", "reason": "spam"})
    victim.wait_closed()
    guest = user(server, "guest", "#team")  # same address, but only the account is banned
    error = refused(guest, {"type": "identify", "nick": "victim", "password": PASSWORD})
    assert (error["code"], error["reason"]) == ("banned", "spam")
    alice.send({"type": "ban", "channel": "#team", "nick": "bob", "reason": "troll"})
    bob.recv_until("kick")
    bob.close()
    guest.send({"type": "identify", "nick": "bob", "password": PASSWORD})
    assert guest.recv_until("rename")["new"] == "bob"
    for client in (guest, alice):
        kick = client.recv_until("kick")
        assert (kick["channel"], kick["nick"], kick["reason"]) == (
            "#team", "bob", "banned by alice: troll")
    assert guest.recv_until("account")["identified"] is True
    assert refused(guest, {"type": "join", "channel": "#team"})["code"] == "banned"


def test_sasl_into_a_banned_account_is_refused(start_server: StartServer) -> None:
    server = start_server("--admin", "root", "--irc-port", "0")
    root = registered(server, "root")
    victim = registered(server, "victim")
    root.send({"type": "ban", "nick": "victim", "reason": "spam"})
    victim.wait_closed()
    client, numerics = sasl_user(server, "victim", password=PASSWORD)
    assert numerics == ["900", "903"]  # the password is right ...
    client.send("NICK guest")
    client.send("USER u 0 * :U")
    client.send("CAP END")
    notice = client.recv_until("NOTICE")  # ... but the account is banned: still a guest
    assert "banned" in notice.text and "spam" in notice.text
    root.send({"type": "whois", "nick": "guest"})
    assert root.recv_until("whois").get("account") is None


def test_deop_and_unban_reach_an_offline_account(server: ServerProcess) -> None:
    alice = team_run_by_alice(server)
    bob = registered(server, "bob", "#team")
    alice.send({"type": "op", "channel": "#team", "nick": "bob"})
    bob.recv_until("mode", op="bob")
    bob.send({"type": "quit"})
    bob.wait_closed()
    alice.recv_until("leave", nick="bob")
    alice.send({"type": "deop", "channel": "#team", "nick": "Bob"})
    assert alice.recv_until("mode")["deop"] == "Bob"
    alice.send({"type": "ban", "channel": "#team", "nick": "bob"})
    alice.recv_until("mode", ban="bob")
    alice.send({"type": "unban", "channel": "#team", "nick": "bob"})
    alice.recv_until("mode", unban="bob")
    back, welcome = welcomed(server, "bob", nick_password=PASSWORD, channels=["#team"])
    assert welcome["channels"][0]["operators"] == ["alice"]
    assert refused(back, {"type": "kick", "channel": "#team", "nick": "alice"})[
        "code"] == "not_operator"


def test_every_moderation_and_account_action_is_logged(start_server: StartServer) -> None:
    server = start_server("--admin", "root")
    root = registered(server, "root")
    alice = team_run_by_alice(server)
    bob = registered(server, "bob", "#team")
    victim = user(server, "victim", "#team")
    server.wait_for_log("root registered the nick")
    sync(alice)
    requests: list[tuple[dict[str, Any], str]] = [
        ({"type": "op", "channel": "#team", "nick": "bob"}, "alice opped bob in #team"),
        ({"type": "deop", "channel": "#team", "nick": "bob"}, "alice deopped bob in #team"),
        ({"type": "mode", "channel": "#team", "invite_only": True},
         "alice set the modes of #team"),
        ({"type": "invite", "channel": "#team", "nick": "root"}, "alice invited root to #team"),
        ({"type": "kick", "channel": "#team", "nick": "victim"},
         "alice kicked victim from #team"),
        ({"type": "ban", "channel": "#team", "nick": "victim"}, "alice banned victim from #team"),
        ({"type": "unban", "channel": "#team", "nick": "victim"},
         "alice lifted the ban on victim in #team"),
    ]
    for frame, line in requests:
        alice.send(frame)
        server.wait_for_log(line)
    root.send({"type": "kill", "nick": "victim", "reason": "flood"})
    victim.wait_closed()
    server.wait_for_log("root killed victim")
    root.send({"type": "ban", "nick": "victim"})
    server.wait_for_log("root banned victim from the server")
    root.send({"type": "unban", "nick": "victim"})
    server.wait_for_log("root lifted the ban on victim in the server")
    bob.send({"type": "set_password", "old": PASSWORD, "new": "a new password"})
    server.wait_for_log("bob changed the nick's password")
    bob.send({"type": "unregister", "password": "a new password"})
    server.wait_for_log("bob unregistered the nick")
    guest = user(server, "guest")
    guest.send({"type": "identify", "nick": "alice", "password": PASSWORD})
    server.wait_for_log("alice identified")
    assert not any(PASSWORD in line or "a new password" in line for line in server.log_lines)


def test_an_unregistered_admin_nick_is_warned_of_at_start(start_server: StartServer) -> None:
    server = start_server("--admin", "root", "--admin", "boss")
    line = next(line for line in server.log_lines if "--admin" in line)
    assert "WARNING" in line and "root, boss" in line
    registered(server, "root")
    server.stop()
    again = start_server("--admin", "root", "--admin", "boss", db_path=server.db_path)
    line = next(line for line in again.log_lines if "--admin" in line)
    assert "boss" in line and "root" not in line


def test_account_changes_void_earlier_tokens_and_hand_out_a_fresh_one(
        server: ServerProcess) -> None:
    alice, welcome = welcomed(server, "alice")
    watcher = user(server, "watcher")
    alice.send({"type": "register", "password": PASSWORD})
    registered_token = alice.recv_until("account")["resume"]
    alice.send({"type": "set_password", "old": PASSWORD, "new": "a new password"})
    token = alice.recv_until("account")["resume"]
    alice.close()
    watcher.recv_until("leave", nick="alice")
    for old in (welcome["resume"], registered_token):  # from before the password changed
        assert RawClient(server.port).hello("alice", resume=old)["code"] == "nick_registered"
    back, _ = welcomed(server, "alice", resume=token)  # the fresh one proves the account
    back.send({"type": "unregister", "password": "a new password"})
    fresh = back.recv_until("account")["resume"]
    assert RawClient(server.port).hello("alice", resume=token)["code"] == "nick_taken"
    again, _ = welcomed(server, "alice", resume=fresh)
    assert back.wait_closed()[-1]["reason"] == "replaced"


def test_reset_password_sets_a_new_one_and_voids_tokens(server: ServerProcess) -> None:
    alice, welcome = welcomed(server, "alice")
    watcher = user(server, "watcher")
    alice.send({"type": "register", "password": PASSWORD})
    token = alice.recv_until("account")["resume"]
    alice.close()
    watcher.recv_until("leave", nick="alice")
    cluster = ["--redis", server.redis.url] if server.redis is not None else []
    reset = subprocess.run(  # no terminal (a session of its own): getpass reads stdin
        [sys.executable, "-m", "server", "--reset-password", "Alice", "--db",
         str(server.db_path), *cluster],
        input="brand new password\nbrand new password\n", capture_output=True, text=True,
        cwd=ROOT, start_new_session=True, timeout=30, check=False)
    assert reset.returncode == 0, reset.stderr
    assert "the password of alice was reset" in reset.stderr
    assert "brand new password" not in reset.stderr + reset.stdout
    assert RawClient(server.port).hello("alice", resume=token)["code"] == "nick_registered"
    assert RawClient(server.port).hello("alice", nick_password=PASSWORD)["code"] == "auth_failed"
    welcomed(server, "alice", nick_password="brand new password")
