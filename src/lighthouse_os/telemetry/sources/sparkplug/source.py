"""Sparkplug B host logic: births, aliases, deaths and sequence checks, as site batches.

Mapping: the site is the group id, unless the mapping file renames it
(`sites: {<group id>: <site code>}`); the tag is `<edge node>/<metric name>` for node metrics
and `<edge node>/<device>/<metric name>` for device metrics.

State: each edge node and device gets a `<prefix>/_state` point: 1 online (birth), 0 offline
(death), 2 suspect (sequence gap). An NDEATH counts only when its bdSeq equals the bdSeq of the
node's current NBIRTH (spec §7.1); an older one, e.g. a late will message, is ignored.

Sequence (spec §6.4.19, 0..255 wrapping, one counter per edge node across its devices): a gap
is dead-lettered with the payload, the node turns suspect until its next NBIRTH, and the data
is still stored. We do not publish the NCMD "Node Control/Rebirth" request (we never publish),
so DATA from a node whose birth we missed (e.g. after a worker restart) cannot be resolved and
is dead-lettered with its payload, to be replayed once the node rebirths. The decoder keeps
per-node state, so one worker must see all messages of a group: no shared subscription.
STATE, NCMD and DCMD messages carry no measurements and yield nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from lighthouse_os.telemetry.points import RawPoint
from lighthouse_os.telemetry.sources.decoder import Decoded, InboundMessage, Problem, SiteBatch
from lighthouse_os.telemetry.sources.sparkplug import catalog
from lighthouse_os.telemetry.sources.sparkplug.client import (
    NAMESPACE,
    SEQ_MODULUS,
    MessageType,
    Metric,
    Payload,
    SparkplugError,
    SparkplugTopic,
    decode_payload,
    parse_topic,
)

_log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_TELEMETRY = frozenset({MessageType.STATE, MessageType.NCMD, MessageType.DCMD})


@dataclass(frozen=True, slots=True)
class SparkplugMapping:
    """Group id → site code; a group not listed is a site code itself."""

    sites: Mapping[str, str] = field(default_factory=dict)

    def site_for(self, group: str) -> str:
        """The site code for a Sparkplug group id."""
        return self.sites.get(group, group)


def load_mapping(path: Path) -> SparkplugMapping:
    """Read `sites: {<group id>: <site code>}` from a YAML file."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sites = document.get("sites", {}) if isinstance(document, dict) else None
    if not isinstance(sites, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in sites.items()
    ):
        raise ValueError(f"{path}: expected 'sites:' mapping group ids to site codes")
    return SparkplugMapping(sites=dict(sites))


def epoch_ms(ms: int | None) -> datetime | None:
    """An aware UTC datetime from Sparkplug's milliseconds since the Unix epoch."""
    return None if ms is None else _EPOCH + timedelta(milliseconds=ms)


@dataclass(slots=True)
class _Registry:
    """The birth certificate of one edge node or device: names, aliases and datatypes."""

    by_alias: dict[int, tuple[str, int]] = field(default_factory=dict)
    by_name: dict[str, int] = field(default_factory=dict)
    online: bool = True

    def resolve(self, metric: Metric) -> tuple[str, int] | None:
        if metric.alias is not None and metric.alias in self.by_alias:
            return self.by_alias[metric.alias]
        if metric.name is not None and metric.name in self.by_name:
            return metric.name, self.by_name[metric.name]
        return None


@dataclass(slots=True)
class _EdgeNode:
    bd_seq: int | None
    seq: int
    metrics: _Registry
    devices: dict[str, _Registry] = field(default_factory=dict)
    online: bool = True
    suspect: bool = False


@dataclass(slots=True)
class _Out:
    """What one message yields, built up while it is handled."""

    topic: SparkplugTopic
    payload: Payload
    message: InboundMessage
    site: str
    points: list[RawPoint] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def node_prefix(self) -> str:
        return self.topic.edge_node

    @property
    def prefix(self) -> str:
        device = self.topic.device
        return self.topic.edge_node if device is None else f"{self.topic.edge_node}/{device}"

    @property
    def sent_at(self) -> datetime:
        return epoch_ms(self.payload.timestamp_ms) or self.message.received_at

    def problem(self, reason: str) -> None:
        self.problems.append(Problem(reason, self.site))

    def state(self, prefix: str, value: int, at: datetime) -> None:
        self.points.append(RawPoint(tag=f"{prefix}/{catalog.STATE_TAG}", ts=at, value=value))

    def result(self) -> Decoded:
        batches = (SiteBatch(self.site, tuple(self.points)),) if self.points else ()
        return Decoded(batches=batches, problems=tuple(self.problems))


def _bd_seq(payload: Payload) -> int | None:
    metric = next((m for m in payload.metrics if m.name == catalog.BD_SEQ_METRIC), None)
    return None if metric is None or not isinstance(metric.value, int) else metric.value


def _registry(out: _Out) -> _Registry:
    registry = _Registry()
    for metric in out.payload.metrics:
        if metric.name is None:
            out.problem(f"birth metric without a name (alias {metric.alias})")
            continue
        code = metric.datatype or 0
        registry.by_name[metric.name] = code
        if metric.alias is not None:
            if metric.alias in registry.by_alias:
                out.problem(f"alias {metric.alias} used twice in one birth")
            registry.by_alias[metric.alias] = (metric.name, code)
    return registry


def _value(metric: Metric, name: str, code: int, out: _Out) -> tuple[bool, object]:
    """(ok, value) of one metric; a problem is recorded when the value cannot become a point."""
    kind = catalog.datatype(metric.datatype or code)
    if metric.is_null:
        return True, None
    if kind.value_fn is None:
        out.problem(f"metric {name!r}: datatype {kind.name} cannot be stored as a point")
        return False, None
    if metric.value_field != kind.field:
        out.problem(f"metric {name!r}: datatype {kind.name} but value in {metric.value_field}")
        return False, None
    return True, kind.value_fn(metric.value)


def _points(out: _Out, registry: _Registry) -> None:
    unknown: list[str] = []
    for metric in out.payload.metrics:
        resolved = registry.resolve(metric)
        if resolved is None:
            unknown.append(metric.name or f"alias {metric.alias}")
            continue
        name, code = resolved
        if name == catalog.BD_SEQ_METRIC or name.startswith(catalog.CONTROL_PREFIX):
            continue
        if metric.is_transient:  # spec: a host application must not store transient metrics
            continue
        ok, value = _value(metric, name, code, out)
        if ok:
            ts = epoch_ms(metric.timestamp_ms or out.payload.timestamp_ms)
            out.points.append(RawPoint(tag=f"{out.prefix}/{name}", ts=ts, value=value))
    if unknown:
        out.problem(f"metrics not in the birth certificate: {', '.join(unknown)}")


class SparkplugDecoder:
    """A stateful `MessageDecoder` acting as a Sparkplug B host application that only listens."""

    source = "sparkplug"

    def __init__(
        self, mapping: SparkplugMapping | None = None, *, group: str | None = None
    ) -> None:
        self.mapping = mapping or SparkplugMapping()
        scope = f"{group}/#" if group else "#"
        self.topic_filters: tuple[str, ...] = (f"{NAMESPACE}/{scope}",)
        self._nodes: dict[tuple[str, str], _EdgeNode] = {}

    def accepts(self, topic: str) -> bool:
        """Topics in the Sparkplug B namespace."""
        return topic.startswith(f"{NAMESPACE}/")

    def state(self, group: str, edge_node: str, device: str | None = None) -> int | None:
        """ONLINE, OFFLINE or SUSPECT for a node or device seen so far; None if never born."""
        node = self._nodes.get((group, edge_node))
        if node is None:
            return None
        if device is not None:
            registry = node.devices.get(device)
            return None if registry is None else int(registry.online and node.online)
        if not node.online:
            return catalog.OFFLINE
        return catalog.SUSPECT if node.suspect else catalog.ONLINE

    def decode(self, message: InboundMessage) -> Decoded:
        """Update the host state from one message and return its points and problems."""
        try:
            topic = parse_topic(message.topic)
        except SparkplugError as err:
            return Decoded.bad(str(err))
        if topic.message_type in _NOT_TELEMETRY:
            return Decoded()
        site = self.mapping.site_for(topic.group)
        try:
            payload = decode_payload(message.payload)
        except SparkplugError as err:
            return Decoded.bad(str(err), site)
        out = _Out(topic, payload, message, site)
        self._handle(out)
        return out.result()

    def _handle(self, out: _Out) -> None:
        kind = out.topic.message_type
        if kind is MessageType.NBIRTH:
            self._nbirth(out)
        elif kind is MessageType.NDEATH:
            self._ndeath(out)
        else:
            node = self._live_node(out)
            if node is not None:
                self._sequence(node, out)
                self._device_message(node, out)

    def _nbirth(self, out: _Out) -> None:
        bd_seq, seq = _bd_seq(out.payload), out.payload.seq
        if bd_seq is None:
            out.problem("NBIRTH without an integer bdSeq metric; its NDEATH cannot be matched")
        if seq is None or seq >= SEQ_MODULUS:
            out.problem(f"NBIRTH seq {seq} is not 0..255")
            seq = 0
        node = _EdgeNode(bd_seq=bd_seq, seq=seq, metrics=_registry(out))
        self._nodes[(out.topic.group, out.topic.edge_node)] = node
        _log.info("NBIRTH %s/%s bdSeq=%s", out.topic.group, out.topic.edge_node, bd_seq)
        out.state(out.node_prefix, catalog.ONLINE, out.sent_at)
        _points(out, node.metrics)

    def _ndeath(self, out: _Out) -> None:
        node = self._nodes.get((out.topic.group, out.topic.edge_node))
        bd_seq = _bd_seq(out.payload)
        if node is None or not node.online or (node.bd_seq is not None and bd_seq != node.bd_seq):
            _log.info(
                "ignoring NDEATH %s/%s bdSeq=%s", out.topic.group, out.topic.edge_node, bd_seq
            )
            return
        # The will message was built at connect time: its timestamp is not the time of death.
        at = out.message.received_at
        node.online = False
        out.state(out.node_prefix, catalog.OFFLINE, at)
        for device, registry in node.devices.items():
            if registry.online:
                registry.online = False
                out.state(f"{out.node_prefix}/{device}", catalog.OFFLINE, at)

    def _live_node(self, out: _Out) -> _EdgeNode | None:
        node = self._nodes.get((out.topic.group, out.topic.edge_node))
        if node is None or not node.online:
            out.problem(
                f"{out.topic.message_type} from edge node {out.topic.group}/{out.topic.edge_node}"
                " without a current NBIRTH; stored once the node rebirths and this is replayed"
            )
            return None
        return node

    def _sequence(self, node: _EdgeNode, out: _Out) -> None:
        seq, expected = out.payload.seq, (node.seq + 1) % SEQ_MODULUS
        if seq == expected:
            node.seq = seq
            return
        if seq is None or seq >= SEQ_MODULUS:
            out.problem(f"{out.topic.message_type} seq {seq} is not 0..255")
            return
        if out.message.duplicate:  # a redelivery of a message already counted
            return
        node.seq, node.suspect = seq, True
        out.problem(
            f"sequence gap on edge node {out.topic.group}/{out.topic.edge_node}: expected seq"
            f" {expected}, got {seq}; its data is suspect until the next NBIRTH"
        )
        out.state(out.node_prefix, catalog.SUSPECT, out.message.received_at)

    def _device_message(self, node: _EdgeNode, out: _Out) -> None:
        kind, device = out.topic.message_type, out.topic.device
        if kind is MessageType.NDATA:
            _points(out, node.metrics)
            return
        if device is None:  # parse_topic guarantees a device for D* types
            return
        if kind is MessageType.DBIRTH:
            node.devices[device] = _registry(out)
            out.state(out.prefix, catalog.ONLINE, out.sent_at)
            _points(out, node.devices[device])
            return
        registry = node.devices.get(device)
        if registry is None or not registry.online:
            out.problem(f"{kind} for device {device!r} without a current DBIRTH")
        elif kind is MessageType.DDEATH:
            registry.online = False
            out.state(out.prefix, catalog.OFFLINE, out.sent_at)
        else:
            _points(out, registry)
