"""`lhos assess export|import` (bulk surveys) and `lhos framework publish` (a new pack version)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from lighthouse_os.assessment import bulk, exports
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.framework import service as packs

app = typer.Typer(
    help="Maturity assessments: export a site's answers, import paper or spreadsheet surveys.",
    no_args_is_help=True,
)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data folder (overrides LHOS_DATA_DIR).")
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@contextmanager
def _session(data_dir: Path | None) -> Iterator[Session]:
    """One session on the configured database; services commit their own work."""
    from lighthouse_os.cli import load_settings

    engine = make_engine(load_settings(data_dir).resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


@app.command("export")
def export(
    site: Annotated[str, typer.Option("--site", help="Site code or id.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of CSV.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV (the default).")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Every answer of every assessment of a site, in the import format (audited)."""
    if as_json and as_csv:
        raise typer.BadParameter("choose --json or --csv, not both")
    with _session(data_dir) as session:
        found = exports.site_answers(session, site, fmt="json" if as_json else "csv")
    if output is None:
        sys.stdout.buffer.write(found.body + (b"" if found.body.endswith(b"\n") else b"\n"))
        return
    output.write_bytes(found.body)
    typer.echo(f"wrote {output}", err=True)


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="A .csv or .json survey file.", exists=True)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only, write nothing.")] = False,
    json_out: Json = False,
    data_dir: DataDir = None,
) -> None:
    """Import survey rows (one per site and capability); any bad row means nothing is written."""
    with _session(data_dir) as session:
        report = bulk.import_file(session, file.name, file.read_bytes(), dry_run=dry_run)
    _print_report(report, json_out)
    if report.problems:
        typer.echo(f"{len(report.problems)} bad row(s); nothing was imported", err=True)
        raise typer.Exit(code=1)


def _print_report(report: bulk.ImportReport, json_out: bool) -> None:
    from lighthouse_os.cli import print_json

    if json_out:
        print_json(report.to_dict())
        return
    for problem in report.problems:
        typer.echo(str(problem), err=True)
    for site, pack, assessment_id in report.assessments:
        typer.echo(f"{site}: assessment {assessment_id} ({pack}) imported")
    if not report.problems:
        typer.echo(f"{report.rows} row(s) {'checked' if report.dry_run else 'imported'}")


def publish(
    path: Annotated[Path, typer.Argument(help="A pack version folder <id>/<version>/.")],
    data_dir: DataDir = None,
) -> None:
    """Register a new framework-pack version (assessments can then start on it)."""
    with _session(data_dir) as session:
        record, outcome = packs.publish_pack(session, path)
    typer.echo(f"{record.label}: {outcome} (sha256 {record.digest[:12]}…)")
