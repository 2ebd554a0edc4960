"""Cross-file checks of a parsed pack: unique ids, resolvable links, level order, criterion ids."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lighthouse_os.framework import schema
from lighthouse_os.framework.documents import PackDocuments, Parsed
from lighthouse_os.framework.problem import Problem, join_path

CAPABILITY_LEVELS = (1, 2, 3, 4, 5)
BANDS = (0, 1, 2, 3, 4, 5)


def check_unique(items: Iterable[tuple[str, str, str]], what: str) -> list[Problem]:
    """Flag every repeat of an id; ``items`` are (file, path, id)."""
    first: dict[str, tuple[str, str]] = {}
    problems = []
    for file, path, key in items:
        if key in first:
            where = f"{first[key][0]} {first[key][1]}"
            problems.append(Problem(file, path, f"duplicate {what} {key!r} (first at {where})"))
        else:
            first[key] = (file, path)
    return problems


def check_order(
    file: str, path: str, found: Sequence[int], expected: Sequence[int]
) -> list[Problem]:
    """Flag keys that are not exactly ``expected`` in that order (e.g. levels 1..5)."""
    if list(found) == list(expected):
        return []
    want = ", ".join(map(str, expected))
    got = ", ".join(map(str, found)) or "none"
    return [Problem(file, path, f"expected {want} in this order, found {got}")]


def check_sign(
    file: str, path: str, kpi: schema.KpiDoc | None, low: float, high: float
) -> list[Problem]:
    """Flag an impact whose direction contradicts the KPI's ``better`` (an improvement worsens)."""
    if kpi is None:
        return []
    if kpi.better == "lower" and high > 0:
        return [Problem(file, path, f"KPI {kpi.id!r} is better lower, so the change must be <= 0")]
    if kpi.better == "higher" and low < 0:
        return [Problem(file, path, f"KPI {kpi.id!r} is better higher, so the change must be >= 0")]
    return []


def check_refs(
    file: str, path: str, refs: Iterable[str], known: Iterable[str], what: str
) -> list[Problem]:
    """Flag every reference in ``refs`` that is not in ``known``."""
    allowed = set(known)
    return [
        Problem(file, join_path(path, ref), f"unknown {what} {ref!r}")
        for ref in refs
        if ref not in allowed
    ]


def check_manifest(root: Path, manifest: schema.PackManifest) -> list[Problem]:
    """Levels 0..5 in order, unique cost categories, and id/version matching the folder names."""
    problems = check_order("pack.yaml", "levels", [lv.level for lv in manifest.levels], BANDS)
    categories = manifest.prioritisation.cost_categories
    problems += check_unique(
        (
            ("pack.yaml", join_path("prioritisation.cost_categories", i), c.id)
            for i, c in enumerate(categories)
        ),
        "cost category",
    )
    if re.fullmatch(schema.SEMVER_PATTERN, root.name):
        if manifest.version != root.name:
            problems.append(
                Problem("pack.yaml", "version", f"is {manifest.version}, folder is {root.name}")
            )
        if manifest.id != root.parent.name:
            problems.append(
                Problem("pack.yaml", "id", f"is {manifest.id}, folder is {root.parent.name}")
            )
    return problems


def check_kpis(docs: PackDocuments) -> list[Problem]:
    """Unique KPI ids, prior directions, and KPI ids used by cost categories."""
    problems = check_unique(
        ((k.file, join_path(k.index, "id"), k.doc.id) for k in docs.kpis), "KPI id"
    )
    for k in docs.kpis:
        if k.doc.prior is not None:
            change = k.doc.prior.change_pct
            problems += check_sign(
                k.file, join_path(k.index, "prior.change_pct"), k.doc, change, change
            )
    if docs.manifest is not None:
        known = kpi_ids(docs)
        for i, category in enumerate(docs.manifest.prioritisation.cost_categories):
            path = join_path("prioritisation.cost_categories", i, "kpis")
            problems += list_refs("pack.yaml", path, category.kpis, known, "KPI")
    return problems


def kpi_ids(docs: PackDocuments) -> set[str]:
    """Ids of the KPIs, including those that failed the schema (to avoid cascading problems)."""
    return known_ids(docs.kpis, docs.rejected_items("kpis"))


def raw_ids(items: Iterable[Any]) -> set[str]:
    """String ids of raw YAML items that failed the schema."""
    return {i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)}


def known_ids(parsed: Iterable[Parsed[Any]], rejected: Iterable[Any]) -> set[str]:
    """Ids of the parsed items plus the raw ids of the rejected ones."""
    return {p.doc.id for p in parsed} | raw_ids(rejected)


def raw_places(rejected: Iterable[Any], keys: tuple[str, str]) -> set[tuple[str, str]]:
    """(principle, area) or (block, pillar) of rejected capabilities or dimensions."""
    return {(str(i.get(keys[0])), str(i.get(keys[1]))) for i in rejected if isinstance(i, dict)}


def list_refs(
    file: str, path: str, refs: Sequence[str], known: set[str], what: str
) -> list[Problem]:
    """Flag unknown ids in a list of references, at their list index."""
    return [
        Problem(file, f"{path}[{i}]", f"unknown {what} {ref!r}")
        for i, ref in enumerate(refs)
        if ref not in known
    ]


def check_groups(
    groups: Sequence[Parsed[Any]], children: str, group_what: str, child_what: str
) -> list[Problem]:
    """Unique ids and numbers of principles/blocks, and unique ids of their areas/pillars."""
    problems = check_unique(
        ((g.file, join_path(g.index, "id"), g.doc.id) for g in groups), f"{group_what} id"
    )
    problems += check_unique(
        ((g.file, join_path(g.index, "number"), str(g.doc.number)) for g in groups),
        f"{group_what} number",
    )
    problems += check_unique(
        (
            (g.file, join_path(g.index, children, j, "id"), child.id)
            for g in groups
            for j, child in enumerate(getattr(g.doc, children))
        ),
        f"{child_what} id",
    )
    return problems


def children_by_group(
    groups: Sequence[Parsed[Any]], children: str, rejected: Iterable[Any] = ()
) -> dict[str, set[str]]:
    """Map principle/block id to the ids of its areas/pillars (rejected groups included)."""
    tree = {
        str(g["id"]): raw_ids(g.get(children) or [])
        for g in rejected
        if isinstance(g, dict)
        and isinstance(g.get("id"), str)
        and isinstance(g.get(children) or [], list)
    }
    tree.update({g.doc.id: {c.id for c in getattr(g.doc, children)} for g in groups})
    return tree


def check_placement(
    file: str, index: int, keys: tuple[str, str], ids: tuple[str, str], tree: Mapping[str, set[str]]
) -> list[Problem]:
    """Check that a capability's (principle, area) or a dimension's (block, pillar) resolves."""
    group, child = ids
    if group not in tree:
        return [Problem(file, join_path(index, keys[0]), f"unknown {keys[0]} {group!r}")]
    if child not in tree[group]:
        return [
            Problem(file, join_path(index, keys[1]), f"{child!r} is not a {keys[1]} of {group!r}")
        ]
    return []


def check_unused(
    groups: Sequence[Parsed[Any]], children: str, used: set[tuple[str, str]], what: str
) -> list[Problem]:
    """Flag areas/pillars that no capability/dimension belongs to (incomplete content)."""
    return [
        Problem(g.file, join_path(g.index, children, j), f"no {what} in {child.id!r}")
        for g in groups
        for j, child in enumerate(getattr(g.doc, children))
        if (g.doc.id, child.id) not in used
    ]
