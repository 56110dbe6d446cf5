"""Starting a cluster node: one line saying what to do when it cannot, and never a password."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import ROOT, ServerProcess
from redis_support import RedisProcess, free_port

SECRET = "hunter2"


def run_server(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
               ) -> subprocess.CompletedProcess[str]:
    """Run ``python -m server`` to its end (it is expected to give up at once)."""
    return subprocess.run(
        [sys.executable, "-m", "server", "--port", "0", "--db", str(tmp_path / "chat.db"),
         *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30,
        stdin=subprocess.DEVNULL, check=False,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a node that gave up wrote, checked: exit 2, no password, no traceback."""
    assert result.returncode == 2, result.stderr
    output = result.stdout + result.stderr
    assert SECRET not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


def test_an_unreachable_redis_is_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"redis://:{SECRET}@127.0.0.1:{free_port()}/0"
    line = one_line(run_server(tmp_path, "--redis", url))
    assert "Cannot reach Redis at redis://127.0.0.1:" in line and "start it" in line


@pytest.mark.parametrize("url", [
    f"redis://:{SECRET}/x@127.0.0.1:6390/0",  # an unencoded / in the password
    f"redis://:{SECRET}?x@127.0.0.1:6390/0",
    f"redis://:{SECRET}#x@127.0.0.1:6390/0",
    f"redis://:{SECRET}@127.0.0.1:abc/0",  # a port that is no number
    f"redis://:{SECRET}@127.0.0.1:6390/notadb",
])
def test_a_malformed_url_is_one_line_and_exit_2(tmp_path: Path, url: str) -> None:
    line = one_line(run_server(tmp_path, "--redis", url))
    assert "The Redis URL is malformed" in line and "percent-encoded" in line


def test_the_url_may_come_from_termchat_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    redis_servers: Callable[[], RedisProcess],
) -> None:
    redis = redis_servers()
    monkeypatch.setenv("TERMCHAT_REDIS", f"redis://:{SECRET}@127.0.0.1:{redis.port}/0")
    node = ServerProcess(tmp_path / "chat.db").start()
    try:
        assert any(f"of the cluster at redis://127.0.0.1:{redis.port}/0" in line
                   for line in node.log_lines)
    finally:
        assert node.stop() == 0
    assert not any(SECRET in line for line in node.log_lines)


def test_without_redis_py_a_node_says_what_to_install(tmp_path: Path) -> None:
    fake = tmp_path / "site" / "redis"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("redis-py is not installed")\n')
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(fake.parent)}
    line = one_line(run_server(tmp_path, "--redis", f"redis://:{SECRET}@127.0.0.1:6379/0",
                               env=env))
    assert "pip install" in line and "redis" in line
