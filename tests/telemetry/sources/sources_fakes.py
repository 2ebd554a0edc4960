"""Test doubles of OUR interfaces for the ingestion sources: an in-memory `TelemetrySink`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from lighthouse_os.errors import LhosError
from lighthouse_os.telemetry.points import IngestResult, RawPoint


class SinkDown(RuntimeError):
    """The fake store is unavailable (a transient failure)."""


@dataclass(frozen=True, slots=True)
class Letter:
    source: str
    payload: bytes
    reason: str
    site: str | None


@dataclass
class FakeSink:
    """Keeps points keyed on (site, tag, ts) like the real sink; can be told to fail."""

    fail_with: Exception | None = None
    points: dict[tuple[str, str, object], object] = field(default_factory=dict)
    calls: list[tuple[str, int, str]] = field(default_factory=list)
    letters: list[Letter] = field(default_factory=list)
    written: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ingest(self, site: str, points: Sequence[RawPoint], *, source: str) -> IngestResult:
        if self.fail_with is not None:
            raise self.fail_with
        with self._lock:
            self.calls.append((site, len(points), source))
            fresh = 0
            for p in points:
                key = (site, p.tag, p.ts)
                fresh += key not in self.points
                self.points[key] = p.value
        self.written.set()
        return IngestResult(accepted=fresh, duplicates=len(points) - fresh)

    def dead_letter(self, *, source: str, payload: bytes, reason: str, site: str | None) -> None:
        if self.fail_with is not None and not isinstance(self.fail_with, LhosError):
            raise self.fail_with
        with self._lock:
            self.letters.append(Letter(source, payload, reason, site))
        self.written.set()

    def values(self, site: str) -> dict[str, object]:
        """tag -> last value for one site."""
        with self._lock:
            return {tag: v for (s, tag, _), v in self.points.items() if s == site}
