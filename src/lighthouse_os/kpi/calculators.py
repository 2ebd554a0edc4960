"""Stateless KPI calculators: map the pydantic inputs onto the cores and the results back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from lighthouse_os.kpi import factors
from lighthouse_os.kpi.emissions import (
    ContractCover,
    FuelFactor,
    FuelUse,
    GridFactor,
    grid_factor_for,
    scope1,
    scope2_location,
    scope2_market,
)
from lighthouse_os.kpi.energy import power_factor, reactive_power_charge
from lighthouse_os.kpi.iso22400 import (
    CountIncrement,
    OeeResult,
    PlannedDowntime,
    StateEvent,
    compute_oee,
)
from lighthouse_os.kpi.schemas import (
    EmissionsOutput,
    FactorOut,
    FuelLineOut,
    KpisOut,
    OeeInput,
    OeeOutput,
    PowerFactorOutput,
    QuantitiesOut,
    ReactiveChargeOut,
    Scope1Out,
    Scope2LocationOut,
    Scope2MarketOut,
    TimeElementsOut,
)

MARKET_NOTE = (
    "kWh not covered by contracts or certificates use the grid factor (no residual mix is "
    "published for Vietnam) / phần điện không có hợp đồng, chứng chỉ dùng hệ số lưới điện"
)


def evaluate_oee(payload: OeeInput) -> OeeOutput:
    """ISO 22400-2 KPIs for a validated calculator input."""
    result = compute_oee(
        planned=payload.planned,
        planned_downtime=[PlannedDowntime(s, e, r) for s, e, r in payload.planned_downtime],
        states=[StateEvent(s.ts, s.state) for s in payload.states],
        counts=[
            CountIncrement(c.ts, c.produced, c.good, c.ideal_cycle_time_s) for c in payload.counts
        ],
        ideal_cycle_time_s=payload.ideal_cycle_time_s,
        state_map=payload.state_map,
        now=payload.now,
    )
    return oee_output(result)


def oee_output(result: OeeResult) -> OeeOutput:
    """The published output model of a core result."""
    return OeeOutput(
        time_elements=TimeElementsOut(**asdict(result.time)),
        quantities=QuantitiesOut(**asdict(result.quantities)),
        failures=result.failures,
        kpis=KpisOut(**asdict(result.kpis)),
        undefined=dict(result.undefined),
    )


def _grid_out(factor: GridFactor) -> FactorOut:
    return FactorOut(
        value=factor.t_co2_per_mwh,
        unit="tCO2/MWh",
        source=factor.source,
        status=factor.status,
        year=factor.year,
    )


def _fuel_out(factor: FuelFactor) -> FactorOut:
    return FactorOut(
        value=factor.kg_co2e_per_unit,
        unit=f"kgCO2e/{factor.unit}",
        source=factor.source,
        status=factor.status,
    )


def evaluate_emissions(
    *,
    kwh: float,
    year: int | None = None,
    fuels: Sequence[FuelUse] = (),
    covered_kwh: float = 0.0,
    contract_t_co2_per_mwh: float = 0.0,
) -> EmissionsOutput:
    """Scope 1 and Scope 2 (location and market) in tCO2e with the factors used."""
    grid = grid_factor_for(factors.grid_factors(), year)
    s1 = scope1(fuels, factors.fuel_factors())
    loc = scope2_location(kwh, grid)
    covers = [ContractCover(covered_kwh, contract_t_co2_per_mwh, "contract")] if covered_kwh else []
    market = scope2_market(kwh, covers, grid)
    lines = [
        FuelLineOut(
            fuel=line.factor.fuel,
            amount=line.amount,
            unit=line.factor.unit,
            t_co2e=line.t_co2e,
            factor=_fuel_out(line.factor),
        )
        for line in s1.lines
    ]
    return EmissionsOutput(
        scope1=Scope1Out(t_co2e=s1.t_co2e, lines=lines),
        scope2_location=Scope2LocationOut(kwh=kwh, t_co2e=loc.t_co2e, factor=_grid_out(grid)),
        scope2_market=Scope2MarketOut(
            kwh=kwh,
            t_co2e=market.t_co2e,
            covered_kwh=market.covered_kwh,
            residual_kwh=market.residual_kwh,
            contract_t_co2_per_mwh=contract_t_co2_per_mwh if covers else None,
            residual_factor=_grid_out(grid),
            note=MARKET_NOTE,
        ),
        total_location_t_co2e=s1.t_co2e + loc.t_co2e,
        total_market_t_co2e=s1.t_co2e + market.t_co2e,
    )


def evaluate_power_factor(
    *, kwh: float, kvarh: float, active_charge_vnd: float | None = None
) -> PowerFactorOutput:
    """Power factor of a period, its k% under the reactive-power rule and, given Ta, the charge."""
    pf = power_factor(kwh, kvarh)
    charge = None
    if pf.value is not None:
        table = factors.reactive_charge_table()
        computed = reactive_power_charge(active_charge_vnd or 0.0, pf.value, table)
        charge = ReactiveChargeOut(
            cos_phi_looked_up=computed.cos_phi_looked_up,
            k_percent=computed.k_percent,
            charge_vnd=computed.charge_vnd if active_charge_vnd is not None else None,
            source=computed.source,
            status=computed.status,
            lookup_rule=table.lookup_rule,
        )
    return PowerFactorOutput(
        kwh=kwh,
        kvarh=kvarh,
        power_factor=pf.value,
        below_threshold=pf.below_threshold,
        threshold=pf.threshold,
        undefined_reason=pf.undefined_reason,
        reactive_charge=charge,
    )
