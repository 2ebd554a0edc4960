"""Turn ranked capability gaps into a quarter-by-quarter roadmap of next-level steps (pure core).

Sequencing rules (levels are cumulative, WEF Lighthouse OS 2025):

1. each gap ``L -> T`` becomes the steps ``L+1, ..., T``; step ``l`` needs step ``l - 1``;
2. a declared prerequisite ``{capability: P, level: m, for_level: f}`` makes every step to a level
   ``>= f`` need ``P`` at level ``m``; when ``P`` is below ``m`` the enabling steps of ``P`` are
   added, marked ``required_by``, with the priority of the step that needs them;
3. a step goes in the first quarter after all the steps it needs (never in the same quarter:
   a level is built and embedded before the next one starts);
4. each quarter takes at most ``capacity`` eligible steps, by rank (best first), then level,
   then capability id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lighthouse_os.assessment.prioritisation import Ranked
from lighthouse_os.framework.graph import find_cycle
from lighthouse_os.framework.pack import CapabilityPack, Criterion, Lang, Text

Step = tuple[str, int]


@dataclass(frozen=True)
class StepUseCase:
    """A use case linked to a step's capability, with its reported KPI ranges in percent."""

    id: str
    name: Text
    kpi_impact: tuple[tuple[str, float, float], ...]
    source: Text


@dataclass(frozen=True)
class RoadmapStep:
    """Raise ``capability_id`` from ``to_level - 1`` to ``to_level`` in ``quarter`` (1-based)."""

    quarter: int
    capability_id: str
    name: Text
    to_level: int
    rank: int
    required_by: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    use_cases: tuple[StepUseCase, ...]

    @property
    def from_level(self) -> int:
        """Level before the step."""
        return self.to_level - 1


@dataclass(frozen=True)
class Roadmap:
    """Steps in schedule order; ``start`` (year, quarter 1..4) labels the first quarter."""

    steps: tuple[RoadmapStep, ...]
    capacity: int
    start: tuple[int, int] | None = None

    @property
    def quarter_count(self) -> int:
        """Number of quarters the roadmap spans."""
        return max((s.quarter for s in self.steps), default=0)

    def quarter_label(self, quarter: int) -> str:
        """``Q3`` (relative) or ``2026-Q3`` when ``start`` is set."""
        if self.start is None:
            return f"Q{quarter}"
        year, first = self.start
        index = first - 1 + quarter - 1
        return f"{year + index // 4}-Q{index % 4 + 1}"


def _targets(ranked: Sequence[Ranked]) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    current: dict[str, int] = {}
    target: dict[str, int] = {}
    rank: dict[str, int] = {}
    for item in ranked:
        if item.gap is None:
            raise ValueError(f"{item.item_id} is not a capability gap")
        cap = item.gap.capability_id
        current[cap] = item.gap.current
        target[cap] = max(target.get(cap, 0), item.gap.target)
        rank[cap] = min(rank.get(cap, item.rank), item.rank)
    return current, target, rank


def _expand(
    pack: CapabilityPack,
    levels: Mapping[str, int],
    target: Mapping[str, int],
    rank: Mapping[str, int],
) -> tuple[dict[Step, int], dict[Step, set[str]], dict[Step, list[Step]]]:
    """Needed steps with their priority, who requires them, and what each needs."""
    priority: dict[Step, int] = {}
    required_by: dict[Step, set[str]] = {}
    work = [
        (cap, lv, rank[cap], "")
        for cap, top in target.items()
        for lv in range(levels.get(cap, 0) + 1, top + 1)
    ]
    needs: dict[Step, list[Step]] = {}
    while work:
        cap, level, prio, by = work.pop()
        step = (cap, level)
        if by:
            required_by.setdefault(step, set()).add(by)
        if step in priority and priority[step] <= prio:
            continue
        priority[step] = prio
        needs[step] = _needs(pack, levels, step)
        work += [
            (c, lv, prio, cap if c != cap else by) for c, lv in _expanded_needs(levels, needs[step])
        ]
    return priority, required_by, needs


def _needs(pack: CapabilityPack, levels: Mapping[str, int], step: Step) -> list[Step]:
    cap, level = step
    out: list[Step] = [(cap, level - 1)] if level - 1 > levels.get(cap, 0) else []
    for pre in pack.capability(cap).prerequisites:
        if pre.for_level <= level and levels.get(pre.capability, 0) < pre.level:
            out.append((pre.capability, pre.level))
    return out


def _expanded_needs(levels: Mapping[str, int], needs: Sequence[Step]) -> list[Step]:
    # A prerequisite at level m means every step of P from its current level up to m.
    return [(cap, lv) for cap, top in needs for lv in range(levels.get(cap, 0) + 1, top + 1)]


def build_roadmap(
    pack: CapabilityPack,
    ranked: Sequence[Ranked],
    current: Mapping[str, int],
    capacity: int,
    *,
    start: tuple[int, int] | None = None,
) -> Roadmap:
    """Schedule the next-level steps of ``ranked`` gaps into quarters (rules in module docstring).

    ``current`` holds assessed levels (capabilities absent from it count as level 0);
    ``capacity`` is the number of steps a site can take on per quarter (>= 1). ValueError on a
    bad capacity or start, or a prerequisite cycle.
    """
    if capacity < 1:
        raise ValueError(f"capacity must be at least 1 step per quarter, got {capacity}")
    if start is not None and not 1 <= start[1] <= 4:
        raise ValueError(f"start quarter must be 1..4, got {start[1]}")
    gap_levels, target, rank = _targets(ranked)
    levels = {**current, **gap_levels}
    priority, required_by, needs = _expand(pack, levels, target, rank)
    cycle = find_cycle(needs)
    if cycle is not None:
        raise ValueError(
            "prerequisites form a cycle: " + " -> ".join(f"{c} L{lv}" for c, lv in cycle)
        )
    quarters = _schedule(priority, needs, capacity)
    steps = [
        _step(pack, step, quarter, priority[step], required_by.get(step, set()))
        for quarter, batch in enumerate(quarters, start=1)
        for step in batch
    ]
    return Roadmap(tuple(steps), capacity, start)


def _schedule(
    priority: Mapping[Step, int], needs: Mapping[Step, Sequence[Step]], capacity: int
) -> list[list[Step]]:
    done: set[Step] = set()
    left = set(priority)
    quarters: list[list[Step]] = []
    while left:
        eligible = sorted(
            (s for s in left if all(n in done for n in needs[s])),
            key=lambda s: (priority[s], s[1], s[0]),
        )
        if not eligible:  # pragma: no cover - only a cycle, which build_roadmap rejects first
            raise ValueError("steps left that can never be scheduled")
        batch = eligible[:capacity]
        quarters.append(batch)
        done.update(batch)
        left.difference_update(batch)
    return quarters


def _step(
    pack: CapabilityPack, step: Step, quarter: int, rank: int, required_by: set[str]
) -> RoadmapStep:
    cap = pack.capability(step[0])
    use_cases = tuple(
        StepUseCase(
            u.id,
            u.name,
            tuple((k, r.low_pct, r.high_pct) for k, r in u.kpi_impact.items()),
            u.source,
        )
        for u in (pack.use_case(uid) for uid in cap.use_cases)
    )
    criteria = cap.level(step[1]).criteria
    return RoadmapStep(
        quarter, cap.id, cap.name, step[1], rank, tuple(sorted(required_by)), criteria, use_cases
    )


def _impact_text(use_case: StepUseCase) -> str:
    return ", ".join(f"{k} {lo:+g}%…{hi:+g}%" for k, lo, hi in use_case.kpi_impact)


def roadmap_rows(roadmap: Roadmap, lang: Lang) -> list[dict[str, str | int]]:
    """Flat rows, one per step, for CSV (texts in ``lang``; lists joined with ``; ``)."""
    return [
        {
            "quarter": roadmap.quarter_label(s.quarter),
            "order": i,
            "capability_id": s.capability_id,
            "capability": s.name.get(lang),
            "from_level": s.from_level,
            "to_level": s.to_level,
            "rank": s.rank,
            "required_by": "; ".join(s.required_by),
            "criteria": "; ".join(c.id for c in s.criteria),
            "use_cases": "; ".join(u.name.get(lang) for u in s.use_cases),
            "expected_impact": "; ".join(f"{u.id}: {_impact_text(u)}" for u in s.use_cases),
            "sources": "; ".join(u.source.get(lang) for u in s.use_cases),
        }
        for i, s in enumerate(roadmap.steps, start=1)
    ]


def _text(text: Text) -> dict[str, str]:
    return {"vi": text.vi, "en": text.en}


def _step_dict(step: RoadmapStep) -> dict[str, object]:
    return {
        "capability_id": step.capability_id,
        "name": _text(step.name),
        "from_level": step.from_level,
        "to_level": step.to_level,
        "rank": step.rank,
        "required_by": list(step.required_by),
        "criteria": [{"id": c.id, "text": _text(c.text)} for c in step.criteria],
        "use_cases": [
            {
                "id": u.id,
                "name": _text(u.name),
                "kpi_impact": {k: {"low_pct": lo, "high_pct": hi} for k, lo, hi in u.kpi_impact},
                "source": _text(u.source),
            }
            for u in step.use_cases
        ],
    }


def roadmap_to_dict(roadmap: Roadmap) -> dict[str, object]:
    """JSON-ready form: capacity and quarters, each with its label and steps."""
    return {
        "capacity": roadmap.capacity,
        "quarters": [
            {
                "quarter": q,
                "label": roadmap.quarter_label(q),
                "steps": [_step_dict(s) for s in roadmap.steps if s.quarter == q],
            }
            for q in range(1, roadmap.quarter_count + 1)
        ],
    }
