"""`lhos`: the command line. Commands parse, call one service, and print text or JSON."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError
from typer.exceptions import TyperException

from lighthouse_os import __version__
from lighthouse_os.errors import LhosError
from lighthouse_os.settings import Settings

app = typer.Typer(
    name="lhos",
    help="Lighthouse OS: maturity, shop-floor data, KPIs and environmental monitoring.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
calc_app = typer.Typer(
    help="Standalone calculators (OEE, emissions, power factor, AQI) for scripts and checks.",
    no_args_is_help=True,
)
app.add_typer(calc_app, name="calc")

console = Console()
err_console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Data folder (overrides LHOS_DATA_DIR).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def load_settings(data_dir: Path | None = None) -> Settings:
    """Build the one settings object for this command."""
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def print_json(value: object) -> None:
    """Write JSON to stdout for scripts."""
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def _version(value: bool) -> None:
    if value:
        console.print(f"lhos {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Lighthouse OS command line."""


@app.command()
def init(data_dir: DataDirOption = None, json_out: JsonOption = False) -> None:
    """Create the data folder, run the migrations and load the built-in content."""
    from lighthouse_os.bootstrap import initialise

    settings = load_settings(data_dir)
    with console.status("Initialising…") as status:
        report = initialise(settings, progress=lambda m: status.update(m))
    if json_out:
        print_json(asdict(report))
        return
    for step in report.steps:
        console.print(f"[green]✓[/] {step}")
    console.print(f"Data folder: {report.data_dir}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    data_dir: DataDirOption = None,
) -> None:
    """Serve the web app and the REST API."""
    import uvicorn

    from lighthouse_os.app import create_app

    settings = load_settings(data_dir)
    console.print(f"Lighthouse OS on http://{host}:{port}/")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    data_dir: DataDirOption = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Seed, then exit.")] = False,
) -> None:
    """Initialise, seed a simulated HCMC program, and serve it."""
    from lighthouse_os.demo import run_demo

    run_demo(load_settings(data_dir), host=host, port=port, serve=not no_serve, console=console)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOption = None) -> None:
    """Apply pending migrations to the configured database."""
    from lighthouse_os.db.migrate import upgrade

    settings = load_settings(data_dir)
    upgrade(settings.resolved_database_url)
    console.print("[green]✓[/] database is up to date")


def _register_feature_commands() -> None:
    """Each feature's Typer sub-app or command; a feature adds its lines here."""
    from lighthouse_os.alerts import commands as alert_commands
    from lighthouse_os.assessment import commands as assessment_commands
    from lighthouse_os.auth import commands as auth_commands
    from lighthouse_os.environment import commands as environment_commands
    from lighthouse_os.framework import commands as framework_commands
    from lighthouse_os.kpi import commands as kpi_commands
    from lighthouse_os.telemetry import ingest_commands

    auth_commands.register(app)
    app.add_typer(alert_commands.app, name="alerts")
    __import__("lighthouse_os.telemetry.commands", fromlist=["register"]).register(app)
    app.add_typer(framework_commands.app, name="framework")
    framework_commands.app.command("publish")(assessment_commands.publish)
    app.add_typer(assessment_commands.app, name="assess")
    calc_app.command("oee")(kpi_commands.calc_oee)
    calc_app.command("emissions")(kpi_commands.calc_emissions)
    calc_app.command("power-factor")(kpi_commands.calc_power_factor)
    calc_app.command("aqi")(environment_commands.calc_aqi)
    environment_commands.register(app)
    __import__("lighthouse_os.simulator.commands", fromlist=["register"]).register(app)
    ingest_app = typer.Typer(help="Run an ingestion worker (MQTT, OPC UA).", no_args_is_help=True)
    ingest_app.command("mqtt")(ingest_commands.ingest_mqtt)
    ingest_app.command("opcua")(ingest_commands.ingest_opcua)
    app.add_typer(ingest_app, name="ingest")


_register_feature_commands()


def _fail(message: str, code: int = 1) -> int:
    err_console.print(f"error: {message}", highlight=False, soft_wrap=True, markup=False)
    return code


def run(argv: list[str]) -> int:
    """Run `lhos` and turn every expected failure into one clear line and a non-zero exit code."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="lhos", standalone_mode=False)
    except typer.Abort:
        return _fail("aborted")
    except typer.Exit as exc:
        return int(exc.exit_code)
    except TyperException as exc:  # usage errors and bad parameters from the vendored click
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        return _fail(message, int(getattr(exc, "exit_code", 2)))
    except LhosError as exc:
        return _fail(exc.message)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return _fail(f"invalid setting {where}: {first['msg']}")
    except (SQLAlchemyError, OSError) as exc:
        first_line = (str(exc).splitlines() or [""])[0]
        return _fail(f"{type(exc).__name__}: {first_line}")
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run(sys.argv[1:]))
