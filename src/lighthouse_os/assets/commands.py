"""`lhos assets import|list`: bulk-load a site's hierarchy and tags, and print it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from lighthouse_os.assets import service
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.db.engine import make_engine, make_session_factory

assets_app = typer.Typer(
    help="Asset hierarchy (area > line > machine) and tags.", no_args_is_help=True
)

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
SiteOption = Annotated[str, typer.Option("--site", help="Site code or id.")]


@contextmanager
def _session() -> Iterator[Session]:
    from lighthouse_os.cli import load_settings

    engine = make_engine(load_settings().resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


@assets_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="YAML (nodes:, tags:) or CSV (record column).")],
    site: SiteOption,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; change nothing.")] = False,
    json_out: Json = False,
) -> None:
    """Create or update assets and tags from a file: all rows, or none when any row is bad."""
    from lighthouse_os.cli import console, print_json

    rows = service.rows_from_file(file.name, file.read_bytes())
    with _session() as session:
        report = service.import_assets(session, get_site(session, site), rows, dry_run=dry_run)
    if json_out:
        print_json(asdict(report))
    else:
        console.print(_report_text(report), highlight=False, markup=False)
    if report.problems:
        raise typer.Exit(1)


def _report_text(report: service.ImportReport) -> str:
    if report.problems:
        lines = [f"{len(report.problems)} problem(s); nothing was imported:"]
        lines += [f"  {p.where}: {p.field}: {p.message}" for p in report.problems]
        return "\n".join(lines)
    verb = "would create" if report.dry_run else "created"
    return (
        f"{verb} {report.created_nodes} asset(s) and {report.created_tags} tag(s); "
        f"updated {report.updated_nodes} asset(s) and {report.updated_tags} tag(s); "
        f"{report.unchanged} unchanged"
    )


@assets_app.command("list")
def list_command(site: SiteOption, json_out: Json = False) -> None:
    """Print the site's hierarchy with each tag's unit, kind and series id."""
    from lighthouse_os.cli import console, print_json

    with _session() as session:
        tree = service.site_tree(session, get_site(session, site))
        nodes = [(n.path, n.level, n.asset_type, n.name_en or n.name_vi) for n in tree.nodes]
        tags = [(t.path, t.unit, t.kind, t.id) for t in tree.tags]
    if json_out:
        print_json(
            {
                "nodes": [
                    dict(zip(("path", "level", "asset_type", "name"), n, strict=True))
                    for n in nodes
                ],
                "tags": [
                    dict(zip(("path", "unit", "kind", "series_id"), t, strict=True)) for t in tags
                ],
            }
        )
        return
    for path, level, asset_type, name in nodes:
        console.print(
            f"{path}  [{level}{'/' + asset_type if asset_type else ''}] {name}", markup=False
        )
    for path, unit, kind, series_id in tags:
        console.print(f"{path}  {kind} {unit}  (series {series_id})", markup=False)
