"""Demo seed: submitted assessments, goals (hence ranked gaps and roadmaps) for every demo site.

Deterministic: each site's levels come from a random generator seeded with its code. The SMEs sit
mostly at levels 1-2; the Hi-Tech Park site is higher and has an earlier assessment a year
before, so the comparison page shows its progress. Tân Thuận also has a SIRI assessment.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.assessment import bulk
from lighthouse_os.assessment.goals import goal_problems
from lighthouse_os.assessment.models import Assessment, SiteGoal
from lighthouse_os.assessment.results import GoalSpec
from lighthouse_os.auth.models import Site
from lighthouse_os.db.base import utcnow
from lighthouse_os.errors import InvalidInput
from lighthouse_os.framework import service as packs
from lighthouse_os.framework.pack import CapabilityPack, Pack, SiriPack
from lighthouse_os.settings import Settings

LIGHTHOUSE, SIRI = "lighthouse-os", "siri"


@dataclass(frozen=True)
class Profile:
    """How mature a demo site is: a base level, per-principle offsets, its goal."""

    base: float
    offsets: dict[str, float]
    goal: GoalSpec
    siri_goal: GoalSpec | None = None
    days_ago: int = 35
    earlier_days_ago: int | None = None


PROFILES: dict[str, Profile] = {
    "saigon-precision": Profile(
        2.7,
        {"digital_data": 0.5, "adaptable_processes": 0.4, "sustainability": -0.5},
        GoalSpec(
            {"oee": 3, "defect_rate": 2, "energy_per_unit": 1},
            {"labour": 30, "equipment": 25, "quality": 20, "energy": 15, "inventory": 10},
            capacity=3,
        ),
        days_ago=30,
        earlier_days_ago=395,
    ),
    "tanthuan-electronics": Profile(
        1.9,
        {"connected_flows": 0.4, "digital_data": 0.3},
        GoalSpec(
            {"defect_rate": 3, "on_time_delivery": 2, "lead_time": 1},
            {"labour": 40, "quality": 25, "inventory": 20, "energy": 15},
        ),
        GoalSpec(
            {"defect_rate": 3, "on_time_delivery": 2},
            {"direct_labour": 40, "materials": 30, "quality": 15, "energy_utilities": 15},
            horizon="medium",
            industry="electronics",
        ),
        days_ago=41,
    ),
    "hiepphuoc-foods": Profile(
        1.5,
        {"sustainability": 0.6, "e2e_sync": -0.3},
        GoalSpec(
            {"energy_per_unit": 3, "quality_ratio": 2, "co2_per_unit": 1},
            {"energy": 35, "quality": 25, "labour": 25, "carbon": 15},
        ),
        days_ago=48,
    ),
    "tantao-plastics": Profile(
        1.35,
        {"adaptable_processes": 0.3, "digital_data": -0.4},
        GoalSpec(
            {"energy_per_unit": 2, "oee": 2, "defect_rate": 1},
            {"energy": 40, "equipment": 30, "labour": 30},
        ),
        days_ago=55,
    ),
    "linhtrung-garments": Profile(
        1.4,
        {"learning_org": 0.4, "digital_data": -0.6},
        GoalSpec(
            {"labour_productivity": 3, "lead_time": 2, "on_time_delivery": 1},
            {"labour": 60, "inventory": 25, "quality": 15},
        ),
        days_ago=62,
    ),
    "vinhloc-packaging": Profile(
        1.4,
        {"e2e_sync": -0.3, "adaptable_processes": 0.2},
        GoalSpec(
            {"oee": 2, "changeover_time": 2, "conversion_cost": 1},
            {"equipment": 35, "labour": 35, "energy": 30},
        ),
        days_ago=69,
    ),
}


def _level(rng: random.Random, base: float, top: int) -> int:
    return max(0, min(top, round(base + rng.uniform(-0.8, 0.8))))


def _criteria_row(rng: random.Random, criteria: list[list[str]], level: int) -> dict[str, str]:
    """Met criteria for ``level``: all of levels 1..level and, at times, part of the next."""
    met = [c for lv in criteria[:level] for c in lv]
    if level < len(criteria) and (level == 0 or rng.random() < 0.5):
        nxt = criteria[level]
        met += rng.sample(nxt, rng.randint(1, len(nxt) - 1))
    return {"met": ";".join(met), "level": "" if level == 0 else str(level)}


def _capability_rows(
    pack: CapabilityPack, code: str, profile: Profile, lift: int
) -> list[dict[str, str]]:
    rng = random.Random(f"{code}/{pack.version}/{lift}")
    rows = []
    for cap in pack.capabilities:
        base = profile.base + profile.offsets.get(cap.principle, 0.0) - lift
        level = _level(rng, base, cap.max_level)
        criteria = [[c.id for c in lv.criteria] for lv in cap.levels]
        row = _criteria_row(rng, criteria, level) if rng.random() < 0.6 else {"level": str(level)}
        if level == 0 and "met" in row:
            row["level"] = ""
        if rng.random() < 0.35 and level < cap.max_level:
            row["target"] = str(min(cap.max_level, level + 2))
        row |= {"capability": cap.id, "confidence": rng.choice(("medium", "medium", "high", "low"))}
        rows.append(row)
    return rows


def _siri_rows(pack: SiriPack, code: str, profile: Profile) -> list[dict[str, str]]:
    rng = random.Random(f"{code}/{pack.id}/{pack.version}")
    return [
        {"capability": d.id, "level": str(_level(rng, profile.base, 5)), "confidence": "medium"}
        for d in pack.dimensions
    ]


def _rows(
    code: str, pack: Pack, day: date, profile: Profile, lift: int = 0
) -> list[bulk.ImportRow]:
    items = (
        _siri_rows(pack, code, profile)
        if isinstance(pack, SiriPack)
        else _capability_rows(pack, code, profile, lift)
    )
    common = {"site": code, "pack": pack.id, "version": pack.version, "date": day.isoformat()}
    return [bulk.ImportRow(i + 1, common | item) for i, item in enumerate(items)]


def _goal(session: Session, site: Site, pack: Pack, goal: GoalSpec) -> None:
    problems = goal_problems(pack, goal)
    if problems:  # pragma: no cover - the demo's own data
        raise InvalidInput(f"demo goal of {site.code} is not valid: {problems}")
    session.add(
        SiteGoal(
            site_id=site.id,
            pack_id=pack.id,
            kpi_weights=dict(goal.kpi_weights),
            cost_profile=dict(goal.cost_profile),
            horizon=goal.horizon,
            industry=goal.industry,
            capacity=goal.capacity,
        )
    )


def _plan(session: Session, today: date) -> list[bulk.ImportRow]:
    lighthouse = packs.pack_of(session, packs.find_record(session, LIGHTHOUSE))
    siri = packs.pack_of(session, packs.find_record(session, SIRI))
    sites = {s.code: s for s in session.scalars(select(Site).where(Site.code.in_(PROFILES)))}
    rows: list[bulk.ImportRow] = []
    for code, profile in PROFILES.items():
        if code not in sites:
            continue
        if profile.earlier_days_ago is not None:  # written first, so ids follow the dates
            earlier = today - timedelta(days=profile.earlier_days_ago)
            rows += _rows(code, lighthouse, earlier, profile, lift=1)
        rows += _rows(code, lighthouse, today - timedelta(days=profile.days_ago), profile)
        _goal(session, sites[code], lighthouse, profile.goal)
        if profile.siri_goal is not None:
            rows += _rows(code, siri, today - timedelta(days=profile.days_ago), profile)
            _goal(session, sites[code], siri, profile.siri_goal)
    return [bulk.ImportRow(n, r.values) for n, r in enumerate(rows, start=1)]


def seed_assessments(_settings: Settings, session: Session) -> str:
    """Demo step: once, submitted assessments and goals for every demo site (idempotent)."""
    if session.scalar(select(Assessment.id).where(Assessment.origin == "demo").limit(1)):
        return "demo assessments already present"
    rows = _plan(session, utcnow().date())
    if not rows:
        return "no demo site to assess"
    report = bulk.import_rows(session, rows, origin="demo")
    bulk.require_clean(report)
    return f"{len(report.assessments)} demo assessments with goals, gaps and roadmaps"
