"""ISO 22400-2 time model and KPIs (availability, effectiveness, quality ratio, OEE, MTBF, MTTR)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

Span = tuple[datetime, datetime]


class Bucket(StrEnum):
    """ISO 22400-2 time elements a machine state can count towards."""

    APT = "APT"  # actual production time
    AUST = "AUST"  # actual unit setup time
    ADET = "ADET"  # actual unit delay time
    ADOT = "ADOT"  # actual unit down time
    PDOT = "PDOT"  # planned downtime


# The default follows the reading of OPC 40001-1 Annex C.2 (Table 68) used by the platform:
# producing -> APT, waiting -> ADET, setup -> AUST, breakdown -> ADOT, planned stop -> PDOT.
DEFAULT_STATE_MAP: Mapping[str, Bucket] = MappingProxyType(
    {
        "running": Bucket.APT,
        "idle": Bucket.ADET,
        "waiting": Bucket.ADET,
        "setup": Bucket.AUST,
        "down": Bucket.ADOT,
        "breakdown": Bucket.ADOT,
        "planned_stop": Bucket.PDOT,
    }
)

PBT_ZERO = "planned busy time (PBT) is zero / thời gian bận theo kế hoạch (PBT) bằng 0"
APT_ZERO = "actual production time (APT) is zero / thời gian sản xuất thực tế (APT) bằng 0"
PQ_ZERO = "produced quantity (PQ) is zero / sản lượng đã sản xuất (PQ) bằng 0"
NO_FAILURES = (
    "no failures (transitions into a down state) in the period / "
    "không có lần hỏng máy (chuyển sang trạng thái dừng do sự cố) trong kỳ"
)


class OeeInputError(ValueError):
    """The events, calendar or counts cannot be used to compute the KPIs."""


@dataclass(frozen=True)
class PlannedDowntime:
    """A planned stop (break, planned maintenance) in `[start, end)`."""

    start: datetime
    end: datetime
    reason: str = ""


@dataclass(frozen=True)
class StateEvent:
    """The machine entered `state` at `ts`; it holds until the next event."""

    ts: datetime
    state: str


@dataclass(frozen=True)
class CountIncrement:
    """Units produced and good units reported at `ts`; `ideal_cycle_time_s` overrides PRI."""

    ts: datetime
    produced: float
    good: float
    ideal_cycle_time_s: float | None = None


@dataclass(frozen=True)
class TimeElements:
    """ISO 22400-2 time elements in seconds; `unaccounted_s` is PBT with no known state."""

    pot_s: float
    pdot_s: float
    pbt_s: float
    apt_s: float
    aust_s: float
    adet_s: float
    adot_s: float
    unaccounted_s: float


@dataclass(frozen=True)
class Quantities:
    """Quantities counted inside PBT; `pq_outside_pbt` were reported outside it and ignored."""

    pq: float
    gq: float
    sq: float
    pq_outside_pbt: float


@dataclass(frozen=True)
class Kpis:
    """KPI values; ratios are fractions 0–1, `None` where undefined (see `OeeResult.undefined`)."""

    availability: float | None
    effectiveness: float | None
    quality_ratio: float | None
    oee: float | None
    scrap_ratio: float | None
    throughput_per_h: float | None
    setup_ratio: float | None
    mtbf_s: float | None
    mttr_s: float | None


@dataclass(frozen=True)
class OeeResult:
    """Time elements, quantities, failure count, KPIs and the reason for each undefined KPI."""

    time: TimeElements
    quantities: Quantities
    failures: int
    kpis: Kpis
    undefined: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class _Run:
    start: datetime
    end: datetime
    bucket: Bucket


@dataclass
class _Tally:
    pq: float = 0.0
    gq: float = 0.0
    outside: float = 0.0
    ideal_s: float = 0.0  # Σ PRI × PQ
    ideal_good_s: float = 0.0  # Σ PRI × GQ


def compute_oee(
    *,
    planned: Iterable[Span],
    states: Iterable[StateEvent],
    counts: Iterable[CountIncrement],
    ideal_cycle_time_s: float,
    planned_downtime: Iterable[PlannedDowntime] = (),
    state_map: Mapping[str, Bucket] | None = None,
    now: datetime | None = None,
) -> OeeResult:
    """ISO 22400-2 KPIs of one work unit over its planned operation time.

    Time model (ISO 22400-2 §5, seconds): POT = union of `planned`; PDOT = POT ∩ (planned
    downtime ∪ states mapped to PDOT); PBT = POT − PDOT. Every other state interval counts only
    where it overlaps PBT, so a machine running during a planned break adds nothing to APT
    (PDOT is not part of PBT), and counts reported outside PBT are excluded likewise.
    KPIs: availability = APT/PBT; effectiveness = Σ(PRI×PQ)/APT; quality ratio = GQ/PQ;
    OEE = A×E×Q (equal to Σ(PRI×GQ)/PBT, which is used when E or Q is undefined but PBT > 0);
    scrap ratio = SQ/PQ; throughput = PQ/APT per hour; setup ratio = AUST/PBT (platform
    definition); MTBF = APT/failures, MTTR = ADOT/failures, where a failure is a run of states
    in the ADOT bucket that overlaps PBT. `now` truncates POT for a shift still in progress.
    """
    if ideal_cycle_time_s <= 0:
        raise OeeInputError(f"ideal cycle time must be > 0 s, got {ideal_cycle_time_s}")
    buckets = _normalise_map(DEFAULT_STATE_MAP if state_map is None else state_map)
    pot = _clip_after(_union(_checked(planned, "planned interval")), now)
    downtime = [(d.start, d.end) for d in planned_downtime]
    runs = _state_runs(states, buckets, pot[-1][1] if pot else None)
    stops = [(r.start, r.end) for r in runs if r.bucket is Bucket.PDOT]
    pdot = _intersect(pot, _union([*_checked(downtime, "planned downtime"), *stops]))
    pbt = _subtract(pot, pdot)
    time = _time_elements(pot, pdot, pbt, runs)
    tally = _tally(counts, pbt, ideal_cycle_time_s)
    failures = _failures(runs, pbt)
    kpis, undefined = _kpis(time, tally, failures)
    quantities = Quantities(tally.pq, tally.gq, tally.pq - tally.gq, tally.outside)
    return OeeResult(time, quantities, failures, kpis, MappingProxyType(undefined))


def planned_busy_spans(
    planned: Iterable[Span], planned_downtime: Iterable[PlannedDowntime]
) -> list[Span]:
    """PBT as sorted, disjoint intervals: ∪ planned − ∪ planned downtime (ISO 22400-2:
    PBT = POT − PDOT), without states mapped to PDOT."""
    pot = _union(_checked(planned, "planned interval"))
    downtime = [(d.start, d.end) for d in planned_downtime]
    return _subtract(pot, _union(_checked(downtime, "planned downtime")))


def _normalise_map(state_map: Mapping[str, Bucket]) -> dict[str, Bucket]:
    return {name.strip().lower(): Bucket(bucket) for name, bucket in state_map.items()}


def _aware(ts: datetime, what: str) -> datetime:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise OeeInputError(f"{what} {ts.isoformat()} has no UTC offset")
    return ts


def _checked(spans: Iterable[Span], what: str) -> list[Span]:
    out = []
    for start, end in spans:
        if _aware(end, what) < _aware(start, what):
            raise OeeInputError(f"{what} ends before it starts: {start.isoformat()}")
        out.append((start, end))
    return out


def _union(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _clip_after(spans: list[Span], now: datetime | None) -> list[Span]:
    if now is None:
        return spans
    _aware(now, "now")
    return [(s, min(e, now)) for s, e in spans if s < now]


def _intersect(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    for start, end in a:
        cursor = start
        for b_start, b_end in _overlapping(b, start, end):
            if b_start > cursor:
                out.append((cursor, b_start))
            cursor = max(cursor, b_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def _overlapping(spans: Sequence[Span], start: datetime, end: datetime) -> list[Span]:
    i = _bisect_end(spans, start)
    out = []
    while i < len(spans) and spans[i][0] < end:
        out.append(spans[i])
        i += 1
    return out


def _bisect_end(spans: Sequence[Span], ts: datetime) -> int:
    # `spans` is sorted and disjoint, so their ends are sorted too: the first span ending after ts.
    lo, hi = 0, len(spans)
    while lo < hi:
        mid = (lo + hi) // 2
        if spans[mid][1] <= ts:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _overlap(spans: Sequence[Span], start: datetime, end: datetime) -> timedelta:
    total = timedelta(0)
    for s, e in _overlapping(spans, start, end):
        total += min(e, end) - max(s, start)
    return total


def _length(spans: Iterable[Span]) -> timedelta:
    return sum((e - s for s, e in spans), timedelta(0))


def _bucket_of(state: str, buckets: Mapping[str, Bucket]) -> Bucket:
    bucket = buckets.get(state.strip().lower())
    if bucket is None:
        known = ", ".join(sorted(buckets))
        raise OeeInputError(f"unknown machine state {state!r}; known states: {known}")
    return bucket


def _state_runs(
    states: Iterable[StateEvent], buckets: Mapping[str, Bucket], horizon: datetime | None
) -> list[_Run]:
    events = sorted(states, key=lambda e: _aware(e.ts, "state event"))
    if not events:
        return []
    # The last state holds until the end of POT (or its own start, if it comes later).
    last = events[-1].ts if horizon is None else max(horizon, events[-1].ts)
    ends = [e.ts for e in events[1:]] + [last]
    return [
        _Run(e.ts, end, _bucket_of(e.state, buckets)) for e, end in zip(events, ends, strict=True)
    ]


def _time_elements(
    pot: list[Span], pdot: list[Span], pbt: list[Span], runs: list[_Run]
) -> TimeElements:
    per_bucket = dict.fromkeys(Bucket, timedelta(0))
    for run in runs:
        if run.bucket is not Bucket.PDOT:
            per_bucket[run.bucket] += _overlap(pbt, run.start, run.end)
    pbt_len = _length(pbt)
    accounted = sum((per_bucket[b] for b in Bucket if b is not Bucket.PDOT), timedelta(0))
    return TimeElements(
        pot_s=_length(pot).total_seconds(),
        pdot_s=_length(pdot).total_seconds(),
        pbt_s=pbt_len.total_seconds(),
        apt_s=per_bucket[Bucket.APT].total_seconds(),
        aust_s=per_bucket[Bucket.AUST].total_seconds(),
        adet_s=per_bucket[Bucket.ADET].total_seconds(),
        adot_s=per_bucket[Bucket.ADOT].total_seconds(),
        unaccounted_s=(pbt_len - accounted).total_seconds(),
    )


def _inside(spans: Sequence[Span], ts: datetime) -> bool:
    i = _bisect_end(spans, ts)
    return i < len(spans) and spans[i][0] <= ts


def _tally(counts: Iterable[CountIncrement], pbt: list[Span], default_pri_s: float) -> _Tally:
    tally = _Tally()
    for count in counts:
        pri = _checked_count(count, default_pri_s)
        if not _inside(pbt, count.ts):
            tally.outside += count.produced
            continue
        tally.pq += count.produced
        tally.gq += count.good
        tally.ideal_s += pri * count.produced
        tally.ideal_good_s += pri * count.good
    return tally


def _checked_count(count: CountIncrement, default_pri_s: float) -> float:
    _aware(count.ts, "count")
    if not 0 <= count.good <= count.produced:
        raise OeeInputError(
            f"count at {count.ts.isoformat()}: need 0 <= good <= produced, "
            f"got good={count.good}, produced={count.produced}"
        )
    pri = default_pri_s if count.ideal_cycle_time_s is None else count.ideal_cycle_time_s
    if pri <= 0:
        raise OeeInputError(f"count at {count.ts.isoformat()}: ideal cycle time must be > 0 s")
    return pri


def _failures(runs: list[_Run], pbt: list[Span]) -> int:
    failures, in_failure, seen_pbt = 0, False, False
    for run in runs:
        if run.bucket is not Bucket.ADOT:
            failures += int(in_failure and seen_pbt)
            in_failure, seen_pbt = False, False
            continue
        in_failure = True
        seen_pbt = seen_pbt or _overlap(pbt, run.start, run.end) > timedelta(0)
    return failures + int(in_failure and seen_pbt)


def _ratio(
    num: float, den: float, name: str, reason: str, undefined: dict[str, str]
) -> float | None:
    if den == 0:
        undefined[name] = reason
        return None
    return num / den


def _kpis(t: TimeElements, q: _Tally, failures: int) -> tuple[Kpis, dict[str, str]]:
    u: dict[str, str] = {}
    availability = _ratio(t.apt_s, t.pbt_s, "availability", PBT_ZERO, u)
    effectiveness = _ratio(q.ideal_s, t.apt_s, "effectiveness", APT_ZERO, u)
    quality = _ratio(q.gq, q.pq, "quality_ratio", PQ_ZERO, u)
    if availability is not None and effectiveness is not None and quality is not None:
        oee: float | None = availability * effectiveness * quality
    else:
        oee = _ratio(q.ideal_good_s, t.pbt_s, "oee", PBT_ZERO, u)
    kpis = Kpis(
        availability=availability,
        effectiveness=effectiveness,
        quality_ratio=quality,
        oee=oee,
        scrap_ratio=_ratio(q.pq - q.gq, q.pq, "scrap_ratio", PQ_ZERO, u),
        throughput_per_h=_ratio(q.pq * 3600.0, t.apt_s, "throughput_per_h", APT_ZERO, u),
        setup_ratio=_ratio(t.aust_s, t.pbt_s, "setup_ratio", PBT_ZERO, u),
        mtbf_s=_ratio(t.apt_s, failures, "mtbf_s", NO_FAILURES, u),
        mttr_s=_ratio(t.adot_s, failures, "mttr_s", NO_FAILURES, u),
    )
    return kpis, u
