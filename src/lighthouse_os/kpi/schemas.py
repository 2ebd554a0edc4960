"""Pydantic input and output models of the KPI calculators (CLI and API share them)."""

from __future__ import annotations

import json
from typing import Any, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    model_validator,
)

from lighthouse_os.kpi.iso22400 import Bucket
from lighthouse_os.text import N_, Text


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StateIn(_Model):
    """The machine entered `state` at `ts` (ISO 8601 with offset); it holds until the next."""

    ts: AwareDatetime
    state: str = Field(min_length=1, examples=["running"])


class CountIn(_Model):
    """Units produced and good units reported at `ts` (increments, not running totals)."""

    ts: AwareDatetime
    produced: NonNegativeFloat
    good: NonNegativeFloat
    ideal_cycle_time_s: PositiveFloat | None = Field(
        default=None, description="PRI for this count's product; overrides the top-level value."
    )

    @model_validator(mode="after")
    def _good_within_produced(self) -> Self:
        if self.good > self.produced:
            raise ValueError(f"good ({self.good}) exceeds produced ({self.produced})")
        return self


class OeeInput(_Model):
    """Input of `lhos calc oee`: shift calendar, machine states, counts and ideal cycle time."""

    model_config = ConfigDict(title="OeeInput")

    planned: list[tuple[AwareDatetime, AwareDatetime]] = Field(
        description="Planned operation intervals [start, end) from the shift calendar."
    )
    planned_downtime: list[tuple[AwareDatetime, AwareDatetime, str]] = Field(
        default_factory=list, description="Planned downtime [start, end, reason] (breaks...)."
    )
    states: list[StateIn]
    counts: list[CountIn] = Field(default_factory=list)
    ideal_cycle_time_s: PositiveFloat = Field(description="PRI: ideal cycle time, s per unit.")
    state_map: dict[str, Bucket] | None = Field(
        default=None,
        description="State name -> ISO 22400 bucket; replaces the default map when given.",
    )
    now: AwareDatetime | None = Field(
        default=None, description="Count planned time only before this instant (live shift)."
    )


class TimeElementsOut(_Model):
    """ISO 22400-2 time elements in seconds."""

    pot_s: float
    pdot_s: float
    pbt_s: float
    apt_s: float
    aust_s: float
    adet_s: float
    adot_s: float
    unaccounted_s: float


class QuantitiesOut(_Model):
    """Quantities inside planned busy time; `pq_outside_pbt` were ignored."""

    pq: float
    gq: float
    sq: float
    pq_outside_pbt: float


class KpisOut(_Model):
    """Ratios are fractions 0–1; null where undefined (see `undefined`)."""

    availability: float | None
    effectiveness: float | None
    quality_ratio: float | None
    oee: float | None
    scrap_ratio: float | None
    throughput_per_h: float | None
    setup_ratio: float | None
    mtbf_s: float | None
    mttr_s: float | None


class OeeOutput(_Model):
    """Output of `lhos calc oee`."""

    model_config = ConfigDict(title="OeeOutput")

    time_elements: TimeElementsOut
    quantities: QuantitiesOut
    failures: int
    kpis: KpisOut
    undefined: dict[str, str] = Field(description="KPI name -> why it is undefined.")


class FactorOut(_Model):
    """An emission factor with its provenance."""

    value: float
    unit: str
    source: str
    status: str
    year: int | None = None


class FuelLineOut(_Model):
    """Scope 1 emissions of one fuel."""

    fuel: str
    amount: float
    unit: str
    t_co2e: float
    factor: FactorOut


class Scope1Out(_Model):
    """GHG Protocol Scope 1."""

    t_co2e: float
    lines: list[FuelLineOut]


class Scope2LocationOut(_Model):
    """GHG Protocol Scope 2, location-based."""

    kwh: float
    t_co2e: float
    factor: FactorOut


class Scope2MarketOut(_Model):
    """GHG Protocol Scope 2, market-based (uncovered kWh at the grid factor)."""

    kwh: float
    t_co2e: float
    covered_kwh: float
    residual_kwh: float
    contract_t_co2_per_mwh: float | None
    residual_factor: FactorOut
    note: str


class EmissionsOutput(_Model):
    """Output of `lhos calc emissions`."""

    model_config = ConfigDict(title="EmissionsOutput")

    scope1: Scope1Out
    scope2_location: Scope2LocationOut
    scope2_market: Scope2MarketOut
    total_location_t_co2e: float
    total_market_t_co2e: float


class ReactiveChargeOut(_Model):
    """Reactive-power compensation k% for the period, and the charge when Ta was given."""

    cos_phi_looked_up: float
    k_percent: float
    charge_vnd: float | None
    source: str
    status: str
    lookup_rule: str


class PowerFactorOutput(_Model):
    """Output of `lhos calc power-factor`."""

    model_config = ConfigDict(title="PowerFactorOutput")

    kwh: float
    kvarh: float
    power_factor: float | None
    below_threshold: bool | None
    threshold: float
    undefined_reason: str | None
    reactive_charge: ReactiveChargeOut | None


SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "oee-input": OeeInput,
    "oee-output": OeeOutput,
    "emissions-output": EmissionsOutput,
    "power-factor-output": PowerFactorOutput,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of each published model, keyed by its file stem in docs/kpi/."""
    return {name: model.model_json_schema() for name, model in SCHEMA_MODELS.items()}


def schema_files() -> dict[str, str]:
    """File name -> text of each published JSON Schema, as committed in docs/kpi/."""
    return {
        f"{name}.schema.json": json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        for name, schema in json_schemas().items()
    }


# -- the KPI engine: shift calendar, product master and KPI answers -------------------------------

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class BreakIn(_Model):
    """A planned break inside a shift, local time `HH:MM`."""

    start: str = Field(pattern=HHMM, examples=["10:00"])
    end: str = Field(pattern=HHMM, examples=["10:30"])
    reason: str = Field(default="", max_length=120)


class ShiftIn(_Model):
    """A shift in local time; an end at or before the start ends the next day."""

    name: str = Field(min_length=1, max_length=40)
    start: str = Field(pattern=HHMM, examples=["06:00"])
    end: str = Field(pattern=HHMM, examples=["14:00"])
    breaks: list[BreakIn] = Field(default_factory=list)


class CalendarIn(_Model):
    """A site's shift calendar: IANA time zone, weekdays worked (Monday = 0) and shifts."""

    timezone: str = Field(default="Asia/Ho_Chi_Minh", min_length=1, max_length=64)
    workdays: list[int] = Field(min_length=1, max_length=7)
    shifts: list[ShiftIn] = Field(min_length=1, max_length=6)

    @model_validator(mode="after")
    def _workdays_are_weekdays(self) -> Self:
        if any(not 0 <= day <= 6 for day in self.workdays):
            raise ValueError(Text(N_("workdays are 0 (Monday) to 6 (Sunday)")))
        if len({s.name for s in self.shifts}) != len(self.shifts):
            raise ValueError(Text(N_("shift names must be unique")))
        return self


class CalendarOut(CalendarIn):
    """The calendar in force; `is_default` when the site has not saved its own."""

    is_default: bool


class ProductIn(_Model):
    """A product of the product master: the machine (asset path) and its ideal cycle time."""

    machine: str = Field(min_length=1, max_length=300, examples=["line-1/cnc-1"])
    code: str = Field(min_length=1, max_length=64, examples=["BRK-100"])
    name: str = Field(default="", max_length=200)
    ideal_cycle_time_s: PositiveFloat = Field(description="PRI, seconds per unit.")
    active: bool = Field(default=True, description="The product the machine makes now.")


class ProductOut(ProductIn):
    """A stored product."""

    id: int


class OeeRowOut(_Model):
    """ISO 22400-2 KPIs of one machine, line or the site over one period."""

    level: str
    key: str
    name: str
    period_start: AwareDatetime
    period_end: AwareDatetime
    label: str
    time_elements: TimeElementsOut
    quantities: QuantitiesOut
    failures: int
    ideal_time_s: float | None
    kpis: KpisOut
    undefined: dict[str, str]


class OeeAnswer(_Model):
    """Answer of `GET /api/v1/sites/{site}/kpi/oee`."""

    site: str
    level: str
    period: str
    timezone: str
    start: AwareDatetime
    end: AwareDatetime
    calendar_default: bool
    rows: list[OeeRowOut]
    definitions: dict[str, str]
