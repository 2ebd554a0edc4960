"""Breakpoint scales, bands and exact rounding shared by VN_AQI and the US EPA AQI (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
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

    c_low: Fraction
    c_high: Fraction
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
    def top(self) -> Fraction:
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

    raw: Fraction
    value: int
    capped: bool


def exact(value: float) -> Fraction:
    """The decimal the float prints as, exactly (so 55.7 is 557/10, not its binary neighbour)."""
    if not math.isfinite(value):
        raise ValueError(f"concentration must be a finite number, got {value!r}")
    return Fraction(repr(value))


_FLOAT_NOISE = Fraction(1, 10**9)


def round_half_up(value: float | Fraction, decimals: int = 0) -> float:
    """Round half away from zero on the decimal value (Python's round() is half-to-even)."""
    scaled = (exact(value) if isinstance(value, float) else value) * 10**decimals
    rounded = math.floor(abs(scaled) + Fraction(1, 2) + _FLOAT_NOISE)  # noise: see truncate
    return float(math.copysign(rounded, scaled) / 10**decimals)


def truncate(value: Fraction, decimals: int) -> Fraction:
    """Drop digits beyond `decimals` (EPA TAD 2024: truncate, never round).

    A tolerance of 1e-9 (in units of the last kept digit) absorbs float noise, so the mean of
    twelve 35.9 values (35.899999…) truncates to 35.9, not 35.8.
    """
    factor = 10**decimals
    return Fraction(math.floor(value * factor + _FLOAT_NOISE), factor)


def to_integer(raw: Fraction, rounding: Rounding) -> int:
    """Integer AQI from the exact sub-index, by the method's rounding rule."""
    if rounding == "ceiling":
        return math.ceil(raw)
    return math.floor(raw + Fraction(1, 2))


def interpolate(scale: Scale, concentration: Fraction) -> Fraction | None:
    """Linear interpolation I = (I_hi − I_lo)/(C_hi − C_lo) × (C − C_lo) + I_lo.

    Returns None below the first segment (e.g. EPA 1-h ozone starts at 0.125 ppm) or inside a
    gap between EPA segments. Concentrations above the top breakpoint are the caller's concern.
    """
    for seg in scale.segments:
        if concentration <= seg.c_high:
            if concentration < seg.c_low:
                return None
            slope = Fraction(seg.i_high - seg.i_low) / (seg.c_high - seg.c_low)
            return slope * (concentration - seg.c_low) + seg.i_low
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
        return IndexValue(raw=Fraction(top), value=top, capped=True)
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
