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

    All instants are time-zone aware; ranges are half-open [start, end).
    """

    def write(self, batch: pa.Table) -> WriteResult:
        """Store a batch (`series_id` int64, `ts` timestamp[us, UTC], `value` float64).

        Idempotent on (series_id, ts); committed when it returns.
        """
        ...

    def apply_retention(self, now: datetime) -> RetentionResult:
        """Delete data older than the retention of each resolution."""
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
        """(series_id, bucket_start, value) for each non-empty bucket, ordered."""
        ...

    def latest(self, series_ids: Sequence[int]) -> pa.Table:
        """The last stored point (series_id, ts, value) of each series that has one."""
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
