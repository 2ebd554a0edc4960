"""Bulk asset files (YAML or CSV rows) checked as a whole against a site's assets (pure core).

An import is all-or-nothing: every row is checked against the site's existing assets *and* the
other rows of the file (so rows may come in any order), every problem is reported with its
row, and nothing is planned while any problem remains. Rows are upserts keyed by path: a path
that exists is updated in place (its level may not change), a new path is created.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from lighthouse_os.assets.hierarchy import (
    LEVEL_RANK,
    SITE,
    AssetRuleError,
    NodeDraft,
    TagDraft,
    asset_type_problem,
    check_level,
    definition_problems,
    split_path,
)
from lighthouse_os.assets.ucum import UnitTable

NODE_FIELDS = ("path", "level", "name_vi", "name_en", "asset_type")
TAG_FIELDS = (
    "path",
    "unit",
    "kind",
    "scale",
    "offset",
    "states",
    "description_vi",
    "description_en",
)
STATE_SEPARATOR = "|"
T = TypeVar("T", NodeDraft, TagDraft)


@dataclass(frozen=True)
class Row:
    """One record of a file: where it is (`nodes[2]`, `line 7`), and its fields as read."""

    where: str
    record: str  # "node" or "tag"
    values: Mapping[str, object]


@dataclass(frozen=True)
class RowProblem:
    """One broken rule, located: the row, the field and what is wrong."""

    where: str
    field: str
    message: str


@dataclass(frozen=True)
class ImportPlan:
    """What an import will do; `problems` non-empty means it does nothing."""

    new_nodes: tuple[NodeDraft, ...] = ()
    changed_nodes: tuple[NodeDraft, ...] = ()
    new_tags: tuple[TagDraft, ...] = ()
    changed_tags: tuple[TagDraft, ...] = ()
    unchanged: int = 0
    problems: tuple[RowProblem, ...] = field(default_factory=tuple)


def plan_import(
    rows: Sequence[Row],
    existing_nodes: Mapping[str, NodeDraft],
    existing_tags: Mapping[str, TagDraft],
    units: UnitTable,
) -> ImportPlan:
    """Check every row and sort the valid ones into creations, updates and unchanged rows."""
    problems: list[RowProblem] = []
    nodes = _drafts(rows, "node", _node_draft, problems)
    tags = _drafts(rows, "tag", _tag_draft, problems)
    _check_duplicates([*nodes, *tags], problems)
    levels = {path: d.level for path, d in existing_nodes.items()}
    levels.update({d.path: d.level for _where, d in nodes})
    tag_paths = set(existing_tags) | {d.path for _w, d in tags}
    for where, node in nodes:
        problems += _node_row_problems(where, node, levels, tag_paths, existing_nodes)
    for where, tag in tags:
        problems += _tag_row_problems(where, tag, levels, units)
    if problems:
        return ImportPlan(problems=tuple(problems))
    return _sorted_plan(
        [d for _w, d in nodes], [d for _w, d in tags], existing_nodes, existing_tags
    )


def _drafts(
    rows: Sequence[Row],
    record: str,
    build: Callable[[Mapping[str, object]], T],
    problems: list[RowProblem],
) -> list[tuple[str, T]]:
    built: list[tuple[str, T]] = []
    for row in rows:
        if row.record != record:
            continue
        try:
            built.append((row.where, build(row.values)))
        except AssetRuleError as err:
            problems.append(RowProblem(row.where, err.field, err.message))
    return built


def _check_duplicates(
    drafts: Sequence[tuple[str, NodeDraft | TagDraft]], problems: list[RowProblem]
) -> None:
    seen: dict[str, str] = {}
    for where, draft in drafts:
        if draft.path in seen:
            message = f"{draft.path!r} also appears at {seen[draft.path]}"
            problems.append(RowProblem(where, "path", message))
        seen.setdefault(draft.path, where)


def _node_row_problems(
    where: str,
    node: NodeDraft,
    levels: Mapping[str, str],
    tag_paths: set[str],
    existing: Mapping[str, NodeDraft],
) -> list[RowProblem]:
    found: list[RowProblem] = []
    old = existing.get(node.path)
    if old is not None and old.level != node.level:
        found.append(RowProblem(where, "level", f"{node.path!r} is a {old.level}; it cannot move"))
    if node.path in tag_paths:
        found.append(RowProblem(where, "path", f"{node.path!r} is also a tag path"))
    try:
        parent, _key = split_path(node.path)
        check_level(node.level, _level_of(parent, levels))
    except AssetRuleError as err:
        found.append(RowProblem(where, err.field, err.message))
    type_problem = asset_type_problem(node.level, node.asset_type)
    if type_problem:
        found.append(RowProblem(where, "asset_type", type_problem))
    return found


def _tag_row_problems(
    where: str, tag: TagDraft, levels: Mapping[str, str], units: UnitTable
) -> list[RowProblem]:
    found = [RowProblem(where, f, m) for f, m in definition_problems(tag, units).items()]
    try:
        parent, _key = split_path(tag.path)
        _level_of(parent, levels)
    except AssetRuleError as err:
        found.append(RowProblem(where, err.field, err.message))
    return found


def _level_of(parent: str | None, levels: Mapping[str, str]) -> str:
    if parent is None:
        return SITE
    level = levels.get(parent)
    if level is None:
        raise AssetRuleError("path", f"parent {parent!r} is neither in the file nor at the site")
    return level


def _sorted_plan(
    nodes: Sequence[NodeDraft],
    tags: Sequence[TagDraft],
    existing_nodes: Mapping[str, NodeDraft],
    existing_tags: Mapping[str, TagDraft],
) -> ImportPlan:
    # Parents before children, so creation can follow the plan's order.
    nodes = sorted(nodes, key=lambda d: (d.path.count("/"), LEVEL_RANK[d.level], d.path))
    new_nodes = tuple(d for d in nodes if d.path not in existing_nodes)
    changed_nodes = tuple(
        d for d in nodes if d.path in existing_nodes and existing_nodes[d.path] != d
    )
    new_tags = tuple(d for d in tags if d.path not in existing_tags)
    changed_tags = tuple(d for d in tags if d.path in existing_tags and existing_tags[d.path] != d)
    changed = len(new_nodes) + len(changed_nodes) + len(new_tags) + len(changed_tags)
    return ImportPlan(
        new_nodes, changed_nodes, new_tags, changed_tags, unchanged=len(nodes) + len(tags) - changed
    )


def _node_draft(values: Mapping[str, object]) -> NodeDraft:
    name_vi, name_en = _bilingual(values, "name")
    return NodeDraft(
        path=_text(values, "path", required=True),
        level=_text(values, "level", required=True),
        name_vi=name_vi,
        name_en=name_en,
        asset_type=_text(values, "asset_type"),
    )


def _tag_draft(values: Mapping[str, object]) -> TagDraft:
    description_vi, description_en = _bilingual(values, "description")
    return TagDraft(
        path=_text(values, "path", required=True),
        unit=_text(values, "unit", required=True),
        kind=_text(values, "kind", required=True),
        scale=_number(values, "scale"),
        offset=_number(values, "offset"),
        states=_states(values.get("states")),
        description_vi=description_vi,
        description_en=description_en,
    )


def _text(values: Mapping[str, object], name: str, *, required: bool = False) -> str:
    raw = values.get(name)
    text = "" if raw is None else str(raw).strip()
    if required and not text:
        raise AssetRuleError(name, f"{name} is required")
    return text


def _bilingual(values: Mapping[str, object], name: str) -> tuple[str, str]:
    """`name: {vi: …, en: …}` (YAML) or the columns `name_vi` and `name_en` (CSV)."""
    nested = values.get(name)
    if isinstance(nested, Mapping):
        return str(nested.get("vi") or "").strip(), str(nested.get("en") or "").strip()
    return _text(values, f"{name}_vi"), _text(values, f"{name}_en")


def _number(values: Mapping[str, object], name: str) -> float | None:
    raw = values.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise AssetRuleError(name, f"{name} must be a number")
    try:
        number = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise AssetRuleError(name, f"{name} must be a number, got {raw!r}") from err
    if not math.isfinite(number):
        raise AssetRuleError(name, f"{name} must be a finite number")
    return number


def _states(raw: object) -> tuple[str, ...]:
    """A YAML list, or one CSV cell with names separated by `|`."""
    if raw is None or raw == "":
        return ()
    items = raw.split(STATE_SEPARATOR) if isinstance(raw, str) else raw
    if not isinstance(items, Sequence):
        raise AssetRuleError("states", "states must be a list of names")
    return tuple(str(item).strip() for item in items)
