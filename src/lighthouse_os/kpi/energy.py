"""Energy KPIs: register intervals, specific energy, power factor, reactive-power charge."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

# Vietnamese rule: a customer whose cos φ is below 0.9 buys reactive power
# (Circular 15/2014/TT-BCT, Art. on purchase of reactive power; EVN notice of 28 May 2014).
VN_PF_THRESHOLD = 0.9

NO_GOOD_UNITS = "no good units in the period / không có sản phẩm đạt trong kỳ"
NO_ENERGY = "active and reactive energy are both zero / điện năng tác dụng và phản kháng đều bằng 0"


class EnergyInputError(ValueError):
    """Register readings or energy values cannot be used."""


class IntervalFlag(StrEnum):
    """Why an interval's energy is not a plain difference of two consecutive readings."""

    ROLLOVER = "rollover"  # the register wrapped past its maximum
    RESET = "reset"  # the register restarted near zero; energy before the reset is lost
    BRIDGED = "bridged"  # rejected readings were skipped; the interval spans them


class RejectReason(StrEnum):
    """Why a reading was not used as a baseline."""

    NEGATIVE = "negative"
    ABOVE_MAX = "above_max"
    GLITCH = "glitch"  # a drop the next reading contradicts, or unexplained
    SPIKE = "spike"  # a rise the next reading contradicts, or faster than max_rate_per_h


@dataclass(frozen=True)
class RegisterReading:
    """A cumulative register value (kWh or kvarh) at `ts`."""

    ts: datetime
    value: float


@dataclass(frozen=True)
class EnergyInterval:
    """Energy in `[start, end)` in the register's unit; `flags` empty for a plain difference."""

    start: datetime
    end: datetime
    energy: float
    flags: frozenset[IntervalFlag] = frozenset()


@dataclass(frozen=True)
class RejectedReading:
    """A reading that was skipped, with the reason."""

    reading: RegisterReading
    reason: RejectReason


@dataclass(frozen=True)
class RegisterIntervals:
    """Contiguous intervals between trusted readings, and the readings that were skipped."""

    intervals: tuple[EnergyInterval, ...]
    rejected: tuple[RejectedReading, ...]


@dataclass(frozen=True)
class RegisterRules:
    """How to read a register.

    `register_max` is the largest value shown (e.g. 999999.9); the register wraps to 0 after
    `register_max + resolution`. A drop is a rollover when the wrapped difference is at most
    `rollover_band` of that modulus; a reset when the new value is at most `reset_below`.
    `max_rate_per_h` (kW for a kWh register) rejects physically impossible rises.
    """

    register_max: float | None = None
    resolution: float = 0.0
    rollover_band: float = 0.1
    reset_below: float = 1.0
    max_rate_per_h: float | None = None


def register_intervals(
    readings: Sequence[RegisterReading], rules: RegisterRules | None = None
) -> RegisterIntervals:
    """Interval energy (kWh or kvarh) from cumulative register readings.

    E = v₁ − v₀ between trusted readings, sorted by time. A reading is rejected (and bridged
    over) when it is negative or above `register_max`; when it rises but the next reading falls
    back between the baseline and it (SPIKE), or rises faster than `max_rate_per_h`; when it
    drops but the next reading is back at or above the baseline (GLITCH). Any other drop is a
    ROLLOVER (E = modulus − v₀ + v₁) if the wrapped difference is small, else a RESET
    (E = v₁, a lower bound) if v₁ ≤ `reset_below`, else a GLITCH.
    """
    rules = rules or RegisterRules()
    ordered = sorted(readings, key=lambda r: r.ts)
    intervals: list[EnergyInterval] = []
    rejected: list[RejectedReading] = []
    base: RegisterReading | None = None
    for i, reading in enumerate(ordered):
        following = ordered[i + 1] if i + 1 < len(ordered) else None
        outcome = _classify(reading, base, following, rules)
        if isinstance(outcome, RejectReason):
            rejected.append(RejectedReading(reading, outcome))
            continue
        if base is not None:
            bridged = bool(rejected) and rejected[-1].reading.ts > base.ts
            intervals.append(_interval(base, reading, outcome, bridged=bridged))
        base = reading
    return RegisterIntervals(tuple(intervals), tuple(rejected))


_Difference = tuple[float, IntervalFlag | None]


def _classify(
    reading: RegisterReading,
    base: RegisterReading | None,
    following: RegisterReading | None,
    rules: RegisterRules,
) -> RejectReason | _Difference:
    if reading.value < 0:
        return RejectReason.NEGATIVE
    if rules.register_max is not None and reading.value > rules.register_max + rules.resolution:
        return RejectReason.ABOVE_MAX
    if base is None:
        return (0.0, None)
    if reading.value >= base.value:
        return _rise(reading, base, following, rules)
    # A drop that the next reading contradicts is a bad reading, not a wrap or a reset.
    if following is not None and following.value >= base.value:
        return RejectReason.GLITCH
    return _drop(reading, base, rules)


def _rise(
    reading: RegisterReading,
    base: RegisterReading,
    following: RegisterReading | None,
    rules: RegisterRules,
) -> RejectReason | _Difference:
    energy = reading.value - base.value
    if following is not None and base.value <= following.value < reading.value:
        return RejectReason.SPIKE
    if not _plausible(energy, base, reading, rules):
        return RejectReason.SPIKE
    return (energy, None)


def _plausible(
    energy: float, base: RegisterReading, reading: RegisterReading, rules: RegisterRules
) -> bool:
    if rules.max_rate_per_h is None:
        return True
    hours = (reading.ts - base.ts).total_seconds() / 3600.0
    return energy <= rules.max_rate_per_h * hours


def _drop(
    reading: RegisterReading, base: RegisterReading, rules: RegisterRules
) -> RejectReason | _Difference:
    if rules.register_max is not None:
        modulus = rules.register_max + rules.resolution
        wrapped = modulus - base.value + reading.value
        if wrapped <= rules.rollover_band * modulus and _plausible(wrapped, base, reading, rules):
            return (wrapped, IntervalFlag.ROLLOVER)
    if reading.value <= rules.reset_below:
        return (reading.value, IntervalFlag.RESET)
    return RejectReason.GLITCH


def _interval(
    base: RegisterReading, reading: RegisterReading, difference: _Difference, *, bridged: bool
) -> EnergyInterval:
    energy, flag = difference
    flags = {flag} if flag is not None else set()
    if bridged:
        flags.add(IntervalFlag.BRIDGED)
    return EnergyInterval(base.ts, reading.ts, energy, frozenset(flags))


@dataclass(frozen=True)
class SpecificEnergy:
    """kWh per good unit, or `None` with the reason."""

    kwh_per_unit: float | None
    undefined_reason: str | None = None


def specific_energy(kwh: float, good_units: float) -> SpecificEnergy:
    """Specific energy consumption SEC = E / GQ in kWh per good unit (ISO 50006 energy
    performance indicator, ratio form); undefined when no good unit was made."""
    if kwh < 0 or good_units < 0:
        raise EnergyInputError("energy and good units must be >= 0")
    if good_units == 0:
        return SpecificEnergy(None, NO_GOOD_UNITS)
    return SpecificEnergy(kwh / good_units)


@dataclass(frozen=True)
class PowerFactor:
    """Average power factor of an interval and whether it is below the threshold."""

    value: float | None
    below_threshold: bool | None
    threshold: float
    undefined_reason: str | None = None


def power_factor(kwh: float, kvarh: float, *, threshold: float = VN_PF_THRESHOLD) -> PowerFactor:
    """Average power factor cos φ = kWh / √(kWh² + kvarh²) over an interval (dimensionless).

    `kvarh` is the lagging (inductive) reactive energy of the same interval. Flags values below
    `threshold` (0.9 under Circular 15/2014/TT-BCT). Undefined when both energies are zero.
    """
    if kwh < 0 or kvarh < 0:
        raise EnergyInputError("active and reactive energy must be >= 0")
    apparent = math.hypot(kwh, kvarh)
    if apparent == 0:
        return PowerFactor(None, None, threshold, NO_ENERGY)
    value = kwh / apparent
    return PowerFactor(value, value < threshold, threshold)


@dataclass(frozen=True)
class KRow:
    """One row of the reactive-power compensation table: k in % at a given cos φ."""

    cos_phi: float
    k_percent: float


@dataclass(frozen=True)
class ReactiveChargeTable:
    """The k table with its provenance; `status` says whether the values were verified."""

    threshold: float
    rows: tuple[KRow, ...]
    below_table_k_percent: float
    source: str
    status: str
    lookup_rule: str


@dataclass(frozen=True)
class ReactiveCharge:
    """Reactive-power charge Tq = Ta × k% and the table entry used."""

    cos_phi: float
    cos_phi_looked_up: float
    k_percent: float
    charge_vnd: float
    source: str
    status: str


def reactive_power_charge(
    active_energy_charge_vnd: float, cos_phi: float, table: ReactiveChargeTable
) -> ReactiveCharge:
    """Reactive-power charge Tq = Ta × k / 100 in VND, excluding VAT (Circular 15/2014/TT-BCT).

    Ta is the active-energy bill of the metering period (VND, excluding VAT). cos φ is rounded
    half-up to two decimals before the table look-up (our assumption; see `table.lookup_rule`).
    k = 0 at or above the threshold, and `below_table_k_percent` below the lowest row.
    """
    if active_energy_charge_vnd < 0 or not 0 <= cos_phi <= 1:
        raise EnergyInputError("need Ta >= 0 and 0 <= cos φ <= 1")
    rounded = float(Decimal(str(cos_phi)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    k = _k_percent(rounded, table)
    charge = active_energy_charge_vnd * k / 100.0
    return ReactiveCharge(cos_phi, rounded, k, charge, table.source, table.status)


def _k_percent(cos_phi: float, table: ReactiveChargeTable) -> float:
    if cos_phi >= table.threshold:
        return 0.0
    if cos_phi < min(row.cos_phi for row in table.rows):
        return table.below_table_k_percent
    for row in table.rows:
        if math.isclose(row.cos_phi, cos_phi, abs_tol=1e-9):
            return row.k_percent
    raise EnergyInputError(f"the k table has no row for cos φ = {cos_phi:.2f}")
