"""Demo factories for the KPI engine: assets, product master and simulated history or live data.

`seed_factories` (a `lhos demo` step) gives `saigon-precision` and `tanthuan-electronics` their
lines, machines and tags, the product master, and 7 days of simulated history written through
the real sink. `start_streaming` keeps the same simulation running live while the demo serves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.assets import service as assets
from lighthouse_os.auth.models import ApiToken, Site
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.auth.tokens import create_token
from lighthouse_os.db.base import utcnow
from lighthouse_os.db.engine import make_engine, make_session_factory, session_scope
from lighthouse_os.errors import InvalidInput
from lighthouse_os.kpi import service as kpi
from lighthouse_os.kpi.schemas import ProductIn
from lighthouse_os.settings import Settings
from lighthouse_os.simulator.factory import MachineSpec, simulate
from lighthouse_os.simulator.publish import (
    HttpPublisher,
    Publisher,
    RunStats,
    SinkPublisher,
    assets_yaml,
    factory_specs,
    publish,
    publish_live,
)
from lighthouse_os.telemetry.service import TelemetryService, build_sink

log = logging.getLogger(__name__)

# (site code, machines, seed): the two demo factories that stream machine data.
DEMO_PLANTS = (("saigon-precision", 8, 101), ("tanthuan-electronics", 6, 202))
BACKFILL = timedelta(days=7)
SAMPLE_S = 120.0  # backfill samples; 2-minute counters keep the demo seed under 30 s
STREAM_SAMPLE_S = 5.0  # live samples more often, so the dashboard visibly moves


@dataclass(frozen=True)
class Provisioned:
    """What `provision` changed."""

    created_nodes: int
    created_tags: int
    products: int


def provision(session: Session, site: Site, specs: Sequence[MachineSpec]) -> Provisioned:
    """Create the machines' lines, machines and tags if missing, and their products' PRI."""
    rows = assets.rows_from_file("simulated-factory.yaml", assets_yaml(specs))
    report = assets.import_assets(session, site, rows)
    if report.problems:
        problem = report.problems[0]
        raise InvalidInput(f"assets: {problem.where} {problem.field}: {problem.message}")
    known = {(path, p.code) for p, path in kpi.list_products(session, site)}
    added = 0
    for spec in specs:
        product = spec.products[0]
        if (spec.path, product.code) not in known:
            data = ProductIn(
                machine=spec.path, code=product.code, ideal_cycle_time_s=product.ideal_cycle_time_s
            )
            kpi.save_product(session, site, data)
            added += 1
    return Provisioned(report.created_nodes, report.created_tags, added)


def backfill(
    publisher: Publisher, specs: Sequence[MachineSpec], start: datetime, end: datetime, seed: int
) -> RunStats:
    """Publish the simulated history of [start, end) as fast as the sink takes it."""
    return publish(simulate(start, end, specs, seed, sample_s=SAMPLE_S), publisher)


def _aligned(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def seed_factories(settings: Settings, session: Session) -> str:
    """Demo step: assets, products and 7 days of history for the demo factories (idempotent:
    the store keeps the first value of each point, so a re-run stores nothing new)."""
    end = _aligned(utcnow())
    sink = build_sink(settings)
    stored = 0
    try:
        for code, machines, seed in DEMO_PLANTS:
            site = get_site(session, code)
            specs = factory_specs(machines)
            provision(session, site, specs)
            start = _resume_at(sink, session, site, end - BACKFILL)
            if start < end:
                stats = backfill(SinkPublisher(sink, code), specs, start, end, seed)
                stored += stats.accepted
    finally:
        sink.close()
    return f"factory history: {stored:,} new points for {len(DEMO_PLANTS)} sites"


def _resume_at(sink: TelemetryService, session: Session, site: Site, default: datetime) -> datetime:
    """After the site's last stored point, if any: a second run of the demo must not interleave
    a new simulation with the old one (its counters would look like resets)."""
    tags = [t.id for t in assets.tags_of_site(session, site.id)]
    latest: list[datetime] = sink.store.latest(tags)["ts"].to_pylist()
    if not latest:
        return default
    return max(default, max(latest) + timedelta(minutes=1))


def stream(
    publisher: Publisher,
    specs: Sequence[MachineSpec],
    seed: int,
    stop: threading.Event,
    start: datetime | None = None,
) -> RunStats:
    """Publish the simulation live (one simulated second per second) until `stop` is set."""
    first = start or utcnow().replace(microsecond=0)
    points = simulate(first, first + timedelta(days=30), specs, seed, sample_s=STREAM_SAMPLE_S)
    return publish_live(points, publisher, stop=stop)


def start_streaming(
    settings: Settings, *, served_at: str | None = None
) -> tuple[threading.Event, list[threading.Thread]]:
    """Daemon threads streaming each demo factory live while the demo serves.

    With `served_at` (the served app's base URL) each factory posts to `/api/v1/telemetry` with
    a site-scoped write token, as a plant gateway would; without it, points go straight into
    the sink (the same validation and write path, without HTTP). The live data continues the
    backfill from its last minute; `stop.set()` ends the threads.
    """
    stop = threading.Event()
    publishers: dict[str, Publisher] = {}
    if served_at is None:
        sink = build_sink(settings)
        publishers = {code: SinkPublisher(sink, code) for code, _, _ in DEMO_PLANTS}
    else:
        tokens = issue_stream_tokens(settings)
        publishers = {code: HttpPublisher(served_at, tokens[code], code) for code in tokens}
    threads = []
    for code, machines, seed in DEMO_PLANTS:
        target = _streamer(publishers[code], factory_specs(machines), seed, stop, served_at)
        thread = threading.Thread(target=target, name=f"lhos-sim-{code}", daemon=True)
        thread.start()
        threads.append(thread)
    return stop, threads


STREAM_TOKEN_NAME = "demo factory gateway"


def issue_stream_tokens(settings: Settings) -> dict[str, str]:
    """A fresh site-scoped write token per demo factory; earlier demo gateway tokens revoked.

    Tokens are stored hashed, so a new run cannot reuse the old secret; revoking the old ones
    keeps the token list of each site to one live demo gateway.
    """
    engine = make_engine(settings.resolved_database_url)
    tokens: dict[str, str] = {}
    try:
        with session_scope(make_session_factory(engine)) as session:
            for code, _, _ in DEMO_PLANTS:
                site = get_site(session, code)
                for old in session.scalars(
                    select(ApiToken).where(
                        ApiToken.site_id == site.id,
                        ApiToken.name == STREAM_TOKEN_NAME,
                        ApiToken.revoked_at.is_(None),
                    )
                ):
                    old.revoked_at = utcnow()
                _token, tokens[code] = create_token(
                    session,
                    org_ref=site.org_id,
                    site_ref=site.id,
                    scope="write",
                    name=STREAM_TOKEN_NAME,
                )
    finally:
        engine.dispose()
    return tokens


def wait_until_served(base_url: str, stop: threading.Event, timeout_s: float = 60.0) -> bool:
    """True once the app answers /healthz; False if `stop` is set or it never comes up."""
    deadline = time.monotonic() + timeout_s
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        stop.wait(0.25)
    return False


def _streamer(
    publisher: Publisher,
    specs: Sequence[MachineSpec],
    seed: int,
    stop: threading.Event,
    served_at: str | None = None,
) -> Callable[[], None]:
    def run() -> None:
        try:
            if served_at is not None and not wait_until_served(served_at, stop):
                log.error("the demo app did not come up at %s; factories not streaming", served_at)
                return
            stream(publisher, specs, seed, stop)
        except Exception:  # a daemon must not die silently: log once and stop streaming
            log.exception("the demo factory stream stopped")
        finally:
            publisher.close()

    return run
