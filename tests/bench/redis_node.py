"""Run one cluster node on a private, fresh redis-server: a ``--server-cmd`` for other generators.

    python3 /path/to/repo/tests/bench/redis_node.py PORT [SERVER_ARG ...]

starts ``redis-server`` on a free loopback port in a temp dir (AOF, fsync
every second, no snapshots: the settings of ``run.py --redis``), then
*becomes* the node: this process execs ``python -m server --host 127.0.0.1
--port PORT --redis redis://127.0.0.1:RPORT/0 --rate-limit 0 [SERVER_ARG ...]``
from the repository root. A generator that started this command, pinned it and
reads ``/proc/PID`` (the shared ``fanout.py``) so measures the node itself,
not a wrapper; redis-server inherits the pinning.

Before the exec a small watchdog process is forked. It owns redis-server,
waits for the node's PID to end (a pidfd, no polling), then reads
redis-server's CPU time, stops it (SIGTERM, then SIGKILL), removes the temp
dir and writes one summary line to stderr (the generator's server log) and
one JSON line to ``$REDIS_NODE_DIR/cpu.jsonl``. While the node runs,
``$REDIS_NODE_DIR/redis-PORT.pid`` holds redis-server's PID (for ``/proc`` or
``py-spy``) and ``redis-PORT.log`` its log. ``REDIS_NODE_DIR`` defaults to
``redis-node`` in the temp dir.

The summary gives CPU seconds over the node's life and over its *busy*
stretch (the 0.25 s samples in which the node used >= 10 % of a core: joins,
traffic, drain). The generator's own window is not visible from here; see
tests/bench/README.md for how to read Redis's share of a run.

The node runs the files in the work tree (as ``python3 -m server`` from the
root would), or those in ``$REDIS_NODE_SRC``, a directory holding ``server/``
and ``protocol/`` (say, from ``git archive``). Its interpreter is
``$REDIS_NODE_PYTHON``, else the repository's ``.venv/bin/python`` (which has
redis-py), else this one. Stdlib only; Linux.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final, TextIO

REPO: Final = Path(__file__).resolve().parents[2]
CLK_TCK: Final = os.sysconf("SC_CLK_TCK")
REDIS_ARGS: Final = ("--save", "", "--appendonly", "yes", "--appendfsync", "everysec")
REDIS_START_TIMEOUT_S: Final = 10.0
REDIS_STOP_TIMEOUT_S: Final = 10.0
SAMPLE_EVERY_S: Final = 0.25
BUSY_SHARE: Final = 0.10
"""A sample counts as busy when the node used at least this share of a core."""


class _Stop(Exception):
    """SIGTERM reached the watchdog: clean up now."""


def _proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` (all threads), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _node_python() -> str:
    override = os.environ.get("REDIS_NODE_PYTHON")
    if override:
        return override
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _state_dir() -> Path:
    path = Path(os.environ.get("REDIS_NODE_DIR") or Path(tempfile.gettempdir()) / "redis-node")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wait_ready(proc: subprocess.Popen[bytes], port: int) -> None:
    """Wait until redis-server answers PING (an inline command: no client library)."""
    deadline = time.monotonic() + REDIS_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass  # not listening yet
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer within {REDIS_START_TIMEOUT_S:.0f} s")


class _Usage:
    """CPU seconds of the node and of redis-server, over the node's life and its busy samples."""

    def __init__(self, node_pid: int, redis_pid: int) -> None:
        self.node_pid, self.redis_pid = node_pid, redis_pid
        self.t0 = self.t = time.monotonic()
        self.node0 = self.node = _proc_cpu_s(node_pid) or 0.0
        self.redis0 = self.redis = _proc_cpu_s(redis_pid) or 0.0
        self.busy_s = self.busy_node_s = self.busy_redis_s = 0.0

    def sample(self) -> None:
        """Read both; add the interval to the busy totals if the node was busy in it."""
        now = time.monotonic()
        node = _proc_cpu_s(self.node_pid)
        redis = _proc_cpu_s(self.redis_pid)
        if node is None or redis is None:
            return  # one of them is gone: keep the last readings
        dt, d_node, d_redis = now - self.t, node - self.node, redis - self.redis
        if dt > 0 and d_node / dt >= BUSY_SHARE:
            self.busy_s += dt
            self.busy_node_s += d_node
            self.busy_redis_s += d_redis
        self.t, self.node, self.redis = now, node, redis

    def summary(self, port: str) -> dict[str, object]:
        life_redis = (_proc_cpu_s(self.redis_pid) or self.redis) - self.redis0
        return {
            "port": int(port), "node_pid": self.node_pid, "redis_pid": self.redis_pid,
            "redis_args": shlex.join(REDIS_ARGS), "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "life_s": round(time.monotonic() - self.t0, 2),
            "node_cpu_s": round(self.node - self.node0, 2),
            "redis_cpu_s": round(life_redis, 2),
            "busy_s": round(self.busy_s, 2),
            "busy_node_cpu_s": round(self.busy_node_s, 2),
            "busy_redis_cpu_s": round(self.busy_redis_s, 2),
            "busy_redis_per_node_cpu": (round(self.busy_redis_s / self.busy_node_s, 3)
                                        if self.busy_node_s else None),
        }


def _wait_for_exit(node_pid: int, usage: _Usage) -> None:
    """Sample CPU until the node's process ends (its pidfd turns readable)."""
    try:
        pidfd = os.pidfd_open(node_pid)
    except ProcessLookupError:
        return  # the node is already gone
    try:
        while not select.select([pidfd], [], [], SAMPLE_EVERY_S)[0]:
            usage.sample()
    finally:
        os.close(pidfd)


def _stop_redis(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # Redis flushes the AOF and exits
        try:
            proc.wait(REDIS_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _on_term(_signum: int, _frame: object) -> None:
    raise _Stop


def _watchdog(node_pid: int, port: str, ready_w: int) -> int:
    """Own redis-server for the node's life; report its CPU and clean up when the node ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C to the group must not skip cleanup
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_term)
    state = _state_dir()
    pid_path, log_path = state / f"redis-{port}.pid", state / f"redis-{port}.log"
    tmp = Path(tempfile.mkdtemp(prefix=f"redis-node-{port}-"))
    rport = _free_port()
    proc: subprocess.Popen[bytes] | None = None
    err: TextIO = sys.stderr
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--dir", str(tmp),
                 "--daemonize", "no", "--logfile", "", *REDIS_ARGS],
                cwd=tmp, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        _wait_ready(proc, rport)
        pid_path.write_text(f"{proc.pid}\n")
        usage = _Usage(node_pid, proc.pid)
        os.write(ready_w, b"%d\n" % rport)
        os.close(ready_w)
        try:
            _wait_for_exit(node_pid, usage)
        except _Stop:
            pass  # stopped from outside: clean up as if the node had ended
        summary = usage.summary(port)
        _stop_redis(proc)
        with open(state / "cpu.jsonl", "a") as f:
            f.write(json.dumps(summary) + "\n")
        print(f"redis_node: node pid {node_pid} ended after {summary['life_s']} s; CPU over its "
              f"life: node {summary['node_cpu_s']} s, redis-server (pid {proc.pid}) "
              f"{summary['redis_cpu_s']} s; while the node was busy ({summary['busy_s']} s): "
              f"node {summary['busy_node_cpu_s']} s, redis {summary['busy_redis_cpu_s']} s "
              f"(redis/node {summary['busy_redis_per_node_cpu']})", file=err, flush=True)
        return 0
    except (OSError, RuntimeError, _Stop) as exc:
        print(f"redis_node: {exc}; see {log_path}", file=err, flush=True)
        return 1
    finally:
        if proc is not None:
            _stop_redis(proc)
        pid_path.unlink(missing_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not argv[1].isdigit():
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    port, extra = argv[1], argv[2:]
    if shutil.which("redis-server") is None:
        print("redis_node: redis-server is not installed (apt-get install -y redis-server).",
              file=sys.stderr)
        return 1
    node_pid = os.getpid()
    ready_r, ready_w = os.pipe()  # both close on exec
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() == 0:
        os.close(ready_r)
        os.setsid()  # out of the node's group: a signal meant for the group leaves cleanup alone
        os._exit(_watchdog(node_pid, port, ready_w))
    os.close(ready_w)
    ready = select.select([ready_r], [], [], REDIS_START_TIMEOUT_S + 5)[0]
    line = os.read(ready_r, 64) if ready else b""
    if not line.strip().isdigit():
        print("redis_node: redis-server did not start; not starting the node.", file=sys.stderr)
        return 1
    url = f"redis://127.0.0.1:{int(line)}/0"
    python = _node_python()
    os.chdir(os.environ.get("REDIS_NODE_SRC") or REPO)
    os.execv(python, [python, "-m", "server", "--host", "127.0.0.1", "--port", port,
                      "--redis", url, "--rate-limit", "0", *extra])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
