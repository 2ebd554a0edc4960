"""Pydantic schema of a framework pack's YAML files (the on-disk contract; see README.md here).

A pack lives in ``packs/<pack id>/<semver>/``. Files, by ``method`` in ``pack.yaml``:

``capability-levels`` (e.g. ``lighthouse-os``)::

    pack.yaml          PackManifest with CapabilityPrioritisationDoc
    kpis.yaml          list[KpiDoc]
    principles.yaml    list[PrincipleDoc]          principles -> key improvement areas
    capabilities/*.yaml  list[CapabilityDoc] per file, levels 1..5, 2-5 criteria per level
    use_cases.yaml     list[UseCaseDoc]

``siri-bands`` (``siri``)::

    pack.yaml          PackManifest with SiriPrioritisationDoc
    kpis.yaml          list[KpiDoc]
    blocks.yaml        list[BlockDoc]              building blocks -> pillars
    dimensions.yaml    list[DimensionDoc]          bands 0..5

Every model forbids unknown fields; every user-visible text is a ``Text`` with non-empty ``vi``
and ``en``. Cross-file links (principle, area, KPI, use-case and prerequisite ids), id uniqueness,
level order and criterion-id patterns are checked in ``validate.py``, which reports every problem.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

ID_PATTERN = r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$"
SEMVER_PATTERN = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$"
CAPABILITY_METHOD = "capability-levels"
SIRI_METHOD = "siri-bands"
WEIGHT_SUM_TOLERANCE = 1e-6

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
SemVer = Annotated[str, StringConstraints(pattern=SEMVER_PATTERN)]
Relevance = Literal[0, 1, 3]
Level = Annotated[int, Field(ge=1, le=5)]
Band = Annotated[int, Field(ge=0, le=5)]
Weight = Annotated[float, Field(ge=0.0, le=1.0)]


class StrictModel(BaseModel):
    """Base: unknown fields are errors, and parsed documents are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(StrictModel):
    """A user-visible text in Vietnamese and English; both are required and non-empty."""

    vi: NonEmpty
    en: NonEmpty


class SourceDoc(StrictModel):
    """A bibliographic source of the pack's structure or figures."""

    title: NonEmpty
    publisher: NonEmpty
    year: Annotated[int, Field(ge=1900, le=2100)]
    url: NonEmpty | None = None


class LevelDoc(StrictModel):
    """A pack-wide maturity level (0 = traditional / pre-lean baseline) or SIRI band."""

    level: Band
    name: Text
    description: Text


class CostCategoryDoc(StrictModel):
    """A cost category of a site's cost profile.

    ``kpis`` (capability packs) lists the KPIs through which this cost shows; a share of cost
    in the category is spread equally over them. SIRI packs may leave it empty because
    dimensions carry their own ``cost_relevance``.
    """

    id: Id
    name: Text
    kpis: list[Id] = Field(default_factory=list)


class CapabilityWeightsDoc(StrictModel):
    """Weights of the four capability-gap factors; they must sum to 1."""

    kpi_relevance: Weight
    cost_relevance: Weight
    gap: Weight
    use_case_impact: Weight

    @model_validator(mode="after")
    def _sum_to_one(self) -> CapabilityWeightsDoc:
        total = self.kpi_relevance + self.cost_relevance + self.gap + self.use_case_impact
        if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError(f"weights must sum to 1, got {total:g}")
        return self


class CapabilityPrioritisationDoc(StrictModel):
    """Prioritisation data of a capability pack: this project's defaults, stated in ``note``.

    ``impact_reference_pct`` is the favourable KPI change (in %) that counts as full expected
    impact (factor 1.0); smaller expected changes scale linearly below it.
    """

    note: Text
    weights: CapabilityWeightsDoc
    impact_reference_pct: Annotated[float, Field(gt=0.0)]
    cost_categories: list[CostCategoryDoc] = Field(default_factory=list)


class SiriWeightsDoc(StrictModel):
    """Weights of the three SIRI-style factors for one planning horizon; they must sum to 1."""

    cost_relevance: Weight
    kpi_relevance: Weight
    gap: Weight

    @model_validator(mode="after")
    def _sum_to_one(self) -> SiriWeightsDoc:
        total = self.cost_relevance + self.kpi_relevance + self.gap
        if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError(f"weights must sum to 1, got {total:g}")
        return self


class HorizonDoc(StrictModel):
    """A planning horizon (e.g. short, medium, long) with its factor weights."""

    id: Id
    name: Text
    weights: SiriWeightsDoc


class IndustryDoc(StrictModel):
    """Default best-in-class band per dimension for one industry (project default, not official)."""

    id: Id
    name: Text
    best_in_class: dict[Id, Band]


class SiriPrioritisationDoc(StrictModel):
    """Prioritisation data of a SIRI-style pack: this project's defaults, stated in ``note``."""

    note: Text
    cost_categories: Annotated[list[CostCategoryDoc], Field(min_length=1)]
    horizons: Annotated[list[HorizonDoc], Field(min_length=1)]
    industries: Annotated[list[IndustryDoc], Field(min_length=1)]


class _ManifestBase(StrictModel):
    id: Id
    version: SemVer
    title: Text
    description: Text
    levels: Annotated[list[LevelDoc], Field(min_length=1)]
    sources: Annotated[list[SourceDoc], Field(min_length=1)]


class CapabilityPackManifest(_ManifestBase):
    """``pack.yaml`` of a pack scored by cumulative capability levels 1..5."""

    method: Literal["capability-levels"]
    prioritisation: CapabilityPrioritisationDoc


class SiriPackManifest(_ManifestBase):
    """``pack.yaml`` of a pack scored by SIRI-style bands 0..5 per dimension."""

    method: Literal["siri-bands"]
    prioritisation: SiriPrioritisationDoc


PackManifest = CapabilityPackManifest | SiriPackManifest


class KpiPriorDoc(StrictModel):
    """A prior expected change of a KPI (e.g. a GLN cohort average), with its basis and source."""

    change_pct: float
    basis: Text
    source: NonEmpty


class KpiDoc(StrictModel):
    """A standard KPI a capability or dimension can move."""

    id: Id
    name: Text
    unit: NonEmpty
    better: Literal["lower", "higher"]
    prior: KpiPriorDoc | None = None


class AreaDoc(StrictModel):
    """A key improvement area inside a principle."""

    id: Id
    name: Text
    description: Text | None = None


class PrincipleDoc(StrictModel):
    """A principle with its key improvement areas."""

    id: Id
    number: Annotated[int, Field(ge=1)]
    name: Text
    description: Text
    areas: Annotated[list[AreaDoc], Field(min_length=1)]


class CriterionDoc(StrictModel):
    """An observable assessment criterion; ``id`` is ``<capability id>.l<level>.<n>``."""

    id: NonEmpty
    text: Text


class CapabilityLevelDoc(StrictModel):
    """What a capability looks like at one level, with 2-5 criteria."""

    summary: Text
    criteria: Annotated[list[CriterionDoc], Field(min_length=2, max_length=5)]


class PrerequisiteDoc(StrictModel):
    """Another capability that must be at ``level`` first.

    Without ``for_level`` it applies to every step of the capability; with it, only to reaching
    ``for_level`` and above.
    """

    capability: Id
    level: Level
    for_level: Level | None = None


class CapabilityDoc(StrictModel):
    """A capability with cumulative criteria for levels 1..5 and its KPI/use-case links."""

    id: Id
    principle: Id
    area: Id
    name: Text
    description: Text
    levels: dict[Level, CapabilityLevelDoc]
    kpis: dict[Id, Relevance]
    use_cases: list[Id] = Field(default_factory=list)
    prerequisites: list[PrerequisiteDoc] = Field(default_factory=list)


class ImpactRangeDoc(StrictModel):
    """Reported KPI change of a use case, in percent (negative = decrease); low <= high."""

    low_pct: float
    high_pct: float

    @model_validator(mode="after")
    def _ordered(self) -> ImpactRangeDoc:
        if self.low_pct > self.high_pct:
            raise ValueError(f"low_pct {self.low_pct:g} is above high_pct {self.high_pct:g}")
        return self


class UseCaseDoc(StrictModel):
    """A use case with the KPI impact range reported for it and where that figure comes from."""

    id: Id
    name: Text
    description: Text
    kpi_impact: Annotated[dict[Id, ImpactRangeDoc], Field(min_length=1)]
    source: Text


class PillarDoc(StrictModel):
    """A SIRI-style pillar inside a building block."""

    id: Id
    name: Text
    description: Text | None = None


class BlockDoc(StrictModel):
    """A SIRI-style building block with its pillars."""

    id: Id
    number: Annotated[int, Field(ge=1)]
    name: Text
    description: Text
    pillars: Annotated[list[PillarDoc], Field(min_length=1)]


class BandDoc(StrictModel):
    """What one band (0..5) of a dimension looks like."""

    name: Text
    description: Text


class DimensionDoc(StrictModel):
    """A SIRI-style dimension with bands 0..5 and its (project default) relevance tables."""

    id: Id
    number: Annotated[int, Field(ge=1)]
    block: Id
    pillar: Id
    name: Text
    description: Text
    bands: dict[Band, BandDoc]
    kpis: dict[Id, Relevance]
    cost_relevance: dict[Id, Relevance]
