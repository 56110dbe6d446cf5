"""Capability negotiation as a state machine: LS 301 and 302, REQ all or nothing, LIST."""

from __future__ import annotations

from server.irc.caps import CAPABILITIES, CapNegotiation


def test_ls_301_is_one_line_without_values_and_302_enables_cap_notify() -> None:
    caps = CapNegotiation()
    (line,) = caps.ls(None)
    assert line[0] == "LS" and line[1].split() == list(CAPABILITIES)
    assert "cap-notify" not in caps.enabled
    caps.ls("302")
    assert caps.version == 302 and caps.listing() == ["LIST", "cap-notify"]


def test_req_is_accepted_whole_or_refused_whole() -> None:
    caps = CapNegotiation()
    assert caps.request("foo multi-prefix bar") == ["NAK", "foo multi-prefix bar"]
    assert caps.enabled == set()
    assert caps.request("multi-prefix echo-message") == ["ACK", "multi-prefix echo-message"]
    assert caps.enabled == {"multi-prefix", "echo-message"}
    assert caps.request("-echo-message server-time") == ["ACK", "-echo-message server-time"]
    assert caps.enabled == {"multi-prefix", "server-time"}
    assert caps.broadcast_set() == frozenset({"server-time"})
    assert caps.request("") == ["NAK", ""]


def test_a_302_client_cannot_turn_cap_notify_off() -> None:
    caps = CapNegotiation()
    caps.ls("302")
    assert caps.request("-cap-notify")[0] == "NAK"
    assert "cap-notify" in caps.enabled
