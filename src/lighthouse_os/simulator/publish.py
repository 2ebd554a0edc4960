"""Publish a simulated factory through the real ingestion paths: MQTT, HTTP or the in-process sink.

MQTT: one QoS 1 message per machine and instant on `lhos/<site>/<machine path>` with
`{"ts": ISO 8601, "values": {"state": 1, "good_count": 12, ...}}` (the JSON topic convention).
HTTP: `POST /api/v1/telemetry?site=<site>` with `{"points": [...]}` and a Bearer token.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import attrgetter
from typing import Any, NamedTuple, Protocol

import httpx
import orjson
import yaml

from lighthouse_os.simulator.factory import (
    STATES,
    MachineSpec,
    Point,
    PowerProfile,
    Product,
    pace,
)
from lighthouse_os.telemetry.points import RawPoint, TelemetrySink

BATCH_POINTS = 50_000
# (signal, unit, kind) of every machine tag the simulator publishes, as the KPI engine reads them.
MACHINE_TAGS = (
    ("state", "1", "state"),
    ("good_count", "1", "counter"),
    ("scrap_count", "1", "counter"),
    ("energy_kwh", "kW.h", "counter"),
    ("kvarh", "kvar.h", "counter"),
    ("power_kw", "kW", "gauge"),
)
# Machine types of a generated plant: (asset type, product code, PRI s, scrap share, lot size,
# power). Lots last about four hours, so a 25-minute setup costs about a tenth of the time.
_TYPES = (
    ("cnc", "BRK", 42.0, 0.02, 320, PowerProfile()),
    ("press", "PNL", 9.0, 0.015, 1500, PowerProfile(running_kw=60.0, setup_kw=15.0, idle_kw=12.0)),
    (
        "injection",
        "CAP",
        12.0,
        0.015,
        1100,
        PowerProfile(running_kw=80.0, setup_kw=30.0, idle_kw=25.0),
    ),
    ("packer", "PACK", 6.0, 0.005, 2200, PowerProfile(running_kw=7.5, setup_kw=3.0, idle_kw=2.0)),
)
MACHINES_PER_LINE = 4


def factory_specs(machines: int) -> tuple[MachineSpec, ...]:
    """`machines` machines, four to a line (`line-1/cnc-1` ...). Each makes two variants of one
    product with the same ideal cycle time, so a lot change costs a setup but not a new PRI."""
    if not 1 <= machines <= 500:
        raise ValueError("machines must be between 1 and 500")
    specs = []
    for i in range(machines):
        kind, code, pri, scrap, lot, power = _TYPES[i % len(_TYPES)]
        line = f"line-{i // MACHINES_PER_LINE + 1}"
        variants = (Product(f"{code}-A", pri, scrap), Product(f"{code}-B", pri, scrap))
        speed = 0.86 + 0.02 * (i % 5)
        specs.append(
            MachineSpec(
                line, f"{kind}-{i + 1}", variants, lot_size=lot, speed_factor=speed, power=power
            )
        )
    return tuple(specs)


def asset_type(spec: MachineSpec) -> str:
    """The asset type of a generated machine (`cnc-3` is a `cnc`)."""
    return spec.name.rsplit("-", 1)[0]


def assets_yaml(specs: Sequence[MachineSpec]) -> bytes:
    """The site's lines, machines and tags as an asset file (`lhos assets import`)."""
    lines = sorted({s.line for s in specs})
    nodes: list[dict[str, Any]] = [
        {
            "path": line,
            "level": "line",
            "name": {"vi": f"Dây chuyền {line[5:]}", "en": f"Line {line[5:]}"},
        }
        for line in lines
    ]
    tags: list[dict[str, Any]] = []
    for spec in specs:
        nodes.append({"path": spec.path, "level": "machine", "asset_type": asset_type(spec)})
        for signal, unit, kind in MACHINE_TAGS:
            tag: dict[str, Any] = {"path": f"{spec.path}/{signal}", "unit": unit, "kind": kind}
            if kind == "state":
                tag["states"] = list(STATES)
            tags.append(tag)
    return yaml.safe_dump({"nodes": nodes, "tags": tags}, allow_unicode=True).encode()


# -- publishers ---------------------------------------------------------------------------------


class Publisher(Protocol):
    """Sends a batch of simulated points somewhere; returns how many were accepted (if known)."""

    def send(self, points: Sequence[Point]) -> int | None:
        """Deliver the points (durably, for the sink and HTTP) and return the accepted count."""
        ...

    def close(self) -> None:
        """Flush and disconnect."""
        ...


def _iso(ts: datetime) -> str:
    return ts.isoformat()


@dataclass
class SinkPublisher:
    """Straight into a `TelemetrySink` (the demo's backfill and in-process streaming)."""

    sink: TelemetrySink
    site: str
    source: str = "simulator"

    def send(self, points: Sequence[Point]) -> int | None:
        raw = [RawPoint(p.tag, p.ts, p.value) for p in points]
        return self.sink.ingest(self.site, raw, source=self.source).accepted

    def close(self) -> None:
        return None


@dataclass
class HttpPublisher:
    """POSTs batches to `/api/v1/telemetry`; `client` may be a FastAPI TestClient."""

    base_url: str
    token: str
    site: str
    client: httpx.Client | None = None
    rejected: int = 0

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = httpx.Client(base_url=self.base_url, timeout=30.0)

    def send(self, points: Sequence[Point]) -> int | None:
        body = {"points": [{"tag": p.tag, "ts": _iso(p.ts), "value": p.value} for p in points]}
        client = self.client or httpx.Client(base_url=self.base_url)
        response = client.post(
            "/api/v1/telemetry",
            params={"site": self.site},
            content=orjson.dumps(body),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        if response.status_code != 200:
            raise PublishError(f"HTTP {response.status_code}: {response.text[:200]}")
        answer = response.json()
        self.rejected += len(answer.get("rejected", []))
        return int(answer["accepted"])

    def close(self) -> None:
        if self.client is not None and self.base_url:
            self.client.close()


class PublishError(RuntimeError):
    """The ingestion endpoint refused a batch."""


def machine_messages(site: str, points: Sequence[Point]) -> list[tuple[str, bytes]]:
    """One `lhos/<site>/<machine>` message per machine and instant, `values` keyed by signal."""
    grouped: dict[tuple[str, datetime], dict[str, float]] = defaultdict(dict)
    for p in points:
        machine, _, signal = p.tag.rpartition("/")
        grouped[(machine, p.ts)][signal] = p.value
    return [
        (f"lhos/{site}/{machine}", orjson.dumps({"ts": _iso(ts), "values": values}))
        for (machine, ts), values in grouped.items()
    ]


@dataclass
class MqttPublisher:
    """Publishes with QoS 1 and waits for every PUBACK, so a returned batch reached the broker."""

    url: str
    site: str
    client_id: str = "lhos-simulator"
    _client: Any = field(default=None, init=False)

    def __post_init__(self) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        from lighthouse_os.telemetry.sources.mqtt.client import BrokerAddress

        address = BrokerAddress.from_url(self.url)
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=paho.MQTTv5
        )
        if address.username:
            client.username_pw_set(address.username, address.password)
        if address.tls:
            client.tls_set()
        client.max_inflight_messages_set(1000)
        client.connect(address.host, address.port)
        client.loop_start()
        self._client = client

    def send(self, points: Sequence[Point]) -> int | None:
        infos = [self._client.publish(t, p, qos=1) for t, p in machine_messages(self.site, points)]
        for info in infos:
            info.wait_for_publish(30)
        return None

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


# -- the run loop -------------------------------------------------------------------------------


@dataclass
class RunStats:
    """What a run published."""

    points: int = 0
    batches: int = 0
    accepted: int = 0
    first: datetime | None = None
    last: datetime | None = None


def batches(points: Iterable[Point], size: int = BATCH_POINTS) -> Iterator[list[Point]]:
    """Consecutive points in lists of at most `size`, never splitting one instant."""
    batch: list[Point] = []
    for point in points:
        if len(batch) >= size and point.ts != batch[-1].ts:
            yield batch
            batch = []
        batch.append(point)
    if batch:
        yield batch


def publish(
    points: Iterable[Point],
    publisher: Publisher,
    *,
    stop: threading.Event | None = None,
    on_batch: Callable[[RunStats], None] | None = None,
    size: int = BATCH_POINTS,
) -> RunStats:
    """Send the points in batches until they run out or `stop` is set."""
    return _publish_batches(batches(points, size), publisher, stop=stop, on_batch=on_batch)


class Instant(NamedTuple):
    """All points of one simulated instant, sent together as a gateway sends one scan."""

    ts: datetime
    points: list[Point]


def publish_live(
    points: Iterable[Point],
    publisher: Publisher,
    *,
    stop: threading.Event,
    speed: float = 1.0,
    sleep: Callable[[float], None] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> RunStats:
    """Send each instant's points in one batch as soon as its time comes, until `stop`.

    Grouped before pacing: batching the paced points instead would hold an instant back until
    the next one was due (up to a sample interval), and the dashboard would lag by that much.
    """
    instants = (Instant(ts, list(group)) for ts, group in groupby(points, key=attrgetter("ts")))
    paced = pace(instants, sleep=sleep or sleeper(stop), speed=speed, monotonic=monotonic)
    return _publish_batches((instant.points for instant in paced), publisher, stop=stop)


def _publish_batches(
    groups: Iterable[list[Point]],
    publisher: Publisher,
    *,
    stop: threading.Event | None = None,
    on_batch: Callable[[RunStats], None] | None = None,
) -> RunStats:
    stats = RunStats()
    for batch in groups:
        if stop is not None and stop.is_set():
            break
        accepted = publisher.send(batch)
        stats.points += len(batch)
        stats.batches += 1
        stats.accepted += accepted or 0
        stats.first = stats.first or batch[0].ts
        stats.last = batch[-1].ts
        if on_batch is not None:
            on_batch(stats)
    return stats


def sleeper(stop: threading.Event) -> Callable[[float], None]:
    """A `sleep` that returns early when `stop` is set."""

    def sleep(seconds: float) -> None:
        stop.wait(seconds)

    return sleep


def wall_clock() -> float:
    """`time.monotonic` (a seam for tests)."""
    return time.monotonic()
