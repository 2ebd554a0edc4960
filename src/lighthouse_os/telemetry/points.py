"""Contract between telemetry sources (MQTT, Sparkplug, OPC UA, HTTP, files) and the write path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol

import orjson


class RawPoint(NamedTuple):
    """One reading as a source received it, before validation.

    `tag` is the tag path below the site (`line1/press2/kwh`); `ts` is an aware datetime, an
    ISO 8601 string or epoch seconds/milliseconds as sent; `value` is whatever the payload held.
    A NamedTuple, not a frozen dataclass: sources build one per reading, and a tuple costs half
    as much to make.
    """

    tag: str
    ts: datetime | str | int | float | None
    value: object


def points_json(points: Sequence[RawPoint]) -> bytes:
    """Points as a dead letter keeps them, `[{tag, ts, value}, …]`: what `lhos deadletters
    replay` sends again."""
    rows = [{"tag": p.tag, "ts": p.ts, "value": p.value} for p in points]
    return orjson.dumps(rows, default=str)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one point of a batch was not stored; it also went to the dead-letter store."""

    index: int
    tag: str
    reason: str


@dataclass(frozen=True, slots=True)
class IngestResult:
    """Outcome of one batch: accepted points are durably stored when this is returned."""

    accepted: int
    duplicates: int = 0
    rejected: tuple[Rejection, ...] = field(default_factory=tuple)


class TelemetrySink(Protocol):
    """The one validation-and-write path every ingestion source calls."""

    def ingest(self, site: str, points: Sequence[RawPoint], *, source: str) -> IngestResult:
        """Validate and store a batch for the site with code `site`; durable on return."""
        ...

    def dead_letter(self, *, source: str, payload: bytes, reason: str, site: str | None) -> None:
        """Keep a message that could not even be parsed into points, with the reason."""
        ...
