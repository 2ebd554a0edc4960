"""Subprocess for the crash test: `lhos ingest mqtt` with a durable SQLite fake of our sink.

Run: python sources_crash_worker.py DB URL CLIENT_ID SITE [DELAY_SECONDS]. Each `ingest`
commits before it returns (durable), keyed on (site, tag, ts) like the real sink, and also
appends every attempt to `attempts` so the test can see redeliveries.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Sequence

from lighthouse_os.settings import Settings
from lighthouse_os.telemetry import ingest_commands
from lighthouse_os.telemetry.points import IngestResult, RawPoint


class SqliteSink:
    """A durable, idempotent fake of `TelemetrySink` (stdlib sqlite3, synchronous=FULL)."""

    def __init__(self, path: str, delay: float) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS points (site TEXT, tag TEXT, ts TEXT, value REAL,"
            " PRIMARY KEY (site, tag, ts))"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS attempts (site TEXT, tag TEXT, ts TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS letters (reason TEXT, payload BLOB)")
        self._delay = delay

    def ingest(self, site: str, points: Sequence[RawPoint], *, source: str) -> IngestResult:
        rows = [(site, p.tag, str(p.ts), p.value) for p in points]
        with self._db:
            self._db.execute("BEGIN")
            before = self._db.total_changes
            self._db.executemany("INSERT OR IGNORE INTO points VALUES (?, ?, ?, ?)", rows)
            fresh = self._db.total_changes - before
            self._db.executemany("INSERT INTO attempts VALUES (?, ?, ?)", [r[:3] for r in rows])
        # Sleep after the commit: a kill then most likely lands between the write and the ack.
        time.sleep(self._delay)
        return IngestResult(accepted=fresh, duplicates=len(rows) - fresh)

    def dead_letter(self, *, source: str, payload: bytes, reason: str, site: str | None) -> None:
        with self._db:
            self._db.execute("INSERT INTO letters VALUES (?, ?)", (reason, payload))

    def close(self) -> None:
        self._db.close()


def main(argv: list[str]) -> None:
    db, url, client_id, site = argv[:4]
    delay = float(argv[4]) if len(argv) > 4 else 0.0
    ingest_commands.SINK_FACTORY = lambda _settings: SqliteSink(db, delay)
    decoders = ingest_commands.mqtt_decoders(sites=[site])
    options = ingest_commands.build_mqtt_options(
        url, client_id, decoders, receive_maximum=20, queue_capacity=40, session_expiry_seconds=120
    )
    from lighthouse_os.telemetry.worker import WorkerOptions

    tuning = WorkerOptions(batch_size=10, batch_wait_seconds=0.01)
    settings = Settings(_env_file=None, data_dir=".")  # type: ignore[call-arg]
    stats = ingest_commands.run_mqtt(options, decoders, tuning, settings)
    print(f"acked={stats.acked}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
