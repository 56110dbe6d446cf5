"""Benchmark driver: start a server pinned to one core, load it, report figures.

The server (this repo's, or ngircd with ``--target irc``) runs on CPU 0; the
load generator (``tests/bench/loadgen.py``) runs on the other CPUs, one worker process
per CPU. Server CPU seconds and RSS come from ``/proc/PID/stat`` and
``/proc/PID/status``. Every run gets a fresh server and a fresh database.

With ``--redis`` every run gets a fresh ``redis-server`` (a free loopback
port, a temp dir, AOF with fsync every second, no snapshots) and the chat
server runs as a cluster node on it; ``--nodes K`` starts K nodes, and user
``i`` connects to node ``i % K``. The nodes and redis-server all share the
server CPU, so the server side never gets more than the one core a single
server gets; each one's CPU is read from /proc.

Results print as a table and are appended as JSON lines to
``bench-results/results.jsonl`` (gitignored). Server logs go next to it.

    python3 tests/bench/run.py --users 200 --rate 15 --duration 10
    python3 tests/bench/run.py --users 2000 --channels 100 --rate 1 --duration 10
    python3 tests/bench/run.py --users 1000 --step --duration 5
    python3 tests/bench/run.py --idle-users 5000
    python3 tests/bench/run.py --users 200 --rate 15 --target irc
    python3 tests/bench/run.py --users 300 --redis --nodes 3 --rate 2 --duration 8

Stdlib only; run it from the repository root or anywhere (paths are resolved).
"""

from __future__ import annotations

import argparse
import atexit
import importlib.util
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen  # noqa: E402  (a sibling script, not a package)

REPO: Final = Path(__file__).resolve().parents[2]
RESULTS_DIR: Final = REPO / "bench-results"
CLK_TCK: Final = os.sysconf("SC_CLK_TCK")
PAGE_BYTES: Final = os.sysconf("SC_PAGE_SIZE")
SERVER_START_TIMEOUT_S: Final = 10.0
REDIS_START_TIMEOUT_S: Final = 10.0
NODE_STOP_SETTLE_S: Final = 1.0
"""With --redis, wait this long after the users disconnect before stopping the nodes.

A node stopped while its users' leaves are still on their way through Redis
logs "event for an unknown session ... ignored" once per user (a shutdown race,
not a fault of the run); the wait keeps the log counts about the run."""
REDIS_ARGS: Final = ("--save", "", "--appendonly", "yes", "--appendfsync", "everysec")
"""How every run's redis-server persists: AOF, fsync once a second, no RDB snapshots."""
SAMPLE_EVERY_S: Final = 0.25
STEP_MAX: Final = 14
PASS_P99_MS: Final = 100.0


# /proc sampling.


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (all threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_s() -> float:
    """CPU seconds all CPUs spent not idle (from /proc/stat), to spot other load."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLK_TCK


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM in KiB, and the thread count, from /proc/PID/status."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(value.split()[0])
    return out


class Sampler:
    """Background thread that keeps the peak RSS and thread count of a process."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_rss_kib = 0
        self.peak_threads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            try:
                st = proc_status(self.pid)
            except OSError:
                return  # the process is gone
            self.peak_rss_kib = max(self.peak_rss_kib, st.get("VmRSS", 0))
            self.peak_threads = max(self.peak_threads, st.get("Threads", 0))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# Servers under test.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pin(cpu: int) -> Any:
    def pin() -> None:
        os.sched_setaffinity(0, {cpu})
    return pin


def export_source(rev: str) -> tuple[Path, str]:
    """Return a directory holding ``server/`` and ``protocol/`` at ``rev``, and its commit.

    ``worktree`` means the files as they are now. A revision is exported with
    ``git archive`` into a temp dir, so others' uncommitted edits cannot break a
    run and the figures belong to a known commit. Nothing in the repo changes.
    """
    if rev == "worktree":
        return REPO, "worktree"
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout.strip()
    dest = Path(tempfile.mkdtemp(prefix=f"bench-src-{commit}-"))
    atexit.register(shutil.rmtree, dest, ignore_errors=True)
    archive = subprocess.run(["git", "archive", rev, "server", "protocol"], cwd=REPO,
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest, commit


def server_python(redis: bool) -> str:
    """Return the interpreter for the chat server: this one, or the venv's if --redis needs it.

    A cluster node imports redis-py; it is installed in the repository's
    ``.venv``, which the driver itself (stdlib only) need not run in.
    """
    if not redis or importlib.util.find_spec("redis") is not None:
        return sys.executable
    venv = REPO / ".venv" / "bin" / "python"
    if venv.exists() and subprocess.run([str(venv), "-c", "import redis"],
                                        capture_output=True).returncode == 0:
        return str(venv)
    raise SystemExit("--redis needs redis-py for the server: run the driver with a Python that "
                     "has it (pip install redis), or create .venv with it.")


def _log_summary(log_path: Path, warn: str, err: str) -> dict[str, Any]:
    """Count warning and error lines (and tracebacks) in a log; keep the first five."""
    text = log_path.read_text(errors="replace")
    lines = text.splitlines()
    return {
        "log_warnings": sum(warn in ln for ln in lines),
        "log_errors": sum(err in ln for ln in lines),
        "log_tracebacks": text.count("Traceback"),
        "log_sample": [ln for ln in lines if warn in ln or err in ln][:5],
    }


class ServerProcess:
    """A server under test on 127.0.0.1:port, pinned to one CPU.

    With ``redis_url`` it is a node of the cluster that Redis defines and has
    no database of its own. It runs in its own session, so a Ctrl-C reaches
    only the driver, which stops it.
    """

    _help_cache: dict[tuple[str, Path], str] = {}

    def __init__(self, target: str, cpu: int, tag: str, extra_args: list[str],
                 src: Path = REPO, python: str = sys.executable,
                 redis_url: str | None = None) -> None:
        self.target = target
        self.src = src
        self.python = python
        self.redis_url = redis_url
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-"))
        RESULTS_DIR.mkdir(exist_ok=True)
        self.log_path = RESULTS_DIR / f"server-{tag}.log"
        self.log = open(self.log_path, "w")
        cmd = self._chat_cmd(extra_args) if target == "chat" else self._irc_cmd()
        self.cmd = cmd
        atexit.register(self._kill)  # never leave a server behind (Ctrl-C, a crash)
        self.proc = subprocess.Popen(cmd, cwd=self.src, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=_pin(cpu), start_new_session=True)
        self._wait_listening()

    def _chat_cmd(self, extra_args: list[str]) -> list[str]:
        cmd = [self.python, "-m", "server", "--host", "127.0.0.1", "--port", str(self.port),
               "--log-level", "WARNING"]
        if self.redis_url:
            cmd += ["--redis", self.redis_url]
        else:
            cmd += ["--db", str(self.tmp / "bench.db")]
        key = (self.python, self.src)
        if key not in self._help_cache:
            self._help_cache[key] = subprocess.run(
                [self.python, "-m", "server", "--help"], cwd=self.src, capture_output=True,
                text=True, timeout=30).stdout
        if "--rate-limit" in self._help_cache[key]:
            cmd += ["--rate-limit", "0"]
        return cmd + extra_args

    def _irc_cmd(self) -> list[str]:
        ngircd = shutil.which("ngircd") or "/usr/sbin/ngircd"
        conf = self.tmp / "ngircd.conf"
        conf.write_text(NGIRCD_CONF.format(port=self.port, tmp=self.tmp))
        return [ngircd, "-n", "-f", str(conf)]

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}; see {self.log_path}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not listen within {SERVER_START_TIMEOUT_S:.0f} s")

    def _kill(self) -> None:
        proc = getattr(self, "proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> dict[str, Any]:
        """SIGTERM, wait, and summarise the log (warnings, errors, tracebacks)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        atexit.unregister(self._kill)
        return {"exit_code": self.proc.returncode,
                **_log_summary(self.log_path, " WARNING ", " ERROR ")}


class RedisProcess:
    """A fresh ``redis-server`` for one run: a free loopback port, a temp dir, pinned to one CPU.

    Persistence is REDIS_ARGS (AOF, fsync every second, no snapshots), the
    setting docs/CLUSTER.md calls the faster one. The temp dir, and with it
    the AOF, is removed when it stops.
    """

    def __init__(self, cpu: int, tag: str) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise SystemExit("--redis needs redis-server (apt-get install -y redis-server).")
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-redis-"))
        RESULTS_DIR.mkdir(exist_ok=True)
        self.log_path = RESULTS_DIR / f"redis-{tag}.log"
        self.log = open(self.log_path, "w")
        self.cmd = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.tmp),
                    "--daemonize", "no", "--logfile", "", *REDIS_ARGS]
        atexit.register(self._kill)
        self.proc = subprocess.Popen(self.cmd, cwd=self.tmp, stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=_pin(cpu),
                                     start_new_session=True)
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait_ready(self) -> None:
        """Wait until it answers PING (inline command, no client library)."""
        deadline = time.monotonic() + REDIS_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}; "
                                   f"see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass  # not listening yet
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer within {REDIS_START_TIMEOUT_S:.0f} s")

    def _kill(self) -> None:
        proc = getattr(self, "proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def stop(self) -> dict[str, Any]:
        """SIGTERM (Redis flushes the AOF and exits), wait, remove the temp dir."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        atexit.unregister(self._kill)
        # Redis logs its banner and its warnings alike at level "#"; its warnings say WARNING.
        return {"exit_code": self.proc.returncode,
                **_log_summary(self.log_path, "WARNING", "rror")}


class ServerSet:
    """What one run loads: a server on its own, or K cluster nodes on a fresh Redis.

    Everything runs on the server CPU. ``stop()`` stops the nodes first, then Redis.
    """

    def __init__(self, target: str, cpu: int, tag: str, extra_args: list[str], src: Path,
                 python: str, nodes: int, redis: bool) -> None:
        self.redis: RedisProcess | None = None
        self.nodes: list[ServerProcess] = []
        try:
            if redis:
                self.redis = RedisProcess(cpu, tag)
            url = self.redis.url if self.redis else None
            for k in range(nodes):
                node_tag = f"{tag}-node{k}" if redis else tag
                self.nodes.append(ServerProcess(target, cpu, node_tag, extra_args, src, python,
                                                url))
        except BaseException:
            self.stop()
            raise

    @property
    def ports(self) -> list[int]:
        return [n.port for n in self.nodes]

    @property
    def pids(self) -> list[int]:
        return [n.pid for n in self.nodes]

    def node_cpu_s(self) -> list[float]:
        return [proc_cpu_s(pid) for pid in self.pids]

    def redis_cpu_s(self) -> float:
        return proc_cpu_s(self.redis.pid) if self.redis else 0.0

    def node_rss_kib(self) -> list[int]:
        return [proc_status(pid)["VmRSS"] for pid in self.pids]

    def stop(self) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Stop the nodes, then Redis; return each one's exit code and log summary."""
        if self.redis and self.nodes:
            time.sleep(NODE_STOP_SETTLE_S)
        nodes = [n.stop() for n in self.nodes]
        redis = self.redis.stop() if self.redis else None
        return nodes, redis


NGIRCD_CONF: Final = """\
[Global]
    Name = bench.irc
    Info = bench server
    Listen = 127.0.0.1
    Ports = {port}
    MotdPhrase = bench
    PidFile = {tmp}/ngircd.pid
[Limits]
    MaxConnections = 0
    MaxConnectionsIP = 0
    MaxJoins = 0
    MaxNickLength = 9
    PingTimeout = 600
    PongTimeout = 600
[Options]
    DNS = no
    Ident = no
    PAM = no
    MaxPenaltyTime = 0
"""


# Runs.


def machine_facts() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), ""
            )
    except OSError:
        pass  # not Linux
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "mem_gib": round(os.sysconf("SC_PHYS_PAGES") * PAGE_BYTES / 2**30, 1),
    }


class Bench:
    """Runs the workloads with the options given on the command line."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        cpus = sorted(os.sched_getaffinity(0))
        self.server_cpu = args.server_cpu
        self.gen_cpus = [c for c in cpus if c != self.server_cpu] or cpus
        os.sched_setaffinity(0, set(self.gen_cpus))
        self.procs = args.gen_procs or len(self.gen_cpus)
        loadgen.raise_fd_limit()
        self.facts = machine_facts()
        self.run_no = 0
        self.src, self.commit = (export_source(args.rev) if args.target == "chat"
                                 else (REPO, "ngircd"))
        self.python = server_python(args.redis)

    def _wait_quiet(self) -> float:
        """Wait (up to --quiet-wait s) until other processes use < 0.3 cores; return that load."""
        deadline = time.monotonic() + self.args.quiet_wait
        while True:
            busy0 = machine_busy_s()
            time.sleep(1.0)
            load = machine_busy_s() - busy0
            if load < 0.3 or time.monotonic() >= deadline:
                if load >= 0.3:
                    print(f"  note: the machine is busy ({load:.2f} cores) before this run")
                return round(load, 2)

    def _servers(self, label: str) -> ServerSet:
        self.prior_load = self._wait_quiet()
        self.run_no += 1
        tag = f"{time.strftime('%Y%m%d-%H%M%S')}-{self.run_no}-{label}"
        return ServerSet(self.args.target, self.server_cpu, tag, self.args.server_arg or [],
                         self.src, self.python, self.args.nodes, self.args.redis)

    def _label(self, label: str) -> str:
        channels = self.args.channels
        if channels:
            label += f"-c{channels}"
        if self.args.presence:
            label += "-presence"
        if self.args.redis:
            label += f"-redis-n{self.args.nodes}"
        return label

    def _config(self, users: int, rate: float, duration_s: float,
                servers: ServerSet) -> loadgen.LoadConfig:
        ports = servers.ports
        return loadgen.LoadConfig(users=users, rate=rate, duration_s=duration_s,
                                  target=self.args.target, procs=min(self.procs, users),
                                  drain_timeout_s=self.args.drain_timeout,
                                  connect_concurrency=self.args.connect_concurrency,
                                  channels=self.args.channels, presence=self.args.presence,
                                  port=ports[0],
                                  ports=tuple(ports) if len(ports) > 1 else ())

    def load(self, users: int, rate: float, duration_s: float) -> dict[str, Any]:
        """One timed load run on a fresh server (or fresh nodes and a fresh Redis)."""
        servers = self._servers(self._label(f"load-{users}x{rate:g}"))
        result: dict[str, Any] = {"mode": "load", "target": self.args.target, "users": users,
                                  "channels": self.args.channels, "rate": rate,
                                  "duration_s": duration_s}
        samplers: list[Sampler] = []
        redis_sampler: Sampler | None = None
        swarm: loadgen.Swarm | None = None
        try:
            swarm = loadgen.Swarm(self._config(users, rate, duration_s, servers))
            samplers = [Sampler(pid) for pid in servers.pids]
            if servers.redis:
                redis_sampler = Sampler(servers.redis.pid)
            result["connect"] = swarm.start()
            rss_connected = servers.node_rss_kib()
            cpu0, redis0 = servers.node_cpu_s(), servers.redis_cpu_s()
            t0, busy0 = time.monotonic(), machine_busy_s()
            result["traffic"] = swarm.traffic()
            cpu1, redis1 = servers.node_cpu_s(), servers.redis_cpu_s()
            t1, busy1 = time.monotonic(), machine_busy_s()
            wall = t1 - t0
            node_cpu = [b - a for a, b in zip(cpu0, cpu1, strict=True)]
            redis_cpu = redis1 - redis0
            tr = result["traffic"]
            other = (busy1 - busy0) - sum(node_cpu) - redis_cpu - tr["gen_cpu_s"]
            rss_peak = [max(sm.peak_rss_kib, rss)
                        for sm, rss in zip(samplers, servers.node_rss_kib(), strict=True)]
            result["server"] = {
                **_cpu_figures(sum(node_cpu), wall, tr["deliveries"], tr["sent"]),
                "rss_connected_kib": sum(rss_connected),
                "rss_peak_kib": sum(rss_peak),
                "threads_peak": sum(sm.peak_threads for sm in samplers),
            }
            if servers.redis and redis_sampler is not None:
                result["server"]["nodes"] = [
                    {"port": node.port,
                     **_cpu_figures(cpu, wall, tr["received_by_node"][k], None),
                     "deliveries": tr["received_by_node"][k],
                     "loss": tr["expected_by_node"][k] - tr["received_by_node"][k],
                     "rss_peak_kib": rss_peak[k], "threads_peak": samplers[k].peak_threads}
                    for k, (node, cpu) in enumerate(zip(servers.nodes, node_cpu, strict=True))]
                result["redis_server"] = {
                    "port": servers.redis.port, "args": shlex.join(REDIS_ARGS),
                    **_cpu_figures(redis_cpu, wall, tr["deliveries"], tr["sent"]),
                    "rss_peak_kib": max(redis_sampler.peak_rss_kib,
                                        proc_status(servers.redis.pid)["VmRSS"]),
                }
                result["server"]["cpu_per_delivery_us_with_redis"] = _per(
                    sum(node_cpu) + redis_cpu, tr["deliveries"], 2)
            result["other_cpu_util"] = round(max(0.0, other) / wall, 2)
        finally:
            for sm in [*samplers, *([redis_sampler] if redis_sampler else [])]:
                sm.stop()
            if swarm is not None:
                swarm.stop()
            self._merge_stops(result, servers)
        return self._record(result)

    @staticmethod
    def _merge_stops(result: dict[str, Any], servers: ServerSet) -> None:
        """Stop everything; add exit codes and log counts (summed over nodes) to ``result``."""
        node_stops, redis_stop = servers.stop()
        server = result.setdefault("server", {})
        server.update({
            "exit_code": next((s["exit_code"] for s in node_stops if s["exit_code"]),
                              node_stops[0]["exit_code"] if node_stops else None),
            **{key: sum(s[key] for s in node_stops)
               for key in ("log_warnings", "log_errors", "log_tracebacks")},
            "log_sample": [ln for s in node_stops for ln in s["log_sample"]][:5],
        })
        for node, stop in zip(server.get("nodes", []), node_stops, strict=False):
            node.update(stop)
        if redis_stop is not None:
            result.setdefault("redis_server", {}).update(redis_stop)

    def step(self, users: int, duration_s: float) -> dict[str, Any]:
        """Raise the rate until loss > 0 or p99 > 100 ms; report the highest passing load."""
        per_rate = loadgen.offered_per_rate(users, self.args.channels)
        rate = self.args.rate or max(0.05, 50_000 / max(per_rate, 1))
        passing: dict[str, Any] | None = None
        steps = []
        for _ in range(STEP_MAX):
            res = self.load(users, round(rate, 3), duration_s)
            tr = res.get("traffic", {})
            ok = (tr.get("loss", 1) == 0 and res["connect"]["failed"] == 0
                  and (tr.get("lat_p99_ms") or 1e9) <= PASS_P99_MS)
            srv, rds = res["server"], res.get("redis_server", {})
            steps.append({"rate": rate, "ok": ok, "deliveries_per_s": tr.get("deliveries_per_s"),
                          "p99_ms": tr.get("lat_p99_ms"), "loss": tr.get("loss"),
                          "gen_cpu_util": tr.get("gen_cpu_util"),
                          "server_cpu_util": srv.get("cpu_util"),
                          "server_cpu_per_delivery_us": srv.get("cpu_per_delivery_us"),
                          "node_cpu_util": [n.get("cpu_util") for n in srv.get("nodes", [])],
                          "redis_cpu_util": rds.get("cpu_util"),
                          "redis_cpu_per_delivery_us": rds.get("cpu_per_delivery_us"),
                          "disconnected": tr.get("disconnected"),
                          "other_cpu_util": res.get("other_cpu_util")})
            if not ok:
                break
            passing = res
            rate *= self.args.step_factor
        summary = {"mode": "step", "target": self.args.target, "users": users,
                   "channels": self.args.channels, "duration_s": duration_s, "steps": steps,
                   "saturation_rate": passing["rate"] if passing else None,
                   "saturation_deliveries_per_s":
                       passing["traffic"]["deliveries_per_s"] if passing else None}
        return self._record(summary)

    def idle(self, users: int, idle_s: float) -> dict[str, Any]:
        """Connect idle users: connect time, RSS per user, server CPU while idle."""
        servers = self._servers(self._label(f"idle-{users}"))
        result: dict[str, Any] = {"mode": "idle", "target": self.args.target, "users": users,
                                  "channels": self.args.channels}
        swarm: loadgen.Swarm | None = None
        try:
            swarm = loadgen.Swarm(self._config(users, 0, 0, servers))
            time.sleep(1.0)
            rss0 = sum(servers.node_rss_kib())
            connect_cpu0, redis0 = sum(servers.node_cpu_s()), servers.redis_cpu_s()
            result["connect"] = swarm.start()
            connect_cpu = sum(servers.node_cpu_s()) - connect_cpu0
            redis_connect = servers.redis_cpu_s() - redis0
            time.sleep(2.0)  # let join fan-out finish
            status = [proc_status(pid) for pid in servers.pids]
            rss = sum(st["VmRSS"] for st in status)
            cpu0, redis0 = sum(servers.node_cpu_s()), servers.redis_cpu_s()
            time.sleep(idle_s)
            idle_cpu = sum(servers.node_cpu_s()) - cpu0
            redis_idle = servers.redis_cpu_s() - redis0
            welcomed = result["connect"]["welcomed"] or 1
            result["server"] = {
                "rss_empty_kib": rss0,
                "rss_connected_kib": rss,
                "rss_per_user_kib": round((rss - rss0) / welcomed, 1),
                "threads": sum(st["Threads"] for st in status),
                "connect_cpu_s": round(connect_cpu, 2),
                "idle_s": idle_s,
                "idle_cpu_s": round(idle_cpu, 3),
                "idle_cpu_util": round(idle_cpu / idle_s, 4),
            }
            if servers.redis:
                result["redis_server"] = {
                    "port": servers.redis.port, "args": shlex.join(REDIS_ARGS),
                    "rss_connected_kib": proc_status(servers.redis.pid)["VmRSS"],
                    "connect_cpu_s": round(redis_connect, 2),
                    "idle_cpu_s": round(redis_idle, 3),
                }
        finally:
            if swarm is not None:
                swarm.stop()
            self._merge_stops(result, servers)
        return self._record(result)

    def _record(self, result: dict[str, Any]) -> dict[str, Any]:
        result["server_commit"] = self.commit
        result.setdefault("load_before_run", getattr(self, "prior_load", None))
        result["machine"] = self.facts
        result["server_cpu"] = self.server_cpu
        result["gen_cpus"] = self.gen_cpus
        result["gen_procs"] = self.procs
        result["redis"] = self.args.redis
        result["nodes"] = self.args.nodes
        result["when"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        result["argv"] = sys.argv[1:]
        RESULTS_DIR.mkdir(exist_ok=True)
        with open(RESULTS_DIR / "results.jsonl", "a") as f:
            f.write(json.dumps(result) + "\n")
        print_result(result)
        return result


def _per(cpu_s: float, count: int | None, digits: int) -> float | None:
    """CPU seconds per item in microseconds (None when nothing was counted)."""
    return round(cpu_s * 1e6 / count, digits) if count else None


def _cpu_figures(cpu_s: float, wall_s: float, deliveries: int | None,
                 sent: int | None) -> dict[str, Any]:
    """CPU seconds, share of a core, and per delivery / per message (us)."""
    return {"cpu_s": round(cpu_s, 2), "cpu_util": round(cpu_s / wall_s, 3),
            "cpu_per_delivery_us": _per(cpu_s, deliveries, 2),
            "cpu_per_message_us": _per(cpu_s, sent, 1)}


# Output.


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _channels_text(users: int, channels: int) -> str:
    """Say how the users are split: "one room", "100 x 20 users", "7 x 5-6 users"."""
    if not channels:
        return "one room (default channel)"
    sizes = loadgen.channel_sizes(users, channels)
    each = f"{min(sizes)}" if min(sizes) == max(sizes) else f"{min(sizes)}-{max(sizes)}"
    return f"{channels} x {each} users"


def _mib(kib: int | None) -> float:
    return round((kib or 0) / 1024, 1)


def _cluster_load_rows(res: dict[str, Any]) -> list[tuple[str, Any]]:
    """Rows for each node and for redis-server, after the summed server rows."""
    s, r = res.get("server", {}), res.get("redis_server", {})
    rows: list[tuple[str, Any]] = []
    for k, node in enumerate(s.get("nodes", [])):
        rows.append((f"node {k} CPU util / us/deliv / loss",
                     f"{_fmt(node.get('cpu_util'))} / {_fmt(node.get('cpu_per_delivery_us'))} / "
                     f"{_fmt(node.get('loss'))}  (:{node.get('port')}, "
                     f"RSS {_mib(node.get('rss_peak_kib'))} MiB, "
                     f"{node.get('threads_peak')} threads, exit {node.get('exit_code')})"))
    rows += [
        ("redis CPU util (1 core=1.0)", r.get("cpu_util")),
        ("redis CPU per delivery / msg (us)",
         f"{_fmt(r.get('cpu_per_delivery_us'))} / {_fmt(r.get('cpu_per_message_us'))}"),
        ("nodes + redis CPU per delivery (us)", s.get("cpu_per_delivery_us_with_redis")),
        ("redis RSS peak (MiB)", _mib(r.get("rss_peak_kib"))),
        ("redis log warn/err / exit",
         f"{r.get('log_warnings')}/{r.get('log_errors')} / {r.get('exit_code')}"),
    ]
    return rows


def _cluster_idle_rows(res: dict[str, Any]) -> list[tuple[str, Any]]:
    r = res.get("redis_server", {})
    return [
        ("redis RSS full (MiB)", _mib(r.get("rss_connected_kib"))),
        ("redis CPU to connect / idle (s)",
         f"{_fmt(r.get('connect_cpu_s'))} / {_fmt(r.get('idle_cpu_s'))}"),
        ("redis log warn/err / exit",
         f"{r.get('log_warnings')}/{r.get('log_errors')} / {r.get('exit_code')}"),
    ]


def _step_text(st: dict[str, Any]) -> str:
    text = (f"{_fmt(st['deliveries_per_s'])} deliv/s, p99 {_fmt(st['p99_ms'])} ms, "
            f"loss {_fmt(st['loss'])}, srv cpu {_fmt(st['server_cpu_util'])} "
            f"({_fmt(st.get('server_cpu_per_delivery_us'))} us/deliv), ")
    if st.get("redis_cpu_util") is not None:
        nodes = ", ".join(_fmt(u) for u in st.get("node_cpu_util") or [])
        text += (f"nodes [{nodes}], redis cpu {_fmt(st['redis_cpu_util'])} "
                 f"({_fmt(st.get('redis_cpu_per_delivery_us'))} us/deliv), ")
    return text + f"gen cpu {_fmt(st['gen_cpu_util'])}"


def print_result(res: dict[str, Any]) -> None:
    mode = res["mode"]
    channels_row = ("channels", _channels_text(res["users"], res.get("channels", 0)))
    cluster = res.get("redis", False)
    nodes = res.get("nodes", 1)
    srv = ("server" if not cluster else "node" if nodes == 1 else f"nodes (sum of {nodes})")
    if mode == "load":
        c, t, s = res["connect"], res.get("traffic", {}), res.get("server", {})
        rows = [
            ("target / users / rate",
             f"{res['target']} / {res['users']} / {res['rate']:g} msg/s/user"),
            channels_row,
            ("connect all (s)", c.get("connect_all_s")),
            ("welcomed / failed", f"{c.get('welcomed')} / {c.get('failed')}"),
            ("sent (msgs/s)", t.get("sent_per_s")),
            ("offered deliveries/s", t.get("offered_deliveries_per_s")),
            ("deliveries/s", t.get("deliveries_per_s")),
            ("expected / received", f"{_fmt(t.get('expected'))} / {_fmt(t.get('deliveries'))}"),
            ("loss (expected-received)", t.get("loss")),
            ("receivers off / foreign msgs",
             f"{_fmt(t.get('receivers_off'))} / {_fmt(t.get('foreign_deliveries'))}"),
            ("latency p50/p90/p99/max ms",
             " / ".join(_fmt(t.get(k)) for k in ("lat_p50_ms", "lat_p90_ms", "lat_p99_ms",
                                                  "lat_max_ms"))),
            ("drain after send window (s)", t.get("drain_s")),
            (f"{srv} CPU util (1 core=1.0)", s.get("cpu_util")),
            (f"{srv} CPU per delivery / msg (us)",
             f"{_fmt(s.get('cpu_per_delivery_us'))} / {_fmt(s.get('cpu_per_message_us'))}"),
            (f"{srv} RSS peak (MiB)", _mib(s.get("rss_peak_kib"))),
            (f"{srv} threads peak", s.get("threads_peak")),
            *(_cluster_load_rows(res) if cluster else []),
            ("gen CPU util (max worker)", t.get("gen_cpu_util")),
            ("gen late sends / max lag ms",
             f"{t.get('gen_late_sends')} / {t.get('gen_max_send_lag_ms')}"),
            ("disconnects / bad frames", f"{t.get('disconnected')} / {t.get('trouble_frames')}"),
            ("other load on machine (cores)", res.get("other_cpu_util")),
            (f"{srv} log warn/err/tb",
             f"{s.get('log_warnings')}/{s.get('log_errors')}/{s.get('log_tracebacks')}"),
        ]
    elif mode == "idle":
        c, s = res["connect"], res.get("server", {})
        rows = [
            ("target / idle users", f"{res['target']} / {res['users']}"),
            channels_row,
            ("connect all (s)", c.get("connect_all_s")),
            ("welcomed / failed", f"{c.get('welcomed')} / {c.get('failed')}"),
            ("welcome p50/p99/max ms",
             " / ".join(_fmt(c.get(k)) for k in ("welcome_p50_ms", "welcome_p99_ms",
                                                  "welcome_max_ms"))),
            (f"{srv} RSS empty / full (MiB)",
             f"{s.get('rss_empty_kib', 0) / 1024:.1f} / "
             f"{s.get('rss_connected_kib', 0) / 1024:.1f}"),
            ("RSS per idle user (KiB)", s.get("rss_per_user_kib")),
            (f"{srv} threads", s.get("threads")),
            (f"{srv} CPU to connect (s)", s.get("connect_cpu_s")),
            (f"idle CPU over {s.get('idle_s')} s (s)", s.get("idle_cpu_s")),
            *(_cluster_idle_rows(res) if cluster else []),
            (f"{srv} log warn/err/tb",
             f"{s.get('log_warnings')}/{s.get('log_errors')}/{s.get('log_tracebacks')}"),
        ]
    else:
        rows = [("target / users", f"{res['target']} / {res['users']}"), channels_row]
        for st in res["steps"]:
            rows.append((f"rate {st['rate']:.3g} {'PASS' if st['ok'] else 'FAIL'}",
                         _step_text(st)))
        rows.append(("saturation (highest pass)",
                     f"rate {_fmt(res['saturation_rate'])} = "
                     f"{_fmt(res['saturation_deliveries_per_s'])} deliveries/s"))
    print(f"\n== {mode} ==")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {_fmt(value)}")
    errors = res.get("connect", {}).get("errors") or res.get("traffic", {}).get("errors")
    if errors:
        print("  errors:", *errors[:5], sep="\n    ")
    sys.stdout.flush()


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark the chat server (see tests/bench/README.md)."
    )
    parser.add_argument("--users", type=int, default=200, help="simulated users (load/step)")
    parser.add_argument("--rate", type=float, default=None,
                        help="messages/s per user (step mode: the first rate)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of sending per run")
    parser.add_argument("--step", action="store_true",
                        help="raise the rate until loss > 0 or p99 > 100 ms")
    parser.add_argument("--step-factor", type=float, default=1.5)
    parser.add_argument("--idle-users", type=int, default=0, metavar="N",
                        help="connect N idle users: connect time, RSS/user, idle CPU")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--target", choices=sorted(loadgen.TARGETS), default="chat",
                        help="chat (this repo) or irc (ngircd, same workload)")
    parser.add_argument("--channels", type=int, default=0, metavar="K",
                        help="user i joins only #c{i %% K} and says there; N users make K "
                             "channels of about N/K (default 0: one room, the default channel)")
    parser.add_argument("--presence", action="store_true",
                        help="clients ask for the presence capability: joins and leaves of "
                             "big channels come batched")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--gen-procs", type=int, default=0,
                        help="generator worker processes (default: one per non-server CPU)")
    parser.add_argument("--connect-concurrency", type=int, default=256,
                        help="handshakes in flight at once while connecting")
    parser.add_argument("--quiet-wait", type=float, default=60.0,
                        help="seconds to wait for other load on the machine to stop first")
    parser.add_argument("--drain-timeout", type=float, default=10.0)
    parser.add_argument("--rev", default="HEAD",
                        help="server revision to run, exported with git archive "
                             "(default: %(default)s; 'worktree' for uncommitted files)")
    parser.add_argument("--server-arg", action="append", metavar="ARG",
                        help="extra argument for the chat server (repeatable)")
    parser.add_argument("--redis", action="store_true",
                        help="run the server as a cluster node on a fresh redis-server per run "
                             f"({shlex.join(REDIS_ARGS)}), pinned with it to --server-cpu")
    parser.add_argument("--nodes", type=int, default=1, metavar="K",
                        help="with --redis: K nodes, each on its own port; user i connects to "
                             "node i %% K (default: 1)")
    args = parser.parse_args(argv)
    users = args.idle_users or args.users
    if args.channels and args.target != "chat":
        parser.error("--channels needs --target chat (the IRC workload is one room)")
    if not 0 <= args.channels <= users:
        parser.error(f"--channels must be between 0 and the number of users ({users})")
    if args.presence and args.target != "chat":
        parser.error("--presence needs --target chat")
    if args.redis and args.target != "chat":
        parser.error("--redis needs --target chat")
    if args.nodes != 1 and not args.redis:
        parser.error("--nodes needs --redis (nodes share one chat through Redis)")
    if not 1 <= args.nodes <= users:
        parser.error(f"--nodes must be between 1 and the number of users ({users})")
    signal.signal(signal.SIGTERM, _exit_on_signal)  # finally blocks then stop what we started
    bench = Bench(args)
    if args.redis:
        where = (f"{args.nodes} node(s) and redis-server all pinned to CPU {bench.server_cpu} "
                 f"(one core for the whole server side, as for a single server)")
    else:
        where = f"server on CPU {bench.server_cpu}"
    print(f"server {bench.commit}; machine: {bench.facts}; {where}, "
          f"generator on CPUs {bench.gen_cpus} ({bench.procs} process(es))")
    try:
        if args.idle_users:
            bench.idle(args.idle_users, args.idle_seconds)
        elif args.step:
            bench.step(args.users, args.duration)
        else:
            rate = args.rate if args.rate is not None else 1.0
            bench.load(args.users, rate, args.duration)
    except KeyboardInterrupt:
        print("\ninterrupted: stopped every server (and redis-server) this run started",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
