"""The KPI engine over the store: machines' ISO 22400 elements, KPIs, energy and power factor.

Each machine (asset level `machine`) is measured through tags named by convention below its
path: `state` (kind state; names map onto ISO 22400 buckets with `DEFAULT_STATE_MAP`),
`good_count` and `scrap_count` (cumulative counters), `energy_kwh` and `kvarh` (cumulative
registers). Time elements come from `queries.state_seconds` inside each period's planned busy
time; quantities from `queries.increments`. Lines and the site sum their machines' elements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from lighthouse_os.kpi import factors
from lighthouse_os.kpi.emissions import GridFactor, emission_intensity, grid_factor_for
from lighthouse_os.kpi.energy import VN_PF_THRESHOLD, power_factor, specific_energy
from lighthouse_os.kpi.iso22400 import (
    APT_ZERO,
    DEFAULT_STATE_MAP,
    NO_FAILURES,
    PBT_ZERO,
    PQ_ZERO,
    Bucket,
    Kpis,
    Quantities,
    TimeElements,
)
from lighthouse_os.kpi.periods import Period
from lighthouse_os.kpi.queries import KpiReader, LabelledSpan, run_concurrently

LEVELS: tuple[str, ...] = ("machine", "line", "site")
SIGNALS = ("state", "good_count", "scrap_count", "energy_kwh", "kvarh", "power_kw")
NO_PRI = (
    "no ideal cycle time (PRI) in the product master / "
    "chưa có thời gian chu kỳ lý tưởng (PRI) trong danh mục sản phẩm"
)


class LevelError(ValueError):
    """An unknown aggregation level."""


@dataclass(frozen=True)
class Machine:
    """A machine with the series ids of its conventional tags and its PRI."""

    path: str
    name: str
    line: str
    line_name: str
    tags: dict[str, int]
    states: tuple[str, ...]
    pri_s: float | None
    product: str | None


@dataclass(frozen=True)
class Plant:
    """A site's machines, as the KPI engine sees them."""

    site_code: str
    site_name: str
    machines: tuple[Machine, ...]

    def ids(self, signal: str) -> list[int]:
        """Series ids of one signal across the machines that have it."""
        return [m.tags[signal] for m in self.machines if signal in m.tags]


# -- measuring machines -------------------------------------------------------------------------


@dataclass
class Elements:
    """Summed ISO 22400-2 inputs of one unit (machine, line or site) over one period."""

    pot_s: float = 0.0
    pbt_calendar_s: float = 0.0
    pdot_state_s: float = 0.0
    apt_s: float = 0.0
    aust_s: float = 0.0
    adet_s: float = 0.0
    adot_s: float = 0.0
    pq: float = 0.0
    gq: float = 0.0
    failures: int = 0
    ideal_s: float | None = 0.0
    ideal_good_s: float | None = 0.0
    missing_pri: list[str] = field(default_factory=list)
    by_state: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, other: Elements) -> None:
        """Sum `other` into this (a line or the site over its machines)."""
        self.pot_s += other.pot_s
        self.pbt_calendar_s += other.pbt_calendar_s
        self.pdot_state_s += other.pdot_state_s
        self.apt_s += other.apt_s
        self.aust_s += other.aust_s
        self.adet_s += other.adet_s
        self.adot_s += other.adot_s
        self.pq += other.pq
        self.gq += other.gq
        self.failures += other.failures
        self.ideal_s = _plus(self.ideal_s, other.ideal_s)
        self.ideal_good_s = _plus(self.ideal_good_s, other.ideal_good_s)
        self.missing_pri += other.missing_pri
        for state, seconds in other.by_state.items():
            self.by_state[state] += seconds


def _plus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _bucket(name: str) -> Bucket | None:
    return DEFAULT_STATE_MAP.get(name.strip().lower())


def _state_name(machine: Machine, code: float | None) -> str | None:
    if code is None:
        return None
    index = int(code)
    return machine.states[index] if 0 <= index < len(machine.states) else f"#{index}"


def measure(
    reader: KpiReader, plant: Plant, period_list: Sequence[Period], now: datetime
) -> dict[tuple[str, datetime], Elements]:
    """Elements of every machine in every period, from two queries over the store."""
    spans = [LabelledSpan(p.start, s, e) for p in period_list for s, e in p.busy]
    # The last state holds until the end of the last busy span (clipped to `now` already).
    end = max((s.end for s in spans), default=now)
    state_rows, counts = run_concurrently(
        reader,
        lambda: reader.state_seconds(plant.ids("state"), spans, end),
        lambda: reader.increments(plant.ids("good_count") + plant.ids("scrap_count"), spans),
    )
    by_series = {sid: (m, sig) for m in plant.machines for sig, sid in m.tags.items()}
    out: dict[tuple[str, datetime], Elements] = {}
    for p in period_list:
        for m in plant.machines:
            pbt = sum((e - s).total_seconds() for s, e in p.busy)
            out[(m.path, p.start)] = Elements(pot_s=p.pot_s, pbt_calendar_s=pbt)
    for row in state_rows.to_pylist():
        machine, _signal = by_series[row["series_id"]]
        _add_state(out[(machine.path, row["period_start"])], machine, row)
    for row in counts.to_pylist():
        machine, signal = by_series[row["series_id"]]
        target = out[(machine.path, row["period_start"])]
        target.pq += row["value"]
        target.gq += row["value"] if signal == "good_count" else 0.0
    machines = {m.path: m for m in plant.machines}
    for (path, _start), elements in out.items():
        _value_counts(elements, machines[path])
    return out


def _add_state(target: Elements, machine: Machine, row: dict[str, object]) -> None:
    name = _state_name(machine, row["value"])  # type: ignore[arg-type]
    prev = _state_name(machine, row["prev"])  # type: ignore[arg-type]
    seconds = float(row["seconds"])  # type: ignore[arg-type]
    bucket = _bucket(name or "")
    target.by_state[name or "?"] += seconds
    if bucket is Bucket.APT:
        target.apt_s += seconds
    elif bucket is Bucket.AUST:
        target.aust_s += seconds
    elif bucket is Bucket.ADET:
        target.adet_s += seconds
    elif bucket is Bucket.ADOT:
        target.adot_s += seconds
        # A failure is entering the ADOT bucket from outside it (ISO 22400-2 MTBF/MTTR).
        if prev is None or _bucket(prev) is not Bucket.ADOT:
            target.failures += int(row["entries"])  # type: ignore[call-overload]
    elif bucket is Bucket.PDOT:
        target.pdot_state_s += seconds


def _value_counts(elements: Elements, machine: Machine) -> None:
    if machine.pri_s is None:
        elements.ideal_s = elements.ideal_good_s = None if elements.pq else 0.0
        if elements.pq:
            elements.missing_pri.append(machine.path)
    else:
        elements.ideal_s = machine.pri_s * elements.pq
        elements.ideal_good_s = machine.pri_s * elements.gq


# -- KPIs from elements -------------------------------------------------------------------------


def time_elements(e: Elements) -> TimeElements:
    """ISO 22400-2 time elements: PBT = calendar PBT − time in states mapped to PDOT."""
    pbt = max(e.pbt_calendar_s - e.pdot_state_s, 0.0)
    accounted = e.apt_s + e.aust_s + e.adet_s + e.adot_s
    return TimeElements(
        pot_s=e.pot_s,
        pdot_s=e.pot_s - pbt,
        pbt_s=pbt,
        apt_s=e.apt_s,
        aust_s=e.aust_s,
        adet_s=e.adet_s,
        adot_s=e.adot_s,
        unaccounted_s=max(pbt - accounted, 0.0),
    )


def kpis(e: Elements) -> tuple[Kpis, dict[str, str]]:
    """ISO 22400-2 KPIs of summed elements, each `None` with a reason where undefined.

    A = APT/PBT; E = Σ(PRI×PQ)/APT; Q = GQ/PQ; OEE = A×E×Q (Σ(PRI×GQ)/PBT when E or Q is
    undefined); scrap ratio = SQ/PQ; throughput = PQ/APT per hour; setup ratio = AUST/PBT;
    MTBF = APT/failures; MTTR = ADOT/failures (the same formulas as `iso22400.compute_oee`).
    """
    t, u = time_elements(e), dict[str, str]()
    availability = _ratio(t.apt_s, t.pbt_s, "availability", PBT_ZERO, u)
    if e.ideal_s is None:
        u["effectiveness"] = NO_PRI
        effectiveness = None
    else:
        effectiveness = _ratio(e.ideal_s, t.apt_s, "effectiveness", APT_ZERO, u)
    quality = _ratio(e.gq, e.pq, "quality_ratio", PQ_ZERO, u)
    oee: float | None
    if availability is not None and effectiveness is not None and quality is not None:
        oee = availability * effectiveness * quality
    elif e.ideal_good_s is not None:
        oee = _ratio(e.ideal_good_s, t.pbt_s, "oee", PBT_ZERO, u)
    else:
        oee, u["oee"] = None, NO_PRI
    return (
        Kpis(
            availability=availability,
            effectiveness=effectiveness,
            quality_ratio=quality,
            oee=oee,
            scrap_ratio=_ratio(e.pq - e.gq, e.pq, "scrap_ratio", PQ_ZERO, u),
            throughput_per_h=_ratio(e.pq * 3600.0, t.apt_s, "throughput_per_h", APT_ZERO, u),
            setup_ratio=_ratio(t.aust_s, t.pbt_s, "setup_ratio", PBT_ZERO, u),
            mtbf_s=_ratio(t.apt_s, e.failures, "mtbf_s", NO_FAILURES, u),
            mttr_s=_ratio(t.adot_s, e.failures, "mttr_s", NO_FAILURES, u),
        ),
        u,
    )


def _ratio(
    num: float, den: float, name: str, reason: str, undefined: dict[str, str]
) -> float | None:
    if den == 0:
        undefined[name] = reason
        return None
    return num / den


def quantities(e: Elements) -> Quantities:
    """PQ, GQ and SQ inside planned busy time (counts outside it are not read)."""
    return Quantities(e.pq, e.gq, e.pq - e.gq, 0.0)


@dataclass(frozen=True)
class OeeRow:
    """KPIs of one machine, line or the site over one period, with their inputs."""

    level: str
    key: str
    name: str
    period: Period
    elements: Elements
    time: TimeElements
    quantities: Quantities
    kpis: Kpis
    undefined: dict[str, str]


def _row(level: str, key: str, name: str, period: Period, e: Elements) -> OeeRow:
    values, undefined = kpis(e)
    return OeeRow(level, key, name, period, e, time_elements(e), quantities(e), values, undefined)


def group_rows(
    plant: Plant,
    period_list: Sequence[Period],
    measured: dict[tuple[str, datetime], Elements],
    level: str,
) -> list[OeeRow]:
    """Rows of machines, of lines (sums over their machines) or of the site, per period."""
    if level not in LEVELS:
        raise LevelError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    rows = []
    for p in period_list:
        groups: dict[tuple[str, str], Elements] = {}
        for m in plant.machines:
            total = groups.setdefault(group_key(plant, m, level), Elements())
            # A line's or the site's elements are sums over its machines (ISO 22400-2 work centre).
            total.add(measured[(m.path, p.start)])
        rows += [_row(level, k, n, p, e) for (k, n), e in sorted(groups.items())]
    return rows


def group_key(plant: Plant, machine: Machine, level: str) -> tuple[str, str]:
    """(key, name) of the machine, its line or the site."""
    if level == "machine":
        return machine.path, machine.name
    if level == "line":
        return machine.line, machine.line_name
    return plant.site_code, plant.site_name


# -- energy, emissions and power factor ---------------------------------------------------------


@dataclass(frozen=True)
class EnergyRow:
    """Energy of one machine, line or the site over one period, and what follows from it."""

    level: str
    key: str
    name: str
    period: Period
    kwh: float
    kvarh: float
    good_units: float
    kwh_per_unit: float | None
    t_co2: float
    kg_co2_per_unit: float | None
    power_factor: float | None
    undefined: dict[str, str]


def _ranges(period_list: Sequence[Period], now: datetime) -> list[LabelledSpan]:
    return [
        LabelledSpan(p.start, p.start, min(p.end, now))
        for p in period_list
        if p.start < min(p.end, now)
    ]


def good_units(
    reader: KpiReader, plant: Plant, period_list: Sequence[Period]
) -> dict[tuple[str, datetime], float]:
    """GQ of every machine in every period: the good-count increments inside planned busy time.

    The same counter query over the same spans as `measure`, without the time model: energy per
    good unit needs GQ only, and the states query is the larger part of `measure`.
    """
    out = {(m.path, p.start): 0.0 for p in period_list for m in plant.machines}
    spans = [LabelledSpan(p.start, s, e) for p in period_list for s, e in p.busy]
    by_series = {m.tags["good_count"]: m for m in plant.machines if "good_count" in m.tags}
    for row in reader.increments(list(by_series), spans).to_pylist():
        out[(by_series[row["series_id"]].path, row["period_start"])] += row["value"]
    return out


def period_energy(
    reader: KpiReader, plant: Plant, period_list: Sequence[Period], now: datetime
) -> dict[tuple[str, str, datetime], float]:
    """kWh (`energy_kwh`) and kvarh (`kvarh`) of every machine in every period, keyed by
    (machine path, signal, period start): register increments over the whole period, nights
    too, not only busy time."""
    table = reader.increments(
        plant.ids("energy_kwh") + plant.ids("kvarh"), _ranges(period_list, now)
    )
    by_series = {sid: (m, sig) for m in plant.machines for sig, sid in m.tags.items()}
    energy: dict[tuple[str, str, datetime], float] = defaultdict(float)
    for row in table.to_pylist():
        machine, signal = by_series[row["series_id"]]
        energy[(machine.path, signal, row["period_start"])] += row["value"]
    return energy


def energy_rows(
    plant: Plant,
    period_list: Sequence[Period],
    energy: dict[tuple[str, str, datetime], float],
    good: dict[tuple[str, datetime], float],
    level: str,
    factor_year: int | None = None,
) -> tuple[GridFactor, tuple[EnergyRow, ...]]:
    """kWh and kvarh per period (`energy`, see `period_energy`), kWh and kgCO2 per good unit
    (`good`: GQ per machine path and period start, see `good_units`) with the grid factor of
    `factor_year` (default: the latest official one)."""
    factor = grid_factor_for(factors.grid_factors(), factor_year)
    rows = []
    for p in period_list:
        groups: dict[tuple[str, str], list[float]] = {}
        for m in plant.machines:
            sums = groups.setdefault(group_key(plant, m, level), [0.0, 0.0, 0.0])
            sums[0] += energy.get((m.path, "energy_kwh", p.start), 0.0)
            sums[1] += energy.get((m.path, "kvarh", p.start), 0.0)
            sums[2] += good[(m.path, p.start)]
        rows += [
            energy_row(level, k, n, p, v[0], v[1], v[2], factor.t_co2_per_mwh)
            for (k, n), v in sorted(groups.items())
        ]
    return factor, tuple(rows)


def energy_row(
    level: str,
    key: str,
    name: str,
    p: Period,
    kwh: float,
    kvarh: float,
    gq: float,
    t_per_mwh: float,
) -> EnergyRow:
    """Energy of one unit and period: SEC = kWh/GQ, tCO2 = kWh × factor / 1000, PF."""
    undefined: dict[str, str] = {}
    sec = specific_energy(kwh, gq)
    t_co2 = kwh * t_per_mwh / 1000.0
    intensity = emission_intensity(t_co2, gq)
    pf = power_factor(kwh, kvarh)
    for name_, reason in (
        ("kwh_per_unit", sec.undefined_reason),
        ("power_factor", pf.undefined_reason),
    ):
        if reason:
            undefined[name_] = reason
    if intensity.undefined_reason:
        undefined["kg_co2_per_unit"] = intensity.undefined_reason
    return EnergyRow(
        level,
        key,
        name,
        p,
        kwh,
        kvarh,
        gq,
        sec.kwh_per_unit,
        t_co2,
        intensity.kg_co2e_per_unit,
        pf.value,
        undefined,
    )


@dataclass(frozen=True)
class PowerFactorRow:
    """Hourly power factor of one machine: intervals below the threshold and the period's PF."""

    key: str
    name: str
    intervals: int
    below: int
    share_below: float | None
    period_pf: float | None
    kwh: float
    kvarh: float


def power_factor_rows(
    reader: KpiReader, plant: Plant, start: datetime, end: datetime
) -> tuple[PowerFactorRow, ...]:
    """The hourly PF rows of every machine with energy registers over [start, end)."""
    hours: list[LabelledSpan] = []
    cursor = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while cursor < end and len(hours) < 24 * 93:
        hours.append(
            LabelledSpan(cursor, max(cursor, start), min(cursor + timedelta(hours=1), end))
        )
        cursor += timedelta(hours=1)
    table = reader.increments(plant.ids("energy_kwh") + plant.ids("kvarh"), hours)
    by_series = {sid: (m, sig) for m in plant.machines for sig, sid in m.tags.items()}
    # Per machine, per hour (as integer microseconds: a month is thousands of cells): kWh and
    # kvarh, hours in the order the query returns them.
    cells: dict[str, dict[int, dict[str, float]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(float))
    )
    columns = (
        table["series_id"].to_pylist(),
        table["period_start"].cast(pa.int64()).to_pylist(),
        table["value"].to_pylist(),
    )
    for series_id, hour, value in zip(*columns, strict=True):
        machine, signal = by_series[series_id]
        cells[machine.path][hour][signal] += value
    rows = []
    for m in plant.machines:
        if "energy_kwh" not in m.tags:
            continue
        mine = list(cells[m.path].values())
        values = [power_factor(max(c["energy_kwh"], 0.0), max(c["kvarh"], 0.0)).value for c in mine]
        known = [v for v in values if v is not None]
        below = sum(v < VN_PF_THRESHOLD for v in known)
        kwh, kvarh = sum(c["energy_kwh"] for c in mine), sum(c["kvarh"] for c in mine)
        total = power_factor(max(kwh, 0.0), max(kvarh, 0.0))
        share = below / len(known) if known else None
        rows.append(
            PowerFactorRow(m.path, m.name, len(known), below, share, total.value, kwh, kvarh)
        )
    return tuple(rows)


def pareto(e: Elements) -> tuple[tuple[str, float], ...]:
    """Lost time by state (downtime reasons), largest first; producing time is not a loss."""
    losses = [
        (s, v)
        for s, v in e.by_state.items()
        if _bucket(s) not in (Bucket.APT, Bucket.PDOT) and v > 0
    ]
    return tuple(sorted(losses, key=lambda item: -item[1]))


def current_states(reader: KpiReader, plant: Plant) -> dict[str, str]:
    """The last reported state name of each machine."""
    table = reader.latest(plant.ids("state"))
    by_series = {m.tags["state"]: m for m in plant.machines if "state" in m.tags}
    return {
        by_series[r["series_id"]].path: _state_name(by_series[r["series_id"]], r["value"]) or "?"
        for r in table.to_pylist()
    }
