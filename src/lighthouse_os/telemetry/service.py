"""The one validation-and-write path (`TelemetrySink`) and the dead-letter and series use cases."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Self
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from lighthouse_os.assets import service as assets
from lighthouse_os.assets.models import Tag
from lighthouse_os.auth.models import Site
from lighthouse_os.auth.sessions import as_utc
from lighthouse_os.db.base import utcnow
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.errors import InvalidInput
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.columnar import TagColumns, check_columns, columns_of_points
from lighthouse_os.telemetry.models import DeadLetter
from lighthouse_os.telemetry.points import IngestResult, RawPoint, Rejection
from lighthouse_os.telemetry.store import (
    POINT_SCHEMA,
    AggFn,
    Every,
    TimeSeriesStore,
    WriteResult,
    open_store,
)
from lighthouse_os.telemetry.validation import CheckedBatch, Reason, TagSpec, check_batch

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 64 * 1024
# How stale a site's tag index may get before the asset revision is checked again (seconds).
DEFAULT_REVISION_TTL_S = 1.0


@dataclass(frozen=True)
class TagIndex:
    """A site's tags by path, as of asset revision `revision`."""

    site_id: int
    site_code: str
    timezone: str
    revision: int
    tags: dict[str, TagSpec]
    checked_at: float


class TelemetryService:
    """Validates batches against cached tag indexes, writes them once, dead-letters the rest.

    The hot path runs no SQL per point: a site's tags are loaded once and reloaded when the
    site's asset revision changes (checked at most every `revision_ttl_s`, and at once when a
    batch names an unknown tag, which may have just been created).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: TimeSeriesStore,
        *,
        clock: Callable[[], datetime] = utcnow,
        revision_ttl_s: float = DEFAULT_REVISION_TTL_S,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.clock = clock
        self.revision_ttl_s = revision_ttl_s
        self._indexes: dict[str, TagIndex] = {}
        self._columns: dict[tuple[int, int], TagColumns] = {}
        self._lock = threading.Lock()

    # -- TelemetrySink -------------------------------------------------------------------

    def ingest(self, site: str, points: Sequence[RawPoint], *, source: str) -> IngestResult:
        """Validate and store a batch for the site with code `site`; durable on return."""
        return self.ingest_counted(site, points, source=source)[0]

    def ingest_counted(
        self, site: str, points: Sequence[RawPoint], *, source: str
    ) -> tuple[IngestResult, WriteResult]:
        """`ingest`, with the store's own counts (conflicts and expired points apart)."""
        index = self.tag_index(site)
        if index is None:
            return self._reject_all(site, points, source), WriteResult(0, 0)
        now = self.clock()
        columns = columns_of_points(points)
        stored = None if columns is None else self._store_if_clean(index, columns, now)
        if stored is not None:  # every point accepted: no per-point work
            return stored
        checked = check_batch(points, index.tags, now)
        if checked.unknown_tags and self._refresh(index):
            index = self.tag_index(site) or index
            checked = check_batch(points, index.tags, now)
        written = self._write(checked)
        if checked.rejections:
            self._dead_letter_points(index, points, checked.rejections, source)
        return _result(written, checked.rejections), written

    def ingest_columns(self, site: str, columns: pa.Table, *, source: str) -> IngestResult | None:
        """Store a clean batch of (tag, ts, value) columns whole; None, with nothing stored,
        when some point needs the per-point path (`ingest`) to be accepted or rejected."""
        index = self.tag_index(site)
        stored = None if index is None else self._store_if_clean(index, columns, self.clock())
        return None if stored is None else stored[0]

    def _store_if_clean(
        self, index: TagIndex, columns: pa.Table, now: datetime
    ) -> tuple[IngestResult, WriteResult] | None:
        """Write (tag, ts, value) columns whole when every point passes; None otherwise."""
        batch = check_columns(columns, self._tag_columns(index), now)
        if batch is None:
            return None
        written = self._write_table(batch)
        return _result(written), written

    def dead_letter(self, *, source: str, payload: bytes, reason: str, site: str | None) -> None:
        """Keep a message that could not be parsed into points, with the reason."""
        self.dead_letter_many(source=source, site=site, letters=[(reason, payload)])

    def dead_letter_many(
        self, *, source: str, site: str | None, letters: Sequence[tuple[str, bytes]]
    ) -> None:
        """Keep several unparseable messages (reason, payload) in one transaction."""
        site_id = self._site_id(site) if site else None
        rows = [_dead_letter_row(source, site or "", site_id, "", r, p) for r, p in letters]
        with self.sessions.begin() as session:
            session.execute(insert(DeadLetter), rows)

    # -- tag index -----------------------------------------------------------------------

    def tag_index(self, site_code: str) -> TagIndex | None:
        """The cached tag index of a site, reloaded when its assets changed; None if unknown."""
        index = self._indexes.get(site_code)
        if index is not None and time.monotonic() - index.checked_at < self.revision_ttl_s:
            return index
        with self._lock:
            return self._load_if_changed(site_code, self._indexes.get(site_code))

    def invalidate(self, site_code: str | None = None) -> None:
        """Forget cached indexes (all of them when `site_code` is None)."""
        with self._lock:
            if site_code is None:
                self._indexes.clear()
            else:
                self._indexes.pop(site_code, None)

    def _refresh(self, index: TagIndex) -> bool:
        """Check the revision now; True when the index was reloaded."""
        with self._lock:
            fresh = self._load_if_changed(index.site_code, index, force_check=True)
        return fresh is not None and fresh.revision != index.revision

    def _load_if_changed(
        self, site_code: str, cached: TagIndex | None, *, force_check: bool = False
    ) -> TagIndex | None:
        with self.sessions() as session:
            if cached is not None:
                revision = assets.revision(session, cached.site_id)
                if revision == cached.revision:
                    fresh = _touched(cached)
                    self._indexes[site_code] = fresh
                    return fresh
            index = _load_index(session, site_code)
        if index is None:
            self._indexes.pop(site_code, None)
        else:
            self._indexes[site_code] = index
        return index

    # -- writing -------------------------------------------------------------------------

    def _tag_columns(self, index: TagIndex) -> TagColumns:
        """The index's numeric tags as arrays, built once per asset revision of the site."""
        key = (index.site_id, index.revision)
        columns = self._columns.get(key)
        if columns is None:
            columns = TagColumns.of(index.tags)
            with self._lock:
                stale = [k for k in self._columns if k[0] == index.site_id]
                for old in stale:
                    del self._columns[old]
                self._columns[key] = columns
        return columns

    def _write(self, checked: CheckedBatch) -> WriteResult:
        if not checked.series_ids:
            return WriteResult(0, 0)
        return self._write_table(to_arrow(checked))

    def _write_table(self, batch: pa.Table) -> WriteResult:
        result = self.store.write(batch)
        if result.conflicts:
            log.warning(
                "%d points differ from stored values; the first values kept", result.conflicts
            )
        if result.expired:
            log.warning(
                "%d points are older than the raw retention and were not stored", result.expired
            )
        return result

    def _dead_letter_points(
        self,
        index: TagIndex,
        points: Sequence[RawPoint],
        rejections: Sequence[Rejection],
        source: str,
    ) -> None:
        rows = [
            _dead_letter_row(
                source,
                index.site_code,
                index.site_id,
                r.tag,
                r.reason,
                _point_payload(r.index, points[r.index]),
            )
            for r in rejections
        ]
        with self.sessions.begin() as session:
            session.execute(insert(DeadLetter), rows)

    def _reject_all(self, site: str, points: Sequence[RawPoint], source: str) -> IngestResult:
        reason = f"{Reason.UNKNOWN_SITE}: no site with code {site!r}"
        rejections = tuple(Rejection(i, str(p.tag), reason) for i, p in enumerate(points))
        rows = [
            _dead_letter_row(source, site, None, r.tag, reason, _point_payload(r.index, p))
            for r, p in zip(rejections, points, strict=True)
        ]
        if rows:
            with self.sessions.begin() as session:
                session.execute(insert(DeadLetter), rows)
        return IngestResult(accepted=0, rejected=rejections)

    def _site_id(self, site_code: str) -> int | None:
        cached = self._indexes.get(site_code)
        if cached is not None:
            return cached.site_id
        with self.sessions() as session:
            return session.scalar(select(Site.id).where(Site.code == site_code))

    def close(self) -> None:
        """Close the time-series store."""
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def build_sink(settings: Settings) -> TelemetryService:
    """The sink for a worker or command: its own engine and the configured time-series store."""
    engine = make_engine(settings.resolved_database_url)
    return TelemetryService(
        make_session_factory(engine), open_store(settings.resolved_timeseries_url)
    )


def _result(written: WriteResult, rejected: tuple[Rejection, ...] = ()) -> IngestResult:
    """The caller's view of a write: conflicts (first value kept) count as duplicates."""
    return IngestResult(written.inserted, written.duplicates + written.conflicts, rejected)


def to_arrow(checked: CheckedBatch) -> pa.Table:
    """The accepted points as a store batch (series_id int64, ts timestamp[us, UTC], value)."""
    return pa.Table.from_arrays(
        [
            pa.array(checked.series_ids, type=pa.int64()),
            pa.array(checked.ts_us, type=POINT_SCHEMA.field("ts").type),
            pa.array(checked.values, type=pa.float64()),
        ],
        schema=POINT_SCHEMA,
    )


def _load_index(session: Session, site_code: str) -> TagIndex | None:
    site = session.scalar(select(Site).where(Site.code == site_code))
    if site is None:
        return None
    revision = assets.revision(session, site.id)
    specs = {t.path: tag_spec(t) for t in assets.tags_of_site(session, site.id)}
    return TagIndex(site.id, site.code, site.timezone, revision, specs, time.monotonic())


def tag_spec(tag: Tag) -> TagSpec:
    """What validation needs of a stored tag; no scale means 1 and no offset means 0."""
    scale = 1.0 if tag.scale is None else tag.scale
    offset = 0.0 if tag.offset is None else tag.offset
    return TagSpec(tag.id, tag.path, tag.unit, tag.kind, scale, offset, tuple(tag.states or ()))


def _touched(index: TagIndex) -> TagIndex:
    return TagIndex(
        index.site_id, index.site_code, index.timezone, index.revision, index.tags, time.monotonic()
    )


def _point_payload(index: int, point: RawPoint) -> bytes:
    body = {"index": index, "tag": point.tag, "ts": point.ts, "value": point.value}
    return orjson.dumps(body, default=repr)


def _dead_letter_row(
    source: str, site_code: str, site_id: int | None, tag: str, reason: str, payload: bytes
) -> dict[str, object]:
    return {
        "received_at": utcnow(),
        "source": source[:60],
        "site_id": site_id,
        "site_code": site_code[:64],
        "tag": tag[:300],
        "reason": reason[:500],
        "payload": payload[:MAX_PAYLOAD_BYTES],
        "payload_truncated": len(payload) > MAX_PAYLOAD_BYTES,
    }


# -- dead letters ---------------------------------------------------------------------------


def list_dead_letters(
    session: Session,
    *,
    site: Site | None = None,
    source: str | None = None,
    limit: int = 100,
) -> list[DeadLetter]:
    """The newest dead letters, of one site (also those sent under its code before it existed
    or while it was unknown) and/or one source."""
    query = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(max(1, min(limit, 10_000)))
    if site is not None:
        query = query.where(
            (DeadLetter.site_id == site.id)
            | ((DeadLetter.site_id.is_(None)) & (DeadLetter.site_code == site.code))
        )
    if source:
        query = query.where(DeadLetter.source == source)
    return list(session.scalars(query))


@dataclass(frozen=True)
class ReplayReport:
    """What `replay_dead_letters` did: letters sent again (and removed) or left as they were."""

    replayed: int
    accepted: int
    duplicates: int
    rejected: int
    skipped: int  # not points (a raw message that never parsed) or a truncated payload


def replay_dead_letters(
    sink: TelemetryService,
    site: Site,
    *,
    source: str | None = None,
    reason: str | None = None,
    limit: int = 10_000,
) -> ReplayReport:
    """Send the site's rejected points again, say once the missing tag exists.

    Each letter that holds points (`{tag, ts, value}`, or a list of them) goes through the
    ingest path again under its own source and is removed: its points are now stored, counted
    as duplicates, or rejected again into a new dead letter with today's reason. Letters of
    messages that never parsed are left alone. `reason` keeps the letters whose reason starts
    with it (e.g. `unknown_tag`).
    """
    with sink.sessions() as session:
        letters = list_dead_letters(session, site=site, source=source, limit=limit)
    if reason:
        letters = [letter for letter in letters if letter.reason.startswith(reason)]
    by_source: dict[str, list[DeadLetter]] = {}
    points_of: dict[int, list[RawPoint]] = {}
    for letter in reversed(letters):  # oldest first, as they came
        points = None if letter.payload_truncated else _letter_points(letter)
        if points:
            points_of[letter.id] = points
            by_source.setdefault(letter.source, []).append(letter)
    accepted = duplicates = rejected = 0
    for letter_source, group in by_source.items():
        points = [point for letter in group for point in points_of[letter.id]]
        result = sink.ingest(site.code, points, source=letter_source)
        accepted += result.accepted
        duplicates += result.duplicates
        rejected += len(result.rejected)
        with sink.sessions.begin() as session:
            session.execute(delete(DeadLetter).where(DeadLetter.id.in_([d.id for d in group])))
    replayed = len(points_of)
    return ReplayReport(replayed, accepted, duplicates, rejected, len(letters) - replayed)


def _letter_points(letter: DeadLetter) -> list[RawPoint] | None:
    """The points a dead letter keeps: `{tag, ts, value}` (a rejected point, with its `index`)
    or a list of them (a batch the sink refused); None for anything else. A point that came
    without a time stamp was stamped on arrival, which is when the letter was written."""
    try:
        body = orjson.loads(letter.payload)
    except orjson.JSONDecodeError:
        return None
    rows = body if isinstance(body, list) else [body]
    points = []
    for row in rows:
        if not isinstance(row, dict) or set(row) - {"index"} != {"tag", "ts", "value"}:
            return None
        ts = row["ts"] if row["ts"] is not None else as_utc(letter.received_at)
        points.append(RawPoint(row["tag"], ts, row["value"]))
    return points or None


def dead_letter_dict(letter: DeadLetter) -> dict[str, object]:
    """A dead letter for JSON output; the payload is shown as text (invalid UTF-8 replaced)."""
    return {
        "id": letter.id,
        "received_at": letter.received_at,
        "source": letter.source,
        "site": letter.site_code,
        "tag": letter.tag,
        "reason": letter.reason,
        "payload": letter.payload.decode("utf-8", errors="replace"),
        "payload_truncated": letter.payload_truncated,
    }


# -- series queries -------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """One aggregated bucket; `start` is local time in the site's zone."""

    start: datetime
    value: float


@dataclass(frozen=True)
class SeriesAggregate:
    """`fn` of a tag over `every` buckets of [start, end) in the site's time zone."""

    site: str
    tag: str
    unit: str
    every: str
    fn: str
    timezone: str
    start: datetime
    end: datetime
    buckets: tuple[Bucket, ...]


def series_aggregate(
    session: Session,
    store: TimeSeriesStore,
    site: Site,
    tag_ref: str,
    *,
    every: Every,
    fn: AggFn,
    start: datetime,
    end: datetime,
) -> SeriesAggregate:
    """Aggregate one tag's series with the store, bucketed on the site's local calendar."""
    tag = assets.get_tag(session, site, tag_ref)
    zone = ZoneInfo(site.timezone)
    table = store.aggregate([tag.id], start, end, every, fn, tz=site.timezone)
    buckets = tuple(
        Bucket(moment.astimezone(zone), value)
        for moment, value in zip(
            table.column("bucket_start").to_pylist(), table.column("value").to_pylist(), strict=True
        )
    )
    return SeriesAggregate(
        site.code, tag.path, tag.unit, every, fn, site.timezone, start, end, buckets
    )


def aggregate_dict(result: SeriesAggregate) -> dict[str, object]:
    """A series aggregate for JSON output; bucket starts carry the site's UTC offset."""
    return {
        "site": result.site,
        "tag": result.tag,
        "unit": result.unit,
        "every": result.every,
        "fn": result.fn,
        "timezone": result.timezone,
        "from": result.start.isoformat(),
        "to": result.end.isoformat(),
        "buckets": [{"start": b.start.isoformat(), "value": b.value} for b in result.buckets],
    }


def local_instant(text: str, tz_name: str) -> datetime:
    """An instant from `YYYY-MM-DD` (local midnight) or ISO 8601 (local unless it has an offset)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as err:
        raise InvalidInput(
            f"{text!r} is not a date or ISO 8601 time", fields={"time": "format"}
        ) from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz_name))
    return moment
