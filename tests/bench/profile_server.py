"""Run ``python3 -m server`` with cProfile on every thread; dump merged stats on exit.

cProfile only sees the thread that enabled it, so each ``Thread.run`` gets its
own profiler and the profiles are merged when the server stops (SIGTERM or
SIGINT). Times are each thread's CPU time (``time.thread_time``), so threads
waiting in ``recv`` or for the GIL do not drown what costs CPU. Expect the
server to run 2-3x slower under cProfile: compare the shares, not the absolute
figures. py-spy (see README.md) has no such overhead.

    python3 tests/bench/profile_server.py --out bench-results/server.prof -- --port 18080
    python3 -m pstats bench-results/server.prof

Everything after ``--`` goes to the server (``--host 127.0.0.1``, ``--db`` in a
temp dir and ``--log-level WARNING`` are added unless given).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _install() -> None:
    original = threading.Thread.run

    def profiled_run(self: threading.Thread) -> Any:
        prof = cProfile.Profile(time.thread_time)
        with _lock:
            _profiles.append(prof)
        prof.enable()
        try:
            return original(self)
        finally:
            prof.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "bench-results" / "server.prof"))
    parser.add_argument("--src", default=str(REPO), help="directory holding server/ and protocol/")
    parser.add_argument("server_args", nargs="*")
    args = parser.parse_args()
    server_args = list(args.server_args)
    if "--host" not in server_args:
        server_args += ["--host", "127.0.0.1"]
    if "--db" not in server_args:
        server_args += ["--db", str(Path(tempfile.mkdtemp(prefix="bench-prof-")) / "chat.db")]
    if "--log-level" not in server_args:
        server_args += ["--log-level", "WARNING"]
    sys.path.insert(0, args.src)
    from server.__main__ import main as server_main  # the repo's, after the path change

    _install()
    main_prof = cProfile.Profile(time.thread_time)
    main_prof.enable()
    try:
        status = server_main(server_args)
    finally:
        main_prof.disable()
        with _lock:
            profiles = list(_profiles)
        stats = pstats.Stats(main_prof)
        for prof in profiles:
            prof.create_stats()
            stats.add(prof)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        stats.dump_stats(args.out)
        stats.sort_stats("tottime").print_stats(25)
    return status


if __name__ == "__main__":
    sys.exit(main())
