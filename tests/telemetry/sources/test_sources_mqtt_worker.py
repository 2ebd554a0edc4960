"""The MQTT worker through the real Mosquitto broker: manual ack, dead letters, bounded memory."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence

import orjson
import pytest

from lighthouse_os.errors import InvalidInput
from lighthouse_os.telemetry.points import IngestResult, RawPoint
from lighthouse_os.telemetry.sources.mqtt.client import BrokerAddress, MqttClient, MqttOptions
from lighthouse_os.telemetry.sources.mqtt.source import JsonTopicDecoder
from lighthouse_os.telemetry.sources.sparkplug.client import Metric, Payload, encode_payload
from lighthouse_os.telemetry.sources.sparkplug.source import SparkplugDecoder
from lighthouse_os.telemetry.worker import MqttWorker, WorkerOptions
from tests.telemetry.sources.sources_fakes import (
    FakeSink,
    Publisher,
    SinkDown,
    TcpProxy,
    start_worker,
    wait_until,
)

pytestmark = pytest.mark.mqtt


def point(ts: int, value: float) -> bytes:
    return orjson.dumps({"ts": ts, "value": value})


def test_worker_stores_points_and_acks_them(mqtt_url: str, publisher: Publisher, uid: str) -> None:
    sink = FakeSink()
    running = start_worker(mqtt_url, [JsonTopicDecoder([uid])], sink, client_id=f"w-{uid}")
    try:
        publisher.publish_many([(f"lhos/{uid}/line1/kwh", point(i, i * 1.5)) for i in range(20)])
        assert wait_until(lambda: running.worker.stats.acked == 20)
    finally:
        running.stop()
    assert {k[2]: v for k, v in sink.points.items()} == {i: i * 1.5 for i in range(20)}
    assert {site for site, _, _ in sink.calls} == {uid}


def test_worker_does_not_ack_when_sink_raises_so_broker_redelivers(
    mqtt_url: str, publisher: Publisher, uid: str
) -> None:
    down = FakeSink(fail_with=SinkDown("disk full"))
    first = start_worker(mqtt_url, [JsonTopicDecoder([uid])], down, client_id=f"w-{uid}")
    try:
        publisher.publish(f"lhos/{uid}/kwh", point(1, 10.0))
        assert wait_until(lambda: first.worker.stats.write_failures >= 2)
    finally:
        first.stop()
    assert first.worker.stats.acked == 0
    assert not first.thread.is_alive()

    up = FakeSink()
    second = start_worker(mqtt_url, [JsonTopicDecoder([uid])], up, client_id=f"w-{uid}")
    try:
        assert wait_until(lambda: (uid, "kwh", 1) in up.points)
        assert wait_until(lambda: second.worker.stats.acked == 1)
    finally:
        second.stop()

    # Acked now: a third session gets only what is published after it, in order.
    third_sink = FakeSink()
    third = start_worker(mqtt_url, [JsonTopicDecoder([uid])], third_sink, client_id=f"w-{uid}")
    try:
        publisher.publish(f"lhos/{uid}/marker", point(2, 0.0))
        assert wait_until(lambda: (uid, "marker", 2) in third_sink.points)
    finally:
        third.stop()
    assert list(third_sink.points) == [(uid, "marker", 2)]


def test_worker_retries_the_same_batch_after_sink_recovers(
    mqtt_url: str, publisher: Publisher, uid: str
) -> None:
    sink = FakeSink(fail_with=SinkDown("store restarting"))
    running = start_worker(mqtt_url, [JsonTopicDecoder([uid])], sink, client_id=f"w-{uid}")
    try:
        publisher.publish_many([(f"lhos/{uid}/a", point(i, 1.0)) for i in range(5)])
        assert wait_until(lambda: running.worker.stats.write_failures >= 3)
        assert running.worker.stats.acked == 0
        sink.fail_with = None
        assert wait_until(lambda: running.worker.stats.acked == 5)
    finally:
        running.stop()
    assert len(sink.points) == 5


def test_worker_dead_letters_a_flood_of_bad_messages_and_stays_alive(
    mqtt_url: str, publisher: Publisher, uid: str
) -> None:
    bad: list[tuple[str, bytes | str]] = [
        (f"lhos/{uid}/a", b"{not json"),
        (f"lhos/{uid}/a", b"\xff\xfe\x00"),
        (f"lhos/{uid}/a", '{"ts": 1}'),
        (f"lhos/{uid}/a", '{"ts": 1, "value": 1, "extra": 2}'),
        (f"lhos/{uid}", '{"ts": 1, "value": 1}'),
        (f"lhos/{uid}/a", "[]"),
        (f"lhos/{uid}/a", b""),
    ] * 30
    good = [(f"lhos/{uid}/ok", point(i, 1.0)) for i in range(10)]
    sink = FakeSink()
    running = start_worker(mqtt_url, [JsonTopicDecoder([uid])], sink, client_id=f"w-{uid}")
    try:
        publisher.publish_many(bad[:100] + good + bad[100:])
        total = len(bad) + len(good)
        assert wait_until(lambda: running.worker.stats.acked == total, timeout=20)
        assert running.thread.is_alive()
    finally:
        running.stop()
    assert len(sink.letters) == len(bad)
    assert all(letter.reason and letter.source == "mqtt" for letter in sink.letters)
    assert {letter.site for letter in sink.letters} == {uid}
    assert sorted(letter.payload for letter in sink.letters) == sorted(
        p.encode() if isinstance(p, str) else p for _, p in bad
    )
    assert len(sink.points) == len(good)


class BuggySink(FakeSink):
    """Fails, as a bug in validation would, on any batch holding the value 13."""

    def ingest(self, site: str, points: Sequence[RawPoint], *, source: str) -> IngestResult:
        if any(p.value == 13.0 for p in points):
            raise OverflowError("days=1000000000; must have magnitude <= 999999999")
        return super().ingest(site, points, source=source)


def test_a_message_the_sink_keeps_failing_on_is_dead_lettered_not_retried_forever(
    mqtt_url: str, publisher: Publisher, uid: str
) -> None:
    sink = BuggySink()
    running = start_worker(
        mqtt_url,
        [JsonTopicDecoder([uid])],
        sink,
        client_id=f"w-{uid}",
        worker_options=WorkerOptions(
            batch_size=50, batch_wait_seconds=0.2, retry_initial_seconds=0.05, isolate_after=2
        ),
    )
    values = [float(i) for i in range(10)]
    values[5] = 13.0
    try:
        publisher.publish_many([(f"lhos/{uid}/a", point(i, v)) for i, v in enumerate(values)])
        assert wait_until(lambda: running.worker.stats.acked == 10)
        assert running.thread.is_alive()
    finally:
        running.stop()
    assert running.worker.stats.write_failures >= 2
    assert sorted(ts for (_, _, ts) in sink.points) == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    [letter] = sink.letters
    assert orjson.loads(letter.payload) == [{"tag": "a", "ts": 5, "value": 13.0}]  # replayable
    assert "OverflowError" in letter.reason
    assert letter.site == uid


def test_worker_dead_letters_batches_the_sink_refuses_as_invalid(
    mqtt_url: str, publisher: Publisher, uid: str
) -> None:
    sink = FakeSink(fail_with=InvalidInput("unknown site"))
    running = start_worker(mqtt_url, [JsonTopicDecoder([uid])], sink, client_id=f"w-{uid}")
    try:
        publisher.publish(f"lhos/{uid}/a", point(1, 1.0))
        assert wait_until(lambda: running.worker.stats.acked == 1)
    finally:
        running.stop()
    [letter] = sink.letters
    assert "unknown site" in letter.reason
    assert letter.site == uid


def test_worker_memory_stays_bounded_under_sustained_load(
    mqtt_url: str, publisher: Publisher, uid: str
) -> None:
    # Below Mosquitto's default max_queued_messages (1000), beyond which the broker drops QoS 1.
    capacity, total = 40, 900
    sink = FakeSink(delay=0.004)
    running = start_worker(
        mqtt_url,
        [JsonTopicDecoder([uid])],
        sink,
        client_id=f"w-{uid}",
        receive_maximum=20,
        queue_capacity=capacity,
        worker_options=WorkerOptions(batch_size=10, batch_wait_seconds=0.01),
    )
    try:
        publisher.publish_many([(f"lhos/{uid}/a", point(i, float(i))) for i in range(total)])
        assert wait_until(lambda: running.worker.stats.acked == total, timeout=60)
    finally:
        running.stop()
    assert len(sink.points) == total  # nothing dropped: the network thread waited instead
    assert 0 < running.client.intake.high_water <= capacity


def test_shared_subscription_splits_the_load_between_workers(
    mqtt_url: str, publisher: Publisher, uid: str
) -> None:
    sinks = [FakeSink(), FakeSink()]
    workers = [
        start_worker(
            mqtt_url, [JsonTopicDecoder([uid])], s, client_id=f"w{i}-{uid}", shared_group=f"g-{uid}"
        )
        for i, s in enumerate(sinks)
    ]
    try:
        publisher.publish_many([(f"lhos/{uid}/a", point(i, 1.0)) for i in range(100)])
        assert wait_until(lambda: sum(w.worker.stats.acked for w in workers) == 100)
    finally:
        for w in workers:
            w.stop()
    keys = [k for s in sinks for k in s.points]
    assert sorted(k[2] for k in keys) == list(range(100))  # each point once, in one worker
    assert all(s.points for s in sinks)


def test_graceful_stop_writes_and_acks_what_was_queued(
    mqtt_url: str, publisher: Publisher, uid: str
) -> None:
    sink = FakeSink(delay=0.05)
    running = start_worker(
        mqtt_url,
        [JsonTopicDecoder([uid])],
        sink,
        client_id=f"w-{uid}",
        worker_options=WorkerOptions(batch_size=5, batch_wait_seconds=0.01),
    )
    publisher.publish_many([(f"lhos/{uid}/a", point(i, 1.0)) for i in range(50)])
    wait_until(lambda: running.client.intake.qsize() > 0)
    running.stop()
    stats = running.worker.stats
    assert not running.thread.is_alive()
    assert stats.acked == stats.messages == len(sink.points)

    rest = FakeSink()
    again = start_worker(mqtt_url, [JsonTopicDecoder([uid])], rest, client_id=f"w-{uid}")
    try:
        assert wait_until(lambda: len(sink.points) + len(rest.points) == 50)
    finally:
        again.stop()
    assert not set(sink.points) & set(rest.points)  # acked ones were not redelivered


def sp(
    kind: str, group: str, seq: int | None, *metrics: Metric, device: str = ""
) -> tuple[str, bytes]:
    tail = f"/{device}" if device else ""
    payload = encode_payload(Payload(timestamp_ms=1_767_600_000_000, seq=seq, metrics=metrics))
    return f"spBv1.0/{group}/{kind}/edge1{tail}", payload


def test_sparkplug_session_through_the_broker(
    mqtt_url: str, publisher: Publisher, uid: str
) -> None:
    group = f"G{uid}"
    sink = FakeSink()
    decoder = SparkplugDecoder(group=group)
    running = start_worker(mqtt_url, [decoder], sink, client_id=f"w-{uid}")
    bd = Metric(name="bdSeq", datatype=8, value=3, value_field="long_value")
    temp = Metric(name="temp", alias=1, datatype=10, value=20.0, value_field="double_value")
    kwh = Metric(name="kwh", alias=2, datatype=4, value=5, value_field="long_value")
    try:
        publisher.publish_many(
            [
                sp("NBIRTH", group, 0, bd, temp),
                sp("DBIRTH", group, 1, kwh, device="press"),
                sp("NDATA", group, 2, Metric(alias=1, value=21.0, value_field="double_value")),
                sp(
                    "DDATA",
                    group,
                    3,
                    Metric(alias=2, value=6, value_field="long_value"),
                    device="press",
                ),
                sp("NDATA", group, 9, Metric(alias=1, value=22.0, value_field="double_value")),
                sp("NDEATH", group, None, bd),
            ]
        )
        assert wait_until(lambda: running.worker.stats.acked == 6)
    finally:
        running.stop()
    stored = sorted((tag, v) for (site, tag, _), v in sink.points.items() if site == group)
    assert ("edge1/press/kwh", 6) in stored
    assert ("edge1/temp", 22.0) in stored
    assert next(letter.reason for letter in sink.letters).startswith("sequence gap")
    assert decoder.state(group, "edge1") == 0
    assert decoder.state(group, "edge1", "press") == 0
    assert {c[2] for c in sink.calls} == {"sparkplug"}


@pytest.fixture
def proxy(mqtt_url: str) -> Iterator[TcpProxy]:
    address = BrokerAddress.from_url(mqtt_url)
    relay = TcpProxy((address.host, address.port))
    yield relay
    relay.close()


def test_worker_reconnects_logs_once_and_acks_only_on_the_new_connection(
    proxy: TcpProxy, publisher: Publisher, uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    sink = FakeSink(fail_with=SinkDown("down"))
    running = start_worker(proxy.url, [JsonTopicDecoder([uid])], sink, client_id=f"w-{uid}")
    try:
        publisher.publish_many([(f"lhos/{uid}/a", point(i, 1.0)) for i in range(5)])
        assert wait_until(lambda: running.worker.stats.write_failures >= 1)
        with caplog.at_level(logging.INFO, logger="lighthouse_os"):
            proxy.cut()  # the held batch now belongs to a dead connection
            assert wait_until(
                lambda: running.client.generation == 2 and running.client.ready.is_set()
            )
            sink.fail_with = None
            assert wait_until(lambda: running.worker.stats.acked == 5)  # the redelivered copies
    finally:
        running.stop()
    assert len(sink.points) == 5
    assert running.worker.stats.duplicates == 5  # old batch written, then its redelivery
    broker = [r.getMessage() for r in caplog.records if "MQTT broker" in r.getMessage()]
    assert [m.split(": ")[0].rsplit(" ", 1)[-1] for m in broker] == ["unavailable", "recovered"]


def test_worker_logs_once_and_stops_promptly_when_broker_is_unreachable(
    caplog: pytest.LogCaptureFixture, uid: str
) -> None:
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    options = MqttOptions(
        url=f"mqtt://127.0.0.1:{port}",
        client_id=f"w-{uid}",
        topic_filters=("lhos/#",),
        reconnect_min_seconds=1,
        reconnect_max_seconds=1,
    )
    worker = MqttWorker(MqttClient(options), [JsonTopicDecoder()], FakeSink())
    stop = threading.Event()
    with caplog.at_level(logging.DEBUG, logger="lighthouse_os"):
        thread = threading.Thread(target=worker.run, args=(stop,))
        thread.start()
        time.sleep(2.5)  # at least two failed attempts
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "unavailable" in warnings[0].getMessage()
