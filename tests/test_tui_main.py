"""The command line (tui_client.__main__): options, nick checks and the one-line error."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import tui_client.__main__ as cli
from protocol import DEFAULT_HOST, DEFAULT_PORT


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_invalid_nick_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--nick", "b@d", "--log-file", str(tmp_path / "c.log")]) == 2
    assert "nick may hold only" in capsys.readouterr().err


def test_crash_prints_one_line_and_logs_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*_args: object) -> int:
        raise RuntimeError("the screen exploded")

    monkeypatch.setattr(cli, "_run_curses", boom)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    log_file = tmp_path / "c.log"
    assert cli.main(["--nick", "alice", "--log-file", str(log_file)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("chat: RuntimeError: the screen exploded (details in ")
    assert "Traceback" in log_file.read_text()


def test_defaults_match_the_server() -> None:
    args = cli._parse_args(["--nick", "x"])
    assert (args.host, args.port, args.plain) == (DEFAULT_HOST, DEFAULT_PORT, False)
    assert args.join is None


def test_join_lists_channels_and_refuses_bad_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli._channels(None) is None
    assert cli._channels("") == []
    assert cli._channels("#a, #b,,") == ["#a", "#b"]
    log_file = str(tmp_path / "c.log")
    assert cli.main(["--nick", "alice", "--join", "#a,b", "--log-file", log_file]) == 2
    assert "channel name is #" in capsys.readouterr().err


def test_nick_password_comes_from_its_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERMCHAT_NICK_PASSWORD", "from-env-1")
    assert cli._read_nick_password(cli._parse_args(["--nick", "x"])) == "from-env-1"
    path = tmp_path / "pw"
    path.write_text("from-file-1\r\nsecond line\n", encoding="utf-8")
    args = cli._parse_args(["--nick", "x", "--nick-password-file", str(path)])
    assert cli._read_nick_password(args) == "from-file-1"  # the file wins, first line only
    monkeypatch.delenv("TERMCHAT_NICK_PASSWORD")
    assert cli._read_nick_password(cli._parse_args(["--nick", "x"])) is None


def test_no_option_takes_a_nick_password_itself(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli._parse_args(["--nick", "x", "--nick-password", "hunter22"])
    assert "unrecognized arguments" in capsys.readouterr().err
