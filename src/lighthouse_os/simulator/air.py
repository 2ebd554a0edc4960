"""Air-quality simulator: deterministic hourly means for Ho Chi Minh City stations.

Levels follow what HCMC stations typically report: PM2.5 around 20–40 µg/m³ as hourly means,
higher in the dry season (December–April) and at the traffic rush hours (07–09, 17–19); NO2 and
CO follow traffic; O3 peaks in the early afternoon; SO2 and PM carry an industrial background
near industrial parks; regional haze episodes and short industrial releases appear at random.
All values are µg/m³ (CO too), as VN_AQI expects. Same arguments → same output.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from lighthouse_os.environment.averaging import HOUR, ICT, HourlyMeans, check_hour_start
from lighthouse_os.environment.scale import POLLUTANTS, Pollutant

Kind = Literal["urban", "roadside", "industrial", "background"]


@dataclass(frozen=True)
class AirStation:
    """A simulated ambient air-quality station."""

    code: str
    name: str
    lat: float
    lon: float
    area: str
    kind: Kind
    parameters: tuple[Pollutant, ...]


@dataclass(frozen=True)
class AirReading:
    """One station hour of simulated means."""

    station: str
    means: HourlyMeans


@dataclass(frozen=True)
class AirSimulation:
    """Station definitions and their hourly readings (ordered by time, then station)."""

    stations: tuple[AirStation, ...]
    readings: tuple[AirReading, ...]

    def hours_for(self, code: str) -> list[HourlyMeans]:
        """The hourly means of one station, in time order."""
        return [r.means for r in self.readings if r.station == code]


# (name, area: district or industrial park, lat, lon, kind)
_SITES: tuple[tuple[str, str, float, float, Kind], ...] = (
    ("Công viên Tao Đàn", "Quận 1", 10.7745, 106.6923, "urban"),
    ("Đinh Bộ Lĩnh", "Quận Bình Thạnh", 10.8030, 106.7110, "roadside"),
    ("KCX Linh Trung", "TP Thủ Đức – KCX Linh Trung", 10.8700, 106.7780, "industrial"),
    ("KCX Tân Thuận", "Quận 7 – KCX Tân Thuận", 10.7600, 106.7330, "industrial"),
    ("KCN Tân Tạo", "Quận Bình Tân – KCN Tân Tạo", 10.7480, 106.5900, "industrial"),
    ("Sân bay Tân Sơn Nhất", "Quận Tân Bình", 10.8160, 106.6630, "urban"),
    ("KCN Hiệp Phước", "Huyện Nhà Bè – KCN Hiệp Phước", 10.6350, 106.7560, "industrial"),
    ("Quang Trung", "Quận Gò Vấp", 10.8380, 106.6650, "roadside"),
    ("KCN Lê Minh Xuân", "Huyện Bình Chánh – KCN Lê Minh Xuân", 10.7560, 106.5250, "industrial"),
    ("KCN Cát Lái", "TP Thủ Đức – KCN Cát Lái", 10.7730, 106.7880, "industrial"),
    ("KCN Tây Bắc Củ Chi", "Huyện Củ Chi – KCN Tây Bắc Củ Chi", 11.0000, 106.5000, "industrial"),
    ("Công viên phần mềm Quang Trung", "Quận 12", 10.8530, 106.6290, "urban"),
    ("Khu dân cư Hóc Môn", "Huyện Hóc Môn", 10.8860, 106.5950, "urban"),
    ("Rừng Sác", "Huyện Cần Giờ", 10.4110, 106.9540, "background"),
)

# Typical hourly means (µg/m³) before the daily, seasonal and random factors.
_BASE: dict[Kind, dict[Pollutant, float]] = {
    "urban": {"pm25": 24, "o3": 42, "no2": 30, "so2": 8, "co": 900},
    "roadside": {"pm25": 29, "o3": 34, "no2": 46, "so2": 10, "co": 1300},
    "industrial": {"pm25": 27, "o3": 38, "no2": 30, "so2": 24, "co": 850},
    "background": {"pm25": 15, "o3": 55, "no2": 9, "so2": 4, "co": 400},
}
# Local hour profiles (mean ≈ 1): traffic peaks 07–09 and 17–19; PM adds night accumulation
# under a shallow boundary layer; O3 is photochemical with its peak at 12–14.
_TRAFFIC = (0.45, 0.4, 0.35, 0.35, 0.45, 0.7, 1.1, 1.55, 1.6, 1.3, 1.05, 1.0,
            1.0, 1.0, 1.05, 1.15, 1.35, 1.65, 1.7, 1.45, 1.15, 0.95, 0.75, 0.6)  # fmt: skip
_PM = (1.0, 0.95, 0.9, 0.9, 0.95, 1.05, 1.2, 1.35, 1.3, 1.1, 0.9, 0.8,
       0.75, 0.75, 0.78, 0.85, 1.0, 1.2, 1.3, 1.25, 1.15, 1.1, 1.05, 1.0)  # fmt: skip
_O3 = (0.35, 0.3, 0.28, 0.27, 0.27, 0.3, 0.4, 0.55, 0.8, 1.1, 1.45, 1.8,
       2.05, 2.15, 2.05, 1.75, 1.35, 0.95, 0.7, 0.55, 0.48, 0.43, 0.4, 0.37)  # fmt: skip
# Dry season (Dec–Apr) traps more particles; the wet season (May–Nov) washes them out.
_PM_SEASON = (1.35, 1.3, 1.25, 1.1, 1.0, 0.9, 0.85, 0.85, 0.9, 0.95, 1.05, 1.25)
_O3_SEASON = (1.15, 1.2, 1.2, 1.1, 0.95, 0.9, 0.85, 0.85, 0.9, 0.95, 1.0, 1.1)


def stations_for(count: int) -> tuple[AirStation, ...]:
    """`count` stations: the HCMC sites in order, then repeats nudged by up to ~1 km."""
    if count < 1:
        raise ValueError("stations must be at least 1")
    out = []
    for k in range(count):
        name, area, lat, lon, kind = _SITES[k % len(_SITES)]
        rounds = k // len(_SITES)
        nudge = 0.009 * rounds  # repeats sit ~1 km north-east of the original site
        params: tuple[Pollutant, ...] = (
            POLLUTANTS if kind != "background" else ("pm25", "pm10", "o3", "no2")
        )
        label = name if rounds == 0 else f"{name} {rounds + 1}"
        out.append(
            AirStation(f"HCM-AQ-{k + 1:03d}", label, lat + nudge, lon + nudge, area, kind, params)
        )
    return tuple(out)


class _Noise:
    """AR(1) noise in log space: slow-moving weather and emission changes."""

    def __init__(self, rng: random.Random, keep: float, sigma: float) -> None:
        self.rng, self.keep, self.sigma, self.state = rng, keep, sigma, 0.0

    def step(self) -> float:
        """Next multiplicative factor exp(e_t), e_t = keep·e_(t−1) + N(0, σ)."""
        self.state = self.keep * self.state + self.rng.gauss(0.0, self.sigma)
        return math.exp(self.state)


class _Episodes:
    """Random episodes: a multiplier that ramps up and down over the episode's hours."""

    def __init__(
        self, rng: random.Random, per_hour: float, hours: tuple[int, int], peak: tuple[float, float]
    ) -> None:
        self.rng, self.per_hour, self.hours, self.peak = rng, per_hour, hours, peak
        self.left, self.length, self.height = 0, 0, 1.0

    def step(self, boost: float = 1.0) -> float:
        """Factor ≥ 1 for this hour; `boost` scales the chance an episode starts."""
        if self.left == 0 and self.rng.random() < self.per_hour * boost:
            self.length = self.left = self.rng.randint(*self.hours)
            self.height = self.rng.uniform(*self.peak)
        if self.left == 0:
            return 1.0
        self.left -= 1
        phase = (self.length - self.left) / (self.length + 1)
        return 1.0 + (self.height - 1.0) * math.sin(math.pi * phase)


@dataclass
class _StationModel:
    station: AirStation
    rng: random.Random
    noise: dict[Pollutant, _Noise]
    release: _Episodes
    coarse_ratio: float


def _model(station: AirStation, seed: int) -> _StationModel:
    rng = random.Random(f"{seed}:{station.code}")
    noise = {p: _Noise(rng, 0.75, 0.12 if p != "o3" else 0.1) for p in POLLUTANTS}
    per_hour = 0.03 / 24 if station.kind == "industrial" else 0.0
    release = _Episodes(rng, per_hour, (2, 6), (2.0, 4.0))
    # Roadside and industrial dust is coarser: a higher PM10/PM2.5 ratio.
    dusty = station.kind in ("industrial", "roadside")
    coarse = rng.uniform(1.6, 1.85) if dusty else rng.uniform(1.4, 1.6)
    return _StationModel(station, rng, noise, release, coarse)


def _hour_values(m: _StationModel, local: datetime, haze: float) -> dict[Pollutant, float]:
    base = _BASE[m.station.kind]
    hour, month = local.hour, local.month - 1
    weekend = 0.85 if local.weekday() >= 5 else 1.0
    working = 1.2 if 8 <= hour <= 17 and local.weekday() < 6 else 0.9
    release = m.release.step()
    traffic = _TRAFFIC[hour] * weekend
    pm25 = base["pm25"] * _PM[hour] * _PM_SEASON[month] * haze * release**0.5
    values: dict[Pollutant, float] = {
        "pm25": pm25 * m.noise["pm25"].step(),
        "o3": base["o3"] * _O3[hour] * _O3_SEASON[month] * m.noise["o3"].step(),
        "no2": base["no2"] * traffic * haze**0.4 * m.noise["no2"].step(),
        "so2": base["so2"] * working * release * m.noise["so2"].step(),
        "co": base["co"] * traffic * haze**0.4 * m.noise["co"].step(),
    }
    values["pm10"] = values["pm25"] * m.coarse_ratio * m.noise["pm10"].step() ** 0.5
    return values


def _means(
    m: _StationModel, start: datetime, values: dict[Pollutant, float], missing: float
) -> HourlyMeans:
    kept: dict[str, float | None] = {}
    for p in POLLUTANTS:
        if p not in m.station.parameters or m.rng.random() < missing:
            kept[p] = None
        else:
            kept[p] = round(values[p], 0 if p == "co" else 1)
    return HourlyMeans(start, **kept)


def simulate_air(
    stations: int,
    start: datetime,
    hours: int,
    seed: int,
    *,
    missing_rate: float = 0.0,
    stations_list: Sequence[AirStation] | None = None,
) -> AirSimulation:
    """Simulate `hours` hourly means from `start` (aware, on the hour) for `stations` stations.

    Deterministic: the same arguments give the same result, and a station's series does not
    depend on how many other stations are simulated. `missing_rate` drops values at random.
    """
    check_hour_start(start)
    if hours < 0 or not 0.0 <= missing_rate <= 1.0:
        raise ValueError("hours must be ≥ 0 and missing_rate within [0, 1]")
    defs = tuple(stations_list) if stations_list is not None else stations_for(stations)
    models = [_model(s, seed) for s in defs]
    region = random.Random(f"{seed}:region")
    weather = _Noise(region, 0.93, 0.07)
    haze = _Episodes(region, 0.04 / 24, (12, 48), (1.5, 2.3))
    readings = []
    for k in range(hours):
        at = start + k * HOUR
        local = at.astimezone(ICT)
        dry = local.month in (12, 1, 2, 3, 4)
        regional = weather.step() * haze.step(boost=2.0 if dry else 0.5)
        for m in models:
            values = _hour_values(m, local, regional)
            readings.append(AirReading(m.station.code, _means(m, at, values, missing_rate)))
    return AirSimulation(defs, tuple(readings))


def diurnal_profile(sim: AirSimulation, pollutant: Pollutant) -> list[float]:
    """Mean of `pollutant` by local hour of day (0–23) over all stations; NaN with no data."""
    sums, counts = [0.0] * 24, [0] * 24
    for r in sim.readings:
        value = r.means.get(pollutant)
        if value is not None:
            hour = r.means.start.astimezone(ICT).hour
            sums[hour] += value
            counts[hour] += 1
    return [s / c if c else math.nan for s, c in zip(sums, counts, strict=True)]
