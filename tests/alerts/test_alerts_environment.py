"""Environmental alerts through the engine: a QCVN 05 exceedance at an air station, a QCVN 40
exceedance and a feed gap at a monitoring station open alerts on the station's site, which
resolve by themselves when the condition clears; notifications, access, pages in vi and en."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lighthouse_os.alerts import service
from lighthouse_os.alerts.codec import aware
from lighthouse_os.alerts.engine import AlertEngine
from lighthouse_os.alerts.models import Alert, AlertDelivery
from lighthouse_os.alerts.schemas import ChannelIn
from lighthouse_os.auth.policy import Principal
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.db.base import utcnow
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.environment import monitoring
from lighthouse_os.environment import service as env_service
from lighthouse_os.environment.averaging import ICT
from lighthouse_os.environment.feed import FeedReading, feed_file_name, write_feed
from lighthouse_os.environment.schemas import MonitoringStationInput
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.service import TelemetryService
from lighthouse_os.telemetry.store import TimeSeriesStore, open_store
from tests.environment.environment_support import air_input, write_hours
from tests.support import World, sign_in

DAY = datetime(2025, 3, 3, tzinfo=ICT)
AIR, WATER = "HCM-AQ-T01", "HCM_ABC_NUO001"  # an air station of program c4ir; a1's wastewater


def at(hour: float) -> datetime:
    return DAY + timedelta(hours=hour)


@dataclass
class Env:
    sessions: sessionmaker[Session]
    store: TimeSeriesStore
    sink: TelemetryService

    def engine(self) -> AlertEngine:
        return AlertEngine(self.sessions, self.store)

    def alerts(self, site: str) -> list[Alert]:
        with self.sessions() as session:
            found = service.list_alerts(session, get_site(session, site))
            return sorted(found, key=lambda a: (a.opened_at, a.id))

    def water_file(self, moment: datetime, cod: float) -> None:
        """One Circular 10/2021 file of the wastewater station, received as the inbox would."""
        body = write_feed([FeedReading("COD", cod, "mg/L", moment, "00")])
        name = feed_file_name("HCM", "ABC", "NUO001", moment)
        with self.sessions() as session:
            monitoring.receive_file(session, self.sink, name, body, now=moment)


@pytest.fixture
def env(initialised_settings: Settings, world: World) -> Iterator[Env]:
    engine = make_engine(initialised_settings.resolved_database_url)
    sessions = make_session_factory(engine)
    store = open_store(initialised_settings.resolved_timeseries_url)
    with sessions() as session:
        env_service.add_air_station(session, program_ref="c4ir", data=air_input(AIR))
        data = MonitoringStationInput(code=WATER, site="a1", kind="wastewater", kq=0.9, kf=1.1)
        monitoring.register_monitoring_station(session, data)  # COD: 150 × 0.99 = 148.5 mg/L
    yield Env(sessions, store, TelemetryService(sessions, store, clock=utcnow))
    store.close()
    engine.dispose()


def _so2_release(env: Env) -> None:
    """SO2 20 µg/m³ from midnight, 380 at 10:00 and 410 at 11:00 (1-h limit 350), then 20."""
    values = {10: 380.0, 11: 410.0}
    write_hours(env.sink, AIR, [(at(h), {"so2": values.get(h, 20.0)}) for h in range(14)])


# -- air ------------------------------------------------------------------------------------


def test_an_so2_exceedance_opens_an_alert_on_the_station_site_that_resolves_itself(
    env: Env,
) -> None:
    _so2_release(env)
    engine = env.engine()
    engine.run_once(at(10.5))
    assert env.alerts(AIR) == []
    engine.run_once(at(11) + timedelta(minutes=10))  # the hour 10:00–11:00 is complete
    (alert,) = env.alerts(AIR)
    assert (alert.rule_key, alert.series, alert.status, alert.severity, alert.value) == (
        "env:air",
        f"{AIR}/so2/1h",
        "open",
        "warning",
        380.0,
    )
    assert aware(alert.opened_at) == at(11)
    assert alert.title == f"SO₂ above the QCVN 05:2023 1-hour limit at {AIR}"
    assert alert.message == {
        "key": "air_exceedance",
        "args": {
            "parameter": "SO₂", "station": AIR, "averaging": "1h", "value": 380.0,
            "limit": 350.0, "unit": "µg/Nm³",
        },
    }  # fmt: skip
    engine.run_once(at(12) + timedelta(minutes=10))  # 410 in the next hour: the same alert
    engine.run_once(at(12) + timedelta(minutes=20))  # nothing new: nothing changes
    (alert,) = env.alerts(AIR)
    assert (alert.status, alert.occurrences) == ("open", 2)
    engine.run_once(at(13) + timedelta(minutes=10))  # back to 20: resolved by the system
    (alert,) = env.alerts(AIR)
    assert (alert.status, alert.resolved_by, aware(alert.resolved_at)) == (
        "resolved",
        "system",
        at(13),
    )


def test_an_air_alert_acknowledged_by_a_person_still_resolves_when_the_air_clears(
    env: Env,
) -> None:
    _so2_release(env)
    engine = env.engine()
    engine.run_once(at(11) + timedelta(minutes=10))
    (alert,) = env.alerts(AIR)
    with env.sessions() as session:
        site = get_site(session, AIR)
        service.acknowledge(
            session, site, alert.id, actor=Principal(label="ops@c4ir.vn"), now=at(11.5)
        )
    engine.run_once(at(13) + timedelta(minutes=10))
    (alert,) = env.alerts(AIR)
    assert (alert.status, alert.acknowledged_by, alert.resolved_by) == (
        "resolved",
        "ops@c4ir.vn",
        "system",
    )


# -- monitoring station: QCVN 40 and the feed ------------------------------------------------


def _water_day(env: Env, skip: tuple[float, float] = (10.5 + 5 / 60, 10.75)) -> None:
    """A file every 5 minutes from 10:00 to 12:55, none from 10:35 to 10:45 (a gap); COD 200 in
    the hour from 10:00, 90 after."""
    moment = at(10)
    while moment < at(13):
        if not at(skip[0]) <= moment <= at(skip[1]):
            env.water_file(moment, 200.0 if moment < at(11) else 90.0)
        moment += timedelta(minutes=5)


def test_a_feed_gap_and_a_cod_exceedance_open_alerts_that_resolve_when_cleared(
    env: Env,
) -> None:
    _water_day(env)
    with env.sessions() as session:
        channel = ChannelIn(name="ops", kind="webhook", url="http://127.0.0.1:9/hook")
        service.create_channel(session, get_site(session, "a1"), channel, actor=Principal())
    engine = env.engine()
    engine.run_once(at(10) + timedelta(minutes=32))
    assert env.alerts("a1") == []
    engine.run_once(at(10) + timedelta(minutes=47))  # last file 10:30; one was due at 10:35
    (gap,) = env.alerts("a1")
    assert (gap.rule_key, gap.series, gap.status, aware(gap.opened_at)) == (
        "env:feed_gap",
        WATER,
        "open",
        at(10) + timedelta(minutes=35),
    )
    assert gap.title == f"No data from monitoring station {WATER}"
    engine.run_once(at(10) + timedelta(minutes=52))  # the 10:50 file arrived
    (gap,) = env.alerts("a1")
    assert (gap.status, aware(gap.resolved_at)) == ("resolved", at(10) + timedelta(minutes=50))

    engine.run_once(at(11) + timedelta(minutes=3))  # the 10:55 file may still come
    assert len(env.alerts("a1")) == 1
    engine.run_once(at(11) + timedelta(minutes=6))  # judged: mean 200 > 148.5
    cod = env.alerts("a1")[1]
    assert (cod.rule_key, cod.series, cod.status, cod.severity, cod.value) == (
        "env:wastewater",
        f"{WATER}/COD",
        "open",
        "critical",
        200.0,
    )
    assert aware(cod.opened_at) == at(11)
    engine.run_once(at(12) + timedelta(minutes=6))  # 90 in the hour from 11:00
    cod = env.alerts("a1")[1]
    assert (cod.status, aware(cod.resolved_at)) == ("resolved", at(12))

    with env.sessions() as session:
        deliveries = session.scalars(select(AlertDelivery).order_by(AlertDelivery.id)).all()
    assert [(d.event, d.payload["alert"]["series"]) for d in deliveries] == [
        ("opened", WATER),
        ("resolved", WATER),
        ("opened", f"{WATER}/COD"),
        ("resolved", f"{WATER}/COD"),
    ]
    words = deliveries[2].payload["alert"]
    assert words["title"] == f"COD above the QCVN 40:2011/BTNMT limit at {WATER}"
    assert words["title_vi"] == f"COD vượt giới hạn QCVN 40:2011/BTNMT tại {WATER}"
    assert words["detail"].startswith("The hourly mean was 200 mg/L; QCVN 40:2011/BTNMT column B")


def test_repeated_runs_over_the_same_data_add_nothing(env: Env) -> None:
    _water_day(env)
    _so2_release(env)
    engine = env.engine()
    for minute in range(0, 240, 7):
        engine.run_once(at(10) + timedelta(minutes=minute))
    first = [(a.uid, a.status, a.occurrences) for a in env.alerts("a1") + env.alerts(AIR)]
    again = env.engine()  # a restarted engine sees the same alerts and adds nothing
    again.run_once(at(14))
    again.run_once(at(14) + timedelta(minutes=1))
    assert [(a.uid, a.status, a.occurrences) for a in env.alerts("a1") + env.alerts(AIR)] == first
    # The 10:35 silence, the COD hour, and the silence since the last file (12:55) of the day.
    assert [(a.series, a.status) for a in env.alerts("a1")] == [
        (WATER, "resolved"),
        (f"{WATER}/COD", "resolved"),
        (WATER, "open"),
    ]
    assert [(a.series, a.status, a.occurrences) for a in env.alerts(AIR)] == [
        (f"{AIR}/so2/1h", "resolved", 2)
    ]


def test_a_station_that_keeps_dropping_out_is_flapping_and_resolves_an_hour_after(
    env: Env,
) -> None:
    # Files at 10:00, 10:15, 10:30, then every 5 minutes from 10:45: three silences of 10 min.
    for minute in (0, 15, 30, *range(45, 180, 5)):
        env.water_file(at(10) + timedelta(minutes=minute), 90.0)
    engine = env.engine()
    for minute in range(2, 180, 2):
        engine.run_once(at(10) + timedelta(minutes=minute))
    alerts = [a for a in env.alerts("a1") if a.rule_key == "env:feed_gap"]
    assert [aware(a.opened_at) for a in alerts] == [
        at(10) + timedelta(minutes=m) for m in (5, 20, 35)
    ]
    third = alerts[2]
    assert third.flapping  # its clear at 10:45 held it open …
    assert (third.status, aware(third.resolved_at)) == (
        "resolved",
        at(11) + timedelta(minutes=45),  # … until an hour passed without a new silence
    )
    assert [a.status for a in alerts[:2]] == ["resolved", "resolved"]


# -- access, the API and the pages ------------------------------------------------------------


def test_alerts_follow_the_site_access_rules_and_read_in_the_callers_language(
    env: Env, client: TestClient
) -> None:
    _water_day(env)
    _so2_release(env)
    engine = env.engine()
    engine.run_once(at(11) + timedelta(minutes=10))
    sign_in(client, "member@a.vn")
    en = client.get("/api/v1/sites/a1/alerts?lang=en").json()
    assert [(a["title"], a["source"]) for a in en] == [
        (f"COD above the QCVN 40:2011/BTNMT limit at {WATER}", "environment"),
        (f"No data from monitoring station {WATER}", "environment"),
    ]
    assert en[0]["detail"].startswith("The hourly mean was 200 mg/L;")
    vi = client.get("/api/v1/sites/a1/alerts?lang=vi").json()
    assert vi[1]["title"] == f"Không nhận được dữ liệu từ trạm quan trắc {WATER}"
    # The air station is a site of the program: a factory member does not see it at all.
    assert client.get(f"/api/v1/sites/{AIR}/alerts").status_code == 404
    page = client.get(f"/sites/a1/alerts/{en[0]['id']}?lang=vi")
    assert page.status_code == 200
    assert f"COD vượt giới hạn QCVN 40:2011/BTNMT tại {WATER}" in page.text
    assert "Giá trị trung bình 1 giờ là 200 mg/L" in page.text
    assert "quan trắc môi trường" in page.text

    client.cookies.clear()
    sign_in(client, "root@lhos.vn")
    (air,) = client.get(f"/api/v1/sites/{AIR}/alerts?lang=en").json()
    assert air["title"] == f"SO₂ above the QCVN 05:2023 1-hour limit at {AIR}"
    listed = client.get(f"/sites/{AIR}/alerts?lang=vi")
    assert f"SO₂ vượt giới hạn trung bình 1 giờ của QCVN 05:2023 tại {AIR}" in listed.text
