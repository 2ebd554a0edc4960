"""Rank capability gaps and SIRI dimensions by expected impact on a site's goal (pure core).

Capability packs (WEF Lighthouse OS, 2025, "rank the practices by their expected impact on the
site's operational goal, using the capability -> use case -> KPI links")
-----------------------------------------------------------------------------------------------
The goal is a set of KPIs with weights ``w_k`` (normalised to sum to 1) and, optionally, a cost
profile: shares ``s_j`` of the site's cost per cost category ``j`` (normalised to sum to 1). Each
category lists the KPIs through which its cost shows; its share is spread equally over them,
giving cost weights ``c_k`` (renormalised to sum to 1). For a gap of capability ``x`` from the
current level ``L`` to the target ``T`` (``L + 1`` when no target is set), with relevance
``r_xk`` in {0, 1, 3} from the pack:

* KPI relevance      ``R = sum_k w_k * r_xk / 3``                                 in [0, 1]
* cost relevance     ``C = sum_k c_k * r_xk / 3``                                 in [0, 1]
* gap size           ``G = (T - L) / 5``                                          in [0, 1]
* use-case impact    ``U = sum_k w_k * min(1, e_xk / ref)``                       in [0, 1]

``e_xk`` is the expected favourable change of KPI ``k`` in percent: the largest midpoint of the
reported range among the use cases linked to ``x`` that report on ``k``; when none does, the
KPI's prior (e.g. the GLN cohort average) scaled by ``r_xk / 3``, because a cohort average is
not specific to one capability. ``ref`` is the pack's ``impact_reference_pct``.

The score is ``S = a*R + b*C + g*G + u*U`` with the pack's weights ``(a, b, g, u)``, which are
this project's defaults, not official figures. A factor without input (no cost profile, or no
goal KPIs for ``R`` and ``U``) is dropped and the remaining weights are rescaled to sum to 1.
Ties are broken by the lower current level (foundations first), then by id.

SIRI packs (Smart Industry Readiness Index prioritisation: cost profile, KPIs, best in class)
-----------------------------------------------------------------------------------------------
For dimension ``d`` assessed at band ``b_d`` with best-in-class band ``B_d`` (from the site's
override, else the industry default in the pack, else 5):
``C = sum_j s_j * rel_dj / 3``, ``K = sum_k w_k * r_dk / 3``, ``G = max(0, B_d - b_d) / 5``
and ``S = h_C*C + h_K*K + h_G*G`` with the horizon's weights ``h`` from the pack (again the
project's defaults; the official weights and tables are not public). Factors are scaled by their
fixed maxima (relevance 3, five bands), not by the other dimensions, so a score does not move
when another dimension is reassessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from lighthouse_os.framework.pack import (
    Capability,
    CapabilityPack,
    CostCategory,
    Dimension,
    Kpi,
    Lang,
    SiriPack,
    Text,
)

Factor = Literal["kpi_relevance", "cost_relevance", "gap", "use_case_impact"]
MAX_RELEVANCE = 3.0
MAX_STEPS = 5.0
TOP_BAND = 5


@dataclass(frozen=True)
class Goal:
    """A site's operational goal: KPI weights (any non-negative scale) and optional cost shares."""

    kpi_weights: Mapping[str, float]
    cost_profile: Mapping[str, float] | None = None


@dataclass(frozen=True)
class CapabilityGap:
    """Move ``capability_id`` from ``current`` to ``target`` (target > current)."""

    capability_id: str
    current: int
    target: int


@dataclass(frozen=True)
class Evidence:
    """An expected KPI change and where it comes from (a use case or a KPI prior)."""

    kpi_id: str
    kind: Literal["use_case", "kpi_prior"]
    ref_id: str
    name: Text
    low_pct: float
    high_pct: float
    expected_pct: float
    source: Text


@dataclass(frozen=True)
class Reason:
    """One factor of a score: its value in [0, 1], weight, contribution and structured details.

    ``kpis`` holds (KPI id, relevance, weight) for relevance factors; ``evidence`` the use-case
    or prior figures for the impact factor; ``gap`` (from, to) for the gap factor.
    """

    factor: Factor
    value: float
    weight: float
    kpis: tuple[tuple[str, int, float], ...] = ()
    evidence: tuple[Evidence, ...] = ()
    gap: tuple[int, int] | None = None

    @property
    def contribution(self) -> float:
        """weight * value."""
        return self.weight * self.value


@dataclass(frozen=True)
class Ranked:
    """A ranked item (capability gap or SIRI dimension) that explains its rank."""

    rank: int
    item_id: str
    name: Text
    score: float
    reasons: tuple[Reason, ...]
    gap: CapabilityGap | None = None
    kpi_names: Mapping[str, Text] = field(default_factory=dict)
    category_names: Mapping[str, Text] = field(default_factory=dict)
    unit: Literal["level", "band"] = "level"

    @property
    def explanation(self) -> Text:
        """ "Ranked #n because ...", in Vietnamese and English, built from ``reasons``."""
        return Text(vi=self._explain("vi"), en=self._explain("en"))

    def _explain(self, lang: Lang) -> str:
        parts = [
            _render_reason(r, lang, self.unit, self.kpi_names, self.category_names)
            for r in sorted(self.reasons, key=lambda r: -r.contribution)
            if r.contribution > 0
        ]
        score = f"{self.score:.2f}"
        if lang == "vi":
            body = "; ".join(parts) or "không có yếu tố nào nổi bật"
            return f"Xếp hạng #{self.rank} (điểm {score.replace('.', ',')}) vì: {body}."
        body = "; ".join(parts) or "no factor stands out"
        return f"Ranked #{self.rank} (score {score}) because: {body}."


def _pct(value: float) -> str:
    return f"{value:+.0f}%".replace("-", "−")


def _kpi_list(
    items: Sequence[tuple[str, int, float]], lang: Lang, names: Mapping[str, Text]
) -> str:
    strong = {3: ("mạnh", "strongly"), 1: ("một phần", "partly")}
    out = []
    for key, rel, weight in items[:3]:
        word = strong.get(rel, ("", ""))[0 if lang == "vi" else 1]
        label = names[key].get(lang) if key in names else key
        out.append(f"{label} ({word}, {weight:.0%})")
    return ", ".join(out)


def _render_reason(
    reason: Reason,
    lang: Lang,
    unit: Literal["level", "band"],
    kpis: Mapping[str, Text],
    categories: Mapping[str, Text],
) -> str:
    vi = lang == "vi"
    if reason.factor == "kpi_relevance":
        listed = _kpi_list(reason.kpis, lang, kpis)
        return f"liên quan đến KPI mục tiêu {listed}" if vi else f"relevant to goal KPIs {listed}"
    if reason.factor == "cost_relevance":
        listed = _kpi_list(reason.kpis, lang, {**kpis, **categories})
        if vi:
            return f"tác động đến cơ cấu chi phí qua {listed}"
        return f"acts on the cost profile via {listed}"
    if reason.factor == "gap" and reason.gap is not None:
        return _render_gap(reason.gap, lang, unit)
    return "; ".join(_render_evidence(e, lang, kpis) for e in reason.evidence[:2])


def _render_gap(gap: tuple[int, int], lang: Lang, unit: Literal["level", "band"]) -> str:
    lo, hi = gap
    if unit == "band":
        if lang == "vi":
            return f"thấp hơn mức tốt nhất trong ngành {hi - lo} bậc ({lo} → {hi})"
        return f"{hi - lo} band(s) below best in class ({lo} → {hi})"
    if lang == "vi":
        return f"khoảng cách {hi - lo} mức ({lo} → {hi})"
    return f"a gap of {hi - lo} level(s) ({lo} → {hi})"


def _render_evidence(ev: Evidence, lang: Lang, kpis: Mapping[str, Text]) -> str:
    kpi = kpis[ev.kpi_id].get(lang) if ev.kpi_id in kpis else ev.kpi_id
    span = f"{_pct(ev.low_pct)} … {_pct(ev.high_pct)}"
    source = ev.source.get(lang).rstrip(". ")  # the sentence supplies its own full stop
    if ev.kind == "use_case":
        if lang == "vi":
            return f"tình huống “{ev.name.vi}” ghi nhận {kpi} {span} (nguồn: {source})"
        return f"use case “{ev.name.en}” reports {kpi} {span} (source: {source})"
    if lang == "vi":
        return f"giá trị tham chiếu {kpi} {span} (nguồn: {source})"
    return f"prior for {kpi} {span} (source: {source})"


def normalise(weights: Mapping[str, float], what: str) -> dict[str, float]:
    """Scale non-negative weights to sum 1; ValueError on a negative value or an all-zero set."""
    negative = [k for k, v in weights.items() if v < 0]
    if negative:
        raise ValueError(f"{what} must not be negative: {', '.join(sorted(negative))}")
    total = sum(weights.values())
    if total <= 0:
        raise ValueError(f"{what} must have a positive total")
    return {k: v / total for k, v in weights.items() if v > 0}


def _check_known(ids: Sequence[str], known: set[str], what: str) -> None:
    unknown = sorted(set(ids) - known)
    if unknown:
        raise ValueError(f"unknown {what}: {', '.join(unknown)}")


def active_weights(
    weights: Mapping[Factor, float], *, has_kpis: bool, has_costs: bool
) -> dict[Factor, float]:
    """Drop factors without input and rescale the rest to sum 1; ValueError if nothing is left.

    KPI relevance and use-case impact need goal KPIs; cost relevance needs a cost profile.
    """
    needs = {"kpi_relevance": has_kpis, "use_case_impact": has_kpis, "cost_relevance": has_costs}
    kept = {f: w for f, w in weights.items() if needs.get(f, True)}
    total = sum(kept.values())
    if total <= 0:
        raise ValueError("no prioritisation factor has both input and a positive weight")
    return {f: w / total for f, w in kept.items()}


def cost_kpi_weights(
    categories: Sequence[CostCategory], profile: Mapping[str, float]
) -> dict[str, float]:
    """c_k: each category's cost share spread equally over its KPIs, renormalised to sum 1."""
    _check_known(list(profile), {c.id for c in categories}, "cost categories")
    shares = normalise(profile, "cost profile")
    out: dict[str, float] = {}
    for category in categories:
        for kpi in category.kpis:
            out[kpi] = out.get(kpi, 0.0) + shares.get(category.id, 0.0) / len(category.kpis)
    if sum(out.values()) <= 0:
        raise ValueError("the cost profile touches no KPI of the pack")
    return normalise(out, "cost KPI weights")


def _relevance(
    table: Mapping[str, int], weights: Mapping[str, float]
) -> tuple[float, tuple[tuple[str, int, float], ...]]:
    items = sorted(
        ((k, table.get(k, 0), w) for k, w in weights.items() if table.get(k, 0) > 0),
        key=lambda item: (-item[1] * item[2], item[0]),
    )
    return sum(w * rel / MAX_RELEVANCE for _, rel, w in items), tuple(items)


def expected_evidence(pack: CapabilityPack, capability: Capability, kpi: Kpi) -> Evidence | None:
    """Best expected favourable change of ``kpi`` for ``capability`` (see the module docstring)."""
    best: Evidence | None = None
    for use_case in (pack.use_case(u) for u in capability.use_cases):
        rng = use_case.kpi_impact.get(kpi.id)
        if rng is None:
            continue
        expected = kpi.favourable(rng.midpoint_pct)
        if expected > 0 and (best is None or expected > best.expected_pct):
            best = Evidence(
                kpi.id,
                "use_case",
                use_case.id,
                use_case.name,
                rng.low_pct,
                rng.high_pct,
                expected,
                use_case.source,
            )
    relevance = capability.kpis.get(kpi.id, 0)
    if best is not None or kpi.prior is None or relevance == 0:
        return best
    expected = kpi.favourable(kpi.prior.change_pct) * relevance / MAX_RELEVANCE
    if expected <= 0:
        return None
    source = Text(
        vi=f"{kpi.prior.basis.vi}; {kpi.prior.source}",
        en=f"{kpi.prior.basis.en}; {kpi.prior.source}",
    )
    change = kpi.prior.change_pct
    return Evidence(kpi.id, "kpi_prior", kpi.id, kpi.name, change, change, expected, source)


def _impact(
    pack: CapabilityPack, capability: Capability, weights: Mapping[str, float]
) -> tuple[float, tuple[Evidence, ...]]:
    ref = pack.prioritisation.impact_reference_pct
    evidence = [
        ev for k in weights if (ev := expected_evidence(pack, capability, pack.kpi(k))) is not None
    ]
    value = sum(weights[ev.kpi_id] * min(1.0, ev.expected_pct / ref) for ev in evidence)
    evidence.sort(key=lambda ev: (-weights[ev.kpi_id] * ev.expected_pct, ev.kpi_id))
    return value, tuple(evidence)


def capability_gaps(
    pack: CapabilityPack, current: Mapping[str, int], targets: Mapping[str, int] | None = None
) -> tuple[CapabilityGap, ...]:
    """Gaps of the assessed capabilities: to the target when one is set, else to the next level.

    Capabilities at or above their target, or at their top level, have no gap.
    """
    _check_known(list(current), {c.id for c in pack.capabilities}, "capabilities")
    gaps = []
    for cap in pack.capabilities:
        if cap.id not in current:
            continue
        level = current[cap.id]
        target = (targets or {}).get(cap.id, level + 1)
        target = min(target, cap.max_level)
        if target > level:
            gaps.append(CapabilityGap(cap.id, level, target))
    return tuple(gaps)


def _names(pack: CapabilityPack | SiriPack) -> dict[str, Text]:
    return {k.id: k.name for k in pack.kpis}


def rank_capability_gaps(
    pack: CapabilityPack, goal: Goal, gaps: Sequence[CapabilityGap]
) -> tuple[Ranked, ...]:
    """Rank ``gaps`` by S = a*R + b*C + g*G + u*U (formula in the module docstring), best first.

    Units: every factor and S are dimensionless in [0, 1]. ValueError on unknown KPI, cost
    category or capability ids, on negative weights, or on a gap whose target is not above L.
    """
    kpi_w = normalise(goal.kpi_weights, "goal KPI weights") if goal.kpi_weights else {}
    _check_known(list(kpi_w), {k.id for k in pack.kpis}, "KPIs")
    cost_w = _cost_weights(pack.prioritisation.cost_categories, goal.cost_profile)
    w = pack.prioritisation.weights
    weights = active_weights(
        {
            "kpi_relevance": w.kpi_relevance,
            "cost_relevance": w.cost_relevance,
            "gap": w.gap,
            "use_case_impact": w.use_case_impact,
        },
        has_kpis=bool(kpi_w),
        has_costs=bool(cost_w),
    )
    scored = [_score_gap(pack, gap, kpi_w, cost_w, weights) for gap in gaps]
    scored.sort(key=lambda item: (-item[0], item[1].current, item[1].capability_id))
    names = {c.id: c.name for c in pack.prioritisation.cost_categories}
    return tuple(
        Ranked(
            i + 1,
            gap.capability_id,
            pack.capability(gap.capability_id).name,
            score,
            reasons,
            gap,
            _names(pack),
            names,
        )
        for i, (score, gap, reasons) in enumerate(scored)
    )


def _cost_weights(
    categories: Sequence[CostCategory], profile: Mapping[str, float] | None
) -> dict[str, float]:
    return cost_kpi_weights(categories, profile) if profile else {}


def _score_gap(
    pack: CapabilityPack,
    gap: CapabilityGap,
    kpi_w: Mapping[str, float],
    cost_w: Mapping[str, float],
    weights: Mapping[Factor, float],
) -> tuple[float, CapabilityGap, tuple[Reason, ...]]:
    cap = pack.capability(gap.capability_id)
    if not 0 <= gap.current < gap.target <= cap.max_level:
        raise ValueError(f"gap {gap.current} -> {gap.target} of {cap.id} is not a step up")
    relevance, kpi_items = _relevance(cap.kpis, kpi_w)
    cost, cost_items = _relevance(cap.kpis, cost_w)
    impact, evidence = _impact(pack, cap, kpi_w)
    values: dict[Factor, Reason] = {
        "kpi_relevance": Reason("kpi_relevance", relevance, 0.0, kpis=kpi_items),
        "cost_relevance": Reason("cost_relevance", cost, 0.0, kpis=cost_items),
        "gap": Reason(
            "gap", (gap.target - gap.current) / MAX_STEPS, 0.0, gap=(gap.current, gap.target)
        ),
        "use_case_impact": Reason("use_case_impact", impact, 0.0, evidence=evidence),
    }
    reasons = tuple(_weighted(values[f], w) for f, w in weights.items())
    return sum(r.contribution for r in reasons), gap, reasons


def _weighted(reason: Reason, weight: float) -> Reason:
    return Reason(reason.factor, reason.value, weight, reason.kpis, reason.evidence, reason.gap)


@dataclass(frozen=True)
class SiriGoal:
    """A SIRI prioritisation goal: planning horizon, KPI weights, cost shares, best in class.

    ``best_in_class`` overrides the ``industry`` defaults of the pack per dimension; without
    either, best in class is the top band (5).
    """

    horizon: str
    kpi_weights: Mapping[str, float] = field(default_factory=dict)
    cost_profile: Mapping[str, float] | None = None
    industry: str | None = None
    best_in_class: Mapping[str, int] | None = None


def best_in_class_bands(pack: SiriPack, goal: SiriGoal) -> dict[str, int]:
    """Best-in-class band per dimension: override, else industry default, else 5."""
    defaults: Mapping[str, int] = {}
    if goal.industry is not None:
        industries = {i.id: i for i in pack.prioritisation.industries}
        _check_known([goal.industry], set(industries), "industries")
        defaults = industries[goal.industry].best_in_class
    override = goal.best_in_class or {}
    _check_known(list(override), {d.id for d in pack.dimensions}, "dimensions")
    return {d.id: override.get(d.id, defaults.get(d.id, TOP_BAND)) for d in pack.dimensions}


def rank_dimensions(pack: SiriPack, bands: Mapping[str, int], goal: SiriGoal) -> tuple[Ranked, ...]:
    """Rank assessed dimensions by S = h_C*C + h_K*K + h_G*G (module docstring), best first.

    Units: dimensionless in [0, 1]. Unassessed dimensions (absent from ``bands``) are left out.
    Ties go to the lower band, then the dimension number. ValueError on unknown ids, bands
    outside 0..5 or an unknown horizon.
    """
    horizons = {h.id: h for h in pack.prioritisation.horizons}
    _check_known([goal.horizon], set(horizons), "horizons")
    _check_known(list(bands), {d.id for d in pack.dimensions}, "dimensions")
    kpi_w = normalise(goal.kpi_weights, "goal KPI weights") if goal.kpi_weights else {}
    _check_known(list(kpi_w), {k.id for k in pack.kpis}, "KPIs")
    categories = {c.id: c.name for c in pack.prioritisation.cost_categories}
    cost_w = normalise(goal.cost_profile, "cost profile") if goal.cost_profile else {}
    _check_known(list(cost_w), set(categories), "cost categories")
    h = horizons[goal.horizon].weights
    weights = active_weights(
        {"cost_relevance": h.cost_relevance, "kpi_relevance": h.kpi_relevance, "gap": h.gap},
        has_kpis=bool(kpi_w),
        has_costs=bool(cost_w),
    )
    best = best_in_class_bands(pack, goal)
    scored = [
        _score_dimension(dim, bands[dim.id], best[dim.id], kpi_w, cost_w, weights)
        for dim in pack.dimensions
        if dim.id in bands
    ]
    scored.sort(key=lambda item: (-item[0], item[1], item[2].number))
    return tuple(
        Ranked(i + 1, dim.id, dim.name, score, reasons, None, _names(pack), categories, "band")
        for i, (score, _, dim, reasons) in enumerate(scored)
    )


def _score_dimension(
    dim: Dimension,
    band: int,
    best: int,
    kpi_w: Mapping[str, float],
    cost_w: Mapping[str, float],
    weights: Mapping[Factor, float],
) -> tuple[float, int, Dimension, tuple[Reason, ...]]:
    if not 0 <= band <= TOP_BAND:
        raise ValueError(f"band {band} of {dim.id} is outside 0..{TOP_BAND}")
    kpi_value, kpi_items = _relevance(dim.kpis, kpi_w)
    cost_value, cost_items = _relevance(dim.cost_relevance, cost_w)
    values: dict[Factor, Reason] = {
        "cost_relevance": Reason("cost_relevance", cost_value, 0.0, kpis=cost_items),
        "kpi_relevance": Reason("kpi_relevance", kpi_value, 0.0, kpis=kpi_items),
        "gap": Reason("gap", max(0, best - band) / MAX_STEPS, 0.0, gap=(band, best)),
    }
    reasons = tuple(_weighted(values[f], w) for f, w in weights.items())
    return sum(r.contribution for r in reasons), band, dim, reasons
