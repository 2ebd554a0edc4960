"""The demo's live alerting: the engine loop that `lhos demo` starts, driven by an explicit clock
over simulated factories and stations, raises and resolves factory and environmental alerts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from rich.console import Console
from sqlalchemy import select

from lighthouse_os import demo
from lighthouse_os.alerts import demo as alerts_demo
from lighthouse_os.alerts.engine import build_engine, run_forever
from lighthouse_os.alerts.models import Alert
from lighthouse_os.auth.demo import seed_identity
from lighthouse_os.auth.models import Site
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.environment.averaging import ICT
from lighthouse_os.environment.demo import seed_environment
from lighthouse_os.kpi.demo import DEMO_PLANTS, backfill, provision
from lighthouse_os.settings import Settings
from lighthouse_os.simulator.publish import SinkPublisher, factory_specs
from lighthouse_os.telemetry.service import build_sink

END = datetime(2025, 3, 4, 12, 0, tzinfo=ICT)  # a Tuesday noon in Ho Chi Minh City
WINDOW = timedelta(hours=12)  # the night, and the morning shift from 06:00
STEP = timedelta(minutes=20)


def _clock(start: datetime, step: timedelta) -> Iterator[datetime]:
    moment = start
    while True:
        moment += step
        yield moment


def _seed(settings: Settings) -> None:
    """The demo's tenants, factories (12 simulated hours through the real sink), stations (with
    their history up to END) and alert rules, as `lhos demo` seeds them, at a fixed time."""
    engine = make_engine(settings.resolved_database_url)
    sink = build_sink(settings)
    try:
        with make_session_factory(engine)() as session:
            seed_identity(settings, session)
            session.commit()
            for code, machines, seed in DEMO_PLANTS:
                specs = factory_specs(machines)
                provision(session, get_site(session, code), specs)
                backfill(SinkPublisher(sink, code), specs, END - WINDOW, END, seed)
            seed_environment(settings, session, now=END)
            for code in alerts_demo.DEMO_SITES:
                alerts_demo.seed_rules(session, get_site(session, code))
            session.commit()
    finally:
        sink.close()
        engine.dispose()


def test_the_live_engine_raises_and_resolves_factory_and_environment_alerts(
    initialised_settings: Settings,
) -> None:
    _seed(initialised_settings)
    ticks = _clock(END - WINDOW, STEP)
    engine = build_engine(initialised_settings, clock=lambda: next(ticks))
    try:
        runs = run_forever(engine, interval=0, stop=threading.Event(), max_runs=36)
    finally:
        engine.close()
    assert runs == 36  # 12 simulated hours, one run every 20 minutes
    db = make_engine(initialised_settings.resolved_database_url)
    with make_session_factory(db)() as session:
        found = [
            (site.code, alert.rule_key, alert.title, alert.status)
            for alert, site in session.execute(
                select(Alert, Site).join(Site, Site.id == Alert.site_id).order_by(Alert.id)
            )
        ]
    db.dispose()
    factory = [f for f in found if f[1].startswith("rule:")]
    environment = [f for f in found if f[1].startswith("env:")]
    assert {f[0] for f in factory} == {"saigon-precision", "tanthuan-electronics"}
    assert any(f[3] == "resolved" for f in factory)
    assert ("Press broken down", "resolved") in {(f[2], f[3]) for f in factory}
    # The seeded environment: SO2 at Tân Tạo 10 and 9 hours before END, COD at Saigon
    # Precision 6 hours before, 40 minutes without files from Hiệp Phước 9 hours before.
    assert sorted((f[0], f[1], f[3]) for f in environment) == [
        ("HCM-AQ-005", "env:air", "resolved"),
        ("hiepphuoc-foods", "env:feed_gap", "resolved"),
        ("saigon-precision", "env:wastewater", "resolved"),
    ]


def test_run_demo_starts_the_alert_engine_after_the_streams_and_stops_it(
    monkeypatch: pytest.MonkeyPatch, initialised_settings: Settings
) -> None:
    calls: list[str] = []
    stop_streams, stop_alerts = threading.Event(), threading.Event()

    def streams(
        _settings: Settings, **_where: object
    ) -> tuple[threading.Event, list[threading.Thread]]:
        calls.append("factories")
        return stop_streams, []

    def stations(_settings: Settings, _stop: threading.Event) -> list[threading.Thread]:
        calls.append("stations")
        return []

    def alert_engine(_settings: Settings) -> tuple[threading.Thread, threading.Event]:
        calls.append("alerts")
        return threading.Thread(), stop_alerts

    def serve(*_args: object, **_kwargs: object) -> None:
        calls.append("serve")
        assert not stop_alerts.is_set()

    monkeypatch.setattr(demo, "seed", lambda _settings, _console: [])
    monkeypatch.setattr(demo, "start_streaming", streams)
    monkeypatch.setattr(demo, "stream_environment", stations)
    monkeypatch.setattr(demo, "start_alert_engine", alert_engine)
    monkeypatch.setattr("uvicorn.run", serve)
    demo.run_demo(
        initialised_settings, host="127.0.0.1", port=0, serve=True, console=Console(quiet=True)
    )
    assert calls == ["factories", "stations", "alerts", "serve"]
    assert stop_streams.is_set()
    assert stop_alerts.is_set()
