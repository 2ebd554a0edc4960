"""`lhos import csv|parquet`, `lhos deadletters list|replay`, `lhos series agg` (and `lhos
assets`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from lighthouse_os.assets.service import load_yaml
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.errors import InvalidInput
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry import service
from lighthouse_os.telemetry.filemap import MapError, parse_file_map
from lighthouse_os.telemetry.import_report import import_report_lines, report_dict
from lighthouse_os.telemetry.importer import FileKind, import_file
from lighthouse_os.telemetry.service import build_sink
from lighthouse_os.telemetry.store import AggFn, Every
from lighthouse_os.telemetry.store.base import check_query

import_app = typer.Typer(help="Import meter and machine data files.", no_args_is_help=True)
deadletters_app = typer.Typer(help="Points and messages ingestion refused.", no_args_is_help=True)
series_app = typer.Typer(help="Query stored time series.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
SiteOption = Annotated[str, typer.Option("--site", help="Site code or id.")]
MapOption = Annotated[Path, typer.Option("--map", help="Column map (YAML), see docs/telemetry.md.")]


def _settings() -> Settings:
    from lighthouse_os.cli import load_settings

    return load_settings()


def _import(file: Path, site: str, map_file: Path, kind: FileKind, json_out: bool) -> None:
    from lighthouse_os.cli import console, err_console, print_json

    try:
        file_map = parse_file_map(load_yaml(map_file.name, map_file.read_text("utf-8")))
    except MapError as err:
        raise InvalidInput(f"{map_file}: {err}", fields=err.problems) from err
    with build_sink(_settings()) as sink, _progress(err_console, kind) as bar:
        task = bar.add_task(file.name, total=None)
        with sink.sessions() as session:
            code = get_site(session, site).code
        report = import_file(
            sink,
            code,
            file,
            file_map,
            kind=kind,
            progress=lambda d, t: bar.update(task, completed=d, total=t),
        )
    if json_out:
        print_json(report_dict(report))
    else:
        text = "\n".join(import_report_lines(report))
        console.print(text, highlight=False, markup=False, soft_wrap=True)


def _progress(console: object, kind: FileKind) -> Progress:
    amount = DownloadColumn() if kind == "csv" else TextColumn("{task.completed:,} rows")
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        amount,
        TimeRemainingColumn(),
        console=console,  # type: ignore[arg-type]
        transient=True,
    )


@import_app.command("csv")
def import_csv(file: Path, site: SiteOption, map_file: MapOption, json_out: Json = False) -> None:
    """Import a CSV file through the ingestion path; re-importing it changes nothing."""
    _import(file, site, map_file, "csv", json_out)


@import_app.command("parquet")
def import_parquet(
    file: Path, site: SiteOption, map_file: MapOption, json_out: Json = False
) -> None:
    """Import a Parquet file through the ingestion path; re-importing it changes nothing."""
    _import(file, site, map_file, "parquet", json_out)


@deadletters_app.command("list")
def deadletters_list(
    site: Annotated[str | None, typer.Option("--site", help="Site code or id.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="e.g. http, mqtt.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    json_out: Json = False,
) -> None:
    """The newest dead letters with their reasons."""
    from lighthouse_os.cli import console, print_json

    with build_sink(_settings()) as sink, sink.sessions() as session:
        target = get_site(session, site) if site else None
        letters = service.list_dead_letters(session, site=target, source=source, limit=limit)
        rows = [service.dead_letter_dict(d) for d in letters]
    if json_out:
        print_json({"dead_letters": rows})
        return
    for row in rows:
        line = f"#{row['id']} {row['received_at']} {row['source']} {row['site']} {row['tag']}"
        console.print(f"{line}\n    {row['reason']}\n    {str(row['payload'])[:200]}", markup=False)
    if not rows:
        console.print("no dead letters")


@deadletters_app.command("replay")
def deadletters_replay(
    site: SiteOption,
    source: Annotated[str | None, typer.Option("--source", help="e.g. http, mqtt.")] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Reasons starting with this, e.g. unknown_tag.")
    ] = None,
    json_out: Json = False,
) -> None:
    """Send a site's rejected points again (say, once their tag exists); each letter replayed
    is removed, and a point still refused becomes a new letter with today's reason."""
    from lighthouse_os.cli import console, print_json

    with build_sink(_settings()) as sink:
        with sink.sessions() as session:
            target = get_site(session, site)
        report = service.replay_dead_letters(sink, target, source=source, reason=reason)
    if json_out:
        print_json(asdict(report))
        return
    console.print(
        f"{report.replayed} letter(s) replayed: {report.accepted} point(s) stored, "
        f"{report.duplicates} already stored, {report.rejected} refused again; "
        f"{report.skipped} letter(s) left (not points)",
        markup=False,
    )


@series_app.command("agg")
def series_agg(
    site: SiteOption,
    tag: Annotated[str, typer.Option("--tag", help="Tag path or id.")],
    every: Annotated[str, typer.Option(help="1m, 1h, 1d or 1mo.")] = "1d",
    fn: Annotated[str, typer.Option(help="avg, min, max, sum, last, count or delta.")] = "avg",
    start: Annotated[str | None, typer.Option("--from", help="Date or time (site zone).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Date or time; default now.")] = None,
    json_out: Json = False,
) -> None:
    """Aggregate one tag into buckets of the site's local calendar."""
    from lighthouse_os.cli import console, print_json

    every_, fn_ = _query(every, fn)
    with build_sink(_settings()) as sink, sink.sessions() as session:
        target = get_site(session, site)
        to = service.local_instant(end, target.timezone) if end else sink.clock()
        since = service.local_instant(start, target.timezone) if start else to - timedelta(days=30)
        result = service.series_aggregate(
            session, sink.store, target, tag, every=every_, fn=fn_, start=since, end=to
        )
    if json_out:
        print_json(service.aggregate_dict(result))
        return
    console.print(f"{result.fn} of {result.tag} [{result.unit}] per {result.every}", markup=False)
    for bucket in result.buckets:
        console.print(f"{bucket.start.isoformat()}  {bucket.value:.6g}", markup=False)


def _query(every: str, fn: str) -> tuple[Every, AggFn]:
    check_query(every, fn)  # InvalidInput naming the allowed values
    return cast(Every, every), cast(AggFn, fn)


def register(app: typer.Typer) -> None:
    """Attach the shop-floor commands to `lhos`: assets, import, deadletters, series."""
    from lighthouse_os.assets.commands import assets_app

    for sub, name in (
        (assets_app, "assets"),
        (import_app, "import"),
        (deadletters_app, "deadletters"),
        (series_app, "series"),
    ):
        app.add_typer(sub, name=name)
