"""A site's operational goal per pack: KPI weights, cost profile, SIRI horizon, roadmap capacity.

The goal drives the ranking of gaps (``prioritisation``) and the roadmap's steps per quarter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.assessment.models import SiteGoal
from lighthouse_os.assessment.prioritisation import cost_kpi_weights
from lighthouse_os.assessment.results import GoalSpec
from lighthouse_os.auth.models import Site
from lighthouse_os.auth.policy import Action, Principal
from lighthouse_os.auth.service import authorize_site
from lighthouse_os.db.base import utcnow
from lighthouse_os.errors import InvalidInput
from lighthouse_os.framework import service as packs
from lighthouse_os.framework.pack import CapabilityPack, Pack, SiriPack
from lighthouse_os.text import N_

MAX_WEIGHT = 100.0
MAX_CAPACITY = 10
DEFAULT_CAPACITY = 2


def _weights_problem(weights: Mapping[str, float], known: set[str]) -> str | None:
    if any(k not in known for k in weights):
        return N_("Unknown entry for this framework pack.")
    if any(not math.isfinite(v) or not 0 <= v <= MAX_WEIGHT for v in weights.values()):
        return N_("Weights must be numbers from 0 to 100.")
    return None


def _cost_problem(pack: Pack, profile: Mapping[str, float]) -> str | None:
    categories = pack.prioritisation.cost_categories
    problem = _weights_problem(profile, {c.id for c in categories})
    if problem or not any(v > 0 for v in profile.values()) or isinstance(pack, SiriPack):
        return problem
    try:  # the core's own check: a profile must act on at least one KPI of the pack
        cost_kpi_weights(categories, {k: v for k, v in profile.items() if v > 0})
    except ValueError:
        return N_("These cost categories act on no KPI of the pack.")
    return None


def goal_problems(pack: Pack, goal: GoalSpec) -> dict[str, str]:
    """Field -> problem (English msgid) for every invalid part of ``goal``; {} when valid."""
    found = {
        "kpi_weights": _weights_problem(goal.kpi_weights, {k.id for k in pack.kpis}),
        "cost_profile": _cost_problem(pack, goal.cost_profile),
        "capacity": None
        if 1 <= goal.capacity <= MAX_CAPACITY
        else N_("Choose 1 to 10 steps per quarter."),
    }
    if isinstance(pack, SiriPack):
        horizons = {h.id for h in pack.prioritisation.horizons}
        industries = {i.id for i in pack.prioritisation.industries}
        if goal.horizon not in ("", *horizons):
            found["horizon"] = N_("Unknown planning horizon.")
        if goal.industry not in ("", *industries):
            found["industry"] = N_("Unknown industry.")
    return {name: problem for name, problem in found.items() if problem is not None}


def goal_spec(row: SiteGoal | None) -> GoalSpec:
    """The stored goal as the core's value object (the default goal when none is stored)."""
    if row is None:
        return GoalSpec()
    return GoalSpec(
        kpi_weights=dict(row.kpi_weights),
        cost_profile=dict(row.cost_profile),
        horizon=row.horizon,
        industry=row.industry,
        capacity=row.capacity,
    )


def stored_goal(session: Session, site_id: int, pack_id: str) -> SiteGoal | None:
    """The site's goal row for a pack, if any."""
    return session.scalar(
        select(SiteGoal).where(SiteGoal.site_id == site_id, SiteGoal.pack_id == pack_id)
    )


def site_goal(
    session: Session, principal: Principal, site_ref: int | str, pack_id: str
) -> tuple[Site, Pack, GoalSpec]:
    """The site's goal for a pack and the pack's latest version (to name KPIs and categories)."""
    site = authorize_site(session, principal, site_ref, Action.SITE_READ)
    pack = packs.pack_of(session, packs.find_record(session, pack_id))
    return site, pack, goal_spec(stored_goal(session, site.id, pack_id))


def set_goal(
    session: Session, principal: Principal, site_ref: int | str, pack_id: str, goal: GoalSpec
) -> GoalSpec:
    """Store the site's goal for a pack, checked against its latest version; zero weights are
    dropped, as they do not count in the ranking."""
    site = authorize_site(session, principal, site_ref, Action.SITE_WRITE)
    pack = packs.pack_of(session, packs.find_record(session, pack_id))
    problems = goal_problems(pack, goal)
    if problems:
        raise InvalidInput("the goal is not valid", fields=problems)
    row = stored_goal(session, site.id, pack_id)
    if row is None:
        row = SiteGoal(site_id=site.id, pack_id=pack_id)
        session.add(row)
    row.kpi_weights = {k: float(v) for k, v in goal.kpi_weights.items() if v > 0}
    row.cost_profile = {k: float(v) for k, v in goal.cost_profile.items() if v > 0}
    row.horizon, row.industry, row.capacity = goal.horizon, goal.industry, goal.capacity
    row.updated_by, row.updated_at = principal.user_id, utcnow()
    session.commit()
    return goal_spec(row)


def is_capability_pack(pack: Pack) -> bool:
    """True for capability-level packs (they have a roadmap); False for SIRI-style packs."""
    return isinstance(pack, CapabilityPack)
