"""Environment use cases: air stations, VN_AQI from the store, QCVN 05 findings, gaps, demo."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.assets import service as assets
from lighthouse_os.auth.models import Organisation, Site
from lighthouse_os.auth.policy import Grant, Principal, Role
from lighthouse_os.environment import monitoring, receiver, service
from lighthouse_os.environment.averaging import ICT
from lighthouse_os.environment.feed import FeedReading, feed_file_name, write_feed
from lighthouse_os.environment.models import (
    AirExceedance,
    AirStation,
    MonitoringGap,
    MonitoringStation,
)
from lighthouse_os.environment.schemas import (
    AirStationInput,
    MonitoringStationInput,
    parse_input,
)
from lighthouse_os.errors import Conflict, InvalidInput, NotFound
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.points import RawPoint
from lighthouse_os.telemetry.service import TelemetryService
from tests.environment.environment_support import (
    ENV_NOW,
    STATION,
    air_input,
    decision_example,
    hour_start,
    write_hours,
)
from tests.support import World

HOUR = timedelta(hours=1)


# -- air stations ---------------------------------------------------------------------------


def test_add_air_station_creates_a_program_site_with_one_ug_m3_tag_per_pollutant(
    env_session: Session, world: World
) -> None:
    station = service.add_air_station(
        env_session, program_ref="c4ir", data=air_input(parameters=("pm25", "o3", "pm10"))
    )
    site = env_session.get(Site, station.site_id)
    assert site is not None
    assert (site.code, site.org_id, site.vsic_code, site.district) == (
        "HCM-AQ-T01", world.program, "", "Quận 1"
    )  # fmt: skip
    tags = assets.tags_of_site(env_session, site.id)
    assert [(t.path, t.unit, t.kind) for t in tags] == [
        ("o3", "ug/m3", "gauge"), ("pm10", "ug/m3", "gauge"), ("pm25", "ug/m3", "gauge")
    ]  # fmt: skip
    assert station.parameters == ["pm25", "pm10", "o3"]  # POLLUTANTS order


def test_add_air_station_refuses_a_manufacturer_and_a_repeated_code(
    env_session: Session, air_station: AirStation
) -> None:
    with pytest.raises(InvalidInput, match="not a program"):
        service.add_air_station(env_session, program_ref="org-a", data=air_input("HCM-AQ-T02"))
    with pytest.raises(Conflict):
        service.add_air_station(env_session, program_ref="c4ir", data=air_input())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"parameters": ["o3", "no2"]}, "parameters"),
        ({"latitude": 91}, "latitude"),
        ({"code": "bad code"}, "code"),
        ({"kind": "volcano"}, "kind"),
    ],
)
def test_air_station_input_names_the_field_at_fault(changes: dict[str, object], field: str) -> None:
    values = air_input().model_dump() | changes
    with pytest.raises(InvalidInput) as caught:
        parse_input(AirStationInput, values)
    assert field in caught.value.fields


def test_hourly_means_average_the_points_of_each_hour_and_drop_negative_means(
    env_session: Session, env_sink: TelemetryService, air_station: AirStation
) -> None:
    start = datetime(2025, 3, 1, 8, tzinfo=ICT)
    points = [RawPoint("pm25", start + timedelta(minutes=m), v) for m, v in ((0, 10.0), (30, 20.0))]
    points += [RawPoint("co", start, -4.0), RawPoint("no2", start + HOUR, 7.0)]
    env_sink.ingest("HCM-AQ-T01", points, source="test")
    site = env_session.get(Site, air_station.site_id)
    assert site is not None
    means = service.hourly_means(env_session, env_sink.store, site, start, start + 2 * HOUR)
    assert [(h.start, h.pm25, h.co, h.no2) for h in means] == [
        (start, 15.0, None, None), (start + HOUR, None, None, 7.0)
    ]  # fmt: skip


def test_station_air_reproduces_the_decision_hourly_example_through_the_store(
    env_session: Session, env_sink: TelemetryService, air_station: AirStation
) -> None:
    current = datetime(2025, 3, 1, 11, tzinfo=ICT)
    write_hours(env_sink, "HCM-AQ-T01", decision_example(current))
    site = env_session.get(Site, air_station.site_id)
    assert site is not None
    air = service.station_air(
        env_session, env_sink.store, air_station, site, now=current + HOUR + timedelta(minutes=5)
    )
    assert air.current is not None
    result = air.current
    assert (result.start, result.aqi, result.dominant) == (current, 60, "no2")
    subs = {s.pollutant: (s.concentration, s.value) for s in result.sub_indices}
    assert subs == {"pm25": (20.3, 41), "o3": (136.1, 43), "no2": (118.7, 60)}
    assert not air.stale
    assert len(air.history) == 12  # hours holding data within the last 24


def test_station_air_is_stale_when_the_latest_hour_is_old_and_ignores_the_open_hour(
    env_session: Session, env_sink: TelemetryService, air_station: AirStation
) -> None:
    current = datetime(2025, 3, 1, 11, tzinfo=ICT)
    write_hours(env_sink, "HCM-AQ-T01", decision_example(current))
    site = env_session.get(Site, air_station.site_id)
    assert site is not None
    late = service.station_air(
        env_session, env_sink.store, air_station, site, now=current + 5 * HOUR
    )
    assert late.current is not None
    assert late.stale
    early = service.station_air(
        env_session, env_sink.store, air_station, site, now=current + timedelta(minutes=40)
    )
    assert early.current is not None
    assert early.current.start == current - HOUR  # the 11:00 hour is still open at 11:40


# -- QCVN 05:2023 exceedances ---------------------------------------------------------------


def _exceedances(session: Session) -> list[tuple[str, str, datetime, float, float, str]]:
    rows = session.scalars(select(AirExceedance).order_by(AirExceedance.period_start))
    return [
        (e.parameter, e.averaging, service.aware(e.period_start), e.value, e.limit_value,
         e.limit_source)
        for e in rows
    ]  # fmt: skip


def test_refresh_air_exceedances_records_1h_8h_and_24h_periods_once(
    env_session: Session, env_sink: TelemetryService, air_station: AirStation
) -> None:
    day = datetime(2025, 3, 1, tzinfo=ICT)
    hours = [(day + k * HOUR, {"pm25": 60.0, "co": 11000.0 if 8 <= k < 16 else 500.0})
             for k in range(24)]  # fmt: skip
    hours[12][1]["so2"] = 400.0
    write_hours(env_sink, "HCM-AQ-T01", hours)
    now = day + 24 * HOUR + timedelta(minutes=10)
    new = service.refresh_air_exceedances(env_session, env_sink.store, now=now)
    found = _exceedances(env_session)
    assert len(new) == len(found) == 3
    assert ("so2", "1h", day + 12 * HOUR, 400.0, 350.0, "QCVN 05:2023/BTNMT") in found
    assert ("pm25", "24h", day, 60.0, 50.0, "QCVN 05:2023/BTNMT") in found
    [co] = [f for f in found if f[0] == "co"]
    assert (co[1], co[2], co[3], co[4]) == ("8h", day + 8 * HOUR, 11000.0, 10000.0)
    assert service.refresh_air_exceedances(env_session, env_sink.store, now=now) == []
    assert len(_exceedances(env_session)) == 3


def test_air_exceedances_lists_the_station_and_is_scoped_by_program(
    env_session: Session, env_sink: TelemetryService, air_station: AirStation, world: World
) -> None:
    at = datetime(2025, 3, 1, 9, tzinfo=ICT)
    write_hours(env_sink, "HCM-AQ-T01", [(at, {"no2": 250.0})])
    service.refresh_air_exceedances(env_session, env_sink.store, now=at + 2 * HOUR)
    [(exc, station)] = service.air_exceedances(env_session, program_id=world.program)
    assert (station.code, exc.parameter, exc.averaging, exc.value) == (
        "HCM-AQ-T01",
        "no2",
        "1h",
        250.0,
    )
    assert service.air_exceedances(env_session, program_id=world.org_a) == []


# -- monitoring stations --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"code": "HCM_ABC_NUO01", "kind": "wastewater"}, "NUO|KHI"),
        ({"code": "HCM_ABC_KHI001", "kind": "wastewater"}, "ends in NUO"),
        ({"code": "HCM_ABC_NUO001", "kind": "wastewater", "kp": 1.0}, "Kp and Kv"),
        ({"code": "HCM_ABC_KHI001", "kind": "stack", "kq": 1.0}, "Kq and Kf"),
        ({"code": "HCM_ABC_KHI001", "kind": "stack", "column": "A"}, "column B"),
        ({"code": "HCM_ABC_NUO001", "kind": "wastewater", "kf": 0}, "greater than 0"),
    ],
)
def test_monitoring_station_input_rules(values: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_input(MonitoringStationInput, {"site": "a1", **values})


def test_register_monitoring_station_updates_an_existing_code(
    env_session: Session, water_station: MonitoringStation
) -> None:
    data = MonitoringStationInput(code="hcm_abc_nuo001", site="a2", kind="wastewater", column="A")
    again = monitoring.register_monitoring_station(env_session, data)
    a2 = env_session.scalar(select(Site).where(Site.code == "a2"))
    assert a2 is not None
    assert (again.id, again.code, again.limit_column, again.kq) == (
        water_station.id,
        STATION,
        "A",
        None,
    )
    assert again.site_id == a2.id
    with pytest.raises(NotFound):
        monitoring.station_and_site(env_session, "HCM_XYZ_NUO009")


def _receive(
    session: Session, sink: TelemetryService, at: datetime, station: str = "NUO001"
) -> None:
    reading = FeedReading("COD", 40.0, "mg/L", at, "00")
    name = feed_file_name("HCM", "ABC", station, at)
    monitoring.receive_file(session, sink, name, write_feed([reading]), now=ENV_NOW)


def test_check_gaps_opens_a_gap_on_silence_and_closes_it_when_files_come_back(
    env_session: Session, env_sink: TelemetryService, water_station: MonitoringStation
) -> None:
    start = ENV_NOW - 2 * HOUR
    for k in range(6):  # files every 5 minutes for half an hour, then silence
        _receive(env_session, env_sink, start + timedelta(minutes=5 * k))
    [gap] = receiver.check_gaps(env_session, now=ENV_NOW)
    last = start + timedelta(minutes=25)
    assert (service.aware(gap.start), gap.open, service.aware(gap.last_file_at)) == (
        last + timedelta(minutes=5), True, last
    )  # fmt: skip
    _receive(env_session, env_sink, ENV_NOW - timedelta(minutes=2))
    assert receiver.check_gaps(env_session, now=ENV_NOW) == []
    [closed] = env_session.scalars(select(MonitoringGap))
    assert (closed.open, service.aware(closed.end)) == (False, ENV_NOW - timedelta(minutes=2))


def test_check_gaps_forgets_a_gap_that_buffered_files_filled(
    env_session: Session, env_sink: TelemetryService, water_station: MonitoringStation
) -> None:
    start = ENV_NOW - HOUR
    times = [start + timedelta(minutes=5 * k) for k in range(13)]
    for at in times[:3] + times[-1:]:
        _receive(env_session, env_sink, at)
    receiver.check_gaps(env_session, now=ENV_NOW)
    assert len(env_session.scalars(select(MonitoringGap)).all()) == 1
    for at in times[3:-1]:  # the logger resends what it buffered, oldest first
        _receive(env_session, env_sink, at)
    receiver.check_gaps(env_session, now=ENV_NOW)
    assert env_session.scalars(select(MonitoringGap)).all() == []


def test_check_gaps_counts_a_silent_new_station_from_its_registration(
    env_session: Session, water_station: MonitoringStation
) -> None:
    now = service.aware(water_station.created_at) + timedelta(minutes=30)
    [gap] = receiver.check_gaps(env_session, now=now)
    assert (gap.open, gap.last_file_at) == (True, None)


def test_station_health_counts_files_of_the_last_24_hours(
    env_session: Session, env_sink: TelemetryService, water_station: MonitoringStation
) -> None:
    for k in range(12):
        _receive(env_session, env_sink, ENV_NOW - HOUR + timedelta(minutes=5 * k))
    _receive(env_session, env_sink, ENV_NOW - timedelta(hours=30))
    site = env_session.get(Site, water_station.site_id)
    assert site is not None
    health = receiver.station_health(env_session, water_station, site, now=ENV_NOW)
    assert (health.files_24h, health.expected_24h) == (12, 288)
    assert health.completeness == pytest.approx(12 / 288)
    assert health.last_file_at == ENV_NOW - timedelta(minutes=5)


# -- what a program sees --------------------------------------------------------------------


def test_city_overview_shows_monitoring_of_own_and_details_consent_sites_only(
    env_session: Session, env_sink: TelemetryService, world: World, air_station: AirStation
) -> None:
    for code, site in (("HCM_AAA_NUO001", "a1"), ("HCM_BBB_NUO001", "b1")):
        data = MonitoringStationInput(code=code, site=site, kind="wastewater")
        monitoring.register_monitoring_station(env_session, data)
    program = env_session.get(Organisation, world.program)
    assert program is not None
    overview = service.city_overview(env_session, env_sink.store, program, now=ENV_NOW)
    assert [h.station.code for h in overview.monitoring] == ["HCM_AAA_NUO001"]  # b1: aggregate
    assert [a.station.code for a in overview.air] == ["HCM-AQ-T01"]


def test_default_program_is_the_callers_program_and_refuses_others(
    env_session: Session, world: World
) -> None:
    admin = Principal(user_id=1, grants=(Grant(world.program, Role.PROGRAM_ADMIN),))
    assert service.default_program(env_session, admin) == world.program
    member = Principal(user_id=2, grants=(Grant(world.org_a, Role.SITE_MEMBER, world.a1),))
    with pytest.raises(NotFound):
        service.default_program(env_session, member)
    root = Principal(user_id=3, grants=(Grant(world.org_b, Role.PLATFORM_ADMIN),))
    assert service.default_program(env_session, root) == world.program


# -- demo -----------------------------------------------------------------------------------


def test_demo_seeds_air_history_an_exceedance_a_gap_and_is_idempotent(
    initialised_settings: Settings,
) -> None:
    from lighthouse_os.auth.demo import seed_identity
    from lighthouse_os.db.engine import make_engine, make_session_factory
    from lighthouse_os.environment import demo

    engine = make_engine(initialised_settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        seed_identity(initialised_settings, session)
        session.commit()
        report = demo.seed_environment(initialised_settings, session)
        assert "6 air stations with 1728 hourly values" in report
        assert "568 files received" in report  # 576 less the 8 of the 40-minute gap
        stations = session.scalars(select(AirStation)).all()
        assert len(stations) == 6
        found = {(e.parameter, e.averaging) for e in session.scalars(select(AirExceedance))}
        assert ("so2", "1h") in found
        gaps = session.scalars(select(MonitoringGap)).all()
        assert [(g.open, service.aware(g.end) - service.aware(g.start)) for g in gaps] == [
            (False, timedelta(minutes=40))
        ]
        assert demo.seed_environment(initialised_settings, session) == (
            "environment demo already present"
        )
    engine.dispose()
    processed = initialised_settings.data_dir / "monitoring" / "inbox" / "processed"
    assert len(list(processed.rglob("*.txt"))) == 568


def test_demo_wastewater_day_has_one_cod_hour_above_the_limit(
    env_session: Session, env_sink: TelemetryService
) -> None:
    from lighthouse_os.environment import demo

    saigon = demo.WASTEWATER[0]
    now = ENV_NOW
    files = list(demo.wastewater_files(saigon, start=now - 24 * HOUR, end=now, now=now))
    assert len(files) == 288
    bodies = b"".join(body for _name, body in files)
    assert b"\xef\xbb\xbf" in bodies  # some files carry a BOM
    assert b"---" in bodies  # a fault written as missing
    high = hour_start(now - saigon.exceedance_hours_ago * HOUR)  # type: ignore[operator]
    assert any(high.strftime("%Y%m%d%H") in name for name, _ in files)
