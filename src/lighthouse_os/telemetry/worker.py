"""The MQTT ingestion worker loop: take a batch, decode it, store it, and only then acknowledge.

Delivery guarantee: at least once into the sink, exactly once in the store, because the sink is
idempotent on (series, ts). A batch is acknowledged (QoS 1 PUBACK) only after every `ingest` and
`dead_letter` call for it returned; if the sink raises, nothing is acknowledged, the failure is
logged once, and the remaining writes of the batch are retried with exponential backoff. If the
process dies meanwhile, the broker redelivers the unacknowledged messages to the same client id.

A `LhosError` with a 4xx status from `ingest` (e.g. an unknown site) is permanent: retrying
cannot help, so the messages behind that site batch are dead-lettered and acknowledged.

Any other failure counts as the sink being down, and is retried for as long as it lasts, except
one that looks like the data's doing (a `ValueError`, `TypeError`, `ArithmeticError` or
`LookupError`: a bug the data triggers, not an outage). Retried as long, one such message would
stall the worker for good. After `isolate_after` failures the batch is written message by
message instead: the messages that still fail are dead-lettered with the error (their payload
kept, nothing lost) and the rest are stored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from lighthouse_os.errors import LhosError
from lighthouse_os.telemetry.points import IngestResult, RawPoint, TelemetrySink, points_json
from lighthouse_os.telemetry.sources.availability import Availability, looks_like_data_error
from lighthouse_os.telemetry.sources.backoff import Backoff
from lighthouse_os.telemetry.sources.decoder import Decoded, InboundMessage, MessageDecoder
from lighthouse_os.telemetry.sources.mqtt.client import Delivery, MqttClient

_log = logging.getLogger(__name__)
# Topics seen, each with its decoder; emptied rather than grown past this many.
_TOPIC_CACHE_SIZE = 65_536


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """Batching: a batch closes at `batch_size` messages or `batch_wait_seconds` after it opens."""

    batch_size: int = 500
    batch_wait_seconds: float = 0.05
    retry_initial_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    isolate_after: int = 3  # failures that look like the data's doing before isolating them

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.batch_wait_seconds < 0:
            raise ValueError("batch_size must be >= 1 and batch_wait_seconds >= 0")


@dataclass(slots=True)
class WorkerStats:
    """Counters since start; `acked` counts QoS 1 acknowledgements handed to the client to send.

    `broker_skipped_ids`: packet ids the broker skipped, i.e. messages it most likely dropped
    for this session before they reached us (see `mqtt.gaps.PacketIdGaps`); should stay 0.
    """

    messages: int = 0
    batches: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    dead_letters: int = 0
    write_failures: int = 0
    acked: int = 0
    broker_skipped_ids: int = 0


@dataclass(slots=True)
class _SiteWrite:
    source: str
    site: str
    points: list[RawPoint] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    # Where each delivery's points are in `points`, and how many spans `_isolate` has written.
    spans: list[tuple[int, int]] = field(default_factory=list)
    isolated: int = 0
    done: bool = False


@dataclass(slots=True)
class _Letter:
    source: str
    payload: bytes
    reason: str
    site: str | None
    done: bool = False


@dataclass(slots=True)
class _Plan:
    """The writes one batch needs; `done` flags make a retry resume where it failed."""

    writes: dict[tuple[str, str], _SiteWrite] = field(default_factory=dict)
    letters: list[_Letter] = field(default_factory=list)


def _is_permanent(error: Exception) -> bool:
    return isinstance(error, LhosError) and error.status < 500


class MqttWorker:
    """One stateless worker (stateful only through its decoders, e.g. Sparkplug births)."""

    def __init__(
        self,
        client: MqttClient,
        decoders: Sequence[MessageDecoder],
        sink: TelemetrySink,
        options: WorkerOptions | None = None,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self.client = client
        self.decoders = tuple(decoders)
        self.sink = sink
        self.options = options or WorkerOptions()
        self.stats = WorkerStats()
        self._log = logger or _log
        self._sink_link = Availability("telemetry sink", self._log)
        self._backoff = Backoff(self.options.retry_initial_seconds, self.options.retry_max_seconds)
        self._decoder_of_topic: dict[str, MessageDecoder | None] = {}

    def run(self, stop: threading.Event) -> WorkerStats:
        """Connect and process batches until `stop` is set; then flush, ack and disconnect."""
        self.client.start()
        try:
            while not stop.is_set():
                self.step(stop)
            self._drain(stop)
        finally:
            self.client.stop()
        return self.stats

    def step(self, stop: threading.Event) -> int:
        """Process one batch (possibly empty); return how many messages it held."""
        deliveries = self.client.take(self.options.batch_size, self.options.batch_wait_seconds)
        if deliveries:
            self.process(deliveries, stop)
        return len(deliveries)

    def _drain(self, stop: threading.Event) -> None:
        # Stop intake first so the queue can only shrink; what arrives later stays unacked.
        self.client.pause()
        while deliveries := self.client.take(self.options.batch_size, 0.0):
            if not self.process(deliveries, stop):
                return

    def process(self, deliveries: list[Delivery], stop: threading.Event) -> bool:
        """Decode, store and acknowledge one batch; False if it was left unacknowledged."""
        self.stats.messages += len(deliveries)
        self.stats.batches += 1
        plan = self._plan(deliveries)
        if not self._write(plan, stop):
            return False
        self.stats.acked += self.client.ack(deliveries)
        self.stats.broker_skipped_ids = self.client.skipped_ids
        return True

    def _decoder_for(self, topic: str) -> MessageDecoder | None:
        try:
            return self._decoder_of_topic[topic]
        except KeyError:
            pass
        decoder = next((d for d in self.decoders if d.accepts(topic)), None)
        if len(self._decoder_of_topic) >= _TOPIC_CACHE_SIZE:
            self._decoder_of_topic.clear()
        self._decoder_of_topic[topic] = decoder
        return decoder

    def _plan(self, deliveries: list[Delivery]) -> _Plan:
        plan = _Plan()
        writes = plan.writes
        for delivery in deliveries:
            source, decoded = self._decode_with_source(delivery)
            for problem in decoded.problems:
                reason = f"{problem.reason} (topic {delivery.topic})"
                plan.letters.append(_Letter(source, delivery.payload, reason, problem.site))
            for batch in decoded.batches:
                write = writes.get((source, batch.site))
                if write is None:
                    write = writes[(source, batch.site)] = _SiteWrite(source, batch.site)
                start = len(write.points)
                write.points.extend(batch.points)
                if not write.deliveries or write.deliveries[-1] is not delivery:
                    write.deliveries.append(delivery)
                    write.spans.append((start, len(write.points)))
                else:
                    write.spans[-1] = (write.spans[-1][0], len(write.points))
        return plan

    def _decode_with_source(self, delivery: Delivery) -> tuple[str, Decoded]:
        decoder = self._decoder_for(delivery.topic)
        if decoder is None:
            return "mqtt", Decoded.bad(f"no decoder for topic {delivery.topic!r}")
        message = InboundMessage(
            delivery.topic, delivery.payload, delivery.received_at, delivery.duplicate
        )
        try:
            return decoder.source, decoder.decode(message)
        except Exception as err:  # a decoder bug must not stop ingestion (STYLE rule 7)
            self._log.exception("decoder %s failed on topic %s", decoder.source, delivery.topic)
            return decoder.source, Decoded.bad(f"decoder error: {err!r}")

    def _write(self, plan: _Plan, stop: threading.Event) -> bool:
        data_failures = 0
        while True:
            try:
                if data_failures >= self.options.isolate_after:
                    self._isolate(plan)
                self._write_once(plan)
            except Exception as err:  # the sink is down: keep the batch unacked and retry
                self.stats.write_failures += 1
                data_failures += looks_like_data_error(err)
                self._sink_link.failed(err)
                if stop.wait(self._backoff.next_delay()):
                    return False
                continue
            self._sink_link.succeeded()
            self._backoff.reset()
            return True

    def _isolate(self, plan: _Plan) -> None:
        """Write each unwritten site batch message by message; a message that still fails the
        same way becomes a dead letter. Another kind of failure (an outage) propagates."""
        logged = False
        for write in plan.writes.values():
            if write.done:
                continue
            spans = list(zip(write.deliveries, write.spans, strict=True))
            for delivery, (start, end) in spans[write.isolated :]:
                points = write.points[start:end]
                try:
                    self._count(self.sink.ingest(write.site, points, source=write.source))
                except Exception as err:
                    if not (looks_like_data_error(err) or _is_permanent(err)):
                        raise
                    if not logged:  # once per batch: the traceback is the same bug's
                        self._log.exception("the sink failed on a message from %s", delivery.topic)
                        logged = True
                    # Its points, not its raw bytes: `lhos deadletters replay` can send them
                    # again once the bug is fixed; the reason names the topic.
                    reason = f"the sink failed on this message: {err!r} (topic {delivery.topic})"
                    plan.letters.append(
                        _Letter(write.source, points_json(points), reason, write.site)
                    )
                write.isolated += 1
            write.done = True

    def _write_once(self, plan: _Plan) -> None:
        for write in plan.writes.values():
            if not write.done:
                self._ingest(write, plan)
        for letter in plan.letters:
            if not letter.done:
                self.sink.dead_letter(
                    source=letter.source,
                    payload=letter.payload,
                    reason=letter.reason,
                    site=letter.site,
                )
                letter.done = True
                self.stats.dead_letters += 1

    def _ingest(self, write: _SiteWrite, plan: _Plan) -> None:
        try:
            result = self.sink.ingest(write.site, write.points, source=write.source)
        except Exception as err:
            if not _is_permanent(err):
                raise
            reason = f"site {write.site!r} refused: {err}"
            plan.letters.extend(
                _Letter(write.source, d.payload, f"{reason} (topic {d.topic})", write.site)
                for d in write.deliveries
            )
        else:
            self._count(result)
        write.done = True

    def _count(self, result: IngestResult) -> None:
        self.stats.accepted += result.accepted
        self.stats.duplicates += result.duplicates
        self.stats.rejected += len(result.rejected)
