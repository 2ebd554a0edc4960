"""The demo's factories stream live over HTTP, through the same endpoint a plant gateway uses."""

from __future__ import annotations

import time

from sqlalchemy import select

from lighthouse_os.app import create_app
from lighthouse_os.assets import service as assets
from lighthouse_os.auth.demo import seed_identity
from lighthouse_os.auth.models import ApiToken
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.db.engine import make_engine, make_session_factory, session_scope
from lighthouse_os.kpi.demo import (
    DEMO_PLANTS,
    STREAM_TOKEN_NAME,
    issue_stream_tokens,
    provision,
    start_streaming,
)
from lighthouse_os.settings import Settings
from lighthouse_os.simulator.publish import factory_specs
from lighthouse_os.telemetry.store import open_store
from tests.browser_support import live_server


def _prepare(settings: Settings) -> list[int]:
    """Demo tenants and the demo factories' assets; the tag ids of all factories."""
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            seed_identity(settings, session)
            tag_ids = []
            for code, machines, _seed in DEMO_PLANTS:
                site = get_site(session, code)
                provision(session, site, factory_specs(machines))
                tag_ids += [tag.id for tag in assets.tags_of_site(session, site.id)]
            return tag_ids
    finally:
        engine.dispose()


def _tokens(settings: Settings) -> list[ApiToken]:
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            query = select(ApiToken).where(ApiToken.name == STREAM_TOKEN_NAME)
            return list(session.scalars(query.order_by(ApiToken.id)))
    finally:
        engine.dispose()


def test_issuing_stream_tokens_again_revokes_the_earlier_ones(
    initialised_settings: Settings,
) -> None:
    _prepare(initialised_settings)
    first = issue_stream_tokens(initialised_settings)
    second = issue_stream_tokens(initialised_settings)
    assert set(first) == set(second) == {code for code, _, _ in DEMO_PLANTS}
    assert first != second
    tokens = _tokens(initialised_settings)
    assert [t.revoked_at is None for t in tokens] == [False, False, True, True]
    assert all(t.scope == "write" and t.site_id is not None for t in tokens)


def test_demo_factories_stream_through_the_http_endpoint(initialised_settings: Settings) -> None:
    tag_ids = _prepare(initialised_settings)
    with live_server(create_app(initialised_settings)) as base_url:
        stop, threads = start_streaming(initialised_settings, served_at=base_url)
        try:
            deadline = time.monotonic() + 60
            used: list[ApiToken] = []
            while time.monotonic() < deadline and len(used) < len(DEMO_PLANTS):
                time.sleep(0.5)
                used = [t for t in _tokens(initialised_settings) if t.last_used_at is not None]
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
    # Every factory's gateway token was used, and the points it posted are in the store.
    assert len(used) == len(DEMO_PLANTS)
    with open_store(initialised_settings.resolved_timeseries_url) as store:
        assert store.latest(tag_ids).num_rows > 0
