"""The worker against a private Mosquitto: a broker restart, and messages the broker drops."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson
import pytest

from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.points import IngestResult, RawPoint, TelemetrySink
from lighthouse_os.telemetry.service import build_sink
from lighthouse_os.telemetry.sources.mqtt.source import JsonTopicDecoder
from lighthouse_os.telemetry.worker import WorkerOptions
from tests.support import World
from tests.telemetry.sources.sources_fakes import FakeSink, Publisher, start_worker, wait_until
from tests.telemetry.sources.sources_real import T0, PrivateBroker, seed_site, stored

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


class SlowSink:
    """The real sink behind a delay, so the worker holds unacknowledged messages for longer."""

    def __init__(self, inner: TelemetrySink, delay: float) -> None:
        self.inner = inner
        self.delay = delay

    def ingest(self, site: str, points: Sequence[RawPoint], *, source: str) -> IngestResult:
        time.sleep(self.delay)
        return self.inner.ingest(site, points, source=source)

    def dead_letter(self, *, source: str, payload: bytes, reason: str, site: str | None) -> None:
        self.inner.dead_letter(source=source, payload=payload, reason=reason, site=site)


def _messages(site: str, numbers: range) -> list[tuple[str, bytes | str]]:
    return [(f"lhos/{site}/line1/kwh", orjson.dumps({"ts": T0 + i, "value": i})) for i in numbers]


def _publish(url: str, messages: list[tuple[str, bytes | str]]) -> None:
    publisher = Publisher(url)  # waits for every PUBACK: the broker has them all
    try:
        publisher.publish_many(messages)
    finally:
        publisher.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    private = PrivateBroker(tmp_path / "broker")
    private.start()
    yield private
    private.stop()


def test_worker_loses_nothing_when_the_broker_restarts(
    broker: PrivateBroker, initialised_settings: Settings, world: World, uid: str
) -> None:
    seed_site(initialised_settings, uid)
    sink = build_sink(initialised_settings)  # SQLite database, DuckDB store
    running = start_worker(
        broker.url,
        [JsonTopicDecoder([uid])],
        SlowSink(sink, 0.05),
        client_id=f"w-{uid}",
        receive_maximum=20,
        queue_capacity=40,
        worker_options=WorkerOptions(batch_size=10, batch_wait_seconds=0.01),
    )
    try:
        _publish(broker.url, _messages(uid, range(1, 201)))
        broker.stop()  # with part of the 200 queued or held unacknowledged by the worker
        assert wait_until(lambda: not running.client.ready.is_set())
        accepted_while_down = running.worker.stats.accepted
        broker.start()
        assert wait_until(lambda: running.client.ready.is_set(), timeout=20)
        _publish(broker.url, _messages(uid, range(201, 401)))
        assert wait_until(lambda: running.worker.stats.accepted == 400, timeout=60)
    finally:
        running.stop()
        sink.close()
    assert accepted_while_down < 200, "the worker finished before the restart; slow it down"
    assert running.client.generation == 2
    assert stored(initialised_settings, uid, "line1/kwh") == [(T0 + i, i) for i in range(1, 401)]


def test_acks_sent_just_before_a_graceful_stop_reach_a_broker_that_reads_late(
    broker: PrivateBroker, uid: str
) -> None:
    # The worker stops with messages unread in its socket; closing such a socket resets the
    # connection, and Mosquitto dropped the PUBACKs it had not read yet, then redelivered
    # messages already stored and acknowledged. Freezing the broker makes it read late.
    sink = FakeSink(delay=0.05)
    running = start_worker(
        broker.url,
        [JsonTopicDecoder([uid])],
        sink,
        client_id=f"w-{uid}",
        receive_maximum=100,
        queue_capacity=100,
        worker_options=WorkerOptions(batch_size=20, batch_wait_seconds=0.01),
    )
    _publish(broker.url, _messages(uid, range(600)))
    assert wait_until(lambda: len(sink.points) >= 100)
    with broker.frozen():
        stopping = threading.Thread(target=running.stop)
        stopping.start()
        time.sleep(0.5)  # the last acks and DISCONNECT are written meanwhile
    stopping.join(15)
    assert running.worker.stats.acked == len(sink.points) < 600
    rest = FakeSink()
    again = start_worker(broker.url, [JsonTopicDecoder([uid])], rest, client_id=f"w-{uid}")
    try:
        assert wait_until(lambda: len(sink.points) + len(rest.points) >= 600)
    finally:
        again.stop()
    assert not set(sink.points) & set(rest.points)


def test_worker_warns_when_the_broker_drops_messages_for_its_session(
    tmp_path: Path, uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Mosquitto's max_queued_messages (1000 by default) at 10: a slow session loses messages.
    small = PrivateBroker(tmp_path / "small", max_queued_messages=10)
    small.start()
    sink = FakeSink(delay=0.02)
    try:
        running = start_worker(
            small.url,
            [JsonTopicDecoder([uid])],
            sink,
            client_id=f"w-{uid}",
            receive_maximum=5,
            queue_capacity=5,
            worker_options=WorkerOptions(batch_size=5, batch_wait_seconds=0.01),
        )
        try:
            with caplog.at_level(logging.WARNING):
                _publish(small.url, _messages(uid, range(1, 201)))
                seen = -1
                while seen != (seen := running.worker.stats.acked):  # until it has gone quiet
                    time.sleep(0.5)
                _publish(small.url, [(f"lhos/{uid}/marker", orjson.dumps({"ts": T0, "value": 0}))])
                assert wait_until(lambda: (uid, "marker", T0) in sink.points)
        finally:
            running.stop()
    finally:
        small.stop()
    dropped = 201 - len(sink.points)
    assert dropped > 0, "the broker dropped nothing; publish faster or slow the sink down"
    assert running.client.skipped_ids == dropped
    [warning] = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert "dropped" in warning
    assert "max_queued_messages" in warning
    assert running.worker.stats.broker_skipped_ids == dropped
