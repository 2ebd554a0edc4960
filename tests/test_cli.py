"""The `lhos` command line: version, init, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from lighthouse_os import __version__
from lighthouse_os.cli import run


def test_cli_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_cli_init_creates_data_dir_and_reports_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LHOS_SECRET_KEY", raising=False)
    data_dir = tmp_path / "site-data"
    assert run(["init", "--data-dir", str(data_dir), "--json"]) == 0
    report = orjson.loads(capsys.readouterr().out)
    assert report["data_dir"] == str(data_dir.resolve())
    assert "database migrated" in report["steps"]
    assert (data_dir / "lighthouse.sqlite3").exists()
    assert (data_dir / "secret_key").exists()


def test_cli_init_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["init", "--data-dir", str(tmp_path), "--json"]) == 0
    assert run(["init", "--data-dir", str(tmp_path), "--json"]) == 0
    capsys.readouterr()


def test_cli_error_is_one_line_without_traceback_when_secret_is_placeholder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LHOS_SECRET_KEY", "changethis")
    assert run(["init", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:")
    assert "secret_key" in err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_cli_unknown_command_fails_with_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_cli_db_upgrade_migrates_the_configured_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["db", "upgrade", "--data-dir", str(tmp_path)]) == 0
    assert (tmp_path / "lighthouse.sqlite3").exists()
    assert "up to date" in capsys.readouterr().out


def test_cli_demo_seeds_without_serving(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "--data-dir", str(tmp_path), "--no-serve", "--port", "8123"]) == 0
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out
