"""Crash safety: SIGKILL a worker mid-stream, restart it, and every point is stored exactly once.

Run with a durable fake of our sink and with the real one (SQLite database, DuckDB store): in
the real case the final check reads the DuckDB store itself.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from lighthouse_os.settings import Settings
from tests.telemetry.sources.sources_fakes import Publisher, wait_until
from tests.telemetry.sources.sources_real import T0, seed_site, stored

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]
WORKER = Path(__file__).with_name("sources_crash_worker.py")
REPO = Path(__file__).resolve().parents[3]


def _spawn(
    kind: str, ledger: Path, url: str, client_id: str, site: str, delay: float, data_dir: Path
) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    args = [kind, str(ledger), url, client_id, site, str(delay), str(data_dir)]
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
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
    probe = orjson.dumps({"ts": T0, "value": 0})
    for _ in range(60):
        publisher.publish(f"lhos/{site}/probe", probe)
        if wait_until(lambda: _count(db) == 1, timeout=0.5):
            return True
    return False


@pytest.mark.parametrize("kind", ["fake", "real"])
def test_points_survive_sigkill_exactly_once(
    kind: str,
    mqtt_url: str,
    publisher: Publisher,
    uid: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    data_dir = tmp_path / "data"
    if kind == "real":
        settings: Settings = request.getfixturevalue("initialised_settings")
        request.getfixturevalue("world")  # org-a, which the site belongs to
        seed_site(settings, uid)
        data_dir = settings.data_dir
    ledger, client_id, total = tmp_path / "ledger.sqlite3", f"crash-{uid}", 600
    first = _spawn(kind, ledger, mqtt_url, client_id, uid, 0.02, data_dir)
    try:
        assert _wait_ready(publisher, ledger, uid), "worker did not start"
        messages = [
            (f"lhos/{uid}/line1/kwh", orjson.dumps({"ts": T0 + i, "value": i / 2}))
            for i in range(1, total + 1)
        ]
        publisher.publish_many(messages)
        assert wait_until(lambda: _count(ledger) >= total // 4, timeout=30)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        first.communicate()
    stored_at_kill = _count(ledger) - 1
    assert stored_at_kill < total, "the worker finished before the kill; slow its sink down"

    second = _spawn(kind, ledger, mqtt_url, client_id, uid, 0.0, data_dir)
    try:
        assert wait_until(lambda: _count(ledger) == total + 1, timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=20)
    assert second.returncode == 0, err
    assert "acked=" in out

    expected = [("line1/kwh", str(T0 + i), i / 2) for i in range(1, total + 1)]
    assert _rows(ledger) == sorted([*expected, ("probe", str(T0), 0.0)])
    assert _count(ledger, "letters") == 0
    assert _count(ledger, "attempts") >= total + 1  # redeliveries were absorbed by idempotency
    if kind == "real":  # the store itself: each point once, with its value
        assert stored(settings, uid, "line1/kwh") == [(T0 + i, i / 2) for i in range(1, total + 1)]
        assert stored(settings, uid, "probe") == [(T0, 0.0)]
