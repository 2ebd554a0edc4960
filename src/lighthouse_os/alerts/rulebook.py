"""A site's alert rules and anomaly detectors: definitions, training, and backtests over history.

Rules are validated by building their core rule; a detector is fitted on its reference period
read from the store, and the fitted model is kept as JSON (`codec.dump_model`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.alerts import codec
from lighthouse_os.alerts.backtest import (
    BacktestError,
    BacktestRecord,
    DetectorKind,
    DetectorSpec,
    backtest,
    build_detectors,
)
from lighthouse_os.alerts.detectors import DetectorError
from lighthouse_os.alerts.models import AlertDetector, AlertRule, AlertRuleState
from lighthouse_os.alerts.rules import Binding, RuleError
from lighthouse_os.alerts.schemas import DetectorIn, DetectorPublic, RuleIn, RulePublic
from lighthouse_os.alerts.targets import machine, machine_tags, read_frame, rule_targets, tag_of
from lighthouse_os.assets.models import AssetNode, Tag
from lighthouse_os.auth import audit
from lighthouse_os.auth.models import Site
from lighthouse_os.auth.policy import Principal
from lighthouse_os.errors import InvalidInput, NotFound
from lighthouse_os.telemetry.store import TimeSeriesStore

# -- rules ----------------------------------------------------------------------------------


def list_rules(session: Session, site: Site) -> list[AlertRule]:
    return list(
        session.scalars(
            select(AlertRule).where(AlertRule.site_id == site.id).order_by(AlertRule.id)
        )
    )


def get_rule(session: Session, site: Site, rule_id: int) -> AlertRule:
    rule = session.get(AlertRule, rule_id)
    if rule is None or rule.site_id != site.id:
        raise NotFound("rule not found")
    return rule


def _fill_rule(session: Session, site: Site, rule: AlertRule, data: RuleIn) -> None:
    params = data.params()
    try:
        codec.core_rule("check", data.kind, params, data.severity)
    except (RuleError, KeyError, ValueError) as err:
        raise InvalidInput(str(err), fields={"limit": "invalid"}) from err
    rule.name, rule.kind, rule.scope = data.name, data.kind, data.scope
    rule.severity, rule.enabled, rule.params = data.severity, data.enabled, params
    rule.tag_id = tag_of(session, site, data.tag or "").id if data.scope == "tag" else None
    rule.node_id = (
        machine(session, site, data.machine or "").id if data.scope == "machine" else None
    )
    rule.asset_type = data.asset_type if data.scope == "asset_type" else ""
    rule.tag_key = data.tag_key if data.scope == "asset_type" and data.kind != "kpi" else ""
    if data.scope == "asset_type" and not data.asset_type:
        raise InvalidInput("name the asset type", fields={"asset_type": "required"})
    if data.scope == "asset_type" and data.kind != "kpi" and not data.tag_key:
        raise InvalidInput("name the tag key of each machine", fields={"tag_key": "required"})


def create_rule(session: Session, site: Site, data: RuleIn, *, actor: Principal) -> AlertRule:
    """Store a new rule; it is evaluated from the engine's next run."""
    rule = AlertRule(site_id=site.id)
    _fill_rule(session, site, rule, data)
    session.add(rule)
    session.flush()
    audit.record(session, "alert_rule.create", actor=actor, site_id=site.id, target=rule.name)
    session.commit()
    return rule


def update_rule(
    session: Session, site: Site, rule_id: int, data: RuleIn, *, actor: Principal
) -> AlertRule:
    """Replace a rule's definition; its evaluator state starts afresh."""
    rule = get_rule(session, site, rule_id)
    _fill_rule(session, site, rule, data)
    session.query(AlertRuleState).filter(AlertRuleState.rule_id == rule.id).delete()
    audit.record(session, "alert_rule.update", actor=actor, site_id=site.id, target=rule.name)
    session.commit()
    return rule


def delete_rule(session: Session, site: Site, rule_id: int, *, actor: Principal) -> None:
    """Remove a rule; its alerts stay, detached from it."""
    rule = get_rule(session, site, rule_id)
    audit.record(session, "alert_rule.delete", actor=actor, site_id=site.id, target=rule.name)
    session.delete(rule)
    session.commit()


def _tag_path(session: Session, tag_id: int | None) -> str | None:
    tag = session.get(Tag, tag_id) if tag_id is not None else None
    return None if tag is None else tag.path


def _node_path(session: Session, node_id: int | None) -> str | None:
    node = session.get(AssetNode, node_id) if node_id is not None else None
    return None if node is None else node.path


def rule_public(session: Session, rule: AlertRule) -> RulePublic:
    return RulePublic(
        id=rule.id,
        name=rule.name,
        kind=rule.kind,
        scope=rule.scope,
        tag=_tag_path(session, rule.tag_id),
        machine=_node_path(session, rule.node_id),
        asset_type=rule.asset_type,
        tag_key=rule.tag_key,
        severity=rule.severity,
        enabled=rule.enabled,
        params=rule.params,
        series=[t.series for t in rule_targets(session, rule)],
    )


# -- detectors ------------------------------------------------------------------------------


def list_detectors(session: Session, site: Site) -> list[AlertDetector]:
    query = select(AlertDetector).where(AlertDetector.site_id == site.id)
    return list(session.scalars(query.order_by(AlertDetector.id)))


def get_detector(session: Session, site: Site, detector_id: int) -> AlertDetector:
    found = session.get(AlertDetector, detector_id)
    if found is None or found.site_id != site.id:
        raise NotFound("detector not found")
    return found


def create_detector(
    session: Session, site: Site, data: DetectorIn, *, actor: Principal
) -> AlertDetector:
    """Store a detector of one machine; it scores once trained (see `engine.train_detector`)."""
    node = machine(session, site, data.machine)
    try:
        codec.detector_spec("check", data.kind, data.columns, data.params())
    except DetectorError as err:
        raise InvalidInput(str(err), fields={"kind": "invalid"}) from err
    if data.kind == "pca_t2q" and 0 < len(data.columns) < 2:
        raise InvalidInput("PCA T²+Q needs at least two signals", fields={"columns": "too few"})
    detector = AlertDetector(
        site_id=site.id,
        node_id=node.id,
        name=data.name,
        kind=data.kind,
        columns=list(data.columns),
        params=data.params(),
        severity=data.severity,
        enabled=data.enabled,
        train_from=None if data.train_from is None else codec.utc(data.train_from),
        train_to=None if data.train_to is None else codec.utc(data.train_to),
    )
    session.add(detector)
    session.flush()
    audit.record(session, "alert_detector.create", actor=actor, site_id=site.id, target=data.name)
    session.commit()
    return detector


def delete_detector(session: Session, site: Site, detector_id: int, *, actor: Principal) -> None:
    detector = get_detector(session, site, detector_id)
    audit.record(
        session, "alert_detector.delete", actor=actor, site_id=site.id, target=detector.name
    )
    session.delete(detector)
    session.commit()


def detector_public(session: Session, detector: AlertDetector) -> DetectorPublic:
    fitted = [c for part in (detector.model or {}).get("detectors", []) for c in part["columns"]]
    return DetectorPublic(
        id=detector.id,
        name=detector.name,
        machine=_node_path(session, detector.node_id) or "",
        kind=detector.kind,
        columns=detector.columns,
        severity=detector.severity,
        enabled=detector.enabled,
        params=detector.params,
        train_from=codec.aware(detector.train_from),
        train_to=codec.aware(detector.train_to),
        trained_at=codec.aware(detector.trained_at),
        scored_until=codec.aware(detector.scored_until),
        fitted_columns=list(dict.fromkeys(fitted)),
    )


# -- training -------------------------------------------------------------------------------


def _window(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    if start is None or end is None:
        raise InvalidInput(
            "choose the reference period (train_from, train_to) / chọn giai đoạn tham chiếu",
            fields={"train_from": "required"},
        )
    if not start < end <= now:
        raise InvalidInput("need train_from < train_to <= now", fields={"train_to": "range"})
    return start, end


def train_detector(
    session: Session,
    store: TimeSeriesStore,
    site: Site,
    detector_id: int,
    *,
    actor: Principal | None,
    now: datetime,
    train_from: datetime | None = None,
    train_to: datetime | None = None,
) -> AlertDetector:
    """Fit the detector on the machine's data in [train_from, train_to) and keep the model.

    Omitted bounds keep the stored reference period. Scoring restarts after the new model.
    """
    row = get_detector(session, site, detector_id)
    start, end = _window(
        train_from or codec.aware(row.train_from), train_to or codec.aware(row.train_to), now
    )
    node = session.get(AssetNode, row.node_id)
    if node is None:
        raise NotFound("machine not found")
    tags = machine_tags(session, node, row.columns)
    if not tags:
        raise InvalidInput(f"{node.path} has no gauge tag to watch", fields={"columns": "empty"})
    resolution = str(row.params.get("resolution", "1m"))
    frame = read_frame(store, node.path, tags, start, end, resolution=resolution, tz=site.timezone)
    spec = codec.detector_spec(codec.detector_key(row.id), row.kind, frame.columns, row.params)
    detectors = build_detectors(spec, frame.columns)
    try:
        for detector in detectors:
            index = [frame.columns.index(c) for c in detector.columns]
            detector.fit(frame.values[:, index], list(frame.timestamps))
    except DetectorError as err:
        raise InvalidInput(str(err), fields={"train_from": "data"}) from err
    row.model, row.stream, row.scored_until = codec.dump_model(detectors), None, None
    row.train_from, row.train_to, row.trained_at = codec.utc(start), codec.utc(end), codec.utc(now)
    audit.record(session, "alert_detector.train", actor=actor, site_id=site.id, target=row.name)
    session.commit()
    return row


# -- backtest -------------------------------------------------------------------------------


def _machine_bindings(
    session: Session, site: Site, node: AssetNode
) -> tuple[list[Binding], set[str]]:
    """Core bindings of the site's enabled non-KPI rules on this machine's tags, and the keys."""
    rules = session.scalars(
        select(AlertRule).where(
            AlertRule.site_id == site.id, AlertRule.enabled, AlertRule.kind != "kpi"
        )
    )
    prefix = f"{node.path}/"
    bindings, keys = [], set()
    for rule in rules:
        core = codec.core_rule(codec.rule_key(rule.id), rule.kind, rule.params, rule.severity)
        for target in rule_targets(session, rule):
            key = target.series.removeprefix(prefix)
            if target.series.startswith(prefix) and "/" not in key:
                bindings.append(Binding(core, target.series))
                keys.add(key)
    return bindings, keys


def _machine_specs(session: Session, site: Site, node: AssetNode) -> list[DetectorSpec]:
    """The machine's detectors, or PCA T²+Q over its gauge tags when none is configured."""
    rows = session.scalars(
        select(AlertDetector).where(
            AlertDetector.site_id == site.id, AlertDetector.node_id == node.id
        )
    )
    specs = []
    for row in rows:
        columns = tuple(t.key for t in machine_tags(session, node, row.columns))
        specs.append(codec.detector_spec(codec.detector_key(row.id), row.kind, columns, row.params))
    if specs:
        return specs
    gauges = tuple(t.key for t in machine_tags(session, node, ()))
    kind = DetectorKind.PCA_T2Q if len(gauges) >= 2 else DetectorKind.ROBUST_Z
    return (
        [DetectorSpec("pca_t2q" if len(gauges) >= 2 else "robust_z", kind, gauges)]
        if gauges
        else []
    )


def backtest_machine(
    session: Session,
    store: TimeSeriesStore,
    site: Site,
    machine_path: str,
    *,
    start: datetime,
    end: datetime,
    train_from: datetime | None = None,
    train_to: datetime | None = None,
    resolution: str = "raw",
) -> list[BacktestRecord]:
    """Replay the machine's rules and detectors over [start, end) of stored history.

    Detectors are fitted on [train_from, train_to) when given, else on the rows before
    `start`. KPI rules are not replayed (they need the shift calendar's periods).
    """
    if (train_from is None) != (train_to is None):
        raise InvalidInput("give both --train-from and --train-to", fields={"train_from": "pair"})
    node = machine(session, site, machine_path)
    bindings, rule_keys = _machine_bindings(session, site, node)
    specs = _machine_specs(session, site, node)
    keys = sorted(rule_keys | {c for s in specs for c in s.columns})
    tags = machine_tags(session, node, keys)
    first = (
        min(start, train_from)
        if train_from is not None
        else datetime(1970, 1, 1, tzinfo=start.tzinfo)
    )
    frame = read_frame(store, node.path, tags, first, end, resolution=resolution, tz=site.timezone)
    window = None if train_from is None or train_to is None else (train_from, train_to)
    try:
        return backtest(bindings, specs, [frame], window, (start, end))
    except (BacktestError, DetectorError, RuleError) as err:
        raise InvalidInput(str(err), fields={"from": "data"}) from err
