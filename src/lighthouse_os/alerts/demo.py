"""Demo alerts: rules and a detector on the demo factories, replayed over their simulated history.

`seed_alerts` (a `lhos demo` step, after the factory history and the environment) gives each
demo factory asset-type rules on every press ("power above 65 kW for 2 min", "broken down",
"power factor below 0.9 for 1 h", "no data for 10 min"), "OEE below 60 % for a shift" on every
type of metered machine, and a seasonal robust z-score detector of a press's power trained on
the first six days. It then runs the engine over the last day, hour by hour, so alerts are
raised and resolved from the simulated data, the air and monitoring stations' QCVN limits and
feed gaps included; `start_live` keeps the engine going while the demo serves.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.alerts import rulebook
from lighthouse_os.alerts.engine import AlertEngine, start_in_background
from lighthouse_os.alerts.models import AlertDetector, AlertRule
from lighthouse_os.alerts.schemas import DetectorIn, RuleIn
from lighthouse_os.assets.models import AssetNode, Tag
from lighthouse_os.auth.models import Site
from lighthouse_os.auth.policy import Principal
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.db.base import MetaEntry, utcnow
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.kpi.queries import open_reader
from lighthouse_os.settings import Settings
from lighthouse_os.simulator.factory import STATE_CODES
from lighthouse_os.telemetry.service import build_sink

DEMO_SITES = ("saigon-precision", "tanthuan-electronics")
REPLAY = timedelta(days=1)  # the engine replays the newest day of the seven simulated
TRAINING = timedelta(days=6)
STEP = timedelta(hours=1)
REPLAYED_KEY = "alerts_demo_replayed_until"
ACTOR = Principal(label="demo")
LIVE_INTERVAL_S = 10.0


def _type_rule(name: str, kind: str, **fields: object) -> RuleIn:
    """A rule on every machine of an asset type (presses unless `asset_type` is given)."""
    values = {"name": name, "kind": kind, "scope": "asset_type", "asset_type": "press"}
    return RuleIn.model_validate({**values, **fields})


def _rules(types: Sequence[str]) -> list[RuleIn]:
    """The demo rules; `types` are the asset types of machines with an energy meter."""
    rules = [
        _type_rule(
            "Press power above 65 kW for 2 min",
            "threshold",
            tag_key="power_kw",
            limit=65,
            hysteresis=3,
            min_duration_s=120,
        ),
        # The simulator publishes a machine's state on every change (STATE_CODES: 4 = down),
        # so this raises when a press breaks down and clears when it is repaired: a couple of
        # times a day per press (MTBF 5 h of running, lognormal repair of about 20 min).
        _type_rule(
            "Press broken down",
            "threshold",
            tag_key="state",
            limit=STATE_CODES["down"] - 0.5,
        ),
        _type_rule(
            "No data from a press for 10 min",
            "absence",
            tag_key="power_kw",
            max_silence_s=600,
            severity="critical",
        ),
        _type_rule(
            "Press power factor below 0.9 for 1 h",
            "kpi",
            kpi="power_factor",
            limit=0.9,
            period="hour",
        ),
    ]
    for kind in types:
        fields = {"asset_type": kind, "kpi": "oee", "limit": 0.6, "period": "shift"}
        name = f"OEE below 60 % for a shift ({kind})"
        rules.append(_type_rule(name, "kpi", **fields, severity="info"))
    return rules


def _machines(session: Session, site: Site) -> list[AssetNode]:
    query = select(AssetNode).where(AssetNode.site_id == site.id, AssetNode.level == "machine")
    return list(session.scalars(query.order_by(AssetNode.path)))


def seed_rules(session: Session, site: Site) -> int:
    """The demo rules of one factory, those not there yet (by name); returns how many were added."""
    known = set(session.scalars(select(AlertRule.name).where(AlertRule.site_id == site.id)))
    metered = set(
        session.scalars(select(Tag.node_id).where(Tag.site_id == site.id, Tag.key == "energy_kwh"))
    )
    machines = _machines(session, site)
    types = sorted({m.asset_type for m in machines if m.asset_type and m.id in metered})
    added = 0
    for data in _rules(types):
        if data.name not in known:
            rulebook.create_rule(session, site, data, actor=ACTOR)
            added += 1
    return added


def _seed_detector(settings: Settings, session: Session, site: Site, end: datetime) -> int:
    """A seasonal robust z-score of the first press's power, trained on five days of history."""
    press = next((m for m in _machines(session, site) if m.asset_type == "press"), None)
    exists = session.scalar(select(AlertDetector.id).where(AlertDetector.site_id == site.id))
    if press is None or exists is not None:
        return 0
    data = DetectorIn(
        name=f"Unusual power at {press.path}",
        machine=press.path,
        kind="robust_z",
        columns=["power_kw"],
        threshold=4.0,
        seasonal=True,
        smoothing=5,
        persistence=3,
        clear_level=0.7,
    )
    detector = rulebook.create_detector(session, site, data, actor=ACTOR)
    sink = build_sink(settings)
    try:
        start = end - REPLAY - TRAINING
        rulebook.train_detector(
            session,
            sink.store,
            site,
            detector.id,
            actor=ACTOR,
            now=end,
            train_from=start,
            train_to=end - REPLAY,
        )
    finally:
        sink.close()
    return 1


def _replay(settings: Settings, start: datetime, end: datetime) -> int:
    """Run the engine at each hour of [start, end), as the worker would have."""
    sink = build_sink(settings)
    url = settings.resolved_timeseries_url
    engine = AlertEngine(sink.sessions, sink.store, reader=lambda: open_reader(url))
    events, moment = 0, start
    try:
        while moment < end:
            moment = min(moment + STEP, end)
            events += engine.run_once(moment).events
    finally:
        engine.close()
    return events


def _replayed_until(session: Session) -> datetime | None:
    entry = session.get(MetaEntry, REPLAYED_KEY)
    return None if entry is None else datetime.fromisoformat(entry.value)


def seed_alerts(settings: Settings, session: Session, *, now: datetime | None = None) -> str:
    """Demo step: rules and a detector on the demo factories, replayed over recent history up to
    `now` (default: the wall clock); idempotent: rules and detectors are kept by name, the
    replay resumes where it stopped."""
    end = (now or utcnow()).replace(second=0, microsecond=0)
    rules = detectors = 0
    for code in DEMO_SITES:
        site = get_site(session, code)
        rules += seed_rules(session, site)
        detectors += _seed_detector(settings, session, site, end)
    start = max(_replayed_until(session) or end - REPLAY, end - REPLAY)
    # The replay has its own connections: make this step's rules visible to them first.
    session.merge(MetaEntry(key=REPLAYED_KEY, value=end.isoformat()))
    session.commit()
    events = _replay(settings, start, end)
    opened = _count_alerts(settings)
    return (
        f"alerts: {rules} rules, {detectors} detectors; replay of {end - start} gave {events} "
        f"events, {opened} alerts"
    )


def start_live(settings: Settings) -> tuple[threading.Thread, threading.Event]:
    """The alert engine in a daemon thread while the demo serves, every 10 s (after the
    factory and station streams have started); set the event to stop it."""
    return start_in_background(settings, interval=LIVE_INTERVAL_S)


def _count_alerts(settings: Settings) -> int:
    from lighthouse_os.alerts.models import Alert

    engine = make_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            return len(session.scalars(select(Alert.id)).all())
    finally:
        engine.dispose()
