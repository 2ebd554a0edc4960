"""Validate a framework pack folder and report every problem with its file and path."""

from __future__ import annotations

import re
from pathlib import Path

from lighthouse_os.framework import schema
from lighthouse_os.framework.consistency import (
    BANDS,
    CAPABILITY_LEVELS,
    check_groups,
    check_kpis,
    check_manifest,
    check_order,
    check_placement,
    check_refs,
    check_sign,
    check_unique,
    check_unused,
    children_by_group,
    known_ids,
    kpi_ids,
    list_refs,
    raw_places,
)
from lighthouse_os.framework.documents import PackDocuments, Parsed, read_documents
from lighthouse_os.framework.graph import find_cycle
from lighthouse_os.framework.problem import Problem, join_path

Step = tuple[str, int]


def validate_pack(path: Path) -> list[Problem]:
    """Return every problem of the pack folder ``path`` (``<pack>/<version>/``); [] if valid."""
    return check_pack(path)[1]


def check_pack(path: Path) -> tuple[PackDocuments, list[Problem]]:
    """Parse the pack at ``path`` and return its schema-valid documents and every problem found.

    Order: YAML syntax and schema per file, then manifest, KPIs, and the method's own links.
    """
    if not path.is_dir():
        return PackDocuments(), [Problem(str(path), "", "not a pack folder")]
    problems: list[Problem] = []
    docs = read_documents(path, problems)
    if docs.manifest is not None:
        problems += check_manifest(path, docs.manifest)
    problems += check_kpis(docs)
    if docs.method == schema.CAPABILITY_METHOD:
        problems += _check_capability_pack(docs)
    elif docs.method == schema.SIRI_METHOD:
        problems += _check_siri_pack(docs)
    return docs, problems


def _check_capability_pack(docs: PackDocuments) -> list[Problem]:
    problems = check_groups(docs.principles, "areas", "principle", "area")
    problems += _check_use_cases(docs)
    caps = docs.capabilities
    problems += check_unique(
        ((c.file, join_path(c.index, "id"), c.doc.id) for c in caps), "capability id"
    )
    tree = children_by_group(docs.principles, "areas", docs.rejected_items("groups"))
    rejected = docs.rejected_items("members")
    known = (
        kpi_ids(docs),
        known_ids(docs.use_cases, docs.rejected_items("use_cases")),
        known_ids(caps, rejected),
    )
    for cap in caps:
        problems += _check_capability(cap, tree, *known)
    if docs.principles:
        used = {(c.doc.principle, c.doc.area) for c in caps}
        used |= raw_places(rejected, ("principle", "area"))
        problems += check_unused(docs.principles, "areas", used, "capability")
    problems += _check_cycles(caps)
    return problems


def _check_use_cases(docs: PackDocuments) -> list[Problem]:
    kpis = {k.doc.id: k.doc for k in docs.kpis}
    known = kpi_ids(docs)
    use_cases = docs.use_cases
    problems = check_unique(
        ((u.file, join_path(u.index, "id"), u.doc.id) for u in use_cases), "use case id"
    )
    for u in use_cases:
        path = join_path(u.index, "kpi_impact")
        problems += check_refs(u.file, path, u.doc.kpi_impact, known, "KPI")
        for kpi_id, rng in u.doc.kpi_impact.items():
            where = join_path(path, kpi_id)
            problems += check_sign(u.file, where, kpis.get(kpi_id), rng.low_pct, rng.high_pct)
    return problems


def _check_capability(
    cap: Parsed[schema.CapabilityDoc],
    tree: dict[str, set[str]],
    kpis: set[str],
    use_cases: set[str],
    cap_ids: set[str],
) -> list[Problem]:
    doc, file, i = cap.doc, cap.file, cap.index
    ids = (doc.principle, doc.area)
    problems = check_placement(file, i, ("principle", "area"), ids, tree)
    problems += check_order(file, join_path(i, "levels"), list(doc.levels), CAPABILITY_LEVELS)
    problems += _check_criteria(cap)
    problems += check_refs(file, join_path(i, "kpis"), doc.kpis, kpis, "KPI")
    problems += list_refs(file, join_path(i, "use_cases"), doc.use_cases, use_cases, "use case")
    for j, pre in enumerate(doc.prerequisites):
        path = join_path(i, "prerequisites", j, "capability")
        if pre.capability not in cap_ids:
            problems.append(Problem(file, path, f"unknown capability {pre.capability!r}"))
        elif pre.capability == doc.id:
            problems.append(Problem(file, path, "a capability cannot be its own prerequisite"))
    return problems


def _check_criteria(cap: Parsed[schema.CapabilityDoc]) -> list[Problem]:
    doc, problems = cap.doc, []
    seen: list[tuple[str, str, str]] = []
    for level, spec in doc.levels.items():
        pattern = re.compile(rf"{re.escape(doc.id)}\.l{level}\.[1-9][0-9]*")
        for j, criterion in enumerate(spec.criteria):
            path = join_path(cap.index, "levels", str(level), "criteria", j, "id")
            seen.append((cap.file, path, criterion.id))
            if not pattern.fullmatch(criterion.id):
                expected = f"{doc.id}.l{level}.<n>"
                problems.append(Problem(cap.file, path, f"{criterion.id!r} should be {expected}"))
    return problems + check_unique(seen, "criterion id")


def _check_cycles(caps: list[Parsed[schema.CapabilityDoc]]) -> list[Problem]:
    # Cycles are checked between steps (capability, level), because a prerequisite may apply
    # only from ``for_level`` on; a cycle there would make any roadmap impossible.
    graph: dict[Step, list[Step]] = {}
    for cap in caps:
        for level in CAPABILITY_LEVELS:
            needs: list[Step] = [(cap.doc.id, level - 1)] if level > 1 else []
            needs += [
                (p.capability, p.level)
                for p in cap.doc.prerequisites
                if (p.for_level or 1) <= level and p.capability != cap.doc.id
            ]
            graph[(cap.doc.id, level)] = needs
    cycle = find_cycle(graph)
    if cycle is None:
        return []
    where = {c.doc.id: c for c in caps}[cycle[0][0]]
    text = " -> ".join(f"{c} L{lv}" for c, lv in cycle)
    path = join_path(where.index, "prerequisites")
    return [Problem(where.file, path, f"prerequisites form a cycle: {text}")]


def _check_siri_pack(docs: PackDocuments) -> list[Problem]:
    problems = check_groups(docs.blocks, "pillars", "block", "pillar")
    dims = docs.dimensions
    problems += check_unique(
        ((d.file, join_path(d.index, "id"), d.doc.id) for d in dims), "dimension id"
    )
    problems += check_unique(
        ((d.file, join_path(d.index, "number"), str(d.doc.number)) for d in dims),
        "dimension number",
    )
    tree = children_by_group(docs.blocks, "pillars", docs.rejected_items("groups"))
    rejected = docs.rejected_items("members")
    manifest = docs.manifest
    categories = (
        {c.id for c in manifest.prioritisation.cost_categories} if manifest is not None else None
    )
    for dim in dims:
        problems += _check_dimension(dim, tree, kpi_ids(docs), categories)
    if docs.blocks:
        used = {(d.doc.block, d.doc.pillar) for d in dims} | raw_places(
            rejected, ("block", "pillar")
        )
        problems += check_unused(docs.blocks, "pillars", used, "dimension")
    if isinstance(manifest, schema.SiriPackManifest):
        problems += _check_siri_prioritisation(manifest.prioritisation, known_ids(dims, rejected))
    return problems


def _check_dimension(
    dim: Parsed[schema.DimensionDoc],
    tree: dict[str, set[str]],
    kpis: set[str],
    categories: set[str] | None,
) -> list[Problem]:
    doc, file, i = dim.doc, dim.file, dim.index
    problems = check_placement(file, i, ("block", "pillar"), (doc.block, doc.pillar), tree)
    problems += check_order(file, join_path(i, "bands"), list(doc.bands), BANDS)
    problems += check_refs(file, join_path(i, "kpis"), doc.kpis, kpis, "KPI")
    if categories is not None:
        path = join_path(i, "cost_relevance")
        problems += check_refs(file, path, doc.cost_relevance, categories, "cost category")
    return problems


def _check_siri_prioritisation(
    prio: schema.SiriPrioritisationDoc, dimensions: set[str]
) -> list[Problem]:
    base = "prioritisation"
    problems = check_unique(
        (
            ("pack.yaml", join_path(base, "horizons", i, "id"), h.id)
            for i, h in enumerate(prio.horizons)
        ),
        "horizon id",
    )
    problems += check_unique(
        (
            ("pack.yaml", join_path(base, "industries", i, "id"), ind.id)
            for i, ind in enumerate(prio.industries)
        ),
        "industry id",
    )
    for i, industry in enumerate(prio.industries):
        path = join_path(base, "industries", i, "best_in_class")
        problems += check_refs("pack.yaml", path, industry.best_in_class, dimensions, "dimension")
        missing = sorted(dimensions - set(industry.best_in_class))
        if missing:
            problems.append(Problem("pack.yaml", path, f"no band for {', '.join(missing)}"))
    return problems
