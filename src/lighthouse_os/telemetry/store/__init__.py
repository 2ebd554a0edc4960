"""The time-series store: one interface, DuckDB (embedded) and PostgreSQL backends."""

from lighthouse_os.telemetry.store.base import (
    AGGREGATE_SCHEMA,
    DEFAULT_TZ,
    POINT_SCHEMA,
    AggFn,
    Every,
    Retention,
    RetentionResult,
    StoreUnavailable,
    TimeSeriesStore,
    WriteResult,
)
from lighthouse_os.telemetry.store.factory import open_store

__all__ = [
    "AGGREGATE_SCHEMA",
    "DEFAULT_TZ",
    "POINT_SCHEMA",
    "AggFn",
    "Every",
    "Retention",
    "RetentionResult",
    "StoreUnavailable",
    "TimeSeriesStore",
    "WriteResult",
    "open_store",
]
