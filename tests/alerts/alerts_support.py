"""Path values of the alert routes for the access matrix: a fresh object per request."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from lighthouse_os.alerts import rulebook, service
from lighthouse_os.alerts.rules import AlertRaised
from lighthouse_os.alerts.schemas import ChannelIn, DetectorIn, RuleIn
from lighthouse_os.assets import service as assets
from lighthouse_os.assets.hierarchy import NodeDraft
from lighthouse_os.auth.policy import Principal
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.db.base import utcnow
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.settings import Settings

T = TypeVar("T")
ACTOR = Principal(label="matrix")
# Not line-1/m-1: the KPI rows rely on the matrix sites having no such machine.
MACHINE = "alerts-cell/press-x"


def _in_session(settings: Settings, work: Callable[[Session], T]) -> T:
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            return work(session)
    finally:
        engine.dispose()


def _alert(settings: Settings, site: str, _path: str) -> int:
    def work(session: Session) -> int:
        raised = AlertRaised("rule:0", f"matrix/{uuid.uuid4().hex[:8]}", utcnow(), 1.0)
        target = get_site(session, site)
        ((alert, _),) = service.record_events(
            session, target.id, [raised], now=raised.at, titles={}
        )
        session.commit()
        return alert.id

    return _in_session(settings, work)


def _rule(settings: Settings, site: str, _path: str) -> int:
    data = RuleIn(name="m", kind="absence", scope="asset_type", asset_type="press", tag_key="kw")
    return _in_session(
        settings, lambda s: rulebook.create_rule(s, get_site(s, site), data, actor=ACTOR).id
    )


def _detector(settings: Settings, site: str, _path: str) -> int:
    def work(session: Session) -> int:
        target = get_site(session, site)
        if not any(n.path == MACHINE for n in assets.site_tree(session, target).nodes):
            assets.create_node(session, target, NodeDraft("alerts-cell", "line"))
            assets.create_node(session, target, NodeDraft(MACHINE, "machine"))
        data = DetectorIn(name="m", machine=MACHINE, kind="ewma", columns=[])
        return rulebook.create_detector(session, target, data, actor=ACTOR).id

    return _in_session(settings, work)


def _channel(settings: Settings, site: str, _path: str) -> int:
    data = ChannelIn(name="m", kind="webhook", url="https://hooks.example.vn/m")
    return _in_session(
        settings, lambda s: service.create_channel(s, get_site(s, site), data, actor=ACTOR).id
    )


ALERT_PATH_VALUES: dict[str, Any] = {
    "alert_id": _alert,
    "rule_id": _rule,
    "detector_id": _detector,
    "channel_id": _channel,
}
