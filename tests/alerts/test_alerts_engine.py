"""The alert engine over a real DuckDB store: rules, KPI rules and detectors across runs."""

from __future__ import annotations

import logging
import math
import threading
from datetime import datetime, timedelta

import pytest

from lighthouse_os.alerts import rulebook, service
from lighthouse_os.alerts.engine import AlertEngine, EngineOptions, RunReport, run_forever
from lighthouse_os.alerts.models import Alert, AlertDelivery, AlertDetector, AlertRuleState
from lighthouse_os.alerts.schemas import ChannelIn, DetectorIn, RuleIn
from lighthouse_os.kpi.queries import open_reader
from tests.alerts.conftest import T0, Plant, machine_data

P1, P2 = "line-1/press-1", "line-1/press-2"


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def _engine(plant: Plant, **options: object) -> AlertEngine:
    url = plant.settings.resolved_timeseries_url
    return AlertEngine(
        plant.sessions,
        plant.store,
        reader=lambda: open_reader(url),
        options=EngineOptions(**options),  # type: ignore[arg-type]
    )


def _rule(plant: Plant, **fields: object) -> int:
    with plant.sessions() as session:
        rule = rulebook.create_rule(
            session, plant.site(session), RuleIn.model_validate(fields), actor=plant.actor(session)
        )
        return rule.id


def _alerts(plant: Plant) -> list[Alert]:
    with plant.sessions() as session:
        return sorted(
            service.list_alerts(session, plant.site(session)), key=lambda a: (a.opened_at, a.series)
        )


def _utc(moment: datetime | None) -> datetime | None:
    from lighthouse_os.alerts.codec import aware

    return aware(moment)


# -- rules ----------------------------------------------------------------------------------


def test_threshold_rule_keeps_state_between_runs_with_hysteresis_and_min_duration(
    plant: Plant,
) -> None:
    _rule(
        plant,
        name="Power",
        kind="threshold",
        tag=f"{P1}/power_kw",
        limit=150,
        hysteresis=10,
        min_duration_s=120,
    )
    engine = _engine(plant)
    plant.write(f"{P1}/power_kw", [(minutes(0), 100), (minutes(1), 160), (minutes(2), 170)])
    assert engine.run_once(minutes(2.5)).events == 0  # above for 60 s only
    plant.write(f"{P1}/power_kw", [(minutes(3), 165), (minutes(4), 145), (minutes(5), 139)])
    engine.run_once(minutes(5.5))
    (alert,) = _alerts(plant)
    assert (_utc(alert.opened_at), alert.value, alert.title) == (minutes(3), 165.0, "Power")
    assert (alert.status, _utc(alert.resolved_at)) == ("resolved", minutes(5))
    with plant.sessions() as session:
        (state,) = session.query(AlertRuleState).all()
    assert state.series == f"{P1}/power_kw"
    assert state.state["last_ts"] == minutes(5).isoformat()


def test_threshold_rule_does_not_raise_again_for_points_already_evaluated(plant: Plant) -> None:
    _rule(plant, name="Power", kind="threshold", tag=f"{P1}/power_kw", limit=150)
    engine = _engine(plant)
    plant.write(f"{P1}/power_kw", [(minutes(1), 160)])
    engine.run_once(minutes(2))
    engine.run_once(minutes(3))
    (alert,) = _alerts(plant)
    assert (alert.status, alert.occurrences) == ("open", 1)


def test_asset_type_rule_covers_a_press_added_after_the_rule(plant: Plant) -> None:
    _rule(
        plant,
        name="Press power",
        kind="threshold",
        scope="asset_type",
        asset_type="press",
        tag_key="power_kw",
        limit=150,
    )
    engine = _engine(plant)
    engine.run_once(minutes(1))
    plant.add_machine("line-1/press-3", "press", ["power_kw"])
    plant.write("line-1/press-3/power_kw", [(minutes(2), 180)])
    plant.write(f"{P2}/power_kw", [(minutes(2), 120)])
    plant.write("line-1/lathe-1/power_kw", [(minutes(2), 999)])  # a lathe is not a press
    engine.run_once(minutes(3))
    assert [a.series for a in _alerts(plant)] == ["line-1/press-3/power_kw"]


def test_absence_rule_raises_after_ten_silent_minutes_and_resolves_on_data(plant: Plant) -> None:
    _rule(
        plant,
        name="No data",
        kind="absence",
        scope="asset_type",
        asset_type="press",
        tag_key="power_kw",
        max_silence_s=600,
    )
    engine = _engine(plant)
    plant.write(f"{P1}/power_kw", [(minutes(0), 100)])
    engine.run_once(minutes(1))
    engine.run_once(minutes(12))
    opened = {a.series: _utc(a.opened_at) for a in _alerts(plant)}
    assert opened == {f"{P1}/power_kw": minutes(10), f"{P2}/power_kw": minutes(11)}
    plant.write(f"{P1}/power_kw", [(minutes(13), 100)])
    engine.run_once(minutes(14))
    status = {a.series: a.status for a in _alerts(plant)}
    assert status == {f"{P1}/power_kw": "resolved", f"{P2}/power_kw": "open"}


def test_rate_rule_raises_on_a_fast_rise(plant: Plant) -> None:
    _rule(
        plant,
        name="Heating fast",
        kind="rate",
        tag=f"{P1}/temperature_c",
        limit=5,
        per_s=60,
        trend="rise",
    )
    rows = [(minutes(0), 40.0), (minutes(1), 42.0), (minutes(2), 50.0), (minutes(3), 51.0)]
    plant.write(f"{P1}/temperature_c", rows)
    _engine(plant).run_once(minutes(4))
    (alert,) = _alerts(plant)
    assert (_utc(alert.opened_at), alert.value, alert.status) == (minutes(2), 8.0, "resolved")


# -- KPI rules ------------------------------------------------------------------------------


def _energy(plant: Plant, hours_pf: list[float], kw: float = 60.0) -> None:
    """Per-minute kWh and kvarh registers of press-1 with the given PF in each hour."""
    kwh = kvarh = 0.0
    energy, reactive = [], []
    for hour, pf in enumerate(hours_pf):
        for minute in range(60):
            at = T0 + timedelta(hours=hour, minutes=minute)
            energy.append((at, kwh))
            reactive.append((at, kvarh))
            kwh += kw / 60
            kvarh += kw / 60 * math.tan(math.acos(pf))
    end = T0 + timedelta(hours=len(hours_pf))
    plant.write(f"{P1}/energy_kwh", [*energy, (end, kwh)])
    plant.write(f"{P1}/kvarh", [*reactive, (end, kvarh)])


def test_power_factor_rule_raises_for_an_hour_below_0_9_and_resolves(plant: Plant) -> None:
    _rule(
        plant,
        name="PF low",
        kind="kpi",
        kpi="power_factor",
        limit=0.9,
        scope="asset_type",
        asset_type="press",
    )
    _energy(plant, [0.95, 0.8, 0.95])
    engine = _engine(plant)
    engine.run_once(T0 + timedelta(hours=2, minutes=5))
    (alert,) = _alerts(plant)
    assert (alert.series, _utc(alert.opened_at)) == (
        f"{P1}#power_factor",
        T0 + timedelta(hours=2),
    )
    assert alert.value == pytest.approx(0.8, abs=0.005)
    engine.run_once(T0 + timedelta(hours=3, minutes=5))
    (alert,) = _alerts(plant)
    assert (alert.status, _utc(alert.resolved_at)) == ("resolved", T0 + timedelta(hours=3))


def test_power_factor_rule_over_two_hours_needs_two_low_hours(plant: Plant) -> None:
    _rule(
        plant,
        name="PF low 2 h",
        kind="kpi",
        kpi="power_factor",
        limit=0.9,
        periods=2,
        scope="asset_type",
        asset_type="press",
    )
    _energy(plant, [0.8, 0.95, 0.8, 0.8])
    _engine(plant).run_once(T0 + timedelta(hours=4, minutes=1))
    (alert,) = _alerts(plant)
    assert _utc(alert.opened_at) == T0 + timedelta(hours=4)


# -- detectors ------------------------------------------------------------------------------


def _detector(plant: Plant, **fields: object) -> int:
    data = DetectorIn.model_validate(
        {
            "name": "Press 1 health",
            "machine": P1,
            "columns": ["power_kw", "temperature_c", "current_a"],
            "resolution": "raw",
            "smoothing": 3,
            **fields,
        }
    )
    with plant.sessions() as session:
        site, actor = plant.site(session), plant.actor(session)
        detector = rulebook.create_detector(session, site, data, actor=actor)
        rulebook.train_detector(
            session,
            plant.store,
            site,
            detector.id,
            actor=actor,
            now=minutes(200),
            train_from=T0,
            train_to=minutes(60),
        )
        return detector.id


def test_pca_detector_flags_the_signal_that_broke_and_resolves(plant: Plant) -> None:
    machine_data(plant, T0, 360)  # one hour of reference
    detector_id = _detector(plant, severity="critical")
    machine_data(plant, minutes(60), 60)  # normal
    machine_data(plant, minutes(70), 60, broken=True)
    machine_data(plant, minutes(80), 60)  # normal again
    engine = _engine(plant, lookback=timedelta(hours=1))
    engine.run_once(minutes(75))  # the fault starts in this run and goes on in the next
    engine.run_once(minutes(91))
    (alert,) = _alerts(plant)
    assert (alert.detector_id, alert.series, alert.severity) == (detector_id, P1, "critical")
    assert alert.signals[0] == "temperature_c"
    assert minutes(70) <= _utc(alert.opened_at) <= minutes(71)  # type: ignore[operator]
    assert alert.status == "resolved"
    assert alert.occurrences == 1
    assert minutes(80) <= _utc(alert.resolved_at) <= minutes(82)  # type: ignore[operator]


def test_trained_model_is_kept_as_json_and_scoring_resumes_after_it(plant: Plant) -> None:
    machine_data(plant, T0, 360)
    detector_id = _detector(plant)
    with plant.sessions() as session:
        row = session.get(AlertDetector, detector_id)
        assert row is not None
        assert row.model is not None
        (part,) = row.model["detectors"]
        public = rulebook.detector_public(session, row)
    assert part["columns"] == ["power_kw", "temperature_c", "current_a"]
    assert len(part["mean"]) == 3
    assert part["n_components"] == 1
    assert public.fitted_columns == ["power_kw", "temperature_c", "current_a"]
    assert (public.train_from, public.train_to) == (T0, minutes(60))
    machine_data(plant, minutes(60), 30)
    _engine(plant).run_once(minutes(70))
    with plant.sessions() as session:
        row = session.get(AlertDetector, detector_id)
        assert row is not None
        assert row.stream is not None
        assert _utc(row.scored_until) == minutes(60) + timedelta(seconds=290)


@pytest.mark.parametrize(("sensitivity", "alerts"), [(1.0, 0), (4.0, 1)])
def test_detector_sensitivity_scales_the_limits(
    plant: Plant, sensitivity: float, alerts: int
) -> None:
    machine_data(plant, T0, 360)
    _detector(plant, kind="robust_z", columns=["temperature_c"], sensitivity=sensitivity)
    stamps = [minutes(60) + timedelta(seconds=10 * i) for i in range(30)]
    plant.write(f"{P1}/temperature_c", [(t, 70.0) for t in stamps])  # about 2 MAD-σ high
    _engine(plant, lookback=timedelta(hours=1)).run_once(minutes(70))
    found = _alerts(plant)
    assert len(found) == alerts
    assert all(a.series == f"{P1}/temperature_c" for a in found)


# -- notifications and the loop -----------------------------------------------------------


def test_opened_alert_queues_a_delivery_per_channel(plant: Plant) -> None:
    _rule(plant, name="Power", kind="threshold", tag=f"{P1}/power_kw", limit=150)
    with plant.sessions() as session:
        site, actor = plant.site(session), plant.actor(session)
        for severity in ("warning", "critical"):
            service.create_channel(
                session,
                site,
                ChannelIn(
                    name=severity, kind="webhook", url="http://127.0.0.1:9/h", min_severity=severity
                ),
                actor=actor,
            )
    plant.write(f"{P1}/power_kw", [(minutes(1), 160)])
    report = _engine(plant).run_once(minutes(2))
    assert report == RunReport(sites=1, points=1, events=1, notices=1, delivered=0)
    with plant.sessions() as session:
        (delivery,) = session.query(AlertDelivery).all()
    assert (delivery.event, delivery.status, delivery.payload["alert"]["value"]) == (
        "opened",
        "pending",
        160.0,
    )


class _Failing:
    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    def run_once(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("store down")


def test_worker_loop_logs_a_failure_once_and_the_recovery_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = _Failing(failures=3)
    with caplog.at_level(logging.INFO, logger="lighthouse_os.alerts.engine"):
        runs = run_forever(engine, interval=0, stop=threading.Event(), max_runs=5)  # type: ignore[arg-type]
    assert runs == 5
    assert engine.calls == 5
    assert [r.levelname for r in caplog.records] == ["ERROR", "INFO"]


def test_oee_rule_raises_at_the_end_of_a_shift_with_the_kpi_service_value(plant: Plant) -> None:
    from zoneinfo import ZoneInfo

    from lighthouse_os.kpi import service as kpi_service
    from lighthouse_os.kpi.demo import backfill, provision
    from lighthouse_os.simulator.publish import SinkPublisher, factory_specs
    from lighthouse_os.telemetry.service import TelemetryService

    hcm = ZoneInfo("Asia/Ho_Chi_Minh")
    start, now = datetime(2025, 3, 3, tzinfo=hcm), datetime(2025, 3, 3, 22, 30, tzinfo=hcm)
    specs = factory_specs(1)  # line-1/cnc-1, working the two HCMC shifts
    with plant.sessions() as session:
        provision(session, plant.site(session), specs)
    backfill(
        SinkPublisher(TelemetryService(plant.sessions, plant.store), "a1"), specs, start, now, 5
    )
    _rule(
        plant,
        name="OEE low",
        kind="kpi",
        kpi="oee",
        period="shift",
        limit=0.99,
        scope="asset_type",
        asset_type="cnc",
    )
    _engine(plant).run_once(now)
    (alert,) = _alerts(plant)
    shift_a_end = datetime(2025, 3, 3, 14, tzinfo=hcm)
    assert (alert.series, _utc(alert.opened_at), alert.status) == (
        "line-1/cnc-1#oee",
        shift_a_end,
        "open",
    )
    url = plant.settings.resolved_timeseries_url
    reader = open_reader(url)
    with plant.sessions() as session:
        report = kpi_service.site_oee(
            session,
            reader,
            plant.site(session),
            level="machine",
            kind="shift",
            start=start,
            end=now,
            now=now,
        )
    reader.close()
    (shift_a,) = [r for r in report.rows if (r.key, r.period.end) == ("line-1/cnc-1", shift_a_end)]
    assert alert.value == pytest.approx(shift_a.kpis.oee)
