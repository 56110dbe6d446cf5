"""TLS and passwords end to end: raw TLS peers, the line-mode client, bad certificates."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trustme
from conftest import StartServer
from helpers import ROOT, WAIT_S, ServerProcess
from test_tui_plain import start_plain, wait_line

from protocol import MAX_SERVER_FRAME_BYTES, FrameDecoder


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def certfiles(ca: trustme.CA, tmp_path: Path) -> tuple[str, str]:
    """(server certificate chain with key, CA certificate) as PEM files."""
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_pem = tmp_path / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    return str(server_pem), str(ca_pem)


@pytest.fixture
def tls_server(start_server: StartServer, certfiles: tuple[str, str]) -> ServerProcess:
    return start_server("--certfile", certfiles[0])


class TlsClient:
    """A raw protocol client over TLS."""

    def __init__(self, port: int, cafile: str) -> None:
        context = ssl.create_default_context(cafile=cafile)
        raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        self.sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
        self.decoder = FrameDecoder(MAX_SERVER_FRAME_BYTES)
        self.pending: list[dict[str, Any]] = []

    def send(self, obj: dict[str, Any]) -> None:
        self.sock.sendall(json.dumps(obj).encode() + b"\n")

    def recv(self) -> dict[str, Any]:
        while not self.pending:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.pending += [item for item in self.decoder.receive_data(data)
                             if isinstance(item, dict)]
        return self.pending.pop(0)

    def recv_type(self, kind: str) -> dict[str, Any]:
        frame = self.recv()
        while frame["type"] != kind:
            frame = self.recv()
        return frame


def test_tls_clients_chat_and_fan_out_large_bursts(
    tls_server: ServerProcess, certfiles: tuple[str, str]
) -> None:
    clients = [TlsClient(tls_server.port, certfiles[1]) for _ in range(3)]
    for i, client in enumerate(clients):
        client.send({"type": "hello", "nick": f"secure{i}", "proto": 1})
        assert client.recv_type("welcome")["nick"] == f"secure{i}"
    for i in range(500):
        clients[0].send({"type": "say", "text": f"{i} " + "x" * 1000})
    for client in clients:
        texts = [client.recv_type("message")["text"] for _ in range(500)]
        assert [t.split()[0] for t in texts] == [str(i) for i in range(500)]
    assert any("TLS is on" in line for line in tls_server.log_lines)


def test_plain_tcp_to_a_tls_port_is_refused_cleanly(
    tls_server: ServerProcess, certfiles: tuple[str, str]
) -> None:
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=WAIT_S) as plain:
        plain.sendall(b'{"type":"hello","nick":"plain","proto":1}\n')
        assert plain.recv(65536) == b""
    tls_server.wait_for_log("TLS failed")
    secure = TlsClient(tls_server.port, certfiles[1])
    secure.send({"type": "hello", "nick": "secure", "proto": 1})
    assert secure.recv_type("welcome")["roster"] == ["secure"]


def test_unusable_certificate_stops_the_server_with_one_line(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate\n")
    for certfile in (bogus, tmp_path / "missing.pem"):
        result = subprocess.run(
            [sys.executable, "-m", "server", "--port", "0", "--db", str(tmp_path / "c.db"),
             "--certfile", str(certfile)],
            cwd=ROOT, capture_output=True, text=True, timeout=20,
        )
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Cannot" in lines[0], result.stderr


def test_client_over_tls_chats(
    tls_server: ServerProcess, certfiles: tuple[str, str], tmp_path: Path
) -> None:
    peer = TlsClient(tls_server.port, certfiles[1])
    peer.send({"type": "hello", "nick": "peer", "proto": 1})
    peer.recv_type("welcome")
    proc, lines = start_plain(tls_server, tmp_path, "carol", "--tls", "--cafile", certfiles[1])
    assert proc.stdin is not None
    peer.recv_type("join")
    proc.stdin.write("привет по TLS\n")
    proc.stdin.flush()
    assert peer.recv_type("message")["text"] == "привет по TLS"
    peer.send({"type": "say", "text": "hello back"})
    wait_line(lines, "peer: hello back")
    proc.stdin.close()
    assert proc.wait(timeout=WAIT_S) == 0


def test_client_refuses_an_untrusted_certificate(
    tls_server: ServerProcess, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    proc, lines = start_plain(tls_server, tmp_path, "carol", "--tls", "--cafile", str(stranger))
    line = wait_line(lines, "Secure connection failed")
    assert "certificate" in line
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=WAIT_S)


def test_client_password_from_the_environment(
    start_server: StartServer, tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text("hunter2\n")
    server = start_server("--password-file", str(secret))
    env = dict(os.environ, TERMCHAT_PASSWORD="hunter2")
    proc, lines = start_plain(server, tmp_path, "carol", env=env)
    assert proc.stdin is not None
    proc.stdin.write("in with the password\n")
    proc.stdin.flush()
    wait_line(lines, "carol: in with the password")
    proc.stdin.close()
    proc.wait(timeout=WAIT_S)
    wrong = dict(os.environ, TERMCHAT_PASSWORD="wrong")
    proc, lines = start_plain(server, tmp_path, "dave", env=wrong)
    assert "password" in wait_line(lines, "assword").lower()
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=WAIT_S)
