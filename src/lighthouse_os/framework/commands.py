"""Typer commands ``lhos framework list`` and ``lhos framework validate``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from lighthouse_os.framework.catalog import PackSummary, pack_summaries
from lighthouse_os.framework.validate import validate_pack

app = typer.Typer(
    help="Framework packs (Lighthouse OS, SIRI): list them and validate pack folders.",
    no_args_is_help=True,
)


def _line(summary: PackSummary) -> str:
    if not summary.valid:
        return f"{summary.id} {summary.version}  INVALID ({summary.problems} problems)"
    counts = ", ".join(f"{k}={v}" for k, v in summary.counts.items())
    title = "" if summary.title is None else f"  {summary.title.en} / {summary.title.vi}"
    return f"{summary.id} {summary.version}  [{summary.method}]{title}\n    {counts}"


@app.command("list")
def list_packs(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """List the built-in framework packs, their versions and content counts."""
    summaries = pack_summaries()
    if as_json:
        payload = [s.to_dict() for s in summaries]
        sys.stdout.buffer.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n")
        return
    for summary in summaries:
        typer.echo(_line(summary))


@app.command("validate")
def validate(
    path: Annotated[Path, typer.Argument(help="A pack version folder, e.g. packs/siri/1.0.0.")],
) -> None:
    """Check a pack folder and print every problem; exit code 1 when there is any."""
    problems = validate_pack(path)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        typer.echo(f"{len(problems)} problem(s) in {path}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"{path}: valid")
