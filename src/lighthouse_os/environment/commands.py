"""Typer commands: `lhos calc aqi` and `lhos monitoring import` (files only, no database yet)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.table import Table

from lighthouse_os.environment import calculator, standards
from lighthouse_os.environment.feed import FeedError, parse_feed
from lighthouse_os.environment.scale import POLLUTANTS

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
    files: Annotated[list[Path], typer.Argument(help="Circular 10/2021 .txt files to parse.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Parse monitoring files (no database yet); exit code 1 when a file cannot be parsed."""
    results = [_parse_one(path) for path in files]
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
        table.add_row(r["file"], station, str(len(r["readings"])), str(len(r["problems"])), ok)
    Console().print(table)
