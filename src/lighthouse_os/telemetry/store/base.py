"""The `TimeSeriesStore` interface that every ingestion path and the KPI engine use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Literal, Protocol, Self, get_args

import pyarrow as pa

from lighthouse_os.errors import InvalidInput, LhosError

DEFAULT_TZ = "Asia/Ho_Chi_Minh"
DEFAULT_SCHEMA = "lhos_ts"
# How far before a query's start `delta` looks for the counter's previous sample.
DEFAULT_DELTA_LOOKBACK = timedelta(days=1)

Every = Literal["1m", "1h", "1d", "1mo"]
AggFn = Literal["avg", "min", "max", "sum", "last", "count", "delta"]
EVERY_VALUES: tuple[str, ...] = get_args(Every)
FN_VALUES: tuple[str, ...] = get_args(AggFn)

UTC_US = pa.timestamp("us", tz="UTC")
POINT_SCHEMA = pa.schema(
    [
        pa.field("series_id", pa.int64(), nullable=False),
        pa.field("ts", UTC_US, nullable=False),
        pa.field("value", pa.float64(), nullable=False),
    ]
)
AGGREGATE_SCHEMA = pa.schema(
    [
        pa.field("series_id", pa.int64(), nullable=False),
        pa.field("bucket_start", UTC_US, nullable=False),
        pa.field("value", pa.float64(), nullable=False),
    ]
)


class StoreUnavailable(LhosError):
    """The time-series database cannot be reached or opened."""

    status = 503


@dataclass(frozen=True)
class WriteResult:
    """What happened to each point of a batch; the four counts add up to the batch size.

    - `inserted`: new points, now stored and rolled up.
    - `duplicates`: already stored with the same value (a redelivery), or repeated in the batch.
    - `conflicts`: already stored (or earlier in the batch) with a *different* value. The first
      value is kept and the new one ignored, so a redelivery can never rewrite history; the
      caller decides whether to dead-letter it.
    - `expired`: older than the raw retention cut already applied, so not stored.
    """

    inserted: int
    duplicates: int
    conflicts: int = 0
    expired: int = 0

    @property
    def received(self) -> int:
        """The number of points in the batch."""
        return self.inserted + self.duplicates + self.conflicts + self.expired


@dataclass(frozen=True)
class Retention:
    """How long each resolution is kept; None keeps it forever.

    Raw points must not outlive the minute rollup, nor the minute rollup the hour rollup,
    because coarser rollups are rebuilt from finer data.
    """

    raw: timedelta | None = None
    minute: timedelta | None = None
    hour: timedelta | None = None

    def __post_init__(self) -> None:
        kept = [self.raw, self.minute, self.hour]
        if any(keep is not None and keep <= timedelta(0) for keep in kept):
            raise InvalidInput("retention periods must be positive")
        longest = [timedelta.max if keep is None else keep for keep in kept]
        if longest != sorted(longest):
            raise InvalidInput("retention must satisfy raw <= minute rollup <= hour rollup")


@dataclass(frozen=True)
class RetentionResult:
    """The cuts now in force: data before each instant is gone (None: nothing deleted)."""

    raw_before: datetime | None
    minute_before: datetime | None
    hour_before: datetime | None


class TimeSeriesStore(Protocol):
    """Numeric time series keyed by an int64 `series_id`, with minute and hour rollups.

    All instants are time-zone aware; ranges are half-open [start, end). A rollup bucket holds
    count, sum, min, max, first, last, first_ts, last_ts and `delta_in` (the counter increments
    between its own samples); a write recomputes only the buckets its new points fall in.
    """

    def write(self, batch: pa.Table) -> WriteResult:
        """Store a batch (`series_id` int64, `ts` timestamp[us, UTC], `value` float64).

        Idempotent on (series_id, ts): a point already stored is never stored again, and if
        its value differs the stored (first) value is kept and the point counted as a conflict.
        Points older than the raw retention cut are counted as expired. Committed (durable)
        when it returns; a batch with a NaN, infinity, null or naive timestamp is refused
        whole with InvalidInput.
        """
        ...

    def apply_retention(self, now: datetime) -> RetentionResult:
        """Delete data older than the retention of each resolution.

        Raw points go first (cut at a whole minute), then minute rollups (whole hour), then
        hour rollups (whole hour). Aggregates over a period whose raw points are gone still
        come from the rollups; only a query edge inside a deleted finer bucket loses data.
        """
        ...

    def raw(self, series_ids: Sequence[int], start: datetime, end: datetime) -> pa.Table:
        """The stored points in [start, end), ordered by series_id and ts."""
        ...

    def aggregate(
        self,
        series_ids: Sequence[int],
        start: datetime,
        end: datetime,
        every: Every,
        fn: AggFn,
        tz: str = DEFAULT_TZ,
    ) -> pa.Table:
        """(series_id, bucket_start, value) for each non-empty bucket, ordered.

        Buckets start at local calendar boundaries in `tz` (1d and 1mo at local midnight;
        Asia/Ho_Chi_Minh is UTC+7, no daylight saving). Values come from the hour rollup for
        1h/1d/1mo and the minute rollup for 1m, with raw points for unaligned range edges;
        the results equal the computation over raw points. `count` is the number of samples.
        `delta` suits counters (energy meters): each sample adds its increment over the
        sample before it, current - previous, or current alone when it dropped (a reset:
        the counter restarted from zero); the increment belongs to the later sample's bucket,
        and the first sample of the range looks for its predecessor up to the store's
        `delta_lookback` (default 1 day) before `start`.
        """
        ...

    def latest(self, series_ids: Sequence[int]) -> pa.Table:
        """The last stored point (series_id, ts, value) of each series that has one.

        Kept current by every write, so it stays cheap for live dashboards, and it survives
        retention (the last known value).
        """
        ...

    def close(self) -> None:
        """Release the connection; the store is unusable afterwards."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def check_query(every: str, fn: str) -> None:
    """Refuse an unknown bucket width or aggregate function with a clear message."""
    if every not in EVERY_VALUES:
        raise InvalidInput(f"every must be one of {EVERY_VALUES}, got {every!r}")
    if fn not in FN_VALUES:
        raise InvalidInput(f"fn must be one of {FN_VALUES}, got {fn!r}")
