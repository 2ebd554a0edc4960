"""ISA-95 equipment hierarchy rules: levels, keys, paths and tag definitions (pure core).

A site holds areas, lines and machines (ISA-95 / IEC 62264-1 §5.2 "equipment hierarchy": site >
area > work centre (here a production *line*) > work unit (here a *machine*)). Levels may be
skipped but never reversed: a line may hang directly off the site, a machine off an area. A
node's *path* is the keys from the site down, joined by `/` (`line1/press2`); a tag's path is its
node's path plus the tag key (`line1/press2/kwh`), or the key alone for a site-level tag. Paths
are unique per site across nodes and tags, because MQTT topics `lhos/<site>/<path>` address both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from lighthouse_os.assets.ucum import UnitError, UnitTable, check_unit
from lighthouse_os.text import N_, Text

SITE = "site"
LEVELS: tuple[str, ...] = ("area", "line", "machine")
LEVEL_RANK: Mapping[str, int] = {SITE: 0, "area": 1, "line": 2, "machine": 3}
LEVEL_NAMES: Mapping[str, Text] = {
    SITE: Text(N_("site")),
    "area": Text(N_("area")),
    "line": Text(N_("line")),
    "machine": Text(N_("machine")),
}
KINDS: tuple[str, ...] = ("gauge", "counter", "state", "event")
MAX_DEPTH = len(LEVELS) + 1  # three node levels and the tag itself
# Safe in MQTT topics (no `+`, `#`, `/`), URLs and file names.
KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
STATE_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_ .-]{0,63}")
TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,63}")


class AssetRuleError(ValueError):
    """A rule of the hierarchy is broken; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class NodeDraft:
    """An area, line or machine as entered, before it is stored."""

    path: str
    level: str
    name_vi: str = ""
    name_en: str = ""
    asset_type: str = ""


@dataclass(frozen=True)
class TagDraft:
    """A tag as entered. Stored value = raw value x scale + offset (gauge, counter, event)."""

    path: str
    unit: str
    kind: str
    scale: float | None = None
    offset: float | None = None
    states: tuple[str, ...] = ()
    description_vi: str = ""
    description_en: str = ""


@dataclass(frozen=True)
class SiteShape:
    """What the rules need to know of a site's existing assets: node levels and tag paths."""

    node_levels: Mapping[str, str]
    tag_paths: Collection[str]


def check_key(key: str, field: str = "key") -> str:
    """A path segment: a letter or digit, then letters, digits, `_`, `.` or `-` (64 at most)."""
    if not KEY_PATTERN.fullmatch(key):
        raise AssetRuleError(
            field,
            Text(
                N_("{key!r} is not a valid key: use letters, digits, '_', '.', '-' (max 64)"),
                key=key,
            ),
        )
    return key


def split_path(path: str, field: str = "path") -> tuple[str | None, str]:
    """(parent path or None for the site, own key); every segment must be a valid key."""
    segments = path.split("/")
    if len(segments) > MAX_DEPTH:
        raise AssetRuleError(
            field, Text(N_("{path!r} is deeper than site > area > line > machine > tag"), path=path)
        )
    for segment in segments:
        check_key(segment, field)
    parent = "/".join(segments[:-1]) or None
    return parent, segments[-1]


def child_path(parent: str | None, key: str) -> str:
    """The path of `key` under `parent` (None: directly under the site)."""
    check_key(key)
    return key if not parent else f"{parent}/{key}"


def check_level(level: str, parent_level: str) -> str:
    """`level` must be a node level strictly below `parent_level` (ISA-95 order, skips allowed)."""
    if level not in LEVELS:
        raise AssetRuleError(
            "level",
            Text(
                N_("level must be one of {levels}, got {level!r}"),
                levels=", ".join(LEVELS),
                level=level,
            ),
        )
    if LEVEL_RANK[level] <= LEVEL_RANK[parent_level]:
        raise AssetRuleError(
            "level",
            Text(
                N_("a {level} cannot hang below a {parent}"),
                level=LEVEL_NAMES[level],
                parent=LEVEL_NAMES[parent_level],
            ),
        )
    return level


def node_problems(draft: NodeDraft, shape: SiteShape) -> dict[str, str]:
    """Every rule `draft` breaks as a new node of the site, by field (empty when it is valid)."""
    problems: dict[str, str] = {}
    try:
        _check_free(draft.path, shape)
        parent, _key = split_path(draft.path)
        check_level(draft.level, _parent_level(parent, shape))
    except AssetRuleError as err:
        problems[err.field] = err.message
    type_problem = asset_type_problem(draft.level, draft.asset_type)
    if type_problem:
        problems["asset_type"] = type_problem
    return problems


def asset_type_problem(level: str, asset_type: str) -> str | None:
    """Only machines carry an asset type (e.g. `press`), written as a lower-case key."""
    if asset_type and level != "machine":
        return Text(N_("only machines have an asset type"))
    if asset_type and not TYPE_PATTERN.fullmatch(asset_type):
        return Text(N_("asset type: lower-case letters, digits, '_' or '-'"))
    return None


def tag_problems(draft: TagDraft, shape: SiteShape, units: UnitTable) -> dict[str, str]:
    """Every rule `draft` breaks as a new tag of the site, by field (empty when it is valid)."""
    problems: dict[str, str] = {}
    try:
        _check_free(draft.path, shape)
        parent, _key = split_path(draft.path)
        _parent_level(parent, shape)
    except AssetRuleError as err:
        problems[err.field] = err.message
    problems.update(definition_problems(draft, units))
    return problems


def definition_problems(draft: TagDraft, units: UnitTable) -> dict[str, str]:
    """Problems of a tag's unit, kind, scaling and states (the fields an update may change)."""
    problems: dict[str, str] = {}
    try:
        check_unit(draft.unit, units)
    except UnitError as err:
        problems["unit"] = err.text
    if draft.kind not in KINDS:
        problems["kind"] = Text(
            N_("kind must be one of {kinds}, got {kind!r}"), kinds=", ".join(KINDS), kind=draft.kind
        )
    for name, value in (("scale", draft.scale), ("offset", draft.offset)):
        if value is not None and not math.isfinite(value):
            problems[name] = Text(N_("must be a finite number"))
    if draft.scale == 0:
        problems["scale"] = Text(N_("scale must not be zero"))
    if draft.kind == "state" and (draft.scale is not None or draft.offset is not None):
        problems["scale"] = Text(N_("state codes are not scaled"))
    problems.update(_state_problems(draft))
    return problems


def _state_problems(draft: TagDraft) -> dict[str, str]:
    if draft.states and draft.kind != "state":
        return {"states": Text(N_("only state tags have state names"))}
    bad = [s for s in draft.states if not STATE_PATTERN.fullmatch(s)]
    if bad:
        return {
            "states": Text(
                N_("state names must start with a letter: {names}"), names=", ".join(bad)
            )
        }
    if len(set(draft.states)) != len(draft.states):
        return {"states": Text(N_("state names must be unique"))}
    return {}


def _parent_level(parent: str | None, shape: SiteShape) -> str:
    if parent is None:
        return SITE
    level = shape.node_levels.get(parent)
    if level is None:
        raise AssetRuleError(
            "path", Text(N_("parent {parent!r} does not exist; create it first"), parent=parent)
        )
    return level


def _check_free(path: str, shape: SiteShape) -> None:
    if path in shape.node_levels or path in shape.tag_paths:
        raise AssetRuleError("path", Text(N_("{path!r} is already used at this site"), path=path))
