"""GHG Protocol emissions: Scope 1 from fuels, Scope 2 location- and market-based, intensity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

OFFICIAL = "official"
NO_UNITS = "no units produced in the period / không có sản phẩm trong kỳ"


class EmissionsInputError(ValueError):
    """Activity data or factors cannot be used."""


@dataclass(frozen=True)
class GridFactor:
    """Grid emission factor of one year, in tCO2/MWh (= kgCO2/kWh), with provenance."""

    year: int
    t_co2_per_mwh: float
    source: str
    status: str


@dataclass(frozen=True)
class FuelFactor:
    """Scope 1 factor of one fuel in kgCO2e per activity unit, with provenance."""

    fuel: str
    unit: str
    kg_co2e_per_unit: float
    source: str
    status: str


@dataclass(frozen=True)
class FuelUse:
    """An amount of fuel burned on site, in the factor's unit."""

    fuel: str
    amount: float


@dataclass(frozen=True)
class Scope1Line:
    """Emissions of one fuel and the factor used."""

    amount: float
    t_co2e: float
    factor: FuelFactor


@dataclass(frozen=True)
class Scope1Result:
    """Scope 1 total in tCO2e and one line per fuel."""

    t_co2e: float
    lines: tuple[Scope1Line, ...]


@dataclass(frozen=True)
class Scope2Location:
    """Scope 2 location-based emissions and the grid factor used."""

    kwh: float
    t_co2e: float
    factor: GridFactor


@dataclass(frozen=True)
class ContractCover:
    """kWh covered by a contract or certificate (e.g. a REC at 0 tCO2/MWh)."""

    kwh: float
    t_co2_per_mwh: float
    instrument: str


@dataclass(frozen=True)
class Scope2Market:
    """Scope 2 market-based emissions: covered kWh at contract factors, the rest at the grid."""

    kwh: float
    t_co2e: float
    covered_kwh: float
    residual_kwh: float
    covers: tuple[ContractCover, ...]
    residual_factor: GridFactor


@dataclass(frozen=True)
class Intensity:
    """Emissions per unit of output in kgCO2e per unit, or `None` with the reason."""

    kg_co2e_per_unit: float | None
    undefined_reason: str | None = None


def default_grid_factor(factors: Sequence[GridFactor]) -> GridFactor:
    """The latest year whose status is `official`; estimates are never the default."""
    official = [f for f in factors if f.status == OFFICIAL]
    if not official:
        raise EmissionsInputError("no official grid emission factor in the table")
    return max(official, key=lambda f: f.year)


def grid_factor_for(factors: Sequence[GridFactor], year: int | None = None) -> GridFactor:
    """The factor of `year` (any status; callers show it), or the default if `year` is None."""
    if year is None:
        return default_grid_factor(factors)
    for factor in factors:
        if factor.year == year:
            return factor
    years = ", ".join(str(f.year) for f in sorted(factors, key=lambda f: f.year))
    raise EmissionsInputError(f"no grid emission factor for {year}; available years: {years}")


def scope1(uses: Sequence[FuelUse], factors: dict[str, FuelFactor]) -> Scope1Result:
    """GHG Protocol Scope 1 from stationary combustion: E = Σ amountᵢ × EFᵢ / 1000 (tCO2e).

    amount in the factor's unit (L, kg, GJ); EF in kgCO2e per unit (IPCC 2006 Tier 1 defaults).
    """
    lines = []
    for use in uses:
        factor = factors.get(use.fuel)
        if factor is None:
            raise EmissionsInputError(f"unknown fuel {use.fuel!r}; known: {', '.join(factors)}")
        if use.amount < 0:
            raise EmissionsInputError(f"fuel amount must be >= 0, got {use.amount}")
        lines.append(Scope1Line(use.amount, use.amount * factor.kg_co2e_per_unit / 1000.0, factor))
    return Scope1Result(sum(line.t_co2e for line in lines), tuple(lines))


def scope2_location(kwh: float, factor: GridFactor) -> Scope2Location:
    """GHG Protocol Scope 2, location-based: E = kWh × EF_grid / 1000 (tCO2e, EF in tCO2/MWh)."""
    if kwh < 0:
        raise EmissionsInputError(f"electricity must be >= 0 kWh, got {kwh}")
    return Scope2Location(kwh, kwh * factor.t_co2_per_mwh / 1000.0, factor)


def scope2_market(
    kwh: float, covers: Sequence[ContractCover], residual_factor: GridFactor
) -> Scope2Market:
    """GHG Protocol Scope 2, market-based: E = Σ kWh_c × EF_c / 1000 + kWh_residual × EF / 1000.

    Simplification: Vietnam publishes no residual-mix factor, so uncovered kWh use the grid
    factor (which slightly double-counts the attributes sold to certificate holders).
    """
    covered = sum(c.kwh for c in covers)
    if kwh < 0 or any(c.kwh < 0 or c.t_co2_per_mwh < 0 for c in covers):
        raise EmissionsInputError("electricity and contract factors must be >= 0")
    if covered > kwh:
        raise EmissionsInputError(f"contracts cover {covered} kWh, more than the {kwh} kWh used")
    residual = kwh - covered
    t_co2e = (
        sum(c.kwh * c.t_co2_per_mwh for c in covers) + residual * residual_factor.t_co2_per_mwh
    ) / 1000.0
    return Scope2Market(kwh, t_co2e, covered, residual, tuple(covers), residual_factor)


def emission_intensity(t_co2e: float, units: float) -> Intensity:
    """Emission intensity I = E × 1000 / units, in kgCO2e per unit; undefined for zero units."""
    if units < 0:
        raise EmissionsInputError(f"units must be >= 0, got {units}")
    if units == 0:
        return Intensity(None, NO_UNITS)
    return Intensity(t_co2e * 1000.0 / units)
