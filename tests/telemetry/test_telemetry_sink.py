"""The write path: validate, write once per batch, dead-letter the rest, cache tags per site."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from lighthouse_os.assets import service as assets
from lighthouse_os.assets.hierarchy import TagDraft
from lighthouse_os.auth.models import Site
from lighthouse_os.telemetry.models import DeadLetter
from lighthouse_os.telemetry.points import RawPoint
from lighthouse_os.telemetry.service import (
    ReplayReport,
    TelemetryService,
    list_dead_letters,
    replay_dead_letters,
    series_aggregate,
)
from lighthouse_os.telemetry.store import TimeSeriesStore, WriteResult
from lighthouse_os.telemetry.validation import reason_code
from tests.support import World
from tests.telemetry.conftest import SF_NOW

T0 = SF_NOW - timedelta(hours=1)


def _stored(store: TimeSeriesStore, series_id: int) -> list[tuple[datetime, float]]:
    table = store.raw([series_id], T0 - timedelta(days=1), SF_NOW + timedelta(hours=1))
    return list(zip(table["ts"].to_pylist(), table["value"].to_pylist(), strict=True))


def _tag_id(sessions: sessionmaker[Session], world: World, path: str) -> int:
    with sessions() as session:
        site = session.get(Site, world.a1)
        assert site is not None
        return assets.get_tag(session, site, path).id


def _letters(sessions: sessionmaker[Session]) -> list[DeadLetter]:
    with sessions() as session:
        return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def test_sink_stores_scaled_points_and_reports_them(
    sf_sink: TelemetryService, sf_sessions: sessionmaker[Session], world: World
) -> None:
    points = [RawPoint("line1/press2/power", T0 + timedelta(minutes=i), 1500 * i) for i in range(3)]
    result = sf_sink.ingest("a1", points, source="test")
    assert (result.accepted, result.duplicates, result.rejected) == (3, 0, ())
    series = _tag_id(sf_sessions, world, "line1/press2/power")
    assert [v for _ts, v in _stored(sf_sink.store, series)] == [0.0, 1.5, 3.0]  # W x 0.001


def test_sink_bad_points_go_to_dead_letters_and_the_rest_lands(
    sf_sink: TelemetryService, sf_sessions: sessionmaker[Session], world: World
) -> None:
    points = [
        RawPoint("line1/press2/kwh", T0, 10.0),
        RawPoint("line1/press2/kwh", T0 + timedelta(minutes=1), "n/a"),
        RawPoint("line9/x", T0, 1.0),
        RawPoint("line1/press2/state", T0, "exploded"),
        RawPoint("line1/press2/state", T0, "run"),
    ]
    result = sf_sink.ingest("a1", points, source="http")
    assert result.accepted == 2
    assert [(r.index, reason_code(r.reason)) for r in result.rejected] == [
        (1, "not_a_number"),
        (2, "unknown_tag"),
        (3, "unknown_state"),
    ]
    letters = _letters(sf_sessions)
    assert [(d.source, d.site_id, d.tag) for d in letters] == [
        ("http", world.a1, "line1/press2/kwh"),
        ("http", world.a1, "line9/x"),
        ("http", world.a1, "line1/press2/state"),
    ]
    assert orjson.loads(letters[0].payload) == {
        "index": 1,
        "tag": "line1/press2/kwh",
        "ts": "2026-03-01T00:01:00+00:00",
        "value": "n/a",
    }
    assert letters[0].reason.startswith("not_a_number: ")


def test_sink_redelivery_counts_duplicates_and_keeps_the_first_value(
    sf_sink: TelemetryService, sf_sessions: sessionmaker[Session], world: World
) -> None:
    points = [RawPoint("line1/press2/kwh", T0 + timedelta(minutes=i), float(i)) for i in range(4)]
    sf_sink.ingest("a1", points, source="mqtt")
    again = sf_sink.ingest(
        "a1", [*points[:2], RawPoint("line1/press2/kwh", T0, 99.0)], source="mqtt"
    )
    assert (again.accepted, again.duplicates) == (0, 3)
    series = _tag_id(sf_sessions, world, "line1/press2/kwh")
    assert _stored(sf_sink.store, series)[0][1] == 0.0


def test_sink_unknown_site_dead_letters_the_whole_batch(
    sf_sink: TelemetryService, sf_sessions: sessionmaker[Session]
) -> None:
    result = sf_sink.ingest("ghost", [RawPoint("a/b", T0, 1.0)], source="mqtt")
    assert result.accepted == 0
    assert reason_code(result.rejected[0].reason) == "unknown_site"
    letter = _letters(sf_sessions)[0]
    assert (letter.site_code, letter.site_id) == ("ghost", None)


class CountingStore:
    """A store wrapper that counts `write` calls (our interface, so a fake is fine)."""

    def __init__(self, inner: TimeSeriesStore) -> None:
        self.inner = inner
        self.batches: list[int] = []

    def write(self, batch: pa.Table) -> WriteResult:
        self.batches.append(batch.num_rows)
        return self.inner.write(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def counted(
    sf_sessions: sessionmaker[Session], sf_store: TimeSeriesStore
) -> Iterator[tuple[TelemetryService, CountingStore, list[str]]]:
    store = CountingStore(sf_store)
    sink = TelemetryService(sf_sessions, store, clock=lambda: SF_NOW, revision_ttl_s=3600)  # type: ignore[arg-type]
    statements: list[str] = []
    engine = sf_sessions.kw["bind"]

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield sink, store, statements
    event.remove(engine, "before_cursor_execute", record)


def test_sink_writes_once_per_batch_with_no_sql_per_point(
    counted: tuple[TelemetryService, CountingStore, list[str]],
) -> None:
    sink, store, statements = counted
    warm = [RawPoint("line1/press2/kwh", T0, 0.0)]
    sink.ingest("a1", warm, source="test")
    statements.clear()
    batch = [
        RawPoint("line1/press2/kwh", T0 + timedelta(seconds=i), float(i)) for i in range(1, 2001)
    ]
    result = sink.ingest("a1", batch, source="test")
    assert result.accepted == 2000
    assert store.batches == [1, 2000]
    assert statements == []  # cached tags, nothing rejected: no relational SQL at all


def test_sink_sees_a_new_tag_at_once_and_a_changed_scale_after_the_ttl(
    counted: tuple[TelemetryService, CountingStore, list[str]],
    sf_sessions: sessionmaker[Session],
    world: World,
) -> None:
    sink, _store, _statements = counted
    sink.ingest("a1", [RawPoint("line1/press2/power", T0, 1000)], source="test")
    with sf_sessions() as session:
        site = session.get(Site, world.a1)
        assert site is not None
        assets.create_tag(session, site, TagDraft("line1/press2/amps", "A", "gauge"))
        power = assets.get_tag(session, site, "line1/press2/power")
        assets.update_tag(session, site, power.id, TagDraft("", "kW", "gauge", scale=1.0))
    fresh = sink.ingest("a1", [RawPoint("line1/press2/amps", T0, 5)], source="test")
    assert fresh.accepted == 1  # an unknown tag forces a revision check
    sink.ingest("a1", [RawPoint("line1/press2/power", T0 + timedelta(minutes=1), 1000)], source="t")
    series = _tag_id(sf_sessions, world, "line1/press2/power")
    assert [v for _t, v in _stored(sink.store, series)] == [1.0, 1000.0]  # reloaded with the tag


def test_sink_dead_letter_keeps_unparseable_messages(
    sf_sink: TelemetryService, sf_sessions: sessionmaker[Session], world: World
) -> None:
    sf_sink.dead_letter(source="mqtt", payload=b"\xff{not json", reason="bad_json: x", site="a1")
    sf_sink.dead_letter(source="mqtt", payload=b"x" * 70_000, reason="too big", site=None)
    first, second = _letters(sf_sessions)
    assert (first.site_id, first.payload, first.reason) == (
        world.a1,
        b"\xff{not json",
        "bad_json: x",
    )
    assert (second.site_id, len(second.payload), second.payload_truncated) == (None, 65536, True)


def test_sink_dead_letters_list_filters_by_site_and_source(
    sf_sink: TelemetryService, sf_sessions: sessionmaker[Session], world: World
) -> None:
    sf_sink.ingest("a1", [RawPoint("nope", T0, 1)], source="http")
    sf_sink.ingest("b1", [RawPoint("nope", T0, 1)], source="http")
    sf_sink.dead_letter(source="mqtt", payload=b"?", reason="bad", site="a1")
    with sf_sessions() as session:
        a1 = session.get(Site, world.a1)
        assert a1 is not None
        assert [d.source for d in list_dead_letters(session, site=a1)] == ["mqtt", "http"]
        assert len(list_dead_letters(session, source="http")) == 2
        assert len(list_dead_letters(session, site=a1, source="http")) == 1


def test_sink_series_aggregate_buckets_on_the_local_day(
    sf_sink: TelemetryService, sf_sessions: sessionmaker[Session], world: World
) -> None:
    # 16:30 and 17:30 UTC fall on two local days in UTC+7 (23:30 and 00:30).
    stamps = [datetime(2026, 2, 27, 16, 30, tzinfo=UTC), datetime(2026, 2, 27, 17, 30, tzinfo=UTC)]
    sf_sink.ingest("a1", [RawPoint("line1/press2/kwh", t, 5.0) for t in stamps], source="t")
    with sf_sessions() as session:
        site = session.get(Site, world.a1)
        assert site is not None
        result = series_aggregate(
            session,
            sf_sink.store,
            site,
            "line1/press2/kwh",
            every="1d",
            fn="sum",
            start=datetime(2026, 2, 26, tzinfo=UTC),
            end=datetime(2026, 3, 1, tzinfo=UTC),
        )
    assert [(b.start.isoformat(), b.value) for b in result.buckets] == [
        ("2026-02-27T00:00:00+07:00", 5.0),
        ("2026-02-28T00:00:00+07:00", 5.0),
    ]


def test_replay_sends_rejected_points_again_once_their_tag_exists(
    sf_sink: TelemetryService, sf_sessions: sessionmaker[Session], world: World
) -> None:
    points = [
        RawPoint("line1/press2/amps", T0, 4.0),
        RawPoint("line1/press2/amps", T0 + timedelta(minutes=1), 5.0),
        RawPoint("line1/press2/volts", T0, 230.0),  # still unknown after the replay
        RawPoint("line1/press2/kwh", T0, "n/a"),
    ]
    sf_sink.ingest("a1", points, source="mqtt")
    sf_sink.dead_letter(source="mqtt", payload=b"{not json", reason="invalid JSON", site="a1")
    with sf_sessions() as session:
        site = session.get(Site, world.a1)
        assert site is not None
        assets.create_tag(session, site, TagDraft("line1/press2/amps", "A", "gauge"))

    report = replay_dead_letters(sf_sink, site, reason="unknown_tag")
    assert report == ReplayReport(replayed=3, accepted=2, duplicates=0, rejected=1, skipped=0)
    amps = _tag_id(sf_sessions, world, "line1/press2/amps")
    assert [v for _ts, v in _stored(sf_sink.store, amps)] == [4.0, 5.0]
    left = [(d.source, d.tag, d.reason.split(":")[0]) for d in _letters(sf_sessions)]
    assert sorted(left) == [
        ("mqtt", "", "invalid JSON"),
        ("mqtt", "line1/press2/kwh", "not_a_number"),
        ("mqtt", "line1/press2/volts", "unknown_tag"),  # a new letter, today's reason
    ]

    again = replay_dead_letters(sf_sink, site)
    assert again == ReplayReport(replayed=2, accepted=0, duplicates=0, rejected=2, skipped=1)
    assert len(_letters(sf_sessions)) == 3
