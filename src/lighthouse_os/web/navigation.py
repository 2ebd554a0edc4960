"""The main navigation as data: each feature adds its entry here."""

from __future__ import annotations

from dataclasses import dataclass

from lighthouse_os.text import N_


@dataclass(frozen=True)
class NavItem:
    """One link of the top navigation; `label` is an English msgid translated at render time."""

    path: str
    label: str
    public: bool = False


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("/", N_("Home"), public=True),
    NavItem("/sites", N_("Sites")),
    NavItem("/assessments", N_("Maturity")),
    NavItem("/assets", N_("Assets")),
    NavItem("/kpi", N_("Factory KPIs")),
    NavItem("/alerts", N_("Alerts")),
    NavItem("/environment", N_("Environment")),
    NavItem("/public/air", N_("Air quality"), public=True),
)
