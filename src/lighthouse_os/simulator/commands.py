"""`lhos simulate factory`: a deterministic simulated factory published through MQTT or HTTP."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from lighthouse_os.db.base import utcnow
from lighthouse_os.errors import InvalidInput
from lighthouse_os.settings import Settings
from lighthouse_os.simulator.factory import simulate
from lighthouse_os.simulator.publish import (
    HttpPublisher,
    MqttPublisher,
    Publisher,
    RunStats,
    factory_specs,
    publish,
    publish_live,
)

app = typer.Typer(help="Simulators for demos, tests and benchmarks.", no_args_is_help=True)


def create_site_assets(settings: Settings, site: str, machines: int) -> str:
    """Create the simulated machines' assets and products at `site` (the local database)."""
    from lighthouse_os.auth.tenants import get_site
    from lighthouse_os.db.engine import make_engine, make_session_factory
    from lighthouse_os.kpi.demo import provision

    engine = make_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            done = provision(session, get_site(session, site), factory_specs(machines))
    finally:
        engine.dispose()
    return (
        f"{done.created_nodes} assets, {done.created_tags} tags, {done.products} products created"
    )


def run_factory(
    publisher: Publisher,
    *,
    machines: int,
    seed: int,
    start: datetime,
    hours: float,
    speed: float,
    sample_s: float,
    stop: threading.Event | None = None,
) -> RunStats:
    """Simulate [start, start + hours) and publish it, paced at `speed` (0: as fast as possible)."""
    specs = factory_specs(machines)
    points = simulate(start, start + timedelta(hours=hours), specs, seed, sample_s=sample_s)
    if speed > 0:
        stop = stop or threading.Event()
        return publish_live(points, publisher, stop=stop, speed=speed)
    return publish(points, publisher, stop=stop)


def default_start(speed: float, hours: float, now: datetime) -> datetime:
    """Real time (speed 1) starts now; faster runs end now, so no point lies in the future."""
    now = now.replace(microsecond=0)
    return now if speed == 1 else now - timedelta(hours=hours)


def _publisher(site: str, mqtt: str | None, http: str | None, token: str | None) -> Publisher:
    if (mqtt is None) == (http is None):
        raise InvalidInput("give exactly one of --mqtt URL or --http URL --token T")
    if mqtt is not None:
        return MqttPublisher(mqtt, site, client_id=f"lhos-simulator-{site}")
    if not token:
        raise InvalidInput("--http needs --token (a write token of the site)")
    return HttpPublisher(str(http), token, site)


@app.command("factory")
def simulate_factory(
    site: Annotated[str, typer.Option(help="Site code / Mã nhà máy.")],
    machines: Annotated[int, typer.Option(help="Machines, four per line.")] = 8,
    speed: Annotated[float, typer.Option(help="Simulated s per wall s; 0 = no pacing.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 1,
    hours: Annotated[float, typer.Option(help="Simulated hours to publish.")] = 8.0,
    start: Annotated[
        str | None, typer.Option("--from", help="Start, ISO 8601 with offset.")
    ] = None,
    sample_s: Annotated[float, typer.Option(help="Seconds between counter samples.")] = 10.0,
    mqtt: Annotated[
        str | None, typer.Option(help="Broker URL, e.g. mqtt://127.0.0.1:1883.")
    ] = None,
    http: Annotated[
        str | None, typer.Option(help="Server URL, e.g. http://127.0.0.1:8000.")
    ] = None,
    token: Annotated[str | None, typer.Option(help="API token (with --http).")] = None,
    create_assets: Annotated[bool, typer.Option(help="Create missing assets locally.")] = True,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data folder.")] = None,
) -> None:
    """Publish a simulated factory (states, counts, energy) / Mô phỏng nhà máy."""
    from lighthouse_os.cli import console, load_settings

    publisher = _publisher(site, mqtt, http, token)
    if create_assets:
        console.print(create_site_assets(load_settings(data_dir), site, machines))
    first = datetime.fromisoformat(start) if start else default_start(speed, hours, utcnow())
    if first.tzinfo is None:
        raise InvalidInput("--from needs a UTC offset, e.g. 2025-03-03T06:00:00+07:00")
    try:
        stats = run_factory(
            publisher,
            machines=machines,
            seed=seed,
            start=first,
            hours=hours,
            speed=speed,
            sample_s=sample_s,
        )
    finally:
        publisher.close()
    console.print(f"published {stats.points:,} points in {stats.batches:,} batches")


def register(root: typer.Typer) -> None:
    """Add `lhos simulate` to the root command."""
    root.add_typer(app, name="simulate")
