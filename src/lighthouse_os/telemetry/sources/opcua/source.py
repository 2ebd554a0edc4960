"""OPC UA source: subscribe to the mapped nodes, batch data changes into the sink, survive restarts.

A lost session (server restart, network cut) is closed, and after an exponential backoff a new
session re-subscribes every node; the server then sends each node's current value again, which
the idempotent sink stores once. Failure and recovery are logged once each.

OPC UA has no redelivery: while the sink is down, changes wait in a bounded in-memory buffer
(`buffer_limit` points). If the outage outlasts it, the oldest points are dropped, counted in
`stats.dropped` and logged once per outage, never silently. Changes with a Bad status and
batches the sink refuses as invalid (4xx) go to the dead-letter store as JSON.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from lighthouse_os.errors import LhosError
from lighthouse_os.telemetry.points import RawPoint, TelemetrySink, points_json
from lighthouse_os.telemetry.sources.availability import Availability, looks_like_data_error
from lighthouse_os.telemetry.sources.backoff import Backoff
from lighthouse_os.telemetry.sources.opcua.catalog import NodeMap
from lighthouse_os.telemetry.sources.opcua.client import DataChange, OpcUaSession, OpcUaUnavailable

_log = logging.getLogger(__name__)
SOURCE = "opcua"


@dataclass(frozen=True, slots=True)
class OpcUaOptions:
    """Batching, buffering and reconnect timing of one source."""

    batch_size: int = 1000
    flush_seconds: float = 1.0
    buffer_limit: int = 100_000
    reconnect_initial_seconds: float = 1.0
    reconnect_max_seconds: float = 60.0
    retry_initial_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    isolate_after: int = 3  # failures that look like the data's doing before isolating them


@dataclass(slots=True)
class OpcUaStats:
    """Counters since start."""

    changes: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    dead_letters: int = 0
    dropped: int = 0
    sessions: int = 0


@dataclass(frozen=True, slots=True)
class _Letter:
    payload: bytes
    reason: str
    site: str | None


async def _wait(event: asyncio.Event, timeout: float) -> bool:
    """Wait for `event` at most `timeout` seconds; True if it is set."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return event.is_set()
    return True


async def _first(*events: asyncio.Event, timeout: float | None = None) -> None:
    """Return when one of `events` is set, or after `timeout` seconds."""
    tasks = [asyncio.create_task(e.wait()) for e in events]
    _done, pending = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()


class OpcUaSource:
    """Runs until `stop` is set: one session at a time, and a writer flushing batches."""

    source = SOURCE

    def __init__(
        self,
        endpoint: str,
        node_map: NodeMap,
        sink: TelemetrySink,
        options: OpcUaOptions | None = None,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.node_map = node_map
        self.sink = sink
        self.options = options or OpcUaOptions()
        self.stats = OpcUaStats()
        self._log = logger or _log
        self._nodes = node_map.by_node_id()
        self._pending: deque[tuple[str, RawPoint]] = deque()
        self._letters: deque[_Letter] = deque()
        self._wake = asyncio.Event()
        self._link = Availability(f"OPC UA server {endpoint}", self._log)
        self._sink_link = Availability("telemetry sink", self._log)
        self._overflowing = False
        self._data_failures = 0
        opts = self.options
        self._reconnect = Backoff(opts.reconnect_initial_seconds, opts.reconnect_max_seconds)
        self._retry = Backoff(opts.retry_initial_seconds, opts.retry_max_seconds)

    @property
    def connected(self) -> bool:
        """Whether the current session is up."""
        return self._link.available and self.stats.sessions > 0

    async def run(self, stop: asyncio.Event) -> OpcUaStats:
        """Subscribe and write until `stop` is set, then flush what is buffered once more."""
        writer = asyncio.create_task(self._write_loop(stop))
        try:
            await self._connection_loop(stop)
        finally:
            await writer
        return self.stats

    # subscription side ----------------------------------------------------------------------

    async def _connection_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._one_session(stop)
            if not stop.is_set():
                await _wait(stop, self._reconnect.next_delay())

    async def _one_session(self, stop: asyncio.Event) -> None:
        session = OpcUaSession(self.endpoint)
        ids = [n.node_id for n in self.node_map.nodes]
        try:
            refused = await session.open(ids, self.node_map.publishing_interval_ms, self.on_change)
        except OpcUaUnavailable as err:
            self._link.failed(err)
            await session.close()
            return
        self._link.succeeded()
        self._reconnect.reset()
        self.stats.sessions += 1
        if refused:
            self._log.warning("OPC UA server refused node(s): %s", ", ".join(refused))
        await _first(stop, session.lost)
        if not stop.is_set():
            self._link.failed("connection lost")
        await session.close()

    def on_change(self, change: DataChange) -> None:
        """Buffer one data change as a point (or a dead letter when its status is Bad)."""
        self.stats.changes += 1
        node = self._nodes.get(change.node_id)
        if node is None:
            return  # not subscribed by us: a late notification of an older subscription
        ts = change.source_time or change.server_time or datetime.now(UTC)
        if not change.good and not change.uncertain:
            row = {"node": change.node_id, "status": change.status, "ts": ts.isoformat()}
            reason = f"OPC UA status {change.status} for {node.tag}"
            self._letters.append(_Letter(orjson.dumps(row), reason, node.site))
            return
        point = RawPoint(tag=node.tag, ts=ts, value=node.value_fn(change.value))
        self._pending.append((node.site, point))
        self._trim()
        if len(self._pending) >= self.options.batch_size:
            self._wake.set()

    def _trim(self) -> None:
        excess = len(self._pending) - self.options.buffer_limit
        if excess <= 0:
            return
        for _ in range(excess):
            self._pending.popleft()
        self.stats.dropped += excess
        if not self._overflowing:
            self._overflowing = True
            self._log.warning(
                "OPC UA buffer full (%d points) while the sink is down: dropping the oldest",
                self.options.buffer_limit,
            )

    # writer side ----------------------------------------------------------------------------

    async def _write_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _first(self._wake, stop, timeout=self.options.flush_seconds)
            self._wake.clear()
            if not await self.flush():
                await _wait(stop, self._retry.next_delay())
        await self.flush()

    async def flush(self) -> bool:
        """Write everything buffered; False if the sink failed (the rest stays buffered)."""
        try:
            await self._flush_letters()
            while self._pending:
                await self._flush_chunk()
        except Exception as err:  # the sink is down: keep the buffer, retry later
            self._data_failures += looks_like_data_error(err)
            self._sink_link.failed(err)
            return False
        self._data_failures = 0
        self._sink_link.succeeded()
        self._retry.reset()
        self._overflowing = False
        return True

    async def _flush_letters(self) -> None:
        while self._letters:
            letter = self._letters[0]
            await asyncio.to_thread(
                self.sink.dead_letter,
                source=SOURCE,
                payload=letter.payload,
                reason=letter.reason,
                site=letter.site,
            )
            self._letters.popleft()
            self.stats.dead_letters += 1

    async def _flush_chunk(self) -> None:
        # Take the chunk out first: `on_change` may trim the front of the buffer meanwhile.
        size = min(self.options.batch_size, len(self._pending))
        chunk = [self._pending.popleft() for _ in range(size)]
        if self._data_failures >= self.options.isolate_after:
            await self._isolate(chunk)
            return
        by_site: dict[str, list[RawPoint]] = {}
        for site, point in chunk:
            by_site.setdefault(site, []).append(point)
        written: set[str] = set()
        try:
            for site, points in by_site.items():
                await self._ingest(site, points)
                written.add(site)
        except Exception:
            unwritten = [item for item in chunk if item[0] not in written]
            self._pending.extendleft(reversed(unwritten))
            self._trim()
            raise

    async def _isolate(self, chunk: list[tuple[str, RawPoint]]) -> None:
        """Write point by point; a point the sink still fails on, the same way, becomes a dead
        letter (ADR 0016). Another kind of failure puts the rest back and propagates."""
        logged = False
        for done, (site, point) in enumerate(chunk):
            try:
                await self._ingest(site, [point])
            except Exception as err:
                if not looks_like_data_error(err):
                    self._pending.extendleft(reversed(chunk[done:]))
                    self._trim()
                    raise
                if not logged:  # once per chunk: the traceback is the same bug's
                    self._log.exception("the sink failed on a point of %s", point.tag)
                    logged = True
                reason = f"the sink failed on this point: {err!r}"
                self._letters.append(_Letter(points_json([point]), reason, site))
        self._data_failures = 0
        await self._flush_letters()

    async def _ingest(self, site: str, points: list[RawPoint]) -> None:
        try:
            result = await asyncio.to_thread(self.sink.ingest, site, points, source=SOURCE)
        except LhosError as err:
            if err.status >= 500:
                raise
            self._letters.append(
                _Letter(points_json(points), f"site {site!r} refused: {err}", site)
            )
            await self._flush_letters()
            return
        self.stats.accepted += result.accepted
        self.stats.duplicates += result.duplicates
        self.stats.rejected += len(result.rejected)
