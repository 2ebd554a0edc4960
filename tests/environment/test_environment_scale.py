"""Breakpoint scales, rounding and the bundled VN_AQI / US EPA tables."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.environment import standards
from lighthouse_os.environment.scale import (
    band_for,
    exact,
    interpolate,
    round_half_up,
    sub_index,
    to_integer,
    truncate,
)

VN = standards.vn_aqi_method()
EPA = standards.epa_aqi_method()

# Decision 1459/QĐ-TCMT breakpoints (DOMAIN.md §5), typed here independently of the YAML.
VN_TABLE = {
    "o3_1h": [0, 160, 200, 300, 400, 800, 1000, 1200],
    "o3_8h": [0, 100, 120, 170, 210, 400],
    "co": [0, 10000, 30000, 45000, 60000, 90000, 120000, 150000],
    "so2": [0, 125, 350, 550, 800, 1600, 2100, 2630],
    "no2": [0, 100, 200, 700, 1200, 2350, 3100, 3850],
    "pm10": [0, 50, 150, 250, 350, 420, 500, 600],
    "pm25": [0, 25, 50, 80, 150, 250, 350, 500],
}
VN_INDEX = [0, 50, 100, 150, 200, 300, 400, 500]
VN_CASES = [
    (key, bp, VN_INDEX[i]) for key, points in VN_TABLE.items() for i, bp in enumerate(points)
]


@pytest.mark.parametrize(("scale", "concentration", "expected"), VN_CASES)
def test_vn_sub_index_equals_table_index_at_every_breakpoint(
    scale: str, concentration: float, expected: int
) -> None:
    result = sub_index(VN.scale(scale), concentration, VN.rounding)
    assert result is not None
    assert result.value == expected
    assert not result.capped


EPA_CASES = [
    (scale.key, float(seg.c_low), seg.i_low)
    for scale in EPA.scales
    for seg in scale.segments
    if not (scale.key == "o3_1h" and seg.c_low == Decimal("0.125"))
] + [(scale.key, float(seg.c_high), seg.i_high) for scale in EPA.scales for seg in scale.segments]


@pytest.mark.parametrize(("scale", "concentration", "expected"), EPA_CASES)
def test_epa_sub_index_equals_table_index_at_every_segment_end(
    scale: str, concentration: float, expected: int
) -> None:
    result = sub_index(EPA.scale(scale), concentration, EPA.rounding)
    assert result is not None
    assert result.value == expected


@pytest.mark.parametrize(
    ("scale", "concentration", "expected"),
    [
        ("pm25", 9.0, 50),
        ("pm25", 9.09, 50),  # truncated to 9.0
        ("pm25", 9.1, 51),
        ("pm25", 35.4, 100),
        ("pm25", 35.9, 102),  # 49/19.9 × 0.4 + 101 = 101.98
        ("pm25", 55.5, 151),
        ("o3_8h", 0.078, 126),  # 49/0.014 × 0.007 + 101 = 125.5 → 126
        ("no2", 100.9, 100),  # truncated to 100 ppb
        ("co", 4.46, 50),  # truncated to 4.4 ppm
    ],
)
def test_epa_sub_index_truncates_then_interpolates(
    scale: str, concentration: float, expected: int
) -> None:
    result = sub_index(EPA.scale(scale), concentration, EPA.rounding)
    assert result is not None
    assert result.value == expected


def test_epa_one_hour_ozone_has_no_index_below_its_first_breakpoint() -> None:
    assert sub_index(EPA.scale("o3_1h"), 0.124, EPA.rounding) is None


@pytest.mark.parametrize("scale", [s.key for s in VN.scales])
def test_vn_sub_index_is_capped_at_500_above_the_top_breakpoint(scale: str) -> None:
    top = float(VN.scale(scale).top)
    result = sub_index(VN.scale(scale), top * 1.5, VN.rounding)
    assert result is not None
    assert (result.value, result.capped) == (VN.scale(scale).segments[-1].i_high, True)


def test_sub_index_rejects_negative_concentration() -> None:
    with pytest.raises(ValueError, match="negative"):
        sub_index(VN.scale("pm25"), -0.1, VN.rounding)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_sub_index_rejects_non_finite_concentration(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        sub_index(VN.scale("pm25"), bad, VN.rounding)


@pytest.mark.parametrize(
    ("raw", "rounding", "expected"),
    [
        (Decimal("59.35"), "ceiling", 60),
        (Decimal("59.35"), "half_up", 59),
        (Decimal("109.5"), "half_up", 110),
        (Decimal("108.5"), "half_up", 109),  # half up, not half to even
        (Decimal(50), "ceiling", 50),
    ],
)
def test_to_integer_applies_the_rounding_rule(raw: Decimal, rounding: str, expected: int) -> None:
    assert to_integer(raw, rounding) == expected  # type: ignore[arg-type]


def test_vn_rounding_gives_next_band_just_above_a_breakpoint() -> None:
    result = sub_index(VN.scale("pm25"), 25.1, VN.rounding)
    assert result is not None
    assert band_for(VN.bands, result.value).key == "moderate"


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [(20.25, 1, 20.3), (0.05, 1, 0.1), (2.675, 2, 2.68), (-1.25, 1, -1.3), (59.35, 0, 59.0)],
)
def test_round_half_up_rounds_the_printed_decimal(
    value: float, decimals: int, expected: float
) -> None:
    assert round_half_up(value, decimals) == expected


def test_truncate_drops_digits() -> None:
    assert truncate(exact(0.0789), 3) == Decimal("0.078")


def test_interpolate_returns_none_inside_a_gap_between_epa_segments() -> None:
    assert interpolate(EPA.scale("pm25"), Decimal("9.05")) is None


@pytest.mark.parametrize("method", [VN, EPA], ids=["vn", "epa"])
def test_bands_cover_zero_to_500_without_gaps(method: object) -> None:
    bands = method.bands  # type: ignore[attr-defined]
    assert bands[0].low == 0
    assert bands[-1].high == 500
    assert all(a.high + 1 == b.low for a, b in pairwise(bands))
    assert all(band_for(bands, i) for i in range(501))


@pytest.mark.parametrize("method", [VN, EPA], ids=["vn", "epa"])
def test_bands_carry_bilingual_advice_for_both_audiences(method: object) -> None:
    for band in method.bands:  # type: ignore[attr-defined]
        texts = [band.general_vi, band.general_en, band.sensitive_vi, band.sensitive_en]
        assert all(len(t) > 10 for t in texts)
        assert band.hex.startswith("#")
        assert len(band.hex) == 7


def test_vn_bands_match_the_decision_colours() -> None:
    assert [(b.low, b.high, b.rgb) for b in VN.bands] == [
        (0, 50, (0, 228, 0)),
        (51, 100, (255, 255, 0)),
        (101, 150, (255, 126, 0)),
        (151, 200, (255, 0, 0)),
        (201, 300, (143, 63, 151)),
        (301, 500, (126, 0, 35)),
    ]
    assert [b.name_vi for b in VN.bands] == [
        "Tốt",
        "Trung bình",
        "Kém",
        "Xấu",
        "Rất xấu",
        "Nguy hại",
    ]


def test_band_for_rejects_values_outside_the_scale() -> None:
    with pytest.raises(ValueError, match="outside"):
        band_for(VN.bands, 501)


@pytest.mark.parametrize("scale", [s.key for s in VN.scales] + [f"epa:{s.key}" for s in EPA.scales])
@given(a=st.floats(0, 5000, allow_nan=False), b=st.floats(0, 5000, allow_nan=False))
def test_sub_index_is_monotone_and_within_0_500(scale: str, a: float, b: float) -> None:
    method = EPA if scale.startswith("epa:") else VN
    sc = method.scale(scale.removeprefix("epa:"))
    factor = float(sc.top) / 500  # spread the draws over the scale, beyond its top too
    low, high = sorted((a * factor, b * factor))
    ia, ib = sub_index(sc, low, method.rounding), sub_index(sc, high, method.rounding)
    for result in (ia, ib):
        assert result is None or 0 <= result.value <= 500
    if ia is not None and ib is not None:
        assert ia.value <= ib.value


def test_round_half_up_ignores_float_noise_from_averaging() -> None:
    noisy = sum([20.15] * 7) / 7  # 20.149999999999995 or so
    assert round_half_up(noisy, 1) == 20.2


def test_interpolate_returns_none_above_the_top() -> None:
    assert interpolate(VN.scale("pm25"), Decimal(501)) is None


def test_gas_conversion_needs_a_molar_mass() -> None:
    assert EPA.conversion is not None
    with pytest.raises(KeyError, match="pm25"):
        EPA.conversion.to_ppb("pm25", 1.0)


@pytest.mark.parametrize("scale", [s.key for s in VN.scales])
@given(tenths=st.integers(0, 40_000))
def test_vn_sub_index_equals_exact_rational_arithmetic(scale: str, tenths: int) -> None:
    from fractions import Fraction
    from math import ceil

    sc = VN.scale(scale)
    value = float(Fraction(tenths, 10) * Fraction(sc.top) / 1000)  # 0 .. 4 × top
    c = Fraction(repr(value))  # the decimal the float prints as, as sub_index reads it
    result = sub_index(sc, value, VN.rounding)
    assert result is not None
    seg = next((s for s in sc.segments if c <= Fraction(s.c_high)), None)
    if seg is None:
        assert result.capped
        return
    lo, hi = Fraction(seg.c_low), Fraction(seg.c_high)
    expected = Fraction(seg.i_high - seg.i_low) * (c - lo) / (hi - lo) + seg.i_low
    assert result.value == ceil(expected)
