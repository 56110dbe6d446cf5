"""Shared fixtures: real chat server processes (alone or as cluster nodes) on ephemeral ports.

``hub`` is which engine the servers run: ``local`` (the default: SQLite) or
``redis`` (each server is a node of a cluster over a real Redis started for the
test). A module that must hold for both says so with
``pytestmark = pytest.mark.parametrize("hub", HUBS, indirect=True)``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import ServerProcess  # noqa: E402
from redis_support import RedisProcess  # noqa: E402

StartServer = Callable[..., ServerProcess]
HUBS = ["local", "redis"]


@pytest.fixture
def hub(request: pytest.FixtureRequest) -> str:
    """The engine this test's servers run (``local`` unless parametrized)."""
    return str(getattr(request, "param", "local"))


@pytest.fixture
def redis_servers(tmp_path: Path) -> Iterator[Callable[[], RedisProcess]]:
    """Start Redis servers of the test's own; each is killed afterwards."""
    started: list[RedisProcess] = []

    def start() -> RedisProcess:
        proc = RedisProcess(tmp_path / f"redis{len(started)}").start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


@pytest.fixture
def start_server(tmp_path: Path, hub: str,
                 redis_servers: Callable[[], RedisProcess]) -> Iterator[StartServer]:
    """Start servers with extra options; each is killed (and its log printed) afterwards.

    With the ``redis`` hub every server of the test is a node on one Redis.
    """
    started: list[ServerProcess] = []
    cluster: list[RedisProcess] = []

    def start(*args: str, db_path: Path | None = None, port: int = 0) -> ServerProcess:
        extra: tuple[str, ...] = ()
        if hub == "redis":
            if not cluster:
                cluster.append(redis_servers())
            extra = ("--redis", cluster[0].url, "--node-timeout", "3")
        proc = ServerProcess(db_path or tmp_path / "chat.db", *extra, *args)
        proc.redis = cluster[0] if cluster else None
        proc.start(port)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.proc is not None and proc.proc.poll() is None:
            proc.kill()
        print(f"--- server log (port {proc.port}) ---")
        print("\n".join(proc.log_lines))


@pytest.fixture
def server(start_server: StartServer) -> ServerProcess:
    """A running server with a fresh database (or a fresh one-node cluster)."""
    return start_server()
