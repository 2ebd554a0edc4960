"""Crash safety: SIGKILL a worker mid-stream, restart it, and every point is stored exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.telemetry.sources.sources_fakes import Publisher, wait_until

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]
WORKER = Path(__file__).with_name("sources_crash_worker.py")
REPO = Path(__file__).resolve().parents[3]


def _spawn(db: Path, url: str, client_id: str, site: str, delay: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(db), url, client_id, site, str(delay)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _count(db: Path, table: str = "points") -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=5) as conn:
        try:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        except sqlite3.OperationalError:  # table not created yet
            return 0


def _rows(db: Path) -> list[tuple[str, str, float]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT tag, ts, value FROM points ORDER BY tag, ts").fetchall()


def _wait_ready(publisher: Publisher, db: Path, site: str) -> bool:
    """Publish the same probe until it is stored: then the session and subscription exist."""
    probe = orjson.dumps({"ts": 0, "value": 0})
    for _ in range(60):
        publisher.publish(f"lhos/{site}/probe", probe)
        if wait_until(lambda: _count(db) == 1, timeout=0.5):
            return True
    return False


def test_points_survive_sigkill_exactly_once(
    mqtt_url: str, publisher: Publisher, uid: str, tmp_path: Path
) -> None:
    db, client_id, total = tmp_path / "sink.sqlite3", f"crash-{uid}", 600
    first = _spawn(db, mqtt_url, client_id, uid, delay=0.02)
    try:
        assert _wait_ready(publisher, db, uid), "worker did not start"
        messages = [
            (f"lhos/{uid}/line1/kwh", orjson.dumps({"ts": i, "value": i / 2}))
            for i in range(1, total + 1)
        ]
        publisher.publish_many(messages)
        assert wait_until(lambda: _count(db) >= total // 4, timeout=30)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        first.communicate()
    stored_at_kill = _count(db) - 1
    assert stored_at_kill < total, "the worker finished before the kill; slow its sink down"

    second = _spawn(db, mqtt_url, client_id, uid, delay=0.0)
    try:
        assert wait_until(lambda: _count(db) == total + 1, timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=20)
    assert second.returncode == 0, err
    assert "acked=" in out

    expected = [("line1/kwh", str(i), i / 2) for i in range(1, total + 1)] + [("probe", "0", 0.0)]
    assert _rows(db) == sorted(expected)
    assert _count(db, "letters") == 0
    assert _count(db, "attempts") >= total + 1  # redeliveries were absorbed by idempotency
