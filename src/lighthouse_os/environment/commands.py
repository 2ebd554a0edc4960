"""Typer commands: `lhos calc aqi`, `lhos monitoring …`, `lhos air …` and `lhos export air`."""

from __future__ import annotations

import sys
import threading
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.table import Table

from lighthouse_os.db.base import utcnow
from lighthouse_os.environment import (
    calculator,
    export,
    monitoring,
    receiver,
    sender,
    service,
    standards,
)
from lighthouse_os.environment.feed import FeedError, parse_feed
from lighthouse_os.environment.receiver import Receiver
from lighthouse_os.environment.scale import POLLUTANTS
from lighthouse_os.environment.schemas import AirStationInput, MonitoringStationInput, parse_input
from lighthouse_os.telemetry.service import TelemetryService, build_sink, local_instant

if TYPE_CHECKING:
    from lighthouse_os.settings import Settings

BAD_INPUT = 2  # Click's own code for usage errors; bad input files are the same kind of mistake
SOME_FILES_FAILED = 1


class AqiMethodName(StrEnum):
    """Index method for `lhos calc aqi --method`."""

    vn = "vn"
    epa = "epa"


def _print_json(value: object) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(BAD_INPUT)


def _choose(hourly: Path | None, daily: Path | None) -> tuple[Path, calculator.Kind]:
    if hourly is not None and daily is None:
        return hourly, "hourly"
    if daily is not None and hourly is None:
        return daily, "daily"
    _fail("give exactly one of --hourly FILE.csv or --daily FILE.csv")


def calc_aqi(
    hourly: Annotated[
        Path | None, typer.Option("--hourly", help="CSV of hourly means; prints the hourly AQI.")
    ] = None,
    daily: Annotated[
        Path | None, typer.Option("--daily", help="CSV of hourly means; prints the daily AQI.")
    ] = None,
    method: Annotated[
        AqiMethodName, typer.Option("--method", help="vn = VN_AQI (1459/QĐ-TCMT); epa = US EPA.")
    ] = AqiMethodName.vn,
    json_out: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Compute the AQI from a CSV `time,pm25,pm10,o3,no2,so2,co` (µg/m³, CO too)."""
    path, kind = _choose(hourly, daily)
    aqi_method = (
        standards.vn_aqi_method() if method is AqiMethodName.vn else standards.epa_aqi_method()
    )
    try:
        hours = calculator.parse_hourly_csv(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, calculator.CsvInputError) as err:
        _fail(f"{path}: {err}")
    rows = [calculator.result_json(r) for r in calculator.compute(aqi_method, kind, hours)]
    if json_out:
        _print_json(rows)
    else:
        _aqi_table(rows, kind, aqi_method.name_en)


def _aqi_table(rows: list[dict[str, Any]], kind: calculator.Kind, title: str) -> None:
    # Only pollutants with a value somewhere get a column, so the table fits a terminal.
    shown = [p for p in POLLUTANTS if any(r["sub_indices"][p] is not None for r in rows)]
    table = Table(title=title)
    table.add_column("time" if kind == "hourly" else "date", no_wrap=True)
    for name in ["AQI", "band / mức", "dominant", *shown]:
        table.add_column(name)
    for row in rows:
        when = row["time"][:16].replace("T", " ") if kind == "hourly" else row["date"]
        band = row["band"]
        label = f"[on {band['hex']}] [/] {band['name_vi']} / {band['name_en']}" if band else "-"
        aqi = str(row["aqi"]) if row["aqi"] is not None else "-"
        subs = [
            str(row["sub_indices"][p] if row["sub_indices"][p] is not None else "-") for p in shown
        ]
        table.add_row(when, aqi, label, row["dominant"] or "-", *subs)
    Console().print(table)


def monitoring_import(
    files: Annotated[list[Path], typer.Argument(help="Circular 10/2021 .txt files to import.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Import monitoring files once: parse, and store those of registered stations.

    Without a database (no `lhos init` yet) the files are only parsed. Exit code 1 when a file
    cannot be parsed; such a file also goes to the dead letters.
    """
    settings = _settings()
    if not _database_ready(settings):
        results = [_parse_one(path) for path in files]
    else:
        with build_sink(settings) as sink:
            results = [_import_one(sink, path) for path in files]
    if json_out:
        _print_json(results)
    else:
        _import_table(results)
    if any("error" in r for r in results):
        raise typer.Exit(SOME_FILES_FAILED)


def _parse_one(path: Path) -> dict[str, Any]:
    try:
        return parse_feed(path.read_bytes(), str(path)).to_json_dict()
    except FeedError as err:
        return {"file": path.name, "error": {"code": err.code, "message": err.message}}
    except OSError as err:
        return {"file": path.name, "error": {"code": "unreadable", "message": str(err)}}


def _import_table(results: list[dict[str, Any]]) -> None:
    table = Table(title="Circular 10/2021 files / Tệp quan trắc tự động")
    for name in ("file", "station", "readings", "problems", "result"):
        table.add_column(name)
    for r in results:
        if "error" in r:
            table.add_row(r["file"], "-", "-", "-", f"[red]{r['error']['code']}[/]")
            continue
        station = f"{r['station']['facility']}/{r['station']['code']}"
        ok = "[green]ok[/]" if not r["problems"] else "[yellow]problems[/]"
        if "stored" in r:
            stored = r["stored"]
            ok += f" · stored {stored['readings']}" if stored["registered"] else " · not stored"
        table.add_row(r["file"], station, str(len(r["readings"])), str(len(r["problems"])), ok)
    Console().print(table)


# -- database-backed commands ---------------------------------------------------------------

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ALL = ",".join(POLLUTANTS)
InboxOption = Annotated[Path, typer.Option("--inbox", help="Folder the files arrive in.")]
monitoring_app = typer.Typer(
    help="Continuous wastewater and stack monitoring (Circular 10/2021 files).",
    no_args_is_help=True,
)
station_app = typer.Typer(help="Registered monitoring stations.", no_args_is_help=True)
air_app = typer.Typer(
    help="Ambient air-quality stations, VN_AQI and QCVN 05.", no_args_is_help=True
)
air_station_app = typer.Typer(help="Air-quality stations.", no_args_is_help=True)
export_app = typer.Typer(help="Open-data exports.", no_args_is_help=True)


def _settings() -> Settings:
    from lighthouse_os.cli import load_settings

    return load_settings()


def _database_ready(settings: Settings) -> bool:
    """A configured server database, or the embedded SQLite file created by `lhos init`."""
    url = settings.resolved_database_url
    if not url.startswith("sqlite:///"):
        return True
    return Path(url.removeprefix("sqlite:///")).exists()


def _import_one(sink: TelemetryService, path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as err:
        return {"file": path.name, "error": {"code": "unreadable", "message": str(err)}}
    with sink.sessions() as session:
        try:
            return monitoring.receive_file(
                session, sink, str(path), data, now=utcnow()
            ).to_json_dict()
        except FeedError as err:
            reason = f"{err.code}: {err.message} ({path.name})"
            sink.dead_letter(source=monitoring.SOURCE, payload=data, reason=reason, site=None)
            return {"file": path.name, "error": {"code": err.code, "message": err.message}}


monitoring_app.command("import")(monitoring_import)


@monitoring_app.command("receive")
def monitoring_receive(
    inbox: InboxOption,
    interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 1.0,
    settle: Annotated[float, typer.Option(help="Seconds a file must stay unchanged.")] = 2.0,
    once: Annotated[bool, typer.Option("--once", help="Empty the inbox, then exit.")] = False,
    json_out: Json = False,
) -> None:
    """Watch an inbox folder: store each file, move it to processed/ or failed/, check gaps."""
    with build_sink(_settings()) as sink:
        watcher = Receiver(inbox, sink.sessions, sink, settle_s=settle, checks=_checks(sink))
        if once:
            outcomes = watcher.drain(timeout_s=max(30.0, 3 * settle))
            watcher.periodic()
            _print_outcomes(outcomes, json_out)
            return
        _run_until_interrupted(
            lambda stop: watcher.run(stop, interval_s=interval, on_outcome=_echo)
        )


def _checks(sink: TelemetryService) -> list[tuple[float, Any]]:
    def air(session: Any, now: Any) -> None:
        service.refresh_air_exceedances(session, sink.store, now=now)

    return [(60.0, receiver.gap_check), (600.0, air)]


def _echo(outcome: Any) -> None:
    where = outcome.moved_to.parent.name if outcome.status == "processed" else "failed/"
    detail = f" ({outcome.reason})" if outcome.reason else ""
    typer.echo(f"{outcome.status}: {outcome.file} → {where}{detail}")


def _print_outcomes(outcomes: list[Any], json_out: bool) -> None:
    if json_out:
        rows = [
            {"file": o.file, "status": o.status, "moved_to": str(o.moved_to), "reason": o.reason}
            for o in outcomes
        ]
        _print_json(rows)
        return
    for outcome in outcomes:
        _echo(outcome)
    typer.echo(f"{len(outcomes)} file(s) handled")


def _run_until_interrupted(loop: Any) -> None:
    stop = threading.Event()
    try:
        loop(stop)
    except KeyboardInterrupt:
        stop.set()
        typer.echo("stopped")


@monitoring_app.command("ftp")
def monitoring_ftp(
    inbox: InboxOption,
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 2121,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    user: Annotated[str, typer.Option(help="FTP user name.")] = "lhos",
    password: Annotated[
        str | None, typer.Option(help="FTP password; generated and printed once if omitted.")
    ] = None,
    interval: Annotated[float, typer.Option(help="Seconds between inbox polls.")] = 1.0,
) -> None:
    """Run an FTP server whose uploads land in the inbox and are received at once."""
    from lighthouse_os.environment.ftp import FeedFtpServer, generate_password

    if password is None:
        password = generate_password()
        typer.echo(f"FTP user {user}, password (shown once): {password}")
    with build_sink(_settings()) as sink:
        server = FeedFtpServer(inbox, user=user, password=password, host=host, port=port)
        watcher = Receiver(inbox, sink.sessions, sink, busy=server.uploading, checks=_checks(sink))
        server.on_received = watcher.mark_complete
        server.start()
        typer.echo(f"FTP on {host}:{server.address[1]} → {watcher.inbox} (Ctrl+C to stop)")
        try:
            _run_until_interrupted(
                lambda stop: watcher.run(stop, interval_s=interval, on_outcome=_echo)
            )
        finally:
            server.stop()


@monitoring_app.command("send")
def monitoring_send(
    station: Annotated[str, typer.Option("--station", help="Registered station code.")],
    ftp: Annotated[str, typer.Option("--ftp", help="ftp://user:password@host:port/folder")],
    outbox: Annotated[
        Path | None, typer.Option(help="Buffer folder; default <data dir>/monitoring-outbox.")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="One cycle, then exit.")] = False,
) -> None:
    """Write this site's station file every interval from its own telemetry and push it by FTP."""
    target = sender.parse_ftp_url(ftp)
    settings = _settings()
    with build_sink(settings) as sink:
        with sink.sessions() as session:
            found, site = monitoring.station_and_site(session, station)

        def build(now: Any) -> tuple[str, bytes]:
            with sink.sessions() as session:
                return sender.build_file(session, sink.store, found, site, now=now)

        folder = outbox or settings.data_dir / "monitoring-outbox" / found.code
        job = sender.Sender(build, sender.Outbox(folder), target)
        if once:
            _echo_report(job.tick())
            return
        _run_until_interrupted(
            lambda stop: job.run(stop, interval_s=found.interval_s, on_report=_echo_report)
        )


def _echo_report(report: Any) -> None:
    error = f", server unreachable: {report.error}" if report.error else ""
    typer.echo(f"{report.written}: {report.sent} sent, {report.waiting} waiting{error}")


@station_app.command("add")
def monitoring_station_add(
    code: Annotated[str, typer.Option("--code", help="<Province>_<Facility>_<NUO|KHI>###")],
    site: Annotated[str, typer.Option("--site", help="Site code or id.")],
    kind: Annotated[str, typer.Option("--kind", help="wastewater or stack.")],
    column: Annotated[str, typer.Option("--column", help="QCVN 40 column A or B.")] = "B",
    kq: Annotated[float | None, typer.Option("--kq", help="QCVN 40 Kq (water).")] = None,
    kf: Annotated[float | None, typer.Option("--kf", help="QCVN 40 Kf (water).")] = None,
    kp: Annotated[float | None, typer.Option("--kp", help="QCVN 19 Kp (stack).")] = None,
    kv: Annotated[float | None, typer.Option("--kv", help="QCVN 19 Kv (stack).")] = None,
    interval: Annotated[int, typer.Option(help="Seconds between files.")] = 300,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="SYMBOL=tag/path for the sender role.")
    ] = None,
    json_out: Json = False,
) -> None:
    """Register (or update) a monitoring station so the receiver stores its files."""
    data = parse_input(
        MonitoringStationInput,
        {"code": code, "site": site, "kind": kind, "column": column, "kq": kq, "kf": kf,
         "kp": kp, "kv": kv, "interval_s": interval, "tag_map": _tag_map(tag or [])},
    )  # fmt: skip
    with build_sink(_settings()) as sink, sink.sessions() as session:
        found = monitoring.register_monitoring_station(session, data)
        row = monitoring.station_dict(found)
    if json_out:
        _print_json(row)
    else:
        typer.echo(f"registered {row['code']} at site {site}")


def _tag_map(pairs: list[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        symbol, sep, path = pair.partition("=")
        if not sep or not symbol.strip() or not path.strip():
            _fail(f"--tag {pair!r}: use SYMBOL=tag/path, e.g. COD=wwtp/cod")
        found[symbol.strip()] = path.strip()
    return found


@station_app.command("list")
def monitoring_station_list(json_out: Json = False) -> None:
    """Registered monitoring stations."""
    with build_sink(_settings()) as sink, sink.sessions() as session:
        rows = [monitoring.station_dict(m) | {"site": s.code} for m, s in
                monitoring.monitoring_stations(session)]  # fmt: skip
    if json_out:
        _print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['code']}  {r['kind']}  site {r['site']}  every {r['interval_s']} s")


@monitoring_app.command("gaps")
def monitoring_gaps(json_out: Json = False) -> None:
    """Check every station for transmission gaps now; list the open ones."""
    with build_sink(_settings()) as sink, sink.sessions() as session:
        codes = {m.id: m.code for m, _site in monitoring.monitoring_stations(session)}
        found = receiver.check_gaps(session, now=utcnow())
        rows = [receiver.gap_dict(g, codes[g.station_id]) for g in found]
    if json_out:
        _print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['station']}: silent since {r['start']} (last file {r['last_file_at']})")
    typer.echo(f"{len(rows)} open gap(s)")


@air_station_app.command("add")
def air_station_add(
    program: Annotated[str, typer.Option("--program", help="Program code or id.")],
    code: Annotated[str, typer.Option("--code", help="Station code, e.g. HCM-AQ-001.")],
    name: Annotated[str, typer.Option("--name", help="Station name.")],
    lat: Annotated[float, typer.Option("--lat", help="Latitude (WGS 84).")],
    lon: Annotated[float, typer.Option("--lon", help="Longitude (WGS 84).")],
    district: Annotated[str, typer.Option(help="District.")] = "",
    park: Annotated[str, typer.Option(help="Industrial park, if any.")] = "",
    operator: Annotated[str, typer.Option(help="Who runs the station.")] = "",
    kind: Annotated[str, typer.Option(help="urban, roadside, industrial or background.")] = "urban",
    parameters: Annotated[str, typer.Option(help="Comma-separated pollutants.")] = ALL,
) -> None:
    """Register an air station: a site of the program with one µg/m³ tag per pollutant."""
    values = [p.strip() for p in parameters.split(",") if p.strip()]
    data = parse_input(
        AirStationInput,
        {"code": code, "name": name, "latitude": lat, "longitude": lon, "district": district,
         "park": park, "operator": operator, "kind": kind, "parameters": values},
    )  # fmt: skip
    with build_sink(_settings()) as sink, sink.sessions() as session:
        station = service.add_air_station(session, program_ref=program, data=data)
        typer.echo(f"air station {station.code}: tags {', '.join(station.parameters)} (ug/m3)")


@air_app.command("now")
def air_now(json_out: Json = False) -> None:
    """The current hourly VN_AQI of every air station."""
    with build_sink(_settings()) as sink, sink.sessions() as session:
        rows = export.current_observations(service.city_air(session, sink.store, now=utcnow()))
    if json_out:
        _print_json([export.flat_row(r) for r in rows])
        return
    for r in rows:
        typer.echo(f"{r.station}  {r.start:%Y-%m-%d %H:%M}  AQI {r.aqi}  {r.level}")


@air_app.command("check")
def air_check(json_out: Json = False) -> None:
    """Compare every air station's hourly means with QCVN 05:2023; store new exceedances."""
    with build_sink(_settings()) as sink, sink.sessions() as session:
        new = service.refresh_air_exceedances(session, sink.store, now=utcnow())
        rows = [service.exceedance_dict(e) for e in new]
    if json_out:
        _print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['parameter']} {r['averaging']} {r['start']}: {r['value']} > {r['limit']}")
    typer.echo(f"{len(rows)} new exceedance(s)")


class ExportFormat(StrEnum):
    """`lhos export air --format`."""

    csv = "csv"
    parquet = "parquet"
    ngsi_ld = "ngsi-ld"


@export_app.command("air")
def export_air(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv, parquet or ngsi-ld.")],
    start: Annotated[str | None, typer.Option("--from", help="Date or time (Vietnam).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Date or time; default now.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write.")] = None,
) -> None:
    """Hourly AirQualityObserved records (FIWARE) of every station; default: the last 24 h."""
    until = local_instant(end, "Asia/Ho_Chi_Minh") if end else utcnow()
    since = local_instant(start, "Asia/Ho_Chi_Minh") if start else until - timedelta(hours=24)
    if fmt is ExportFormat.parquet and output is None:
        _fail("Parquet is binary: give --output FILE")
    with build_sink(_settings()) as sink, sink.sessions() as session:
        rows = export.observations(session, sink.store, start=since, end=until)
    body = export.render(rows, fmt.value)
    if output is None:
        sys.stdout.write(body.decode())
        return
    output.write_bytes(body)
    typer.echo(f"{len(rows)} observation(s) written to {output}", err=True)


def register(app: typer.Typer) -> None:
    """Attach `lhos monitoring`, `lhos air` and `lhos export` to the command line."""
    monitoring_app.add_typer(station_app, name="station")
    air_app.add_typer(air_station_app, name="station")
    app.add_typer(monitoring_app, name="monitoring")
    app.add_typer(air_app, name="air")
    app.add_typer(export_app, name="export")
