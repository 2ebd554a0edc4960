"""OPC UA source: the node map, buffering and retries, and a real asyncua server that restarts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asyncua import Server, ua

from lighthouse_os.errors import InvalidInput
from lighthouse_os.telemetry.points import IngestResult, RawPoint
from lighthouse_os.telemetry.sources.opcua.catalog import (
    NodeDescription,
    NodeMapError,
    load_node_map,
    parse_node_map,
)
from lighthouse_os.telemetry.sources.opcua.client import DataChange
from lighthouse_os.telemetry.sources.opcua.source import OpcUaOptions, OpcUaSource
from tests.telemetry.sources.sources_fakes import FakeSink, SinkDown

T = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
NS_URI = "urn:lighthouse-os:test"


def node_map(*nodes: dict[str, object], interval: int = 100) -> dict[str, object]:
    return {"publishing_interval_ms": interval, "nodes": list(nodes)}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "expected a 'nodes:' list"),
        ({"nodes": []}, "'nodes' is empty"),
        ({"nodes": ["x"]}, r"nodes\[0\]: expected a mapping"),
        ({"nodes": [{"node": "ns=2;s=a", "site": "s"}]}, r"nodes\[0\]: 'tag' must be"),
        ({"nodes": [{"node": "ns=2;s=a", "site": "s", "tag": "t", "scale": "x"}]}, "'scale'"),
        ({"nodes": [{"node": "ns=2;s=a", "site": "s", "tag": "t", "colour": 1}]}, "colour"),
        (
            {
                "nodes": [
                    {"node": "n", "site": "s", "tag": "a"},
                    {"node": "n", "site": "s", "tag": "b"},
                ]
            },
            "mapped twice",
        ),
        (
            {"publishing_interval_ms": 0, "nodes": [{"node": "n", "site": "s", "tag": "t"}]},
            "positive",
        ),
    ],
)
def test_node_map_names_the_bad_entry(document: object, message: str) -> None:
    with pytest.raises(NodeMapError, match=message):
        parse_node_map(document)


def test_node_map_loads_yaml_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(
        "nodes:\n  - {node: 'ns=2;s=E', site: hcm-01, tag: line1/kwh, scale: 0.001, unit: kWh}\n",
        encoding="utf-8",
    )
    loaded = load_node_map(path)
    assert loaded.publishing_interval_ms == 1000
    assert loaded.nodes == (NodeDescription("ns=2;s=E", "hcm-01", "line1/kwh", 0.001, 0.0, "kWh"),)


@pytest.mark.parametrize(
    ("scale", "offset", "raw", "expected"),
    [
        (0.001, 0.0, 1500, 1.5),
        (1.0, -273.15, 300.0, 300.0 - 273.15),
        (2.0, 0.0, True, True),
        (2.0, 1.0, "text", "text"),
        (1.0, 0.0, 7, 7),
    ],
)
def test_node_value_fn_applies_linear_scale_to_numbers_only(
    scale: float, offset: float, raw: object, expected: object
) -> None:
    node = NodeDescription("n", "s", "t", scale, offset)
    assert (
        node.value_fn(raw) == pytest.approx(expected)
        if isinstance(expected, float)
        else (node.value_fn(raw) == expected)
    )


def change(node_id: str, value: object, *, good: bool = True, status: str = "Good") -> DataChange:
    return DataChange(node_id, value, T, T, status, good)


def _source(sink: FakeSink, **options: object) -> OpcUaSource:
    mapping = parse_node_map(
        node_map(
            {"node": "ns=2;s=A", "site": "s1", "tag": "a", "scale": 10},
            {"node": "ns=2;s=B", "site": "s2", "tag": "b"},
        )
    )
    return OpcUaSource("opc.tcp://unused", mapping, sink, OpcUaOptions(**options))  # type: ignore[arg-type]


def test_source_batches_changes_per_site_and_scales_them() -> None:
    sink = FakeSink()
    source = _source(sink)
    source.on_change(change("ns=2;s=A", 1.5))
    source.on_change(change("ns=2;s=B", 2))
    source.on_change(change("ns=2;s=Z", 9))  # not in the map
    assert asyncio.run(source.flush())
    assert sink.points == {("s1", "a", T): 15.0, ("s2", "b", T): 2}
    assert source.stats.accepted == 2


def test_source_dead_letters_bad_status_changes() -> None:
    sink = FakeSink()
    source = _source(sink)
    source.on_change(change("ns=2;s=A", None, good=False, status="BadSensorFailure"))
    assert asyncio.run(source.flush())
    [letter] = sink.letters
    assert "BadSensorFailure" in letter.reason
    assert (letter.source, letter.site) == ("opcua", "s1")
    assert sink.points == {}


def test_source_keeps_buffer_while_sink_is_down_and_writes_it_later() -> None:
    sink = FakeSink(fail_with=SinkDown("down"))
    source = _source(sink, batch_size=2)
    for i in range(5):
        source.on_change(DataChange("ns=2;s=B", i, T.replace(second=i), T, "Good", True))
    assert not asyncio.run(source.flush())
    sink.fail_with = None
    assert asyncio.run(source.flush())
    assert sorted(v for v in sink.points.values()) == [0, 1, 2, 3, 4]


def test_source_drops_oldest_and_counts_when_buffer_overflows() -> None:
    sink = FakeSink()
    source = _source(sink, buffer_limit=3)
    for i in range(5):
        source.on_change(DataChange("ns=2;s=B", i, T.replace(second=i), T, "Good", True))
    assert source.stats.dropped == 2
    assert asyncio.run(source.flush())
    assert sorted(v for v in sink.points.values()) == [2, 3, 4]


def test_source_dead_letters_points_the_sink_refuses_as_invalid() -> None:
    sink = FakeSink(fail_with=InvalidInput("unknown site"))
    source = _source(sink)
    source.on_change(change("ns=2;s=A", 1.0))
    assert asyncio.run(source.flush())
    [letter] = sink.letters
    assert "unknown site" in letter.reason
    assert b'"tag":"a"' in letter.payload


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _server(port: int) -> tuple[Server, object]:
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/lhos/")
    idx = await server.register_namespace(NS_URI)
    press = await server.nodes.objects.add_object(ua.NodeId("Press1", idx), "Press1")
    energy = await press.add_variable(ua.NodeId("Press1.Energy", idx), "Energy", 0.0)
    await server.start()
    return server, energy


async def _eventually(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


def _run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


@pytest.mark.slow
def test_source_receives_server_values_and_recovers_after_server_restart() -> None:
    port, sink = _free_port(), FakeSink()
    mapping = parse_node_map(
        node_map(
            {"node": "ns=2;s=Press1.Energy", "site": "hcm-01", "tag": "press1/kwh", "scale": 0.001},
            {"node": "ns=2;s=Missing", "site": "hcm-01", "tag": "missing"},
        )
    )
    options = OpcUaOptions(
        flush_seconds=0.05, reconnect_initial_seconds=0.2, reconnect_max_seconds=1.0
    )

    def values_of() -> list[object]:
        return [v for (_, tag, _), v in sink.points.items() if tag == "press1/kwh"]

    async def scenario() -> None:
        server, energy = await _server(port)
        source = OpcUaSource(f"opc.tcp://127.0.0.1:{port}/lhos/", mapping, sink, options)
        stop = asyncio.Event()
        task = asyncio.create_task(source.run(stop))
        try:
            assert await _eventually(lambda: source.connected)
            await energy.write_value(1500.0)  # type: ignore[attr-defined]
            assert await _eventually(lambda: 1.5 in values_of())
            # A restart at the network level: every session and subscription is dropped.
            await server.stop()
            assert await _eventually(lambda: not source.connected)
            await server.start()
            assert await _eventually(lambda: source.stats.sessions == 2)
            await energy.write_value(2500.0)  # type: ignore[attr-defined]
            assert await _eventually(lambda: 2.5 in values_of())
        finally:
            stop.set()
            await task
            await server.stop()

    _run(scenario)
    assert {1.5, 2.5} <= set(values_of())  # both sessions delivered, no value stored twice
    assert {site for site, _, _ in sink.points} == {"hcm-01"}
    assert "missing" not in sink.values("hcm-01")


class BuggySink(FakeSink):
    """Fails, as a bug in validation would, on any batch holding the value 13."""

    def ingest(self, site: str, points: Sequence[RawPoint], *, source: str) -> IngestResult:
        if any(p.value == 13 for p in points):
            raise OverflowError("days=1000000000; must have magnitude <= 999999999")
        return super().ingest(site, points, source=source)


def test_source_sets_aside_a_point_the_sink_keeps_failing_on() -> None:
    sink = BuggySink()
    source = _source(sink, isolate_after=2)
    for i, value in enumerate([1, 13, 3]):
        source.on_change(DataChange("ns=2;s=B", value, T.replace(second=i), T, "Good", True))
    assert not asyncio.run(source.flush())
    assert not asyncio.run(source.flush())  # two data-like failures: the next pass isolates
    assert asyncio.run(source.flush())
    assert sorted(sink.points.values()) == [1, 3]
    [letter] = sink.letters
    assert "OverflowError" in letter.reason
    assert b'"value":13' in letter.payload
    source.on_change(DataChange("ns=2;s=B", 4, T.replace(second=9), T, "Good", True))
    assert asyncio.run(source.flush())  # and back to whole batches
    assert sink.calls[-1] == ("s2", 1, "opcua")


def test_source_keeps_retrying_an_outage_however_long() -> None:
    sink = FakeSink(fail_with=SinkDown("down"))
    source = _source(sink, isolate_after=1)
    source.on_change(change("ns=2;s=B", 2))
    for _ in range(4):
        assert not asyncio.run(source.flush())
    assert sink.letters == []
    sink.fail_with = None
    assert asyncio.run(source.flush())
    assert sink.points == {("s2", "b", T): 2}
