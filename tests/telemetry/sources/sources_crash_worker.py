"""Subprocess for the crash test: `lhos ingest mqtt` with a fake or the real sink, and a ledger.

Run: python sources_crash_worker.py fake|real LEDGER URL CLIENT_ID SITE DELAY [DATA_DIR].

- `fake`: a durable SQLite fake of our sink; the ledger *is* the store.
- `real`: the platform's sink (`build_sink`: SQLite database and DuckDB store of DATA_DIR).
  The DuckDB file is locked by this process while it runs, so the ledger (a SQLite file) also
  records what each `ingest` returned, for the test to follow progress; the test checks the
  real store itself once this process has exited.

Both record every point of every `ingest` call in `attempts`, to show redeliveries, and
sleep DELAY seconds after each write, so a SIGKILL most likely lands between write and ack.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from lighthouse_os.telemetry import ingest_commands
from lighthouse_os.telemetry.points import IngestResult, RawPoint, TelemetrySink
from tests.support import make_settings


class Ledger:
    """SQLite (synchronous=FULL) tables `points` keyed on (site, tag, ts), `attempts`, `letters`."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS points (site TEXT, tag TEXT, ts TEXT, value REAL,"
            " PRIMARY KEY (site, tag, ts))"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS attempts (site TEXT, tag TEXT, ts TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS letters (reason TEXT, payload BLOB)")

    def record(self, site: str, points: Sequence[RawPoint]) -> int:
        """Keep the points (idempotent) and the attempt; return how many were new."""
        rows = [(site, p.tag, str(p.ts), p.value) for p in points]
        with self._db:
            self._db.execute("BEGIN")
            before = self._db.total_changes
            self._db.executemany("INSERT OR IGNORE INTO points VALUES (?, ?, ?, ?)", rows)
            fresh = self._db.total_changes - before
            self._db.executemany("INSERT INTO attempts VALUES (?, ?, ?)", [r[:3] for r in rows])
        return fresh

    def letter(self, reason: str, payload: bytes) -> None:
        with self._db:
            self._db.execute("INSERT INTO letters VALUES (?, ?)", (reason, payload))

    def close(self) -> None:
        self._db.close()


class FakeDurableSink:
    """A durable, idempotent fake of `TelemetrySink`: the ledger is the store."""

    def __init__(self, ledger: Ledger, delay: float) -> None:
        self._ledger = ledger
        self._delay = delay

    def ingest(self, site: str, points: Sequence[RawPoint], *, source: str) -> IngestResult:
        fresh = self._ledger.record(site, points)
        time.sleep(self._delay)
        return IngestResult(accepted=fresh, duplicates=len(points) - fresh)

    def dead_letter(self, *, source: str, payload: bytes, reason: str, site: str | None) -> None:
        self._ledger.letter(reason, payload)

    def close(self) -> None:
        self._ledger.close()


class LedgeredSink:
    """The real sink; after each write returned (durable), the ledger notes what it was given."""

    def __init__(self, inner: TelemetrySink, ledger: Ledger, delay: float) -> None:
        self._inner = inner
        self._ledger = ledger
        self._delay = delay

    def ingest(self, site: str, points: Sequence[RawPoint], *, source: str) -> IngestResult:
        result = self._inner.ingest(site, points, source=source)
        self._ledger.record(site, points)
        time.sleep(self._delay)
        return result

    def dead_letter(self, *, source: str, payload: bytes, reason: str, site: str | None) -> None:
        self._inner.dead_letter(source=source, payload=payload, reason=reason, site=site)
        self._ledger.letter(reason, payload)

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if callable(close):
            close()
        self._ledger.close()


def main(argv: list[str]) -> None:
    kind, ledger_path, url, client_id, site, delay_text = argv[:6]
    delay = float(delay_text)
    data_dir = Path(argv[6]) if len(argv) > 6 else Path(ledger_path).parent
    settings = make_settings(data_dir)
    if kind == "fake":
        ingest_commands.SINK_FACTORY = lambda _s: FakeDurableSink(Ledger(ledger_path), delay)
    else:
        from lighthouse_os.telemetry.service import build_sink

        ingest_commands.SINK_FACTORY = lambda s: LedgeredSink(
            build_sink(s), Ledger(ledger_path), delay
        )
    decoders = ingest_commands.mqtt_decoders(sites=[site])
    options = ingest_commands.build_mqtt_options(
        url, client_id, decoders, receive_maximum=20, queue_capacity=40, session_expiry_seconds=120
    )
    from lighthouse_os.telemetry.worker import WorkerOptions

    tuning = WorkerOptions(batch_size=10, batch_wait_seconds=0.01)
    stats = ingest_commands.run_mqtt(options, decoders, tuning, settings)
    print(f"acked={stats.acked}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
