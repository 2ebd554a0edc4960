"""Typer commands `lhos ingest mqtt` and `lhos ingest opcua`: long-running ingestion workers.

The sink comes from `SINK_FACTORY` when a composition root sets it (tests, embedding), else
from `lighthouse_os.telemetry.service.build_sink`, imported only when a command runs. Protocol
code (paho-mqtt, asyncua) is imported inside the commands too, so `lhos --help` is fast.
SIGTERM and SIGINT stop a worker gracefully: flush, acknowledge, disconnect.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from lighthouse_os.errors import InvalidInput
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.points import TelemetrySink

if TYPE_CHECKING:
    from lighthouse_os.telemetry.sources.decoder import MessageDecoder
    from lighthouse_os.telemetry.sources.mqtt.client import MqttOptions
    from lighthouse_os.telemetry.sources.opcua.catalog import NodeMap
    from lighthouse_os.telemetry.sources.opcua.source import OpcUaOptions, OpcUaStats
    from lighthouse_os.telemetry.worker import WorkerOptions, WorkerStats

SinkFactory = Callable[[Settings], TelemetrySink]
# Set by a composition root to replace the default sink (e.g. a test's fake of our interface).
SINK_FACTORY: SinkFactory | None = None

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data folder (LHOS_DATA_DIR).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the final counters as JSON.")]


def _settings(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def open_sink(settings: Settings) -> TelemetrySink:
    """`SINK_FACTORY(settings)`, or the platform's sink when no factory was set."""
    factory = SINK_FACTORY
    if factory is None:
        from lighthouse_os.telemetry.service import build_sink

        factory = build_sink
    return factory(settings)


def _close(sink: TelemetrySink) -> None:
    close = getattr(sink, "close", None)
    if callable(close):
        close()


def _logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        # asyncua narrates every connect and request at INFO; our sources log what matters.
        logging.getLogger("asyncua").setLevel(logging.WARNING)


@contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Call `stop` on SIGTERM or SIGINT while the block runs; restore the handlers after."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _report(stats: WorkerStats | OpcUaStats, as_json: bool) -> None:
    counters = asdict(stats)
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(counters, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        typer.echo(" ".join(f"{k}={v}" for k, v in counters.items()))


def mqtt_decoders(
    *,
    lhos_topics: bool = True,
    sites: Sequence[str] = (),
    sparkplug: bool = False,
    sparkplug_group: str | None = None,
    sparkplug_map: Path | None = None,
) -> list[MessageDecoder]:
    """The decoders a worker runs, in topic-matching order."""
    from lighthouse_os.telemetry.sources.mqtt.source import JsonTopicDecoder
    from lighthouse_os.telemetry.sources.sparkplug.source import SparkplugDecoder, load_mapping

    decoders: list[MessageDecoder] = []
    try:
        if lhos_topics:
            decoders.append(JsonTopicDecoder(sites))
        if sparkplug:
            mapping = load_mapping(sparkplug_map) if sparkplug_map is not None else None
            decoders.append(SparkplugDecoder(mapping, group=sparkplug_group))
    except ValueError as err:
        raise InvalidInput(str(err)) from err
    if not decoders:
        raise InvalidInput("nothing to subscribe to: enable lhos topics or --sparkplug")
    return decoders


def build_mqtt_options(
    url: str,
    client_id: str,
    decoders: Sequence[MessageDecoder],
    *,
    shared_group: str | None = None,
    receive_maximum: int = 5000,
    queue_capacity: int = 10000,
    session_expiry_seconds: int = 86400,
) -> MqttOptions:
    """Client options; refuses Sparkplug behind a shared group (births would be split)."""
    from lighthouse_os.telemetry.sources.mqtt.client import MqttOptions

    if shared_group and any(d.source == "sparkplug" for d in decoders):
        raise InvalidInput("Sparkplug needs all of a group in one worker: drop --shared-group")
    try:
        return MqttOptions(
            url=url,
            client_id=client_id,
            topic_filters=tuple(f for d in decoders for f in d.topic_filters),
            shared_group=shared_group,
            receive_maximum=receive_maximum,
            queue_capacity=queue_capacity,
            session_expiry_seconds=session_expiry_seconds,
        )
    except ValueError as err:
        raise InvalidInput(str(err)) from err


def ingest_mqtt(
    url: Annotated[str | None, typer.Option(help="Broker URL (LHOS_MQTT_URL).")] = None,
    client_id: Annotated[
        str, typer.Option(help="Stable id: the broker keeps this worker's session.")
    ] = f"lhos-ingest-{socket.gethostname()}",
    shared_group: Annotated[
        str | None, typer.Option(help="Share the load with other workers ($share/<group>/…).")
    ] = None,
    site: Annotated[list[str] | None, typer.Option(help="Only lhos/<site>/# (repeat).")] = None,
    # A batch can only fill from messages the broker sends unacknowledged, so the receive
    # maximum must exceed the batch size (docs/telemetry.md, "MQTT ingest": tuning).
    batch_size: Annotated[int, typer.Option(help="Messages per write.")] = 2000,
    batch_wait_ms: Annotated[int, typer.Option(help="Longest wait to fill a batch.")] = 50,
    receive_maximum: Annotated[int, typer.Option(help="Unacked messages in flight.")] = 5000,
    queue_capacity: Annotated[int, typer.Option(help="In-memory queue bound.")] = 10000,
    session_expiry: Annotated[int, typer.Option(help="Broker keeps the session (s).")] = 86400,
    lhos_topics: Annotated[bool, typer.Option(help="Subscribe lhos/… (JSON).")] = True,
    sparkplug: Annotated[bool, typer.Option(help="Subscribe spBv1.0/… (Sparkplug B).")] = False,
    sparkplug_group: Annotated[str | None, typer.Option(help="Only this group.")] = None,
    sparkplug_map: Annotated[Path | None, typer.Option(help="YAML: sites: {group: site}.")] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Ingest MQTT JSON (lhos/<site>/<tag>) and Sparkplug B until SIGTERM/SIGINT."""
    from lighthouse_os.telemetry.worker import WorkerOptions

    _logging()
    settings = _settings(data_dir)
    broker = url or settings.mqtt_url
    if not broker:
        raise InvalidInput("no broker: pass --url or set LHOS_MQTT_URL")
    decoders = mqtt_decoders(
        lhos_topics=lhos_topics,
        sites=site or (),
        sparkplug=sparkplug,
        sparkplug_group=sparkplug_group,
        sparkplug_map=sparkplug_map,
    )
    options = build_mqtt_options(
        broker,
        client_id,
        decoders,
        shared_group=shared_group,
        receive_maximum=receive_maximum,
        queue_capacity=queue_capacity,
        session_expiry_seconds=session_expiry,
    )
    tuning = WorkerOptions(batch_size=batch_size, batch_wait_seconds=batch_wait_ms / 1000)
    _report(run_mqtt(options, decoders, tuning, settings), as_json)


def run_mqtt(
    options: MqttOptions,
    decoders: Sequence[MessageDecoder],
    tuning: WorkerOptions,
    settings: Settings,
) -> WorkerStats:
    """Run one MQTT worker in this thread until SIGTERM/SIGINT; return its counters."""
    from lighthouse_os.telemetry.sources.mqtt.client import MqttClient
    from lighthouse_os.telemetry.worker import MqttWorker

    sink = open_sink(settings)
    stop = threading.Event()
    try:
        worker = MqttWorker(MqttClient(options), decoders, sink, tuning)
        with stop_on_signals(stop.set):
            return worker.run(stop)
    finally:
        _close(sink)


def ingest_opcua(
    endpoint: Annotated[str, typer.Option(help="Server, e.g. opc.tcp://plc:4840/.")],
    map_file: Annotated[Path, typer.Option("--map", help="YAML node map: node → site + tag.")],
    batch_size: Annotated[int, typer.Option(help="Points per write.")] = 1000,
    flush_ms: Annotated[int, typer.Option(help="Longest wait before a write.")] = 1000,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Subscribe to the mapped OPC UA nodes and ingest their changes until SIGTERM/SIGINT."""
    from lighthouse_os.telemetry.sources.opcua.catalog import NodeMapError, load_node_map
    from lighthouse_os.telemetry.sources.opcua.source import OpcUaOptions

    _logging()
    try:
        node_map = load_node_map(map_file)
    except (NodeMapError, OSError) as err:
        raise InvalidInput(str(err)) from err
    options = OpcUaOptions(batch_size=batch_size, flush_seconds=flush_ms / 1000)
    _report(run_opcua(endpoint, node_map, options, _settings(data_dir)), as_json)


def run_opcua(
    endpoint: str, node_map: NodeMap, options: OpcUaOptions, settings: Settings
) -> OpcUaStats:
    """Run one OPC UA source until SIGTERM/SIGINT; return its counters."""
    from lighthouse_os.telemetry.sources.opcua.source import OpcUaSource

    sink = open_sink(settings)

    async def main() -> OpcUaStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        return await OpcUaSource(endpoint, node_map, sink, options).run(stop)

    try:
        return asyncio.run(main())
    finally:
        _close(sink)
