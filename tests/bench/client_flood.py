"""Client benchmark (issue 6): the curses client under a message flood, seen through a pty.

The real client (``python -m tui_client``, 100x30) runs in a pseudo-terminal mirrored
into a pyte screen, exactly as the screen tests run it (``tests/tui_support.py``),
against a real server (``tests/helpers.py``, ``--rate-limit 0``). Flood workers, each
its own process so the generator is not the bottleneck, send numbered messages to the
room open loop, evenly spaced. Measured and printed:

1. flood: time from the last send until the screen shows the last message; the
   messages/s the server actually relayed (counted by a flood worker, which is also a
   member of the room); the client's CPU seconds (``/proc/PID/stat``) during the flood.
2. key echo: every ``--probe-every`` seconds during the flood a distinct character is
   typed; the time until it shows in the input line, p50/p99/max.
3. idle: the client's CPU use as a percentage of one core over ``--idle`` seconds after
   the flood, still connected.

The screen is checked on every pty read (only the rows pyte marked dirty), stamped
with the time the read returned, so the reader thread's own feeding adds little.
Results are appended as one JSON line to ``bench-results/client.jsonl`` (gitignored).

    .venv/bin/python tests/bench/client_flood.py
    .venv/bin/python tests/bench/client_flood.py --rate 5000 --duration 10 --runs 3

Not collected by pytest. POSIX only (pty, /proc). Stdlib + pyte.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from helpers import RawClient, ServerProcess  # noqa: E402
from tui_support import TuiProcess  # noqa: E402

RESULTS: Final = REPO / "bench-results" / "client.jsonl"
CLK_TCK: Final = os.sysconf("SC_CLK_TCK")
COLS: Final = 100
ROWS: Final = 30
VIEWER: Final = "viewer"
PROBE_CHARS: Final = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
PROBE_TIMEOUT_S: Final = 2.0
LAST_MESSAGE_TIMEOUT_S: Final = 60.0
ECHO_DRAIN_TIMEOUT_S: Final = 30.0
SETTLE_S: Final = 1.0
MESSAGE_MARK: Final = b'"type":"message"'


# -- /proc


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid``, all threads (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def sched_s(pid: int) -> float:
    """On-CPU seconds of ``pid``'s live threads, in ns resolution (``schedstat``)."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # the thread ended between glob and open
    return total / 1e9


def wakeups(pid: int) -> int:
    """Voluntary context switches of ``pid``'s live threads (each is a sleep and a wake-up)."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/status"):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            pass  # the thread ended between glob and open
    return total


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` in MiB (``/proc/PID/status``)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# -- the flood worker (a separate process)


def flood_worker(port: int, index: int, workers: int, rate: float, duration: float) -> None:
    """Join as ``f<index>``, wait for ``go T0`` on stdin, send, report JSON on stdout.

    Sends message numbers ``index, index + workers, ...``; number n is due at
    ``T0 + n / rate``. Messages that are due go out together in one ``sendall`` (open
    loop: a late sender catches up, it never skips or slows the schedule). A reader
    thread counts the ``message`` frames the server relays to this member.
    """
    client = RawClient(port)
    welcome = client.hello(f"f{index}")
    assert welcome["type"] == "welcome", welcome
    sock = client.sock
    sock.settimeout(None)
    echo = {"count": 0, "first": 0.0, "last": 0.0}
    total = int(rate * duration)
    mine = list(range(index, total, workers))
    frames = [
        json.dumps({"type": "say", "text": f"flood {n:06d}"}, separators=(",", ":")).encode()
        + b"\n"
        for n in mine
    ]

    def read() -> None:
        tail = b""
        while True:
            try:
                data = sock.recv(262144)
            except OSError:
                return
            if not data:
                return
            data = tail + data
            cut = data.rfind(b"\n") + 1
            tail = data[cut:]
            found = data.count(MESSAGE_MARK, 0, cut)
            if found:
                now = time.monotonic()
                if not echo["count"]:
                    echo["first"] = now
                echo["count"] += found
                echo["last"] = now

    reader = threading.Thread(target=read, name=f"flood-reader-{index}", daemon=True)
    reader.start()
    print("ready", flush=True)
    t0 = float(sys.stdin.readline().split()[1])
    deadline = t0 + duration + 30.0
    i = 0
    late_max = 0.0
    batches = 0
    while i < len(frames) and time.monotonic() < deadline:
        now = time.monotonic()
        due_at = t0 + mine[i] / rate
        if due_at > now:
            time.sleep(due_at - now)
            continue
        late_max = max(late_max, now - due_at)
        j = i
        while j < len(frames) and t0 + mine[j] / rate <= now:
            j += 1
        sock.sendall(b"".join(frames[i:j]))
        batches += 1
        i = j
    last_send = time.monotonic()
    expected = total  # every member gets every message, its own included
    drain_deadline = last_send + ECHO_DRAIN_TIMEOUT_S
    while echo["count"] < expected and time.monotonic() < drain_deadline:
        time.sleep(0.01)
    report = {
        "index": index,
        "sent": i,
        "t0": t0,
        "last_send": last_send,
        "late_max_s": late_max,
        "batches": batches,
        "relayed": echo["count"],
        "first_relayed": echo["first"],
        "last_relayed": echo["last"],
    }
    print(json.dumps(report), flush=True)
    client.close()


# -- the client in a pty, checked on every read


class _Watch:
    """A condition on the screen and the read time at which it first held."""

    def __init__(self, check: Callable[[dict[int, str]], bool]) -> None:
        self.check = check
        self.seen_at: float | None = None
        self.event = threading.Event()


class WatchedTui(TuiProcess):
    """TuiProcess whose reader checks watches after every pty read (no polling sleep)."""

    def __init__(self, args: list[str], cols: int = COLS, rows: int = ROWS) -> None:
        self._watches: list[_Watch] = []
        self.bytes_read = 0
        self.reads = 0
        self.feed_s = 0.0
        super().__init__(args, cols=cols, rows=rows)

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO once the client has exited
                return
            if not data:
                return
            read_at = time.monotonic()
            with self._lock:
                self.stream.feed(data)
                self.bytes_read += len(data)
                self.reads += 1
                self._check(read_at, self.screen.dirty)
                self.screen.dirty.clear()
                self.feed_s += time.monotonic() - read_at

    def _row(self, y: int) -> str:
        line = self.screen.buffer[y]
        return "".join(line[x].data for x in range(self.screen.columns))

    def _check(self, read_at: float, dirty: set[int]) -> None:
        pending = [w for w in self._watches if w.seen_at is None]
        if not pending:
            return
        rows = {y: self._row(y) for y in dirty if 0 <= y < self.screen.lines}
        for watch in pending:
            if watch.check(rows):
                watch.seen_at = read_at
                watch.event.set()
        self._watches = [w for w in self._watches if w.seen_at is None]

    def watch(self, check: Callable[[dict[int, str]], bool]) -> _Watch:
        """Start watching for ``check`` (given the changed rows) and check the screen now."""
        watch = _Watch(check)
        with self._lock:
            self._watches.append(watch)
            self._check(time.monotonic(), set(range(self.screen.lines)))
        return watch

    def write_at(self, text: str) -> float:
        """Write keys; return the time the write returned."""
        self.write(text)
        return time.monotonic()


# -- one run


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _start_workers(port: int, args: argparse.Namespace) -> list[subprocess.Popen[str]]:
    workers = []
    for index in range(args.workers):
        cmd = [
            sys.executable, __file__, "--flood-worker", str(port), str(index),
            str(args.workers), str(args.rate), str(args.duration),
        ]
        workers.append(
            subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        )
    for proc in workers:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"flood worker did not start: {line!r}")
    return workers


def _probe_keys(
    tui: WatchedTui, t0: float, duration: float, every_s: float
) -> tuple[list[float], int]:
    """Type a distinct character every ``every_s`` during the flood; return latencies, misses."""
    latencies: list[float] = []
    missed = 0
    typed = ""
    input_row = ROWS - 1
    for k in range(min(len(PROBE_CHARS), int(duration / every_s))):
        due = t0 + every_s / 2 + k * every_s
        time.sleep(max(0.0, due - time.monotonic()))
        typed += PROBE_CHARS[k]
        expect = typed

        def shows(rows: dict[int, str], expect: str = expect) -> bool:
            row = rows.get(input_row)
            return row is not None and row.rstrip().endswith(expect)

        watch = tui.watch(shows)
        sent_at = tui.write_at(PROBE_CHARS[k])
        if watch.event.wait(PROBE_TIMEOUT_S) and watch.seen_at is not None:
            latencies.append(watch.seen_at - sent_at)
        else:
            missed += 1
    return latencies, missed


def run_once(args: argparse.Namespace) -> dict[str, Any]:
    """Start a server, the client and the flood; measure; return the figures."""
    tmp = Path(tempfile.mkdtemp(prefix="client-flood-"))
    server = ServerProcess(tmp / "chat.db", "--log-level", "INFO", *args.server_arg)
    server.start()
    tui: WatchedTui | None = None
    workers: list[subprocess.Popen[str]] = []
    try:
        tui = WatchedTui(
            ["--host", "127.0.0.1", "--port", str(server.port), "--nick", VIEWER,
             "--log-file", str(tmp / "client.log")]
        )
        tui.wait_for("| connected |", timeout=10)  # the status line; notices are in buffer 1
        pid = tui.proc.pid
        workers = _start_workers(server.port, args)
        tui.wait_for(f"{args.workers + 1} online", timeout=10)
        time.sleep(SETTLE_S)

        total = int(args.rate * args.duration)
        needle = f"flood {total - 1:06d}"
        last = tui.watch(lambda rows: any(needle in row for row in rows.values()))
        rss_before = rss_mib(pid)
        cpu_before, wall_before = cpu_s(pid), time.monotonic()
        t0 = time.monotonic() + 0.3
        for proc in workers:
            assert proc.stdin is not None
            proc.stdin.write(f"go {t0!r}\n")
            proc.stdin.flush()
        latencies, missed = _probe_keys(tui, t0, args.duration, args.probe_every)
        reports = []
        for proc in workers:
            assert proc.stdout is not None
            reports.append(json.loads(proc.stdout.readline()))
            proc.wait(timeout=10)
        last.event.wait(LAST_MESSAGE_TIMEOUT_S)
        cpu_after, wall_after = cpu_s(pid), time.monotonic()
        rss_after = rss_mib(pid)
        last_send = max(r["last_send"] for r in reports)
        shown_after = None if last.seen_at is None else last.seen_at - last_send

        time.sleep(SETTLE_S)
        idle_cpu0, idle_sched0, idle_wake0 = cpu_s(pid), sched_s(pid), wakeups(pid)
        idle_t0 = time.monotonic()
        time.sleep(args.idle)
        idle_cpu1, idle_sched1, idle_wake1 = cpu_s(pid), sched_s(pid), wakeups(pid)
        idle_wall = time.monotonic() - idle_t0
        status_line = tui.lines()[ROWS - 2]

        first = reports[0]
        relay_window = first["last_relayed"] - t0
        return {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "rev": _git_rev(),
            "host": platform.node(),
            "cpus": os.cpu_count(),
            "rate": args.rate,
            "duration_s": args.duration,
            "workers": args.workers,
            "sent": sum(r["sent"] for r in reports),
            "send_late_max_s": max(r["late_max_s"] for r in reports),
            "send_window_s": last_send - t0,
            "relayed_to_worker0": first["relayed"],
            "relayed_per_s": first["relayed"] / relay_window if relay_window > 0 else 0.0,
            "last_shown_after_s": shown_after,
            "flood_client_cpu_s": cpu_after - cpu_before,
            "flood_wall_s": wall_after - wall_before,
            "client_rss_mib_before": rss_before,
            "client_rss_mib_after": rss_after,
            "key_probes": len(latencies) + missed,
            "key_missed": missed,
            "key_p50_ms": 1000 * _pct(latencies, 0.5) if latencies else None,
            "key_p99_ms": 1000 * _pct(latencies, 0.99) if latencies else None,
            "key_max_ms": 1000 * max(latencies) if latencies else None,
            "idle_s": idle_wall,
            "idle_cpu_pct": 100 * (idle_cpu1 - idle_cpu0) / idle_wall,
            "idle_sched_pct": 100 * (idle_sched1 - idle_sched0) / idle_wall,
            "idle_wakeups_per_s": (idle_wake1 - idle_wake0) / idle_wall,
            "pty_bytes": tui.bytes_read,
            "pty_reads": tui.reads,
            "pyte_feed_s": tui.feed_s,
            "client_status": status_line.strip(),
            "client_alive": tui.proc.poll() is None,
        }
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
        if tui is not None:
            tui.close()
        server.stop()


def _git_rev() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True, text=True, timeout=5, check=False,
        )
    except OSError:
        return "?"
    return out.stdout.strip() or "?"


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


TABLE: Final = [
    ("sent (msgs)", "sent", "d", ""),
    ("sender late max (s)", "send_late_max_s", ".3f", ""),
    ("relayed (msgs/s)", "relayed_per_s", ".0f", ""),
    ("last message shown after (s)", "last_shown_after_s", ".3f", "< 0.5"),
    ("client CPU during flood (s)", "flood_client_cpu_s", ".2f", ""),
    ("  over wall (s)", "flood_wall_s", ".2f", ""),
    ("client RSS before flood (MiB)", "client_rss_mib_before", ".1f", ""),
    ("client RSS after flood (MiB)", "client_rss_mib_after", ".1f", ""),
    ("key echo p50 (ms)", "key_p50_ms", ".1f", "< 100"),
    ("key echo p99 (ms)", "key_p99_ms", ".1f", "< 100"),
    ("key echo max (ms)", "key_max_ms", ".1f", "< 100"),
    ("key probes missed", "key_missed", "d", "0"),
    ("idle CPU (% of a core, stat)", "idle_cpu_pct", ".2f", "< 0.5"),
    ("idle CPU (% of a core, schedstat)", "idle_sched_pct", ".3f", "< 0.5"),
    ("idle wake-ups/s", "idle_wakeups_per_s", ".1f", ""),
    ("pyte feed in reader (s)", "pyte_feed_s", ".2f", ""),
    ("pty bytes / reads", None, "", ""),
]


def print_table(results: list[dict[str, Any]]) -> None:
    """Print one column per run."""
    head = f"{'figure':36}" + "".join(f"{'run ' + str(i + 1):>14}" for i in range(len(results)))
    print(head + f"{'target':>10}")
    for label, key, spec, target in TABLE:
        if key is None:
            cells = [f"{r['pty_bytes']}/{r['pty_reads']}" for r in results]
        else:
            cells = [_fmt(r[key], spec) for r in results]
        print(f"{label:36}" + "".join(f"{c:>14}" for c in cells) + f"{target:>10}")
    for i, r in enumerate(results):
        print(f"run {i + 1}: client alive={r['client_alive']}, status: {r['client_status']}")


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--flood-worker"]:
        port, index, workers = (int(a) for a in argv[1:4])
        flood_worker(port, index, workers, float(argv[4]), float(argv[5]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5000.0, help="messages/s (default 5000)")
    parser.add_argument("--duration", type=float, default=10.0, help="flood seconds (default 10)")
    parser.add_argument("--workers", type=int, default=1, help="flood processes (default 1)")
    parser.add_argument("--probe-every", type=float, default=0.5, help="key probe period, s")
    parser.add_argument("--idle", type=float, default=10.0, help="idle seconds (default 10)")
    parser.add_argument("--runs", type=int, default=1, help="repeat with a fresh server")
    parser.add_argument("--server-arg", action="append", default=[], help="extra server option")
    args = parser.parse_args(argv)
    if not Path("/proc/self/stat").exists():
        print("needs Linux /proc", file=sys.stderr)
        return 2
    results = []
    for _ in range(max(1, min(args.runs, 20))):
        result = run_once(args)
        results.append(result)
        RESULTS.parent.mkdir(exist_ok=True)
        with RESULTS.open("a") as f:
            f.write(json.dumps(result) + "\n")
    print_table(results)
    if len(results) > 1:
        shown = [r["last_shown_after_s"] for r in results if r["last_shown_after_s"] is not None]
        if shown:
            print(f"median last-shown: {statistics.median(shown):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
