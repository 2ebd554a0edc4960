"""Typed, frozen framework-pack objects for the pure assessment cores (standard library only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Lang = Literal["vi", "en"]
CAPABILITY_METHOD = "capability-levels"
SIRI_METHOD = "siri-bands"


@dataclass(frozen=True)
class Text:
    """A text in Vietnamese and English."""

    vi: str
    en: str

    def get(self, lang: Lang) -> str:
        """Return the text in ``lang``."""
        return self.vi if lang == "vi" else self.en


@dataclass(frozen=True)
class Source:
    """A bibliographic source."""

    title: str
    publisher: str
    year: int
    url: str | None = None


@dataclass(frozen=True)
class LevelDef:
    """A pack-wide level (capability packs) or band (SIRI packs)."""

    level: int
    name: Text
    description: Text


@dataclass(frozen=True)
class KpiPrior:
    """A prior expected change of a KPI in percent (negative = decrease)."""

    change_pct: float
    basis: Text
    source: str


@dataclass(frozen=True)
class Kpi:
    """A KPI; ``better`` says which direction is an improvement."""

    id: str
    name: Text
    unit: str
    better: Literal["lower", "higher"]
    prior: KpiPrior | None = None

    def favourable(self, change_pct: float) -> float:
        """Size of a change in the improving direction, in percent (negative if it worsens)."""
        return -change_pct if self.better == "lower" else change_pct


@dataclass(frozen=True)
class CostCategory:
    """A cost category; ``kpis`` are the KPIs through which its cost shows (may be empty)."""

    id: str
    name: Text
    kpis: tuple[str, ...] = ()


@dataclass(frozen=True)
class Area:
    """A key improvement area (capability packs) or pillar (SIRI packs)."""

    id: str
    name: Text
    description: Text | None = None


@dataclass(frozen=True)
class Principle:
    """A principle (capability packs) or building block (SIRI packs) and its areas or pillars."""

    id: str
    number: int
    name: Text
    description: Text
    areas: tuple[Area, ...]


@dataclass(frozen=True)
class Criterion:
    """An assessment criterion, id ``<capability>.l<level>.<n>``."""

    id: str
    text: Text


@dataclass(frozen=True)
class CapabilityLevel:
    """The criteria of one level of a capability."""

    level: int
    summary: Text
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True)
class Prerequisite:
    """``capability`` must be at ``level`` before steps to ``for_level`` and above (1 = all)."""

    capability: str
    level: int
    for_level: int = 1


@dataclass(frozen=True)
class Capability:
    """A capability with its levels 1..5 in order and its links."""

    id: str
    principle: str
    area: str
    name: Text
    description: Text
    levels: tuple[CapabilityLevel, ...]
    kpis: Mapping[str, int]
    use_cases: tuple[str, ...] = ()
    prerequisites: tuple[Prerequisite, ...] = ()

    @property
    def max_level(self) -> int:
        """Highest level defined for the capability."""
        return len(self.levels)

    def level(self, level: int) -> CapabilityLevel:
        """Return the definition of ``level`` (1-based)."""
        if not 1 <= level <= len(self.levels):
            raise ValueError(f"capability {self.id} has no level {level}")
        return self.levels[level - 1]


@dataclass(frozen=True)
class ImpactRange:
    """A reported KPI change range in percent (negative = decrease)."""

    low_pct: float
    high_pct: float

    @property
    def midpoint_pct(self) -> float:
        """Centre of the range, in percent."""
        return (self.low_pct + self.high_pct) / 2.0


@dataclass(frozen=True)
class UseCase:
    """A use case with its reported KPI impact and source."""

    id: str
    name: Text
    description: Text
    kpi_impact: Mapping[str, ImpactRange]
    source: Text


@dataclass(frozen=True)
class CapabilityWeights:
    """Weights of the capability-gap factors (sum 1)."""

    kpi_relevance: float
    cost_relevance: float
    gap: float
    use_case_impact: float


@dataclass(frozen=True)
class CapabilityPrioritisation:
    """Prioritisation data of a capability pack (project defaults, see ``note``)."""

    note: Text
    weights: CapabilityWeights
    impact_reference_pct: float
    cost_categories: tuple[CostCategory, ...] = ()


@dataclass(frozen=True)
class SiriWeights:
    """Weights of the SIRI-style factors for a horizon (sum 1)."""

    cost_relevance: float
    kpi_relevance: float
    gap: float


@dataclass(frozen=True)
class Horizon:
    """A planning horizon and its weights."""

    id: str
    name: Text
    weights: SiriWeights


@dataclass(frozen=True)
class Industry:
    """Default best-in-class band per dimension for an industry."""

    id: str
    name: Text
    best_in_class: Mapping[str, int]


@dataclass(frozen=True)
class SiriPrioritisation:
    """Prioritisation data of a SIRI-style pack (project defaults, see ``note``)."""

    note: Text
    cost_categories: tuple[CostCategory, ...]
    horizons: tuple[Horizon, ...]
    industries: tuple[Industry, ...]


@dataclass(frozen=True)
class Band:
    """What one band of a dimension looks like."""

    band: int
    name: Text
    description: Text


@dataclass(frozen=True)
class Dimension:
    """A SIRI-style dimension with bands 0..5 in order and relevance tables."""

    id: str
    number: int
    block: str
    pillar: str
    name: Text
    description: Text
    bands: tuple[Band, ...]
    kpis: Mapping[str, int]
    cost_relevance: Mapping[str, int]


@dataclass(frozen=True)
class _PackBase:
    id: str
    version: str
    title: Text
    description: Text
    levels: tuple[LevelDef, ...]
    sources: tuple[Source, ...]
    kpis: tuple[Kpi, ...]

    def kpi(self, kpi_id: str) -> Kpi:
        """Return the KPI ``kpi_id`` or raise ``KeyError``."""
        for kpi in self.kpis:
            if kpi.id == kpi_id:
                return kpi
        raise KeyError(f"pack {self.id} has no KPI {kpi_id!r}")


@dataclass(frozen=True)
class CapabilityPack(_PackBase):
    """A pack scored by cumulative capability levels."""

    principles: tuple[Principle, ...]
    capabilities: tuple[Capability, ...]
    use_cases: tuple[UseCase, ...]
    prioritisation: CapabilityPrioritisation
    method: Literal["capability-levels"] = "capability-levels"

    def capability(self, capability_id: str) -> Capability:
        """Return the capability ``capability_id`` or raise ``KeyError``."""
        for capability in self.capabilities:
            if capability.id == capability_id:
                return capability
        raise KeyError(f"pack {self.id} has no capability {capability_id!r}")

    def use_case(self, use_case_id: str) -> UseCase:
        """Return the use case ``use_case_id`` or raise ``KeyError``."""
        for use_case in self.use_cases:
            if use_case.id == use_case_id:
                return use_case
        raise KeyError(f"pack {self.id} has no use case {use_case_id!r}")


@dataclass(frozen=True)
class SiriPack(_PackBase):
    """A pack scored by SIRI-style bands per dimension."""

    blocks: tuple[Principle, ...]
    dimensions: tuple[Dimension, ...]
    prioritisation: SiriPrioritisation
    method: Literal["siri-bands"] = "siri-bands"

    def dimension(self, dimension_id: str) -> Dimension:
        """Return the dimension ``dimension_id`` or raise ``KeyError``."""
        for dimension in self.dimensions:
            if dimension.id == dimension_id:
                return dimension
        raise KeyError(f"pack {self.id} has no dimension {dimension_id!r}")


Pack = CapabilityPack | SiriPack
