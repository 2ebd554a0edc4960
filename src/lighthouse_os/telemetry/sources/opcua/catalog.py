"""The OPC UA node map: which server node feeds which site tag, with an optional linear scale.

Map file (YAML)::

    publishing_interval_ms: 1000      # how often the server sends changes (OPC UA Part 4 §5.13.2)
    nodes:
      - node: "ns=2;s=Line1.Press2.Energy"   # OPC UA node id string (Part 6 §5.3.1.10)
        site: hcm-01
        tag: line1/press2/kwh
        scale: 0.001                  # optional: stored = raw * scale + offset
        offset: 0
        unit: kWh                     # optional, documentation only
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_PUBLISHING_INTERVAL_MS = 1000
_NODE_KEYS = frozenset({"node", "site", "tag", "scale", "offset", "unit"})


class NodeMapError(ValueError):
    """The map file is malformed; the message names the entry."""


@dataclass(frozen=True, slots=True)
class NodeDescription:
    """One mapped node; `value_fn` applies the linear scale to numbers and keeps other values."""

    node_id: str
    site: str
    tag: str
    scale: float = 1.0
    offset: float = 0.0
    unit: str | None = None

    def value_fn(self, raw: object) -> object:
        """`raw * scale + offset` for numbers (not booleans); other values unchanged."""
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            if self.scale == 1.0 and self.offset == 0.0:
                return raw
            return raw * self.scale + self.offset
        return raw


@dataclass(frozen=True, slots=True)
class NodeMap:
    """All mapped nodes of one server and the subscription's publishing interval."""

    nodes: tuple[NodeDescription, ...]
    publishing_interval_ms: int = DEFAULT_PUBLISHING_INTERVAL_MS

    def by_node_id(self) -> dict[str, NodeDescription]:
        """Descriptions keyed on the node id string as written in the map."""
        return {n.node_id: n for n in self.nodes}


def _text(entry: Mapping[str, object], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise NodeMapError(f"{where}: '{key}' must be a non-empty string")
    return value.strip()


def _number(entry: Mapping[str, object], key: str, default: float, where: str) -> float:
    value = entry.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise NodeMapError(f"{where}: '{key}' must be a number")
    return float(value)


def _node(entry: object, where: str) -> NodeDescription:
    if not isinstance(entry, dict):
        raise NodeMapError(f"{where}: expected a mapping with node, site and tag")
    unknown = sorted(set(entry) - _NODE_KEYS)
    if unknown:
        raise NodeMapError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
    unit = entry.get("unit")
    return NodeDescription(
        node_id=_text(entry, "node", where),
        site=_text(entry, "site", where),
        tag=_text(entry, "tag", where),
        scale=_number(entry, "scale", 1.0, where),
        offset=_number(entry, "offset", 0.0, where),
        unit=str(unit) if unit is not None else None,
    )


def parse_node_map(document: object, source: str = "map") -> NodeMap:
    """Validate a loaded YAML document into a `NodeMap`."""
    if not isinstance(document, dict) or not isinstance(document.get("nodes"), list):
        raise NodeMapError(f"{source}: expected a 'nodes:' list")
    nodes = tuple(_node(e, f"{source}: nodes[{i}]") for i, e in enumerate(document["nodes"]))
    if not nodes:
        raise NodeMapError(f"{source}: 'nodes' is empty")
    seen: set[str] = set()
    for node in nodes:
        if node.node_id in seen:
            raise NodeMapError(f"{source}: node {node.node_id!r} is mapped twice")
        seen.add(node.node_id)
    interval = document.get("publishing_interval_ms", DEFAULT_PUBLISHING_INTERVAL_MS)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval <= 0:
        raise NodeMapError(f"{source}: publishing_interval_ms must be a positive integer")
    return NodeMap(nodes=nodes, publishing_interval_ms=interval)


def load_node_map(path: Path) -> NodeMap:
    """Read and validate a map file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise NodeMapError(f"{path}: not valid YAML: {err}") from err
    return parse_node_map(document, str(path))
