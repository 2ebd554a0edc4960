"""Alert use cases: rule and detector definitions, and the lifecycle of stored alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from lighthouse_os.alerts import rulebook, service
from lighthouse_os.alerts.lifecycle import LifecyclePolicy
from lighthouse_os.alerts.models import Alert, AlertRule
from lighthouse_os.alerts.rules import AlertCleared, AlertRaised, Severity
from lighthouse_os.alerts.schemas import DetectorIn, RuleIn
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.errors import Conflict, InvalidInput, NotFound
from tests.alerts.conftest import T0, Plant

POWER = {"name": "Power high", "kind": "threshold", "limit": 150.0}


def _rule(plant: Plant, **fields: object) -> int:
    with plant.sessions() as session:
        rule = rulebook.create_rule(
            session, plant.site(session), RuleIn.model_validate(fields), actor=plant.actor(session)
        )
        return rule.id


def _raise(plant: Plant, minutes: float, rule: str = "rule:1", series: str = "s") -> None:
    with plant.sessions() as session:
        event = AlertRaised(rule, series, T0 + timedelta(minutes=minutes), 160.0, Severity.CRITICAL)
        service.record_events(session, plant.world.a1, [event], now=event.at, titles={rule: "P"})
        session.commit()


def _clear(plant: Plant, minutes: float, rule: str = "rule:1", series: str = "s") -> None:
    with plant.sessions() as session:
        at = T0 + timedelta(minutes=minutes)
        service.record_events(
            session, plant.world.a1, [AlertCleared(rule, series, at, 1.0)], now=at, titles={}
        )
        session.commit()


def _alerts(plant: Plant) -> list[Alert]:
    with plant.sessions() as session:
        return service.list_alerts(session, plant.site(session))


# -- rules ----------------------------------------------------------------------------------


def test_rule_on_a_tag_watches_that_tag(plant: Plant) -> None:
    rule_id = _rule(plant, **POWER, tag="line-1/press-1/power_kw")
    with plant.sessions() as session:
        public = rulebook.rule_public(session, session.get(AlertRule, rule_id))
    assert public.series == ["line-1/press-1/power_kw"]
    assert public.params == {
        "limit": 150.0,
        "direction": "above",
        "hysteresis": 0.0,
        "min_duration_s": 0.0,
    }


def test_rule_on_an_asset_type_covers_a_machine_added_later(plant: Plant) -> None:
    rule_id = _rule(plant, **POWER, scope="asset_type", asset_type="press", tag_key="power_kw")
    plant.add_machine("line-1/press-3", "press", ["power_kw"])
    with plant.sessions() as session:
        series = rulebook.rule_public(session, session.get(AlertRule, rule_id)).series
    assert series == [f"line-1/press-{i}/power_kw" for i in (1, 2, 3)]


def test_kpi_rule_on_an_asset_type_watches_each_machine_kpi(plant: Plant) -> None:
    rule_id = _rule(
        plant,
        name="PF",
        kind="kpi",
        kpi="power_factor",
        limit=0.9,
        scope="asset_type",
        asset_type="press",
    )
    with plant.sessions() as session:
        public = rulebook.rule_public(session, session.get(AlertRule, rule_id))
    assert public.series == ["line-1/press-1#power_factor", "line-1/press-2#power_factor"]
    assert public.params["direction"] == "below"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "x", "kind": "threshold", "tag": "line-1/press-1/power_kw"}, "limit"),
        ({**POWER, "tag": "t", "hysteresis": -1}, "hysteresis"),
        ({"name": "x", "kind": "kpi", "limit": 0.6, "kpi": "oee", "scope": "tag"}, "scope"),
        (
            {
                "name": "x",
                "kind": "kpi",
                "limit": 0.6,
                "kpi": "oee",
                "period": "shift",
                "periods": 2,
                "scope": "machine",
            },
            "periods",
        ),
        ({**POWER, "scope": "machine", "machine": "line-1/press-1"}, "scope"),
    ],
)
def test_rule_input_is_refused_when_incomplete(fields: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        RuleIn.model_validate(fields)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({**POWER, "tag": "line-1/press-9/power_kw"}, "tag"),
        ({**POWER, "scope": "asset_type", "asset_type": "press"}, "tag_key"),
        ({**POWER, "scope": "asset_type", "tag_key": "power_kw"}, "asset_type"),
        (
            {
                "name": "x",
                "kind": "kpi",
                "kpi": "oee",
                "limit": 0.6,
                "scope": "machine",
                "machine": "line-1",
            },
            "machine",
        ),
    ],
)
def test_rule_is_refused_with_the_field_at_fault(
    plant: Plant, fields: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        _rule(plant, **fields)
    assert field in caught.value.fields


def test_rule_of_another_site_is_not_found(plant: Plant) -> None:
    rule_id = _rule(plant, **POWER, tag="line-1/press-1/power_kw")
    with plant.sessions() as session, pytest.raises(NotFound):
        rulebook.get_rule(session, get_site(session, "b1"), rule_id)


def test_deleting_a_rule_keeps_its_alerts(plant: Plant) -> None:
    rule_id = _rule(plant, **POWER, tag="line-1/press-1/power_kw")
    _raise(plant, 0, rule=f"rule:{rule_id}")
    with plant.sessions() as session:
        rulebook.delete_rule(session, plant.site(session), rule_id, actor=plant.actor(session))
    (alert,) = _alerts(plant)
    assert (alert.rule_key, alert.rule_id) == (f"rule:{rule_id}", None)


def test_detector_needs_two_signals_for_pca(plant: Plant) -> None:
    data = DetectorIn(name="d", machine="line-1/press-1", columns=["power_kw"])
    with plant.sessions() as session, pytest.raises(InvalidInput, match="two signals"):
        rulebook.create_detector(session, plant.site(session), data, actor=plant.actor(session))


def test_detector_training_needs_a_reference_period(plant: Plant) -> None:
    data = DetectorIn(name="d", machine="line-1/press-1", kind="ewma", columns=["power_kw"])
    with plant.sessions() as session:
        site, actor = plant.site(session), plant.actor(session)
        detector = rulebook.create_detector(session, site, data, actor=actor)
        with pytest.raises(InvalidInput, match="reference period"):
            rulebook.train_detector(session, plant.store, site, detector.id, actor=actor, now=T0)


# -- lifecycle from the engine ------------------------------------------------------------


def test_record_events_opens_then_merges_repeated_raises(plant: Plant) -> None:
    _raise(plant, 0)
    _raise(plant, 5)
    (alert,) = _alerts(plant)
    assert (alert.status, alert.occurrences, alert.title, alert.severity) == (
        "open",
        2,
        "P",
        "critical",
    )
    assert alert.value == 160.0


def test_record_events_resolves_on_clear(plant: Plant) -> None:
    _raise(plant, 0)
    _clear(plant, 3)
    (alert,) = _alerts(plant)
    assert (alert.status, alert.resolved_by) == ("resolved", "system")


def test_record_events_holds_a_flapping_alert_until_the_window_passes(plant: Plant) -> None:
    for start in (0, 10, 20):
        _raise(plant, start)
        _clear(plant, start + 2)
    alerts = _alerts(plant)
    assert [a.status for a in alerts] == ["open", "resolved", "resolved"]
    assert alerts[0].flapping
    later = T0 + timedelta(minutes=22) + LifecyclePolicy().flap_window
    with plant.sessions() as session:
        found = service.record_events(session, plant.world.a1, [], now=later, titles={})
        session.commit()
    assert [notice for _, notice in found] == ["resolved"]


def test_record_events_reports_notices(plant: Plant) -> None:
    with plant.sessions() as session:
        raised = AlertRaised("rule:1", "s", T0, 9.0)
        cleared = AlertCleared("rule:1", "s", T0 + timedelta(minutes=1), 1.0)
        found = service.record_events(
            session, plant.world.a1, [cleared, raised], now=T0 + timedelta(minutes=2), titles={}
        )
    assert [notice for _, notice in found] == ["opened", "resolved"]


# -- manual actions -----------------------------------------------------------------------


def test_alert_is_acknowledged_assigned_commented_and_resolved(plant: Plant) -> None:
    _raise(plant, 0)
    (alert,) = _alerts(plant)
    now = T0 + timedelta(hours=1)
    with plant.sessions() as session:
        site, actor = plant.site(session), plant.actor(session, "admin@a.vn")
        service.acknowledge(session, site, alert.id, actor=actor, now=now)
        service.assign(session, site, alert.id, assignee="Member@a.vn", actor=actor, now=now)
        service.add_comment(session, site, alert.id, text=" valve checked ", actor=actor, now=now)
        service.resolve(session, site, alert.id, actor=actor, now=now, note="replaced seal")
        detail = service.alert_detail(session, service.get_alert(session, site, alert.id))
    assert (detail.status, detail.acknowledged_by, detail.resolved_by) == (
        "resolved",
        "admin@a.vn",
        "admin@a.vn",
    )
    assert detail.assignee == "member@a.vn"
    assert [c.text for c in detail.comments] == [
        "assigned to member@a.vn / giao cho member@a.vn",
        "valve checked",
        "replaced seal",
    ]


def test_acknowledging_a_resolved_alert_is_a_conflict(plant: Plant) -> None:
    _raise(plant, 0)
    _clear(plant, 1)
    (alert,) = _alerts(plant)
    with plant.sessions() as session, pytest.raises(Conflict):
        service.acknowledge(
            session, plant.site(session), alert.id, actor=plant.actor(session), now=T0
        )


@pytest.mark.parametrize("assignee", ["nobody@a.vn", "program@c4ir.vn", "assessor@a.vn"])
def test_assignee_must_work_at_the_site(plant: Plant, assignee: str) -> None:
    _raise(plant, 0)
    (alert,) = _alerts(plant)
    with plant.sessions() as session, pytest.raises(InvalidInput) as caught:
        service.assign(
            session,
            plant.site(session),
            alert.id,
            assignee=assignee,
            actor=plant.actor(session),
            now=T0,
        )
    assert "assignee" in caught.value.fields


def test_empty_comment_is_refused(plant: Plant) -> None:
    _raise(plant, 0)
    (alert,) = _alerts(plant)
    with plant.sessions() as session, pytest.raises(InvalidInput):
        service.add_comment(
            session, plant.site(session), alert.id, text="  ", actor=plant.actor(session), now=T0
        )


def test_alert_of_another_site_is_not_found(plant: Plant) -> None:
    _raise(plant, 0)
    (alert,) = _alerts(plant)
    with plant.sessions() as session, pytest.raises(NotFound):
        service.get_alert(session, get_site(session, "b1"), alert.id)


@pytest.mark.parametrize(
    ("status", "count"), [("active", 1), ("resolved", 1), ("open", 1), (None, 2)]
)
def test_list_alerts_filters_by_status(plant: Plant, status: str | None, count: int) -> None:
    _raise(plant, 0, series="a")
    _clear(plant, 1, series="a")
    _raise(plant, 0, series="b")
    with plant.sessions() as session:
        assert len(service.list_alerts(session, plant.site(session), status=status)) == count


def test_list_alerts_refuses_an_unknown_status(plant: Plant) -> None:
    with plant.sessions() as session, pytest.raises(InvalidInput):
        service.list_alerts(session, plant.site(session), status="closed")
