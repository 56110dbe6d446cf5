"""Benchmark driver: start a server pinned to one core, load it, report figures.

The server (this repo's, or ngircd with ``--target irc``) runs on CPU 0; the
load generator (``tests/bench/loadgen.py``) runs on the other CPUs, one worker process
per CPU. Server CPU seconds and RSS come from ``/proc/PID/stat`` and
``/proc/PID/status``. Every run gets a fresh server and a fresh database.

Results print as a table and are appended as JSON lines to
``bench-results/results.jsonl`` (gitignored). Server logs go next to it.

    python3 tests/bench/run.py --users 200 --rate 15 --duration 10
    python3 tests/bench/run.py --users 2000 --channels 100 --rate 1 --duration 10
    python3 tests/bench/run.py --users 1000 --step --duration 5
    python3 tests/bench/run.py --idle-users 5000
    python3 tests/bench/run.py --users 200 --rate 15 --target irc

Stdlib only; run it from the repository root or anywhere (paths are resolved).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
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
    archive = subprocess.run(["git", "archive", rev, "server", "protocol"], cwd=REPO,
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest, commit


class ServerProcess:
    """A server under test on 127.0.0.1:port, pinned to one CPU."""

    def __init__(self, target: str, cpu: int, tag: str, extra_args: list[str],
                 src: Path = REPO) -> None:
        self.target = target
        self.src = src
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-"))
        RESULTS_DIR.mkdir(exist_ok=True)
        self.log_path = RESULTS_DIR / f"server-{tag}.log"
        self.log = open(self.log_path, "w")
        cmd = self._chat_cmd(extra_args) if target == "chat" else self._irc_cmd()
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, cwd=self.src, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=_pin(cpu))
        atexit.register(self._kill)  # never leave a server behind (Ctrl-C, a crash)
        self._wait_listening()

    def _chat_cmd(self, extra_args: list[str]) -> list[str]:
        cmd = [sys.executable, "-m", "server", "--host", "127.0.0.1", "--port", str(self.port),
               "--db", str(self.tmp / "bench.db"), "--log-level", "WARNING"]
        help_text = subprocess.run([sys.executable, "-m", "server", "--help"], cwd=self.src,
                                   capture_output=True, text=True, timeout=30).stdout
        if "--rate-limit" in help_text:
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
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

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
        text = self.log_path.read_text(errors="replace")
        lines = text.splitlines()
        return {
            "exit_code": self.proc.returncode,
            "log_warnings": sum(" WARNING " in ln for ln in lines),
            "log_errors": sum(" ERROR " in ln for ln in lines),
            "log_tracebacks": text.count("Traceback"),
            "log_sample": [ln for ln in lines if " WARNING " in ln or " ERROR " in ln][:5],
        }


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

    def _server(self, label: str) -> ServerProcess:
        self.prior_load = self._wait_quiet()
        self.run_no += 1
        tag = f"{time.strftime('%Y%m%d-%H%M%S')}-{self.run_no}-{label}"
        return ServerProcess(self.args.target, self.server_cpu, tag, self.args.server_arg or [],
                             self.src)

    def _label(self, label: str) -> str:
        channels = self.args.channels
        return f"{label}-c{channels}" if channels else label

    def load(self, users: int, rate: float, duration_s: float) -> dict[str, Any]:
        """One timed load run on a fresh server."""
        cfg = loadgen.LoadConfig(users=users, rate=rate, duration_s=duration_s,
                                 target=self.args.target, procs=min(self.procs, users),
                                 drain_timeout_s=self.args.drain_timeout,
                                 connect_concurrency=self.args.connect_concurrency,
                                 channels=self.args.channels)
        server = self._server(self._label(f"load-{users}x{rate:g}"))
        cfg = loadgen.LoadConfig(**{**cfg.__dict__, "port": server.port})
        swarm = loadgen.Swarm(cfg)
        sampler = Sampler(server.pid)
        result: dict[str, Any] = {"mode": "load", "target": cfg.target, "users": users,
                                  "channels": cfg.channels, "rate": rate,
                                  "duration_s": duration_s}
        try:
            result["connect"] = swarm.start()
            rss_connected = proc_status(server.pid)["VmRSS"]
            cpu0, t0, busy0 = proc_cpu_s(server.pid), time.monotonic(), machine_busy_s()
            result["traffic"] = swarm.traffic()
            cpu1, t1, busy1 = proc_cpu_s(server.pid), time.monotonic(), machine_busy_s()
            other = (busy1 - busy0) - (cpu1 - cpu0) - result["traffic"]["gen_cpu_s"]
            deliveries, sent = result["traffic"]["deliveries"], result["traffic"]["sent"]
            result["server"] = {
                "cpu_s": round(cpu1 - cpu0, 2),
                "cpu_util": round((cpu1 - cpu0) / (t1 - t0), 3),
                "cpu_per_delivery_us":
                    round((cpu1 - cpu0) * 1e6 / deliveries, 2) if deliveries else None,
                "cpu_per_message_us": round((cpu1 - cpu0) * 1e6 / sent, 1) if sent else None,
                "rss_connected_kib": rss_connected,
                "rss_peak_kib": max(sampler.peak_rss_kib, proc_status(server.pid)["VmRSS"]),
                "threads_peak": sampler.peak_threads,
            }
            result["other_cpu_util"] = round(max(0.0, other) / (t1 - t0), 2)
        finally:
            sampler.stop()
            swarm.stop()
            result.setdefault("server", {}).update(server.stop())
        return self._record(result)

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
            steps.append({"rate": rate, "ok": ok, "deliveries_per_s": tr.get("deliveries_per_s"),
                          "p99_ms": tr.get("lat_p99_ms"), "loss": tr.get("loss"),
                          "gen_cpu_util": tr.get("gen_cpu_util"),
                          "server_cpu_util": res["server"].get("cpu_util"),
                          "server_cpu_per_delivery_us": res["server"].get("cpu_per_delivery_us")})
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
        cfg = loadgen.LoadConfig(users=users, rate=0, duration_s=0, target=self.args.target,
                                 procs=min(self.procs, users),
                                 connect_concurrency=self.args.connect_concurrency,
                                 channels=self.args.channels)
        server = self._server(self._label(f"idle-{users}"))
        cfg = loadgen.LoadConfig(**{**cfg.__dict__, "port": server.port})
        time.sleep(1.0)
        rss0 = proc_status(server.pid)["VmRSS"]
        swarm = loadgen.Swarm(cfg)
        result: dict[str, Any] = {"mode": "idle", "target": cfg.target, "users": users,
                                  "channels": cfg.channels}
        try:
            connect_cpu0 = proc_cpu_s(server.pid)
            result["connect"] = swarm.start()
            connect_cpu = proc_cpu_s(server.pid) - connect_cpu0
            time.sleep(2.0)  # let join fan-out finish
            status = proc_status(server.pid)
            cpu0 = proc_cpu_s(server.pid)
            time.sleep(idle_s)
            idle_cpu = proc_cpu_s(server.pid) - cpu0
            welcomed = result["connect"]["welcomed"] or 1
            result["server"] = {
                "rss_empty_kib": rss0,
                "rss_connected_kib": status["VmRSS"],
                "rss_per_user_kib": round((status["VmRSS"] - rss0) / welcomed, 1),
                "threads": status["Threads"],
                "connect_cpu_s": round(connect_cpu, 2),
                "idle_s": idle_s,
                "idle_cpu_s": round(idle_cpu, 3),
                "idle_cpu_util": round(idle_cpu / idle_s, 4),
            }
        finally:
            swarm.stop()
            result.setdefault("server", {}).update(server.stop())
        return self._record(result)

    def _record(self, result: dict[str, Any]) -> dict[str, Any]:
        result["server_commit"] = self.commit
        result.setdefault("load_before_run", getattr(self, "prior_load", None))
        result["machine"] = self.facts
        result["server_cpu"] = self.server_cpu
        result["gen_cpus"] = self.gen_cpus
        result["gen_procs"] = self.procs
        result["when"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        result["argv"] = sys.argv[1:]
        RESULTS_DIR.mkdir(exist_ok=True)
        with open(RESULTS_DIR / "results.jsonl", "a") as f:
            f.write(json.dumps(result) + "\n")
        print_result(result)
        return result


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


def print_result(res: dict[str, Any]) -> None:
    mode = res["mode"]
    channels_row = ("channels", _channels_text(res["users"], res.get("channels", 0)))
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
            ("server CPU util (1 core=1.0)", s.get("cpu_util")),
            ("server CPU per delivery / msg (us)",
             f"{_fmt(s.get('cpu_per_delivery_us'))} / {_fmt(s.get('cpu_per_message_us'))}"),
            ("server RSS peak (MiB)", round(s.get("rss_peak_kib", 0) / 1024, 1)),
            ("server threads peak", s.get("threads_peak")),
            ("gen CPU util (max worker)", t.get("gen_cpu_util")),
            ("gen late sends / max lag ms",
             f"{t.get('gen_late_sends')} / {t.get('gen_max_send_lag_ms')}"),
            ("disconnects / bad frames", f"{t.get('disconnected')} / {t.get('trouble_frames')}"),
            ("other load on machine (cores)", res.get("other_cpu_util")),
            ("server log warn/err/tb",
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
            ("server RSS empty / full (MiB)",
             f"{s.get('rss_empty_kib', 0) / 1024:.1f} / "
             f"{s.get('rss_connected_kib', 0) / 1024:.1f}"),
            ("RSS per idle user (KiB)", s.get("rss_per_user_kib")),
            ("server threads", s.get("threads")),
            ("server CPU to connect (s)", s.get("connect_cpu_s")),
            (f"idle CPU over {s.get('idle_s')} s (s)", s.get("idle_cpu_s")),
            ("server log warn/err/tb",
             f"{s.get('log_warnings')}/{s.get('log_errors')}/{s.get('log_tracebacks')}"),
        ]
    else:
        rows = [("target / users", f"{res['target']} / {res['users']}"), channels_row]
        for st in res["steps"]:
            rows.append((f"rate {st['rate']:.3g} {'PASS' if st['ok'] else 'FAIL'}",
                         f"{_fmt(st['deliveries_per_s'])} deliv/s, p99 {_fmt(st['p99_ms'])} ms, "
                         f"loss {_fmt(st['loss'])}, srv cpu {_fmt(st['server_cpu_util'])} "
                         f"({_fmt(st.get('server_cpu_per_delivery_us'))} us/deliv), "
                         f"gen cpu {_fmt(st['gen_cpu_util'])}"))
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
    args = parser.parse_args(argv)
    users = args.idle_users or args.users
    if args.channels and args.target != "chat":
        parser.error("--channels needs --target chat (the IRC workload is one room)")
    if not 0 <= args.channels <= users:
        parser.error(f"--channels must be between 0 and the number of users ({users})")
    bench = Bench(args)
    print(f"server {bench.commit}; machine: {bench.facts}; server on CPU {bench.server_cpu}, "
          f"generator on CPUs {bench.gen_cpus} ({bench.procs} process(es))")
    if args.idle_users:
        bench.idle(args.idle_users, args.idle_seconds)
    elif args.step:
        bench.step(args.users, args.duration)
    else:
        rate = args.rate if args.rate is not None else 1.0
        bench.load(args.users, rate, args.duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
