"""Fixtures of the alert integration tests: a site with presses and a lathe, and its store."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy.orm import Session, sessionmaker

from lighthouse_os.assets import service as assets
from lighthouse_os.assets.hierarchy import NodeDraft, TagDraft
from lighthouse_os.auth.models import Site, User
from lighthouse_os.auth.policy import Principal
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.store import POINT_SCHEMA, TimeSeriesStore, open_store
from tests.support import World

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
SIGNALS = {
    "power_kw": ("kW", "gauge"),
    "temperature_c": ("Cel", "gauge"),
    "current_a": ("A", "gauge"),
    "energy_kwh": ("kW.h", "counter"),
    "kvarh": ("kvar.h", "counter"),
}


@dataclass
class Plant:
    """Site a1 of the access world with line-1/press-1, press-2 (type press) and lathe-1."""

    settings: Settings
    sessions: sessionmaker[Session]
    store: TimeSeriesStore
    world: World
    tags: dict[str, int]

    @property
    def site_code(self) -> str:
        return "a1"

    def site(self, session: Session) -> Site:
        return get_site(session, "a1")

    def actor(self, session: Session, email: str = "member@a.vn") -> Principal:
        user = session.query(User).filter(User.email == email).one()
        return Principal(user_id=user.id, label=email)

    def add_machine(self, path: str, asset_type: str, signals: Iterable[str] = SIGNALS) -> None:
        with self.sessions() as session:
            site = self.site(session)
            assets.create_node(session, site, NodeDraft(path, "machine", asset_type=asset_type))
            for key in signals:
                unit, kind = SIGNALS[key]
                tag = assets.create_tag(session, site, TagDraft(f"{path}/{key}", unit, kind))
                self.tags[tag.path] = tag.id

    def write(self, tag: str, rows: Iterable[tuple[datetime, float]]) -> None:
        stamps, values = zip(*rows, strict=True)
        self.store.write(
            pa.Table.from_arrays(
                [
                    pa.array([self.tags[tag]] * len(stamps), pa.int64()),
                    pa.array(stamps, POINT_SCHEMA.field("ts").type),
                    pa.array(values, pa.float64()),
                ],
                schema=POINT_SCHEMA,
            )
        )


@pytest.fixture
def plant(initialised_settings: Settings, world: World) -> Iterator[Plant]:
    engine = make_engine(initialised_settings.resolved_database_url)
    store = open_store(initialised_settings.resolved_timeseries_url)
    found = Plant(initialised_settings, make_session_factory(engine), store, world, {})
    with found.sessions() as session:
        assets.create_node(session, found.site(session), NodeDraft("line-1", "line"))
    found.add_machine("line-1/press-1", "press")
    found.add_machine("line-1/press-2", "press")
    found.add_machine("line-1/lathe-1", "lathe", ["power_kw"])
    yield found
    store.close()
    engine.dispose()


def machine_data(plant: Plant, start: datetime, rows: int, *, broken: bool = False) -> None:
    """Temperature and current follow power; `broken` heats the press 15 °C above normal."""
    rng = np.random.default_rng(7 if not broken else 8)
    stamps = [start + timedelta(seconds=10 * i) for i in range(rows)]
    power = 100 + 20 * np.sin(np.arange(rows) / 15) + rng.normal(0, 2, rows)
    temperature = 30 + 0.3 * power + rng.normal(0, 0.6, rows) + (15 if broken else 0)
    current = power / 0.4 + rng.normal(0, 5, rows)
    for key, values in (
        ("power_kw", power),
        ("temperature_c", temperature),
        ("current_a", current),
    ):
        plant.write(f"line-1/press-1/{key}", list(zip(stamps, values.tolist(), strict=True)))
