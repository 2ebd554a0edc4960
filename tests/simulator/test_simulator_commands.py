"""`lhos simulate factory`: determinism, and publishing through the real HTTP and MQTT paths."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from lighthouse_os.auth.tenants import SiteInput, create_site, get_site
from lighthouse_os.cli import run
from lighthouse_os.db.base import utcnow
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.settings import Settings
from lighthouse_os.simulator.commands import create_site_assets, default_start, run_factory
from lighthouse_os.simulator.factory import Point
from lighthouse_os.simulator.publish import (
    HttpPublisher,
    MqttPublisher,
    batches,
    factory_specs,
    machine_messages,
)
from lighthouse_os.telemetry.service import TelemetryService
from lighthouse_os.telemetry.sources.mqtt.source import JsonTopicDecoder
from lighthouse_os.telemetry.store import TimeSeriesStore, open_store
from tests.support import World
from tests.telemetry.sources.sources_fakes import start_worker, wait_until

START = datetime(2025, 3, 3, 5, tzinfo=UTC)  # Monday 12:00 in Ho Chi Minh City


class Recorder:
    """A publisher that keeps what it was sent."""

    def __init__(self) -> None:
        self.points: list[Point] = []

    def send(self, points: Sequence[Point]) -> int | None:
        self.points += points
        return len(points)

    def close(self) -> None:
        return None


def _run(seed: int, machines: int = 3) -> list[Point]:
    recorder = Recorder()
    run_factory(recorder, machines=machines, seed=seed, start=START, hours=2, speed=0, sample_s=60)
    return recorder.points


def test_run_factory_gives_the_same_points_for_the_same_seed() -> None:
    assert _run(5) == _run(5)
    assert _run(5) != _run(6)


def test_run_factory_keeps_other_machines_when_one_is_added() -> None:
    three = set(_run(5, 3))
    four = set(_run(5, 4))
    assert three < four


@pytest.mark.parametrize(
    ("machines", "lines"), [(1, ["line-1"]), (4, ["line-1"]), (5, ["line-1", "line-2"])]
)
def test_factory_specs_put_four_machines_on_a_line(machines: int, lines: list[str]) -> None:
    specs = factory_specs(machines)
    assert len(specs) == machines
    assert sorted({s.line for s in specs}) == lines
    # Both variants of a machine's product share one ideal cycle time (one PRI per machine).
    assert all(len({p.ideal_cycle_time_s for p in s.products}) == 1 for s in specs)


def test_batches_never_split_one_instant() -> None:
    points = _run(5)
    chunks = list(batches(points, size=7))
    assert [p for chunk in chunks for p in chunk] == points
    assert all(a[-1].ts != b[0].ts for a, b in itertools.pairwise(chunks))


def test_machine_messages_group_signals_per_machine_and_instant() -> None:
    points = [
        Point("line-1/cnc-1/good_count", START, 3),
        Point("line-1/cnc-1/state", START, 1),
        Point("line-1/cnc-2/state", START, 4),
    ]
    messages = dict(machine_messages("s1", points))
    assert messages["lhos/s1/line-1/cnc-1"] == (
        b'{"ts":"2025-03-03T05:00:00+00:00","values":{"good_count":3,"state":1}}'
    )
    assert set(messages) == {"lhos/s1/line-1/cnc-1", "lhos/s1/line-1/cnc-2"}


@pytest.mark.parametrize(("speed", "ahead"), [(1.0, timedelta(0)), (60.0, -timedelta(hours=8))])
def test_default_start_never_puts_points_in_the_future(speed: float, ahead: timedelta) -> None:
    now = datetime(2025, 3, 3, 5, 0, 0, 500_000, tzinfo=UTC)
    assert default_start(speed, 8, now) == now.replace(microsecond=0) + ahead


def test_simulate_factory_needs_exactly_one_transport(
    initialised_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["simulate", "factory", "--site", "a1", "--no-create-assets"])
    assert code == 1
    assert "exactly one of --mqtt" in capsys.readouterr().err


# -- through the real ingestion paths -----------------------------------------------------------


def _stored(store: TimeSeriesStore, sessions: sessionmaker[Session], site: str) -> int:
    from lighthouse_os.assets import service as assets

    with sessions() as session:
        tags = assets.tags_of_site(session, get_site(session, site).id)
    return store.raw([t.id for t in tags], START - timedelta(days=1), utcnow()).num_rows


def test_simulate_factory_over_http_stores_every_point(
    initialised_settings: Settings, world: World
) -> None:
    create_site_assets(initialised_settings, "a1", 2)
    recorder = Recorder()
    run_factory(recorder, machines=2, seed=3, start=START, hours=3, speed=0, sample_s=60)
    with TestClient(create_app_for(initialised_settings)) as client:
        publisher = HttpPublisher("", world.tokens["a1_write"], "a1", client=client)
        stats = run_factory(
            publisher, machines=2, seed=3, start=START, hours=3, speed=0, sample_s=60
        )
    assert (stats.points, stats.accepted, publisher.rejected) == (len(recorder.points),) * 2 + (0,)
    engine = make_engine(initialised_settings.resolved_database_url)
    store = open_store(initialised_settings.resolved_timeseries_url)
    try:
        assert _stored(store, make_session_factory(engine), "a1") == len(recorder.points)
    finally:
        store.close()
        engine.dispose()


def create_app_for(settings: Settings) -> object:
    from lighthouse_os.app import create_app

    return create_app(settings)


@pytest.fixture
def mqtt_site(initialised_settings: Settings, world: World) -> str:
    code = f"sim-{uuid.uuid4().hex[:8]}"
    engine = make_engine(initialised_settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        create_site(session, org_ref="org-a", data=SiteInput("Sim", "2592", code=code))
    engine.dispose()
    return code


@pytest.mark.mqtt
def test_simulate_factory_over_mqtt_reaches_the_store_through_the_worker(
    initialised_settings: Settings, mqtt_url: str, mqtt_site: str, tmp_path: Path
) -> None:
    create_site_assets(initialised_settings, mqtt_site, 2)
    engine = make_engine(initialised_settings.resolved_database_url)
    sessions = make_session_factory(engine)
    store = open_store(f"duckdb:///{tmp_path / 'mqtt.duckdb'}")
    sink = TelemetryService(sessions, store)
    worker = start_worker(
        mqtt_url,
        [JsonTopicDecoder([mqtt_site])],
        sink,
        client_id=f"w-{mqtt_site}",  # type: ignore[arg-type]
    )
    try:
        publisher = MqttPublisher(mqtt_url, mqtt_site, client_id=f"p-{mqtt_site}")
        stats = run_factory(
            publisher, machines=2, seed=4, start=START, hours=1, speed=0, sample_s=60
        )
        publisher.close()
        assert wait_until(lambda: _stored(store, sessions, mqtt_site) == stats.points, 30)
    finally:
        worker.stop()
        store.close()
        engine.dispose()
    assert worker.worker.stats.rejected == 0
