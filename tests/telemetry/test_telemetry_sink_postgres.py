"""The write path with PostgreSQL as the relational database (tags, dead letters)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from lighthouse_os.assets import service as assets
from lighthouse_os.auth.tenants import SiteInput, create_org, create_site
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.db.migrate import upgrade
from lighthouse_os.telemetry.models import DeadLetter
from lighthouse_os.telemetry.points import RawPoint
from lighthouse_os.telemetry.service import TelemetryService
from lighthouse_os.telemetry.store import open_store
from tests.telemetry.conftest import SF_ASSETS, SF_NOW


@pytest.mark.postgres
def test_sink_on_postgresql_stores_points_and_dead_letters(
    postgres_url: str, tmp_path: Path
) -> None:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    sessions = make_session_factory(engine)
    store = open_store(f"duckdb:///{tmp_path / 'ts.duckdb'}")
    try:
        with sessions() as session:
            create_org(session, name="Thép Sài Gòn", kind="manufacturer", code="sf-pg-org")
            site = create_site(
                session,
                org_ref="sf-pg-org",
                data=SiteInput("Nhà máy cán", "2410", code="sf-pg-site"),
            )
            assets.import_assets(session, site, assets.rows_from_file("a.yaml", SF_ASSETS))
        sink = TelemetryService(sessions, store, clock=lambda: SF_NOW)
        t0 = SF_NOW - timedelta(minutes=10)
        points = [RawPoint("line1/press2/kwh", t0 + timedelta(minutes=i), i) for i in range(5)]
        result = sink.ingest("sf-pg-site", [*points, RawPoint("x/y", t0, 1)], source="test")
        assert (result.accepted, len(result.rejected)) == (5, 1)
        with sessions() as session:
            letters = session.scalars(select(DeadLetter).where(DeadLetter.site_id == site.id))
            assert [d.tag for d in letters] == ["x/y"]
    finally:
        store.close()
        engine.dispose()
