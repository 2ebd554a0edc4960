"""KPI series for KPI rules: machines' hourly power factor and per-shift OEE (KPI service).

A KPI rule sees one sample per completed period, stamped at the period's end. The power factor
of an hour is cos φ = kWh / √(kWh² + kvarh²) of the hour's register increments (kpi/energy.py,
the 0.9 threshold of Circular 15/2014/TT-BCT); OEE, availability, performance and quality of a
shift come from `kpi.service.site_oee` (ISO 22400-2 over the site's shift calendar).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from lighthouse_os.alerts.rules import Point
from lighthouse_os.alerts.targets import kpi_series
from lighthouse_os.auth.models import Site
from lighthouse_os.kpi import service as kpi_service
from lighthouse_os.kpi.energy import power_factor
from lighthouse_os.kpi.queries import KpiReader, LabelledSpan

HOUR = timedelta(hours=1)
MAX_HOURS = 24 * 7  # a first run or a long outage looks back at most a week
# KPI rule name → attribute of the KPI service's `Kpis` (ISO 22400-2 names in brackets).
OEE_FIELDS = {
    "oee": "oee",
    "availability": "availability",  # availability (APT / PBT)
    "performance": "effectiveness",  # effectiveness (PRI × PQ / APT)
    "quality": "quality_ratio",  # quality ratio (GQ / PQ)
}


def _hours(since: datetime, now: datetime) -> list[LabelledSpan]:
    """Complete hours ending after `since` and by `now`, at most `MAX_HOURS` of the newest."""
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    start = max(since.astimezone(UTC), end - MAX_HOURS * HOUR)
    first = start.replace(minute=0, second=0, microsecond=0)
    if first + HOUR <= start:
        first += HOUR
    hours = []
    while first + HOUR <= end:
        if first + HOUR > since:
            hours.append(LabelledSpan(first, first, first + HOUR))
        first += HOUR
    return hours


def power_factor_points(
    session: Session,
    reader: KpiReader,
    site: Site,
    machines: Iterable[str],
    since: datetime,
    now: datetime,
) -> list[Point]:
    """Hourly PF of each machine with `energy_kwh` and `kvarh` registers, per completed hour."""
    wanted = set(machines)
    plant = kpi_service.site_plant(session, site)
    chosen = [m for m in plant.machines if m.path in wanted and "energy_kwh" in m.tags]
    hours = _hours(since, now)
    if not chosen or not hours:
        return []
    by_series = {sid: (m.path, sig) for m in chosen for sig, sid in m.tags.items()}
    ids = [m.tags[s] for m in chosen for s in ("energy_kwh", "kvarh") if s in m.tags]
    cells: dict[tuple[str, datetime], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in reader.increments(ids, hours).to_pylist():
        path, signal = by_series[row["series_id"]]
        cells[(path, row["period_start"])][signal] += row["value"]
    points = []
    for (path, hour), energy in sorted(cells.items(), key=lambda item: (item[0][1], item[0][0])):
        pf = power_factor(max(energy["energy_kwh"], 0.0), max(energy["kvarh"], 0.0)).value
        if pf is not None:
            points.append(Point(kpi_series(path, "power_factor"), hour.astimezone(UTC) + HOUR, pf))
    return points


def shift_points(
    session: Session,
    reader: KpiReader,
    site: Site,
    kpis: Sequence[str],
    machines: Iterable[str],
    since: datetime,
    now: datetime,
) -> list[Point]:
    """OEE (and its factors) of each machine per completed shift ending after `since`."""
    wanted = set(machines)
    since = max(since, now - MAX_HOURS * HOUR)
    if since >= now or not wanted:
        return []
    # Periods are clipped to the range: start a day early and drop the clipped first shift.
    start = since - timedelta(days=1)
    report = kpi_service.site_oee(
        session, reader, site, level="machine", kind="shift", start=start, end=now, now=now
    )
    points = []
    for row in report.rows:
        end = row.period.end
        if row.key not in wanted or end > now or end <= since or row.period.start <= start:
            continue
        for kpi in kpis:
            value = getattr(row.kpis, OEE_FIELDS[kpi])
            if value is not None:
                points.append(Point(kpi_series(row.key, kpi), end.astimezone(UTC), float(value)))
    return sorted(points, key=lambda p: (p.ts, p.series))
