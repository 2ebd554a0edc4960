"""Benchmark: MQTT ingestion end to end through the broker at QoS 1, 1- and 10-point messages.

Processes: `--publishers` publisher processes (raw MQTT 5, several connections each, QoS 1,
waiting for every PUBACK, paced to the offered rate), `--workers` worker processes running the
production `MqttClient` + `MqttWorker` (more than one share the load through an MQTT 5 shared
subscription), and the broker. Each message's `value` is its publish time (epoch seconds) and its
`ts` is unique per point, so a real store keeps every point. Printed per run:

- points/s: points the sink stored / (last sink return - first publish);
- latency publish -> sink return (durable, hence queryable): p50, p99, max;
- lost: published and acknowledged by the broker but never delivered (a full session queue in
  the broker drops them: Mosquitto `max_queued_messages`, 1000 by default);
- CPU microseconds per point of the workers, the publishers and the broker (from /proc);
- the load average before and after, since other work may share the machine.

An offered rate of `max` publishes as fast as the publishers can: the broker then drops what the
worker cannot keep up with, and the points/s is the worker's ceiling. A paced rate is "sustained"
when nothing is lost, the points/s keeps up and p99 < 2 s.

    python benchmarks/bench_mqtt_ingest.py                              # null sink, 1 worker
    python benchmarks/bench_mqtt_ingest.py --sink real                  # SQLite + DuckDB
    python benchmarks/bench_mqtt_ingest.py --sink real --backend postgres --workers 2
    python benchmarks/bench_mqtt_ingest.py --rates 20000,50000 --sizes 10 --seconds 10
"""

from __future__ import annotations

import argparse
import array
import getpass
import multiprocessing as mp
import os
import platform
import select
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from lighthouse_os.telemetry.points import IngestResult, RawPoint, TelemetrySink
from lighthouse_os.telemetry.sources.mqtt.client import BrokerAddress, MqttClient, MqttOptions
from lighthouse_os.telemetry.sources.mqtt.source import JsonTopicDecoder
from lighthouse_os.telemetry.worker import MqttWorker, WorkerOptions

TAGS = [f"t{i}" for i in range(10)]
SITE = "bench"
SECRET = "benchmark-secret-key-0123456789-abcdefghij"
CTX = mp.get_context("spawn")


# -- workers ----------------------------------------------------------------------------------


class NullSink:
    """Accepts everything and stores nothing: measures the ingestion path alone."""

    def ingest(self, site: str, points: Sequence[RawPoint], *, source: str) -> IngestResult:
        return IngestResult(accepted=len(points))

    def dead_letter(self, *, source: str, payload: bytes, reason: str, site: str | None) -> None:
        return None


@dataclass
class TimingSink:
    """Wraps a sink; on each return notes, per point, now - its publish time (the `value`)."""

    inner: TelemetrySink
    counter: Any  # a multiprocessing Value('q') shared with the coordinator
    latencies: array.array[float] = field(default_factory=lambda: array.array("d"))
    last_return: float = 0.0
    accepted: int = 0
    rejected: int = 0
    letters: int = 0

    def ingest(self, site: str, points: Sequence[RawPoint], *, source: str) -> IngestResult:
        result = self.inner.ingest(site, points, source=source)
        now = time.time()
        self.latencies.extend([now - p.value for p in points])  # type: ignore[operator]
        self.last_return = now
        self.accepted += result.accepted
        self.rejected += len(result.rejected)
        with self.counter.get_lock():
            self.counter.value += len(points)
        return result

    def dead_letter(self, *, source: str, payload: bytes, reason: str, site: str | None) -> None:
        self.letters += 1
        self.inner.dead_letter(source=source, payload=payload, reason=reason, site=site)


@dataclass(frozen=True)
class WorkerJob:
    url: str
    client_id: str
    site: str
    shared_group: str | None
    sink: str
    data_dir: str | None
    timeseries_url: str | None
    batch_size: int
    batch_wait_ms: int
    receive_maximum: int
    queue_capacity: int


def _open_sink(job: WorkerJob) -> TelemetrySink:
    if job.sink == "null":
        return NullSink()
    from lighthouse_os.settings import Settings
    from lighthouse_os.telemetry.service import build_sink

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=Path(job.data_dir or "."),
        secret_key=SECRET,
        timeseries_url=job.timeseries_url,
    )
    return build_sink(settings)


def run_worker(job: WorkerJob, counter: Any, ready: Any, stop: Any, out: Any) -> None:
    """Worker process: the production client and worker until `stop`, then report."""
    sink = _open_sink(job)
    timing = TimingSink(sink, counter)
    options = MqttOptions(
        url=job.url,
        client_id=job.client_id,
        topic_filters=(f"lhos/{job.site}/#",),
        shared_group=job.shared_group,
        receive_maximum=job.receive_maximum,
        queue_capacity=job.queue_capacity,
        session_expiry_seconds=10,
    )
    tuning = WorkerOptions(batch_size=job.batch_size, batch_wait_seconds=job.batch_wait_ms / 1000)
    worker = MqttWorker(MqttClient(options), [JsonTopicDecoder([job.site])], timing, tuning)
    halt = threading.Event()
    thread = threading.Thread(target=worker.run, args=(halt,), daemon=True)
    thread.start()
    if worker.client.ready.wait(15):
        ready.set()
    cpu = time.process_time()
    stop.wait()
    halt.set()
    thread.join(30)
    close = getattr(sink, "close", None)
    if callable(close):
        close()
    out.put(
        {
            "latencies": timing.latencies.tobytes(),
            "last_return": timing.last_return,
            "cpu": time.process_time() - cpu,
            "accepted": timing.accepted,
            "rejected": timing.rejected,
            "letters": timing.letters,
            "batches": worker.stats.batches,
            "skipped_ids": worker.client.skipped_ids,
            "high_water": worker.client.intake.high_water,
        }
    )


# -- publishers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishJob:
    url: str
    site: str
    per_message: int
    first: int  # this publisher sends sequence numbers first, first + stride, …
    stride: int
    count: int
    rate: float  # messages/s for this publisher; 0 = as fast as possible
    connections: int
    ts_base: float


def _topic_and_body(job: PublishJob, seq: int, now: float) -> tuple[str, bytes]:
    ts = job.ts_base + seq * 1e-6  # unique per point: the store keeps every one
    if job.per_message == 1:
        body = orjson.dumps({"ts": ts, "value": now})
        return f"lhos/{job.site}/bench/t{seq % 10}", body
    return f"lhos/{job.site}/bench", orjson.dumps({"ts": ts, "values": dict.fromkeys(TAGS, now)})


# The publishers write MQTT 5 bytes themselves: paho's `publish()` costs more CPU per message
# than the worker under test, and on 2 cores the load generator would take the worker's CPU.
# Only what a QoS 1 publisher needs: CONNECT, PUBLISH, DISCONNECT out; CONNACK, PUBACK in.
PACKET_ID_MAX = 65_535
CONNACK, PUBACK = 2, 4
DISCONNECT_PACKET = b"\xe0\x00"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        value, digit = divmod(value, 128)
        out.append(digit | 0x80 if value else digit)
        if not value:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def _connect_packet(client_id: str) -> bytes:
    # Protocol "MQTT" level 5, clean start, keep-alive 60 s, no properties, then the client id.
    body = _utf8("MQTT") + b"\x05\x02\x00\x3c\x00" + _utf8(client_id)
    return b"\x10" + _varint(len(body)) + body


def _publish_packet(topic: bytes, payload: bytes, packet_id: int) -> bytes:
    # QoS 1 (0x32): topic (length-prefixed), packet id, no properties, payload.
    body = topic + packet_id.to_bytes(2, "big") + b"\x00" + payload
    return b"\x32" + _varint(len(body)) + body


class _PacketStream:
    """Cuts (packet type, body) pairs out of the bytes a broker sends a publisher."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buffer += data
        found, pos, buf = [], 0, self.buffer
        while pos + 2 <= len(buf):
            length, shift, cursor = 0, 0, pos + 1
            while cursor < len(buf):
                byte = buf[cursor]
                length |= (byte & 0x7F) << shift
                shift, cursor = shift + 7, cursor + 1
                if not byte & 0x80:
                    break
            else:
                break  # the length itself is cut short
            if cursor + length > len(buf):
                break
            found.append((buf[pos] >> 4, bytes(buf[cursor : cursor + length])))
            pos = cursor + length
        del buf[:pos]
        return found


class _Publisher:
    """One MQTT 5 connection that keeps up to the broker's Receive Maximum QoS 1 in flight."""

    def __init__(self, url: str) -> None:
        address = BrokerAddress.from_url(url)
        self.sock = socket.create_connection((address.host, address.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(_connect_packet(f"pub-{uuid.uuid4().hex[:10]}"))
        self.stream = _PacketStream()
        found: list[tuple[int, bytes]] = []
        while not found:
            found = self.stream.feed(self.sock.recv(4096))
        kind, body = found[0]
        if kind != CONNACK or body[1] >= 0x80:
            raise RuntimeError(f"publisher refused: packet type {kind}, reason {body[1:2]!r}")
        properties = Properties(PacketTypes.CONNACK)  # type: ignore[no-untyped-call]
        properties.unpack(body[2:])  # type: ignore[no-untyped-call]
        self.window = int(getattr(properties, "ReceiveMaximum", PACKET_ID_MAX))
        self.inflight = 0
        self.next_id = 1
        self.topics: dict[str, bytes] = {}

    def send(self, messages: list[tuple[str, bytes]]) -> None:
        out = []
        for topic, body in messages:
            encoded = self.topics.get(topic)
            if encoded is None:
                encoded = self.topics[topic] = _utf8(topic)
            out.append(_publish_packet(encoded, body, self.next_id))
            self.next_id = self.next_id % PACKET_ID_MAX + 1
        self.sock.sendall(b"".join(out))
        self.inflight += len(messages)

    def receive(self) -> tuple[int, int]:
        """(PUBACKs read, of which refused)."""
        chunk = self.sock.recv(262144)
        if not chunk:
            raise RuntimeError("the broker closed a publisher connection")
        acked = refused = 0
        for kind, body in self.stream.feed(chunk):
            if kind == PUBACK:
                acked += 1
                refused += len(body) > 2 and body[2] >= 0x80
        self.inflight -= acked
        return acked, refused


def run_publisher(job: PublishJob, out: Any) -> None:
    """Publisher process: send `count` messages at `rate`, wait for every PUBACK, report."""
    links = [_Publisher(job.url) for _ in range(job.connections)]
    by_socket = {link.sock: link for link in links}
    cpu, started = time.process_time(), time.time()
    sent = acked = refused = 0
    while acked < job.count:
        due = job.count
        if job.rate > 0:
            due = min(job.count, int((time.time() - started) * job.rate) + 1)
        for link in links:
            room = min(link.window - link.inflight, due - sent)
            if room > 0:
                now = time.time()
                seqs = [job.first + (sent + k) * job.stride for k in range(room)]
                link.send([_topic_and_body(job, seq, now) for seq in seqs])
                sent += room
        wait = 0.002 if sent < job.count else 0.05
        for sock in select.select(list(by_socket), [], [], wait)[0]:
            got, bad = by_socket[sock].receive()
            acked, refused = acked + got, refused + bad
    finished = time.time()
    for link in links:
        link.sock.sendall(DISCONNECT_PACKET)
        link.sock.close()
    out.put(
        {
            "sent": sent,
            "refused": refused,
            "started": started,
            "finished": finished,
            "cpu": time.process_time() - cpu,
        }
    )


# -- coordinator ------------------------------------------------------------------------------


def _broker_cpu() -> float:
    """CPU seconds used so far by local processes named mosquitto (0 if none is visible)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "mosquitto":
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


@dataclass
class Run:
    per_message: int
    rate: float  # offered points/s; 0 = max
    messages: int


def run_scenario(args: argparse.Namespace, run: Run, ts_base: float, store: dict[str, Any]) -> None:
    """Start the workers, publish, wait for every point (or for silence), print one line."""
    site = store.get("site") or f"bench{uuid.uuid4().hex[:8]}"
    tag = uuid.uuid4().hex[:8]
    group = f"bench-{tag}" if args.workers > 1 else None
    counters = [CTX.Value("q", 0) for _ in range(args.workers)]
    stop, results = CTX.Event(), CTX.Queue()
    workers, readies = [], []
    for index in range(args.workers):
        job = WorkerJob(
            args.url,
            f"bench-{tag}-{index}",
            site,
            group,
            args.sink,
            store.get("data_dir"),
            store.get("timeseries_url"),
            args.batch_size,
            args.batch_wait_ms,
            args.receive_maximum,
            args.queue_capacity,
        )
        ready = CTX.Event()
        process = CTX.Process(target=run_worker, args=(job, counters[index], ready, stop, results))
        process.start()
        workers.append(process)
        readies.append(ready)
    if not all(r.wait(30) for r in readies):
        raise SystemExit("a worker did not subscribe within 30 s")

    publishers, published = [], CTX.Queue()
    rate_msgs = run.rate / run.per_message / args.publishers if run.rate else 0.0
    for p in range(args.publishers):
        count = len(range(p, run.messages, args.publishers))
        job_p = PublishJob(
            args.url, site, run.per_message, p, args.publishers, count, rate_msgs,
            args.connections, ts_base,
        )  # fmt: skip
        publishers.append(CTX.Process(target=run_publisher, args=(job_p, published)))
    load_before, broker_before = _load(), _broker_cpu()
    for process in publishers:
        process.start()
    pub = [published.get() for _ in publishers]
    for process in publishers:
        process.join()
    expected = run.messages * run.per_message
    seen, quiet_since = -1, time.monotonic()
    while (total := sum(c.value for c in counters)) < expected:
        if total != seen:
            seen, quiet_since = total, time.monotonic()
        elif time.monotonic() - quiet_since > args.idle_timeout:
            break
        time.sleep(0.1)
    broker_cpu = _broker_cpu() - broker_before
    stop.set()
    outs = [results.get(timeout=60) for _ in workers]
    for process in workers:
        process.join(30)
    _print(run, pub, outs, expected, broker_cpu, load_before)


def _print(
    run: Run,
    pub: list[dict[str, Any]],
    outs: list[dict[str, Any]],
    expected: int,
    broker_cpu: float,
    load_before: str,
) -> None:
    latencies = np.concatenate([np.frombuffer(o["latencies"], dtype=np.float64) for o in outs])
    points = len(latencies)
    first = min(p["started"] for p in pub)
    elapsed = max(o["last_return"] for o in outs) - first if points else float("nan")
    pps = points / elapsed if points else 0.0
    lat_ms = latencies * 1000 if points else np.array([float("nan")])
    p50, p99 = np.percentile(lat_ms, [50, 99])
    lost = expected - points
    offered = f"{run.rate:,.0f}" if run.rate else "max"
    publish_s = max(p["finished"] for p in pub) - first
    sustained = ""
    if run.rate:  # kept the pace (within 10 %), lost nothing, p99 under 2 s
        on_time = publish_s <= 1.1 * run.messages * run.per_message / run.rate + 0.2
        ok = lost == 0 and on_time and p99 < 2000
        why = "" if on_time else " (the publishers fell behind the pace)"
        sustained = "  SUSTAINED" if ok else f"  not sustained{why}"
    per_point = 1e6 / max(points, 1)
    print(
        f"{run.per_message:>2}-point msgs, offered {offered:>7} points/s: "
        f"{points:,}/{expected:,} points in {elapsed:.2f} s = {pps:,.0f} points/s "
        f"({pps / run.per_message:,.0f} msg/s; publish took {publish_s:.2f} s); "
        f"latency p50 {p50:,.0f} ms p99 {p99:,.0f} ms max {lat_ms.max():,.0f} ms; "
        f"lost {lost:,} points (broker skipped {sum(o['skipped_ids'] for o in outs):,} msg ids, "
        f"refused {sum(p['refused'] for p in pub)}); "
        f"CPU us/point: workers {sum(o['cpu'] for o in outs) * per_point:.1f}, "
        f"publishers {sum(p['cpu'] for p in pub) * per_point:.1f}, "
        f"broker {broker_cpu * per_point:.1f}; "
        f"stored {sum(o['accepted'] for o in outs):,}, rejected "
        f"{sum(o['rejected'] for o in outs)}, dead letters {sum(o['letters'] for o in outs)}; "
        f"{sum(o['batches'] for o in outs)} batches; load {load_before} -> {_load()}{sustained}",
        flush=True,
    )


# -- setup ------------------------------------------------------------------------------------


def _seed(args: argparse.Namespace) -> dict[str, Any]:
    """For `--sink real`: a fresh data folder with site `bench` and tags bench/t0 … bench/t9."""
    from lighthouse_os.assets import service as assets
    from lighthouse_os.auth import tenants as auth
    from lighthouse_os.bootstrap import initialise
    from lighthouse_os.db.engine import make_engine, make_session_factory
    from lighthouse_os.settings import Settings

    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="bench-mqtt-"))
    timeseries_url = None
    if args.backend == "postgres":
        timeseries_url = _create_database(args.pg_server)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=data_dir, secret_key=SECRET, timeseries_url=timeseries_url
    )
    initialise(settings)
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        auth.create_org(session, name="Bench", kind="manufacturer", code="bench-org")
        site = auth.create_site(
            session, org_ref="bench-org", data=auth.SiteInput("Bench", "2592", code=SITE)
        )
        yaml = "nodes:\n  - {path: bench, level: line}\ntags:\n" + "".join(
            f"  - {{path: bench/{t}, unit: kW, kind: gauge}}\n" for t in TAGS
        )
        assets.import_assets(session, site, assets.rows_from_file("b.yaml", yaml.encode()))
    engine.dispose()
    return {"site": SITE, "data_dir": str(data_dir), "timeseries_url": timeseries_url}


def _create_database(server: str) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"lhos_bench_{uuid.uuid4().hex[:10]}"
    admin = make_url(server).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(server).set(database=name).render_as_string(False)


def _drop_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


# What docs/telemetry.md recommends to operators, for `--private-broker`.
PRIVATE_BROKER_CONF = """listener {port} 127.0.0.1
allow_anonymous true
max_queued_messages 1000000
max_inflight_messages 1000
user {user}
log_dest none
"""


def _private_broker() -> tuple[str, subprocess.Popen[bytes]]:
    """Start a Mosquitto of our own with the recommended limits on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    conf = Path(tempfile.mkdtemp(prefix="bench-mosquitto-")) / "mosquitto.conf"
    conf.write_text(PRIVATE_BROKER_CONF.format(port=port, user=getpass.getuser()))
    process = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return f"mqtt://127.0.0.1:{port}", process
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the private mosquitto did not start")


def _runs(args: argparse.Namespace) -> list[Run]:
    runs = []
    for size in (int(s) for s in args.sizes.split(",")):
        for rate_text in args.rates.split(","):
            rate = 0.0 if rate_text == "max" else float(rate_text)
            points = args.max_points if rate == 0 else int(rate * args.seconds)
            runs.append(Run(size, rate, max(points // size, 1)))
    return runs


def main() -> None:
    """Parse options, print the machine, run every (message size, offered rate)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("LHOS_MQTT_URL", "mqtt://127.0.0.1:1883"))
    parser.add_argument("--sink", choices=["null", "real"], default="null")
    parser.add_argument("--backend", choices=["duckdb", "postgres"], default="duckdb")
    parser.add_argument(
        "--pg-server",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="for --backend postgres: a fresh database is created there and dropped after",
    )
    parser.add_argument("--data-dir", default=None, help="for --sink real (default: a temp dir)")
    parser.add_argument("--workers", type=int, default=1, help=">1: a shared subscription")
    parser.add_argument("--publishers", type=int, default=2, help="publisher processes")
    parser.add_argument("--connections", type=int, default=4, help="per publisher")
    parser.add_argument("--sizes", default="1,10", help="points per message")
    parser.add_argument("--rates", default="max,20000,50000,100000", help="points/s or max")
    parser.add_argument("--seconds", type=float, default=5, help="length of a paced run")
    parser.add_argument("--max-points", type=int, default=200_000, help="points of a max run")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--batch-wait-ms", type=int, default=50)
    parser.add_argument("--receive-maximum", type=int, default=5000)
    parser.add_argument("--queue-capacity", type=int, default=10000)
    parser.add_argument("--idle-timeout", type=float, default=5)
    parser.add_argument(
        "--private-broker",
        action="store_true",
        help="start a Mosquitto of our own with the limits docs/telemetry.md recommends",
    )
    args = parser.parse_args()
    broker = None
    if args.private_broker:
        args.url, broker = _private_broker()
    if args.sink == "real" and args.backend == "duckdb" and args.workers > 1:
        parser.error("DuckDB allows one writing process: use --backend postgres for --workers > 1")
    print(
        f"bench_mqtt_ingest: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"broker {args.url}{' (private)' if broker else ''}, sink {args.sink}"
        f"{f' ({args.backend})' if args.sink == 'real' else ''}, {args.workers} worker(s), "
        f"{args.publishers} publisher(s) x {args.connections} connections, QoS 1, "
        f"batch {args.batch_size}/{args.batch_wait_ms} ms, receive maximum "
        f"{args.receive_maximum}, queue {args.queue_capacity}; load {_load()}",
        flush=True,
    )
    store = _seed(args) if args.sink == "real" else {}
    ts_base = float(int(time.time()) - 86_400)
    try:
        for run in _runs(args):
            run_scenario(args, run, ts_base, store)
            ts_base += 100.0  # the next run's stamps never meet this one's (< 1e8 points)
    finally:
        if store.get("timeseries_url"):
            _drop_database(store["timeseries_url"])
        if broker is not None:
            broker.terminate()
            broker.wait(10)


if __name__ == "__main__":
    main()
