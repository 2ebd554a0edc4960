"""Results of one assessment: effective levels, group means, ranked gaps, roadmap, radar, peers.

Pure core: it only wires the other cores (``scoring``, ``prioritisation``, ``roadmap``) together.

- effective level of an item = the assessor's reviewed level when there is one, else the
  self-assessed level; unrated items are left out everywhere;
- group means (principles/areas, or SIRI blocks/pillars) = ``scoring.mean_score``;
- ranking = ``rank_capability_gaps`` (capability packs) or ``rank_dimensions`` (SIRI);
- roadmap = ``build_roadmap`` from the quarter after the assessment date (capability packs);
- radar axes = principles (mean level) or SIRI dimensions (band); the target of an item is
  max(level, target); peer medians per axis come only from at least ``min_sites`` sites.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from lighthouse_os.assessment.prioritisation import (
    Goal,
    Ranked,
    SiriGoal,
    capability_gaps,
    rank_capability_gaps,
    rank_dimensions,
)
from lighthouse_os.assessment.roadmap import Roadmap, build_roadmap
from lighthouse_os.assessment.scoring import AggregateScore, mean_score, score_siri_groups
from lighthouse_os.framework.pack import CapabilityPack, Pack, SiriPack, Text


@dataclass(frozen=True)
class ItemState:
    """What the results need of one item: self level, target and the reviewed level."""

    self_level: int | None
    target: int | None = None
    reviewed_level: int | None = None

    @property
    def level(self) -> int | None:
        """Effective level: reviewed when an assessor adjusted it, else self-assessed."""
        return self.reviewed_level if self.reviewed_level is not None else self.self_level


@dataclass(frozen=True)
class GoalSpec:
    """A site's goal as stored: KPI weights, cost shares, SIRI horizon and industry, capacity."""

    kpi_weights: Mapping[str, float] = field(default_factory=dict)
    cost_profile: Mapping[str, float] = field(default_factory=dict)
    horizon: str = ""
    industry: str = ""
    capacity: int = 2


@dataclass(frozen=True)
class Radar:
    """Chart series over ``axes`` (id, label); None where a value is unknown or withheld."""

    axes: tuple[tuple[str, Text], ...]
    current: tuple[float | None, ...]
    target: tuple[float | None, ...]
    peer: tuple[float | None, ...] = ()
    peer_sites: int = 0


@dataclass(frozen=True)
class Results:
    """Everything the result pages and exports show for one assessment."""

    levels: Mapping[str, int]
    targets: Mapping[str, int]
    groups: tuple[AggregateScore, ...]
    areas: tuple[AggregateScore, ...]
    ranked: tuple[Ranked, ...]
    roadmap: Roadmap | None
    radar: Radar
    ignored_goal: tuple[str, ...] = ()


def effective_levels(states: Mapping[str, ItemState]) -> dict[str, int]:
    """Item -> effective level, rated items only."""
    return {i: s.level for i, s in states.items() if s.level is not None}


def next_quarter(day: date) -> tuple[int, int]:
    """(year, quarter 1..4) of the calendar quarter after the one holding ``day``."""
    quarter = (day.month - 1) // 3 + 1
    return (day.year + 1, 1) if quarter == 4 else (day.year, quarter + 1)


def group_scores(
    pack: Pack, levels: Mapping[str, int]
) -> tuple[tuple[AggregateScore, ...], tuple[AggregateScore, ...]]:
    """(principle or block means, area or pillar means), formula in ``scoring.mean_score``."""
    if isinstance(pack, SiriPack):
        scores = score_siri_groups(pack, levels)
        return (
            tuple(s for s in scores if s.scope == "block"),
            tuple(s for s in scores if s.scope == "pillar"),
        )
    groups = tuple(
        mean_score(
            "principle", pr.id, [c.id for c in pack.capabilities if c.principle == pr.id], levels
        )
        for pr in pack.principles
    )
    areas = tuple(
        mean_score(
            "area",
            a.id,
            [c.id for c in pack.capabilities if c.principle == pr.id and c.area == a.id],
            levels,
        )
        for pr in pack.principles
        for a in pr.areas
    )
    return groups, areas


def _usable(weights: Mapping[str, float], known: set[str]) -> tuple[dict[str, float], list[str]]:
    kept = {k: float(v) for k, v in weights.items() if k in known and v > 0}
    return kept, sorted(k for k in weights if k not in known)


def _rank(
    pack: Pack, levels: Mapping[str, int], targets: Mapping[str, int], goal: GoalSpec
) -> tuple[tuple[Ranked, ...], tuple[str, ...]]:
    """Rank with the goal's ids that this pack version knows; ignored ids are returned."""
    kpis, ignored = _usable(goal.kpi_weights, {k.id for k in pack.kpis})
    categories = {c.id for c in pack.prioritisation.cost_categories}
    costs, ignored_costs = _usable(goal.cost_profile, categories)
    ignored += ignored_costs
    if isinstance(pack, SiriPack):
        horizons = [h.id for h in pack.prioritisation.horizons]
        industries = {i.id for i in pack.prioritisation.industries}
        siri_goal = SiriGoal(
            horizon=goal.horizon if goal.horizon in horizons else horizons[0],
            kpi_weights=kpis,
            cost_profile=costs or None,
            industry=goal.industry if goal.industry in industries else None,
        )
        return rank_dimensions(pack, levels, siri_goal), tuple(ignored)
    gaps = capability_gaps(pack, levels, targets)
    return rank_capability_gaps(pack, Goal(kpis, costs or None), gaps), tuple(ignored)


def radar(pack: Pack, levels: Mapping[str, int], targets: Mapping[str, int]) -> Radar:
    """Current and target series; capability packs by principle, SIRI packs by dimension."""
    aims = {i: max(lv, targets.get(i, lv)) for i, lv in levels.items()}
    if isinstance(pack, SiriPack):
        axes = tuple((d.id, d.name) for d in pack.dimensions)
        now = tuple(_float(levels.get(d.id)) for d in pack.dimensions)
        aim = tuple(_float(aims.get(d.id)) for d in pack.dimensions)
        return Radar(axes, now, aim)
    current, target = axis_values(pack, levels), axis_values(pack, aims)
    axes = tuple((pr.id, pr.name) for pr in pack.principles)
    return Radar(
        axes, tuple(current.get(a) for a, _ in axes), tuple(target.get(a) for a, _ in axes)
    )


def _float(value: int | None) -> float | None:
    return None if value is None else float(value)


def axis_values(pack: Pack, levels: Mapping[str, int]) -> dict[str, float]:
    """Radar axis -> value for one site: principle means, or dimension bands (SIRI)."""
    if isinstance(pack, SiriPack):
        return {d.id: float(levels[d.id]) for d in pack.dimensions if d.id in levels}
    groups, _ = group_scores(pack, levels)
    return {g.scope_id: g.mean for g in groups if g.mean is not None}


def peer_medians(per_site: Sequence[Mapping[str, float]], min_sites: int) -> dict[str, float]:
    """Median of each key over the sites that have it, kept only when >= ``min_sites`` sites do.

    Formula: statistics.median (mean of the two middle values for an even count). The threshold
    is the platform's rule that aggregates cover at least ``MIN_AGGREGATE_SITES`` sites.
    """
    keys = {k for values in per_site for k in values}
    out = {}
    for key in sorted(keys):
        values = [site[key] for site in per_site if key in site]
        if len(values) >= min_sites:
            out[key] = statistics.median(values)
    return out


def with_peers(chart: Radar, medians: Mapping[str, float], sites: int) -> Radar:
    """The chart with a peer series, or unchanged when no axis has a median."""
    if not medians:
        return chart
    peer = tuple(medians.get(a) for a, _ in chart.axes)
    return Radar(chart.axes, chart.current, chart.target, peer, sites)


def compute_results(
    pack: Pack, states: Mapping[str, ItemState], goal: GoalSpec, day: date
) -> Results:
    """Every result of an assessment of ``pack`` dated ``day`` (rules in the module docstring)."""
    levels = effective_levels(states)
    targets = {i: s.target for i, s in states.items() if s.target is not None and i in levels}
    groups, areas = group_scores(pack, levels)
    ranked, ignored = _rank(pack, levels, targets, goal)
    roadmap = None
    if isinstance(pack, CapabilityPack):
        roadmap = build_roadmap(
            pack, ranked, levels, max(1, goal.capacity), start=next_quarter(day)
        )
    return Results(
        levels, targets, groups, areas, ranked, roadmap, radar(pack, levels, targets), ignored
    )


@dataclass(frozen=True)
class CompareRow:
    """One item of a comparison: its level in assessment A and B and the change."""

    item_id: str
    name: Text
    group: Text
    a: int | None
    b: int | None

    @property
    def delta(self) -> int | None:
        """b - a, when both are rated."""
        return None if self.a is None or self.b is None else self.b - self.a


def compare_rows(pack: Pack, a: Mapping[str, int], b: Mapping[str, int]) -> tuple[CompareRow, ...]:
    """Rows for every item of ``pack`` (the later assessment's pack) rated in A or B."""
    if isinstance(pack, SiriPack):
        blocks = {blk.id: blk.name for blk in pack.blocks}
        items = [(d.id, d.name, blocks[d.block]) for d in pack.dimensions]
    else:
        principles = {pr.id: pr.name for pr in pack.principles}
        items = [(c.id, c.name, principles[c.principle]) for c in pack.capabilities]
    return tuple(
        CompareRow(i, name, group, a.get(i), b.get(i))
        for i, name, group in items
        if i in a or i in b
    )
