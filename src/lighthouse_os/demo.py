"""`lhos demo`: a living, simulated HCMC program on the embedded defaults."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import Progress
from sqlalchemy.orm import Session

from lighthouse_os.alerts.demo import seed_alerts
from lighthouse_os.alerts.demo import start_live as start_alert_engine
from lighthouse_os.assessment.demo import seed_assessments
from lighthouse_os.auth.demo import DEMO_PASSWORD, DEMO_USERS, seed_identity
from lighthouse_os.bootstrap import initialise
from lighthouse_os.db.base import MetaEntry, utcnow
from lighthouse_os.db.engine import make_engine, make_session_factory, session_scope
from lighthouse_os.environment.demo import seed_environment
from lighthouse_os.environment.demo import start_streaming as stream_environment
from lighthouse_os.kpi.demo import seed_factories, start_streaming
from lighthouse_os.settings import Settings

DemoStep = Callable[[Settings, Session], str]


def _mark_seeded(_settings: Settings, session: Session) -> str:
    session.merge(MetaEntry(key="demo_seeded_at", value=utcnow().isoformat()))
    return "demo marked as seeded"


# Each feature adds the seed step for its part of the demo here, in dependency order.
DEMO_STEPS: list[DemoStep] = [
    seed_identity,
    seed_factories,
    seed_assessments,
    seed_environment,
    seed_alerts,
    _mark_seeded,
]


def seed(settings: Settings, console: Console | None = None) -> list[str]:
    """Run every demo step once; each step is idempotent, so re-running the demo is safe."""
    engine = make_engine(settings.resolved_database_url)
    done: list[str] = []
    try:
        factory = make_session_factory(engine)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Seeding demo", total=len(DEMO_STEPS))
            for step in DEMO_STEPS:
                with session_scope(factory) as session:
                    done.append(step(settings, session))
                progress.advance(task)
    finally:
        engine.dispose()
    return done


def _loopback_url(host: str, port: int) -> str:
    """Where this machine reaches the served app (a wildcard bind answers on loopback)."""
    reachable = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
    if ":" in reachable:
        reachable = f"[{reachable}]"
    return f"http://{reachable}:{port}"


def run_demo(settings: Settings, *, host: str, port: int, serve: bool, console: Console) -> None:
    """Initialise, seed and (unless told not to) serve."""
    initialise(settings)
    for line in seed(settings, console):
        console.print(f"[green]✓[/] {line}")
    url = f"http://{host}:{port}/"
    console.print("\nDemo accounts (password [bold]" + DEMO_PASSWORD + "[/]):")
    for email, _org, role, _site in DEMO_USERS:
        console.print(f"  {email:34} {role}")
    console.print(f"\nLighthouse OS demo: [bold]{url}[/]  (Ctrl+C to stop)")
    if serve:
        import uvicorn

        from lighthouse_os.app import create_app

        # The demo factories keep producing live, posting to the served app like plant gateways.
        stop, _threads = start_streaming(settings, served_at=_loopback_url(host, port))
        _threads += stream_environment(settings, stop)  # air and wastewater stations too
        _alerts, stop_alerts = start_alert_engine(settings)  # raising and resolving from them
        try:
            uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
        finally:
            stop.set()
            stop_alerts.set()
