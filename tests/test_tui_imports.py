"""The client imports no POSIX-only module, so it can run on Windows (windows-curses)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_SCRIPT = r"""
import importlib, importlib.abc, pkgutil, sys

BLOCKED = {"termios", "fcntl", "pty", "tty", "resource", "grp", "pwd", "posix", "readline"}

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked (not on Windows)")
        return None

for name in list(sys.modules):
    if name.split(".")[0] in BLOCKED - {"posix"}:
        del sys.modules[name]
sys.meta_path.insert(0, Refuse())

import tui_client
names = ["tui_client"] + [f"tui_client.{m.name}" for m in pkgutil.iter_modules(tui_client.__path__)]
for name in names:
    importlib.import_module(name)
print("imported", len(names))
"""


def test_every_module_imports_without_posix_only_modules() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    count = int(result.stdout.split()[-1])
    assert count >= 14  # every module, __main__ and app included
