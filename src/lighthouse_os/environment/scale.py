"""Breakpoint scales, bands and exact rounding shared by VN_AQI and the US EPA AQI (pure).

Arithmetic is decimal (`decimal.Decimal`, C-accelerated): a concentration is taken as the decimal
it prints as, and the interpolation divides last, so a result that is exactly an integer or a
half (59.35 → 60, 109.5 → 110) stays exact and the rounding rules see the true value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal

Rounding = Literal["ceiling", "half_up"]
Pollutant = Literal["pm25", "pm10", "o3", "no2", "so2", "co"]

# Order matters: it breaks ties for the dominant pollutant (particles first, as both indices
# require a PM parameter and the public reads PM as the headline pollutant).
POLLUTANTS: tuple[Pollutant, ...] = ("pm25", "pm10", "o3", "no2", "so2", "co")
PM_POLLUTANTS: tuple[Pollutant, ...] = ("pm25", "pm10")


@dataclass(frozen=True)
class Segment:
    """One breakpoint row: concentrations [c_low, c_high] map linearly onto [i_low, i_high]."""

    c_low: Decimal
    c_high: Decimal
    i_low: int
    i_high: int


@dataclass(frozen=True)
class Scale:
    """A breakpoint column for one pollutant at one averaging time."""

    key: str
    pollutant: Pollutant
    averaging: str
    unit: str
    segments: tuple[Segment, ...]
    decimals: int | None = None  # EPA truncates the concentration to this many decimals

    @property
    def top(self) -> Decimal:
        """Highest concentration the scale defines."""
        return self.segments[-1].c_high


@dataclass(frozen=True)
class Band:
    """An AQI category with its colour and health advice (vi and en)."""

    key: str
    low: int
    high: int
    name_vi: str
    name_en: str
    rgb: tuple[int, int, int]
    general_vi: str
    general_en: str
    sensitive_vi: str
    sensitive_en: str

    @property
    def hex(self) -> str:
        """Colour as `#rrggbb` for web pages."""
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


@dataclass(frozen=True)
class IndexValue:
    """A sub-index: the exact interpolated value, its integer report, and whether it was capped."""

    raw: Decimal
    value: int
    capped: bool


def exact(value: float) -> Decimal:
    """The decimal the float prints as (so 55.7 is 55.7, not its binary neighbour)."""
    if not math.isfinite(value):
        raise ValueError(f"concentration must be a finite number, got {value!r}")
    return Decimal(repr(value))


# Averages of floats carry noise (twelve 35.9 values average to 35.899999…); a tolerance of 1e-9
# in units of the last kept digit absorbs it before truncating or rounding half up.
_FLOAT_NOISE = Decimal("1e-9")
_ONE = Decimal(1)


def round_half_up(value: float | Decimal, decimals: int = 0) -> float:
    """Round half away from zero on the decimal value (Python's round() is half-to-even)."""
    d = exact(value) if isinstance(value, float) else value
    step = _ONE.scaleb(-decimals)
    nudged = d + (_FLOAT_NOISE * step).copy_sign(d)
    return float(nudged.quantize(step, rounding=ROUND_HALF_UP))


def truncate(value: Decimal, decimals: int) -> Decimal:
    """Drop digits beyond `decimals` (EPA TAD 2024: truncate, never round), noise tolerated."""
    step = _ONE.scaleb(-decimals)
    return (value + _FLOAT_NOISE * step).quantize(step, rounding=ROUND_FLOOR)


def to_integer(raw: Decimal, rounding: Rounding) -> int:
    """Integer AQI from the exact sub-index, by the method's rounding rule."""
    mode = ROUND_CEILING if rounding == "ceiling" else ROUND_HALF_UP
    return int(raw.to_integral_value(rounding=mode))


def interpolate(scale: Scale, concentration: Decimal) -> Decimal | None:
    """Linear interpolation I = (I_hi − I_lo)/(C_hi − C_lo) × (C − C_lo) + I_lo.

    Computed as (I_hi − I_lo) × (C − C_lo) / (C_hi − C_lo) + I_lo: the product is exact, so the
    one division is correctly rounded and exact whenever the true value is a short decimal.
    Returns None below the first segment (e.g. EPA 1-h ozone starts at 0.125 ppm) or inside a
    gap between EPA segments. Concentrations above the top breakpoint are the caller's concern.
    """
    for seg in scale.segments:
        if concentration <= seg.c_high:
            if concentration < seg.c_low:
                return None
            rise = (seg.i_high - seg.i_low) * (concentration - seg.c_low)
            return rise / (seg.c_high - seg.c_low) + seg.i_low
    return None


def sub_index(scale: Scale, concentration: float, rounding: Rounding) -> IndexValue | None:
    """Sub-index of one concentration on one scale, in the scale's unit.

    Above the top breakpoint the index is capped at the top index (500): neither VN_AQI
    (Decision 1459/QĐ-TCMT) nor the EPA defines values beyond it, and extrapolating would invent
    a scale. The result is flagged `capped` so a page can say "beyond the index".
    Negative concentrations are invalid input (ValueError).
    """
    c = exact(concentration)
    if c < 0:
        raise ValueError(
            f"{scale.pollutant} concentration must not be negative, got {concentration}"
        )
    if scale.decimals is not None:
        c = truncate(c, scale.decimals)
    if c > scale.top:
        top = scale.segments[-1].i_high
        return IndexValue(raw=Decimal(top), value=top, capped=True)
    raw = interpolate(scale, c)
    if raw is None:
        return None
    return IndexValue(raw=raw, value=to_integer(raw, rounding), capped=False)


def above_top(scale: Scale, concentration: float) -> bool:
    """Whether a concentration (truncated as the scale requires) is above its top breakpoint."""
    c = exact(concentration)
    if scale.decimals is not None:
        c = truncate(c, scale.decimals)
    return c > scale.top


@dataclass(frozen=True)
class GasConversion:
    """µg/m³ → ppb at 25 °C and 1 atm: ppb = µg/m³ × molar_volume (L/mol) / molar_mass (g/mol)."""

    molar_volume_l: float
    molar_mass_g: tuple[tuple[Pollutant, float], ...]

    def to_ppb(self, pollutant: Pollutant, ug_m3: float) -> float:
        """Mixing ratio in ppb of a gas concentration in µg/m³."""
        for gas, mass in self.molar_mass_g:
            if gas == pollutant:
                return ug_m3 * self.molar_volume_l / mass
        raise KeyError(f"no molar mass for {pollutant!r}")


def band_for(bands: tuple[Band, ...], aqi: int) -> Band:
    """The band whose [low, high] contains the integer AQI."""
    for band in bands:
        if band.low <= aqi <= band.high:
            return band
    raise ValueError(f"AQI {aqi} is outside every band")
