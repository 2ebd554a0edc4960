"""Benchmark: MQTT ingestion end to end through the broker at QoS 1, 1- and 10-point messages.

A publisher process sends JSON messages whose `ts` is the publish time; the worker (this
process, the production `MqttWorker`) batches, calls the sink, then acks. Printed per scenario:
points/s from the first publish to the last sink return, and the latency publish → sink return
(p50, p99, max), with the machine's core count.

    python benchmarks/bench_mqtt_ingest.py --sink null
    python benchmarks/bench_mqtt_ingest.py --sink real --data-dir DIR --site hcm-01

`--sink real` uses `lighthouse_os.telemetry.service.build_sink`; the site and its tags
`bench/t0` … `bench/t9` must exist there, or every point is (correctly) dead-lettered.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from lighthouse_os.telemetry.points import IngestResult, RawPoint, TelemetrySink
from lighthouse_os.telemetry.sources.mqtt.client import BrokerAddress, MqttClient, MqttOptions
from lighthouse_os.telemetry.sources.mqtt.source import JsonTopicDecoder
from lighthouse_os.telemetry.worker import MqttWorker, WorkerOptions

TAGS = [f"t{i}" for i in range(10)]


class NullSink:
    """Accepts everything and stores nothing: measures the ingestion path alone."""

    def ingest(self, site: str, points: Sequence[RawPoint], *, source: str) -> IngestResult:
        return IngestResult(accepted=len(points))

    def dead_letter(self, *, source: str, payload: bytes, reason: str, site: str | None) -> None:
        return None


@dataclass
class TimingSink:
    """Wraps a sink; on each return records, per point, now − the publish time in `ts`."""

    inner: TelemetrySink
    latencies: list[float] = field(default_factory=list)
    last_return: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)
    expected: int = 0

    def ingest(self, site: str, points: Sequence[RawPoint], *, source: str) -> IngestResult:
        result = self.inner.ingest(site, points, source=source)
        now = time.time()
        self.latencies.extend(now - float(p.ts) for p in points)  # type: ignore[arg-type]
        self.last_return = now
        if len(self.latencies) >= self.expected:
            self.done.set()
        return result

    def dead_letter(self, *, source: str, payload: bytes, reason: str, site: str | None) -> None:
        self.inner.dead_letter(source=source, payload=payload, reason=reason, site=site)


def _body(i: int, per_message: int) -> bytes:
    if per_message == 1:
        return orjson.dumps({"ts": time.time(), "value": i})
    return orjson.dumps({"ts": time.time(), "values": dict.fromkeys(TAGS[:per_message], i)})


def _pace(i: int, started: float, rate: float) -> None:
    if rate > 0:
        delay = started + i / rate - time.time()
        if delay > 0:
            time.sleep(delay)


def publish(url: str, topic: str, messages: int, per_message: int, rate: float) -> None:
    """Publisher process: QoS 1, `ts` = publish time in epoch seconds, `rate` msg/s (0 = max).

    The C client `mosquitto_pub -l` does the MQTT work when installed (one message per stdin
    line, 1000 in flight), so the benchmark measures the worker, not a Python publisher.
    """
    address = BrokerAddress.from_url(url)
    if shutil.which("mosquitto_pub") is None:
        _publish_paho(address, topic, messages, per_message, rate)
        return
    command = ["mosquitto_pub", "-h", address.host, "-p", str(address.port), "-V", "5"]
    command += ["-q", "1", "-M", "1000", "-t", topic, "-l"]
    with subprocess.Popen(command, stdin=subprocess.PIPE) as proc:
        assert proc.stdin is not None
        started = time.time()
        for i in range(messages):
            _pace(i, started, rate)
            proc.stdin.write(_body(i, per_message) + b"\n")
            if rate > 0:
                proc.stdin.flush()
        proc.stdin.close()
        proc.wait()


def _publish_paho(
    address: BrokerAddress, topic: str, messages: int, per_message: int, rate: float
) -> None:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(address.host, address.port)
    client.loop_start()
    started, infos = time.time(), []
    for i in range(messages):
        _pace(i, started, rate)
        infos.append(client.publish(topic, _body(i, per_message), qos=1))
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def _wait_for(sink: TimingSink, timeout: float) -> bool:
    """Wait until every point arrived, or until nothing arrived for `timeout` seconds."""
    seen = -1
    while not sink.done.wait(timeout):
        if len(sink.latencies) == seen:
            return False
        seen = len(sink.latencies)
    return True


def run_scenario(
    args: argparse.Namespace, inner: TelemetrySink, per_message: int, rate: float
) -> None:
    """One scenario: start a worker, publish, wait for every point, print the figures."""
    site = args.site or f"bench-{uuid.uuid4().hex[:8]}"
    topic = f"lhos/{site}/bench/t0" if per_message == 1 else f"lhos/{site}/bench"
    sink = TimingSink(inner, expected=args.messages * per_message)
    options = MqttOptions(
        url=args.url,
        client_id=f"bench-{uuid.uuid4().hex[:8]}",
        topic_filters=(f"lhos/{site}/#",),
        receive_maximum=args.receive_maximum,
        queue_capacity=args.queue_capacity,
        session_expiry_seconds=30,
    )
    tuning = WorkerOptions(batch_size=args.batch_size, batch_wait_seconds=args.batch_wait_ms / 1000)
    worker = MqttWorker(MqttClient(options), [JsonTopicDecoder([site])], sink, tuning)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    if not worker.client.ready.wait(10):
        sys.exit("worker did not subscribe within 10 s")
    publisher = mp.get_context("spawn").Process(
        target=publish, args=(args.url, topic, args.messages, per_message, rate)
    )
    started = time.time()
    publisher.start()
    finished = _wait_for(sink, args.idle_timeout)
    publisher.join()
    stop.set()
    thread.join(30)
    _print(per_message, rate, sink, started, finished, worker)


def _print(
    per_message: int,
    rate: float,
    sink: TimingSink,
    started: float,
    finished: bool,
    worker: MqttWorker,
) -> None:
    points = len(sink.latencies)
    elapsed = sink.last_return - started
    lat_ms = [x * 1000 for x in sink.latencies]
    offered = f"{rate:,.0f} msg/s" if rate > 0 else "max"
    note = "" if finished else f"  INCOMPLETE: {sink.expected - points} points never arrived"
    print(
        f"{per_message:>2}-point messages, offered {offered:>10}: {points} points in "
        f"{elapsed:.2f} s = {points / elapsed:,.0f} points/s "
        f"({points / per_message / elapsed:,.0f} msg/s); latency p50 "
        f"{statistics.median(lat_ms):.1f} ms, p99 {_percentile(lat_ms, 0.99):.1f} ms, "
        f"max {max(lat_ms):.1f} ms; {worker.stats.batches} batches, "
        f"queue high-water {worker.client.intake.high_water}{note}"
    )


def _sink(args: argparse.Namespace) -> TelemetrySink:
    if args.sink == "null":
        return NullSink()
    from lighthouse_os.settings import Settings
    from lighthouse_os.telemetry.service import build_sink

    settings = Settings(data_dir=args.data_dir) if args.data_dir else Settings()
    return build_sink(settings)


def main() -> None:
    """Parse options, print the machine, run the 1-point and 10-point scenarios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("LHOS_MQTT_URL", "mqtt://127.0.0.1:1883"))
    parser.add_argument("--sink", choices=["null", "real"], default="null")
    parser.add_argument("--data-dir", default=None, help="for --sink real")
    parser.add_argument("--site", default=None, help="site code (needed for --sink real)")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-wait-ms", type=int, default=20)
    parser.add_argument("--receive-maximum", type=int, default=1000)
    parser.add_argument("--queue-capacity", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=1000, help="paced run, msg/s (0: skip)")
    parser.add_argument("--idle-timeout", type=float, default=10)
    args = parser.parse_args()
    print(
        f"bench_mqtt_ingest: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"broker {args.url}, sink {args.sink}, {args.messages} messages per scenario, QoS 1, "
        f"batch {args.batch_size}/{args.batch_wait_ms} ms, "
        f"publisher {'mosquitto_pub' if shutil.which('mosquitto_pub') else 'paho'}"
    )
    inner = _sink(args)
    for per_message in (1, 10):
        run_scenario(args, inner, per_message, 0.0)
        if args.rate > 0:
            run_scenario(args, inner, per_message, args.rate)
    close = getattr(inner, "close", None)
    if callable(close):
        close()


if __name__ == "__main__":
    main()
