"""`lhos alerts run|backtest|list|train`: the engine worker and alert tools for scripts."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Annotated, Literal

import typer

from lighthouse_os.alerts import rulebook, service
from lighthouse_os.alerts.engine import build_engine, run_forever
from lighthouse_os.auth.models import Site
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.db.base import utcnow
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.service import build_sink, local_instant

app = typer.Typer(
    help="Alerts: the rule and anomaly engine, backtests over history, the alert list.",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
SiteOption = Annotated[str, typer.Option("--site", help="Site code or id.")]
Every = Literal["raw", "1m", "1h"]


def _settings() -> Settings:
    from lighthouse_os.cli import load_settings

    return load_settings()


def _instant(text: str | None, site: Site) -> datetime | None:
    """A local date or ISO time at the site (an explicit offset wins)."""
    return None if text is None else local_instant(text, site.timezone)


@app.command("run")
def run(
    interval: Annotated[float, typer.Option(help="Seconds between runs.", min=0.1)] = 10.0,
    once: Annotated[bool, typer.Option("--once", help="Run once and exit.")] = False,
) -> None:
    """Evaluate every site's rules and detectors over new data, again every INTERVAL seconds."""
    from lighthouse_os.cli import console

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    engine = build_engine(_settings())
    try:
        if once:
            report = engine.run_once()
            console.print(
                f"{report.sites} site(s), {report.points} point(s), {report.events} event(s), "
                f"{report.notices} notice(s), {report.delivered} delivered"
            )
            return
        console.print(f"alert engine: every {interval:g} s (Ctrl+C to stop)")
        run_forever(engine, interval=interval, stop=threading.Event())
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        engine.close()


@app.command("backtest")
def backtest(
    site: SiteOption,
    machine: Annotated[str, typer.Option("--machine", help="Machine path, e.g. line-1/press-1.")],
    start: Annotated[str, typer.Option("--from", help="Window start (date or ISO time).")],
    end: Annotated[str, typer.Option("--to", help="Window end (exclusive).")],
    train_from: Annotated[
        str | None, typer.Option("--train-from", help="Reference period start.")
    ] = None,
    train_to: Annotated[
        str | None, typer.Option("--train-to", help="Reference period end.")
    ] = None,
    every: Annotated[str, typer.Option("--every", help="raw, 1m or 1h rows.")] = "raw",
    json_out: Json = False,
) -> None:
    """Replay a machine's rules and detectors over stored history and list the alerts.

    JSON: [{start, end, rule, signals, score}]. Detectors train on --train-from/--train-to,
    else on the rows before --from; a machine without detectors gets PCA T²+Q on its gauges.
    """
    from lighthouse_os.cli import console, print_json

    with build_sink(_settings()) as sink, sink.sessions() as session:
        target = get_site(session, site)
        records = rulebook.backtest_machine(
            session,
            sink.store,
            target,
            machine,
            start=_instant(start, target) or utcnow(),
            end=_instant(end, target) or utcnow(),
            train_from=_instant(train_from, target),
            train_to=_instant(train_to, target),
            resolution=_every(every),
        )
    if json_out:
        print_json([r.as_json() for r in records])
        return
    for r in records:
        until = r.end.isoformat() if r.end else "open"
        console.print(
            f"{r.start.isoformat()} → {until}  {r.rule}  {', '.join(r.signals)}  {r.score:.3g}"
        )
    console.print(f"{len(records)} alert(s)")


def _every(value: str) -> Every:
    from lighthouse_os.errors import InvalidInput

    if value not in ("raw", "1m", "1h"):
        raise InvalidInput("--every must be raw, 1m or 1h", fields={"every": "unknown"})
    return value  # type: ignore[return-value]


@app.command("list")
def list_alerts(
    site: SiteOption,
    status: Annotated[
        str, typer.Option(help="active, open, acknowledged, resolved or all.")
    ] = "active",
    json_out: Json = False,
) -> None:
    """The site's alerts, newest first."""
    from lighthouse_os.cli import console, print_json

    with build_sink(_settings()) as sink, sink.sessions() as session:
        target = get_site(session, site)
        found = service.list_alerts(session, target, status=None if status == "all" else status)
        alerts = [service.alert_public(session, a) for a in found]
    if json_out:
        print_json([a.model_dump(mode="json") for a in alerts])
        return
    for a in alerts:
        console.print(
            f"#{a.id} {a.opened_at.isoformat()} {a.severity:8} {a.status:12} {a.title} ({a.series})"
        )
    console.print(f"{len(alerts)} alert(s)")


@app.command("train")
def train(
    site: SiteOption,
    detector: Annotated[int, typer.Option("--detector", help="Detector id.")],
    train_from: Annotated[
        str | None, typer.Option("--from", help="Reference period start.")
    ] = None,
    train_to: Annotated[str | None, typer.Option("--to", help="Reference period end.")] = None,
    json_out: Json = False,
) -> None:
    """Fit a detector on its reference period (or the one given) and keep the model."""
    from lighthouse_os.cli import console, print_json

    with build_sink(_settings()) as sink, sink.sessions() as session:
        target = get_site(session, site)
        row = rulebook.train_detector(
            session,
            sink.store,
            target,
            detector,
            actor=None,
            now=utcnow(),
            train_from=_instant(train_from, target),
            train_to=_instant(train_to, target),
        )
        public = rulebook.detector_public(session, row)
    if json_out:
        print_json(public.model_dump(mode="json"))
        return
    console.print(f"trained {public.name} on {', '.join(public.fitted_columns)}")
