"""Load a validated pack folder into frozen ``Pack`` objects; list and pick the built-in packs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from lighthouse_os.framework import pack as p
from lighthouse_os.framework import schema
from lighthouse_os.framework.documents import PackDocuments
from lighthouse_os.framework.problem import PackInvalidError
from lighthouse_os.framework.validate import check_pack

PACKS_DIR = Path(__file__).parent / "packs"
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class PackRef:
    """A pack folder found on disk: ``packs/<id>/<version>/``."""

    id: str
    version: str
    path: Path


def version_key(version: str) -> tuple[int, int, int]:
    """Sort key of a ``MAJOR.MINOR.PATCH`` version; ValueError if it is not one."""
    match = re.fullmatch(schema.SEMVER_PATTERN, version)
    if match is None:
        raise ValueError(f"not a semantic version: {version!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return (major, minor, patch)


def available_packs(root: Path = PACKS_DIR) -> list[PackRef]:
    """Every ``<id>/<semver>/`` folder holding a ``pack.yaml``, by id then version ascending."""
    refs = []
    if not root.is_dir():
        return []
    for pack_dir in sorted(d for d in root.iterdir() if d.is_dir()):
        for version_dir in pack_dir.iterdir():
            is_version = re.fullmatch(schema.SEMVER_PATTERN, version_dir.name) is not None
            if is_version and (version_dir / "pack.yaml").is_file():
                refs.append(PackRef(pack_dir.name, version_dir.name, version_dir))
    return sorted(refs, key=lambda r: (r.id, version_key(r.version)))


def find_pack(pack_id: str, version: str | None = None, root: Path = PACKS_DIR) -> PackRef:
    """The built-in pack ``pack_id`` at ``version``, or its latest version; KeyError if absent."""
    refs = [r for r in available_packs(root) if r.id == pack_id]
    if version is not None:
        refs = [r for r in refs if r.version == version]
    if not refs:
        wanted = pack_id if version is None else f"{pack_id} {version}"
        raise KeyError(f"no framework pack {wanted}")
    return refs[-1]


def load_builtin_pack(pack_id: str, version: str | None = None, root: Path = PACKS_DIR) -> p.Pack:
    """Load a built-in pack (latest version when ``version`` is None)."""
    return load_pack(find_pack(pack_id, version, root).path)


def load_pack(path: Path) -> p.Pack:
    """Validate and load the pack folder ``path``; ``PackInvalidError`` lists every problem."""
    docs, problems = check_pack(path)
    if problems or docs.manifest is None:
        raise PackInvalidError(str(path), problems)
    if isinstance(docs.manifest, schema.SiriPackManifest):
        return _siri_pack(docs, docs.manifest)
    return _capability_pack(docs, docs.manifest)


def _frozen(mapping: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(mapping))


def _text(doc: schema.Text) -> p.Text:
    return p.Text(vi=doc.vi, en=doc.en)


def _opt_text(doc: schema.Text | None) -> p.Text | None:
    return None if doc is None else _text(doc)


@dataclass(frozen=True)
class _Header:
    id: str
    version: str
    title: p.Text
    description: p.Text
    levels: tuple[p.LevelDef, ...]
    sources: tuple[p.Source, ...]
    kpis: tuple[p.Kpi, ...]


def _header(manifest: schema.PackManifest, docs: PackDocuments) -> _Header:
    return _Header(
        id=manifest.id,
        version=manifest.version,
        title=_text(manifest.title),
        description=_text(manifest.description),
        levels=tuple(
            p.LevelDef(lv.level, _text(lv.name), _text(lv.description))
            for lv in sorted(manifest.levels, key=lambda lv: lv.level)
        ),
        sources=tuple(p.Source(s.title, s.publisher, s.year, s.url) for s in manifest.sources),
        kpis=tuple(_kpi(k.doc) for k in docs.kpis),
    )


def _kpi(doc: schema.KpiDoc) -> p.Kpi:
    prior = None
    if doc.prior is not None:
        prior = p.KpiPrior(doc.prior.change_pct, _text(doc.prior.basis), doc.prior.source)
    return p.Kpi(doc.id, _text(doc.name), doc.unit, doc.better, prior)


def _cost_category(doc: schema.CostCategoryDoc) -> p.CostCategory:
    return p.CostCategory(doc.id, _text(doc.name), tuple(doc.kpis))


def _group(doc: schema.PrincipleDoc | schema.BlockDoc) -> p.Principle:
    children = doc.areas if isinstance(doc, schema.PrincipleDoc) else doc.pillars
    areas = tuple(p.Area(c.id, _text(c.name), _opt_text(c.description)) for c in children)
    return p.Principle(doc.id, doc.number, _text(doc.name), _text(doc.description), areas)


def _capability(doc: schema.CapabilityDoc) -> p.Capability:
    levels = tuple(
        p.CapabilityLevel(
            level,
            _text(spec.summary),
            tuple(p.Criterion(c.id, _text(c.text)) for c in spec.criteria),
        )
        for level, spec in sorted(doc.levels.items())
    )
    prerequisites = tuple(
        p.Prerequisite(pre.capability, pre.level, pre.for_level or 1) for pre in doc.prerequisites
    )
    return p.Capability(
        id=doc.id,
        principle=doc.principle,
        area=doc.area,
        name=_text(doc.name),
        description=_text(doc.description),
        levels=levels,
        kpis=_frozen(doc.kpis),
        use_cases=tuple(doc.use_cases),
        prerequisites=prerequisites,
    )


def _use_case(doc: schema.UseCaseDoc) -> p.UseCase:
    impact = {k: p.ImpactRange(r.low_pct, r.high_pct) for k, r in doc.kpi_impact.items()}
    return p.UseCase(
        doc.id, _text(doc.name), _text(doc.description), _frozen(impact), _text(doc.source)
    )


def _capability_pack(
    docs: PackDocuments, manifest: schema.CapabilityPackManifest
) -> p.CapabilityPack:
    prio = manifest.prioritisation
    w = prio.weights
    weights = p.CapabilityWeights(w.kpi_relevance, w.cost_relevance, w.gap, w.use_case_impact)
    h = _header(manifest, docs)
    return p.CapabilityPack(
        id=h.id,
        version=h.version,
        title=h.title,
        description=h.description,
        levels=h.levels,
        sources=h.sources,
        kpis=h.kpis,
        principles=tuple(_group(d.doc) for d in docs.principles),
        capabilities=tuple(_capability(c.doc) for c in docs.capabilities),
        use_cases=tuple(_use_case(u.doc) for u in docs.use_cases),
        prioritisation=p.CapabilityPrioritisation(
            note=_text(prio.note),
            weights=weights,
            impact_reference_pct=prio.impact_reference_pct,
            cost_categories=tuple(_cost_category(c) for c in prio.cost_categories),
        ),
    )


def _dimension(doc: schema.DimensionDoc) -> p.Dimension:
    bands = tuple(
        p.Band(band, _text(spec.name), _text(spec.description))
        for band, spec in sorted(doc.bands.items())
    )
    return p.Dimension(
        id=doc.id,
        number=doc.number,
        block=doc.block,
        pillar=doc.pillar,
        name=_text(doc.name),
        description=_text(doc.description),
        bands=bands,
        kpis=_frozen(doc.kpis),
        cost_relevance=_frozen(doc.cost_relevance),
    )


def _siri_pack(docs: PackDocuments, manifest: schema.SiriPackManifest) -> p.SiriPack:
    prio = manifest.prioritisation
    horizons = tuple(
        p.Horizon(
            h.id,
            _text(h.name),
            p.SiriWeights(h.weights.cost_relevance, h.weights.kpi_relevance, h.weights.gap),
        )
        for h in prio.horizons
    )
    industries = tuple(
        p.Industry(i.id, _text(i.name), _frozen(i.best_in_class)) for i in prio.industries
    )
    h = _header(manifest, docs)
    return p.SiriPack(
        id=h.id,
        version=h.version,
        title=h.title,
        description=h.description,
        levels=h.levels,
        sources=h.sources,
        kpis=h.kpis,
        blocks=tuple(_group(b.doc) for b in docs.blocks),
        dimensions=tuple(
            _dimension(d.doc) for d in sorted(docs.dimensions, key=lambda d: d.doc.number)
        ),
        prioritisation=p.SiriPrioritisation(
            note=_text(prio.note),
            cost_categories=tuple(_cost_category(c) for c in prio.cost_categories),
            horizons=horizons,
            industries=industries,
        ),
    )
